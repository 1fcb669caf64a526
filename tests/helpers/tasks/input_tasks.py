"""Tasks for the input-stream tests (``streams.input``)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from durableruns import TaskContext, step, streams, task


class Note(BaseModel):
    n: int


notes = streams.input("notes", model=Note)
messages = streams.input("msg")
stop = streams.input("stop")
bench = streams.input("bench")


@task(id="input-wait")
async def input_wait(payload: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    """One suspending wait on ``msg`` (``timeout`` optional)."""
    result = await messages.wait(timeout=payload.get("timeout"))
    return {"ok": result.ok, "output": result.output, "attempt": ctx.attempt.number}


@task(id="input-wait-many")
async def input_wait_many(payload: dict[str, Any], ctx: TaskContext) -> list[Any]:
    """``count`` suspending waits on ``notes`` (parsed into Note), in order."""
    return [(await notes.wait()).unwrap().n for _ in range(payload["count"])]


@task(id="input-once")
async def input_once(payload: dict[str, Any]) -> dict[str, Any]:
    """``once`` on ``msg`` with a timeout (seconds)."""
    result = await messages.once(timeout=payload["timeout"])
    return {"ok": result.ok, "output": result.output, "error": result.error}


@task(id="input-on")
async def input_on(payload: dict[str, Any]) -> dict[str, Any]:
    """``on`` collects ``msg`` values while the code runs, until ``stop`` says so."""
    seen: list[Any] = []
    messages.on(seen.append)
    done = await stop.once(timeout=payload.get("timeout", 60))
    await asyncio.sleep(0.5)  # values sent before the stop reach the handler
    return {"seen": seen, "stopped": done.ok, "peek": await messages.peek()}


@task(id="input-mixed")
async def input_mixed(payload: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    """once, wait (suspends), a slow step (a worker may die in it), wait, once: every
    value of ``msg`` once, in order, whatever resumes or retries happened."""
    first = (await messages.once(timeout=60)).unwrap()
    second = (await messages.wait()).unwrap()
    await step.run("slow", _slow, payload.get("slow_s", 0), payload.get("marker"))
    third = (await messages.wait()).unwrap()
    fourth = (await messages.once(timeout=60)).unwrap()
    return {"values": [first, second, third, fourth], "attempt": ctx.attempt.number}


async def _slow(seconds: float, marker: str | None) -> bool:
    if marker:  # tells a test the step is running (e.g. to kill its worker now)
        Path(marker).write_text(str(os.getpid()))
    await asyncio.sleep(seconds)
    return True


@task(id="input-sender")
async def input_sender(payload: dict[str, Any]) -> bool:
    """Send from task code to another run's ``msg``."""
    await messages.send(payload["run_id"], payload["value"])
    return True


def _now() -> float:
    return time.time()


@task(id="input-latency-wait")
async def input_latency_wait(payload: dict[str, Any]) -> list[list[float]]:
    """``count`` waits on ``bench``; for each, (sent at, held at): the moment the code
    first held the value is a step, so a resume does not move it."""
    pairs = []
    for i in range(payload["count"]):
        sent = (await bench.wait()).unwrap()
        held = await step.run(f"held-{i}", _now)
        pairs.append([sent, held])
    return pairs


@task(id="input-latency-on")
async def input_latency_on(payload: dict[str, Any]) -> list[list[float]]:
    """``on`` handler on ``bench``: (sent at, held at) for every value, until ``count``."""
    pairs: list[list[float]] = []
    bench.on(lambda sent: pairs.append([sent, time.time()]))
    while len(pairs) < payload["count"]:
        await asyncio.sleep(0.01)
    return pairs
