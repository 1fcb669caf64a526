"""The durable records of input streams (data sent *into* a running run) and the run
workflow's buffer of them.

A value sent to stream ``approval`` of a run is an ``input_sent`` signal to the run's
workflow; the workflow numbers each stream's values 0, 1, 2 … in the order it received
them and keeps the ones no listener has consumed yet. Task code consumes them in order:
``wait()`` at a journal position (the workflow hands the value to that position, so a
resumed execution gets the same value back and never a second one), ``once()`` and
``on()`` in the process (the execution records each consumption with an
``input_consumed`` signal before the code sees the value). The run's *cursor* per
stream — how many values were consumed — is read by every new execution, so a value is
delivered exactly once across resumes, retries and worker deaths.

Bounds (checked by the facade, kept by the workflow): one value is at most
:data:`MAX_INPUT_BYTES` of JSON (1 MiB, Trigger.dev's limit: a bigger send is refused
with 413); a run keeps at most :data:`MAX_BUFFERED_VALUES` unconsumed values and
:data:`MAX_BUFFERED_BYTES` of them, and receives at most :data:`MAX_RECEIVED_VALUES`
values in its life (each is an event of its history). Past a bound a value is dropped
and counted (``dropped``), never failing the run.

Everything here is pure and deterministic: the run workflow imports it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from durableruns.errors import InvalidInputError

MAX_INPUT_BYTES = 1024 * 1024
"""One value's JSON, as Trigger.dev's limit per ``.send()`` (1 MiB)."""
MAX_BUFFERED_VALUES = 1_000
"""Values a run holds that no listener consumed yet (across its streams)."""
MAX_BUFFERED_BYTES = 8 * 1024 * 1024
"""JSON bytes of those values (8 MiB)."""
MAX_RECEIVED_VALUES = 10_000
"""Values a run receives in its life: each is a history event (Temporal warns from
10,240 events and stops a history at 51,200)."""
MAX_STREAM_ID_CHARS = 128
STREAM_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
"""What a stream id may be: letters, digits, ``_`` and ``-`` (it is a URL path segment)."""


def valid_stream_id(stream_id: str) -> bool:
    """Whether ``stream_id`` is 1-128 characters of ``[A-Za-z0-9_-]``."""
    return STREAM_ID.fullmatch(stream_id) is not None


def check_stream_id(stream_id: str) -> None:
    """InvalidInputError naming ``streamId`` unless it is 1-128 ``[A-Za-z0-9_-]``."""
    if not valid_stream_id(stream_id):
        raise InvalidInputError("streamId", "1-128 characters of letters, digits, '_' and '-' only")


def input_call(stream_id: str, method: str) -> str:
    """How a consumption is named in the journal and in guard errors."""
    return f"streams.input({stream_id!r}).{method}()"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class InputSent(_Frozen):
    """A value sent to a run's input stream (the ``input_sent`` signal)."""

    stream_id: str
    value: Any = None
    size: int = 0
    """Its compact JSON size in bytes (measured by the sender, for the bound)."""
    sent_at: datetime


class InputResult(_Frozen):
    """What a consumer got: a value (``ok``, its ``index`` in the stream) or, when the
    timeout came first, nothing (not ``ok``, ``timed_out_at``)."""

    ok: bool
    output: Any = None
    index: int | None = None
    timed_out_at: datetime | None = None


class InputConsumed(_Frozen):
    """From an execution to its run (the ``input_consumed`` signal): the code consumed
    value ``result.index`` of ``stream_id`` in its process (``once``, or ``on`` with no
    position), or a ``once`` at ``position`` timed out."""

    stream_id: str
    position: int | None = None
    call: str = ""
    result: InputResult


class InputQuery(_Frozen):
    """The ``input_values`` query: values of ``stream_id`` from index ``start`` on."""

    stream_id: str
    start: int = 0


class InputValues(_Frozen):
    """The answer: ``values[k]`` is value ``first + k``; ``last`` the stream's most
    recent value (``peek``), ``received`` how many it has had."""

    first: int = 0
    values: tuple[Any, ...] = ()
    last: Any = None
    received: int = 0


class StreamInputs(BaseModel):
    """One stream's state in the run: counters and the unconsumed values."""

    received: int = 0
    consumed: int = 0
    """The cursor: values below it were delivered (are not kept)."""
    values: list[Any] = []
    sizes: list[int] = []
    last: Any = None


class InputBuffer(BaseModel):
    """Every input stream of a run, as its workflow keeps them."""

    streams: dict[str, StreamInputs] = {}
    buffered: int = 0
    buffered_bytes: int = 0
    received: int = 0
    dropped: int = 0

    def add(self, sent: InputSent) -> bool:
        """Keep ``sent`` as the stream's next value; False (dropped) past a bound."""
        if (
            self.received >= MAX_RECEIVED_VALUES
            or self.buffered >= MAX_BUFFERED_VALUES
            or self.buffered_bytes + sent.size > MAX_BUFFERED_BYTES
        ):
            self.dropped += 1
            return False
        stream = self.streams.setdefault(sent.stream_id, StreamInputs())
        stream.values.append(sent.value)
        stream.sizes.append(sent.size)
        stream.received += 1
        stream.last = sent.value
        self.received += 1
        self.buffered += 1
        self.buffered_bytes += sent.size
        return True

    def has(self, stream_id: str, index: int) -> bool:
        """Whether value ``index`` of the stream has arrived."""
        stream = self.streams.get(stream_id)
        return stream is not None and stream.received > index

    def value(self, stream_id: str, index: int) -> Any:
        """Value ``index`` (it must have arrived and not be dropped as consumed)."""
        stream = self.streams[stream_id]
        return stream.values[index - (stream.received - len(stream.values))]

    def consume(self, stream_id: str, index: int) -> None:
        """Value ``index`` was delivered: the cursor moves past it; values below the
        cursor are no longer kept."""
        stream = self.streams.setdefault(stream_id, StreamInputs())
        stream.consumed = max(stream.consumed, index + 1)
        first = stream.received - len(stream.values)
        while stream.values and first < stream.consumed:
            stream.values.pop(0)
            self.buffered -= 1
            self.buffered_bytes -= stream.sizes.pop(0)
            first += 1

    def cursors(self) -> dict[str, int]:
        """Each stream's cursor (only streams with consumed values)."""
        return {key: s.consumed for key, s in self.streams.items() if s.consumed}

    def answer(self, query: InputQuery) -> InputValues:
        """The values of a stream from ``query.start`` (those still kept)."""
        stream = self.streams.get(query.stream_id)
        if stream is None:
            return InputValues()
        first = stream.received - len(stream.values)
        start = max(query.start, first)
        return InputValues(
            first=start,
            values=tuple(stream.values[start - first :]),
            last=stream.last,
            received=stream.received,
        )
