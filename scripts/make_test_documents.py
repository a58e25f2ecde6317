#!/usr/bin/env python3
"""Synthetic identity documents for the DOCUMENTS tests and accuracy tool (issue #19).

Renders ID cards (TD1), TD2 cards and passport data pages (TD3) with an ICAO 9303 MRZ in OCR-B
(Debian fonts-ocr-b) and a visual zone in DejaVu Sans, a portrait from a face photo, then
"photographs" them: placed on a background, rotated 0/90/180/270, small tilts with perspective,
blur, noise, glare, JPEG quality 60-92. Some have a broken check digit or are expired; the visual
zone prints dates three ways (DD.MM.YYYY, DD MMM YYYY, YYYY-MM-DD) and one document prints another
surname than its MRZ says.

    make_test_documents.py OUT_DIR FACE.jpg [FACE2.jpg ...]

Writes OUT_DIR/*.jpg and OUT_DIR/manifest.json (what each document says, whether its check
digits hold, whether it is expired, how it was photographed). Deterministic (fixed seed).
"""
import json
import os
import random
import sys

from PIL import Image, ImageDraw, ImageFilter, ImageFont

OCRB = "/usr/share/fonts/opentype/ocr-b/OCRB.otf"
SANS = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
SANS_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

SURNAMES = ["ERIKSSON", "MUELLER", "OKONKWO", "NAKAMURA", "DUPONT", "KOWALSKI", "SILVA", "JOHANSEN",
            "PETROV", "GARCIA", "OBRIEN", "HASSAN", "LINDQVIST", "ROSSI", "NGUYEN", "VAN<DER<BERG"]
GIVEN = ["ANNA<MARIA", "PETER", "CHIDI", "YUKI", "JEAN<PAUL", "MAREK", "JOAO", "INGRID", "OLGA",
         "LUIS<MIGUEL", "SEAN", "LEILA", "KARIN", "MARCO", "MINH", "WILLEM"]
STATES = ["UTO", "D<<", "FRA", "NLD", "SWE", "POL", "ITA", "CAN"]


def value(c):
    if c.isdigit():
        return int(c)
    if c.isalpha():
        return ord(c) - ord("A") + 10
    return 0


def cd(s):
    return str(sum(value(c) * (7, 3, 1)[i % 3] for i, c in enumerate(s)) % 10)


def pad(s, n):
    return (s + "<" * n)[:n]


def mrz(fmt, doc):
    """The MRZ lines of `doc` in layout `fmt`."""
    t, st, num, nat = doc["type"], doc["state"], doc["number"], doc["nationality"]
    b, s, e, opt = doc["birth"], doc["sex"], doc["expiry"], doc["optional"]
    name = doc["surname"] + "<<" + doc["given"]
    if fmt == "TD1":
        l1 = pad(pad(t, 2) + st + num + cd(num) + opt, 30)
        l2 = b + cd(b) + s + e + cd(e) + nat + pad("", 11)
        comp = l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29]
        return [l1, l2 + cd(comp), pad(name, 30)]
    if fmt == "TD2":
        l1 = pad(pad(t, 2) + st + name, 36)
        l2 = num + cd(num) + nat + b + cd(b) + s + e + cd(e) + pad(opt, 7)
        comp = l2[0:10] + l2[13:20] + l2[21:35]
        return [l1, l2 + cd(comp)]
    l1 = pad(pad(t, 2) + st + name, 44)
    po = pad(opt, 14)
    l2 = num + cd(num) + nat + b + cd(b) + s + e + cd(e) + po + cd(po)
    comp = l2[0:10] + l2[13:20] + l2[21:43]
    return [l1, l2 + cd(comp)]


MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


def human_date(yymmdd, century, style):
    """A printed date: DD.MM.YYYY, DD MMM YYYY or YYYY-MM-DD."""
    y, m, d = f"{century}{yymmdd[0:2]}", yymmdd[2:4], yymmdd[4:6]
    if style == 1:
        return f"{d} {MONTHS[int(m) - 1]} {y}"
    if style == 2:
        return f"{y}-{m}-{d}"
    return f"{d}.{m}.{y}"


