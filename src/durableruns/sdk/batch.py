"""``batch``: trigger many runs at once (up to 1,000) and read a batch back.

Uses the facade's two-phase batch API (create, then stream the items as NDJSON), the
same one the official Trigger.dev client uses.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from durableruns.in_task import as_batch_item, plain_payload
from durableruns.sdk.client import request
from durableruns.sdk.handles import RunHandle
from durableruns.sdk.trigger_options import wire_options
from durableruns.wire_batches import Batch

if TYPE_CHECKING:
    from durableruns.task_definitions import Task


@dataclass(frozen=True)
class BatchHandle:
    """A triggered batch: its id and one handle per item, in item order."""

    id: str
    runs: list[RunHandle]
    is_cached: bool = False


async def trigger(task: Task[Any, Any] | str | None, items: Sequence[Any]) -> BatchHandle:
    """One run per item: payloads or BatchItems (a BatchItem's ``task`` overrides).

    Example::

        batch = await tasks.batch_trigger("hello-world", [{"name": "a"}, {"name": "b"}])
    """
    task_id = task if isinstance(task, str) or task is None else task.id
    batch_items = [as_batch_item(i) for i in items]
    lines = []
    for index, item in enumerate(batch_items):
        item_task = item.task or task_id
        if not item_task:
            raise TypeError(f"items[{index}]: no task given")
        lines.append(
            json.dumps(
                {
                    "index": index,
                    "task": item_task,
                    "payload": plain_payload(item.payload),
                    "options": wire_options(item.options),
                }
            )
        )
    task_ids = sorted({json.loads(line)["task"] for line in lines})
    created = (
        await request(
            "POST", "/api/v3/batches", json={"runCount": len(lines), "taskIdentifiers": task_ids}
        )
    ).json()
    if not created.get("isCached"):
        await request(
            "POST",
            f"/api/v3/batches/{created['id']}/items",
            content="\n".join(lines).encode(),
            headers={"Content-Type": "application/x-ndjson"},
        )
    batch = await retrieve(created["id"])
    typed = None if isinstance(task, str) or task is None else task
    return BatchHandle(
        id=batch.id,
        runs=[RunHandle(id=run_id, task=typed) for run_id in batch.runs],
        is_cached=bool(created.get("isCached")),
    )


async def retrieve(batch_id: str) -> Batch:
    """A batch and its run ids in item order."""
    return Batch.model_validate((await request("GET", f"/api/v2/batches/{batch_id}")).json())
