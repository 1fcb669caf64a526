"""Applying what the catalog knows about a task to a new run: which version runs it,
its default TTL and queue, and whether its payload fits the task's schema.

Tasks no version serves yet get none of this: their runs wait (PENDING_VERSION) on the
version-less queue, and their payload is validated when an attempt starts.
"""

from __future__ import annotations

from typing import Any

import jsonschema

from durableruns.catalog_models import Catalog, TaskDescriptor
from durableruns.errors import InvalidInputError, PayloadSchemaError
from durableruns.models import RunOptions


def resolve_options(
    catalog: Catalog,
    task_id: str,
    payload: Any,
    options: RunOptions,
    *,
    default_ttl_s: float | None,
) -> RunOptions:
    """The options a new run of ``task_id`` starts with, given what is deployed.

    A run triggered without a TTL (``ttl_s`` None; 0 means "none") gets the task's
    default TTL, else the environment's ``default_ttl_s``.
    """
    task = _task_for(catalog, task_id, options.lock_to_version)
    updates: dict[str, Any] = {}
    if task is not None:
        validate_payload(task, payload)
        queue = options.queue or task.queue
        updates["lock_to_version"] = task.version
        updates["queue"] = queue
        updates["concurrency_limit"] = (
            task.concurrency_limit if queue == task.queue else catalog.queue_limit(queue)
        )
    if options.ttl_s is None:
        updates["ttl_s"] = (task.ttl_s if task else None) or default_ttl_s
    return options.model_copy(update=updates)


def _task_for(catalog: Catalog, task_id: str, version: str | None) -> TaskDescriptor | None:
    if version is None:
        return catalog.latest_serving(task_id)
    if version not in catalog.versions:
        raise InvalidInputError("options.lockToVersion", f"unknown version {version!r}")
    task = catalog.find(task_id, version)
    if task is None:
        raise InvalidInputError(
            "options.lockToVersion", f"version {version!r} does not serve task {task_id!r}"
        )
    return task


def validate_payload(task: TaskDescriptor, payload: Any) -> None:
    """PayloadSchemaError naming the first field that does not fit the task's schema."""
    if task.payload_schema is None:
        return
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(task.payload_schema).iter_errors(payload)
    )
    if error is not None:
        path = "".join(f".{p}" if isinstance(p, str) else f"[{p}]" for p in error.absolute_path)
        raise PayloadSchemaError(f"payload{path}", error.message)
