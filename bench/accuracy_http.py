#!/usr/bin/env python3
"""The HTTP pass of the accuracy report: the listed pairs and the liveness photos of a labelled
folder (laid out like faces-dev) sent to a running Emerald through Instant mode, exactly as a
client would, and the decisions it answers counted. Standard library only.

    accuracy_http.py URL TOKEN FACES_DEV_DIR

Prints Markdown: BIOMETRY decisions (SUCCESS / DECLINED / other) on genuine and impostor pairs at
the server's default threshold, and QUALITY decisions per liveness species.
"""
import collections
import concurrent.futures
import csv
import json
import os
import sys
import urllib.error
import urllib.request
import uuid


def instant(url, token, analyses, files):
    """POST /api/instant/folders/ with `files` = [(field, path, tag)]; the folder JSON."""
    boundary = uuid.uuid4().hex
    body = bytearray()
    tags = {field: [tag] for field, _, tag in files}
    payload = json.dumps({"media:tags": tags, "analyses": analyses})
    body += f'--{boundary}\r\nContent-Disposition: form-data; name="payload"\r\n\r\n{payload}\r\n'.encode()
    for field, path, _ in files:
        with open(path, "rb") as f:
            data = f.read()
        name = os.path.basename(path)
        body += (f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
                 f"Content-Type: application/octet-stream\r\n\r\n").encode()
        body += data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    req = urllib.request.Request(url + "/api/instant/folders/", data=bytes(body), method="POST")
    req.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    req.add_header("X-Forensic-Access-Token", token)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def decision(status, folder, kind):
    if status >= 500:
        return "HTTP 5xx"
    if status >= 400:
        return f"HTTP {status}"
    for a in folder.get("analyses", []):
        if a.get("type", "").upper() == kind:
            return a.get("resolution_status") or a.get("state") or "?"
    return "no analysis"


def table(title, rows, columns):
    print(f"#### {title}\n")
    print("| set | n | " + " | ".join(columns) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in columns) + " |")
    for name, counts in rows:
        n = sum(counts.values())
        print(f"| {name} | {n} | " + " | ".join(str(counts.get(c, 0)) for c in columns) + " |")
    print()


def main():
    url, token, root = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)

    pairs = list(csv.DictReader(open(os.path.join(root, "pairs.csv"))))
    def biometry(p):
        status, folder = instant(url, token, [{"type": "biometry"}], [
            ("a", os.path.join(root, p["img1"]), "photo_selfie"),
            ("b", os.path.join(root, p["img2"]), "photo_selfie"),
        ])
        return p["same"] == "1", decision(status, folder, "BIOMETRY")
    by = collections.defaultdict(collections.Counter)
    for same, d in pool.map(biometry, pairs):
        by["genuine pairs" if same else "impostor pairs"][d] += 1
    cols = sorted({c for counts in by.values() for c in counts})
    table("Through the API: BIOMETRY (Instant), the listed pairs, default threshold", sorted(by.items()), cols)

    for labels, title in (("spoof/labels.csv", "photos"), ("videos/labels.csv", "videos")):
        path = os.path.join(root, labels)
        if not os.path.exists(path):
            continue
        base = os.path.dirname(path)
        rows = list(csv.DictReader(open(path)))
        tag = "video_selfie" if labels.startswith("videos") else "photo_selfie"
        def quality(r):
            status, folder = instant(url, token, [{"type": "quality"}], [("a", os.path.join(base, r["path"]), tag)])
            return f'{r["species"]} ({r["label"].replace("_", " ")})', decision(status, folder, "QUALITY")
        by = collections.defaultdict(collections.Counter)
        for species, d in pool.map(quality, rows):
            by[species][d] += 1
        cols = sorted({c for counts in by.values() for c in counts})
        table(f"Through the API: QUALITY (Instant), {title}, default threshold", sorted(by.items()), cols)


if __name__ == "__main__":
    main()
