"""The run's durable records: what a trigger snapshots and what the run workflow keeps.

These pydantic models cross the workflow/activity boundary and are stored in Temporal
history, so they hold JSON-friendly fields only and never change shape without a
replay test. The facade maps :class:`RunRecord` to Trigger.dev's wire shape
(``durableruns.wire``); nothing here knows about HTTP or Temporal.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from durableruns.debounce import Debounce
from durableruns.input_models import input_call
from durableruns.limit_models import LimitSpec
from durableruns.limits import MAX_ERROR_MESSAGE_BYTES, MAX_STACK_TRACE_BYTES, truncate_text
from durableruns.status import AttemptStatus, RunStatus
from durableruns.stream_models import StreamTally


class Frozen(BaseModel):
    """Base for immutable records."""

    model_config = ConfigDict(frozen=True)


RETRY_DELAY_PATCH = "retry-delay-randomize-then-cap"
"""The run workflow's patch that moved retry delays to ``RetryOptions.delay_ms``."""


class RetryOptions(Frozen):
    """A task's retry policy, with Trigger.dev's names and defaults.

    The delay before attempt ``n + 1`` is Trigger.dev's (``calculateNextRetryDelay``):
    ``min(max_timeout_ms, r * min_timeout_ms * factor ** (n - 1))``, with ``r`` random in
    ``[1, 2)`` when ``randomize`` is set (else 1), rounded half up: randomized first, then
    capped, so ``max_timeout_ms`` is a true ceiling.
    """

    max_attempts: int = Field(default=3, ge=1, le=100)
    factor: float = Field(default=2.0, ge=1.0)
    min_timeout_ms: int = Field(default=1000, ge=0)
    max_timeout_ms: int = Field(default=60_000, ge=0)
    randomize: bool = True
    retry_on_crash: bool = False
    """Retry an attempt whose process died (a signal, the OOM killer, out of memory).
    Off by default: a crash tends to repeat, so the run ends CRASHED at once."""

    def delay_ms(self, attempt_number: int, random_unit: float) -> int:
        """Backoff after a failed attempt ``attempt_number``; ``random_unit`` in [0, 1).

        The operations are in Trigger.dev's order (JavaScript's ``Math.round`` rounds
        halves up), so the same random number gives the same delay to the millisecond."""
        scale = 1 + random_unit if self.randomize else 1
        timeout = min(
            self.max_timeout_ms,
            scale * self.min_timeout_ms * self.factor ** (attempt_number - 1),
        )
        return math.floor(timeout + 0.5)

    def delay_ms_capped_before_random(self, attempt_number: int, random_unit: float) -> int:
        """The delay runs started before the ``RETRY_DELAY_PATCH`` computed (capped, then
        randomized, so up to twice ``max_timeout_ms``): kept only so their histories replay."""
        base = min(self.max_timeout_ms, self.min_timeout_ms * self.factor ** (attempt_number - 1))
        return round(base * (1 + random_unit if self.randomize else 1))


class RunError(Frozen):
    """An error as users see it: a name, a message and a stack trace. Message and stack
    are cut to ``limits.MAX_ERROR_MESSAGE_BYTES`` / ``MAX_STACK_TRACE_BYTES`` wherever an
    error is made, so task code raising a 10 MB message fails its attempt clearly instead
    of making the run's record unrecordable (issue 15)."""

    name: str = "Error"
    message: str
    stack_trace: str = ""

    @field_validator("message")
    @classmethod
    def _cut_message(cls, message: str) -> str:
        return truncate_text(message, MAX_ERROR_MESSAGE_BYTES)

    @field_validator("stack_trace")
    @classmethod
    def _cut_stack_trace(cls, stack_trace: str) -> str:
        return truncate_text(stack_trace, MAX_STACK_TRACE_BYTES)


