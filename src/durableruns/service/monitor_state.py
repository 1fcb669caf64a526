"""Reaching an environment's monitor workflow (error groups and alerts).

Starting it, alone or with a signal (a signal-with-start, so a report or an alert change
never waits for a monitor to exist: workers, their error reports and alert changes all
come in this way). Reading it: by query when a worker polls the runs queue (exact,
secrets included), else from the memo the workflow publishes (at most 10 s old, no
secrets), so reads never wait on a worker that is not there. No monitor yet (no worker
ever ran here): an empty state."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from durableruns.engine.names import MONITOR_MEMO, monitor_id, runs_queue
from durableruns.engine.workflows.monitor import MonitorState, MonitorWorkflow
from durableruns.errors import EngineUnavailableError
from durableruns.service.pollers import live_pollers

READ_TIMEOUT = timedelta(seconds=10)


async def start_monitor(
    client: Client, task_queue_prefix: str, signal: str | None = None, arg: object = None
) -> None:
    """Start the prefix's monitor unless it runs; with ``signal``, deliver ``arg`` to it in
    the same call.

    Raises:
        RPCError: Temporal refused or could not be reached; callers decide what that means
            (a failed run's report is dropped, an alert change is a 503).
    """
    with_signal: dict[str, Any] = {}
    if signal is not None:
        with_signal = {"start_signal": signal, "start_signal_args": [arg]}
    await client.start_workflow(
        MonitorWorkflow.run,
        None,
        id=monitor_id(task_queue_prefix),
        task_queue=runs_queue(task_queue_prefix),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary="durableruns: error groups and alerts of this environment",
        **with_signal,
    )


async def read_monitor(client: Client, task_queue_prefix: str) -> MonitorState:
    """The monitor's state (see the module's docstring for which copy)."""
    handle = client.get_workflow_handle_for(MonitorWorkflow.run, monitor_id(task_queue_prefix))
    worker = await live_pollers(
        client, runs_queue(task_queue_prefix), TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW
    )
    try:
        if worker:
            return await handle.query(MonitorWorkflow.groups, rpc_timeout=READ_TIMEOUT)
        description = await handle.describe(rpc_timeout=READ_TIMEOUT)
        raw = await description.memo_value(MONITOR_MEMO, None)
        return MonitorState.model_validate(raw) if raw else MonitorState()
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return MonitorState()
        raise EngineUnavailableError(f"Could not read the monitor: {exc.message}") from exc
    except WorkflowQueryFailedError as exc:
        raise EngineUnavailableError(f"Could not read the monitor: {exc}") from exc
