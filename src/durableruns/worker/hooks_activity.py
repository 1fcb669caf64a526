"""The hooks activity: a run's ``on_success`` / ``on_failure`` / ``on_complete`` /
``on_cancel``, exactly once, after the run workflow decided its final status.

They cannot live in the attempt: its process may be dead (CRASHED), stopped
(TIMED_OUT, canceled), or the code may run again on a resume. So the run workflow
runs this short activity on the task's queue at the version that ran the run, and only
when the task (or a global hook) has such hooks (each execution tells the run which it
has, in its ``attempt_started`` signal): a run without them gains no Temporal action.

The hooks run in a task process like the code (crash isolation), each bounded by
``HOOK_TIMEOUT_S`` and the whole by the hooks' count times that. Every hook that ended
is recorded in the activity's heartbeat details, so a try after a lost worker runs only
the rest. Their log lines (and an ERROR line per failed hook) reach the run's log in one
signal; a failed hook never changes the run's status.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any, cast

from temporalio import activity

from durableruns.context import AttemptInfo, RunInfo, TaskInfo
from durableruns.engine.names import HOOKS_ACTIVITY
from durableruns.engine.workflows.run import RunWorkflow
from durableruns.hook_models import HooksInput, HooksOutput, kinds_for
from durableruns.hooks import HOOK_TIMEOUT_S, HookKind, hooks_of
from durableruns.log_models import LogBatch, LogLine
from durableruns.logs import capture_task_output
from durableruns.models import RunRecord
from durableruns.task_definitions import Task, TaskRegistry
from durableruns.worker.final_hooks import (
    FinalHooksSpec,
    HooksRan,
    hooks_context,
    run_final_hooks,
)
from durableruns.worker.isolation import ProcessPool, TaskProcessError, can_isolate

HEARTBEAT_EVERY_S = 20.0
"""Liveness beats of a long hook (the run's heartbeat timeout is 50 s); each hook's end
beats too, with the record of what ran."""
worker_log = logging.getLogger("durableruns.worker")


class HooksActivity:
    """The hooks activity bound to the tasks (and version) a worker serves."""

    def __init__(
        self, registry: TaskRegistry, version: str, *, pool: ProcessPool | None = None
    ) -> None:
        self._registry = registry
        self._version = version
        self._pool = pool

    @activity.defn(name=HOOKS_ACTIVITY)
    async def run_hooks(self, input: HooksInput) -> HooksOutput:
        """Run the hooks the run's final status fires that have not run yet."""
        task = self._registry.get(input.task_id)
        if task is None:
            return HooksOutput()
        handle = activity.client().get_workflow_handle(input.run_id)
        record: RunRecord = await handle.query(RunWorkflow.get)
        details = activity.info().heartbeat_details
        collected = _Collected(skip=tuple(details[0]) if details else ())
        spec = self._spec(task, input, record, collected.done)
        kinds = [cast(HookKind, kind) for kind in kinds_for(input.status)]
        count = sum(len(hooks_of(kind, task.hooks)) for kind in kinds)
        beats = asyncio.create_task(_heartbeat_forever(collected))
        try:
            async with asyncio.timeout(HOOK_TIMEOUT_S * max(count, 1) + 5):
                ran = await self._run(task, spec, collected)
        except TimeoutError:
            ran = HooksRan(errors=())
            worker_log.warning("%s hooks did not end in time: abandoned", input.run_id)
        finally:
            beats.cancel()
            await asyncio.gather(beats, return_exceptions=True)
        if collected.lines:
            number = record.attempts[-1].number if record.attempts else None
            lines = tuple(line.model_copy(update={"attempt": number}) for line in collected.lines)
            await handle.signal(RunWorkflow.log_lines, LogBatch(lines=lines))
        for error in ran.errors:
            worker_log.warning("%s hook failed: %s: %s", input.run_id, error.name, error.message)
        return HooksOutput(ran=len(ran.done), failed=len(ran.errors))

    def _spec(
        self, task: Task[Any, Any], input: HooksInput, record: RunRecord, skip: Iterable[str]
    ) -> FinalHooksSpec:
        options = record.options
        last = record.attempts[-1] if record.attempts else None
        return FinalHooksSpec(
            module=task.fn.__module__,
            task_id=task.id,
            status=input.status,
            payload=record.payload,
            output=record.output,
            error=record.error,
            skip=tuple(skip),
            task=TaskInfo(id=task.id),
            run=RunInfo(
                id=record.id,
                created_at=record.created_at,
                tags=options.tags,
                is_test=options.is_test,
                idempotency_key=options.idempotency_key,
                is_replay=options.replayed_from is not None,
                replayed_from=options.replayed_from,
                parent_run_id=options.parent_run_id,
                root_run_id=options.root_run_id,
                depth=options.depth,
            ),
            attempt=AttemptInfo(
                id=last.id, number=last.number, started_at=last.started_at or last.created_at
            )
            if last
            else None,
            version=record.version or self._version,
            metadata=record.metadata,
        )

    async def _run(
        self, task: Task[Any, Any], spec: FinalHooksSpec, collected: _Collected
    ) -> HooksRan:
        """In a task process when there is a pool (and it can import the task), else here."""
        if self._pool is None or not can_isolate(task):
            capture_task_output(task_process=False)
            ctx = hooks_context(spec, collected.log_line)
            return await run_final_hooks(task, spec, ctx, collected.hook_ended)
        try:
            async with self._pool.process() as process:
                ended = await process.run(spec, collected)  # type: ignore[arg-type]
        except TaskProcessError as exc:
            worker_log.warning("%s hooks could not start a task process: %s", spec.run.id, exc)
            return HooksRan()
        if isinstance(ended, HooksRan):
            return ended
        return HooksRan(done=tuple(collected.done))  # the process died: what ended, ended


class _Collected:
    """What the hooks reported while they ran: their log lines and the hooks that ended
    (the worker's side of a task process, for the hooks instead of an attempt)."""

    def __init__(self, skip: tuple[str, ...]) -> None:
        self.done: list[str] = list(skip)
        self.lines: list[LogLine] = []

    def log_line(self, line: LogLine) -> None:
        self.lines.append(line)

    def log_lines(self, lines: Iterable[LogLine]) -> None:
        self.lines.extend(lines)

    def hook_ended(self, key: str) -> None:
        self.done.append(key)
        activity.heartbeat(self.done)

    def metadata_changed(self, metadata: dict[str, Any]) -> None:
        """Final hooks cannot change the run's metadata (the run has ended)."""

    def stream_chunks(self, key: str, chunks: Iterable[Any]) -> None:
        """Final hooks have no streams (the run has ended)."""


async def _heartbeat_forever(collected: _Collected) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_EVERY_S)
        activity.heartbeat(collected.done)
