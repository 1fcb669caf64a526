"""Dashboard sessions: a signed, expiring token in an HTTP-only cookie, and the CSRF
rule for the requests that cookie authenticates.

The token is ``<issued-at>.<nonce>.<signature>``, the signature an HMAC-SHA256 under a
key derived from the environment's secret key: it proves its holder typed the key once,
without containing the key. Sessions are stateless, so rotating the secret key ends
them all, and logging out deletes the cookie (a copied token lives until it expires).

A cookie rides along on any request the browser makes, so a write it authenticates must
also carry ``X-Requested-With: durableruns-dashboard``: a header that only same-origin
``fetch`` can set (another origin would need a CORS preflight the facade never grants),
and any ``Origin`` it sends must name this host. ``SameSite=Strict`` keeps the cookie
off cross-site requests in the first place.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection, Request

COOKIE_NAME = "durableruns_session"
SESSION_TTL_S = 12 * 3600
"""How long a login lasts."""
CSRF_HEADER = "x-requested-with"
CSRF_VALUE = "durableruns-dashboard"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_CLOCK_SKEW_S = 60


def issue_token(secret_key: str, *, now: float | None = None) -> str:
    """A fresh session token for someone who just presented ``secret_key``."""
    issued = int(time.time() if now is None else now)
    body = f"{issued}.{secrets.token_urlsafe(12)}"
    return f"{body}.{_sign(body, secret_key)}"


def token_is_valid(token: str, secret_key: str, *, now: float | None = None) -> bool:
    """Whether ``token`` was issued under ``secret_key`` and has not expired."""
    if not secret_key:
        return False  # an environment without a key has no sessions
    body, _, signature = token.rpartition(".")
    issued_text, _, nonce = body.partition(".")
    if not (issued_text.isdigit() and nonce and signature.isascii()):
        return False
    if not hmac.compare_digest(signature, _sign(body, secret_key)):
        return False
    age = (time.time() if now is None else now) - int(issued_text)
    return -_CLOCK_SKEW_S <= age <= SESSION_TTL_S


def has_session(request: HTTPConnection, secret_key: str) -> bool:
    """Whether the request carries a valid session cookie."""
    token = request.cookies.get(COOKIE_NAME)
    return token is not None and token_is_valid(token, secret_key)


def passes_csrf_check(request: Request) -> bool:
    """Whether a cookie-authenticated request may have effects: safe methods always;
    others only with the dashboard's custom header and no foreign ``Origin``."""
    if request.method in SAFE_METHODS:
        return True
    return request.headers.get(CSRF_HEADER) == CSRF_VALUE and is_same_origin(request)


def is_same_origin(request: HTTPConnection) -> bool:
    """False when the browser says the request comes from another origin's page."""
    if request.headers.get("sec-fetch-site") in ("cross-site", "same-site"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not sent by every browser on every request; Sec-Fetch-Site was
    return urlsplit(origin).netloc == request.headers.get("host")


def _sign(body: str, secret_key: str) -> str:
    key = hashlib.sha256(b"durableruns dashboard session\0" + secret_key.encode()).digest()
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
