"""Schemathesis hooks of scripts/fuzz-test.sh: authentication as the first admin, and real
inputs for the media types the document names (face photos, face templates), so that uploads,
analyses and the Lite comparisons reach the engine instead of stopping at "not an image"."""

import os
import pathlib

import requests
import schemathesis
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import use_after_free as _use_after_free

BASE = os.environ["EMERALD_URL"]
EMAIL = os.environ["EMERALD_ADMIN_EMAIL"]
PASSWORD = os.environ["EMERALD_ADMIN_PASSWORD"]
TOKEN_HEADER = "X-Forensic-Access-Token"


def files(var):
    return [pathlib.Path(p).read_bytes() for p in os.environ.get(var, "").split(os.pathsep) if p]


PHOTOS = files("EMERALD_FUZZ_PHOTOS")
TEMPLATES = files("EMERALD_FUZZ_TEMPLATES")

# Mostly real faces; sometimes a few arbitrary bytes (the "not an image" answers).
photo = st.one_of(st.sampled_from(PHOTOS), st.binary(max_size=16)) if PHOTOS else st.binary(max_size=64)
schemathesis.openapi.media_type("image/jpeg", photo)
schemathesis.openapi.media_type("image/png", photo)
if TEMPLATES:
    schemathesis.openapi.media_type(
        "application/octet-stream", st.one_of(st.sampled_from(TEMPLATES), st.binary(max_size=16))
    )


def login():
    r = requests.post(
        f"{BASE}/api/authorize/auth",
        json={"credentials": {"email": EMAIL, "password": PASSWORD}},
        timeout=60,
    )
    r.raise_for_status()
    return r.json()


# Operations that end or renew the session of the token they are sent with get a session of
# their own, so that they do not log the run out.
OWN_SESSION = {"/api/authorize/logout", "/api/authorize/refresh"}


ADMIN_ID = login()["user_id"]


@schemathesis.auth()
class AdminToken:
    def get(self, case, context):
        return login()["access_token"]

    def set(self, case, data, context):
        token = data
        # The run's own account keeps its credentials: the fuzzer finds the admin's user_id in
        # answers and would otherwise change its password or e-mail, and every later login fails.
        if (
            case.method == "PATCH"
            and case.operation.path == "/api/users/{user_id}"
            and str((case.path_parameters or {}).get("user_id")) == ADMIN_ID
            and isinstance(case.body, dict)
        ):
            case.body.pop("password", None)
            case.body.pop("email", None)
        if case.operation.path in OWN_SESSION:
            pair = login()
            token = pair["access_token"]
            if isinstance(case.body, dict) and isinstance(case.body.get("expire_token"), str):
                case.body["expire_token"] = pair["expire_token"]
        case.headers = case.headers or {}
        case.headers[TOKEN_HEADER] = token


@schemathesis.check
def use_after_free_but_meta_data(ctx, response, case):
    """Schemathesis' use_after_free, except on `…/meta_data`: there DELETE clears the object's
    metadata (the spec's contract) and the emptied object stays readable (`{}`), which the
    stock check takes for a deleted resource still served."""
    if case.operation.path.rstrip("/").endswith("/meta_data"):
        return None
    return _use_after_free(ctx, response, case)