class RunOptions(Frozen):
    """Trigger-time options snapshotted into the run, so replay depends only on history."""

    tags: tuple[str, ...] = ()
    metadata: dict[str, Any] | None = None
    """The metadata the run starts with (the task may change it while it runs)."""
    max_attempts: int | None = None
    """Overrides the task's ``retry.max_attempts`` for this run."""
    max_duration_s: float | None = None
    """Overrides the task's ``max_duration`` for this run."""
    is_test: bool = False
    delay_until: datetime | None = None
    """The run stays DELAYED until then (reschedule moves it)."""
    ttl_s: float | None = None
    """The run EXPIREs if no attempt starts within this many seconds of being QUEUED."""
    idempotency_key: str | None = None
    """The user's idempotency key, as given (shown on retrieve and list)."""
    idempotency_key_hash: str | None = None
    idempotency_key_expires_at: datetime | None = None
    batch_id: str | None = None
    parent_run_id: str | None = None
    root_run_id: str | None = None
    depth: int = 0
    trigger_function: str = "trigger"
    """How the run was made: trigger, triggerAndWait, batchTrigger, batchTriggerAndWait."""
    replayed_from: str | None = None
    """The run this one replays, if it is a replay."""
    replayed_from_step: int | None = None
    """A rerun from a step: the journal position of the run it replays from which its
    code ran live (the calls before it answered from that run's records)."""
    bulk_action_id: str | None = None
    """The bulk action (``bulk_…``) whose replay made this run."""
    queue: str | None = None
    concurrency_key: str | None = None
    concurrency_limit: int | None = None
    """The queue's limit when the run was triggered; None means the run takes no slot.
    Runs that hold ``limits`` have it set too (the tightest bound, at least 1), so every
    check "does this run take slots?" keeps its one meaning."""
    limits: tuple[LimitSpec, ...] = ()
    """The concurrency limits the run holds, sorted by name (``limit_models``); empty on
    runs of the first queue engine, which took their slot from the queue workflow."""
    limit_names: tuple[str, ...] | None = None
    """Trigger-time ``concurrency``: named limits replacing the task's for this run."""
    priority_s: float = 0
    lock_to_version: str | None = None
    """The version that runs it; None when no deployed version served the task."""
    debounce: Debounce | None = None
    """Set on a debounced run (``durableruns.debounce``)."""
    schedule_id: str | None = None
    """The schedule (``sched_…``) whose tick made this run."""
    trace_id: str | None = None
    """The OpenTelemetry trace the run belongs to, when tracing is on (``engine/tracing.py``)."""

    @property
    def ready_status(self) -> RunStatus:
        """QUEUED when pinned to a deployed version, else PENDING_VERSION: the attempt
        waits on the version-less queue for the first worker that serves the task."""
        return RunStatus.QUEUED if self.lock_to_version else RunStatus.PENDING_VERSION


class RunInput(Frozen):
    """Everything the run workflow starts from."""

    run_id: str
    task_id: str
    payload: Any = None
    options: RunOptions = RunOptions()
    created_at: datetime
    task_queue_prefix: str
    """Prefix of the Temporal task queues; attempts go to ``<prefix>:task/<task id>``."""
    seed_journal: tuple[JournalEntry, ...] = ()
    """A rerun from a step: the replayed run's finished calls before the cut, answered
    from these records as if this run had made them."""
    record_limit_bytes: int | None = None
    """The most the run's final record may encode to, when values are kept inline in
    history (no payload storage); None when payload storage keeps them outside. The
    workflow fits its record with ``record_fit.fit_record`` (issue 15)."""
    record_in_memo: bool = False
    """The run keeps its changing state in its memo and is read without a query
    (``run_state.py``). Runs started before have no such field and are queried."""


class AttemptInput(Frozen):
    """What one attempt of the attempt activity is given."""

    run_id: str
    task_id: str
    attempt_id: str
    attempt_number: int
    payload: Any = None
    options: RunOptions
    run_created_at: datetime
    metadata: dict[str, Any] | None = None
    """The run's metadata as the attempt starts (it may have changed since trigger)."""
    continuation: int = 0
    """0 for an attempt's first execution; k for its k-th resumption after a wait."""
    from_run: bool = False
    """Read payload, metadata and the journal from the run (the ``attempt_state``
    query) instead of this input: continuations and attempts with recorded calls. So
    the history holds the payload once, however many times an attempt resumes."""
    elapsed_s: float = 0
    """Execution time this attempt already used in earlier executions (its
    ``max_duration`` budget counts executing time only, never waits)."""
    logs_recorded: int = 0
    """Log lines the run holds already (its bound counts across executions)."""
    streams: StreamTally = StreamTally()  # what the run's streams hold: offsets, the bound
    resumed_from: WaitSpec | None = None
    """The first wait of the suspension this continuation resumes after (for the task's
    ``on_resume`` hooks); None on a first execution or after a hand-back."""
    offered_to: str | None = None
    """Set when the execution is offered on the runs queue (so Temporal dispatches it
    eagerly to the worker running the run): only a worker of this version that serves
    the task may run it; any other refuses (``ATTEMPT_ELSEWHERE_TYPES``)."""


