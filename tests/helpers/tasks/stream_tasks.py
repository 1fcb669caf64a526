"""Tasks that stream from their code (``ctx.stream``, ``streams.pipe``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from durableruns import TaskContext, task, wait
from durableruns.streams import pipe


async def _count(prefix: str, start: int, stop: int, pause_s: float = 0) -> AsyncIterator[str]:
    for i in range(start, stop):
        if pause_s:
            await asyncio.sleep(pause_s)
        yield f"{prefix}-{i}"


@task(id="stream-across-wait")
async def stream_across_wait(payload: dict[str, Any], ctx: TaskContext) -> int:
    """Five chunks, a wait (the attempt suspends and re-runs), five more on the same key,
    and a second stream after the wait."""
    sent = await ctx.stream("llm", _count("before", 0, 5))
    await wait.for_(seconds=payload.get("wait", 1.0))
    sent += await ctx.stream("llm", _count("after", 0, 5))
    sent += await pipe("second", ["x", {"n": 1}, [2, 3], None])
    return sent


@task(id="stream-flood")
async def stream_flood(payload: dict[str, Any], ctx: TaskContext) -> int:
    """More (or bigger) chunks than a run keeps; still completes."""
    size = payload.get("size", 0)
    chunks = ("x" * size if size else i for i in range(payload["chunks"]))
    return await ctx.stream("flood", chunks)


@task(id="stream-slowly")
async def stream_slowly(payload: dict[str, Any], ctx: TaskContext) -> int:
    """Chunks with a pause before each (for live reads and reconnects)."""
    return await ctx.stream("llm", _count("t", 0, payload["count"], payload.get("pause", 0.05)))


@task(id="stream-breaks", retry={"max_attempts": 1})
async def stream_breaks(payload: dict[str, Any], ctx: TaskContext) -> None:
    """Three chunks, then its iterable raises: no end marker, the run fails."""

    async def broken() -> AsyncIterator[str]:
        yield "a"
        yield "b"
        yield "c"
        await asyncio.sleep(payload.get("pause", 0.5))
        raise RuntimeError("the model went away")

    await ctx.stream("llm", broken())


@task(id="stream-clock")
async def stream_clock(payload: dict[str, Any], ctx: TaskContext) -> int:
    """``count`` chunks, each the wall-clock time it was made, ``pause`` apart (for
    measuring how soon a chunk reaches a reader)."""

    async def clock() -> AsyncIterator[float]:
        for _ in range(payload["count"]):
            await asyncio.sleep(payload.get("pause", 0.05))
            yield time.time()

    return await ctx.stream("clock", clock())
