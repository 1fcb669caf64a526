"""Applying what the catalog knows about a task to a new run: which version runs it,
its default TTL and queue, and whether its payload fits the task's schema.

Tasks no version serves yet get none of this: their runs wait (PENDING_VERSION) on the
version-less queue, and their payload is validated when an attempt starts.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from durableruns.catalog_models import Catalog, TaskDescriptor
from durableruns.errors import InvalidInputError, PayloadSchemaError, UnknownLimitError
from durableruns.limit_models import LimitSpec, queue_limit_name
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
        legacy = task.concurrency_limit if queue == task.queue else catalog.queue_limit(queue)
        limits = run_limits(catalog, task, queue, legacy, options.limit_names)
        updates["limits"] = limits
        updates["concurrency_limit"] = legacy or _tightest(limits)
    if options.ttl_s is None:
        updates["ttl_s"] = (task.ttl_s if task else None) or default_ttl_s
    return options.model_copy(update=updates)


def run_limits(
    catalog: Catalog,
    task: TaskDescriptor,
    queue: str,
    legacy_limit: int | None,
    names: tuple[str, ...] | None,
) -> tuple[LimitSpec, ...]:
    """The limits a run holds, sorted by name (the order it acquires them in): the
    task's inline limit, its named limits or those named at trigger time (which replace
    them; UnknownLimitError for a name no deployed task declares), and its queue's
    legacy limit (or, while the queue is paused, its gate)."""
    held = [s for s in task.limits if s.kind == "task"]
    if names is None:
        held += [s for s in task.limits if s.kind == "named"]
    else:
        known = catalog.limits()
        for position, name in enumerate(names):
            spec = known.get(name)
            if spec is None or spec.kind != "named":
                raise UnknownLimitError(
                    f"options.concurrency[{position}]", f"unknown concurrency limit {name!r}"
                )
            if all(h.name != name for h in held):
                held.append(spec)
    if legacy_limit:
        held.append(LimitSpec(name=queue_limit_name(queue), kind="queue", per_key=legacy_limit))
    elif queue in catalog.paused_queues:  # a paused queue without a limit: its gate
        held.append(queue_gate(queue))
    return tuple(sorted(held, key=lambda s: s.name))


def queue_gate(queue: str) -> LimitSpec:
    """The bound-less limit that runs of a paused queue without a limit wait at."""
    return LimitSpec(name=queue_limit_name(queue), kind="queue")


def _tightest(limits: tuple[LimitSpec, ...]) -> int | None:
    """The smallest bound among ``limits`` (at least 1; None when there are none)."""
    if not limits:
        return None
    bounds = [b for s in limits for b in (s.per_key, s.total) if b is not None]
    return max(1, min(bounds, default=1))


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
        raise PayloadSchemaError(f"payload{path}", json_terms(error))


def json_terms(error: jsonschema.ValidationError) -> str:
    """``error`` said in JSON's words, not Python's: jsonschema writes the instance with
    ``repr`` (``None is not of type 'object'``), which a client sending JSON never wrote.
    Types and required fields get their own sentence; other messages have the instance's
    ``repr`` replaced by its JSON."""
    if error.validator == "type":
        expected = error.validator_value
        names = [str(n) for n in (expected if isinstance(expected, list) else [expected])]
        wanted = " or ".join(_with_article(n) for n in names)
        return f"expected {wanted}, got {_shown(error.instance)}"
    required = error.validator_value if isinstance(error.validator_value, list) else []
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [f for f in required if f not in error.instance]
        if missing:
            return f"{json.dumps(missing[0])} is required"
    message = error.message.replace(repr(error.instance), _json(error.instance), 1)
    return message.replace(repr(error.validator_value), _json(error.validator_value))


def _with_article(type_name: str) -> str:
    return f"an {type_name}" if type_name[:1] in "aeiou" else f"a {type_name}"


def _shown(value: Any) -> str:
    """How a wrong value is named: null, true, 12, "text", an array, an object."""
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return _json(value)


def _json(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "…"
