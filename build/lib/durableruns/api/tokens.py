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


def _token(secret_key: str, environment: str, scope: str) -> str:
    now = int(time.time())
    claims = {"sub": environment, "scopes": [scope], "iat": now, "exp": now + TOKEN_TTL_S}
    return jwt.encode(claims, signing_key(secret_key), algorithm="HS256")


def signing_key(secret_key: str) -> bytes:
    """A 32-byte HMAC key derived from the secret key (keys may be short strings)."""
    return hashlib.sha256(b"durableruns public token\0" + secret_key.encode()).digest()
