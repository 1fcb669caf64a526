"""Tasks for the observability tests: traces, waiting reasons, metrics."""

from __future__ import annotations

import asyncio
from typing import Any

from durableruns import BatchItem, Queue, TaskContext, logger, step, task, tasks, wait

ONE_SLOT = Queue(name="obs-one-slot", concurrency_limit=1)


def _two() -> int:
    return 2


@task(id="obs-parent")
async def obs_parent(payload: dict[str, Any]) -> dict[str, Any]:
    """Two log lines, a step, a durable timer (it suspends), a child run waited for."""
    logger.info("charging <b>card</b>", amount=5)
    logger.warn("slow answer")
    value = await step.run("fetch", _two)
    await wait.for_(seconds=payload.get("seconds", 0.6))
    child = await tasks.trigger_and_wait("obs-child", {"n": value})
    return {"child": child.output}


@task(id="obs-child")
async def obs_child(payload: dict[str, Any]) -> int:
    return int(payload["n"]) * 2


@task(id="obs-sleeper")
async def obs_sleeper(payload: dict[str, Any]) -> str:
    await asyncio.sleep(payload.get("seconds", 0))
    return "slept"


@task(id="obs-one-slot", queue=ONE_SLOT)
async def obs_one_slot(payload: dict[str, Any]) -> str:
    await asyncio.sleep(payload.get("seconds", 0))
    return "done"


@task(id="obs-fails", retry={"max_attempts": 2, "min_timeout_ms": 10, "max_timeout_ms": 20})
async def obs_fails(payload: Any) -> None:
    raise ValueError("boom")


@task(id="obs-waits-for-children")
async def obs_waits_for_children(payload: dict[str, Any]) -> list[Any]:
    """Waits for a batch: one quick child and one that sleeps ``seconds``."""
    items = [
        BatchItem(task="obs-sleeper", payload={"seconds": 0}),
        BatchItem(task="obs-sleeper", payload={"seconds": payload.get("seconds", 5)}),
    ]
    batch = await tasks.batch_trigger_and_wait(items)
    return [r.output for r in batch]


@task(id="obs-fires-and-forgets")
async def obs_fires_and_forgets(payload: Any) -> str:
    """A plain in-task trigger: the child is not waited for (it still joins the trace)."""
    handle = await tasks.trigger("obs-child", {"n": 1})
    return handle.id


@task(id="obs-waits-for-token")
async def obs_waits_for_token(payload: dict[str, Any], ctx: TaskContext) -> Any:
    """Waits on a fresh wait token (its id in the metadata as ``tokenId``)."""
    token = await wait.create_token(timeout=payload.get("timeout", "1h"))
    ctx.metadata.set("tokenId", token.id)
    result = await wait.for_token(token)
    return result.output
