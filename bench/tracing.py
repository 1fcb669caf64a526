"""The cost of tracing: durableruns runs with tracing on vs off, on ``throughput.py``'s
durableruns side (same task, same HTTP trigger, same closed loop and idle runs).

Each side runs in a process of its own (OpenTelemetry's tracer provider is set once per
process, and FastAPI emits its own HTTP spans whenever one is set), against one dev
server this driver starts:

* **off**: no tracer provider; the client as ``engine.client.connect`` makes it without
  tracing (the ``/metrics`` interceptor only);
* **on**: a replay-safe tracer provider whose BatchSpanProcessor exports over OTLP/HTTP
  to a receiver thread in the side's process (it decodes every request, as a collector
  on the same machine would), and the tracing interceptors (``engine/tracing.py``).

Rounds alternate the order; compare the per-round ratios. Run:
``.venv/bin/python bench/tracing.py --runs 200 --rounds 4``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import traceback
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NoReturn

sys.path.insert(0, str(Path(__file__).resolve().parent))

import throughput
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from durableruns.engine import search_attributes as sa
from durableruns.engine.converter import DATA_CONVERTER
from durableruns.engine.run_metrics import RunMetrics
from durableruns.process import exit_process
from durableruns.service.dev_server import dynamic_config_flags, temporal_binary

SPANS = [0]


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        request = ExportTraceServiceRequest()
        request.ParseFromString(self.rfile.read(int(self.headers["content-length"])))
        SPANS[0] += sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


async def side(name: str, address: str, round_no: int, argv: list[str]) -> dict[str, Any]:
    """One side's measurement in this process (a child of the driver)."""
    args = throughput.parse_args(argv)
    interceptors: list[Any] = [RunMetrics()]
    provider = None
    if name == "on":
        import opentelemetry.trace as otel
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from temporalio.contrib.opentelemetry import create_tracer_provider

        from durableruns.engine.tracing import tracing_interceptors

        server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        provider = create_tracer_provider()
        endpoint = f"http://127.0.0.1:{server.server_port}/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        otel.set_tracer_provider(provider)
        interceptors = [*tracing_interceptors(), RunMetrics()]
    client = await Client.connect(address, data_converter=DATA_CONVERTER, interceptors=interceptors)
    result = await throughput.measure(client, throughput.DURABLERUNS, round_no, args)
    if provider is not None:
        provider.force_flush()
    return {**asdict(result), "spans": SPANS[0]}


async def drive(argv: list[str]) -> int:
    args = throughput.parse_args(argv)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=sa.ALL,
        data_converter=DATA_CONVERTER,
        ui=False,
        dev_server_extra_args=dynamic_config_flags(),
    )
    address = env.client.service_client.config.target_host
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    try:
        for round_no in range(1, args.rounds + 1):
            for name in ["off", "on"] if round_no % 2 else ["on", "off"]:
                command = [sys.executable, __file__, "--side", name, address, str(round_no)]
                done = await asyncio.to_thread(
                    subprocess.run, [*command, *argv], capture_output=True, text=True
                )
                if done.returncode != 0:
                    print(done.stdout, done.stderr, file=sys.stderr)
                    return 1
                row = json.loads(done.stdout.strip().splitlines()[-1])
                rows[(round_no, name)] = row
                print(
                    f"round {round_no} tracing {name:3}: {row['runs_per_s']:6.1f} runs/s, "
                    f"p50 {row['completed_p50_ms']:7.1f} ms, idle completed p50 "
                    f"{row['idle_completed_p50_ms']:6.1f} ms, process CPU "
                    f"{row['process_cpu_ms_per_run']:5.2f} ms/run, spans {row['spans']}",
                    flush=True,
                )
    finally:
        await env.shutdown()
    for round_no in range(1, args.rounds + 1):
        on, off = rows[(round_no, "on")], rows[(round_no, "off")]
        print(
            f"round {round_no}: on/off runs/s {on['runs_per_s'] / off['runs_per_s']:.3f}, "
            f"process CPU/run {on['process_cpu_ms_per_run'] / off['process_cpu_ms_per_run']:.3f}"
            f", idle completed p50 {on['idle_completed_p50_ms'] / off['idle_completed_p50_ms']:.3f}"
        )
    return 0


def cli(argv: list[str]) -> NoReturn:
    try:
        if argv[:1] == ["--side"]:
            name, address, round_no, *rest = argv[1:]
            row = asyncio.run(side(name, address, int(round_no), rest))
            print(json.dumps(row), flush=True)
            status = 0
        else:
            status = asyncio.run(drive(argv))
    except Exception:
        traceback.print_exc()
        status = 1
    exit_process(status)


if __name__ == "__main__":
    cli(sys.argv[1:])
