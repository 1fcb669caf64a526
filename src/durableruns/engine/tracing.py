"""OpenTelemetry traces of runs: trigger → run → attempt → executions, waits, steps.

Built on ``temporalio.contrib.opentelemetry``'s replay-safe ``OpenTelemetryInterceptor``
(it carries the trace context in Temporal headers: client → workflow → activity →
child workflow) and its replay-safe tracer provider (span ids come from the workflow's
deterministic random, and no span ends while history is replayed), so spans inside the
run workflow have real durations and are exported once, whichever worker ends them.
On top of it, two interceptors of ours name the spans in Trigger.dev's terms:

- :class:`TriggerTracing` (client): a ``trigger <task>`` span around the start of a run
  workflow, and the trace id written into the run's options (``RunOptions.trace_id``),
  so retrieve shows it at no cost;
- :class:`RunTracing` (worker): in the run workflow, ``run <task>`` (the whole run),
  ``attempt <n>`` (first execution to outcome, waits included), ``execution`` and
  ``continuation <k>`` (each execution of the attempt activity), ``wait timer`` /
  ``wait runs`` (suspended; waited-for child runs are started under this span, so the
  child's whole trace hangs below it), ``wait (in process)`` and ``step <name>`` (a
  point in time: the moment the step's result reached the run), ``input <stream>
  received`` (a value sent to an input stream) and ``input streams.input(…).once()``
  (a value consumed in the process), and ``hooks <status>`` (the run's
  once-per-run hooks after its final status: how many ran and failed).

Nothing is traced unless tracing is on: the standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set — then spans are exported over OTLP/HTTP
(protobuf) — or the process installed a tracer provider made with
``temporalio.contrib.opentelemetry.create_tracer_provider`` itself (tests do).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import opentelemetry.context
import opentelemetry.trace as otel
from temporalio import client as tclient
from temporalio import worker as tworker
from temporalio import workflow
from temporalio.contrib.opentelemetry import (
    OpenTelemetryInterceptor,
    ReplaySafeTracerProvider,
    create_tracer_provider,
)

from durableruns.engine.names import (
    ATTEMPT_ACTIVITY,
    HOOKS_ACTIVITY,
    INPUT_CONSUMED_SIGNAL,
    INPUT_SENT_SIGNAL,
)
from durableruns.engine.run_metrics import closing_record
from durableruns.hook_models import HooksInput, HooksOutput
from durableruns.input_models import InputConsumed, InputSent
from durableruns.models import (
    AttemptInput,
    AttemptOutput,
    RunInput,
    RunRecord,
    StepRecord,
    WaitSpec,
)
from durableruns.status import RunStatus, is_failed

TRACER = "durableruns"
RUN_WORKFLOW = "durableruns.run"
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def exporting_configured() -> bool:
    """Whether the environment asks for OTLP export (and the SDK is not disabled)."""
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    return any(os.environ.get(name) for name in ENDPOINT_VARIABLES)


def ensure_tracer_provider() -> bool:
    """Install the OTLP-exporting provider once if the environment asks for it; True when
    tracing is on (that provider, or one the process installed itself)."""
    if isinstance(otel.get_tracer_provider(), ReplaySafeTracerProvider):
        return True
    if not exporting_configured():
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    service = os.environ.get("OTEL_SERVICE_NAME", "durableruns")
    provider = create_tracer_provider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    otel.set_tracer_provider(provider)
    return isinstance(otel.get_tracer_provider(), ReplaySafeTracerProvider)


def tracing_interceptors() -> list[tclient.Interceptor]:
    """The client (and so worker) interceptors for tracing; none when tracing is off."""
    if not ensure_tracer_provider():
        return []
    return [TriggerTracing(), OpenTelemetryInterceptor(), RunTracing()]


def trace_id_hex(span: otel.Span) -> str | None:
    """The span's trace id as 32 hex digits, or None for no (valid) span."""
    context = span.get_span_context()
    return otel.format_trace_id(context.trace_id) if context.is_valid else None


