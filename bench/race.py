#!/usr/bin/env python3
"""Concurrent writers against one server: a mix of 26 Oz API calls on shared objects (folder,
company, user and collection meta_data, folders created and deleted, media added, analyses
requested, users created, edited, blocked and deleted, logins and logouts, review claims,
thresholds and quotas, lists, statistics, the audit; persons enrolled, given photos, edited
and deleted), sent by THREADS clients for SECS seconds.
Prints each call's status counts and every 5xx (or failed connection): a race the store does
not handle shows up here as a 500. Standard library only.

  race.py URL ADMIN_EMAIL ADMIN_PASSWORD PHOTO SECS THREADS
"""
import json, random, sys, threading, time, urllib.request, urllib.error, uuid
BASE, ADMIN_EMAIL, ADMIN_PASSWORD, PHOTO = sys.argv[1:5]
SECS = float(sys.argv[5]); THREADS = int(sys.argv[6])
FACE = open(PHOTO, 'rb').read()
errs = []; counts = {}; lock = threading.Lock()

def call(method, path, body=None, token=None, ctype='application/json', raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(BASE + path, data=data, method=method)
    if data is not None: req.add_header('Content-Type', ctype)
    if token: req.add_header('X-Forensic-Access-Token', token)
    try:
        with urllib.request.urlopen(req, timeout=120) as r: st, b = r.status, r.read()
    except urllib.error.HTTPError as e: st, b = e.code, e.read()
    except Exception as e: st, b = 0, str(e).encode()
    key = method + ' ' + '/'.join('{id}' if len(p) == 36 else p for p in path.split('?')[0].split('/'))
    with lock:
        counts.setdefault(key, {}).setdefault(st, 0); counts[key][st] += 1
        if st >= 500 or st == 0: errs.append((key, st, b[:300]))
    try: return st, json.loads(b) if b else None
    except Exception: return st, None

def multipart(files, payload):
    bnd = uuid.uuid4().hex; out = b''
    for name, fname, data in files:
        out += f'--{bnd}\r\nContent-Disposition: form-data; name="{name}"; filename="{fname}"\r\nContent-Type: image/jpeg\r\n\r\n'.encode() + data + b'\r\n'
    out += f'--{bnd}\r\nContent-Disposition: form-data; name="payload"\r\n\r\n{json.dumps(payload)}\r\n--{bnd}--\r\n'.encode()
    return out, 'multipart/form-data; boundary=' + bnd

st, r = call('POST', '/api/authorize/auth', {'credentials': {'email': ADMIN_EMAIL, 'password': ADMIN_PASSWORD}})
ADMIN = r['access_token']
_, comp = call('POST', '/api/companies/', {'name': 'race-' + uuid.uuid4().hex[:8]}, ADMIN); C = comp['company_id']
def mkuser(t):
    e = uuid.uuid4().hex + '@h.test'
    _, u = call('POST', '/api/users/', {'email': e, 'password': 'pass-123456', 'user_type': t, 'company_id': C, 'first_name': 'A', 'last_name': 'B'}, ADMIN)
    _, l = call('POST', '/api/authorize/auth', {'credentials': {'email': e, 'password': 'pass-123456'}})
    return u['user_id'], e, l['access_token']
CA = mkuser('CLIENT ADMIN'); CL = mkuser('CLIENT'); OP = mkuser('CLIENT OPERATOR')
body, ct = multipart([('a', 'a.jpg', FACE)], {'media:tags': {'a': ['photo_selfie']}})
_, f = call('POST', '/api/folders/', token=CL[2], raw=body, ctype=ct); F = f['folder_id']
_, col = call('POST', '/api/collections/', {'alias': 'h' + uuid.uuid4().hex[:6], 'company_id': C}, CA[2]); K = col['collection_id']
folders = [F]; users = []; persons = []; media = [f['media'][0]['media_id']]
PERSONS = f'/api/collections/{K}/persons'

def op():
    k = random.randrange(26)
    if k == 0: call('PATCH', f'/api/folders/{random.choice(folders)}/meta_data', {uuid.uuid4().hex[:4]: 1}, CL[2])
    elif k == 1:
        body, ct = multipart([('a', 'a.jpg', FACE)], {'media:tags': {'a': ['photo_selfie']}, 'folder:meta_data': {'x': 1}})
        st, f = call('POST', '/api/folders/', token=CL[2], raw=body, ctype=ct)
        if st == 201: folders.append(f['folder_id'])
    elif k == 2:
        body, ct = multipart([('b', 'b.jpg', FACE)], {'media:tags': {'b': ['photo_id_front']}})
        st, m = call('POST', f'/api/folders/{random.choice(folders)}/media/', token=CL[2], raw=body, ctype=ct)
    elif k == 3: call('POST', f'/api/folders/{random.choice(folders)}/analyses/', {'analyses': [{'type': 'QUALITY'}]}, CL[2])
    elif k == 4: call('DELETE', f'/api/folders/{random.choice(folders)}', token=CA[2])
    elif k == 5: call('PATCH', f'/api/companies/{C}', {'meta_data': {uuid.uuid4().hex[:3]: 1}}, CA[2])
    elif k == 6: call('PUT', f'/api/companies/{C}/quotas', {'requests_per_minute': random.randrange(0, 100000)}, ADMIN)
    elif k == 7: call('PATCH', f'/api/companies/{C}/thresholds', {'quality': random.choice([0.5, 0.6, None])}, ADMIN)
    elif k == 8:
        st, u = call('POST', '/api/users/', {'email': uuid.uuid4().hex + '@h.test', 'password': 'pass-123456', 'user_type': 'CLIENT', 'company_id': C, 'first_name': 'A', 'last_name': 'B'}, CA[2])
        if st == 201: users.append(u['user_id'])
    elif k == 9 and users: call('PATCH', f'/api/users/{random.choice(users)}', {'first_name': 'N' + str(random.randrange(99)), 'is_active': random.choice([True, False])}, CA[2])
    elif k == 10 and users: call('DELETE', f'/api/users/{random.choice(users)}', token=CA[2])
    elif k == 11:
        st, l = call('POST', '/api/authorize/auth', {'credentials': {'email': CL[1], 'password': 'pass-123456'}})
        if st == 200: call('POST', '/api/authorize/logout', {}, l['access_token'])
    elif k == 12: call('POST', f'/api/folders/{random.choice(folders)}/claim', {}, OP[2])
    elif k == 13: call('DELETE', f'/api/folders/{random.choice(folders)}/claim', token=OP[2])
    elif k == 14: call('GET', '/api/folders/?limit=20&meta_data=x==1', token=CA[2])
    elif k == 15: call('GET', '/api/statistics/orders?granularity=day', token=CA[2])
    elif k == 16: call('PATCH', f'/api/collections/{K}/meta_data', {uuid.uuid4().hex[:3]: 2}, CA[2])
    elif k == 17: call('GET', '/api/audit/?limit=50', token=CA[2])
    elif k == 18: call('PATCH', f'/api/folders/{random.choice(folders)}', {'resolution_comment': 'c' + str(random.randrange(9))}, OP[2])
    elif k == 19: call('DELETE', f'/api/folders/{random.choice(folders)}/meta_data', token=CL[2])
    elif k == 20: call('GET', f'/api/folders/{random.choice(folders)}/', token=CL[2])
    elif k == 21: call('PATCH', f'/api/users/{CL[0]}/meta_data', {uuid.uuid4().hex[:3]: 3}, CL[2])
    elif k == 22:
        body, ct = multipart([('image1', 'p.jpg', FACE)], {'media:tags': {'image1': ['photo_selfie']}, 'person:meta_data': {'n': 1}})
        st, p = call('POST', PERSONS + '/', token=CA[2], raw=body, ctype=ct)
        if st == 201: persons.append(p['person_id'])
    elif k == 23 and persons:
        body, ct = multipart([('image1', 'p.jpg', FACE)], {'media:tags': {'image1': ['photo_selfie']}})
        call('POST', f'{PERSONS}/{random.choice(persons)}/images/', token=CA[2], raw=body, ctype=ct)
    elif k == 24 and persons: call('DELETE', f'{PERSONS}/{random.choice(persons)}', token=CA[2])
    elif k == 25 and persons: call('PATCH', f'{PERSONS}/{random.choice(persons)}/meta_data', {uuid.uuid4().hex[:3]: 4}, CA[2])

def worker():
    end = time.time() + SECS
    while time.time() < end: op()
ts = [threading.Thread(target=worker) for _ in range(THREADS)]
[t.start() for t in ts]; [t.join() for t in ts]
for k in sorted(counts): print(k, counts[k])
print('5xx/failed:', len(errs))
for e in errs[:20]: print(e)
sys.exit(1 if errs else 0)