class AttemptStarted(Frozen):
    """Sent by an attempt to its run workflow just before the task's code runs."""

    attempt_number: int
    started_at: datetime
    version: str
    continuation: int = 0
    final_hooks: tuple[str, ...] = ()
    """The once-per-run hooks the task has at this version (``on_success`` …): the run
    runs its hooks activity after its final status only when there are some."""


class ChildRunSpec(Frozen):
    """One child run asked for by ``trigger_and_wait`` / ``batch_trigger_and_wait``."""

    task_id: str
    payload: Any = None
    options: RunOptions = RunOptions()


class ChildRunsRequest(Frozen):
    """From task code to its run workflow: start these children and wait for them all.

    ``position`` is the call's index within the attempt: a retried attempt making the
    same call gets the same children (and their results) instead of new ones.
    """

    position: int
    items: tuple[ChildRunSpec, ...]
    batch: bool = False


class ChildRunResult(Frozen):
    """How a waited-for child run ended."""

    run_id: str
    task_id: str
    status: RunStatus
    output: Any = None
    error: RunError | None = None

    @property
    def ok(self) -> bool:
        """Whether the child COMPLETED."""
        return self.status is RunStatus.COMPLETED


class WaitRequest(Frozen):
    """From task code to its run workflow: a durable timer until ``until``.

    The first request at a ``position`` fixes the target time; a retried attempt
    reaching the same wait resumes the same timer.
    """

    position: int
    until: datetime


class WaitSpec(Frozen):
    """One wait the task's code reached: a durable timer, child runs, a wait token or a
    value of an input stream, at ``position`` (the index of the call among the durable
    calls of one execution)."""

    position: int
    kind: Literal["timer", "runs", "token", "input"]
    until: datetime | None = None
    """The timer's end (``timer``); the first record at a position fixes it."""
    items: tuple[ChildRunSpec, ...] = ()
    """The child runs (``runs``), started once per (position, index)."""
    batch: bool = False
    token_id: str | None = None
    """The wait token waited for (``token``)."""
    stream_id: str | None = None
    """The input stream waited on (``input``; the timeout, if any, is ``until``)."""
    index: int | None = None
    """Which value of that stream this wait consumes (``input``): the execution's cursor."""

    @property
    def call(self) -> str:
        """The call, as the resume guard names it (``trigger_and_wait('a')`` and so on)."""
        if self.kind == "timer":
            return "wait.for_/wait.until"
        if self.kind == "token":
            return token_call(self.token_id or "")
        if self.kind == "input":
            return input_call(self.stream_id or "", "wait")
        return run_call(self.batch, [item.task_id for item in self.items])


def run_call(batch: bool, task_ids: list[str]) -> str:
    """How a child-run wait is named in guard errors and in the journal."""
    name = "batch_trigger_and_wait" if batch else "trigger_and_wait"
    return f"{name}({', '.join(repr(t) for t in task_ids)})"


def step_call(name: str) -> str:
    """How a step is named in the journal and in guard errors."""
    return f"step.run({name!r})"


def token_call(token_id: str) -> str:
    """How a token wait is named in guard errors and in the journal."""
    return f"wait.for_token({token_id!r})"


class Suspension(Frozen):
    """An attempt's execution ended to wait: the run workflow performs ``waits`` and
    then resumes the attempt. No waits: the worker handed the attempt back (it is
    shutting down) and the attempt resumes elsewhere at once."""

    waits: tuple[WaitSpec, ...] = ()
    ran_s: float = 0
    """Execution time this execution used (towards ``max_duration``)."""


class AttemptOutput(Frozen):
    """An attempt's execution ended: the task's output as plain JSON, or a suspension."""

    output: Any = None
    suspended: Suspension | None = None
    started: AttemptStarted | None = None
    """When (and on which version) the execution's code started: how the run learns it
    from workers that do not send the ``attempt_started`` signal (earlier workers
    answer None, and always signaled)."""


class JournalEntry(Frozen):
    """A durable call recorded at ``position``: a timer, child runs, a token, a step or
    a consumed input-stream value.

    A resumed (or retried) attempt reaching ``position`` gets ``value`` at once when the
    entry is ``done``; a different call there is refused by the resume guard.
    """

    position: int
    kind: Literal["timer", "runs", "step", "token", "input"]
    call: str
    """The call as recorded (``step.run('charge')``, ``trigger_and_wait('a')`` …)."""
    done: bool = False
    value: Any = None
    """A step's result, the child runs' results (list of ChildRunResult as JSON), a
    token's completion (TokenCompletion as JSON) or an input (InputResult as JSON)."""
    until: datetime | None = None


