"""``concurrency_limits``: Trigger.dev's ``concurrencyLimits.*`` from Python — read,
override, reset, pause and resume limits at run time (inline limits as ``task/<id>``).

Example::

    from durableruns.sdk import concurrency_limits

    await concurrency_limits.override("openai", total=50)
    await concurrency_limits.override("subagents", concurrency_key=session, per_key=3, ttl="7d")
    await concurrency_limits.pause("openai")
"""

from __future__ import annotations

import builtins
from typing import Any
from urllib.parse import quote

from durableruns.sdk.client import request
from durableruns.wire_limits import (
    ConcurrencyLimitItem,
    ConcurrencyLimitKeyItem,
    ConcurrencyLimitPage,
)

__all__ = ["list", "override", "pause", "reset", "resume", "retrieve"]


def _path(name: str, action: str = "") -> str:
    return f"/api/v1/concurrency-limits/{quote(name, safe='')}" + (f"/{action}" if action else "")


async def list(page: int = 1, per_page: int = 100) -> builtins.list[ConcurrencyLimitItem]:
    """The limits on one page (named and inline), with their bounds and live counts."""
    response = await request("GET", f"/api/v1/concurrency-limits?page={page}&perPage={per_page}")
    return ConcurrencyLimitPage.model_validate(response.json()).data


async def retrieve(
    name: str, *, concurrency_key: str | None = None
) -> ConcurrencyLimitItem | ConcurrencyLimitKeyItem:
    """A limit, or its view for one concurrency key."""
    suffix = f"?concurrencyKey={quote(concurrency_key, safe='')}" if concurrency_key else ""
    response = await request("GET", _path(name) + suffix)
    if concurrency_key:
        return ConcurrencyLimitKeyItem.model_validate(response.json())
    return ConcurrencyLimitItem.model_validate(response.json())


async def override(
    name: str,
    *,
    per_key: int | None = None,
    total: int | None = None,
    concurrency_key: str | None = None,
    ttl: str | int | None = None,
) -> ConcurrencyLimitItem | ConcurrencyLimitKeyItem:
    """Change the given bounds until ``reset``; with ``concurrency_key``, that key's
    ``per_key`` for ``ttl`` (default 7 days, at most 30)."""
    body: dict[str, Any] = {"perKey": per_key, "total": total, "concurrencyKey": concurrency_key}
    body["ttl"] = ttl
    response = await request(
        "POST", _path(name, "override"), json={k: v for k, v in body.items() if v is not None}
    )
    if concurrency_key is not None:
        return ConcurrencyLimitKeyItem.model_validate(response.json())
    return ConcurrencyLimitItem.model_validate(response.json())


async def reset(
    name: str, *, concurrency_key: str | None = None
) -> ConcurrencyLimitItem | ConcurrencyLimitKeyItem:
    """Back to the declared bounds, or clear one key's override."""
    body = {"concurrencyKey": concurrency_key} if concurrency_key is not None else {}
    response = await request("POST", _path(name, "reset"), json=body)
    if concurrency_key is not None:
        return ConcurrencyLimitKeyItem.model_validate(response.json())
    return ConcurrencyLimitItem.model_validate(response.json())


async def pause(name: str) -> ConcurrencyLimitItem:
    """Nothing holding the limit starts until it is resumed; running runs finish."""
    response = await request("POST", _path(name, "pause"), json={"action": "pause"})
    return ConcurrencyLimitItem.model_validate(response.json())


async def resume(name: str) -> ConcurrencyLimitItem:
    """Start runs holding the limit again."""
    response = await request("POST", _path(name, "pause"), json={"action": "resume"})
    return ConcurrencyLimitItem.model_validate(response.json())