def make_doc(rng, i):
    fmt = ["TD1", "TD3", "TD1", "TD3", "TD2"][i % 5]
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    num = rng.choice(letters) + "".join(rng.choice("0123456789" + letters[:6]) for _ in range(8))
    by = rng.randint(1950, 2004)
    birth = f"{by % 100:02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    expired = i % 11 == 7
    ey = rng.randint(2015, 2023) if expired else rng.randint(2027, 2035)
    expiry = f"{ey % 100:02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    state = rng.choice(STATES)
    doc = {
        "format": fmt,
        "type": "P" if fmt == "TD3" else rng.choice(["I", "ID", "IR"]),
        "state": state,
        "nationality": state,
        "surname": rng.choice(SURNAMES),
        "given": rng.choice(GIVEN),
        "number": num,
        "birth": birth,
        "birth_year": by,
        "sex": rng.choice("MF"),
        "expiry": expiry,
        "expiry_year": ey,
        "optional": "".join(rng.choice("0123456789") for _ in range(rng.choice([0, 6, 9]))),
        "expired": expired,
    }
    lines = mrz(fmt, doc)
    broken = i % 13 == 5
    if broken:
        # The document number's check digit off by 3: the MRZ never holds.
        pos = 14 if fmt == "TD1" else 9
        li = 0 if fmt == "TD1" else 1
        l = lines[li]
        lines[li] = l[:pos] + str((int(l[pos]) + 3) % 10) + l[pos + 1:]
    doc["lines"] = lines
    doc["valid"] = not broken
    # What the visual zone prints. One document (flat, valid, not expired) prints another
    # surname than its MRZ: a forged or mis-issued document that must go to an operator.
    by, ey, style = doc["birth_year"], doc["expiry_year"], i % 3
    surname = doc["surname"].replace("<", " ")
    doc["visual_mismatch"] = i == 11
    if doc["visual_mismatch"]:
        surname = next(s for s in SURNAMES if s != doc["surname"] and "<" not in s and s[0] != doc["surname"][0])
    doc["visual"] = {
        "surname": surname,
        "given_names": doc["given"].replace("<", " "),
        "document_number": doc["number"],
        "nationality": doc["nationality"].strip("<"),
        "birth_date": human_date(doc["birth"], str(by)[:2], style),
        "sex": doc["sex"],
        "expiry_date": human_date(doc["expiry"], str(ey)[:2], style),
    }
    return doc


