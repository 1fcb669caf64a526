"""The runtime task code uses to reach its own run, for one execution of an attempt:
the engine side of ``trigger_and_wait``, ``wait.for_``, ``step.run``, in-task
``trigger`` and ``ctx.metadata``.

Every durable call takes the next *position* of the execution. A call at a position the
run has recorded (the journal, read when the execution starts) is answered from the
record at once — a finished wait returns its result, a step its value — after the
resume guard checked it is the same call. A new wait *suspends* the execution: the
call never returns; the attempt activity stops the task's code and ends with the waits
it reached, which the run workflow performs while nothing runs (no slot, no process).
Timers shorter than ``short_wait_s`` stay in the process instead. Time spent in such a
wait does not count towards ``max_duration``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any, NoReturn

from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from durableruns.context import StepLookup
from durableruns.engine.workflows.run import RunWorkflow
from durableruns.errors import InvalidInputError, ResumeMismatchError
from durableruns.ids import derived_run_id, derived_token_id
from durableruns.input_models import InputResult, input_call
from durableruns.log_models import LogBatch, LogLine
from durableruns.logs import echo, echo_enabled
from durableruns.models import (
    ChildRunResult,
    ChildRunSpec,
    JournalEntry,
    RunOptions,
    StepRecord,
    WaitSpec,
    run_call,
    step_call,
    token_call,
)
from durableruns.service.input_streams import InputStreamService
from durableruns.service.runs import RunService
from durableruns.service.tokens import TokenService
from durableruns.stream_models import StreamTally
from durableruns.wait_tokens import (
    TokenCompleted,
    TokenCompletion,
    TokenFilter,
    TokenItem,
    TokenItemPage,
    WaitToken,
)
from durableruns.worker.input_listener import InputListener
from durableruns.worker.stream_buffer import FLUSH_AT_CHUNKS, StreamBuffer

LOG_FLUSH_S = 0.2
"""Log lines are batched this long before they are sent."""
MAX_LOG_LINES = 5_000
"""Log lines kept per run (across attempts); past it the rest are dropped, after one
line saying so. Logs never fail or stall a run."""
DEFAULT_SHORT_WAIT_S = 5.0
"""Timers shorter than this stay in the process (a suspension costs a resume)."""
SETTLE_S = 0.01
"""A suspension waits this long for sibling waits (``asyncio.gather`` of waits) to join."""
TIMER_CALL = WaitSpec(position=0, kind="timer").call


class AttemptRuntime:
    """The TaskRuntime of one execution of an attempt (see durableruns.context)."""

    def __init__(
        self,
        *,
        handle: WorkflowHandle[RunWorkflow, Any],
        service: RunService,
        version: str,
        attempt_number: int,
        journal: Iterable[JournalEntry] = (),
        short_wait_s: float = DEFAULT_SHORT_WAIT_S,
        logs_recorded: int = 0,
        tokens: TokenService | None = None,
        streams: StreamTally | None = None,
        input_cursors: dict[str, int] | None = None,
    ) -> None:
        self._handle = handle
        self._service = service
        self._tokens = tokens or TokenService(
            service.client, task_queue_prefix=service.task_queue_prefix, api_url=""
        )
        self._version = version
        self._attempt_number = attempt_number
        self._journal = {entry.position: entry for entry in journal}
        self._short_wait_s = short_wait_s
        self._next_position = 0
        self._last_recorded = max(self._journal, default=-1)
        self._waits: list[WaitSpec] = []
        self._preparing = 0
        self._quiet_since = 0.0
        self._suspended = asyncio.Event()
        self.suspending_waits: tuple[WaitSpec, ...] = ()
        """The waits the execution is being stopped at (its ``on_wait`` hooks see them)."""
        self._settling: asyncio.Task[None] | None = None
        self._pending_metadata: dict[str, Any] | None = None
        self._pending_logs: list[LogLine] = []
        self._logs_kept = logs_recorded
        self._echo = echo_enabled()
        self._flushing = asyncio.Lock()
        self._logs_flushed = asyncio.Event()
        """Set while log lines wait to be sent."""
        self._clock: asyncio.Timeout | None = None
        self._clock_left_s: float | None = None
        self._paused = 0
        self._streams = StreamBuffer(streams or StreamTally())
        self._stream_wake = asyncio.Event()
        self._stream_flusher: asyncio.Task[None] | None = None
        self._inputs = InputListener(handle, input_cursors or {})

    # --- the TaskRuntime -------------------------------------------------------------------
    async def trigger(self, task_id: str, payload: Any, options: RunOptions) -> tuple[str, bool]:
        """Trigger a run that records this one as its parent (not waited for).

        Its id is derived from (run, attempt, position), so the code re-running on a
        resume gets the same run back instead of a second one.
        """
        position = self._take_position()
        self._recorded(position, "trigger", f"trigger({task_id!r})")
        run_id = None
        if not options.idempotency_key_hash:
            run_id = derived_run_id(
                self._handle.id, "trigger", str(self._attempt_number), str(position)
            )
        result = await self._service.trigger(task_id, payload, options, run_id=run_id)
        return result.run_id, result.is_cached

    async def wait_for_runs(
        self, items: list[ChildRunSpec], *, batch: bool
    ) -> list[ChildRunResult]:
        """Child runs: their results if recorded, else suspend until they finish."""
        position = self._take_position()
        entry = self._recorded(position, "runs", run_call(batch, [i.task_id for i in items]))
        if entry is not None and entry.done:
            return [ChildRunResult.model_validate(value) for value in entry.value]
        self._preparing += 1
        try:
            # Children run on this attempt's version (when it serves them), with its queues.
            resolved = [await self._service.resolve_child(i, self._version) for i in items]
        finally:
            self._preparing -= 1
        await self._suspend(
            WaitSpec(position=position, kind="runs", items=tuple(resolved), batch=batch)
        )

    async def wait_until(self, until: datetime) -> None:
        """A durable timer: suspend until ``until``, or sleep here if it is short."""
        position = self._take_position()
        entry = self._recorded(position, "timer", TIMER_CALL)
        until = entry.until if entry is not None and entry.until else until
        remaining = (until - datetime.now(UTC)).total_seconds()
        if remaining <= 0:
            return
        if remaining >= self._short_wait_s:
            await self._suspend(WaitSpec(position=position, kind="timer", until=until))
        if entry is None:  # so a later resume of this attempt does not wait again
            await self._handle.signal(
                RunWorkflow.short_wait_recorded,
                WaitSpec(position=position, kind="timer", until=until),
            )
        async with self.clock_paused():
            await asyncio.sleep(remaining)

    # --- wait tokens -------------------------------------------------------------------
    async def create_token(
        self,
        timeout: str | float | datetime | None,
        idempotency_key: str | None,
        idempotency_key_ttl: str | float | None,
        tags: tuple[str, ...],
    ) -> WaitToken:
        """A token; without a key its id is derived from (run, position), so the code
        re-running on a resume gets the same token back, not a second one. Like the
        waits, it is the same across attempts: the journal's token wait at a later
        position names it."""
        position = self._take_position()
        self._recorded(position, "create_token", "wait.create_token()")
        token_id = None
        if not idempotency_key:
            token_id = derived_token_id(self._handle.id, "token", str(position))
        record, cached = await self._tokens.create(
            timeout=timeout,
            idempotency_key=idempotency_key,
            idempotency_key_ttl=idempotency_key_ttl,
            tags=tags,
            token_id=token_id,
        )
        return WaitToken(
            id=record.id, url=self._tokens.url(record), is_cached=cached and bool(idempotency_key)
        )

    async def wait_for_token(self, token_id: str) -> TokenCompletion:
        """The token's completion if recorded, else suspend until it ends (the run
        registers as its waiter; a completion before the wait answers at once)."""
        position = self._take_position()
        entry = self._recorded(position, "token", token_call(token_id))
        if entry is not None and entry.done:
            return TokenCompletion.model_validate(entry.value)
        await self._suspend(WaitSpec(position=position, kind="token", token_id=token_id))

    async def complete_token(self, token_id: str, output: Any) -> TokenCompleted:
        """Complete a token once (a later completion answers the first one)."""
        answer = await self._tokens.complete(token_id, output)
        return TokenCompleted(
            id=token_id, completed_now=answer.completed_now, output=answer.token.output
        )

    async def retrieve_token(self, token_id: str) -> TokenItem:
        """A token as it is now."""
        record = await self._tokens.require(token_id)
        return TokenItem.of(record, self._tokens.url(record))

    async def list_tokens(
        self, token_filter: TokenFilter, limit: int, after: str | None, before: str | None
    ) -> TokenItemPage:
        """One page of the environment's tokens, newest first."""
        page = await self._tokens.list(token_filter, limit=limit, after=after, before=before)
        return TokenItemPage(
            items=[TokenItem.of(r, self._tokens.url(r), with_output=False) for r in page.items],
            next=page.next,
            previous=page.previous,
        )

    async def begin_step(self, name: str) -> StepLookup:
        """The step's position, and its recorded result if it has one."""
        position = self._take_position()
        entry = self._recorded(position, "step", step_call(name))
        if entry is not None and entry.done:
            return StepLookup(position=position, recorded=True, value=entry.value)
        return StepLookup(position=position)

    async def end_step(self, position: int, name: str, value: Any) -> None:
        """Record the step's result in the run (durable once the signal is accepted)."""
        await self.flush()
        record = StepRecord(position=position, call=step_call(name), value=value)
        await self._handle.signal(RunWorkflow.step_recorded, record)

    async def add_tags(self, tags: list[str]) -> None:
        """Add tags to the run (the ``add_tags`` Update; adding is idempotent). Code
        re-running before its last recorded position added them already: no Update."""
        if self._next_position <= self._last_recorded:
            return
        try:
            await self._handle.execute_update(RunWorkflow.add_tags, tags)
        except WorkflowUpdateFailedError as exc:
            raise InvalidInputError("tags", str(exc.cause or exc)) from exc

    @property
    def last_recorded(self) -> int:
        """The last position the run's journal holds (-1: none): code re-running up to
        the call at that position replays what an earlier execution did."""
        return self._last_recorded

    def replaying(self) -> bool:
        """Whether the code has not yet passed its last recorded call: what it changes
        now (metadata, log lines, stream chunks) an earlier execution already did."""
        return self._next_position <= self._last_recorded

    def metadata_changed(self, metadata: dict[str, Any]) -> None:
        """Remember the latest metadata; it is sent by :meth:`flush`."""
        self._pending_metadata = metadata

    def log_line(self, line: LogLine) -> None:
        """Keep a log line of the task's code for the next flush (within the bound)."""
        self.log_lines((line,))

    def log_lines(self, lines: Iterable[LogLine]) -> None:
        """Keep log lines for the next flush; past :data:`MAX_LOG_LINES` drop them.

        Lines written while the code replays its recorded calls (before it makes the
        last recorded one) were kept by the execution that first ran that code: a
        resumed run's log holds each line once. A failed hook's line is new whenever
        it comes (``on_resume`` runs before the code replays anything).
        """
        if self._next_position <= self._last_recorded:
            lines = [line for line in lines if "hook" in line.attributes]
        for line in lines:
            if self._logs_kept > MAX_LOG_LINES:
                return
            self._logs_kept += 1
            if self._logs_kept > MAX_LOG_LINES:
                line = line.model_copy(
                    update={
                        "level": "WARN",
                        "message": f"Log truncated: this run keeps {MAX_LOG_LINES} lines; "
                        "later lines are dropped",
                        "attributes": {},
                    }
                )
            kept = line.model_copy(update={"attempt": self._attempt_number})
            self._pending_logs.append(kept)
            if self._echo:
                echo(self._handle.id, kept)
            self._logs_flushed.set()

    async def flush(self) -> None:
        """Send changed metadata and new log lines to the run (twice a second, before
        a step is recorded, and when the execution ends).

        A flush runs to its end even when its caller is canceled (an execution that
        ends cancels its flush loops): a signal canceled mid-call may have reached the
        run already, and sending its lines again would record them twice. The next
        flush waits for it (one at a time)."""
        flushing = asyncio.ensure_future(self._flush())
        flushing.add_done_callback(_retrieved)
        await asyncio.shield(flushing)

    async def _flush(self) -> None:
        async with self._flushing:
            metadata, self._pending_metadata = self._pending_metadata, None
            lines, self._pending_logs = self._pending_logs, []
            try:
                if metadata is not None:
                    await self._handle.signal(RunWorkflow.metadata_flushed, metadata)
                    metadata = None
                if lines:
                    await self._handle.signal(RunWorkflow.log_lines, LogBatch(lines=tuple(lines)))
                    lines = []
                for batch in self._streams.take():
                    await self._handle.signal(RunWorkflow.stream_chunks, batch)
            finally:  # a failed flush loses nothing: the next one sends it
                if metadata is not None and self._pending_metadata is None:
                    self._pending_metadata = metadata
                self._pending_logs[:0] = lines
                self._logs_flushed.clear()

    # --- streams (ctx.stream) ---------------------------------------------------------------
    def stream_chunks(self, key: str, chunks: Iterable[Any]) -> None:
        """Buffer chunks of stream ``key``; sent within ~100 ms (``engine/stream_buffer``).

        As with log lines, chunks streamed while the code replays its recorded calls
        were sent by the execution that first ran that code: they are dropped, and the
        stream's offsets continue after the ones the run holds.
        """
        if self._next_position <= self._last_recorded:
            return
        for chunk in chunks:
            self._streams.add(key, chunk)
        if self._streams.waiting >= FLUSH_AT_CHUNKS:
            self._stream_wake.set()
        if self._stream_flusher is None or self._stream_flusher.done():
            self._stream_flusher = asyncio.ensure_future(self._flush_streams())

    async def end_stream(self, key: str) -> None:
        """The end marker of stream ``key``; returns once it and every chunk before it
        reached the run."""
        if self._next_position <= self._last_recorded:
            return
        self._streams.end(key)
        await self.flush()

    async def _flush_streams(self) -> None:
        while self._streams.waiting:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stream_wake.wait(), self._streams.flush_every_s)
            self._stream_wake.clear()
            try:
                await self.flush()
            except Exception:  # the run closed meanwhile: the execution's end reports it
                return

    # --- input streams (streams.input) -------------------------------------------------
    async def input_wait(self, stream_id: str, until: datetime | None) -> InputResult:
        """The recorded value at this position; a value the run holds already (one
        query asks; consumed here, no suspension); else suspend until the run has the
        stream's next value (or ``until`` passed: the first request at a position fixes
        it)."""
        position = self._take_position()
        call = input_call(stream_id, "wait")
        entry = self._recorded(position, "input", call)
        if entry is not None and entry.done:
            return InputResult.model_validate(entry.value)
        taken = self._inputs.take_buffered(stream_id)
        if taken is None and entry is None and await self._inputs.try_fetch(stream_id):
            taken = self._inputs.take_buffered(stream_id)  # sent before: no suspension
        if taken is not None:
            result = InputResult(ok=True, output=taken[1], index=taken[0])
            await self._inputs.record(stream_id, position, call, result)
            return result
        until = entry.until if entry is not None and entry.until else until
        index = self._inputs.reserve(stream_id)
        await self._suspend(
            WaitSpec(position=position, kind="input", stream_id=stream_id, index=index, until=until)
        )

    async def input_once(self, stream_id: str, timeout_s: float | None) -> InputResult:
        """The recorded value at this position, else the stream's next value waited for
        here (the time does not count towards ``max_duration``), recorded at it."""
        position = self._take_position()
        call = input_call(stream_id, "once")
        entry = self._recorded(position, "input", call)
        if entry is not None and entry.done:
            return InputResult.model_validate(entry.value)
        async with self.clock_paused():
            return await self._inputs.next(stream_id, timeout_s, position, call)

    async def input_next(self, stream_id: str) -> Any:
        """The next value for an ``on`` handler (no position: recorded as consumed)."""
        result = await self._inputs.next(stream_id, None, None, input_call(stream_id, "on"))
        return result.output

    async def input_peek(self, stream_id: str) -> Any:
        """The stream's most recent value, consuming nothing."""
        return await self._inputs.peek(stream_id)

    async def send_input(self, run_id: str, stream_id: str, data: Any) -> None:
        """Send ``data`` to a run's input stream (this one's too)."""
        await InputStreamService(self._service.client).send(run_id, stream_id, data)

    def _take_position(self) -> int:
        position, self._next_position = self._next_position, self._next_position + 1
        return position

    async def flush_logs_forever(self) -> None:
        """Send new log lines within :data:`LOG_FLUSH_S` of their writing (readable live)."""
        while True:
            await self._logs_flushed.wait()
            await asyncio.sleep(LOG_FLUSH_S)
            await self.flush()

    # --- suspension ------------------------------------------------------------------------
    async def suspension(self) -> tuple[WaitSpec, ...]:
        """Returns once the code is blocked on new waits: the waits to suspend on."""
        await self._suspended.wait()
        self.suspending_waits = tuple(sorted(self._waits, key=lambda w: w.position))
        return self.suspending_waits

    async def _suspend(self, wait: WaitSpec) -> NoReturn:
        """Block this call for good: the execution ends here and resumes by re-running."""
        loop = asyncio.get_running_loop()
        self._waits.append(wait)
        self._quiet_since = loop.time()
        if self._settling is None:
            self._settling = asyncio.ensure_future(self._settle())
        async with self.clock_paused():
            await loop.create_future()  # canceled when the execution is stopped
        raise AssertionError("unreachable")  # pragma: no cover

    async def _settle(self) -> None:
        # Waits started together (asyncio.gather) join one suspension: wait until no
        # wait is being prepared and none arrived for SETTLE_S.
        loop = asyncio.get_running_loop()
        while self._preparing or loop.time() - self._quiet_since < SETTLE_S:
            await asyncio.sleep(SETTLE_S)
        self._suspended.set()

    def _recorded(self, position: int, kind: str, call: str) -> JournalEntry | None:
        """The journal's entry at ``position`` if it is this call; the guard otherwise."""
        entry = self._journal.get(position)
        if entry is None:
            return None
        if entry.kind != kind or entry.call != call:
            raise ResumeMismatchError(position, entry.call, call)
        return entry

    # --- the max-duration clock ---------------------------------------------------------------
    def run_clock(self, deadline: asyncio.Timeout) -> None:
        """The ``max_duration`` deadline of this execution, paused while the code waits."""
        self._clock = deadline

    @contextlib.asynccontextmanager
    async def clock_paused(self) -> AsyncIterator[None]:
        """Stop the ``max_duration`` clock while the code waits (time WAITING never
        counts); set it again, with the budget that was left, after the last wait."""
        loop = asyncio.get_running_loop()
        clock = self._clock
        if self._paused == 0 and clock is not None and not clock.expired():
            when = clock.when()
            if when is not None:
                self._clock_left_s = when - loop.time()
                clock.reschedule(None)
        self._paused += 1
        try:
            yield
        finally:
            self._paused -= 1
            if self._paused == 0 and clock is not None and self._clock_left_s is not None:
                # RuntimeError: the execution already ended (a canceled wait finishing late).
                with contextlib.suppress(RuntimeError):
                    clock.reschedule(loop.time() + self._clock_left_s)
                self._clock_left_s = None


def _retrieved(flushing: asyncio.Future[None]) -> None:
    """Mark the outcome of a flush whose caller was canceled as seen (it is the next
    flush's to retry; asyncio would otherwise log it as never retrieved)."""
    if not flushing.cancelled():
        flushing.exception()
