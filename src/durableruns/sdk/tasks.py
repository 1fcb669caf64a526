"""``tasks``: trigger runs by task object or by id."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from durableruns.sdk.client import request
from durableruns.sdk.handles import RunHandle
from durableruns.task_definitions import Task

_OPTION_NAMES = {
    "tags": "tags",
    "metadata": "metadata",
    "max_attempts": "maxAttempts",
    "max_duration": "maxDuration",
    "test": "test",
}


async def trigger(task: Task[Any, Any] | str, payload: Any = None, **options: Any) -> RunHandle:
    """Trigger a run of ``task`` (a Task or its id) with ``payload``.

    Example::

        handle = await tasks.trigger("hello-world", {"name": "Ada"}, tags=["demo"])
    """
    task_id = task if isinstance(task, str) else task.id
    unknown = set(options) - set(_OPTION_NAMES)
    if unknown:
        raise TypeError(f"Unknown trigger options: {', '.join(sorted(unknown))}")
    if isinstance(payload, BaseModel):
        payload = payload.model_dump(mode="json")
    body = {
        "payload": payload,
        "options": {_OPTION_NAMES[k]: v for k, v in options.items() if v is not None},
    }
    response = await request("POST", f"/api/v1/tasks/{task_id}/trigger", json=body)
    data = response.json()
    return RunHandle(
        id=data["id"],
        is_cached=bool(data.get("isCached", False)),
        public_access_token=response.headers.get("x-trigger-jwt", ""),
        task=None if isinstance(task, str) else task,
    )
