"""The runtime task code uses to reach its own run: the engine side of
``trigger_and_wait``, ``wait.for_``, in-task ``trigger`` and ``ctx.metadata``.

Waits are Updates on the run workflow, awaited while the attempt keeps heartbeating;
each call carries its position within the attempt so a retried attempt resumes the same
children and timers. The time spent waiting is handed back to the attempt's
``max_duration`` budget.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from temporalio.client import Client

from durableruns.engine.run_workflow import RunWorkflow
from durableruns.engine.service import RunService
from durableruns.models import (
    ChildRunResult,
    ChildRunSpec,
    ChildRunsRequest,
    RunOptions,
    WaitRequest,
)


class AttemptRuntime:
    """The TaskRuntime of one attempt (see durableruns.context.TaskRuntime)."""

    def __init__(self, client: Client, run_id: str, service: RunService, version: str) -> None:
        self._handle = client.get_workflow_handle(run_id)
        self._service = service
        self._version = version
        self._next_position = 0
        self.waited_s = 0.0
        self.on_waited: Callable[[float], None] = lambda seconds: None
        self._pending_metadata: dict[str, Any] | None = None
        self._flushing = asyncio.Lock()

    async def trigger(self, task_id: str, payload: Any, options: RunOptions) -> tuple[str, bool]:
        """Trigger a run that records this one as its parent (not waited for)."""
        result = await self._service.trigger(task_id, payload, options)
        return result.run_id, result.is_cached

    async def wait_for_runs(
        self, items: list[ChildRunSpec], *, batch: bool
    ) -> list[ChildRunResult]:
        """Child runs via the run workflow's ``wait_for_runs`` Update."""
        # Children run on this attempt's version (when it serves them), with its queues.
        resolved = [await self._service.resolve_child(item, self._version) for item in items]
        request = ChildRunsRequest(position=self._position(), items=tuple(resolved), batch=batch)
        await self.flush_metadata()
        async with self._waiting():
            results: list[ChildRunResult] = await self._handle.execute_update(
                "wait_for_runs", request, result_type=list[ChildRunResult]
            )
            return results

    async def wait_until(self, until: datetime) -> None:
        """A durable timer via the run workflow's ``wait_until`` Update."""
        request = WaitRequest(position=self._position(), until=until)
        await self.flush_metadata()
        async with self._waiting():
            await self._handle.execute_update("wait_until", request)

    def metadata_changed(self, metadata: dict[str, Any]) -> None:
        """Remember the latest metadata; it is sent by :meth:`flush_metadata`."""
        self._pending_metadata = metadata

    async def flush_metadata(self) -> None:
        """Send changed metadata to the run (periodically, before waits and at the end)."""
        async with self._flushing:
            metadata, self._pending_metadata = self._pending_metadata, None
            if metadata is not None:
                await self._handle.signal(RunWorkflow.metadata_flushed, metadata)

    def _position(self) -> int:
        position, self._next_position = self._next_position, self._next_position + 1
        return position

    def _waiting(self) -> _Waited:
        return _Waited(self)


class _Waited:
    """Measures a wait and gives its duration back to the max-duration budget."""

    def __init__(self, runtime: AttemptRuntime) -> None:
        self._runtime = runtime
        self._started = 0.0

    async def __aenter__(self) -> None:
        self._started = time.monotonic()

    async def __aexit__(self, *exc: object) -> None:
        waited = time.monotonic() - self._started
        self._runtime.waited_s += waited
        self._runtime.on_waited(waited)
