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
    now = int(time.time())
    claims = {
        "sub": environment,
        "scopes": [f"read:runs:{run_id}"],
        "iat": now,
        "exp": now + TOKEN_TTL_S,
    }
    return jwt.encode(claims, signing_key(secret_key), algorithm="HS256")


def public_token_for_batch(secret_key: str, environment: str, batch_id: str) -> str:
    """A token scoped to reading a batch and its runs for an hour."""
    now = int(time.time())
    claims = {
        "sub": environment,
        "scopes": [f"read:batch:{batch_id}"],
        "iat": now,
        "exp": now + TOKEN_TTL_S,
    }
    return jwt.encode(claims, signing_key(secret_key), algorithm="HS256")


def signing_key(secret_key: str) -> bytes:
    """A 32-byte HMAC key derived from the secret key (keys may be short strings)."""
    return hashlib.sha256(b"durableruns public token\0" + secret_key.encode()).digest()
