"""The attempt activity: one execution of the task's code, for one attempt of a run.

An execution tells its run workflow when the code started — with its outcome, and (with
``announce_attempts``, the default) by the ``attempt_started`` signal once the code has
run ``announce_after_s`` (1 s), so a run that executes for longer turns EXECUTING in its
search attributes (a list filtered by status) while a short one costs no signal, no
upsert and no workflow task for it (see :class:`Announcement`) —, heartbeats while the
code runs (so a lost worker is noticed; cancel comes through :mod:`.cancel_watch`),
enforces what is left of the task's ``max_duration``, and ends one of three ways: the
output as plain JSON; a classified failure (:mod:`.attempt_outcome`); or a
*suspension* — the code reached waits, so the execution stops it and returns them, and
the run workflow performs them with nothing running. The attempt then resumes as a new
execution (a continuation: same attempt id and number) that re-runs the code from the
top, its earlier calls answered from the run's journal (the ``attempt_state`` query).
An execution that a shutting-down worker must give up is handed back the same way,
with no waits, and resumes on another worker without counting as a failed attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from durableruns.context import AttemptInfo, RunInfo, TaskContext, TaskInfo
from durableruns.engine.names import (
    ATTEMPT_ACTIVITY,
    ATTEMPT_ELSEWHERE_TYPES,
    ATTEMPT_FAILURE_TYPE,
)
from durableruns.engine.workflows.run import RunWorkflow
from durableruns.hooks import WAIT_HOOK_TIMEOUT_S, final_hook_kinds
from durableruns.limits import MAX_OUTPUT_BYTES, ValueTooLargeError, check_value
from durableruns.logs import capture_task_output
from durableruns.metadata import RunMetadata
from durableruns.models import (
    AttemptFailure,
    AttemptInput,
    AttemptOutput,
    AttemptStarted,
    AttemptState,
    RetryOptions,
    RunError,
    Suspension,
)
from durableruns.service.runs import RunService
from durableruns.service.tokens import TokenService
from durableruns.settings import Settings
from durableruns.status import AttemptStatus
from durableruns.task_definitions import Task, TaskRegistry
from durableruns.worker import attempt_outcome as outcome
from durableruns.worker.attempt_slots import AttemptSlots
from durableruns.worker.cancel_watch import CancelWatch
from durableruns.worker.error_reports import ErrorReporter
from durableruns.worker.final_hooks import HooksRan
from durableruns.worker.isolation import ProcessPool, TaskProcessError, attempt_spec, can_isolate
from durableruns.worker.task_executor import Cancelled, Completed, Execution, Outcome, execute
from durableruns.worker.task_process import CANCEL_GRACE_S
from durableruns.worker.task_runtime import DEFAULT_SHORT_WAIT_S, AttemptRuntime

DEFAULT_ANNOUNCE_AFTER_S = 1.0
"""An execution still running after this long signals its start (see :class:`Announcement`)."""
DEFAULT_HEARTBEAT_EVERY_S = 30.0
"""How often a running execution heartbeats, at most (see :func:`heartbeat_cadence`)."""
HEARTBEAT_SHARE = 0.6
"""An execution beats at least this often within its heartbeat timeout, so one late beat
is not a lost worker."""
FLUSH_EVERY_S = 0.5
"""Metadata the code changed reaches its run within this (a signal only when changed)."""
worker_log = logging.getLogger("durableruns.worker")
"""One line per attempt outcome, with the run id (the errors themselves are in the run)."""
worker_log.setLevel(logging.INFO)
CANCELED_ERROR = RunError(name="Canceled", message="Run canceled")
"""What a lean worker reports for an execution its run canceled."""


class AttemptActivity:
    """The attempt activity bound to the tasks (and version) a worker serves.

    With a process ``pool`` each execution's code runs in a task process of its own
    (crash isolation); without one it runs in the worker's process. Executions offered
    on the runs queue (``AttemptInput.offered_to``) run here only for this worker's
    version and tasks, each in a free slot of its task's queue (``slots``), at most
    ``max_offered`` at once; the rest are refused and go to their task's queue.
    """

    def __init__(
        self,
        registry: TaskRegistry,
        version: str,
        task_queue_prefix: str,
        *,
        pool: ProcessPool | None = None,
        short_wait_s: float = DEFAULT_SHORT_WAIT_S,
        api_url: str | None = None,
        error_reports: ErrorReporter | None = None,
        heartbeat_every_s: float = DEFAULT_HEARTBEAT_EVERY_S,
        announce_attempts: bool = True,
        announce_after_s: float = DEFAULT_ANNOUNCE_AFTER_S,
        max_offered: int = 100,
        slots: dict[str, AttemptSlots] | None = None,
        draining: asyncio.Event | None = None,
    ) -> None:
        self._slots = slots or {}
        self._registry = registry
        self._draining = draining or asyncio.Event()
        self._max_offered = max_offered
        self._offered_running = 0
        self._error_reports = error_reports
        self._announce_after_s = announce_after_s if announce_attempts else None
        self._heartbeat_every_s = heartbeat_every_s
        self._cancel_watch = CancelWatch()
        self._api_url = api_url or Settings().api_url
        self._version = version
        self._prefix = task_queue_prefix
        self._pool = pool
        self._short_wait_s = short_wait_s
        self._services: dict[int, RunService] = {}
        self._tokens: dict[int, TokenService] = {}

    @activity.defn(name=ATTEMPT_ACTIVITY)
    async def run_attempt(self, input: AttemptInput) -> AttemptOutput:
        """Run the task's code for one execution of an attempt."""
        task = self._registry.get(input.task_id)
        if input.offered_to is not None:  # taken from the runs queue
            slots = self._slots.get(input.task_id)
            if task is None or slots is None or input.offered_to != self._version:
                raise _elsewhere(
                    f"runs version {self._version!r}, not the task at {input.offered_to!r}"
                )
            if self._draining.is_set():
                raise _elsewhere("is shutting down")
            if self._offered_running >= self._max_offered or not slots.take():
                raise _elsewhere("has no free attempt slot for the task")
            self._offered_running += 1
            try:
                return await self._run_attempt(task, input)
            finally:
                self._offered_running -= 1
                slots.give_back()
        if task is None:  # only reachable if queues are misrouted
            raise outcome.system_failure(
                "TaskNotFound", f"This worker has no task {input.task_id!r}", RetryOptions()
            )
        return await self._run_attempt(task, input)

    async def _run_attempt(self, task: Task[Any, Any], input: AttemptInput) -> AttemptOutput:
        client = activity.client()
        # Untyped handle, typed calls: mypy (2.4) loses RunWorkflow.run's type here
        # depending on the order it checks the package's modules in.
        handle: WorkflowHandle[Any, Any] = client.get_workflow_handle(input.run_id)
        # Beat from the start: reading the run's state and telling it the attempt started
        # are calls a loaded server can take seconds to answer, and an attempt silent for
        # its heartbeat timeout is timed out as a lost worker (a needless second attempt).
        heartbeats = asyncio.create_task(
            _heartbeat_forever(heartbeat_cadence(self._heartbeat_every_s))
        )
        try:
            state = await _state(handle, input)
            started_at = datetime.now(UTC)
            started = AttemptStarted(
                attempt_number=input.attempt_number,
                started_at=started_at,
                version=self._version,
                continuation=input.continuation,
                final_hooks=final_hook_kinds(task.hooks),
            )
            announcement = Announcement(handle, started, self._announce_after_s)
            if self._announce_after_s == 0:  # the run turns EXECUTING now (a signal, an upsert)
                await announcement.now()
        except BaseException:
            heartbeats.cancel()
            await asyncio.gather(heartbeats, return_exceptions=True)
            raise
        runtime = AttemptRuntime(
            handle=handle,
            service=self._service(client),
            version=self._version,
            attempt_number=input.attempt_number,
            journal=state.journal,
            short_wait_s=self._short_wait_s,
            logs_recorded=input.logs_recorded,
            tokens=self._token_service(client),
            streams=input.streams,
            input_cursors=state.input_cursors,
        )
        ctx = _context(task, input, started_at, self._version, runtime, state.metadata)
        execution = Execution(
            continuation=input.continuation,
            resumed_from=input.resumed_from,
            max_attempts=input.options.max_attempts,
        )
        flusher = asyncio.create_task(_flush_forever(runtime))
        log_flusher = asyncio.create_task(runtime.flush_logs_forever())
        clock = time.monotonic()
        info = activity.info()
        try:
            async with self._cancel_watch.watching(
                client,
                info.workflow_id or input.run_id,
                info.workflow_run_id or "",
                info.activity_id,
                _beat_now,
                cancel_requests=self._announce_after_s != 0,
            ):
                announcement.schedule()
                result = await self._execute(task, input, state.payload, ctx, runtime, execution)
        except asyncio.CancelledError:
            if await announcement.settle() or not _cancel_requested():
                raise
            # The run waits for this answer to learn the start it was never told of
            # (Temporal drops the details of a canceled activity): a CANCELED failure.
            worker_log.info(outcome.outcome_line(input.run_id, input.attempt_number, "CANCELED"))
            canceled = outcome.failure(AttemptStatus.CANCELED, CANCELED_ERROR, task.retry, False)
            raise outcome.with_start(canceled, started) from None
        except ApplicationError as exc:
            failure = _report_failure(input, exc)
            if failure is not None and self._error_reports is not None:
                await self._error_reports.report(input, failure)  # retried ones too
            raise outcome.with_start(exc, started) from exc.__cause__
        finally:
            for loop in (heartbeats, flusher, log_flusher):
                loop.cancel()
            await asyncio.gather(heartbeats, flusher, log_flusher, return_exceptions=True)
            await announcement.settle()  # its signal, if sent, lands before the outcome
            await runtime.flush()
        took = f"({time.monotonic() - clock:.2f} s)"
        if isinstance(result, Suspension):
            what = (
                f"WAITING at {len(result.waits)} wait(s) {took}" if result.waits else "HANDED BACK"
            )
            worker_log.info(outcome.outcome_line(input.run_id, input.attempt_number, what))
        else:
            worker_log.info(
                outcome.outcome_line(input.run_id, input.attempt_number, f"COMPLETED {took}")
            )
        if isinstance(result, Suspension):
            return AttemptOutput(
                suspended=result.model_copy(update={"ran_s": time.monotonic() - clock}),
                started=started,
            )
        return AttemptOutput(output=result, started=started)

    def _service(self, client: Client) -> RunService:
        """One run service per client (for in-task triggers and child-run options)."""
        key = id(client)
        if key not in self._services:
            self._services[key] = RunService(client, task_queue_prefix=self._prefix)
        return self._services[key]

    def _token_service(self, client: Client) -> TokenService:
        """One token service per client (for tokens task code creates and waits on)."""
        key = id(client)
        if key not in self._tokens:
            self._tokens[key] = TokenService(
                client, task_queue_prefix=self._prefix, api_url=self._api_url
            )
        return self._tokens[key]

    async def _execute(
        self,
        task: Task[Any, Any],
        input: AttemptInput,
        payload: Any,
        ctx: TaskContext,
        runtime: AttemptRuntime,
        execution: Execution,
    ) -> Any:
        """Run the code until it returns, fails, or suspends at waits (a Suspension)."""
        code = asyncio.ensure_future(self._run_code(task, input, payload, ctx, runtime, execution))
        suspended = asyncio.ensure_future(runtime.suspension())
        try:
            await asyncio.wait({code, suspended}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            suspended.cancel()
            await _stop(code)
            details = activity.cancellation_details()
            if details is not None and details.worker_shutdown and not details.cancel_requested:
                return Suspension()  # handed back: resumes on another worker
            raise
        if code.done():
            suspended.cancel()
            return code.result()
        waits = suspended.result()
        execution.suspending = waits[0] if waits else None  # on_wait runs before the stop
        await _stop(code, extra_grace_s=WAIT_HOOK_TIMEOUT_S)
        return Suspension(waits=waits)

    async def _run_code(
        self,
        task: Task[Any, Any],
        input: AttemptInput,
        payload: Any,
        ctx: TaskContext,
        runtime: AttemptRuntime,
        execution: Execution,
    ) -> Any:
        """The code under what is left of its max duration; the output, or a failure."""
        max_duration = input.options.max_duration_s or task.max_duration
        budget = None if max_duration is None else max(0.0, max_duration - input.elapsed_s)
        try:
            async with asyncio.timeout(budget) as deadline:
                runtime.run_clock(deadline)
                result = await self._outcome(task, payload, ctx, execution)
        except TimeoutError as exc:
            if deadline.expired():
                raise outcome.timed_out(max_duration, task.retry) from exc
            raise
        if isinstance(result, Completed):
            return self._checked_output(result.output, task)
        if isinstance(result, Cancelled):  # only ever an answer to our own stop
            raise outcome.system_failure(
                "UnexpectedCancel", "The task's process stopped on its own", task.retry
            )
        raise outcome.failure_of(result, task.retry)

    def _checked_output(self, output: Any, task: Task[Any, Any]) -> Any:
        """The output if it can be recorded: within 10 MiB, and within what the run's
        record may hold when values stay inline in history; else the attempt fails, not
        retried (the same code gives the same output)."""
        record_limit = self._service(activity.client()).record_limit_bytes
        limit = min(MAX_OUTPUT_BYTES, record_limit or MAX_OUTPUT_BYTES)
        try:
            check_value(output, "output", limit)
        except ValueTooLargeError as exc:
            error = outcome.run_error(exc, name="TaskOutputTooLargeError")
            raise outcome.failure(AttemptStatus.FAILED, error, task.retry, False) from exc
        return output

    async def _outcome(
        self, task: Task[Any, Any], payload: Any, ctx: TaskContext, execution: Execution
    ) -> Outcome:
        """In a task process when there is a pool (and it can import the task), else here."""
        if self._pool is None or not can_isolate(task):
            capture_task_output(task_process=False)  # its logging and print: to its run
            return await execute(task, payload, ctx, execution)
        runtime: AttemptRuntime = ctx.runtime  # type: ignore[assignment]
        spec = attempt_spec(task, payload, ctx, execution, replay_until=runtime.last_recorded)
        try:
            async with self._pool.process() as process:
                ended = await process.run(spec, ctx.runtime)  # type: ignore[arg-type]
        except TaskProcessError as exc:
            raise outcome.system_failure("TaskProcessStartFailed", str(exc), task.retry) from exc
        if isinstance(ended, HooksRan):  # only ever an answer to a hooks spec
            raise outcome.system_failure("UnexpectedHooks", "Hooks ran, not the code", task.retry)
        return ended


def _elsewhere(why: str) -> ApplicationError:
    """The refusal of an offered execution: the run schedules it on the task's queue."""
    return ApplicationError(
        f"This worker cannot run this execution: it {why}",
        type=ATTEMPT_ELSEWHERE_TYPES[0],
        non_retryable=True,
        # Not a failure of anything: logged at DEBUG, not counted in failure metrics.
        category=ApplicationErrorCategory.BENIGN,
    )


def _cancel_requested() -> bool:
    """Whether the execution was canceled because its run asked (not a shutdown)."""
    details = activity.cancellation_details()
    return details is not None and details.cancel_requested


def _report_failure(input: AttemptInput, exc: ApplicationError) -> AttemptFailure | None:
    """The worker's one line for a failed attempt (temporalio logs it at DEBUG only);
    the failure it reported, if it is one of ours."""
    if exc.type == ATTEMPT_FAILURE_TYPE and exc.details:
        failure = AttemptFailure.model_validate(exc.details[0])
        line = outcome.outcome_line(
            input.run_id, input.attempt_number, failure.status.value, failure.error
        )
        worker_log.warning(line)
        return failure
    return None


async def _state(handle: WorkflowHandle[Any, Any], input: AttemptInput) -> AttemptState:
    """Payload, metadata and journal: from the input, or read from the run."""
    if not input.from_run:
        return AttemptState(payload=input.payload, metadata=input.metadata)
    state: AttemptState = await handle.query(RunWorkflow.attempt_state)
    return state


async def _stop(code: asyncio.Future[Any], extra_grace_s: float = 0.0) -> None:
    """Stop the task's code and wait for it to end (a task process is killed after its
    grace period; code in this process that ignores the cancel is left behind).
    ``extra_grace_s``: the ``on_wait`` hooks' bound, when it stops to suspend."""
    code.cancel()
    with contextlib.suppress(BaseException):
        await asyncio.wait({code}, timeout=CANCEL_GRACE_S * 3 + extra_grace_s)
    if code.done() and not code.cancelled():
        code.exception()  # retrieved: a late failure of stopped code is not news


def _context(
    task: Task[Any, Any],
    input: AttemptInput,
    started_at: datetime,
    version: str,
    runtime: AttemptRuntime,
    metadata: dict[str, Any] | None,
) -> TaskContext:
    options = input.options
    return TaskContext(
        task=TaskInfo(id=task.id),
        run=RunInfo(
            id=input.run_id,
            created_at=input.run_created_at,
            tags=options.tags,
            is_test=options.is_test,
            idempotency_key=options.idempotency_key,
            is_replay=options.replayed_from is not None,
            replayed_from=options.replayed_from,
            parent_run_id=options.parent_run_id,
            root_run_id=options.root_run_id,
            depth=options.depth,
        ),
        attempt=AttemptInfo(
            id=input.attempt_id, number=input.attempt_number, started_at=started_at
        ),
        version=version,
        metadata=RunMetadata(metadata, runtime.metadata_changed, replaying=runtime.replaying),
        runtime=runtime,
        log=runtime.log_line,
    )


def heartbeat_cadence(every_s: float, timeout: timedelta | None = None) -> float:
    """Seconds between an execution's heartbeats: ``every_s``, but at least
    :data:`HEARTBEAT_SHARE` of its heartbeat timeout (read from the activity when not
    given; executions scheduled by earlier code have a 10 s one).

    Each beat that reaches Temporal is a billable action on Temporal Cloud; the beats
    only have to tell Temporal the worker is alive (a lost worker is noticed when the
    timeout passes without one). Cancel reaches the code by :mod:`.cancel_watch`.
    """
    if timeout is None:
        timeout = activity.info().heartbeat_timeout
    if not timeout:
        return every_s
    return max(0.1, min(every_s, timeout.total_seconds() * HEARTBEAT_SHARE))


async def _heartbeat_forever(every_s: float) -> None:
    # The first beat waits: a short attempt then costs no heartbeat RPC at all.
    while True:
        await asyncio.sleep(every_s)
        activity.heartbeat()


class Announcement:
    """The ``attempt_started`` signal of one execution, sent once its code has run
    ``after_s`` (None: never; 0: before the code starts, :meth:`now`).

    Why delayed: announcing costs the run a signal, an upsert (two Temporal Cloud
    actions) and a workflow task, five history events, which is most of what separates a
    no-op run from bare Temporal's workflow + activity. What it buys is a run listed
    EXECUTING while its code runs; retrieve and the realtime feeds see the start without
    it (``service/running_attempt.py``). A short execution ends before the signal would
    go: it tells its run the start with its outcome, and the run is listed QUEUED (or
    WAITING) for at most ``after_s``, as a list lags anyway. A longer one is listed
    EXECUTING ``after_s`` into its code, at the cost it always had.

    The signal never lands after the execution's outcome (the run would read a start it
    has already ended): :meth:`settle`, before the outcome is returned, cancels it while
    it is still a wait and awaits it once it is sent."""

    def __init__(
        self, handle: WorkflowHandle[Any, Any], started: AttemptStarted, after_s: float | None
    ) -> None:
        self._handle = handle
        self._started = started
        self._after_s = after_s
        self._task: asyncio.Task[None] | None = None
        self._sending = False
        self.sent = False
        """Whether the run has the signal (then it knows the start)."""

    async def now(self) -> None:
        """Signal at once; an error is the execution's (the code has not started)."""
        self._sending = True
        await self._handle.signal(RunWorkflow.attempt_started, self._started)
        self.sent = True

    def schedule(self) -> None:
        """Signal ``after_s`` from now, unless :meth:`settle` comes first."""
        if self._after_s and not self.sent:
            self._task = asyncio.create_task(self._later(self._after_s))

    async def settle(self) -> bool:
        """Cancel the signal if it is still a wait, else await it; whether it was sent."""
        if self._task is not None:
            if not self._sending:
                self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        return self.sent

    async def _later(self, after_s: float) -> None:
        await asyncio.sleep(after_s)
        try:
            await self.now()
        except Exception as exc:  # the run tells the start from the outcome instead
            worker_log.warning("could not announce the start of %s: %s", self._handle.id, exc)


def _beat_now() -> None:
    """Heartbeat at once: its answer carries a cancel the run's history announced."""
    activity.heartbeat()


async def _flush_forever(runtime: AttemptRuntime) -> None:
    # Metadata the code changed goes to its run within FLUSH_EVERY_S (no RPC otherwise).
    while True:
        await asyncio.sleep(FLUSH_EVERY_S)
        await runtime.flush()
