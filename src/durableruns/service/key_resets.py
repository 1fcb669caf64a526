"""Idempotency-key resets (``idempotencyKeys.reset``): a reset moves a key to its next
generation by leaving a *reset marker* for the key's current run — a workflow of its own
type on a queue no worker polls, terminated as it starts, whose id is derived from that
run's id. A trigger that finds its key's run checks for the marker before answering it
(``RunService._trigger_idempotent``). Markers live as long as the run's history (the
namespace's retention) and never show in run lists (another workflow type)."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from durableruns.engine.names import IDEMPOTENCY_KEY_RESET_WORKFLOW, markers_queue
from durableruns.errors import EngineUnavailableError


def marker_id(run_id: str) -> str:
    """The reset marker's workflow id for keyed run ``run_id``."""
    return f"{run_id}:idempotency-key-reset"


async def was_reset(client: Client, run_id: str) -> bool:
    """Whether the key of keyed run ``run_id`` was reset (its marker exists)."""
    try:
        await client.get_workflow_handle(marker_id(run_id)).describe()
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return False
        raise EngineUnavailableError(f"Could not read the key's reset: {exc.message}") from exc
    return True


async def mark_reset(client: Client, task_queue_prefix: str, run_id: str) -> None:
    """Leave the reset marker of ``run_id`` (idempotent: an existing marker is kept)."""
    try:
        handle = await client.start_workflow(
            IDEMPOTENCY_KEY_RESET_WORKFLOW,
            id=marker_id(run_id),
            task_queue=markers_queue(task_queue_prefix),
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"idempotency key of {run_id} reset",
        )
        await handle.terminate("reset marker: nothing to run")
    except WorkflowAlreadyStartedError:
        return
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:  # terminated meanwhile by a racing reset
            return
        raise EngineUnavailableError(f"Could not reset the key: {exc.message}") from exc
