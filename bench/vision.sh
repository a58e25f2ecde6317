#!/usr/bin/env bash
# Face engine benchmark (issue #5): per stage and end to end per photo (640×480, 1920×1080, a
# 1920×1080 group photo), one and two threads, peak RSS, and the ratio of the end-to-end time to
# the sum of onnxruntime's raw per-model inference times measured in the same run.
#
#   bench/vision.sh                 EMERALD_RUNTIME=auto (the default), then tract alone
#   RUNTIMES="auto" bench/vision.sh only the default
#   RUNS=30 SECONDS_PER_RUN=5       medians of RUNS; throughput over SECONDS_PER_RUN
# Needs scripts/fetch-models.sh and scripts/fetch-test-images.sh (run here). Release build.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNTIMES=${RUNTIMES:-"auto tract"}
RUNS=${RUNS:-30}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}

scripts/fetch-models.sh >/dev/null
scripts/fetch-test-images.sh >/dev/null

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), no GPU; load average $(cut -d' ' -f1-3 /proc/loadavg)"
cargo build --release -q -p emerald-vision --example bench_pipeline
BIN="${CARGO_TARGET_DIR:-target}/release/examples/bench_pipeline"
for rt in $RUNTIMES; do
  echo
  echo "== EMERALD_RUNTIME=$rt =="
  EMERALD_RUNTIME=$rt "$BIN" --runs "$RUNS" --seconds "$SECONDS_PER_RUN"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
