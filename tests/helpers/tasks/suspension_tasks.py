"""Tasks for the suspension tests: waits that hold nothing, steps, the resume guard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from durableruns import TaskContext, step, task, tasks, wait


def _count(path: str, what: str) -> None:
    """Append ``what`` to a file (task code runs in a task process of its own)."""
    with open(path, "a") as out:
        out.write(what + "\n")


@task(id="naps")
async def naps(payload: dict[str, Any]) -> str:
    """One durable timer of ``seconds``."""
    await wait.for_(seconds=payload.get("seconds", 3))
    return "rested"


@task(id="recursive")
async def recursive(payload: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    """Waits on a child of this same task until ``depth`` reaches 0."""
    depth = payload.get("depth", 1)
    if depth <= 0:
        return {"leaf": ctx.run.id}
    child = await tasks.trigger_and_wait("recursive", {"depth": depth - 1})
    return {"child": child.id, "ok": child.ok, "attempt": ctx.attempt.number}


class Charge(BaseModel):
    id: str
    amount: int


def charge_card(counter: str, amount: int) -> Charge:
    _count(counter, "charge")
    return Charge(id="ch_1", amount=amount)


@task(id="checkout")
async def checkout(payload: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    """A step, a wait, another step; counts how often each part of the code runs."""
    counter = payload["counter"]
    _count(counter, "outside")
    charge = await step.run("charge-card", charge_card, counter, payload.get("amount", 5))
    await wait.for_(seconds=payload.get("seconds", 1))
    receipt = await send_receipt(counter, charge.id)
    return {"charge": charge.model_dump(), "receipt": receipt, "attempt": ctx.attempt.number}


@step("send-receipt")
async def send_receipt(counter: str, charge_id: str) -> str:
    _count(counter, "receipt")
    return f"receipt for {charge_id}"


@task(id="changes-its-calls", retry={"max_attempts": 3, "min_timeout_ms": 10})
async def changes_its_calls(payload: dict[str, Any]) -> str:
    """Before its wait a step; after resuming, another kind of call at that position."""
    marker = Path(payload["marker"])
    if marker.exists():
        await wait.for_(seconds=1)  # position 0 was recorded as step.run('first')
    else:
        marker.write_text("resumed once")
        await step.run("first", lambda: 1)
    await wait.for_(seconds=1)
    return "unreachable on resume"


@task(id="many-children")
async def many_children(payload: dict[str, Any]) -> int:
    """``count`` sequential trigger_and_wait calls."""
    total = 0
    for i in range(payload.get("count", 200)):
        result = await tasks.trigger_and_wait("hello-world", {"name": str(i)})
        total += result.ok
    return total


@task(id="survives-worker-loss-suspended")
async def survives_worker_loss_suspended(payload: Any, ctx: TaskContext) -> dict[str, Any]:
    """A child, then a wait long enough to kill the worker in, then done."""
    child = await tasks.trigger_and_wait("hello-world", {"name": "survivor"})
    await wait.for_(seconds=payload.get("wait", 4))
    return {"child": child.id, "attempt": ctx.attempt.number}


@task(id="short-naps")
async def short_naps(payload: dict[str, Any]) -> str:
    """A timer below the short-wait threshold: stays in the process."""
    _count(payload["counter"], "ran")
    await wait.for_(seconds=payload.get("seconds", 0.1))
    return "short"


@task(id="metadata-across-waits")
async def metadata_across_waits(payload: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    """Changes its metadata outside any step, around two waits that suspend it: the code
    before each wait runs again on each resume, its changes must count once."""
    ctx.metadata.increment("count", 1).decrement("down").append("seen", "start")
    ctx.metadata.set("temp", True).delete("temp").set("phase", "first wait")
    await wait.for_(seconds=payload.get("seconds", 6))
    # Read by the execution that resumed from the first wait (1), kept in the metadata:
    # the later resume reads the run's metadata as it is then (2), and its set() here is
    # skipped like every change before its last recorded call.
    ctx.metadata.set("read after the first wait", ctx.metadata.get("count"))
    ctx.metadata.increment("count", 1).append("seen", "middle").set("phase", "second wait")
    await wait.for_(seconds=1)
    ctx.metadata.set("phase", "done")
    return ctx.metadata.current()
