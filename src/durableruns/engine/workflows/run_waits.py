"""The waits of a run, performed by its workflow: child runs, durable timers, wait
tokens, and the journal of recorded calls a resumed attempt is answered from.

Each wait is keyed by its *position* (the call's index in an execution of the task's
code): children by (position, index), with ids derived from them; timers by position,
the first request fixing the end. So a resumed or retried attempt making the same
calls gets the same children and timers, never new ones. Steps are recorded by
position too (``step_recorded`` signals). Child runs are Temporal child workflows with
parent close policy REQUEST_CANCEL: canceling the run cancels them. A wait token is
its own workflow (:mod:`.token_workflow`): the run registers as its waiter once (an
activity) and is told its completion by signal, or at once if it ended already; the
completion is kept by token id, so it may arrive before the run waits. Input streams'
values and their consumption are :mod:`.run_inputs`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import CancelledError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from durableruns.engine.names import TOKEN_WAITER_ACTIVITY
    from durableruns.engine.search_attributes import initial_search_attributes
    from durableruns.engine.workflows.run_close import record_from_failure
    from durableruns.engine.workflows.run_inputs import RunInputs
    from durableruns.ids import derived_run_id
    from durableruns.models import (
        ChildRunResult,
        ChildRunSpec,
        JournalEntry,
        RunError,
        RunInput,
        RunRecord,
        StepRecord,
        WaitSpec,
        run_call,
        token_call,
    )
    from durableruns.status import RunStatus
    from durableruns.wait_tokens import TokenCompletion, TokenWaiter, WaiterAnswer

TOKEN_WAITER_TIMEOUT = timedelta(seconds=30)


class RunWaits:
    """Children, timers and steps of one run, and the journal built from them."""

    def __init__(self, record: RunRecord, input: RunInput) -> None:
        self._record = record
        self._input = input
        self.children: dict[tuple[int, int], asyncio.Task[ChildRunResult]] = {}
        self.timers: dict[int, datetime] = {}
        self._calls: dict[int, str] = {}
        self._steps: dict[int, StepRecord] = {}
        self.tokens: dict[int, str] = {}
        """Token waits: position → token id."""
        self._token_ends: dict[str, TokenCompletion] = {}
        self._token_asks: dict[str, asyncio.Task[None]] = {}
        self.inputs = RunInputs()

    # --- performing waits ----------------------------------------------------------------
    async def perform(
        self, waits: tuple[WaitSpec, ...], started: Callable[[], None] | None = None
    ) -> None:
        """Start (or find) every wait of a suspension and return once all have ended;
        ``started`` is called once every wait is started (its children listed).

        Awaited through a condition, not the tasks themselves: a cancel of the run must
        end it at once, not wait for each child to finish canceling (they are canceled
        by the parent close policy when the run closes).
        """
        pending: list[asyncio.Future[Any]] = []
        for wait in waits:
            if wait.kind == "timer" and wait.until is not None:
                pending.append(asyncio.ensure_future(self.sleep_until(wait.position, wait.until)))
            elif wait.kind == "token" and wait.token_id is not None:
                pending.append(asyncio.ensure_future(self.token(wait.position, wait.token_id)))
            elif wait.kind == "input" and wait.stream_id is not None and wait.index is not None:
                consumed = self.inputs.wait(wait.position, wait.stream_id, wait.index, wait.until)
                pending.append(asyncio.ensure_future(consumed))
            else:
                pending += self.children_of(wait.position, wait.items, wait.batch)
        if started is not None:
            started()
        await workflow.wait_condition(lambda: all(task.done() for task in pending))

    def children_of(
        self, position: int, items: tuple[ChildRunSpec, ...], batch: bool
    ) -> list[asyncio.Task[ChildRunResult]]:
        """The child runs of the call at ``position``: started once, then reused."""
        self._calls.setdefault(position, run_call(batch, [item.task_id for item in items]))
        return [self._child(position, index, item, batch) for index, item in enumerate(items)]

    async def sleep_until(self, position: int, until: datetime) -> None:
        """The durable timer at ``position``; the first request fixes its end."""
        until = self.timers.setdefault(position, until)
        remaining = until - workflow.now()
        if remaining > timedelta(0):
            await workflow.sleep(remaining)

    async def token(self, position: int, token_id: str) -> None:
        """The token wait at ``position``: until the token's completion is known."""
        self.tokens.setdefault(position, token_id)
        if token_id not in self._token_ends and token_id not in self._token_asks:
            self._token_asks[token_id] = asyncio.create_task(self._register(token_id))
        await workflow.wait_condition(lambda: token_id in self._token_ends)

    def token_ended(self, completion: TokenCompletion) -> None:
        """A token this run waits on ended (its signal); the first word stays."""
        self._token_ends.setdefault(completion.token_id, completion)

    async def _register(self, token_id: str) -> None:
        answer = await workflow.execute_activity(
            TOKEN_WAITER_ACTIVITY,
            TokenWaiter(token_id=token_id, run_id=self._record.id),
            result_type=WaiterAnswer,
            start_to_close_timeout=TOKEN_WAITER_TIMEOUT,
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10)),
        )
        if answer.completion is not None:
            self.token_ended(answer.completion)

    def record_timer(self, position: int, until: datetime) -> None:
        """A short timer the code waited for in its own process."""
        self.timers.setdefault(position, until)

    def record_step(self, step: StepRecord) -> None:
        """A step's result (the first record at a position stays)."""
        self._steps.setdefault(step.position, step)

    # --- the journal ---------------------------------------------------------------------
    @property
    def has_records(self) -> bool:
        """Whether a new execution must read the journal (anything recorded)."""
        return bool(
            self.children or self.timers or self._steps or self.tokens or self.inputs.has_records
        )

    def journal(self) -> tuple[JournalEntry, ...]:
        """Every recorded call, by position, as a resumed execution reads it."""
        now = workflow.now()
        entries = [
            JournalEntry(
                position=p,
                kind="timer",
                call=WaitSpec(position=p, kind="timer").call,
                done=until <= now,
                until=until,
            )
            for p, until in self.timers.items()
        ]
        entries += [
            JournalEntry(position=p, kind="step", call=s.call, done=True, value=s.value)
            for p, s in self._steps.items()
        ]
        for p, token_id in self.tokens.items():
            ended = self._token_ends.get(token_id)
            entries.append(
                JournalEntry(
                    position=p,
                    kind="token",
                    call=token_call(token_id),
                    done=ended is not None,
                    value=ended.model_dump(mode="json") if ended is not None else None,
                )
            )
        entries += self.inputs.journal()
        for position in sorted({p for p, _ in self.children}):
            tasks = [t for (p, _), t in sorted(self.children.items()) if p == position]
            done = all(t.done() for t in tasks)
            entries.append(
                JournalEntry(
                    position=position,
                    kind="runs",
                    call=self._calls.get(position, ""),
                    done=done,
                    value=[t.result().model_dump(mode="json") for t in tasks] if done else None,
                )
            )
        return tuple(sorted(entries, key=lambda e: e.position))

    # --- child runs ------------------------------------------------------------------------
    def _child(
        self, position: int, index: int, item: ChildRunSpec, batch: bool
    ) -> asyncio.Task[ChildRunResult]:
        key = (position, index)
        if key not in self.children:
            child_id = derived_run_id(self._record.id, "child", str(position), str(index))
            self._record.child_run_ids.append(child_id)
            self.children[key] = asyncio.create_task(self._run_child(child_id, item, batch))
        return self.children[key]

    async def _run_child(self, child_id: str, item: ChildRunSpec, batch: bool) -> ChildRunResult:
        run, input = self._record, self._input
        options = item.options.model_copy(
            update={
                "parent_run_id": run.id,
                "root_run_id": run.options.root_run_id or run.id,
                "depth": run.options.depth + 1,
                "trigger_function": "batchTriggerAndWait" if batch else "triggerAndWait",
                "is_test": run.options.is_test,
            }
        )
        child_input = RunInput(
            run_id=child_id,
            task_id=item.task_id,
            payload=item.payload,
            options=options,
            created_at=workflow.now(),
            task_queue_prefix=input.task_queue_prefix,
        )
        try:
            record = await workflow.execute_child_workflow(
                "durableruns.run",
                child_input,
                id=child_id,
                task_queue=workflow.info().task_queue,
                parent_close_policy=workflow.ParentClosePolicy.REQUEST_CANCEL,
                search_attributes=initial_search_attributes(child_input),
                result_type=RunRecord,
            )
        except ChildWorkflowError as err:
            return _ended_child(child_id, item.task_id, err)
        except Exception as err:  # our bug
            error = RunError(name=type(err).__name__, message=str(err))
            return ChildRunResult(
                run_id=child_id, task_id=item.task_id, status=RunStatus.SYSTEM_FAILURE, error=error
            )
        return ChildRunResult(
            run_id=child_id,
            task_id=item.task_id,
            status=record.status,
            output=record.output,
            error=record.error,
        )


def _ended_child(child_id: str, task_id: str, err: ChildWorkflowError) -> ChildRunResult:
    """A child whose workflow did not complete: a failed run (its record travels in the
    failure), a canceled one, or one terminated from the Temporal UI."""
    record = record_from_failure(err.cause)
    if record is not None:
        return ChildRunResult(
            run_id=child_id, task_id=task_id, status=record.status, error=record.error
        )
    if isinstance(err.cause, CancelledError):
        error = RunError(name="Canceled", message="Run canceled")
        return ChildRunResult(
            run_id=child_id, task_id=task_id, status=RunStatus.CANCELED, error=error
        )
    cause = err.cause or err
    error = RunError(name=type(cause).__name__, message=str(cause))
    return ChildRunResult(
        run_id=child_id, task_id=task_id, status=RunStatus.SYSTEM_FAILURE, error=error
    )