def _with_trace_id(args: Any, trace_id: str | None) -> Any:
    """The workflow's arguments with the run's options carrying ``trace_id``."""
    if not trace_id or not args or not isinstance(args[0], RunInput):
        return args
    run: RunInput = args[0]
    options = run.options.model_copy(update={"trace_id": trace_id})
    return [run.model_copy(update={"options": options}), *args[1:]]


# --- client: the trigger -----------------------------------------------------------------
class TriggerTracing(tclient.Interceptor):
    """``trigger <task>`` around every start of a run workflow (facade, in-task triggers,
    schedule ticks, batches); outermost, so the Temporal header carries its context."""

    def intercept_client(self, next: tclient.OutboundInterceptor) -> tclient.OutboundInterceptor:
        """Trace triggers."""
        return _TriggerOutbound(next)


class _TriggerOutbound(tclient.OutboundInterceptor):
    async def start_workflow(
        self, input: tclient.StartWorkflowInput
    ) -> tclient.WorkflowHandle[Any, Any]:
        if (
            input.workflow != RUN_WORKFLOW
            or not input.args
            or not isinstance(input.args[0], RunInput)
        ):
            return await super().start_workflow(input)
        run: RunInput = input.args[0]
        attributes = {"durableruns.run_id": run.run_id, "durableruns.task_id": run.task_id}
        tracer = otel.get_tracer(TRACER)
        with tracer.start_as_current_span(
            f"trigger {run.task_id}", kind=otel.SpanKind.PRODUCER, attributes=attributes
        ) as span:
            input.args = _with_trace_id(input.args, trace_id_hex(span))
            return await super().start_workflow(input)


# --- worker: the run workflow --------------------------------------------------------------
class RunTracing(tclient.Interceptor, tworker.Interceptor):
    """Spans of the run workflow (inner to ``OpenTelemetryInterceptor``, which attaches
    the context the trigger sent)."""

    def workflow_interceptor_class(
        self, input: tworker.WorkflowInterceptorClassInput
    ) -> type[tworker.WorkflowInboundInterceptor] | None:
        """Trace runs, attempts, waits and steps."""
        return _RunInbound


@dataclass
class _AttemptSpans:
    attempt: otel.Span
    execution: otel.Span | None = None
    waits: list[otel.Span] = field(default_factory=list)


class _RunSpans:
    """The open spans of one run workflow (rebuilt identically on replay)."""

    def __init__(self) -> None:
        self.run: otel.Span | None = None
        self.attempts: dict[int, _AttemptSpans] = {}
        self.current: _AttemptSpans | None = None

    def close_all(self) -> None:
        for spans in self.attempts.values():
            for span in [*spans.waits, spans.execution, spans.attempt]:
                if span is not None and span.is_recording():
                    span.end()
        self.attempts.clear()


class _RunInbound(tworker.WorkflowInboundInterceptor):
    def __init__(self, next: tworker.WorkflowInboundInterceptor) -> None:
        super().__init__(next)
        self.spans = _RunSpans()

    def init(self, outbound: tworker.WorkflowOutboundInterceptor) -> None:
        super().init(_RunOutbound(outbound, self.spans))

    async def execute_workflow(self, input: tworker.ExecuteWorkflowInput) -> Any:
        if workflow.info().workflow_type != RUN_WORKFLOW or not input.args:
            return await super().execute_workflow(input)
        run: RunInput = input.args[0]
        attributes = {"durableruns.run_id": run.run_id, "durableruns.task_id": run.task_id}
        tracer = otel.get_tracer(TRACER)
        with tracer.start_as_current_span(f"run {run.task_id}", attributes=attributes) as span:
            self.spans.run = span
            try:
                record = await super().execute_workflow(input)
            except BaseException as exc:
                closing = closing_record(exc)
                if closing is not None:
                    _describe_run(span, closing)
                raise
            finally:
                self.spans.close_all()
            if isinstance(record, RunRecord):
                _describe_run(span, record)
            return record

    async def handle_signal(self, input: tworker.HandleSignalInput) -> None:
        current = self.spans.current
        if current is not None and current.execution is not None and input.args:
            _signal_span(input.signal, input.args[0], current.execution)
        elif input.signal == INPUT_SENT_SIGNAL and input.args:
            # A value arriving while nothing runs: under the wait it may end, else the run.
            parent = current.waits[0] if current is not None and current.waits else self.spans.run
            if parent is not None:
                _signal_span(input.signal, input.args[0], parent)
        await super().handle_signal(input)


