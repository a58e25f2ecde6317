#!/usr/bin/env bash
# The video test corpus (issue #18), made from a face photo with the ffmpeg of scripts/fetch-ffmpeg.sh:
# every container × codec a client sends, rotation, moov at the end, fragmented, variable frame rate,
# odd boxes, and broken files (cut short, corrupted, unsupported, over the limits). Cached: remade
# only when this script or the ffmpeg changes.
#
#   scripts/make-test-videos.sh [DIR]     DIR defaults to ~/.cache/emerald/test-videos
#
# The corpus lands in DIR/<hash of this script and ffmpeg>/ with a MANIFEST (file, expectation,
# container, codec) read by the tests; DIR/current links to it. Needs scripts/fetch-test-images.sh
# (obama.jpg) and python3 (box surgery for the odd-boxes file). Takes about a minute once.
set -euo pipefail
cd "$(dirname "$0")/.."

ROOT="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/emerald/test-videos}"
IMAGES="${EMERALD_TEST_IMAGES_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/emerald/test-images}"
FF="${EMERALD_FFMPEG:-${XDG_CACHE_HOME:-$HOME/.cache}/emerald/ffmpeg/ffmpeg}"
[ -x "$FF" ] || FF="$(command -v ffmpeg || true)"
if [ -z "$FF" ]; then
  echo "make-test-videos.sh: no ffmpeg (run scripts/fetch-ffmpeg.sh): the video corpus is NOT made" >&2
  exit 1
fi
[ -f "$IMAGES/obama.jpg" ] || scripts/fetch-test-images.sh >/dev/null

KEY="$( (cat "$0"; "$FF" -hide_banner -version | head -1) | sha256sum | cut -c1-16)"
OUT="$ROOT/$KEY"
if [ -f "$OUT/MANIFEST" ]; then
  ln -sfn "$KEY" "$ROOT/current"
  echo "test videos: cached in $OUT"
  exit 0
fi
echo "making the test videos in $OUT (once) ..." >&2
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/out"
ff() { nice -n 5 "$FF" -hide_banner -nostdin -loglevel error -y "$@" 2>&1 | { grep -v '^Svt\[' || true; } >&2; }

# 2 s at 30 fps, 360×480 portrait: obama.jpg with a slow zoom and a little noise (a hand-held selfie).
ff -loop 1 -i "$IMAGES/obama.jpg" -t 2 -filter_complex \
  "scale=480:-2,crop=360:480:(iw-360)/2:0,zoompan=z='1+0.002*on':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d=1:s=360x480:fps=30,noise=alls=6:allf=t,format=yuv420p" \
  -c:v rawvideo -f nut "$TMP/src.nut"
SRC="$TMP/src.nut"
AUDIO=(-f lavfi -t 2 -i "sine=frequency=440:sample_rate=48000")
# The same picture turned a quarter clockwise / anticlockwise (a phone held upright, stored sideways).
ff -i "$SRC" -vf transpose=clock -c:v rawvideo -f nut "$TMP/cw.nut"
ff -i "$SRC" -vf transpose=cclock -c:v rawvideo -f nut "$TMP/ccw.nut"

M="$TMP/out/MANIFEST"
echo "# file expectation container codec — expectation: ok (a face is found) or error (analysis code 4);" >"$M"
echo "# codec: what the headers name (- where they are too damaged to name one)" >>"$M"
good() { echo "$1 ok $2 $3" >>"$M"; }
bad() { echo "$1 error $2 $3" >>"$M"; }
O="$TMP/out"
X264=(-c:v libx264 -preset veryfast -b:v 1500k)

