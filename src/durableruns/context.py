"""What a task's code knows about the run it is executing (``ctx.run.id``,
``ctx.attempt.number``, ``ctx.metadata`` …, mirroring Trigger.dev's ``ctx``), and the
runtime through which in-task helpers (trigger_and_wait, wait.for_) reach the engine.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from durableruns.errors import InvalidInputError, OutsideTaskError
from durableruns.input_models import InputResult
from durableruns.log_models import LogLine
from durableruns.metadata import RunMetadata
from durableruns.models import ChildRunResult, ChildRunSpec, RunOptions
from durableruns.stream_models import chunk_size
from durableruns.wait_tokens import (
    TokenCompleted,
    TokenCompletion,
    TokenFilter,
    TokenItem,
    TokenItemPage,
    WaitToken,
)


@dataclass(frozen=True)
class RunInfo:
    """The run being executed."""

    id: str
    created_at: datetime
    tags: tuple[str, ...] = ()
    is_test: bool = False
    idempotency_key: str | None = None
    is_replay: bool = False
    replayed_from: str | None = None
    parent_run_id: str | None = None
    root_run_id: str | None = None
    depth: int = 0


@dataclass(frozen=True)
class AttemptInfo:
    """The current attempt: ``number`` starts at 1 and grows with each retry."""

    id: str
    number: int
    started_at: datetime


@dataclass(frozen=True)
class TaskInfo:
    """The task whose code is running."""

    id: str


@dataclass(frozen=True)
class StepLookup:
    """Where a step stands in its run: its position and, once recorded, its result."""

    position: int
    recorded: bool = False
    value: Any = None


class TaskRuntime(Protocol):
    """How task code reaches its run (implemented by the engine's attempt runtime).

    Every durable call (waits, child runs, steps, in-task triggers) takes the next
    *position* of the attempt's execution; a resumed execution's calls at recorded
    positions are answered from the run's record.
    """

    async def trigger(self, task_id: str, payload: Any, options: RunOptions) -> tuple[str, bool]:
        """Trigger a run (not waited for); returns (run id, is_cached)."""
        ...

    async def wait_for_runs(
        self, items: list[ChildRunSpec], *, batch: bool
    ) -> list[ChildRunResult]:
        """Start child runs and wait for all of them (the run is WAITING meanwhile)."""
        ...

    async def wait_until(self, until: datetime) -> None:
        """A durable timer in the run (WAITING meanwhile)."""
        ...

    async def begin_step(self, name: str) -> StepLookup:
        """Take the next position for step ``name``; its result if already recorded."""
        ...

    async def end_step(self, position: int, name: str, value: Any) -> None:
        """Record step ``name``'s result (plain JSON) at ``position`` in the run."""
        ...

    async def create_token(
        self,
        timeout: str | float | datetime | None,
        idempotency_key: str | None,
        idempotency_key_ttl: str | float | None,
        tags: tuple[str, ...],
    ) -> WaitToken:
        """Create a wait token (the same one again when the code re-runs)."""
        ...

    async def wait_for_token(self, token_id: str) -> TokenCompletion:
        """Wait until the token is completed or times out (the run is WAITING meanwhile)."""
        ...

    async def complete_token(self, token_id: str, output: Any) -> TokenCompleted:
        """Complete a token (once: a later completion answers the first one)."""
        ...

    async def retrieve_token(self, token_id: str) -> TokenItem:
        """A token as it is now."""
        ...

    async def list_tokens(
        self, token_filter: TokenFilter, limit: int, after: str | None, before: str | None
    ) -> TokenItemPage:
        """One page of the environment's tokens, newest first."""
        ...

    def stream_chunks(self, key: str, chunks: Iterable[Any]) -> None:
        """Buffer the next chunks (JSON values) of stream ``key`` (see ``ctx.stream``)."""
        ...

    async def end_stream(self, key: str) -> None:
        """Mark the end of stream ``key``; returns once its chunks reached the run."""
        ...

    async def input_wait(self, stream_id: str, until: datetime | None) -> InputResult:
        """The input stream's next value, suspending the run until it comes (or ``until``)."""
        ...

    async def input_once(self, stream_id: str, timeout_s: float | None) -> InputResult:
        """The input stream's next value, waited for in the process."""
        ...

    async def input_next(self, stream_id: str) -> Any:
        """The next value for an ``on`` handler (recorded as delivered)."""
        ...

    async def input_peek(self, stream_id: str) -> Any:
        """The input stream's most recent value (None before any), consuming nothing."""
        ...

    async def send_input(self, run_id: str, stream_id: str, data: Any) -> None:
        """Send ``data`` to another (or this) run's input stream."""
        ...


@dataclass(frozen=True)
class TaskContext:
    """The second argument of a task function.

    Example::

        @task(id="report")
        async def report(payload: Report, ctx: TaskContext) -> None:
            ctx.metadata.set("status", "started")
            print(ctx.run.id, ctx.attempt.number)
    """

    task: TaskInfo
    run: RunInfo
    attempt: AttemptInfo
    version: str = ""
    metadata: RunMetadata = field(default_factory=lambda: RunMetadata(None), compare=False)
    runtime: TaskRuntime | None = field(default=None, compare=False, repr=False)
    log: Callable[[LogLine], None] | None = field(default=None, compare=False, repr=False)
    """Where the run's log lines go (``durableruns.logger``, ``logging``, ``print``)."""

    async def stream(self, key: str, chunks: AsyncIterable[Any] | Iterable[Any]) -> int:
        """Send ``chunks`` (JSON values, e.g. model tokens) as the run's stream ``key``,
        in order, as they come; returns the number of chunks once the iterable ended
        and the stream's end marker reached the run. See :mod:`durableruns.streams`."""
        runtime = self.runtime
        if runtime is None:
            _, runtime = require_runtime("ctx.stream")
        if not key or len(key) > MAX_STREAM_KEY_CHARS or "/" in key:
            raise InvalidInputError(
                "key", f"a stream key is 1-{MAX_STREAM_KEY_CHARS} characters, no '/'"
            )
        count = 0
        if isinstance(chunks, AsyncIterable):
            async for chunk in chunks:
                runtime.stream_chunks(key, (_json_chunk(chunk),))
                count += 1
        else:
            for chunk in chunks:
                if inspect.isawaitable(chunk):
                    chunk = await chunk
                runtime.stream_chunks(key, (_json_chunk(chunk),))
                count += 1
        await runtime.end_stream(key)
        return count


_current: ContextVar[TaskContext | None] = ContextVar("durableruns_task_context", default=None)


def current_context() -> TaskContext | None:
    """The context of the attempt running in this task, or None outside task code."""
    return _current.get()


def require_runtime(what: str) -> tuple[TaskContext, TaskRuntime]:
    """The running task's context and runtime, or OutsideTaskError naming ``what``."""
    ctx = _current.get()
    if ctx is None or ctx.runtime is None:
        raise OutsideTaskError(
            f"{what} can only be used from inside a task's code (a function decorated "
            "with @task, while it runs as a durableruns attempt)"
        )
    return ctx, ctx.runtime


def set_current_context(ctx: TaskContext | None) -> object:
    """Bind ``ctx`` for the running attempt; returns a token for :func:`reset_current_context`."""
    return _current.set(ctx)


def reset_current_context(token: object) -> None:
    """Undo :func:`set_current_context`."""
    _current.reset(token)  # type: ignore[arg-type]


MAX_STREAM_KEY_CHARS = 128


def _json_chunk(chunk: Any) -> Any:
    """The chunk, if it is a JSON value (a TypeError in the task's code otherwise)."""
    try:
        chunk_size(chunk)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"A stream chunk must be a JSON value, not {type(chunk).__name__}") from exc
    return chunk
