"""The run workflow's side of streams (``ctx.stream``): the ``stream_chunks`` signal.

The chunks themselves stay in the workflow's history (read back by
``service/run_streams.py``); the workflow only tallies them — offsets per key, totals —
so each execution of an attempt continues the offsets and the run's bound holds across
executions (``AttemptInput.streams``), and lists the keys in the run's record, where
the official client's ``withStreams`` learns of them (``realtimeStreams``).
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from durableruns.models import RunRecord
    from durableruns.stream_models import StreamBatch, StreamTally, chunk_size


class StreamSignals:
    """Mixed into the run workflow (which provides ``_record``)."""

    _streams: StreamTally = StreamTally()

    def _record(self) -> RunRecord:
        raise NotImplementedError

    @workflow.signal
    def stream_chunks(self, batch: StreamBatch) -> None:
        """Chunks of a stream of the running execution: tallied; a new key is listed."""
        size = sum(chunk_size(chunk) for chunk in batch.chunks)
        self._streams = self._streams.after(batch, size)
        run = self._record()
        if batch.key not in run.streams:
            run.streams.append(batch.key)
            run.updated_at = workflow.now()
