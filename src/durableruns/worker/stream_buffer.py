"""The worker side of ``ctx.stream``: chunks of an execution's streams, buffered and
sent to the run as ``stream_chunks`` signals (:class:`~durableruns.stream_models.StreamBatch`),
the same way log lines travel, only sooner: a stream is meant to feel live (model
tokens), so a buffered chunk is sent within :data:`FLUSH_EVERY_S` (or at once when
:data:`FLUSH_AT_CHUNKS` are waiting), where log lines wait for the next heartbeat.

The buffer starts from the run's tally (offsets per key, totals), so a continuation
numbers its chunks after the ones already kept, and the run's bound
(:mod:`durableruns.stream_models`) holds across executions. Past the bound every open
stream gets a final marker (``done`` and ``cut``) and later chunks are dropped: a
stream never fails or stalls its run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from durableruns.stream_models import (
    MAX_CHUNK_BYTES,
    MAX_STREAM_BATCHES,
    MAX_STREAM_BYTES,
    MAX_STREAM_CHUNKS,
    StreamBatch,
    StreamTally,
    chunk_size,
)

FLUSH_EVERY_S = 0.1
"""A buffered chunk is sent within this long while the run has sent few batches …"""
SLOW_FLUSH_EVERY_S = 0.5
"""… and within this long after :data:`FAST_BATCHES` (each batch is a history event)."""
FAST_BATCHES = 600
FLUSH_AT_CHUNKS = 64
"""This many buffered chunks are sent at once."""
BATCH_BYTES = 512 * 1024
"""A batch holds at most this many bytes of chunks (a signal is one history event)."""


@dataclass
class _Pending:
    first: int
    chunks: list[Any] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    done: bool = False
    cut: bool = False


class StreamBuffer:
    """The chunks of one execution's streams not yet sent, and what the run holds."""

    def __init__(self, tally: StreamTally) -> None:
        self._offsets = dict(tally.offsets)
        self._chunks = tally.chunks
        self._bytes = tally.bytes
        self._batches = tally.batches
        self._cut = tally.cut
        self._pending: dict[str, _Pending] = {}
        self._open: set[str] = set()
        self._marked: set[str] = set()
        """Keys that got a final marker in this execution."""

    @property
    def waiting(self) -> int:
        """Buffered chunks (and end markers) not yet sent."""
        return sum(len(p.chunks) + p.done for p in self._pending.values())

    @property
    def flush_every_s(self) -> float:
        """How soon buffered chunks are sent."""
        return FLUSH_EVERY_S if self._batches < FAST_BATCHES else SLOW_FLUSH_EVERY_S

    def add(self, key: str, chunk: Any) -> None:
        """Buffer the next chunk of ``key`` (dropped once the run's streams are cut)."""
        if self._cut:
            return
        size = chunk_size(chunk)
        if (
            size > MAX_CHUNK_BYTES
            or self._chunks + 1 > MAX_STREAM_CHUNKS
            or self._bytes + size > MAX_STREAM_BYTES
            or self._batches + len(self._pending) + len(self._open) + 2 >= MAX_STREAM_BATCHES
        ):
            self._open.add(key)
            self._cut_all()
            return
        pending = self._pending_of(key)
        pending.chunks.append(chunk)
        pending.sizes.append(size)
        self._offsets[key] = self._offsets.get(key, 0) + 1
        self._chunks += 1
        self._bytes += size
        self._open.add(key)

    def end(self, key: str) -> None:
        """The stream's end marker (``ctx.stream`` consumed its iterable)."""
        if self._cut and key in self._marked:
            return  # its final marker was queued when the streams were cut
        self._open.discard(key)
        self._marked.add(key)
        pending = self._pending_of(key)
        pending.done, pending.cut = True, self._cut

    def take(self) -> list[StreamBatch]:
        """The batches to send now (each within :data:`FLUSH_AT_CHUNKS` chunks and
        :data:`BATCH_BYTES`), oldest chunks first per key."""
        batches: list[StreamBatch] = []
        for key, pending in self._pending.items():
            first, start = pending.first, 0
            while True:
                end, size = start, 0
                while end < len(pending.chunks) and end - start < FLUSH_AT_CHUNKS:
                    if end > start and size + pending.sizes[end] > BATCH_BYTES:
                        break
                    size += pending.sizes[end]
                    end += 1
                last = end == len(pending.chunks)
                batches.append(
                    StreamBatch(
                        key=key,
                        first=first,
                        chunks=tuple(pending.chunks[start:end]),
                        done=last and pending.done,
                        cut=last and pending.cut,
                    )
                )
                first += end - start
                start = end
                if last:
                    break
        self._pending = {}
        self._batches += len(batches)
        return batches

    def _pending_of(self, key: str) -> _Pending:
        if key not in self._pending:
            self._pending[key] = _Pending(first=self._offsets.get(key, 0))
        return self._pending[key]

    def _cut_all(self) -> None:
        """The bound is reached: a final marker for every open stream, nothing after."""
        self._cut = True
        for key in sorted(self._open):
            pending = self._pending_of(key)
            pending.done = pending.cut = True
            self._marked.add(key)
        self._open.clear()