def _describe_run(span: otel.Span, record: RunRecord) -> None:
    span.set_attribute("durableruns.status", record.status.value)
    span.set_attribute("durableruns.attempts", len(record.attempts))
    if record.version:
        span.set_attribute("durableruns.version", record.version)
    if is_failed(record.status) or record.status is RunStatus.CANCELED:
        message = f"{record.status.value}: {record.error.message if record.error else ''}"
        span.set_status(otel.Status(otel.StatusCode.ERROR, message))


def _signal_span(signal: str, arg: Any, parent: otel.Span) -> None:
    """Steps and in-process timers, as spans under the running execution."""
    tracer = otel.get_tracer(TRACER)
    context = otel.set_span_in_context(parent)
    if signal == "step_recorded" and isinstance(arg, StepRecord):
        span = tracer.start_span(
            f"step {arg.call}",
            context,
            attributes={**_run_attribute(), "durableruns.position": arg.position},
        )
        span.end()
    elif signal == "short_wait_recorded" and isinstance(arg, WaitSpec) and arg.until is not None:
        attributes: dict[str, Any] = {
            **_run_attribute(),
            "durableruns.position": arg.position,
            "durableruns.until": arg.until.isoformat(),
        }
        span = tracer.start_span("wait (in process)", context, attributes=attributes)
        span.end(end_time=max(workflow.time_ns(), int(arg.until.timestamp() * 1e9)))
    elif signal == INPUT_SENT_SIGNAL and isinstance(arg, InputSent):
        attributes = {
            **_run_attribute(),
            "durableruns.input_stream": arg.stream_id,
            "durableruns.bytes": arg.size,
        }
        tracer.start_span(f"input {arg.stream_id} received", context, attributes=attributes).end()
    elif signal == INPUT_CONSUMED_SIGNAL and isinstance(arg, InputConsumed):
        attributes = {**_run_attribute(), "durableruns.input_stream": arg.stream_id}
        if arg.result.index is not None:
            attributes["durableruns.input_index"] = arg.result.index
        tracer.start_span(f"input {arg.call}", context, attributes=attributes).end()


