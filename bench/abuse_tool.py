#!/usr/bin/env python3
"""Client side of bench/abuse.sh (issue #23), standard library only.

  abuse_tool.py guess  URL EMAIL SECONDS THREADS     password guessing against one account
  abuse_tool.py spray  URL SECONDS THREADS           one wrong password per account, many accounts
  abuse_tool.py backlog URL TOKEN PHOTO N THREADS    N folders with a photo, then N queued QUALITY
  abuse_tool.py drain  URL TOKEN                     wait until the token's analyses are all done

Each guessing mode prints, per minute of the run, the attempts the server evaluated (answered
401, the password checked) and those it refused unchecked (429), and the evaluated attempts
per minute after the first refusal (the throttle's engagement).
"""
import json
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid


def call(method, url, body=None, token=None, content_type="application/json"):
    req = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", content_type)
    if token:
        req.add_header("X-Forensic-Access-Token", token)
    try:
        with urllib.request.urlopen(req, timeout=120) as res:
            return res.status, res.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def login_body(email, password):
    return json.dumps({"credentials": {"email": email, "password": password}}).encode()


def guessing(url, seconds, threads, next_email):
    """Wrong passwords as fast as `threads` clients can send them; returns (t, status) list."""
    results, lock = [], threading.Lock()
    start = time.monotonic()
    counter = [0]

    def worker():
        while time.monotonic() - start < seconds:
            with lock:
                counter[0] += 1
                n = counter[0]
            status, _ = call("POST", f"{url}/api/authorize/auth", login_body(next_email(n), f"wrong-guess-{n}"))
            with lock:
                results.append((time.monotonic() - start, status))

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return results


def report_guessing(results, seconds):
    other = sorted({s for _, s in results if s not in (401, 429)})
    print(f"attempts {len(results)}  evaluated (401) {sum(1 for _, s in results if s == 401)}  "
          f"refused unchecked (429) {sum(1 for _, s in results if s == 429)}  other statuses {other or 'none'}")
    minutes = int((seconds + 59) // 60)
    for m in range(minutes):
        ev = sum(1 for t, s in results if s == 401 and m * 60 <= t < (m + 1) * 60)
        rf = sum(1 for t, s in results if s == 429 and m * 60 <= t < (m + 1) * 60)
        print(f"  minute {m + 1}: evaluated {ev}, refused {rf}")
    first_refusal = min((t for t, s in results if s == 429), default=None)
    if first_refusal is None:
        print("the throttle never engaged")
        return
    after = [t for t, s in results if s == 401 and t >= first_refusal]
    span = max(seconds - first_refusal, 1e-9)
    print(f"throttle engaged after {sum(1 for t, s in results if s == 401 and t < first_refusal)} evaluated attempts "
          f"({first_refusal:.2f} s); after it: {len(after)} evaluated in {span:.0f} s = {len(after) * 60 / span:.1f} per minute "
          f"(target <= 20)")


def multipart(parts, payload):
    boundary = uuid.uuid4().hex
    body = b""
    for name, filename, data in parts:
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n"
                 f"Content-Type: image/jpeg\r\n\r\n").encode() + data + b"\r\n"
    body += f"--{boundary}\r\nContent-Disposition: form-data; name=\"payload\"\r\n\r\n{json.dumps(payload)}\r\n".encode()
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def parallel(n, threads, job):
    """Run job(i) for i in range(n) on `threads` threads; raises on the first failure."""
    nexti, lock, errors = [0], threading.Lock(), []

    def worker():
        while not errors:
            with lock:
                i = nexti[0]
                nexti[0] += 1
            if i >= n:
                return
            try:
                job(i)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]


def backlog(url, token, photo, n, threads):
    data = open(photo, "rb").read()
    folders = [None] * n
    t0 = time.monotonic()

    def upload(i):
        body, ct = multipart([("selfie", "selfie.jpg", data)], {"media:tags": {"selfie": ["photo_selfie"]}})
        status, res = call("POST", f"{url}/api/folders/", body, token, ct)
        if status != 201:
            raise RuntimeError(f"upload: HTTP {status} {res[:300]!r}")
        folders[i] = json.loads(res)["folder_id"]

    parallel(n, threads, upload)
    t1 = time.monotonic()

    def analyse(i):
        body = json.dumps({"analyses": [{"type": "quality"}]}).encode()
        status, res = call("POST", f"{url}/api/folders/{folders[i]}/analyses/", body, token)
        if status not in (200, 201):
            raise RuntimeError(f"analyses: HTTP {status} {res[:300]!r}")

    parallel(n, threads, analyse)
    t2 = time.monotonic()
    print(f"backlog: {n} folders uploaded in {t1 - t0:.1f} s, {n} QUALITY analyses queued in {t2 - t1:.1f} s; "
          f"{pending(url, token)} not finished yet")


def pending(url, token):
    status, res = call("GET", f"{url}/api/analyses/?state=PROCESSING&limit=1", token=token)
    if status != 200:
        raise RuntimeError(f"list analyses: HTTP {status} {res[:300]!r}")
    return json.loads(res)["total_count"]


def drain(url, token):
    t0 = time.monotonic()
    left = pending(url, token)
    print(f"backlog: {left} analyses not finished when the measurement ended")
    while left:
        time.sleep(1)
        left = pending(url, token)
    print(f"backlog: all finished {time.monotonic() - t0:.1f} s later")


def main():
    mode, url = sys.argv[1], sys.argv[2].rstrip("/")
    if mode == "guess":
        email, seconds, threads = sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
        report_guessing(guessing(url, seconds, threads, lambda n: email), seconds)
    elif mode == "spray":
        seconds, threads = float(sys.argv[3]), int(sys.argv[4])
        report_guessing(guessing(url, seconds, threads, lambda n: f"spray-{n}@bench.local"), seconds)
    elif mode == "backlog":
        backlog(url, sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
    elif mode == "drain":
        drain(url, sys.argv[3])
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
