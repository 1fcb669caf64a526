"""A run's input streams, in its workflow: the values sent to it (``input_sent``
signals, kept in order per stream until consumed: :class:`InputBuffer`) and their
consumption, journaled by position like any wait.

A suspending ``wait`` names the value it consumes (its ``index``: the execution's
cursor); the workflow hands that value to the wait's position when it is there, or
records a timeout when ``until`` passes first — either way the first outcome at a
position stays, so a resumed execution gets it back and never a second value. Values
consumed in the process (``once``, ``on``) arrive as ``input_consumed`` signals; those
with a position are journaled the same way. Every consumption moves the stream's
cursor, which each new execution reads (``AttemptState.input_cursors``).

Nothing here runs unless the run's code or a sender uses input streams: a run that
never does gains no command, signal or query. The timer of a ``wait`` with a timeout
is the only command, behind the ``input-streams`` patch.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from durableruns.input_models import (
        InputBuffer,
        InputConsumed,
        InputQuery,
        InputResult,
        InputSent,
        InputValues,
        input_call,
    )
    from durableruns.models import JournalEntry

INPUT_STREAMS_PATCH = "input-streams"
"""Marks histories whose runs perform input-stream waits (issue 25)."""


class RunInputs:
    """The input streams of one run: buffer, consumption journal, cursors."""

    def __init__(self) -> None:
        self.buffer = InputBuffer()
        self._results: dict[int, InputResult] = {}
        """Consumptions with a position (waits and ``once``): position → outcome."""
        self._calls: dict[int, str] = {}
        self._pending: dict[int, tuple[str, int, datetime | None]] = {}
        """Waits being performed: position → (stream, index, until)."""

    # --- signals and the query ------------------------------------------------------
    def sent(self, sent: InputSent) -> None:
        """A value arrived (dropped past the bound: :mod:`durableruns.input_models`)."""
        self.buffer.add(sent)

    def consumed(self, consumed: InputConsumed) -> None:
        """The execution consumed a value in its process (or a ``once`` timed out)."""
        if consumed.result.index is not None:
            self.buffer.consume(consumed.stream_id, consumed.result.index)
        if consumed.position is not None and consumed.position not in self._results:
            self._results[consumed.position] = consumed.result
            self._calls[consumed.position] = consumed.call

    def values(self, query: InputQuery) -> InputValues:
        """What a listening execution polls."""
        return self.buffer.answer(query)

    # --- the wait --------------------------------------------------------------------
    async def wait(self, position: int, stream_id: str, index: int, until: datetime | None) -> None:
        """The ``wait`` at ``position``: until value ``index`` of the stream is there
        (it is consumed) or ``until`` passed (the first request fixes both)."""
        if position in self._results:
            return
        workflow.patched(INPUT_STREAMS_PATCH)
        stream_id, index, until = self._pending.setdefault(position, (stream_id, index, until))
        self._calls.setdefault(position, input_call(stream_id, "wait"))

        def arrived() -> bool:
            return self.buffer.has(stream_id, index)

        if until is None:
            await workflow.wait_condition(arrived)
        else:
            remaining = until - workflow.now()
            try:
                if remaining <= timedelta(0):
                    if not arrived():
                        raise TimeoutError
                else:
                    await workflow.wait_condition(arrived, timeout=remaining)
            except TimeoutError:
                self._results.setdefault(position, InputResult(ok=False, timed_out_at=until))
                self._pending.pop(position, None)
                return
        if position not in self._results:
            value = self.buffer.value(stream_id, index)
            self._results[position] = InputResult(ok=True, output=value, index=index)
            self.buffer.consume(stream_id, index)
        self._pending.pop(position, None)

    # --- what a new execution reads ----------------------------------------------------
    @property
    def has_records(self) -> bool:
        """Whether anything was consumed (a new execution must read the cursors)."""
        return bool(self._results or self.buffer.cursors())

    def cursors(self) -> dict[str, int]:
        """Each stream's cursor."""
        return self.buffer.cursors()

    def journal(self) -> list[JournalEntry]:
        """The consumptions by position, and the waits still pending."""
        entries = [
            JournalEntry(
                position=p,
                kind="input",
                call=self._calls.get(p, ""),
                done=True,
                value=result.model_dump(mode="json"),
            )
            for p, result in self._results.items()
        ]
        entries += [
            JournalEntry(position=p, kind="input", call=input_call(stream_id, "wait"), until=until)
            for p, (stream_id, _, until) in self._pending.items()
            if p not in self._results
        ]
        return entries
