#!/usr/bin/env bash
# Video benchmark (issue #18): QUALITY on a 5-second 720p selfie video (720×1280 portrait, 30 fps,
# made here from obama.jpg with a slow zoom and sensor-like noise), per codec:
#   * engine level (crates/emerald-vision/examples/bench_video.rs): decode alone — frames decoded
#     and time per decoded frame — and the whole QUALITY engine pass, medians of RUNS;
#   * over HTTP: single request (POST /api/folders/ with a QUALITY analysis), one client, p50.
#
#   bench/video.sh
#   RUNS=15 SECONDS_PER_RUN=20 WARMUP=3 PORT=18433
#   BIN=…/emerald     run this server binary instead of building one
#   BUILD=dev         use the dev-profile binaries (the engine crates and every dependency are
#                     optimised there, Cargo.toml) instead of a release build of the workspace
# Output (the videos, server log) goes to bench/out/video/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-15}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-20}
WARMUP=${WARMUP:-3}
PORT=${PORT:-18433}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
OUT=bench/out/video
IMAGES=${EMERALD_TEST_IMAGES:-$HOME/.cache/emerald/test-images}
mkdir -p "$OUT"

scripts/fetch-models.sh >/dev/null
scripts/fetch-test-images.sh >/dev/null
scripts/fetch-ffmpeg.sh >/dev/null
FF=${EMERALD_FFMPEG:-$HOME/.cache/emerald/ffmpeg/ffmpeg}

. bench/lib.sh
bench_machine "$("$FF" -hide_banner -version | head -1)"

# The selfie: 5 s, 720×1280, 30 fps; then one file per codec, encoded as the clients do.
ff() { "$FF" -hide_banner -nostdin -loglevel error -y "$@" 2>&1 | { grep -v '^Svt\[' || true; } >&2; }
if [ ! -f "$OUT/selfie.nut" ]; then
  ff -loop 1 -i "$IMAGES/obama.jpg" -t 5 -filter_complex \
    "scale=1024:-2,crop=720:1280:(iw-720)/2:0,zoompan=z='1+0.0015*on':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d=1:s=720x1280:fps=30,noise=alls=8:allf=t,format=yuv420p" \
    -c:v rawvideo -f nut "$OUT/selfie.nut"
fi
# Phones: H.264 High without B-frames, a keyframe a second (Android MediaCodec, iPhone H.264);
# x264's defaults (B-frames, as desktop tools and some apps write); VP8 as Chrome's MediaRecorder
# writes it (realtime, 2.5 Mbit/s); HEVC as an iPhone's .mov (hvc1, B-frames).
[ -f "$OUT/h264.mp4" ] || ff -i "$OUT/selfie.nut" -c:v libx264 -profile:v high -preset fast -bf 0 -g 30 -b:v 6M "$OUT/h264.mp4"
[ -f "$OUT/h264_bframes.mp4" ] || ff -i "$OUT/selfie.nut" -c:v libx264 -profile:v high -preset fast -g 60 -b:v 6M "$OUT/h264_bframes.mp4"
[ -f "$OUT/vp8.webm" ] || ff -i "$OUT/selfie.nut" -c:v libvpx -deadline realtime -cpu-used 8 -b:v 2500k "$OUT/vp8.webm"
[ -f "$OUT/hevc.mov" ] || ff -i "$OUT/selfie.nut" -c:v libx265 -preset fast -b:v 5M -tag:v hvc1 -x265-params log-level=error "$OUT/hevc.mov"
VIDEOS=(h264=$OUT/h264.mp4 h264_bframes=$OUT/h264_bframes.mp4 vp8=$OUT/vp8.webm hevc=$OUT/hevc.mov)

echo
echo "== engine: decode and QUALITY, medians of $RUNS =="
if [ "${BUILD:-release}" = dev ]; then
  cargo build --workspace --locked -q --examples --bins
  PROFILE_DIR=$CARGO_TARGET_DIR/debug
else
  cargo build --release -q -p emerald-vision --example bench_video
  PROFILE_DIR=$CARGO_TARGET_DIR/release
fi
"$PROFILE_DIR/examples/bench_video" --runs "$RUNS" "${VIDEOS[@]}"

echo
echo "== HTTP: single request QUALITY, one client, ${SECONDS_PER_RUN}s after ${WARMUP}s warm-up =="
if [ -z "${BIN:-}" ]; then
  [ "${BUILD:-release}" = dev ] || cargo build --release -q -p emerald
  BIN=$PROFILE_DIR/emerald
fi
bench_start "$OUT/server.log" "$PORT" sqlite
token=$(bench_token "$PORT")
for v in "${VIDEOS[@]}"; do
  label=${v%%=*}
  path=${v#*=}
  echo "-- $label"
  "$BIN" bench-load --url "http://127.0.0.1:$PORT/api/folders/" --token "$token" --seconds "$SECONDS_PER_RUN" \
    --warmup "$WARMUP" --concurrency 1 --analyses '[{"type": "quality"}]' \
    --file "v=$path:video_selfie,video_selfie_blank,orientation_portrait"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "goal: single request QUALITY p50 <= 400 ms for H.264, VP8 and HEVC"
