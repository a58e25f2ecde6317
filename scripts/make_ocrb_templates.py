#!/usr/bin/env python3
"""Glyph templates of the MRZ characters (A-Z, 0-9, <) in OCR-B, for the MRZ reader of
crates/emerald-documents (src/ocrb_templates.txt, committed; regenerate with this script).

Each glyph is rendered large, then cut to a cell one advance wide centred on its ink and from
the capital height to the baseline, and scaled to 16x24 grey levels. Font: Debian fonts-ocr-b
(/usr/share/fonts/opentype/ocr-b/OCRB.otf, Matthew Skala's OCR-B, free licence).

    make_ocrb_templates.py > crates/emerald-documents/src/ocrb_templates.txt
"""
from PIL import Image, ImageDraw, ImageFont

W, H = 16, 24
SIZE = 200
font = ImageFont.truetype("/usr/share/fonts/opentype/ocr-b/OCRB.otf", SIZE)
advance = font.getlength("H")
cap_top, _, _, baseline = font.getbbox("H")[1], 0, 0, font.getbbox("H")[3]
print(f"# OCR-B MRZ glyph templates {W}x{H}, one line per character: the character, then {W*H} hex grey levels (0 ink, ff paper)")
for ch in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<":
    img = Image.new("L", (SIZE * 2, SIZE * 2), 255)
    d = ImageDraw.Draw(img)
    d.text((SIZE // 2, SIZE // 2), ch, font=font, fill=0)
    x0, _, x1, _ = img.point(lambda v: 255 - v).getbbox()
    cx = (x0 + x1) / 2
    top = SIZE // 2 + cap_top
    bottom = SIZE // 2 + baseline
    cell = img.crop((int(cx - advance / 2), top, int(cx + advance / 2), bottom)).resize((W, H), Image.LANCZOS)
    print(ch, "".join(f"{v:02x}" for v in cell.getdata()))
