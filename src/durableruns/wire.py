"""Trigger.dev's management-API shapes, the single source of truth shared by the
facade (which serializes them) and the Python SDK (which parses them).

Attributes are snake_case in Python and camelCase on the wire. Optional fields are
omitted, never ``null`` (the official client rejects nulls); dates are ISO-8601 in UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from durableruns import status as st
from durableruns.debounce import DebounceOption
from durableruns.durations import MAX_DURATION_S, format_duration
from durableruns.ids import derived_run_id
from durableruns.limit_models import LIMIT_NAME_PATTERN
from durableruns.models import RunRecord
from durableruns.status import AttemptStatus, RunStatus

P = TypeVar("P")
O = TypeVar("O")  # noqa: E741 - P(ayload), O(utput), as in Trigger.dev

MAX_TAGS = 10
MAX_TAG_LENGTH = 128


def tags_within_limits(tags: list[str] | None, owner: str) -> list[str] | None:
    """Trigger.dev's tag rules (runs and wait tokens alike): at most 10, 1-128 characters."""
    if tags is None:
        return None
    if len(tags) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags per {owner}, got {len(tags)}")
    for tag in tags:
        if not 1 <= len(tag) <= MAX_TAG_LENGTH:
            raise ValueError(f"each tag must be 1-{MAX_TAG_LENGTH} characters")
    return tags


class WireModel(BaseModel):
    """camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    def to_wire(self) -> dict[str, Any]:
        """The JSON body: aliases, no nulls."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class IdempotencyKeyOptions(WireModel):
    """The user's key (before hashing) and its scope, as the official client sends them."""

    key: str
    scope: Literal["run", "attempt", "global"] = "run"


class QueueOption(WireModel):
    """``{"name": …}``: run on this queue instead of the task's own."""

    name: str = Field(min_length=1, max_length=128)


class TriggerOptions(WireModel):
    """``options`` of a trigger request. Unknown options are accepted and ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    payload_type: str | None = None
    tags: list[str] | None = None
    metadata: dict[str, Any] | None = None
    max_attempts: int | None = Field(default=None, ge=1, le=100)
    max_duration: float | None = Field(default=None, gt=0, le=MAX_DURATION_S, allow_inf_nan=False)
    test: bool | None = None
    delay: str | datetime | None = None
    """A duration (``"30s"``, ``"1h30m"``) or an ISO date."""
    ttl: str | int | float | None = None
    """A duration or seconds; 0 disables the environment's default TTL."""
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=2048)
    idempotency_key_ttl: str | None = Field(
        default=None, alias="idempotencyKeyTTL", pattern=r"^\d+[smhd]$"
    )
    idempotency_key_options: IdempotencyKeyOptions | None = None
    queue: QueueOption | None = None
    concurrency_key: str | None = Field(default=None, max_length=1024)
    priority: float | None = Field(default=None, ge=0, le=MAX_DURATION_S, allow_inf_nan=False)
    concurrency: list[Annotated[str, Field(pattern=LIMIT_NAME_PATTERN.pattern)]] | None = Field(
        default=None, max_length=2
    )
    """Named concurrency limits replacing the task's declared ones for this run."""
    lock_to_version: str | None = Field(default=None, max_length=128)
    debounce: DebounceOption | None = None

    @field_validator("tags", mode="before")
    @classmethod
    def _one_tag_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("tags")
    @classmethod
    def _tags_within_limits(cls, tags: list[str] | None) -> list[str] | None:
        return tags_within_limits(tags, "run")


class TriggerTaskRequest(WireModel):
    """Body of ``POST /api/v1/tasks/{taskId}/trigger``."""

    payload: Any = None
    options: TriggerOptions = TriggerOptions()


class ReplayRunRequest(TriggerOptions):
    """Body of ``POST /api/v1/runs/{id}/replay``: overrides of the source run."""

    payload: Any = None


class RescheduleRunRequest(WireModel):
    """Body of ``POST /api/v1/runs/{id}/reschedule``."""

    delay: str | datetime


class MetadataBody(WireModel):
    """Body and answer of ``/api/v1/runs/{id}/metadata``."""

    metadata: dict[str, Any]