# H.264 in MP4 / MOV / M4V / MKV, every common profile; moov at the front and at the end.
ff -i "$SRC" "${X264[@]}" -profile:v baseline -movflags +faststart "$O/h264_baseline_faststart.mp4"
good h264_baseline_faststart.mp4 mp4 h264
ff -i "$SRC" "${X264[@]}" -profile:v main "$O/h264_main_moov_at_end.mp4"
good h264_main_moov_at_end.mp4 mp4 h264
ff -i "$SRC" "${AUDIO[@]}" "${X264[@]}" -profile:v high -c:a aac -b:a 64k -shortest "$O/h264_high_aac.mov"
good h264_high_aac.mov mov h264
ff -i "$SRC" "${X264[@]}" -profile:v high10 -pix_fmt yuv420p10le "$O/h264_high10.mp4"
good h264_high10.mp4 mp4 h264
ff -i "$SRC" "${X264[@]}" -profile:v high444 -pix_fmt yuv444p "$O/h264_high444.mp4"
good h264_high444.mp4 mp4 h264
ff -i "$SRC" "${X264[@]}" -f ipod "$O/h264.m4v"
good h264.m4v m4v h264
ff -i "$SRC" "${AUDIO[@]}" "${X264[@]}" -c:a libopus -shortest "$O/h264_opus.mkv"
good h264_opus.mkv matroska h264
ff -i "$SRC" "${X264[@]}" -movflags frag_keyframe+empty_moov+default_base_moof -g 15 "$O/h264_fragmented.mp4"
good h264_fragmented.mp4 mp4 h264
# Variable frame rate: irregular gaps between frames.
ff -i "$SRC" -vf "select='not(eq(mod(n\,5)\,2))*not(eq(mod(n\,7)\,3))'" -fps_mode vfr "${X264[@]}" "$O/h264_vfr.mp4"
good h264_vfr.mp4 mp4 h264
# Rotation metadata: stored sideways, displayed upright (no face is found without the rotation).
ff -i "$TMP/ccw.nut" "${X264[@]}" "$TMP/ccw.mp4"
ff -display_rotation -90 -i "$TMP/ccw.mp4" -c copy "$O/h264_rotate90.mp4"
good h264_rotate90.mp4 mp4 h264
ff -i "$TMP/cw.nut" "${X264[@]}" "$TMP/cw.mov"
ff -display_rotation 90 -i "$TMP/cw.mov" -c copy "$O/h264_rotate270.mov"
good h264_rotate270.mov mov h264

# HEVC: an iPhone's .mov (hvc1, stored sideways with a rotation, AAC), 10-bit, hev1 in MP4.
ff -i "$TMP/ccw.nut" "${AUDIO[@]}" -c:v libx265 -preset ultrafast -b:v 1200k -tag:v hvc1 -x265-params log-level=error \
  -c:a aac -shortest "$TMP/hevc.mov"
ff -display_rotation -90 -i "$TMP/hevc.mov" -c copy "$O/hevc_iphone_rotate90.mov"
good hevc_iphone_rotate90.mov mov hevc
ff -i "$SRC" -c:v libx265 -preset ultrafast -b:v 1200k -pix_fmt yuv420p10le -x265-params log-level=error "$O/hevc_main10.mp4"
good hevc_main10.mp4 mp4 hevc

# WebM / Matroska: VP8 + Opus as browsers record it (written to a pipe: no duration, no cues, clusters
# of unknown size), VP8 + Vorbis, VP9, AV1.
"$FF" -hide_banner -nostdin -loglevel error -i "$SRC" "${AUDIO[@]}" -c:v libvpx -deadline realtime -cpu-used 8 -b:v 1M \
  -c:a libopus -shortest -f webm pipe:1 >"$O/vp8_opus_mediarecorder.webm"
good vp8_opus_mediarecorder.webm webm vp8
ff -i "$SRC" "${AUDIO[@]}" -c:v libvpx -deadline realtime -cpu-used 8 -b:v 1M -c:a libvorbis -shortest "$O/vp8_vorbis.webm"
good vp8_vorbis.webm webm vp8
ff -i "$SRC" -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 1M "$O/vp9.webm"
good vp9.webm webm vp9
ff -i "$SRC" -c:v libsvtav1 -preset 10 -crf 35 -svtav1-params lp=2 "$O/av1.webm"
good av1.webm webm av1
ff -i "$SRC" -c:v libx264 -preset veryfast -f matroska "$O/h264.mkv"
good h264.mkv matroska h264

