"""Reading a run's streams: the ``stream_chunks`` signals in its workflow's history.

Task code's chunks reach the run as batched signals (``worker/stream_buffer.py``), each
naming its key and the offset of its first chunk, so a stream is read back exactly —
in order, each chunk once — from offset 0 or any later one, while the run executes and
after it finished with no worker running. A stream is read up to its end marker (the
``ctx.stream`` call returned, or the run's bound cut it); following, also until the run
finishes (a stream whose attempt crashed, or that never started, ends there). A key
streamed again by a later ``ctx.stream`` call continues its offsets: a read from the
offset just after an end marker reads that next segment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client

from durableruns.service.history_signals import signals_in_history
from durableruns.stream_models import StreamBatch

STREAM_SIGNAL = "stream_chunks"


@dataclass(frozen=True)
class StreamChunk:
    """A chunk of a run's stream and its offset (0-based, per key)."""

    offset: int
    value: Any


class RunStreamReader:
    """Reads run streams from workflow histories (``client`` in the run's namespace)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def read(
        self, run_id: str, key: str, *, from_offset: int = 0, follow: bool = True
    ) -> AsyncIterator[StreamChunk]:
        """The chunks of ``key`` from ``from_offset`` to its end marker; with
        ``follow`` new ones live (a long poll on the history), until the run ends."""
        next_offset = from_offset
        async for batch in self._batches(run_id, key, follow=follow):
            for index, value in enumerate(batch.chunks):
                offset = batch.first + index
                if offset >= next_offset:
                    yield StreamChunk(offset=offset, value=value)
                    next_offset = offset + 1
            end = batch.first + len(batch.chunks)
            if batch.done and end >= next_offset and (end > from_offset or next_offset == 0):
                return  # the end marker of the segment this read is in

    async def tail(self, run_id: str, key: str) -> int:
        """The offset the next chunk of ``key`` will have (for a reader that starts at
        the latest chunk)."""
        end = 0
        async for batch in self._batches(run_id, key, follow=False):
            end = max(end, batch.first + len(batch.chunks))
        return end

    async def _batches(self, run_id: str, key: str, *, follow: bool) -> AsyncIterator[StreamBatch]:
        client = self._client
        signals = signals_in_history(client, run_id, STREAM_SIGNAL, StreamBatch, follow=follow)
        async for _, batch in signals:
            if batch.key == key:
                yield batch
