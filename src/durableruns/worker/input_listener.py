"""An execution's side of input streams: the values its code consumes in its process
(``once``, ``on``, and ``wait`` when the value is here already), each recorded in the run
(``input_consumed``) before the code sees it.

The execution knows each stream's *cursor* — the next value to hand out — from the run
(``AttemptState.input_cursors``) when it starts, and moves it on as it hands values
out or reserves one for a suspending ``wait``. While code listens, values are fetched
with the run's ``input_values`` query every :data:`POLL_S`; only then: a run whose code
never listens makes no query.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict, deque
from datetime import UTC, datetime
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from durableruns.engine.workflows.run import RunWorkflow
from durableruns.input_models import InputConsumed, InputQuery, InputResult, InputValues

POLL_S = 0.2
"""How often a listening execution asks its run for new values."""
log = logging.getLogger("durableruns.worker")


class InputListener:
    """The input streams of one execution of an attempt."""

    def __init__(self, handle: WorkflowHandle[RunWorkflow, Any], cursors: dict[str, int]) -> None:
        self._handle = handle
        self._cursor: dict[str, int] = defaultdict(int, cursors)
        """The next index to hand out, per stream."""
        self._fetched: dict[str, int] = defaultdict(int, cursors)
        """The next index to fetch, per stream (values between are in ``_buffer``)."""
        self._buffer: dict[str, deque[tuple[int, Any]]] = defaultdict(deque)
        self._last: dict[str, Any] = {}
        self._turns: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        """Concurrent listeners on one stream take turns."""

    def take_buffered(self, stream_id: str) -> tuple[int, Any] | None:
        """A value this execution fetched already and nobody took, if any."""
        buffered = self._buffer[stream_id]
        if not buffered or self._turns[stream_id].locked():
            return None
        index, value = buffered.popleft()
        self._cursor[stream_id] = index + 1
        return index, value

    def reserve(self, stream_id: str) -> int:
        """The index a suspending ``wait`` consumes: the cursor, which moves on."""
        index = self._cursor[stream_id]
        self._cursor[stream_id] = index + 1
        self._fetched[stream_id] = max(self._fetched[stream_id], index + 1)
        return index

    async def next(
        self, stream_id: str, timeout_s: float | None, position: int | None, call: str
    ) -> InputResult:
        """The stream's next value (or a timeout), recorded in the run as consumed."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout_s is None else loop.time() + timeout_s
        turn = self._turns[stream_id]
        try:
            await asyncio.wait_for(turn.acquire(), timeout_s)
        except TimeoutError:
            return await self._timed_out(stream_id, position, call)
        try:
            while not self._buffer[stream_id]:
                if deadline is not None and loop.time() >= deadline:
                    return await self._timed_out(stream_id, position, call)
                if not await self.try_fetch(stream_id):
                    left = POLL_S if deadline is None else min(POLL_S, deadline - loop.time())
                    await asyncio.sleep(max(0.0, left))
            index, value = self._buffer[stream_id].popleft()
            self._cursor[stream_id] = index + 1
            result = InputResult(ok=True, output=value, index=index)
            await self.record(stream_id, position, call, result)
            return result
        finally:
            turn.release()

    async def _timed_out(self, stream_id: str, position: int | None, call: str) -> InputResult:
        result = InputResult(ok=False, timed_out_at=datetime.now(UTC))
        await self.record(stream_id, position, call, result)
        return result

    async def record(
        self, stream_id: str, position: int | None, call: str, result: InputResult
    ) -> None:
        """Tell the run a value was consumed here (or a ``once`` timed out)."""
        consumed = InputConsumed(stream_id=stream_id, position=position, call=call, result=result)
        await self._handle.signal(RunWorkflow.input_consumed, consumed)

    async def fetch(self, stream_id: str) -> bool:
        """Ask the run for the stream's values past those fetched; True if any came."""
        start = self._fetched[stream_id]
        query = InputQuery(stream_id=stream_id, start=start)
        answer: InputValues = await self._handle.query(RunWorkflow.input_values, query)
        self._last[stream_id] = answer.last
        fresh = [
            (answer.first + k, value)
            for k, value in enumerate(answer.values)
            if answer.first + k >= start
        ]
        self._buffer[stream_id].extend(fresh)
        if fresh:
            self._fetched[stream_id] = fresh[-1][0] + 1
        return bool(fresh)

    async def try_fetch(self, stream_id: str) -> bool:
        """:meth:`fetch`, but a query the server could not answer in time (a loaded
        server, the run's worker busy) counts as no new value: the caller polls again or
        suspends, rather than failing the attempt."""
        try:
            return await self.fetch(stream_id)
        except RPCError as exc:
            log.info("input stream %r: a poll of the run failed (%s)", stream_id, exc.message)
            return False

    async def peek(self, stream_id: str) -> Any:
        """The stream's most recent value, as the run has it now (as last seen, when the
        run cannot be asked)."""
        await self.try_fetch(stream_id)
        return self._last.get(stream_id)