# The older formats of the spec's list (video/mpeg, video/ogg, video/x-ms-wmv, video/x-msvideo):
# MPEG-1 and MPEG-2 program streams, H.264 in a transport stream (plain and as a camcorder's .m2ts
# with 192-byte packets), Theora in Ogg, Windows Media Video 8 in ASF, Motion JPEG and DivX 3 in AVI.
ff -i "$SRC" -c:v mpeg2video -b:v 2M -f vob "$O/mpeg2.mpg"
good mpeg2.mpg mpeg mpeg2video
ff -i "$SRC" -c:v mpeg1video -b:v 2M -f mpeg "$O/mpeg1.mpg"
good mpeg1.mpg mpeg mpeg1video
ff -i "$SRC" "${AUDIO[@]}" "${X264[@]}" -c:a aac -b:a 64k -shortest -f mpegts "$O/h264.ts"
good h264.ts mpegts h264
ff -i "$SRC" "${X264[@]}" -f mpegts -mpegts_m2ts_mode 1 "$O/h264.m2ts"
good h264.m2ts mpegts h264
ff -i "$SRC" "${AUDIO[@]}" -c:v libtheora -q:v 7 -c:a libvorbis -shortest "$O/theora.ogv"
good theora.ogv ogg theora
ff -i "$SRC" "${AUDIO[@]}" -c:v wmv2 -b:v 2M -c:a wmav2 -shortest "$O/wmv2.wmv"
good wmv2.wmv asf wmv2
ff -i "$SRC" -c:v mjpeg -q:v 4 "$O/mjpeg.avi"
good mjpeg.avi avi mjpeg
ff -i "$SRC" -c:v msmpeg4 -b:v 2M "$O/divx3.avi"
good divx3.avi avi msmpeg4v3

# Odd boxes: an unknown box before the media data (chunk offsets moved to match), an hdlr without a
# name, and after the movie a 64-bit 'free', a 'uuid' box and a 'skip' box running to the end.
python3 - "$O/h264_main_moov_at_end.mp4" "$O/h264_odd_boxes.mp4" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
CONTAINERS = {b'moov', b'trak', b'mdia', b'minf', b'stbl', b'edts', b'dinf'}
def parse(b):
    out, i = [], 0
    while i + 8 <= len(b):
        size, kind = struct.unpack('>I4s', b[i:i + 8])
        body = b[i + 8:i + size]
        out.append([kind, parse(body) if kind in CONTAINERS else body])
        i += size
    return out
def build(boxes):
    return b''.join(struct.pack('>I4s', 8 + len(p), k) + p for k, p in
                    ((k, build(v) if isinstance(v, list) else v) for k, v in boxes))
JUNK = b'junk' * 250
def fix(boxes):
    for box in boxes:
        k, v = box
        if isinstance(v, list):
            fix(v)
        elif k == b'hdlr':
            box[1] = v[:20]  # version/flags, pre_defined, handler type, 12 reserved bytes: no name
        elif k == b'stco':
            n = struct.unpack('>I', v[4:8])[0]
            offs = [o + 8 + len(JUNK) for o in struct.unpack('>%dI' % n, v[8:8 + 4 * n])]
            box[1] = v[:8] + struct.pack('>%dI' % n, *offs)
top = parse(data)
fix(top)
out = []
for k, v in top:
    out.append([k, v])
    if k == b'ftyp':
        out.append([b'zzzz', JUNK])
body = build(out)
body += struct.pack('>I4sQ', 1, b'free', 16 + 64) + b'\0' * 64
body += build([[b'uuid', b'\x11' * 16 + b'vendor data']])
body += struct.pack('>I4s', 0, b'skip') + b'to the end'
open(sys.argv[2], 'wb').write(body)
PY
good h264_odd_boxes.mp4 mp4 h264

# Broken: cut short (moov at the end cut off; moov first but the media data cut; a WebM cut),
# corrupted (header, every frame, garbage after the magic), not a video.
python3 - "$O" <<'PY'
import os, random, sys
o = sys.argv[1]
rnd = random.Random(18)
def write(name, b):
    open(os.path.join(o, name), 'wb').write(b)
