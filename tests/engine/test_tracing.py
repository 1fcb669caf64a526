"""Traces of runs: trigger → run → attempt → executions, waits, steps, child runs.

Spans go to the OpenTelemetry SDK's in-memory exporter through the same interceptors
``engine.client.connect`` installs; one test exports over OTLP/HTTP to a receiver it
starts itself (a tiny HTTP server decoding the protobuf request).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import opentelemetry.trace as otel
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client
from temporalio.contrib.opentelemetry import ReplaySafeTracerProvider, create_tracer_provider
from temporalio.testing import WorkflowEnvironment

from durableruns.engine.client import interceptors
from durableruns.engine.converter import DATA_CONVERTER
from durableruns.task_definitions import TaskRegistry
from tests.helpers import ROOT, Stack, eventually, open_stack

MODULES = [
    "tests.helpers.tasks.observability_tasks",
    "tests.helpers.tasks.input_tasks",
    "tests.helpers.tasks.hook_history_tasks",
]


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    """The in-memory exporter behind this process's (replay-safe) tracer provider."""
    memory = InMemorySpanExporter()
    provider = otel.get_tracer_provider()
    if not isinstance(provider, ReplaySafeTracerProvider):
        provider = create_tracer_provider()
        otel.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return memory


@pytest.fixture(scope="module")
async def traced(
    temporal_env: WorkflowEnvironment, exporter: InMemorySpanExporter
) -> AsyncIterator[Stack]:
    """A worker and facade on a client with the tracing interceptors."""
    base = temporal_env.client
    client = Client(
        base.service_client,
        namespace=base.namespace,
        data_converter=DATA_CONVERTER,
        interceptors=interceptors(),
    )
    async with open_stack(client, TaskRegistry.from_modules(MODULES)) as stack:
        yield stack


def _spans_of(exporter: InMemorySpanExporter, trace_id: str) -> list[ReadableSpan]:
    return [
        s
        for s in exporter.get_finished_spans()
        if s.context is not None and otel.format_trace_id(s.context.trace_id) == trace_id
    ]


