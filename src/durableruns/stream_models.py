"""The durable records of streams from task code (``ctx.stream``): the batches an
execution sends its run (``stream_chunks`` signals, kept in the run's history and read
back from there by ``service/run_streams.py``), and the run's tally of them.

A stream is named by its *key* (``"llm"``); its chunks are JSON values at offsets
0, 1, 2 … per key, durable across the attempt's continuations.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict

MAX_STREAM_CHUNKS = 10_000
"""Chunks a run keeps across all its streams; past it a stream is cut (final marker)."""
MAX_STREAM_BYTES = 4 * 1024 * 1024
"""JSON bytes a run keeps across all its streams (4 MiB); past it, cut likewise."""
MAX_CHUNK_BYTES = 256 * 1024
"""A single chunk larger than this (its JSON) cuts its stream."""
MAX_STREAM_BATCHES = 2_000
"""``stream_chunks`` signals a run sends (each is a history event): past it, cut."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class StreamBatch(_Frozen):
    """Chunks of one stream an execution sends its run (a ``stream_chunks`` signal)."""

    key: str
    first: int
    """The offset of ``chunks[0]`` (or, with no chunks, of the next chunk)."""
    chunks: tuple[Any, ...] = ()
    done: bool = False
    """The stream's end marker: ``ctx.stream`` returned (or the stream was cut)."""
    cut: bool = False
    """The run's bound was reached: later chunks of the run's streams are dropped."""


class StreamTally(_Frozen):
    """What a run's streams hold so far (counted by the run workflow from the signals),
    handed to each execution so offsets continue and the bound holds across them."""

    offsets: dict[str, int] = {}
    """The next offset of each key."""
    chunks: int = 0
    bytes: int = 0
    batches: int = 0
    cut: bool = False

    def after(self, batch: StreamBatch, size: int) -> StreamTally:
        """The tally once ``batch`` (of ``size`` JSON bytes) is kept."""
        end = batch.first + len(batch.chunks)
        offsets = {**self.offsets, batch.key: max(self.offsets.get(batch.key, 0), end)}
        return StreamTally(
            offsets=offsets,
            chunks=self.chunks + len(batch.chunks),
            bytes=self.bytes + size,
            batches=self.batches + 1,
            cut=self.cut or batch.cut,
        )


def chunk_size(chunk: Any) -> int:
    """A chunk's size as the bound counts it: its compact JSON, in bytes (raises
    TypeError for a value that is not JSON)."""
    return len(json.dumps(chunk, separators=(",", ":"), ensure_ascii=False).encode())
