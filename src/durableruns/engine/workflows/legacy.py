"""What runs started by earlier engines still need, so they replay and finish.

Two generations are kept, unchanged in the commands they make:

- Runs of the *first* engine announced an attempt's start with the ``attempt_starting``
  Update and kept their TTL as a timer racing that start. They are recognised by their
  input (:func:`started_by_first_engine`), not by a patch marker, so today's runs pay
  no marker event.
- Runs started before attempts suspended at waits (below).

Waits the way runs started before suspension made them: Updates from a live attempt.

Until the attempt suspended at its waits, task code asked its run for child runs and
timers with the ``wait_for_runs`` and ``wait_until`` Updates and stayed alive, holding
its worker slot, until they returned. Runs in flight when that changed still send
them (and their recorded histories hold them), so the handlers stay, unchanged in the
commands they make; new attempts never call them. They share the run's children and
timers (:class:`~durableruns.engine.workflows.run_waits.RunWaits`), so a resumed attempt of such
a run is answered from the same journal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from durableruns.engine import search_attributes as sa
    from durableruns.engine.workflows.run_slots import RunSlots
    from durableruns.engine.workflows.run_waits import RunWaits
    from durableruns.models import (
        AttemptOutput,
        AttemptRecord,
        AttemptStarted,
        ChildRunResult,
        ChildRunsRequest,
        RunInput,
        RunRecord,
        WaitRequest,
    )
    from durableruns.status import RunStatus, is_completed


def started_by_first_engine(input: RunInput) -> bool:
    """Whether the first engine started this run: its options have no
    ``concurrency_limit`` field (that engine predates queues; every later run has it)."""
    return "concurrency_limit" not in input.options.model_fields_set


class LegacyHandlers:
    """The run workflow's handlers for runs of earlier engines."""

    _waits: RunWaits
    _slots: RunSlots
    _waits_in_progress: int
    _started_attempts: set[int]

    def _record(self) -> RunRecord:
        raise NotImplementedError

    def _attempt_record(self, number: int) -> AttemptRecord:
        raise NotImplementedError

    @workflow.update
    def attempt_starting(self, started: AttemptStarted) -> bool:
        """First engine: the attempt's worker is about to run the code; False: don't."""
        run = self._record()
        if is_completed(run.status):
            return False  # expired or canceled while the attempt was on its way
        self._started_attempts.add(started.attempt_number)
        attempt = self._attempt_record(started.attempt_number)
        attempt.started_at = started.started_at
        run.version = started.version
        run.started_at = run.started_at or started.started_at
        workflow.upsert_search_attributes([sa.TRIGGER_VERSION.value_set(started.version)])
        self._set_status(RunStatus.WAITING if self._waits_in_progress else RunStatus.EXECUTING)
        return True

    async def _started_before(
        self, attempt: workflow.ActivityHandle[AttemptOutput], deadline: datetime
    ) -> bool:
        """First engine's TTL: whether the first attempt started before ``deadline``."""
        try:
            await workflow.wait_condition(
                lambda: 1 in self._started_attempts or attempt.done(),
                timeout=deadline - workflow.now(),
            )
        except TimeoutError:
            return False
        return True

    def _set_status(self, status: RunStatus, *also: SearchAttributeUpdate[Any]) -> None:
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
