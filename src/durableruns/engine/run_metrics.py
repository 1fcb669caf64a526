"""Counting runs and attempts for ``/metrics``, as a Temporal interceptor.

An interceptor sees every start of a run workflow (through this process's client, and
child runs started by a run workflow), every run workflow's end, and every execution
of the attempt activity, without a line in the engine's core. Workflow-side counts are
taken only when the workflow is not replaying, so a run is counted once, by the worker
that ends it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from temporalio import client as tclient
from temporalio import worker as tworker
from temporalio import workflow
from temporalio.exceptions import CancelledError

from durableruns.metrics import ATTEMPT_EXECUTIONS, ATTEMPT_SECONDS, RUNS_FINISHED, RUNS_TRIGGERED
from durableruns.models import AttemptInput, AttemptOutput, RunInput, RunRecord
from durableruns.status import is_completed

RUN_WORKFLOW = "durableruns.run"


def _task_of(args: Any) -> str | None:
    if args and isinstance(args[0], RunInput):
        task_id: str = args[0].task_id
        return task_id
    return None


class RunMetrics(tclient.Interceptor, tworker.Interceptor):
    """Runs triggered and finished, attempt executions and their durations."""

    def intercept_client(self, next: tclient.OutboundInterceptor) -> tclient.OutboundInterceptor:
        """Count triggers."""
        return _ClientMetrics(next)

    def intercept_activity(
        self, next: tworker.ActivityInboundInterceptor
    ) -> tworker.ActivityInboundInterceptor:
        """Count attempt executions and time them."""
        return _ActivityMetrics(next)

    def workflow_interceptor_class(
        self, input: tworker.WorkflowInterceptorClassInput
    ) -> type[tworker.WorkflowInboundInterceptor] | None:
        """Count finished runs."""
        return _WorkflowMetrics


class _ClientMetrics(tclient.OutboundInterceptor):
    async def start_workflow(
        self, input: tclient.StartWorkflowInput
    ) -> tclient.WorkflowHandle[Any, Any]:
        handle = await super().start_workflow(input)
        task = _task_of(input.args) if input.workflow == RUN_WORKFLOW else None
        if task is not None:
            RUNS_TRIGGERED.labels(task).inc()
        return handle


class _WorkflowMetrics(tworker.WorkflowInboundInterceptor):
    def init(self, outbound: tworker.WorkflowOutboundInterceptor) -> None:
        super().init(_WorkflowOutboundMetrics(outbound))

    async def execute_workflow(self, input: tworker.ExecuteWorkflowInput) -> Any:
        try:
            result = await super().execute_workflow(input)
        except BaseException as exc:
            closing = closing_record(exc)
            if closing is not None and not workflow.unsafe.is_replaying():
                RUNS_FINISHED.labels(closing.task_id, closing.status.value).inc()
            raise
        if isinstance(result, RunRecord) and not workflow.unsafe.is_replaying():
            RUNS_FINISHED.labels(result.task_id, result.status.value).inc()
        return result


def closing_record(exc: BaseException) -> RunRecord | None:
    """The final record of a run workflow that closes by raising ``exc`` (a run whose
    workflow fails or is canceled as its Temporal close status), else None (a workflow
    task failure: the workflow does not close)."""
    if not (isinstance(exc, asyncio.CancelledError) or workflow.is_failure_exception(exc)):
        return None
    get = getattr(workflow.instance(), "get", None)
    record = get() if callable(get) else None
    return record if isinstance(record, RunRecord) and is_completed(record.status) else None


class _WorkflowOutboundMetrics(tworker.WorkflowOutboundInterceptor):
    async def start_child_workflow(
        self, input: tworker.StartChildWorkflowInput
    ) -> workflow.ChildWorkflowHandle[Any, Any]:
        handle = await super().start_child_workflow(input)
        task = _task_of(input.args) if input.workflow == RUN_WORKFLOW else None
        if task is not None and not workflow.unsafe.is_replaying():
            RUNS_TRIGGERED.labels(task).inc()
        return handle


class _ActivityMetrics(tworker.ActivityInboundInterceptor):
    async def execute_activity(self, input: tworker.ExecuteActivityInput) -> Any:
        attempt = input.args[0] if input.args else None
        if not isinstance(attempt, AttemptInput):
            return await super().execute_activity(input)
        started = time.monotonic()
        outcome = "failed"
        try:
            result = await super().execute_activity(input)
            suspended = isinstance(result, AttemptOutput) and result.suspended is not None
            outcome = "suspended" if suspended else "completed"
            return result
        except (asyncio.CancelledError, CancelledError):
            outcome = "canceled"
            raise
        finally:
            ATTEMPT_EXECUTIONS.labels(attempt.task_id, outcome).inc()
            ATTEMPT_SECONDS.labels(attempt.task_id, outcome).observe(time.monotonic() - started)