class StepRecord(Frozen):
    """From an attempt to its run workflow: the step at ``position`` returned ``value``."""

    position: int
    call: str
    value: Any = None


class AttemptState(Frozen):
    """What a resumed attempt reads from its run: the ``attempt_state`` query."""

    payload: Any = None
    metadata: dict[str, Any] | None = None
    journal: tuple[JournalEntry, ...] = ()
    input_cursors: dict[str, int] = {}
    """How many values of each input stream the run's code consumed already."""


class AttemptFailure(Frozen):
    """Why an attempt failed, as the worker that ran it saw it.

    The worker reports the task's retry policy with each failure: it is the one that
    knows the task's definition at the version it runs.
    """

    status: AttemptStatus = AttemptStatus.FAILED
    error: RunError
    retryable: bool = True
    retry: RetryOptions = RetryOptions()
    started: AttemptStarted | None = None
    """When the failed execution's code started (None: it never did, or an earlier
    worker, which signaled it)."""
    retry_at: datetime | None = None
    """``catch_error`` asked for the next attempt at this time (instead of the backoff)."""
    retry_delay_ms: int | None = None
    """``catch_error`` asked for the next attempt after this delay (instead of the backoff)."""

    def asked_delay_ms(self, now: datetime, backoff_ms: int) -> int:
        """The delay before the next attempt: what ``catch_error`` asked for, else the
        retry policy's ``backoff_ms``."""
        if self.retry_at is not None:
            return max(0, round((self.retry_at - now).total_seconds() * 1000))
        if self.retry_delay_ms is not None:
            return max(0, self.retry_delay_ms)
        return backoff_ms

    def ends_run(self, attempt_number: int, max_attempts: int | None) -> bool:
        """Whether this failure of attempt ``attempt_number`` is the run's last (the run
        workflow's rule; the worker uses it to report a failed run's error group).
        ``max_attempts`` is the trigger's override of the task's policy."""
        return not self.retryable or attempt_number >= (max_attempts or self.retry.max_attempts)


class AttemptRecord(BaseModel):
    """One execution of the task's code within a run."""

    id: str
    number: int
    status: AttemptStatus = AttemptStatus.EXECUTING
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: RunError | None = None
    suspended_s: float = 0
    """Time the attempt spent suspended at waits (not executing)."""
    continuations: int = 0
    """How many times the attempt resumed after a wait."""


class RunRecord(BaseModel):
    """The full, current state of a run: what the workflow answers when asked."""

    id: str
    task_id: str
    status: RunStatus = RunStatus.QUEUED
    payload: Any = None
    output: Any = None
    error: RunError | None = None
    options: RunOptions = RunOptions()
    attempts: list[AttemptRecord] = []
    metadata: dict[str, Any] | None = None
    version: str | None = None
    child_run_ids: list[str] = []
    waits: list[WaitSpec] = []
    """What the run is waiting for while WAITING (timers, child runs)."""
    log_count: int = 0
    """Log lines the run holds (they live in its history, see ``service/run_logs.py``)."""
    streams: list[str] = []  # the keys of its streams (chunks: ``engine/run_streams``)
    delayed_until: datetime | None = None
    expired_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @classmethod
    def from_input(cls, run: RunInput) -> RunRecord:
        """A freshly triggered run: DELAYED if it has a delay; else QUEUED when a deployed
        version serves its task (it is pinned to one), PENDING_VERSION when none does."""
        options = run.options
        return cls(
            id=run.run_id,
            status=RunStatus.DELAYED if options.delay_until else options.ready_status,
            task_id=run.task_id,
            payload=run.payload,
            options=run.options,
            metadata=run.options.metadata,
            delayed_until=run.options.delay_until,
            created_at=run.created_at,
            updated_at=run.created_at,
        )

    @property
    def duration_ms(self) -> int:
        """Time spent executing attempts, in milliseconds."""
        total = 0.0
        for attempt in self.attempts:
            if attempt.started_at and attempt.finished_at:
                ran = (attempt.finished_at - attempt.started_at).total_seconds()
                total += max(0.0, ran - attempt.suspended_s)
        return round(total * 1000)
