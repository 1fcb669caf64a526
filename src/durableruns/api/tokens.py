"""Public access tokens: short-lived JWTs that let a browser read one run.

Returned in ``x-trigger-jwt`` on trigger, as Trigger.dev does (its client relies on the
header being present). Signed with the environment's secret key.
"""

from __future__ import annotations

import hashlib
import time

import jwt

TOKEN_TTL_S = 3600


def public_token_for_run(secret_key: str, environment: str, run_id: str) -> str:
    """A token scoped to reading ``run_id`` for an hour."""
    return _token(secret_key, environment, f"read:runs:{run_id}")


def public_token_for_batch(secret_key: str, environment: str, batch_id: str) -> str:
    """A token scoped to reading a batch and its runs for an hour."""
    return _token(secret_key, environment, f"read:batch:{batch_id}")


WAITPOINT_TOKEN_TTL_S = 24 * 3600
"""A wait token's public access token lasts a day (as the official client's own)."""


def public_token_for_waitpoint(secret_key: str, environment: str, token_id: str) -> str:
    """A token that lets a browser complete wait token ``token_id`` (for a day)."""
    return _token(secret_key, environment, f"write:waitpoints:{token_id}", WAITPOINT_TOKEN_TTL_S)


def _token(secret_key: str, environment: str, scope: str, ttl_s: int = TOKEN_TTL_S) -> str:
    now = int(time.time())
    claims = {"sub": environment, "scopes": [scope], "iat": now, "exp": now + ttl_s}
    return jwt.encode(claims, signing_key(secret_key), algorithm="HS256")


def signing_key(secret_key: str) -> bytes:
    """A 32-byte HMAC key derived from the secret key (keys may be short strings)."""
    return hashlib.sha256(b"durableruns public token\0" + secret_key.encode()).digest()
