"""Public access tokens: short-lived JWTs that let a browser read some runs.

Two kinds are accepted, both HS256:

* the facade's own, returned in ``x-trigger-jwt`` on trigger and batch create (the
  official client relies on the header being present): scoped to the run or batch,
  signed with a key derived from the environment's secret key;
* Trigger.dev's, as its client's ``auth.createPublicToken`` mints them (and the Python
  SDK's ``auth.create_public_token``): claims from ``POST /api/v1/auth/jwt/claims``
  (``sub`` = the environment, ``pub``), the scopes, issuer ``https://id.trigger.dev``,
  audience ``https://api.trigger.dev``, signed with the secret key itself.

Either way the scopes are Trigger.dev's strings (``read:runs:<id>``, ``read:tags:<tag>``,
``read:batch:<id>`` …; see :mod:`durableruns.api.scopes`).
"""

from __future__ import annotations

import hashlib
import time
import warnings
from typing import Any

import jwt

from durableruns.errors import (
    ExpiredTokenError as ExpiredTokenError,  # defined in errors.py (the one tree)
)

TOKEN_TTL_S = 3600
JWT_ISSUER = "https://id.trigger.dev"
JWT_AUDIENCE = "https://api.trigger.dev"


def public_token_for_run(secret_key: str, environment: str, run_id: str) -> str:
    """A token scoped to reading ``run_id`` and sending to its input streams, for an
    hour (Trigger.dev's trigger answers ``read:runs:<id>`` + ``write:inputStreams:<id>``)."""
    return _token(
        secret_key, environment, f"read:runs:{run_id}", extra=f"write:inputStreams:{run_id}"
    )


def public_token_for_batch(secret_key: str, environment: str, batch_id: str) -> str:
    """A token scoped to reading a batch and its runs for an hour."""
    return _token(secret_key, environment, f"read:batch:{batch_id}")


def jwt_claims(environment: str) -> dict[str, Any]:
    """What ``POST /api/v1/auth/jwt/claims`` answers: the claims a client puts in the
    tokens it signs with this environment's secret key."""
    return {"sub": environment, "pub": True}


WAITPOINT_TOKEN_TTL_S = 24 * 3600
"""A wait token's public access token lasts a day (as the official client's own)."""


def public_token_for_waitpoint(secret_key: str, environment: str, token_id: str) -> str:
    """A token that lets a browser complete wait token ``token_id`` (for a day)."""
    return _token(secret_key, environment, f"write:waitpoints:{token_id}", WAITPOINT_TOKEN_TTL_S)


def _token(
    secret_key: str, environment: str, scope: str, ttl_s: int = TOKEN_TTL_S, extra: str = ""
) -> str:
    now = int(time.time())
    scopes = [scope, extra] if extra else [scope]
    claims = {"sub": environment, "scopes": scopes, "iat": now, "exp": now + ttl_s}
    return jwt.encode(claims, signing_key(secret_key), algorithm="HS256")


def signing_key(secret_key: str) -> bytes:
    """A 32-byte HMAC key derived from the secret key (keys may be short strings)."""
    return hashlib.sha256(b"durableruns public token\0" + secret_key.encode()).digest()


def verify_public_token(token: str, secret_key: str, environment: str) -> list[str] | None:
    """The token's scopes if this environment signed it (either kind), else None;
    :class:`ExpiredTokenError` if it did but the token has expired."""
    if not secret_key or token.count(".") != 2:
        return None
    claims = _decode(token, secret_key.encode(), trigger=True)
    if claims is None:
        claims = _decode(token, signing_key(secret_key), trigger=False)
    if claims is None or claims.get("sub") != environment:
        return None
    scopes = claims.get("scopes") or []
    return [str(s) for s in scopes] if isinstance(scopes, list) else None


def _decode(token: str, key: bytes, *, trigger: bool) -> dict[str, Any] | None:
    extra: dict[str, Any] = {"audience": JWT_AUDIENCE, "issuer": JWT_ISSUER} if trigger else {}
    with warnings.catch_warnings():
        # Trigger.dev signs with the secret key as is, shorter than HS256's 32 bytes.
        warnings.filterwarnings("ignore", message="The HMAC key is")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["HS256"],
                options={"require": ["exp"]},
                **extra,
            )
        except jwt.ExpiredSignatureError as exc:
            raise ExpiredTokenError from exc
        except jwt.PyJWTError:
            return None
    return claims
