"""Triggers with a key: idempotency keys and debounce keys, both atomic because they rest
on workflow-id uniqueness, never on a visibility lookup.

A keyed run's id is derived from (namespace, queues, task, kind, key, generation).
Racing triggers all try to start the key's current generation; Temporal lets exactly one
win and the others find that run. Idempotency: a run that ended FAILED (or worse), or
whose key expired, moves the key to the next generation. Debounce: a later trigger asks
the key's run (the ``debounce`` Update) to move its start; a run no longer DELAYED, or
past its ``maxDelay``, refuses, and the key moves to the next generation — Temporal
serializes the Updates, so two racing triggers never make two runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from durableruns.debounce import DebounceRequest
from durableruns.errors import EngineUnavailableError, KeyExhaustedError
from durableruns.ids import derived_run_id
from durableruns.models import RunOptions
from durableruns.status import RunStatus, is_completed

if TYPE_CHECKING:
    from durableruns.service.runs import RunService

MAX_KEY_GENERATIONS = 1000
KEY_REUSABLE_AFTER = frozenset({RunStatus.COMPLETED, RunStatus.CANCELED})
"""A keyed run that ended this way keeps its key; any other final status frees it."""


@dataclass(frozen=True)
class Triggered:
    """A trigger's answer: the run id, and whether an existing run was returned."""

    run_id: str
    is_cached: bool = False


def _keyed_id(service: RunService, task_id: str, kind: str, key: str, generation: int) -> str:
    return derived_run_id(
        service.client.namespace, service.task_queue_prefix, task_id, kind, key, str(generation)
    )


async def trigger_idempotent(
    service: RunService, task_id: str, payload: Any, options: RunOptions
) -> Triggered:
    """The run of the idempotency key: an existing one (cached), or a new one."""
    key = options.idempotency_key_hash or ""
    now = datetime.now(UTC)
    for generation in range(MAX_KEY_GENERATIONS):
        run_id = _keyed_id(service, task_id, "key", key, generation)
        try:
            return Triggered(await service.start_run(run_id, task_id, payload, options))
        except WorkflowAlreadyStartedError:
            pass
        existing = await service.retrieve(run_id)
        if existing is None:  # removed by retention meanwhile: try this generation again
            return await trigger_idempotent(service, task_id, payload, options)
        expires = existing.options.idempotency_key_expires_at
        if expires is not None and expires <= now:
            continue
        if not is_completed(existing.status) or existing.status in KEY_REUSABLE_AFTER:
            return Triggered(run_id, is_cached=True)
    raise KeyExhaustedError(
        "options.idempotencyKey", f"this key made {MAX_KEY_GENERATIONS} runs already"
    )


async def trigger_debounced(
    service: RunService, task_id: str, payload: Any, options: RunOptions
) -> Triggered:
    """The debounce key's run, moved later (and updated, trailing) — or a new one."""
    debounce = options.debounce
    assert debounce is not None
    key = debounce.key
    request = DebounceRequest(
        delay_until=datetime.now(UTC) + timedelta(seconds=debounce.delay_s),
        max_delay_s=debounce.max_delay_s,
        trailing=debounce.mode == "trailing",
        payload=payload,
        metadata=options.metadata,
        tags=options.tags,
        max_attempts=options.max_attempts,
        max_duration_s=options.max_duration_s,
    )
    for generation in range(MAX_KEY_GENERATIONS):
        run_id = _keyed_id(service, task_id, "debounce", key, generation)
        try:
            return Triggered(await service.start_run(run_id, task_id, payload, options))
        except WorkflowAlreadyStartedError:
            pass
        try:
            await service.client.get_workflow_handle(run_id).execute_update("debounce", request)
        except WorkflowUpdateFailedError:
            continue  # not DELAYED any more, or past maxDelay: the key's next run
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND or "completed" in exc.message.lower():
                continue  # the run finished: the key's next run
            raise EngineUnavailableError(f"Could not debounce the run: {exc.message}") from exc
        return Triggered(run_id)
    raise KeyExhaustedError(
        "options.debounce.key", f"this key made {MAX_KEY_GENERATIONS} runs already"
    )