def render(doc, face):
    fmt = doc["format"]
    # 12 px per mm: TD1 85.6×54, TD2 105×74, TD3 125×88.
    size = {"TD1": (1027, 648), "TD2": (1260, 888), "TD3": (1500, 1056)}[fmt]
    w, h = size
    card = Image.new("RGB", size, (232, 238, 244))
    d = ImageDraw.Draw(card)
    # A faint guilloche-like background.
    for k in range(0, w + h, 18):
        d.line([(k, 0), (k - h, h)], fill=(222, 230, 238), width=2)
    d.rectangle([0, 0, w, int(h * 0.13)], fill=(40, 80, 140))
    title = {"TD1": "IDENTITY CARD", "TD2": "IDENTITY CARD", "TD3": "PASSPORT"}[fmt]
    hf = ImageFont.truetype(SANS_BOLD, int(h * 0.06))
    d.text((int(w * 0.04), int(h * 0.03)), f"REPUBLIC OF {doc['state'].strip('<')}  {title}", font=hf,
           fill=(255, 255, 255))
    mrz_lines = doc["lines"]
    n = len(mrz_lines)
    # OCR-B (advance 0.723 em) at a pitch filling ~92 % of the width.
    mrz_size = int(w * 0.92 / len(mrz_lines[0]) / 0.7233)
    mf = ImageFont.truetype(OCRB, mrz_size)
    line_h = int(mrz_size * 1.25)
    mrz_top = h - int(h * 0.05) - n * line_h
    d.rectangle([0, mrz_top - int(line_h * 0.4), w, h], fill=(246, 246, 240))
    for k, line in enumerate(mrz_lines):
        d.text((int(w * 0.04), mrz_top + k * line_h), line, font=mf, fill=(20, 20, 20))
    # Portrait.
    top = int(h * 0.18)
    ph = mrz_top - top - int(line_h * 0.8)
    pw = int(ph * 0.78)
    portrait = face.copy()
    fw, fh = portrait.size
    # Centre crop at the portrait's aspect, head and shoulders of a centred face.
    cw = min(int(fw * 0.66), int(fh * pw / ph))
    ch = int(cw * ph / pw)
    portrait = portrait.crop(((fw - cw) // 2, (fh - ch) // 2, (fw - cw) // 2 + cw, (fh - ch) // 2 + ch))
    card.paste(portrait.resize((pw, ph)), (int(w * 0.04), top))
    # Visual zone: label, then value.
    lf = ImageFont.truetype(SANS, int(h * 0.028))
    vf = ImageFont.truetype(SANS_BOLD, int(h * 0.042))
    x = int(w * 0.04) + pw + int(w * 0.04)
    v = doc["visual"]
    fields = [
        ("Surname", v["surname"]),
        ("Given names", v["given_names"]),
        ("Document No.", v["document_number"]),
        ("Nationality", v["nationality"]),
        ("Date of birth", v["birth_date"]),
        ("Sex", v["sex"]),
        ("Date of expiry", v["expiry_date"]),
    ]
    if LAYOUT == "columns":
        # Two columns where fields are short: labels side by side, each value under its label;
        # bilingual labels on the names.
        fields[0] = ("Surname / Nom", v["surname"])
        fields[1] = ("Given names / Prénoms", v["given_names"])
        col2 = x + int((w - x) * 0.45)
        rows = [[fields[0]], [fields[1]], [fields[2], fields[3]], [fields[4], fields[5]], [fields[6]]]
        step = ph / len(rows)
        for k, row in enumerate(rows):
            y = top + int(k * step)
            for c, (label, val) in enumerate(row):
                cx = x if c == 0 else col2
                d.text((cx, y), label, font=lf, fill=(70, 90, 120))
                d.text((cx, y + int(h * 0.03)), val, font=vf, fill=(10, 10, 30))
        return card
    step = (ph) / len(fields)
    for k, (label, val) in enumerate(fields):
        y = top + int(k * step)
        d.text((x, y), label, font=lf, fill=(70, 90, 120))
        d.text((x, y + int(h * 0.03)), val, font=vf, fill=(10, 10, 30))
    return card


def photograph(card, rng, variant):
    """The card as a phone might see it."""
    w, h = card.size
    margin = int(max(w, h) * 0.12)
    bg = (rng.randint(60, 140), rng.randint(50, 120), rng.randint(40, 100))
    canvas = Image.new("RGB", (w + 2 * margin, h + 2 * margin), bg)
    canvas.paste(card, (margin, margin))
    img = canvas
    if variant in ("tilt", "perspective", "hard"):
        angle = rng.uniform(-6, 6)
        img = img.rotate(angle, resample=Image.BICUBIC, expand=False, fillcolor=bg)
    if variant in ("perspective", "hard"):
        W, H = img.size
        j = lambda: rng.uniform(0, 0.05)
        quad = (W * j(), H * j(), W * j(), H * (1 - j()), W * (1 - j()), H * (1 - j()), W * (1 - j()), H * j())
        img = img.transform((W, H), Image.QUAD, quad, resample=Image.BICUBIC, fillcolor=bg)
    if variant in ("glare", "hard"):
        glare = Image.new("L", img.size, 0)
        gd = ImageDraw.Draw(glare)
        cx, cy = rng.randint(0, img.size[0]), rng.randint(0, img.size[1] // 2)
        r = int(min(img.size) * 0.25)
        gd.ellipse([cx - r, cy - r, cx + r, cy + r], fill=110)
        glare = glare.filter(ImageFilter.GaussianBlur(r // 2))
        img = Image.composite(Image.new("RGB", img.size, (255, 255, 255)), img, glare)
    if variant in ("blur", "hard"):
        img = img.filter(ImageFilter.GaussianBlur(1.0))
    rot = {"rot90": 90, "rot180": 180, "rot270": 270}.get(variant, 0)
    if rot:
        img = img.rotate(rot, expand=True)
    # Phone photos arrive at about 1600 px.
    scale = 1600 / max(img.size)
    img = img.resize((int(img.size[0] * scale), int(img.size[1] * scale)), Image.BILINEAR)
    if variant in ("noise", "hard", "perspective"):
        noise = Image.effect_noise(img.size, 12).convert("RGB")
        img = Image.blend(img, noise, 0.08)
    quality = 60 if variant in ("hard", "noise", "jpeg60") else 90
    return img, quality


# EMERALD_TEST_DOCUMENTS_LAYOUT: `stacked` (default: one field per line, label over value) or
# `columns` (labels side by side where the fields are short, bilingual name labels).
LAYOUT = os.environ.get("EMERALD_TEST_DOCUMENTS_LAYOUT", "stacked")

VARIANTS = ["flat", "rot90", "rot180", "rot270", "tilt", "jpeg60", "noise", "blur", "glare", "perspective",
            "hard"]


def main():
    out, faces = sys.argv[1], sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(19 if LAYOUT == "stacked" else 23)
    manifest = []
    count = int(os.environ.get("EMERALD_TEST_DOCUMENTS", "44"))
    for i in range(count):
        doc = make_doc(rng, i)
        face = Image.open(faces[i % len(faces)]).convert("RGB")
        card = render(doc, face)
        variant = VARIANTS[i % len(VARIANTS)]
        img, q = photograph(card, rng, variant)
        tail = ("_broken" if not doc["valid"] else "") + ("_mismatch" if doc["visual_mismatch"] else "")
        name = f"doc{i:03d}_{doc['format'].lower()}_{variant}{tail}.jpg"
        img.save(os.path.join(out, name), quality=q)
        face_path = faces[i % len(faces)]
        face_rel = os.path.join(os.path.basename(os.path.dirname(face_path)), os.path.basename(face_path))
        doc.update({"file": name, "variant": variant, "face": face_rel, "face_path": os.path.abspath(face_path)})
        manifest.append(doc)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(f"{len(manifest)} documents in {out}")


if __name__ == "__main__":
    main()
