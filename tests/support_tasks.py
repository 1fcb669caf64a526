"""Tasks the tests need besides the examples; served by the session stack."""

from __future__ import annotations

import asyncio
from typing import Any

from durableruns import TaskContext, task, tasks

PROBE_TICKS: dict[str, int] = {}
"""cancel-probe's heartbeat: run id → ticks written so far (shared in-process)."""


@task(id="cancel-probe")
async def cancel_probe(payload: dict[str, Any], ctx: TaskContext) -> int:
    """Ticks every 50 ms for ``seconds``; a canceled run must stop ticking."""
    PROBE_TICKS[ctx.run.id] = 0
    for _ in range(int(payload.get("seconds", 30) * 20)):
        await asyncio.sleep(0.05)
        PROBE_TICKS[ctx.run.id] += 1
    return PROBE_TICKS[ctx.run.id]


@task(id="metadata-writer")
async def metadata_writer(payload: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    """Changes its run's metadata the three ways Trigger.dev users do."""
    ctx.metadata.set("stage", "started").increment("count", 2).append("log", "a")
    await asyncio.sleep(payload.get("pause", 0))
    ctx.metadata.increment("count").append("log", "b").set("stage", "done")
    return ctx.metadata.current()


@task(id="oversized-metadata")
async def oversized_metadata(payload: Any, ctx: TaskContext) -> None:
    """Tries to store more than 256 KiB of metadata."""
    ctx.metadata.set("blob", "x" * 300_000)


@task(id="replay-aware")
async def replay_aware(payload: Any, ctx: TaskContext) -> dict[str, Any]:
    """Reports whether it runs as a replay, and of which run."""
    return {"payload": payload, "is_replay": ctx.run.is_replay, "of": ctx.run.replayed_from}


@task(id="idempotent-parent")
async def idempotent_parent(payload: dict[str, Any], ctx: TaskContext) -> list[str]:
    """Triggers hello-world twice with one key in the given scope; returns the run ids."""
    ids = []
    for _ in range(2):
        handle = await tasks.trigger(
            "hello-world",
            {"name": "child"},
            idempotency_key=payload["key"],
            idempotency_key_scope=payload["scope"],
        )
        ids.append(handle.id)
    return ids
