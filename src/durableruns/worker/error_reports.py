"""Failed attempts' reports to their environment's error groups, sent by the worker
that ran them, batched.

Every failed attempt is counted in its group: a retried one as well as the one that
ends its run FAILED, CRASHED, TIMED_OUT or SYSTEM_FAILURE (the worker applies the run
workflow's own rule, ``AttemptFailure.ends_run``, to tell them apart; only a run's
final failure is a ``run.failed`` alert).

Why from the worker and not the run workflow: a signal from workflow code needs a
``workflow.patched`` marker for runs recorded before it (which upserts
``TemporalChangeVersion``: a marker and an upsert more per failed run), while the
worker already holds the failure and the client. A successful run costs nothing.

What a failing one costs, in Temporal actions: reports go out as one signal-with-start
of :data:`~durableruns.engine.workflows.monitor.OCCURRENCES_SIGNAL` carrying every
report pending on this worker (it also starts the monitor if none runs).

- A run's final failure is sent before its attempt's failure is returned (as before
  batches): at most one action, and fewer when failures coincide — while a send is
  under way the next ones wait and go out together in the next.
- A retried attempt's failure is not waited for: it rides along with the next report
  this worker sends, or goes out on its own after :data:`LINGER_S`. So at most one
  action, none when a final failure (or another batch) follows within the linger, and
  a storm of them costs one action per :data:`LINGER_S` (or per :data:`MAX_BATCH`).
  The price: a worker killed hard within the linger loses those counts (a worker
  that stops drains them: :meth:`ErrorReporter.close`); runs' outcomes never depend
  on them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from temporalio.client import Client
from temporalio.service import RPCError

from durableruns.engine.workflows.monitor import OCCURRENCES_SIGNAL
from durableruns.error_group_models import (
    GROUPED_STATUSES,
    ErrorOccurrence,
    OccurrenceBatch,
    occurrence_of,
)
from durableruns.models import AttemptFailure, AttemptInput
from durableruns.service.monitor_state import start_monitor
from durableruns.status import RUN_STATUS_AFTER_ATTEMPT

log = logging.getLogger("durableruns.worker")

LINGER_S = 2.0
"""How long a retried attempt's report waits for company before it is sent alone."""
MAX_BATCH = 100
"""Reports per signal at most (~1 KB each: far under Temporal's 2 MB payload limit)."""


def failed_attempt(
    input: AttemptInput, failure: AttemptFailure, *, version: str, at: datetime | None = None
) -> ErrorOccurrence | None:
    """The report of this failed attempt, or None when its error is not grouped (a
    canceled attempt, an expired run: no error of the code's own)."""
    if RUN_STATUS_AFTER_ATTEMPT[failure.status] not in GROUPED_STATUSES:
        return None
    options = input.options
    return occurrence_of(
        input.run_id,
        input.task_id,
        failure.error,
        version=version,
        at=at or datetime.now(UTC),
        tags=options.tags,
        queue=options.queue or f"task/{input.task_id}",
        retried=not failure.ends_run(input.attempt_number, options.max_attempts),
        attempt=input.attempt_number,
    )


class ErrorReporter:
    """One worker's reports to its environment's monitor workflow (see the module)."""

    def __init__(
        self,
        client: Client,
        *,
        task_queue_prefix: str,
        version: str,
        linger_s: float = LINGER_S,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._client = client
        self._prefix = task_queue_prefix
        self._version = version
        self._linger_s = linger_s
        self._max_batch = max_batch
        self._pending: list[ErrorOccurrence] = []
        self._sending = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None
        self.signals_sent = 0
        """Signals sent so far (what the reports cost, for tests and benchmarks)."""

    async def report(self, input: AttemptInput, failure: AttemptFailure) -> None:
        """Count this failed attempt in its group: a run's final failure is sent
        before this returns, a retried attempt's at the latest after the linger."""
        occurrence = failed_attempt(input, failure, version=self._version)
        if occurrence is None:
            return
        self._pending.append(occurrence)
        if occurrence.retried and len(self._pending) < self._max_batch:
            if self._timer is None or self._timer.done():
                self._timer = asyncio.create_task(self._flush_later())
            return
        await self.flush()

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._linger_s)
        await self.flush()

    async def flush(self) -> None:
        """Send what is pending. One send at a time: reports that arrive while one is
        under way wait for it, then go out together (the first to get the lock takes
        them all; the others find nothing left to send). Shielded: a caller cancelled
        meanwhile (its attempt was) does not lose the batch it took."""
        await asyncio.shield(self._flush())

    async def _flush(self) -> None:
        async with self._sending:
            batch, self._pending = self._pending, []
            for start in range(0, len(batch), self._max_batch):
                await self._send(tuple(batch[start : start + self._max_batch]))

    async def close(self) -> None:
        """Send what is still pending (the worker stops); then the linger timer has
        nothing left to send."""
        await self.flush()
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer

    async def _send(self, occurrences: tuple[ErrorOccurrence, ...]) -> None:
        try:
            await start_monitor(
                self._client,
                self._prefix,
                OCCURRENCES_SIGNAL,
                OccurrenceBatch(occurrences=occurrences),
            )
        except RPCError as exc:  # runs' own outcomes must not depend on their grouping
            runs = ", ".join(sorted({o.run_id for o in occurrences})[:5])
            log.warning(
                "%d failed attempt(s) not counted in their error groups (%s): %s",
                len(occurrences),
                runs,
                exc,
            )
            return
        self.signals_sent += 1