class TriggerTaskResponse(WireModel):
    """``{id, isCached}``."""

    id: str
    is_cached: bool = False


class RunErrorBody(WireModel):
    """An error as Trigger.dev reports it."""

    message: str
    name: str | None = None
    stack_trace: str | None = None


class Attempt(WireModel):
    """One attempt (a durableruns extension to the retrieve response)."""

    id: str
    number: int
    status: AttemptStatus
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    error: RunErrorBody | None = None
    suspended_s: float = 0
    """Seconds the attempt spent suspended at waits (not executing)."""
    continuations: int = 0
    """How many times the attempt resumed after a wait."""


class RelatedRuns(WireModel):
    """Parent, root and children of a run (always an object on the wire)."""

    root: dict[str, Any] | None = None
    parent: dict[str, Any] | None = None
    children: list[dict[str, Any]] | None = None


class Wait(WireModel):
    """durableruns extension: one wait a WAITING run is suspended at."""

    kind: Literal["timer", "runs", "token", "input"]
    position: int
    until: datetime | None = None
    """A timer's end (an input wait's timeout)."""
    run_ids: list[str] = []
    """The child runs waited for."""
    token_id: str | None = None
    """The wait token waited for."""
    stream_id: str | None = None
    """The input stream whose next value is waited for."""


WaitingCode = Literal[
    "DELAYED",
    "PENDING_VERSION",
    "NO_WORKER",
    "NO_WORKER_FOR_VERSION",
    "QUEUE_AT_LIMIT",
    "CONCURRENCY_LIMIT",
    "PAUSED",
    "TIMER",
    "CHILD_RUNS",
    "INPUT_STREAM",
    "TOKEN",
    "DISPATCHED",
]


class WaitingReason(WireModel):
    """durableruns extension: why a run that is not executing is waiting (retrieve's
    ``waitingReason``), in words (``message``) and as data."""

    code: WaitingCode
    message: str
    until: datetime | None = None
    """DELAYED, TIMER: when it ends; TOKEN: when the token times out."""
    task_queue: str | None = None
    """NO_WORKER, NO_WORKER_FOR_VERSION, DISPATCHED: the Temporal task queue it waits on."""
    pollers: int | None = None
    """Workers polling that task queue now."""
    version: str | None = None
    serving_versions: list[str] | None = None
    """NO_WORKER_FOR_VERSION: versions of the task that have a live worker."""
    queue: str | None = None
    concurrency_limit: str | None = None
    """CONCURRENCY_LIMIT, PAUSED: the limit it waits for (``task/<id>``, a name)."""
    concurrency_key: str | None = None
    running: int | None = None
    limit: int | None = None
    position: int | None = None
    """QUEUE_AT_LIMIT: ``running``/``limit`` slots held, this run ``position``-th in line."""
    child_runs: int | None = None
    child_runs_done: int | None = None
    input_stream: str | None = None
    """INPUT_STREAM: the input stream whose next value the run waits for."""
    token_id: str | None = None
    """TOKEN: the wait token the run waits for (``until``: when it times out)."""


class ScheduleGenerator(WireModel):
    """How a schedule's ticks are generated: a cron, and that cron in words."""

    type: Literal["CRON"] = "CRON"
    expression: str
    description: str


class RunSchedule(WireModel):
    """The schedule whose tick made a run (``schedule`` on retrieve)."""

    id: str
    external_id: str | None = None
    deduplication_key: str | None = None
    generator: ScheduleGenerator


