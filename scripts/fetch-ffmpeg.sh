#!/usr/bin/env bash
# Fetch the ffmpeg binary that decodes videos (see docs/vision.md, "Video"), verify its sha256 and
# cache it. Idempotent: when the cached binary already verifies, nothing is fetched.
#
#   scripts/fetch-ffmpeg.sh [DIR]     DIR defaults to ~/.cache/emerald/ffmpeg
#
# Source: the PyPI wheel imageio-ffmpeg==0.8.1 (BSD-2-Clause wrapper), which ships a static build of
# FFmpeg 9.0.2 (GPL-3.0-or-later build; see NOTICE) as imageio_ffmpeg/binaries/ffmpeg-linux-<arch>-v9.0.2.
# Installed as DIR/ffmpeg-9.0.2 with the link DIR/ffmpeg, where the server looks for it (after
# EMERALD_FFMPEG / --ffmpeg, before `ffmpeg` on PATH). No root needed.
#
# When it cannot be fetched (no pip, no network, another architecture) the script warns and exits 0:
# the server still starts, says at start-up that videos cannot be decoded and why, and video
# analyses fail with that reason. Other ways to get a decoder: `apt-get install ffmpeg` (Debian,
# Ubuntu: FFmpeg >= 5.1), or EMERALD_FFMPEG=/path/to/ffmpeg. EMERALD_SKIP_FFMPEG=1 skips this script.
set -euo pipefail

DIR="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/emerald/ffmpeg}"
VERSION=9.0.2
WHEEL_VERSION=0.8.1

case "$(uname -m)" in
  x86_64 | amd64)
    ARCH=x86_64
    SHA=0d709a0bed1a43f24cd2c420878c63afea4580671b6949ad19ed124572f3bc3d
    ;;
  aarch64 | arm64)
    ARCH=aarch64
    SHA=0b0b5ac30495b4e07ce1321b8d58200f901f57782884a8b6b264c7528c2c9e77
    ;;
  *)
    ARCH=""
    SHA=""
    ;;
esac

BIN="$DIR/ffmpeg-$VERSION"
# Hashing 170 MB takes seconds: a stamp records the verified hash with the file's size and mtime.
stamp() { echo "$SHA $(stat -c %s:%Y "$BIN")"; }
ok() {
  [ -n "$SHA" ] && [ -x "$BIN" ] || return 1
  [ "$(cat "$BIN.verified" 2>/dev/null)" = "$(stamp)" ] && return 0
  [ "$(sha256sum "$BIN" | cut -d' ' -f1)" = "$SHA" ] && stamp >"$BIN.verified"
}

warn() {
  echo "warning: $*" >&2
  echo "warning: videos cannot be decoded until an ffmpeg is available: apt-get install ffmpeg, or set EMERALD_FFMPEG=/path/to/ffmpeg" >&2
  exit 0
}

[ "${EMERALD_SKIP_FFMPEG:-0}" = 1 ] && exit 0

if ok; then
  ln -sfn "ffmpeg-$VERSION" "$DIR/ffmpeg"
  echo "ffmpeg $VERSION: cached and verified in $DIR"
  exit 0
fi
[ -n "$ARCH" ] || warn "no ffmpeg wheel is pinned for $(uname -m)"

PIP="${PIP:-$(command -v pip3 || command -v pip || true)}"
[ -n "$PIP" ] || warn "pip is not installed, so imageio-ffmpeg==$WHEEL_VERSION cannot be fetched from PyPI"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
echo "fetching ffmpeg $VERSION from PyPI imageio-ffmpeg==$WHEEL_VERSION (about 65 MB, once) ..." >&2
"$PIP" download --quiet --no-deps --only-binary :all: --platform "manylinux_2_28_$ARCH" --python-version 3.11 \
  -d "$TMP" "imageio-ffmpeg==$WHEEL_VERSION" || warn "pip download imageio-ffmpeg==$WHEEL_VERSION failed"
unzip -q -o -j "$TMP"/imageio_ffmpeg-*.whl "imageio_ffmpeg/binaries/ffmpeg-linux-$ARCH-v$VERSION" -d "$TMP/bin" ||
  warn "the wheel holds no imageio_ffmpeg/binaries/ffmpeg-linux-$ARCH-v$VERSION"
GOT="$(sha256sum "$TMP/bin/ffmpeg-linux-$ARCH-v$VERSION" | cut -d' ' -f1)"
[ "$GOT" = "$SHA" ] || warn "ffmpeg-linux-$ARCH-v$VERSION has sha256 $GOT, expected $SHA"
mkdir -p "$DIR"
cp "$TMP/bin/ffmpeg-linux-$ARCH-v$VERSION" "$BIN.part"
chmod 755 "$BIN.part"
mv "$BIN.part" "$BIN"
stamp >"$BIN.verified"
ln -sfn "ffmpeg-$VERSION" "$DIR/ffmpeg"
"$BIN" -hide_banner -version >/dev/null 2>&1 || warn "$BIN does not run on this machine (glibc >= 2.28 and Linux >= 4.18 are needed)"
echo "ffmpeg $VERSION: fetched and verified in $DIR"
