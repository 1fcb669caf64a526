"""Prometheus metrics of this process (``prometheus_client``'s default registry).

Every process counts what it does itself: the facade the runs it triggers, a worker the
runs its workflows start (children, in-task triggers, schedule ticks) and end, and the
attempt executions it runs. Prometheus sums them across processes. Gauges of queues and
realtime subscribers are read when the facade is scraped (``api/routes/metrics.py``).
temporalio's own SDK metrics (``temporal_*``) are added from its runtime's Prometheus
endpoint (:mod:`durableruns.engine.sdk_metrics`), so one scrape gives both.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from wsgiref.simple_server import WSGIServer

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from prometheus_client import start_http_server as _start_http_server

RUNS_TRIGGERED = Counter(
    "durableruns_runs_triggered", "Runs started by this process, by task.", ["task"]
)
RUNS_FINISHED = Counter(
    "durableruns_runs_finished",
    "Runs that reached a final status in this process's workflows, by task and status.",
    ["task", "status"],
)
ATTEMPT_EXECUTIONS = Counter(
    "durableruns_attempt_executions",
    "Executions of task code (attempts and their continuations) run by this worker,"
    " by task and outcome (completed, suspended, failed, canceled).",
    ["task", "outcome"],
)
ATTEMPT_SECONDS = Histogram(
    "durableruns_attempt_execution_duration_seconds",
    "Wall time of one execution of task code on this worker, by task and outcome.",
    ["task", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
)
QUEUE_WAITING = Gauge(
    "durableruns_queue_waiting_runs",
    "Runs waiting for a slot of a limited queue (read at scrape time).",
    ["environment", "queue"],
)
QUEUE_SLOTS_IN_USE = Gauge(
    "durableruns_queue_slots_in_use",
    "Slots of a limited queue held by runs (read at scrape time).",
    ["environment", "queue"],
)
QUEUE_LIMIT = Gauge(
    "durableruns_queue_concurrency_limit",
    "A limited queue's concurrency limit (read at scrape time).",
    ["environment", "queue"],
)
REALTIME_SUBSCRIBERS = Gauge(
    "durableruns_realtime_subscribers",
    "Open realtime subscriptions (SSE streams and live shape requests) on this facade.",
    ["environment"],
)


def exposition() -> tuple[bytes, str]:
    """The registry in Prometheus text format, and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST


@contextlib.contextmanager
def serving(port: int, host: str = "127.0.0.1") -> Iterator[int]:
    """Serve ``/metrics`` on ``host:port`` (0: a free port) for the block; yields the port."""
    server, thread = _start_http_server(port, addr=host)
    bound: int = server.server_port
    # The operator's announcement of where to scrape, as the CLI's other banners.
    print(f"durableruns metrics on http://{host}:{bound}/metrics", file=sys.stderr, flush=True)  # noqa: T201
    try:
        yield bound
    finally:
        _shutdown(server, thread)


def _shutdown(server: WSGIServer, thread: threading.Thread) -> None:
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