class _RunOutbound(tworker.WorkflowOutboundInterceptor):
    def __init__(self, next: tworker.WorkflowOutboundInterceptor, spans: _RunSpans) -> None:
        super().__init__(next)
        self.spans = spans

    def start_activity(self, input: tworker.StartActivityInput) -> workflow.ActivityHandle[Any]:
        spans = self.spans
        if input.activity == HOOKS_ACTIVITY and spans.run is not None and input.args:
            return self._hooks(input, spans.run)
        if input.activity != ATTEMPT_ACTIVITY or spans.run is None or not input.args:
            return super().start_activity(input)
        attempt: AttemptInput = input.args[0]
        tracer = otel.get_tracer(TRACER)
        number, continuation = attempt.attempt_number, attempt.continuation
        current = spans.attempts.get(number)
        if current is None:
            span = tracer.start_span(
                f"attempt {number}",
                otel.set_span_in_context(spans.run),
                attributes={
                    **_run_attribute(),
                    "durableruns.attempt": number,
                    "durableruns.attempt_id": attempt.attempt_id,
                },
            )
            current = spans.attempts[number] = _AttemptSpans(span)
        for wait in current.waits:
            wait.end()
        current.waits = []
        name = f"continuation {continuation}" if continuation else "execution"
        current.execution = tracer.start_span(
            name,
            otel.set_span_in_context(current.attempt),
            attributes={
                **_run_attribute(),
                "durableruns.attempt": number,
                "durableruns.continuation": continuation,
            },
        )
        spans.current = current
        with _attached(current.execution):
            handle = super().start_activity(input)
        handle.add_done_callback(lambda done: self._ended(number, done))
        return handle

    def _hooks(
        self, input: tworker.StartActivityInput, run: otel.Span
    ) -> workflow.ActivityHandle[Any]:
        """A ``hooks <status>`` span around the run's final hooks."""
        hooks: HooksInput = input.args[0]
        span = otel.get_tracer(TRACER).start_span(
            f"hooks {hooks.status.value}",
            otel.set_span_in_context(run),
            attributes=_run_attribute(),
        )
        with _attached(span):
            handle = super().start_activity(input)

        def ended(done: workflow.ActivityHandle[Any]) -> None:
            failure = None if done.cancelled() else done.exception()
            output = done.result() if failure is None and not done.cancelled() else None
            if isinstance(output, HooksOutput):
                span.set_attribute("durableruns.hooks_ran", output.ran)
                span.set_attribute("durableruns.hooks_failed", output.failed)
                if output.failed:
                    span.set_status(otel.Status(otel.StatusCode.ERROR, "a hook failed"))
            elif failure is not None:
                span.set_status(otel.Status(otel.StatusCode.ERROR, f"{failure}"))
            span.end()

        handle.add_done_callback(ended)
        return handle

    def _ended(self, number: int, done: workflow.ActivityHandle[Any]) -> None:
        current = self.spans.attempts.get(number)
        if current is None or current.execution is None:
            return
        execution, current.execution = current.execution, None
        failure = None if done.cancelled() else done.exception()
        output = done.result() if failure is None and not done.cancelled() else None
        if isinstance(output, AttemptOutput) and output.suspended is not None:
            execution.set_attribute("durableruns.outcome", "suspended")
            execution.end()
            current.waits = [_wait_span(w, current.attempt) for w in output.suspended.waits]
            return
        outcome = "canceled" if done.cancelled() else "failed" if failure else "completed"
        execution.set_attribute("durableruns.outcome", outcome)
        current.attempt.set_attribute("durableruns.outcome", outcome)
        if failure is not None:
            cause = getattr(failure, "cause", None) or failure
            for span in (execution, current.attempt):
                span.set_status(otel.Status(otel.StatusCode.ERROR, f"{cause}"))
        execution.end()
        current.attempt.end()
        del self.spans.attempts[number]

    async def start_child_workflow(
        self, input: tworker.StartChildWorkflowInput
    ) -> workflow.ChildWorkflowHandle[Any, Any]:
        parent = self._waiting_span()
        if parent is None:
            input.args = _with_trace_id(input.args, trace_id_hex(otel.get_current_span()))
            return await super().start_child_workflow(input)
        input.args = _with_trace_id(input.args, trace_id_hex(parent))
        with _attached(parent):
            return await super().start_child_workflow(input)

    def _waiting_span(self) -> otel.Span | None:
        """The open ``wait runs`` span children are started under, if any."""
        for spans in self.spans.attempts.values():
            for span in spans.waits:
                if getattr(span, "name", "") == "wait runs":
                    return span
        return None


def _wait_span(wait: WaitSpec, attempt: otel.Span) -> otel.Span:
    attributes: dict[str, Any] = {
        **_run_attribute(),
        "durableruns.wait": wait.kind,
        "durableruns.position": wait.position,
    }
    if wait.until is not None:
        attributes["durableruns.until"] = wait.until.isoformat()
    if wait.items:
        attributes["durableruns.child_tasks"] = [item.task_id for item in wait.items]
    if wait.stream_id is not None:
        attributes["durableruns.input_stream"] = wait.stream_id
    tracer = otel.get_tracer(TRACER)
    return tracer.start_span(
        f"wait {wait.kind}", otel.set_span_in_context(attempt), attributes=attributes
    )


def _run_attribute() -> dict[str, str]:
    return {"durableruns.run_id": workflow.info().workflow_id}


@contextlib.contextmanager
def _attached(span: otel.Span) -> Iterator[None]:
    """``span`` current for the block (so the Temporal header carries it)."""
    token = opentelemetry.context.attach(otel.set_span_in_context(span))
    try:
        yield
    finally:
        opentelemetry.context.detach(token)
