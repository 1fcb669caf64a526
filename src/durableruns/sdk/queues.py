"""``queues``: Trigger.dev's ``queues.*`` from Python — list, retrieve, pause and
resume queues, and override the limit of a V1 queue (one with ``concurrency_limit``).

A queue is named as the official client names it: its id (``queue_…``), or
``type="task"`` and a task id, or ``type="custom"`` and the queue's name.

Example::

    from durableruns.sdk import queues

    await queues.pause("send-email", type="task")
    queue = await queues.retrieve("emails", type="custom")
"""

from __future__ import annotations

import builtins
from typing import Literal
from urllib.parse import quote

from durableruns.sdk.client import request
from durableruns.wire_limits import QueueItem, QueuePage

__all__ = [
    "list",
    "override_concurrency_limit",
    "pause",
    "reset_concurrency_limit",
    "resume",
    "retrieve",
]

RefType = Literal["id", "task", "custom"]


def _path(queue: str, action: str = "") -> str:
    encoded = quote(queue.replace("/", "%2F"), safe="")  # as the official client encodes it
    return f"/api/v1/queues/{encoded}" + (f"/{action}" if action else "")


async def list(page: int = 1, per_page: int = 100) -> builtins.list[QueueItem]:
    """The queues on one page, with their live counts."""
    response = await request("GET", f"/api/v1/queues?page={page}&perPage={per_page}")
    return QueuePage.model_validate(response.json()).data


async def retrieve(queue: str, *, type: RefType = "id") -> QueueItem:
    """One queue."""
    response = await request("GET", _path(queue) + f"?type={type}")
    return QueueItem.model_validate(response.json())


async def pause(queue: str, *, type: RefType = "id") -> QueueItem:
    """No new run of the queue starts until it is resumed; running ones finish."""
    body = {"type": type, "action": "pause"}
    response = await request("POST", _path(queue, "pause"), json=body)
    return QueueItem.model_validate(response.json())


async def resume(queue: str, *, type: RefType = "id") -> QueueItem:
    """Start the queue's runs again."""
    body = {"type": type, "action": "resume"}
    response = await request("POST", _path(queue, "pause"), json=body)
    return QueueItem.model_validate(response.json())


async def override_concurrency_limit(queue: str, limit: int, *, type: RefType = "id") -> QueueItem:
    """Override a V1 queue's limit until reset (deprecated, as in Trigger.dev)."""
    body = {"type": type, "concurrencyLimit": limit}
    response = await request("POST", _path(queue, "concurrency/override"), json=body)
    return QueueItem.model_validate(response.json())


async def reset_concurrency_limit(queue: str, *, type: RefType = "id") -> QueueItem:
    """Back to the V1 queue's declared limit."""
    response = await request("POST", _path(queue, "concurrency/reset"), json={"type": type})
    return QueueItem.model_validate(response.json())
