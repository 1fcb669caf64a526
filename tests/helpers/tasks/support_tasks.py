"""Tasks the tests need besides the examples; served by the session stack."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from durableruns import BatchItem, TaskContext, task, tasks, wait


@task(id="cancel-probe")
async def cancel_probe(payload: dict[str, Any], ctx: TaskContext) -> int:
    """Appends a tick to ``ticks_file`` every 50 ms for ``seconds`` (a file, because the
    task's code runs in a task process of its own); a canceled run must stop ticking."""
    ticks = 0
    for _ in range(int(payload.get("seconds", 30) * 20)):
        await asyncio.sleep(0.05)
        ticks += 1
        with open(payload["ticks_file"], "a") as out:
            out.write(".")
    return ticks


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


@task(id="waits-for-a-sleepy-child")
async def waits_for_a_sleepy_child(payload: dict[str, Any]) -> Any:
    """trigger_and_wait a sleepy child (or another task, by id)."""
    result = await tasks.trigger_and_wait(
        payload.get("task", "sleepy"), payload.get("child", {"seconds": 30})
    )
    return {"ok": result.ok, "child": result.id, "status": result.status.value}


@task(id="waits-past-max-duration", max_duration=2)
async def waits_past_max_duration(payload: Any) -> str:
    """Waits 3 s in a run whose max duration is 2 s: WAITING time does not count."""
    await wait.for_(seconds=3)
    return "finished"


@task(id="waits-until")
async def waits_until(payload: dict[str, Any]) -> str:
    """wait.until a moment ``seconds`` from now."""
    await wait.until(datetime.now(UTC) + timedelta(seconds=payload["seconds"]))
    return "woke"


@task(id="survives-worker-loss", retry={"max_attempts": 3, "min_timeout_ms": 10})
async def survives_worker_loss(payload: Any, ctx: TaskContext) -> dict[str, Any]:
    """A child, then a wait long enough to kill the worker in, then done."""
    child = await tasks.trigger_and_wait("hello-world", {"name": "survivor"})
    await wait.for_(seconds=payload.get("wait", 4))
    return {"child": child.id, "attempt": ctx.attempt.number}


@task(id="fans-out-by-id")
async def fans_out_by_id(payload: Any) -> list[Any]:
    """The by-id batch form, mixing tasks."""
    results = await tasks.batch_trigger_and_wait(
        [
            BatchItem(task="hello-world", payload={"name": "one"}),
            BatchItem(task="flaky", payload={"fail_times": 0}),
        ]
    )
    return [r.output for r in results]


@task(id="tags-itself")
async def tags_itself(payload: dict[str, Any], ctx: TaskContext) -> list[str]:
    """Adds ``payload["tags"]`` to its own run (``tags.add``), waits (so the code re-runs
    on resume) and adds them again; answers what the task saw fail, if anything."""
    from durableruns import tags

    await tags.add(payload["tags"])
    if payload.get("wait_s"):
        await wait.for_(seconds=payload["wait_s"])
    await tags.add(payload["tags"])
    refused: list[str] = []
    try:
        await tags.add([f"extra-{n}" for n in range(payload.get("too_many", 0))])
    except Exception as exc:  # the limit: 10 tags per run
        refused.append(type(exc).__name__)
    return refused


@task(id="fails-fast", retry={"max_attempts": 1})
async def fails_fast(payload: Any, ctx: TaskContext) -> None:
    """Fails at once, for good: cheap FAILED runs for bulk replays."""
    raise RuntimeError("failed on purpose")
