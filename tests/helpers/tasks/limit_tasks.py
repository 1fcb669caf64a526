"""Tasks for the concurrency-limit tests: inline, named, shared and rate limits."""

from __future__ import annotations

import asyncio
from typing import Any

from durableruns import concurrency_limit, task

SHARED = concurrency_limit(name="shared-one", total=1)
ALT = concurrency_limit(name="alt-three", total=3)
TENANT = concurrency_limit(name="tenant", per_key=2)


async def _nap(payload: dict[str, Any]) -> Any:
    await asyncio.sleep(payload.get("seconds", 0))
    return payload.get("label")


@task(id="keyed", concurrency={"per_key": 1, "total": 2})
async def keyed(payload: dict[str, Any]) -> Any:
    """Each key one at a time, two in all."""
    return await _nap(payload)


@task(id="shared-a", concurrency=SHARED)
async def shared_a(payload: dict[str, Any]) -> Any:
    return await _nap(payload)


@task(id="shared-b", concurrency=SHARED)
async def shared_b(payload: dict[str, Any]) -> Any:
    return await _nap(payload)


@task(id="inline-and-named", concurrency=[{"total": 2}, ALT])
async def inline_and_named(payload: dict[str, Any]) -> Any:
    """At most two of its own, and it counts towards alt-three."""
    return await _nap(payload)


@task(id="alt-user", concurrency=ALT)
async def alt_user(payload: dict[str, Any]) -> Any:
    return await _nap(payload)


@task(id="one-slot", concurrency={"total": 1})
async def one_slot(payload: dict[str, Any]) -> Any:
    return await _nap(payload)


@task(id="per-tenant", concurrency=TENANT)
async def per_tenant(payload: dict[str, Any]) -> Any:
    return await _nap(payload)


@task(id="fair", concurrency={"total": 1})
async def fair(payload: dict[str, Any]) -> Any:
    return await _nap(payload)


@task(id="rated", rate_limit={"limit": 2, "period": "4s"})
async def rated(payload: dict[str, Any]) -> Any:
    return await _nap(payload)


@task(id="unlimited")
async def unlimited(payload: dict[str, Any]) -> Any:
    return await _nap(payload)
