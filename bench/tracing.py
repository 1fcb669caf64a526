"""The cost of tracing: durableruns runs with tracing on vs off, on ``throughput.py``'s
durableruns side (same task, same HTTP trigger, same closed loop and idle runs).

* **off**: the client as ``engine.client.connect`` makes it without tracing (the
  ``/metrics`` interceptor only);
* **on**: the same plus tracing (``engine/tracing.py``): a replay-safe tracer provider
  whose BatchSpanProcessor exports over OTLP/HTTP to a receiver in this process (a
  thread that decodes each request), as with a collector on the same machine.

Rounds alternate the order; compare the per-round ratios. Run:
``.venv/bin/python bench/tracing.py --runs 200 --rounds 2``.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NoReturn

sys.path.insert(0, str(Path(__file__).resolve().parent))

import opentelemetry.trace as otel  # noqa: E402
import throughput  # noqa: E402
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: E402
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (  # noqa: E402
    ExportTraceServiceRequest,
)
from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.contrib.opentelemetry import create_tracer_provider  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

from durableruns.engine import search_attributes as sa  # noqa: E402
from durableruns.engine.converter import DATA_CONVERTER  # noqa: E402
from durableruns.engine.dev_server import dynamic_config_flags, temporal_binary  # noqa: E402
from durableruns.engine.run_metrics import RunMetrics  # noqa: E402
from durableruns.engine.tracing import tracing_interceptors  # noqa: E402
from durableruns.process import exit_process  # noqa: E402

SPANS = [0]


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(self.rfile.read(int(self.headers["content-length"])))
        SPANS[0] += sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


async def main(argv: list[str]) -> int:
    args = throughput.parse_args(argv)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    provider = create_tracer_provider()
    endpoint = f"http://127.0.0.1:{server.server_port}/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    otel.set_tracer_provider(provider)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=sa.ALL,
        data_converter=DATA_CONVERTER,
        ui=False,
        dev_server_extra_args=dynamic_config_flags(),
    )

    def client(interceptors: list[Any]) -> Client:
        base = env.client
        return Client(
            base.service_client,
            namespace=base.namespace,
            data_converter=DATA_CONVERTER,
            interceptors=interceptors,
        )

    clients = {"off": client([RunMetrics()]), "on": client([*tracing_interceptors(), RunMetrics()])}
    results: list[tuple[int, str, throughput.Result]] = []
    try:
        for round_no in range(1, args.rounds + 1):
            for name in ["off", "on"] if round_no % 2 else ["on", "off"]:
                result = await throughput.measure(
                    clients[name], throughput.DURABLERUNS, round_no, args
                )
                results.append((round_no, name, result))
                print(
                    f"round {round_no} tracing {name:3}: {result.runs_per_s:6.1f} runs/s, "
                    f"p50 {result.completed_p50_ms:6.1f} ms, idle completed p50 "
                    f"{result.idle_completed_p50_ms:6.1f} ms, process CPU "
                    f"{result.process_cpu_ms_per_run:5.2f} ms/run",
                    flush=True,
                )
    finally:
        provider.force_flush()
        await env.shutdown()
    print(f"spans received by the OTLP receiver: {SPANS[0]}")
    for round_no in range(1, args.rounds + 1):
        by = {name: r for n, name, r in results if n == round_no}
        print(
            f"round {round_no}: on/off runs/s {by['on'].runs_per_s / by['off'].runs_per_s:.3f}, "
            f"CPU/run {by['on'].process_cpu_ms_per_run / by['off'].process_cpu_ms_per_run:.3f}, "
            f"idle completed p50 "
            f"{by['on'].idle_completed_p50_ms / by['off'].idle_completed_p50_ms:.3f}"
        )
    return 0


def cli(argv: list[str]) -> NoReturn:
    try:
        status = asyncio.run(main(argv))
    except Exception:
        traceback.print_exc()
        status = 1
    exit_process(status)


if __name__ == "__main__":
    cli(sys.argv[1:])