def _one(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, (name, sorted(s.name for s in spans))
    return found[0]


def _parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


async def test_a_run_is_one_trace_with_attempts_waits_steps_and_children(
    traced: Stack, exporter: InMemorySpanExporter
) -> None:
    run_id = await traced.trigger("obs-parent", {"seconds": 0.6})
    final = await traced.wait_final(run_id)
    assert final["status"] == "COMPLETED", final
    trace_id = final["traceId"]
    assert len(trace_id) == 32
    child_id = final["relatedRuns"]["children"][0]["id"]
    child = await traced.retrieve(child_id)
    assert child["traceId"] == trace_id  # the child joined its parent's trace

    spans = await eventually(
        lambda: asyncio.sleep(0, _spans_of(exporter, trace_id)),
        lambda found: any(s.name == "run obs-parent" for s in found),
    )
    by_id = {s.context.span_id: s for s in spans if s.context is not None}
    child_run = _one(spans, "run obs-child")
    spans = [s for s in spans if (s.attributes or {}).get("durableruns.run_id") == run_id]
    trigger = _one(spans, "trigger obs-parent")
    run = _one(spans, "run obs-parent")
    attempt = _one(spans, "attempt 1")
    executions = [s for s in spans if s.name in ("execution", "continuation 1", "continuation 2")]
    timer = _one(spans, "wait timer")
    children = _one(spans, "wait runs")
    step = next(s for s in spans if s.name.startswith("step ") and "fetch" in s.name)

    assert _parent_of(run) == trigger.context.span_id  # type: ignore[union-attr]
    assert _parent_of(attempt) == run.context.span_id  # type: ignore[union-attr]
    assert {e.name for e in executions} == {"execution", "continuation 1", "continuation 2"}
    assert all(_parent_of(e) == attempt.context.span_id for e in executions)  # type: ignore[union-attr]
    assert _parent_of(timer) == attempt.context.span_id  # type: ignore[union-attr]
    assert _parent_of(children) == attempt.context.span_id  # type: ignore[union-attr]
    assert by_id[_parent_of(step)].name == "execution"  # type: ignore[index]
    assert _parent_of(child_run) == children.context.span_id  # type: ignore[union-attr]
    assert child_run.attributes["durableruns.status"] == "COMPLETED"  # type: ignore[index]
    # Real durations: the timer span lasts about as long as the timer.
    assert timer.end_time is not None and timer.start_time is not None
    assert (timer.end_time - timer.start_time) / 1e9 >= 0.5
    assert run.attributes["durableruns.run_id"] == run_id  # type: ignore[index]


async def test_an_input_stream_value_is_a_span_under_the_wait_it_ends(
    traced: Stack, exporter: InMemorySpanExporter
) -> None:
    run_id = await traced.trigger("input-wait", {})
    await traced.wait_status(run_id, "WAITING", timeout=30)
    response = await traced.http.post(
        f"/realtime/v1/streams/{run_id}/input/msg", json={"data": "go"}
    )
    assert response.status_code == 200, response.text
    final = await traced.wait_final(run_id)
    spans = await eventually(
        lambda: asyncio.sleep(0, _spans_of(exporter, final["traceId"])),
        lambda found: any(s.name == "run input-wait" for s in found),
    )
    received = _one(spans, "input msg received")
    wait = _one(spans, "wait input")
    assert _parent_of(received) == wait.context.span_id  # type: ignore[union-attr]
    assert wait.attributes["durableruns.input_stream"] == "msg"  # type: ignore[index]


async def test_a_failed_attempt_is_an_error_span(
    traced: Stack, exporter: InMemorySpanExporter
) -> None:
    run_id = await traced.trigger("obs-fails", None)
    final = await traced.wait_final(run_id)
    assert final["status"] == "FAILED"
    spans = await eventually(
        lambda: asyncio.sleep(0, _spans_of(exporter, final["traceId"])),
        lambda found: any(s.name == "run obs-fails" for s in found),
    )
    run = _one(spans, "run obs-fails")
    assert run.status.status_code is otel.StatusCode.ERROR
    assert "FAILED" in (run.status.description or "")
    attempts = [s for s in spans if s.name.startswith("attempt ")]
    assert sorted(s.name for s in attempts) == ["attempt 1", "attempt 2"]
    assert all(s.status.status_code is otel.StatusCode.ERROR for s in attempts)


async def test_the_final_hooks_are_a_span_of_the_run(
    traced: Stack, exporter: InMemorySpanExporter
) -> None:
    run_id = await traced.trigger("hooks-history", {})
    final = await traced.wait_final(run_id)
    assert final["status"] == "COMPLETED"
    spans = await eventually(
        lambda: asyncio.sleep(0, _spans_of(exporter, final["traceId"])),
        lambda found: any(s.name == "run hooks-history" for s in found),
        timeout=30,
    )
    hooks = _one(spans, "hooks COMPLETED")
    assert _parent_of(hooks) == _one(spans, "run hooks-history").context.span_id  # type: ignore[union-attr]
    assert hooks.attributes["durableruns.hooks_ran"] == 2  # type: ignore[index]
    assert hooks.attributes["durableruns.hooks_failed"] == 0  # type: ignore[index]


# --- one real OTLP export -----------------------------------------------------------------
class _Receiver(BaseHTTPRequestHandler):
    """OTLP/HTTP traces endpoint: decodes each export request, keeps the span names."""

    received: list[str]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                self.server.received.extend(s.name for s in scope_spans.spans)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.end_headers()
        self.wfile.write(b"")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[str]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", server.received  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


def test_a_worker_exports_over_otlp_when_the_endpoint_is_set(
    temporal_env: WorkflowEnvironment, receiver: tuple[str, list[str]]
) -> None:
    """`durableruns dev`-like process (worker + facade, in a subprocess so the provider
    is its own) with OTEL_EXPORTER_OTLP_ENDPOINT set: a run's spans reach the receiver."""
    endpoint, received = receiver
    address = temporal_env.client.service_client.config.target_host
    script = ROOT / "tests" / "helpers" / "otlp_export_script.py"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    done = subprocess.run(
        [sys.executable, str(script), address],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "COMPLETED" in done.stdout, done.stdout
    assert {"trigger obs-child", "run obs-child", "attempt 1", "execution"} <= set(received)


def test_nothing_is_exported_without_an_endpoint() -> None:
    """No endpoint, no provider of its own: tracing is off (no interceptors at all)."""
    code = (
        "from durableruns.engine.tracing import tracing_interceptors;"
        "import opentelemetry.trace as t;"
        "assert tracing_interceptors() == [];"
        "print(type(t.get_tracer_provider()).__name__)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert "ReplaySafe" not in out.stdout


async def test_an_in_task_trigger_joins_the_parents_trace(traced: Stack) -> None:
    """From the task process (isolation on): the worker's client starts the child under
    the execution's span."""
    run_id = await traced.trigger("obs-fires-and-forgets", None)
    final = await traced.wait_final(run_id)
    child = await traced.wait_final(final["output"])
    assert child["traceId"] == final["traceId"]
