"""Triggering from inside task code: ``trigger``, ``trigger_and_wait`` and
``batch_trigger_and_wait`` go through the run's own workflow (the runtime bound to the
running attempt), never through HTTP.

Child runs of the waiting forms are Temporal child workflows of the calling run; they
record their parent, root, depth and how they were triggered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from durableruns.context import TaskContext, require_runtime
from durableruns.errors import InvalidInputError
from durableruns.models import ChildRunSpec, RunOptions
from durableruns.options import ParentRun, idempotency_key_hash, run_options
from durableruns.results import TaskRunResult, typed_output
from durableruns.wire import TriggerOptions


@dataclass(frozen=True)
class BatchItem:
    """One item of a batch: a payload, per-item options and (for the by-id forms) the
    task id. Plain payloads are accepted wherever a BatchItem is."""

    payload: Any = None
    options: dict[str, Any] = field(default_factory=dict)
    task: str | None = None


def plain_payload(payload: Any) -> Any:
    """Payloads cross the wire as plain JSON."""
    return payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload


def _parent(ctx: TaskContext) -> ParentRun:
    return ParentRun(
        run_id=ctx.run.id,
        root_run_id=ctx.run.root_run_id or ctx.run.id,
        depth=ctx.run.depth,
        attempt_id=ctx.attempt.id,
    )


def in_task_options(ctx: TaskContext, options: dict[str, Any], trigger_function: str) -> RunOptions:
    """Options given in Python (snake_case) as the run's snapshot, with the parent.

    ``idempotency_key`` is scoped like Trigger.dev's: ``idempotency_key_scope`` "run"
    (default: unique within this run), "attempt" or "global".
    """
    options = python_options(options)
    scope = options.pop("idempotency_key_scope", "run")
    if options.get("idempotency_key"):
        key = options["idempotency_key"]
        options["idempotency_key"] = idempotency_key_hash(key, scope, _parent(ctx))
        options["idempotency_key_options"] = {"key": key, "scope": scope}
    try:
        wire = TriggerOptions.model_validate(options)
    except ValidationError as exc:
        first = exc.errors()[0]
        field_name = ".".join(str(p) for p in first["loc"])
        raise InvalidInputError(f"options.{field_name}", first["msg"]) from exc
    return run_options(
        wire,
        now=datetime.now(UTC),
        parent=_parent(ctx),
        trigger_function=trigger_function,
    )


async def trigger_from_task(
    task_id: str, payload: Any, options: dict[str, Any]
) -> tuple[str, bool]:
    """A run triggered by task code and not waited for; records its parent."""
    ctx, runtime = require_runtime("trigger() inside a task")
    return await runtime.trigger(
        task_id, plain_payload(payload), in_task_options(ctx, options, "trigger")
    )


async def wait_for_runs(
    items: list[tuple[str, Any, dict[str, Any]]],
    *,
    batch: bool,
    output_models: dict[str, Any],
    what: str,
) -> list[TaskRunResult[Any]]:
    """Start (task id, payload, options) children and wait for all; results in order."""
    ctx, runtime = require_runtime(what)
    function = "batchTriggerAndWait" if batch else "triggerAndWait"
    specs = [
        ChildRunSpec(
            task_id=task_id,
            payload=plain_payload(payload),
            options=in_task_options(ctx, options, function),
        )
        for task_id, payload, options in items
    ]
    results = await runtime.wait_for_runs(specs, batch=batch)
    return [
        TaskRunResult(
            id=r.run_id,
            task_id=r.task_id,
            status=r.status,
            output=typed_output(output_models.get(r.task_id), r.output) if r.ok else None,
            error=r.error,
        )
        for r in results
    ]


def as_batch_item(item: Any) -> BatchItem:
    """A BatchItem, or a plain payload wrapped in one."""
    return item if isinstance(item, BatchItem) else BatchItem(payload=item)


def python_options(options: dict[str, Any]) -> dict[str, Any]:
    """Python spellings of trigger options, normalised: ``queue="name"`` → ``{"name": …}``."""
    normalised = dict(options)
    if isinstance(normalised.get("queue"), str):
        normalised["queue"] = {"name": normalised["queue"]}
    return normalised
