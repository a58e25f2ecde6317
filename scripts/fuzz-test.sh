#!/usr/bin/env bash
# The OpenAPI document and a bounded fuzz pass (issue #22, docs/openapi.md): starts the debug
# binary $CARGO_TARGET_DIR/debug/emerald (which `cargo test` builds) on a free loopback port with
# a fresh data directory, SQLite, the real face models and Oz API Lite on; validates
# /openapi.json with an OpenAPI 3.1 validator (PyPI openapi-spec-validator); then runs
# schemathesis (PyPI, pinned) against it as the first admin: every operation, multipart uploads
# with real face photos, Lite comparisons with real templates, and the stateful links. Fails on
# any server error (5xx), response-schema violation, undocumented status or content type.
# Both tools are installed once into a venv under the cache directory (as test.sh does for moto).
# Skips, saying why, when Python/PyPI, the binary, the models or the test images are missing.
# EMERALD_FUZZ_SECONDS (default 120) bounds the schemathesis run, EMERALD_RACE_SECONDS (default
# 30) the concurrent-writers run after it; EMERALD_FUZZ_SEED (default
# 22) makes it repeatable. The run's report: $CARGO_TARGET_DIR/fuzz-report (default target/).
set -euo pipefail
cd "$(dirname "$0")/.."

skip() { echo "fuzz-test.sh: SKIPPED: $*"; exit 0; }

SCHEMATHESIS_VERSION=4.32.5
VALIDATOR_VERSION=0.9.0
SECONDS_BUDGET="${EMERALD_FUZZ_SECONDS:-120}"
SEED="${EMERALD_FUZZ_SEED:-22}"

command -v python3 >/dev/null || skip "no python3"
. scripts/lib/debug-server.sh
find_binary_and_images

VENV="${XDG_CACHE_HOME:-$HOME/.cache}/emerald/schemathesis-$SCHEMATHESIS_VERSION"
if [ ! -x "$VENV/bin/schemathesis" ] || ! "$VENV/bin/python" -c 'import openapi_spec_validator' 2>/dev/null; then
  echo "fuzz-test.sh: installing schemathesis==$SCHEMATHESIS_VERSION and openapi-spec-validator==$VALIDATOR_VERSION from PyPI into $VENV (once)"
  rm -rf "$VENV"
  (python3 -m venv "$VENV" && "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION" \
    "openapi-spec-validator==$VALIDATOR_VERSION") >/dev/null 2>&1 || { rm -rf "$VENV"; skip "pip could not install them (no PyPI?)"; }
fi

REPORT="${CARGO_TARGET_DIR:-$PWD/target}/fuzz-report"
ADMIN_EMAIL="admin@fuzz.test"
ADMIN_PASSWORD="Fuzz-admin-pass-1"
# Quotas and login throttles off (the fuzzer is one client sending thousands of requests, many
# of them failed logins); single-request waits short; webhooks are tried once.
start_debug_server fuzz EMERALD_LITE=on EMERALD_LOGIN_MAX_FAILURES=0 EMERALD_LOGIN_ADDRESS_MAX_FAILURES=0 \
  EMERALD_QUOTA_TOKEN_REQUESTS=0 EMERALD_QUOTA_TOKEN_EXPENSIVE=0 EMERALD_QUOTA_COMPANY_REQUESTS=0 \
  EMERALD_QUOTA_COMPANY_EXPENSIVE=0 EMERALD_SINGLE_REQUEST_TIMEOUT=5 EMERALD_WEBHOOK_MAX_ATTEMPTS=1 \
  EMERALD_LOG_FORMAT=json

failed() {
  echo "fuzz-test.sh: FAILED: $*; the server's errors:"
  grep -E '"level":"(ERROR|WARN)"' "$DATA/server.log" | tail -20 || true
  exit 1
}

# 1. The document is valid OpenAPI 3.1.
curl -fsS "$URL/openapi.json" -o "$DATA/openapi.json"
"$VENV/bin/python" - "$DATA/openapi.json" <<'EOF' || failed "/openapi.json is not a valid OpenAPI 3.1 document"
import json, sys
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator
doc = json.load(open(sys.argv[1]))
assert doc["openapi"].startswith("3.1"), doc["openapi"]
validate(doc, cls=OpenAPIV31SpecValidator)
ops = sum(1 for item in doc["paths"].values() for m in item if m in ("get", "put", "post", "patch", "delete"))
links = sum(len(r.get("links", {})) for item in doc["paths"].values() for m, op in item.items()
            if isinstance(op, dict) for r in op.get("responses", {}).values())
print(f"fuzz-test.sh: /openapi.json is valid OpenAPI {doc['openapi']}: {len(doc['paths'])} paths, {ops} operations, {links} links")
EOF

# 2. Real inputs for the fuzzer: the test photos, and templates the server makes of them.
PHOTOS="$IMAGES/obama.jpg:$IMAGES/obama2.jpg:$IMAGES/biden.jpg"
TEMPLATES=
for f in obama biden; do
  curl -fsS -X POST -H 'Content-Type: image/jpeg' --data-binary "@$IMAGES/$f.jpg" "$URL/v1/face/pattern/extract" \
    -o "$DATA/$f.template" || failed "no template of $f.jpg"
  TEMPLATES="${TEMPLATES:+$TEMPLATES:}$DATA/$f.template"
done

# 3. The fuzz pass.
mkdir -p "$REPORT"
started=$(date +%s)
status=0
EMERALD_URL="$URL" EMERALD_ADMIN_EMAIL="$ADMIN_EMAIL" EMERALD_ADMIN_PASSWORD="$ADMIN_PASSWORD" \
  EMERALD_FUZZ_PHOTOS="$PHOTOS" EMERALD_FUZZ_TEMPLATES="$TEMPLATES" SCHEMATHESIS_HOOKS=hooks \
  PYTHONPATH="$PWD/tests/fuzz" "$VENV/bin/schemathesis" run "$URL/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,use_after_free_but_meta_data,ensure_resource_availability \
  --phases examples,coverage,fuzzing,stateful --max-time "$SECONDS_BUDGET" --seed "$SEED" \
  --workers 1 --request-timeout 60 --suppress-health-check all --no-color \
  --report junit,ndjson --report-dir "$REPORT" >"$REPORT/schemathesis.log" 2>&1 || status=$?
elapsed=$(( $(date +%s) - started ))
tail -40 "$REPORT/schemathesis.log"
server_errors=$(grep -c '"level":"ERROR"' "$DATA/server.log" || true)
echo "fuzz-test.sh: schemathesis ran ${elapsed}s; the server logged $server_errors errors; report in $REPORT"
[ "$status" = 0 ] || failed "schemathesis found failures (see $REPORT/schemathesis.log)"

# 4. Concurrent writers on shared objects (bench/race.py, standard library only): no 5xx.
RACE_SECONDS="${EMERALD_RACE_SECONDS:-30}"
python3 bench/race.py "$URL" "$ADMIN_EMAIL" "$ADMIN_PASSWORD" "$IMAGES/obama.jpg" "$RACE_SECONDS" 8 \
  >"$REPORT/race.log" 2>&1 || { tail -25 "$REPORT/race.log"; failed "concurrent writers got server errors (bench/race.py)"; }
echo "fuzz-test.sh: bench/race.py, 8 clients for ${RACE_SECONDS}s: $(tail -1 "$REPORT/race.log")"
echo "fuzz-test.sh: passed"