end = open(os.path.join(o, 'h264_main_moov_at_end.mp4'), 'rb').read()
front = open(os.path.join(o, 'h264_baseline_faststart.mp4'), 'rb').read()
webm = open(os.path.join(o, 'vp8_vorbis.webm'), 'rb').read()
write('cut_moov_at_end.mp4', end[:len(end) * 6 // 10])
write('cut_media_data.mp4', front[:len(front) * 6 // 10])
write('cut.webm', webm[:len(webm) * 6 // 10])
moov = front.index(b'moov')
b = bytearray(front)
for i in range(moov + 4, moov + 600):
    b[i] = rnd.randrange(256)
write('corrupt_header.mp4', bytes(b))
mdat = end.index(b'mdat')
moov = end.index(b'moov')
b = bytearray(end)
for i in range(mdat + 4, moov - 4):
    b[i] = rnd.randrange(256)
write('corrupt_frames.mp4', bytes(b))
write('corrupt.webm', webm[:64] + bytes(rnd.randrange(256) for _ in range(20000)))
mpg = open(os.path.join(o, 'mpeg2.mpg'), 'rb').read()
write('corrupt.mpg', mpg[:16] + bytes(rnd.randrange(256) for _ in range(20000)))
wmv = open(os.path.join(o, 'wmv2.wmv'), 'rb').read()
write('cut_header.wmv', wmv[:400])  # inside the header object
write('not_a_video.mp4', b'\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2' + b'hello, this is text ' * 50)
PY
bad cut_moov_at_end.mp4 mp4 -
bad cut_media_data.mp4 mp4 h264
bad cut.webm webm vp8
bad corrupt_header.mp4 mp4 -
bad corrupt_frames.mp4 mp4 h264
bad corrupt.webm webm -
bad not_a_video.mp4 mp4 -
bad corrupt.mpg mpeg -
bad cut_header.wmv asf -
# Outside the limits or the codec list: ProRes, 8K frames, 1000 frames per second.
ff -i "$SRC" -t 0.5 -c:v prores_ks "$O/prores.mov"
bad prores.mov mov prores
ff -f lavfi -i "color=gray:s=7680x4320:d=0.1:r=10" -c:v libx264 -preset ultrafast "$O/too_large_8k.mp4"
bad too_large_8k.mp4 mp4 h264
ff -f lavfi -i "testsrc=s=64x64:d=2:r=1000" -c:v libx264 -preset ultrafast "$O/too_many_frames.mp4"
bad too_many_frames.mp4 mp4 h264

# Photos an iPhone or a recent Android phone takes: HEIF as a single picture and as a grid of
# 512 x 512 tiles (how iPhones store them), each also stored turned with `irot`, and AVIF. Not
# videos: kept in stills/, out of the MANIFEST. The HEIF encoder is pillow-heif's (PyPI, libheif +
# x265), in a venv of its own.
HEIF_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/emerald/heif-venv"
HEIF_REQS=(pillow==13.0.0 pillow-heif==1.9.0)
if [ "$(cat "$HEIF_VENV/.emerald-requirements" 2>/dev/null)" != "${HEIF_REQS[*]}" ]; then
  rm -rf "$HEIF_VENV"
  python3 -m venv "$HEIF_VENV"
  "$HEIF_VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps --only-binary :all: "${HEIF_REQS[@]}"
  echo "${HEIF_REQS[*]}" >"$HEIF_VENV/.emerald-requirements"
fi
mkdir -p "$O/stills"
"$HEIF_VENV/bin/python" - "$IMAGES/obama.jpg" "$O/stills" <<'PY'
import sys
import pillow_heif
from PIL import Image
pillow_heif.register_heif_opener()
photo = Image.open(sys.argv[1]).convert("RGB")
photo.save(sys.argv[2] + "/single.heic", quality=80)
big = photo.resize((photo.width * 3, photo.height * 3), Image.BICUBIC)
big.save(sys.argv[2] + "/tiled.heic", quality=70, tile_size=512)
tiling = Image.open(sys.argv[2] + "/tiled.heic").info["tiling"]
assert tiling["num_columns"] > 1 and tiling["num_rows"] > 1, tiling
# As a phone held upright stores a photo: the picture as the sensor saw it (turned a quarter), an
# `irot` transform that rights it, and the EXIF orientation 6 that says the same again (a reader
# must apply one of them, not both). pillow-heif writes both from the EXIF orientation.
exif = Image.Exif()
exif[0x0112] = 6
for name, picture, options in (("turned.heic", photo, {}), ("turned-tiled.heic", big, {"tile_size": 512})):
    path = sys.argv[2] + "/" + name
    picture.transpose(Image.Transpose.ROTATE_90).save(path, quality=70, exif=exif.tobytes(), **options)
    assert b"irot" in open(path, "rb").read(), name
PY
ff -i "$IMAGES/obama.jpg" -frames:v 1 -c:v libsvtav1 -preset 10 -crf 30 -svtav1-params lp=2 -f avif "$O/stills/photo.avif"

rm -f "$O"/*.nut
mkdir -p "$ROOT"
rm -rf "$OUT"
mv "$O" "$OUT"
ln -sfn "$KEY" "$ROOT/current"
# Corpora of older versions of this script.
for old in "$ROOT"/????????????????; do
  if [ -d "$old" ] && [ "$old" != "$OUT" ]; then rm -rf "$old"; fi
done
echo "test videos: made in $OUT ($(grep -vc '^#' "$OUT/MANIFEST") files)"
