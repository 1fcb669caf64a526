"""Waits the way runs started before suspension made them: Updates from a live attempt.

Until the attempt suspended at its waits, task code asked its run for child runs and
timers with the ``wait_for_runs`` and ``wait_until`` Updates and stayed alive, holding
its worker slot, until they returned. Runs in flight when that changed still send
them (and their recorded histories hold them), so the handlers stay, unchanged in the
commands they make; new attempts never call them. They share the run's children and
timers (:class:`~durableruns.engine.run_waits.RunWaits`), so a resumed attempt of such
a run is answered from the same journal.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from durableruns.engine.run_slots import RunSlots
    from durableruns.engine.run_waits import RunWaits
    from durableruns.models import ChildRunResult, ChildRunsRequest, RunInput, WaitRequest
    from durableruns.status import RunStatus


class LegacyWaitUpdates:
    """The run workflow's Update handlers for waits made by a live attempt."""

    _waits: RunWaits
    _slots: RunSlots
    _waits_in_progress: int

    def _set_status(self, status: RunStatus) -> None:
        raise NotImplementedError

    def _run_input(self) -> RunInput:
        raise NotImplementedError

    async def _take_slot(self, deadline: None) -> bool:
        raise NotImplementedError

    @workflow.update(unfinished_policy=workflow.HandlerUnfinishedPolicy.ABANDON)
    async def wait_for_runs(self, request: ChildRunsRequest) -> list[ChildRunResult]:
        """Start child runs (once per call position) and wait for all of them."""
        tasks = self._waits.children_of(request.position, request.items, request.batch)
        await self._enter_wait()
        try:
            return [await task for task in tasks]
        finally:
            await self._leave_wait()

    @workflow.update(unfinished_policy=workflow.HandlerUnfinishedPolicy.ABANDON)
    async def wait_until(self, request: WaitRequest) -> None:
        """A durable timer; the first request at a position fixes its end."""
        await self._enter_wait()
        try:
            await self._waits.sleep_until(request.position, request.until)
        finally:
            await self._leave_wait()

    async def _enter_wait(self) -> None:
        """WAITING while at least one wait is in progress, holding no queue slot."""
        self._waits_in_progress += 1
        self._set_status(RunStatus.WAITING)
        if self._waits_in_progress == 1:
            await self._slots.give_back(self._run_input())

    async def _leave_wait(self) -> None:
        """After the last wait, take a slot again (QUEUED until granted), EXECUTING."""
        self._waits_in_progress -= 1
        if self._waits_in_progress:
            return
        input = self._run_input()
        if input.options.concurrency_limit:
            self._set_status(RunStatus.QUEUED)
            await self._take_slot(None)
        self._set_status(RunStatus.EXECUTING)