class Run(WireModel, Generic[P, O]):
    """A run as ``GET /api/v3/runs/{id}`` returns it (``RetrieveRunResponse``).

    ``payload`` and ``output`` are typed by the task's models when the SDK knows them.
    """

    id: str
    status: RunStatus
    task_identifier: str
    version: str | None = None
    idempotency_key: str | None = None
    is_queued: bool
    is_executing: bool
    is_waiting: bool
    is_completed: bool
    is_success: bool
    is_failed: bool
    is_cancelled: bool
    is_test: bool = False
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    delayed_until: datetime | None = None
    expired_at: datetime | None = None
    ttl: str | None = None
    tags: list[str] = []
    cost_in_cents: float = 0
    base_cost_in_cents: float = 0
    duration_ms: int = 0
    metadata: dict[str, Any] | None = None
    depth: int = 0
    trigger_function: Literal[
        "trigger", "triggerAndWait", "batchTrigger", "batchTriggerAndWait"
    ] = "trigger"
    batch_id: str | None = None
    payload: P | None = None
    output: O | None = None
    error: RunErrorBody | None = None
    related_runs: RelatedRuns = RelatedRuns()
    attempt_count: int = 0
    attempts: list[Attempt] = []
    replayed_from: str | None = None
    """durableruns extension: the run this one replays."""
    waits: list[Wait] = []
    """durableruns extension: what a WAITING run waits for (timers, child runs)."""
    schedule: RunSchedule | None = None
    """The schedule that made the run (filled in by the facade)."""
    waiting_reason: WaitingReason | None = None
    """durableruns extension: why the run is not executing (filled in by the facade)."""
    trace_id: str | None = None
    """durableruns extension: the run's OpenTelemetry trace id, when tracing is on."""

    @property
    def is_canceled(self) -> bool:
        """US spelling of ``is_cancelled``."""
        return self.is_cancelled

    @classmethod
    def from_record(cls, run: RunRecord) -> Run[Any, Any]:
        """The wire shape of a run's record."""
        status = run.status
        return Run[Any, Any](
            id=run.id,
            status=status,
            task_identifier=run.task_id,
            version=run.version,
            **status_flags(status),
            is_test=run.options.is_test,
            created_at=run.created_at,
            updated_at=run.updated_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            tags=sorted(run.options.tags),
            duration_ms=run.duration_ms,
            metadata=run.metadata,
            idempotency_key=run.options.idempotency_key,
            delayed_until=run.delayed_until,
            expired_at=run.expired_at,
            ttl=format_duration(run.options.ttl_s) if run.options.ttl_s else None,
            depth=run.options.depth,
            trigger_function=run.options.trigger_function,
            batch_id=run.options.batch_id,
            replayed_from=run.options.replayed_from,
            trace_id=run.options.trace_id,
            payload=run.payload,
            output=run.output if status is RunStatus.COMPLETED else None,
            error=_error(run.error),
            attempt_count=len(run.attempts),
            attempts=[
                Attempt(
                    id=a.id,
                    number=a.number,
                    status=a.status,
                    created_at=a.created_at,
                    started_at=a.started_at,
                    completed_at=a.finished_at,
                    error=_error(a.error),
                    suspended_s=a.suspended_s,
                    continuations=a.continuations,
                )
                for a in run.attempts
            ],
            waits=[
                Wait(
                    kind=w.kind,
                    position=w.position,
                    until=w.until,
                    token_id=w.token_id,
                    stream_id=w.stream_id,
                    run_ids=[
                        derived_run_id(run.id, "child", str(w.position), str(i))
                        for i in range(len(w.items))
                    ],
                )
                for w in run.waits
            ],
        )


def status_flags(status: RunStatus) -> dict[str, bool]:
    """The seven boolean helpers every run object carries, from the status table."""
    return {
        "is_queued": st.is_queued(status),
        "is_executing": st.is_executing(status),
        "is_waiting": st.is_waiting(status),
        "is_completed": st.is_completed(status),
        "is_success": st.is_success(status),
        "is_failed": st.is_failed(status),
        "is_cancelled": st.is_canceled(status),
    }


RETRIEVE_ONLY_FIELDS = frozenset(
    {
        "payload",
        "output",
        "error",
        "relatedRuns",
        "attemptCount",
        "attempts",
        "replayedFrom",
        "waits",
        "schedule",
        "waitingReason",
    }
)


def run_summary(run: RunRecord) -> dict[str, Any]:
    """The fields Trigger.dev's run objects share (related runs, list items)."""
    wire = Run.from_record(run).to_wire()
    return {k: v for k, v in wire.items() if k not in RETRIEVE_ONLY_FIELDS}


def _error(error: Any) -> RunErrorBody | None:
    if error is None:
        return None
    return RunErrorBody(
        message=error.message, name=error.name, stack_trace=error.stack_trace or None
    )


class ErrorBody(BaseModel):
    """Every error response: ``{"error": "<field>: <reason>"}``."""

    error: str
