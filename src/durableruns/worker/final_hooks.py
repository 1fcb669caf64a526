"""A run's once-per-run hooks — ``on_success``, ``on_failure``, ``on_complete``,
``on_cancel`` — run after its final status, in the task's process like its code.

Which hooks a final status fires is :func:`durableruns.hook_models.kinds_for`.

Each hook is bounded by :data:`~durableruns.hooks.HOOK_TIMEOUT_S`; an error (or a
timeout) is logged with the run and the next hook runs: hooks never change the run's
status. Every hook that ended is reported by its key (``on_success:0`` …) as it ends, so
an activity retried after a lost worker runs only the hooks that had not ended.
Imports nothing of temporalio: task processes run this too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from pydantic import ValidationError

from durableruns import locals as task_locals
from durableruns.context import (
    AttemptInfo,
    RunInfo,
    TaskContext,
    TaskInfo,
    reset_current_context,
    set_current_context,
)
from durableruns.hook_models import kinds_for
from durableruns.hooks import HOOK_TIMEOUT_S, HookKind, call_hook, hooks_of
from durableruns.log_models import LogLine
from durableruns.metadata import RunMetadata
from durableruns.models import RunError
from durableruns.status import RunStatus
from durableruns.task_definitions import Task
from durableruns.worker.task_executor import describe_error, hook_failed


@dataclass(frozen=True)
class FinalHooksSpec:
    """What a task process needs to run a run's final hooks (all picklable)."""

    module: str
    task_id: str
    status: RunStatus
    payload: Any
    output: Any
    error: RunError | None
    skip: tuple[str, ...]
    """Keys of hooks an earlier try of the activity already ran."""
    task: TaskInfo
    run: RunInfo
    attempt: AttemptInfo | None
    """The run's last attempt (None if none started)."""
    version: str
    metadata: dict[str, Any] | None


@dataclass(frozen=True)
class HooksRan:
    """How the final hooks went: the keys that ended, the errors they raised."""

    done: tuple[str, ...] = ()
    errors: tuple[RunError, ...] = ()


async def run_final_hooks(
    task: Task[Any, Any],
    spec: FinalHooksSpec,
    ctx: TaskContext,
    ended: Callable[[str], None],
) -> HooksRan:
    """Run the hooks ``spec.status`` fires, with ``ctx`` bound; ``ended(key)`` after each."""
    signal = asyncio.Event()
    if spec.status is RunStatus.CANCELED:
        signal.set()
    values = {
        "payload": _typed(task.payload_model, spec.payload),
        "ctx": ctx,
        "task": task.id,
        "output": _typed(task.output_model, spec.output),
        "error": spec.error,
        "signal": signal,
    }
    done: list[str] = []
    errors: list[RunError] = []
    token = set_current_context(ctx)
    try:
        with task_locals.scope():
            for kind in kinds_for(spec.status):
                for index, fn in enumerate(hooks_of(cast(HookKind, kind), task.hooks)):
                    key = f"{kind}:{index}"
                    if key in spec.skip:
                        continue
                    try:
                        async with asyncio.timeout(HOOK_TIMEOUT_S):
                            await call_hook(fn, values)
                    except Exception as exc:
                        hook_failed(kind, fn, exc)
                        errors.append(describe_error(exc))
                    done.append(key)
                    ended(key)
    finally:
        reset_current_context(token)
    return HooksRan(done=tuple(done), errors=tuple(errors))


def _typed(model: Any, value: Any) -> Any:
    """``value`` as the task's pydantic model when it fits, else as it is."""
    if model is None or value is None:
        return value
    try:
        return model.model_validate(value)
    except ValidationError:
        return value


def hooks_context(spec: FinalHooksSpec, log: Callable[[LogLine], None]) -> TaskContext:
    """The context final hooks see: the run's, with no runtime (the run has ended: no
    waits, no steps, no triggers from the run) and its last attempt's details."""
    attempt = spec.attempt or AttemptInfo(id="", number=0, started_at=spec.run.created_at)
    return TaskContext(
        task=spec.task,
        run=spec.run,
        attempt=attempt,
        version=spec.version,
        metadata=RunMetadata(spec.metadata, lambda metadata: None),
        runtime=None,
        log=log,
    )
