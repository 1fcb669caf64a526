"""Every name the engine's processes agree on: workflow, signal, update, query and
activity names, memo keys, and task queues. Workflow code, the worker and the services
import them from here, so no side spells a name by string.

These names are in every recorded history: they never change (a renamed activity or
signal would break the replay of every run in flight).

Task queues: one for run workflows, one per task for attempts. A task's attempts go to
the task's own queue, so a run of a task that no worker serves
simply waits there (QUEUED) until a worker that serves it polls.
"""

from __future__ import annotations

import hashlib


def runs_queue(prefix: str) -> str:
    """The queue every worker polls for run workflows."""
    return f"{prefix}:runs"


def task_queue(prefix: str, task_id: str, version: str | None = None) -> str:
    """The queue a task's attempts are dispatched to: pinned to a version, or the
    version-less queue that every worker serving the task polls."""
    base = f"{prefix}:task/{task_id}"
    return f"{base}@{version}" if version else base


RUN_WORKFLOW = "durableruns.run"
BATCH_WORKFLOW = "durableruns.batch"
CATALOG_WORKFLOW = "durableruns.catalog"

RECORD_MEMO = "record"
"""The memo key of a run's record (its final record, and the compact one of a running run)."""
BATCH_MEMO = "batch"
CATALOG_MEMO = "catalog"

ATTEMPT_ACTIVITY = "durableruns.attempt"
"""One execution of a task's code (``worker/attempt_activity.py``)."""


def attempt_execution(activity_type: str, activity_id: str) -> tuple[int, int] | None:
    """(attempt number, continuation) of an execution's activity, whose id the run
    workflow makes ``attempt-<n>[.<continuation>]``; None for any other activity."""
    number, _, continuation = activity_id.removeprefix("attempt-").partition(".")
    if activity_type != ATTEMPT_ACTIVITY or not number.isdigit():
        return None
    return int(number), int(continuation) if continuation.isdigit() else 0


ATTEMPT_FAILURE_TYPE = "durableruns.AttemptFailure"
"""ApplicationError type the attempt activity uses to report a classified failure."""
ATTEMPT_ELSEWHERE_TYPES = ("durableruns.AttemptNotServedHere", "NotFoundError")
"""ApplicationError types of an execution offered on the runs queue that the worker
which took it cannot run: a worker of another version or without the task
(``AttemptNotServedHere``), or of a release from before the offer (temporalio's
``NotFoundError``: no attempt activity on its runs worker). The run then schedules the
execution on the task's own queue."""
HOOKS_ACTIVITY = "durableruns.run_hooks"
"""A run's once-per-run hooks after its final status (``worker/hooks_activity.py``)."""

QUEUE_WORKFLOW = "durableruns.queue"
ENQUEUE_ACTIVITY = "durableruns.enqueue"
CLOSED_RUNS_ACTIVITY = "durableruns.closed_runs"
SLOT_GRANTED_SIGNAL = "slot_granted"
"""The queue workflow's signal to a run: a slot is yours."""

LIMIT_WORKFLOW = "durableruns.limit"
"""One per concurrency limit (``engine/workflows/limit.py``): total and per-key pools."""
ENQUEUE_LIMIT_ACTIVITY = "durableruns.enqueue_limit"
"""Signal-with-start of a limit's workflow, when a run's plain signal found none."""
LIMIT_ENQUEUE_SIGNAL = "enqueue"
LIMIT_RELEASE_SIGNAL = "release"

TOKEN_WORKFLOW = "durableruns.token"
TOKEN_COMPLETED_SIGNAL = "token_completed"
TOKEN_WAITER_ACTIVITY = "durableruns.token_waiter"

MONITOR_WORKFLOW = "durableruns.monitor"
"""One per environment: its error groups and alerts (``workflows/monitor.py``)."""
ERROR_OCCURRED_SIGNAL = "error_occurred"
"""A worker's report of one failed run to the monitor (what workers sent before
retried attempts were reported too; still handled)."""
ERRORS_OCCURRED_SIGNAL = "errors_occurred"
"""A worker's report of failed attempts, retried ones and final ones, in one batch."""
ERROR_GROUP_UPDATE = "change"
ALERTS_SIGNAL = "alerts_change"
MONITOR_MEMO = "monitor"
"""The monitor's state without secrets, for reads when no worker runs."""
ERROR_GROUPS_QUERY = "groups"
ALERTS_QUERY = "alerts"
ALERT_DELIVERY_WORKFLOW = "durableruns.alert_delivery"
ALERT_DELIVER_ACTIVITY = "durableruns.alert_deliver"
HEALTH_PROBE_ACTIVITY = "durableruns.health_probe"
"""The monitor's periodic look at lasting states (only while an alert watches them)."""
DELIVERY_ATTEMPTED_SIGNAL = "delivery_attempted"
"""An alert delivery's report of one try to the monitor."""


def monitor_id(prefix: str) -> str:
    """The monitor workflow's id for a prefix."""
    return f"durableruns-monitor:{prefix}"


INPUT_SENT_SIGNAL = "input_sent"
"""A value sent to one of a run's input streams (``service/input_streams.py``)."""
INPUT_CONSUMED_SIGNAL = "input_consumed"
"""An execution consumed an input-stream value in its process (``once`` / ``on``)."""
INPUT_VALUES_QUERY = "input_values"
"""What an execution listening in its process polls: a stream's values from an index."""

BULK_ACTION_WORKFLOW = "durableruns.bulk_action"
"""One bulk action (replay or cancel many runs; workflow id = ``bulk_…``)."""
BULK_PAGE_ACTIVITY = "durableruns.bulk_action.page"
BULK_ACT_ACTIVITY = "durableruns.bulk_action.act"
BULK_ABORT_SIGNAL = "abort"
BULK_GET_QUERY = "get"

IDEMPOTENCY_KEY_RESET_WORKFLOW = "durableruns.idempotency_key_reset"
"""A reset marker of an idempotency key (never executed; ``service/key_resets.py``)."""


def markers_queue(prefix: str) -> str:
    """The queue reset markers name: no worker polls it (they are terminated at start)."""
    return f"{prefix}:markers"


MAX_READABLE_ID = 500
"""Temporal caps workflow ids at 1,000 characters; a longer queue id names its queue and
key by their hash instead (the same every time, so the queue is still one workflow)."""


def queue_workflow_id(prefix: str, queue: str, concurrency_key: str | None) -> str:
    """The workflow id of a queue (one per concurrency key)."""
    base = f"durableruns-queue:{prefix}:{queue}"
    readable = f"{base}#{concurrency_key}" if concurrency_key else base
    if len(readable) <= MAX_READABLE_ID:
        return readable
    digest = hashlib.sha256(f"{queue}\x1f{concurrency_key or ''}".encode()).hexdigest()
    return f"durableruns-queue:{prefix}:sha256:{digest}"


def limit_workflow_id(prefix: str, name: str) -> str:
    """The workflow id of a concurrency limit (names are at most 134 characters)."""
    return f"durableruns-limit:{prefix}:{name}"
