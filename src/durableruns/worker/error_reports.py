"""A failed run's report to its environment's error groups, sent by the worker that ran
its last attempt.

Why from the worker and not the run workflow: a signal from workflow code needs a
``workflow.patched`` marker for runs recorded before it (which upserts
``TemporalChangeVersion``: a marker and an upsert more per failed run), while the
worker already holds the failure and the client. So a failed run costs one
signal-with-start (it also starts the error-groups workflow if none runs) and a
successful run nothing. The worker applies the run workflow's own rule
(``AttemptFailure.ends_run``) to know the attempt is the last.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from durableruns.engine.names import monitor_id, runs_queue
from durableruns.engine.workflows.monitor import (
    OCCURRED_SIGNAL,
    MonitorWorkflow,
)
from durableruns.error_group_models import GROUPED_STATUSES, occurrence_of
from durableruns.models import AttemptFailure, AttemptInput
from durableruns.status import RUN_STATUS_AFTER_ATTEMPT

log = logging.getLogger("durableruns.worker")


async def report_failed_run(
    client: Client,
    input: AttemptInput,
    failure: AttemptFailure,
    *,
    task_queue_prefix: str,
    version: str,
) -> bool:
    """Count the run in its error group if this failure ends it FAILED, CRASHED,
    TIMED_OUT or SYSTEM_FAILURE; True when a report was sent."""
    status = RUN_STATUS_AFTER_ATTEMPT[failure.status]
    if status not in GROUPED_STATUSES:
        return False
    if not failure.ends_run(input.attempt_number, input.options.max_attempts):
        return False
    options = input.options
    occurrence = occurrence_of(
        input.run_id,
        input.task_id,
        failure.error,
        version=version,
        at=datetime.now(UTC),
        tags=options.tags,
        queue=options.queue or f"task/{input.task_id}",
    )
    try:
        await client.start_workflow(
            MonitorWorkflow.run,
            None,
            id=monitor_id(task_queue_prefix),
            task_queue=runs_queue(task_queue_prefix),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal=OCCURRED_SIGNAL,
            start_signal_args=[occurrence],
        )
    except RPCError as exc:  # the run's own failure must not depend on its grouping
        log.warning("%s: its error group was not counted (%s)", input.run_id, exc)
        return False
    return True
