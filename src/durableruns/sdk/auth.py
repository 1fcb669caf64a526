"""``auth``: public access tokens, as Trigger.dev's ``auth.createPublicToken`` makes them.

A public token lets a browser (or anyone you hand it to) read some runs and nothing
else: the runs you name, the runs with a tag, the runs of a batch. It is a JWT signed
with your secret key (HS256) carrying the claims the facade gives for your environment
(``POST /api/v1/auth/jwt/claims``), the scopes, and an expiry; the official client's
tokens and these are interchangeable.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import jwt

from durableruns.durations import parse_duration
from durableruns.sdk.client import _secret_key, request

JWT_ISSUER = "https://id.trigger.dev"
JWT_AUDIENCE = "https://api.trigger.dev"
DEFAULT_EXPIRATION = "15m"

Scopes = Mapping[str, Mapping[str, str | Sequence[str] | bool] | bool]


async def create_public_token(
    *,
    scopes: Scopes | None = None,
    expiration_time: str | int | datetime = DEFAULT_EXPIRATION,
) -> str:
    """A public access token for the scopes given, expiring after ``expiration_time``
    (a duration like ``"1h"``, a datetime, or epoch seconds; default 15 minutes).

    Example::

        token = await auth.create_public_token(
            scopes={"read": {"tags": ["user_42"], "runs": [handle.id]}},
            expiration_time="1h",
        )
    """
    claims: dict[str, Any] = (await request("POST", "/api/v1/auth/jwt/claims")).json()
    now = int(time.time())
    payload = {
        **claims,
        "iss": JWT_ISSUER,
        "aud": JWT_AUDIENCE,
        "iat": now,
        "exp": _expiry(expiration_time, now),
    }
    if scopes is not None:
        payload["scopes"] = flatten_scopes(scopes)
    with warnings.catch_warnings():
        # Trigger.dev's tokens are signed with the secret key as is (under 32 bytes).
        warnings.filterwarnings("ignore", message="The HMAC key is")
        return jwt.encode(payload, _secret_key(), algorithm="HS256")


def flatten_scopes(scopes: Scopes) -> list[str]:
    """``{"read": {"runs": ["run_1"], "tags": "t"}}`` → ``["read:runs:run_1", "read:tags:t"]``
    (what the official client's ``flattenScopes`` makes)."""
    flat: list[str] = []
    for action, resources in scopes.items():
        if resources is True:
            flat.append(action)
        elif isinstance(resources, Mapping):
            for resource, value in resources.items():
                if value is True:
                    flat.append(f"{action}:{resource}")
                elif isinstance(value, str):
                    flat.append(_scope(action, resource, value))
                elif isinstance(value, Sequence):
                    flat.extend(_scope(action, resource, item) for item in value)
    return flat


def _scope(action: str, resource: str, value: str) -> str:
    if not value.strip():
        raise ValueError("Public token scope resource ids must not be empty")
    return f"{action}:{resource}:{value}"


def _expiry(value: str | int | datetime, now: int) -> int:
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, int):
        return value
    return now + int(parse_duration(value))
