"""Temporal Cloud billable actions and history events per run: durableruns against bare
Temporal, on one dev server started here (with its Prometheus ``/metrics``).

Temporal Cloud bills per *action* (docs.temporal.io, "Temporal Cloud Actions",
https://docs.temporal.io/cloud/actions). Counted here, per run, from what the server
recorded:

* from the run's history (and its children's): workflow start (1; a child workflow is
  2, counted at its parent), each timer started, each ``UpsertWorkflowSearchAttributes``
  (but not the ``TemporalChangeVersion`` one a patch writes, which is exempt), each
  signal received, each accepted update, each activity scheduled (plus each retry: the
  started event's ``attempt - 1``), local activities once per workflow task;
* queries (not in history): counted by a client interceptor on every client this
  process uses (worker and facade);
* heartbeats (not in history): the dev server's own count of
  ``RecordActivityTaskHeartbeat`` requests (``service_requests`` of its frontend in
  its ``/metrics``; the history service counts each once more).

Scenarios, each ``--runs`` times, one run at a time: a no-op run; a run that waits on
one child run (``trigger_and_wait``); one with one durable timer (``wait.for_``, 1 s,
above the worker's short-wait threshold so it suspends); one with one step; and one
attempt of ``--long-s`` seconds (heartbeats per minute of execution; 0 skips it),
during which the run is retrieved once over HTTP (the actions a retrieve of a running
run costs), as is a finished run. The bare side (``bench/bare.py``): a workflow and an
activity; then with a timer between two activities; a child workflow between two
activities; two activities (the step being one).

Run: ``.venv/bin/python bench/actions.py [--runs 3] [--long-s 65]``. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import socket
import sys
import time
import traceback
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

import httpx
from bare import (
    BareChildWorkflow,
    BareStepWorkflow,
    BareTimerWorkflow,
    BareWorkflow,
    bare_noop,
)
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, Interceptor, OutboundInterceptor, QueryWorkflowInput
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from durableruns import step, task, wait
from durableruns.api import create_app
from durableruns.engine import search_attributes as sa
from durableruns.engine.converter import DATA_CONVERTER
from durableruns.event_loop import run_service
from durableruns.process import exit_process
from durableruns.service.dev_server import dynamic_config_flags, temporal_binary
from durableruns.settings import Settings
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.assembly import running_worker

SECRET_KEY = "tr_dev_bench_secret_key"
VERSION = "bench.1"
SHORT_WAIT_S = 0.5
E = EventType


# --- the durableruns side's tasks ----------------------------------------------------------
@task(id="actions-noop")
async def noop(payload: Any) -> dict[str, Any]:
    """Does nothing."""
    return {}


@task(id="actions-child")
async def with_child(payload: Any) -> dict[str, Any]:
    """Waits on one no-op child run."""
    child = await noop.trigger_and_wait({})
    return {"ok": child.ok}


@task(id="actions-timer")
async def with_timer(payload: Any) -> dict[str, Any]:
    """One durable timer (suspends: above the worker's short-wait threshold)."""
    await wait.for_(seconds=1)
    return {}


async def _one() -> int:
    return 1


@task(id="actions-step")
async def with_step(payload: Any) -> dict[str, Any]:
    """One step."""
    return {"one": await step.run("one", _one)}


@task(id="actions-long")
async def long_attempt(payload: dict[str, Any]) -> dict[str, Any]:
    """One attempt of ``seconds``: the heartbeats of a minute of execution."""
    await asyncio.sleep(payload["seconds"])
    return {}


REGISTRY = TaskRegistry([noop, with_child, with_timer, with_step, long_attempt])


# --- counting -----------------------------------------------------------------------------
class QueryCounter(Interceptor):
    """Counts the queries a client sends (a query is an action; it is not in history)."""

    def __init__(self) -> None:
        self.queries: Counter[str] = Counter()

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _CountingOutbound(next, self.queries)


class _CountingOutbound(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, queries: Counter[str]) -> None:
        super().__init__(next)
        self._queries = queries

    async def query_workflow(self, input: QueryWorkflowInput) -> Any:
        self._queries[input.id] += 1
        return await super().query_workflow(input)


def history_actions(events: Sequence[HistoryEvent], *, is_child: bool) -> Counter[str]:
    """The billable actions one workflow's history shows (see the module doc)."""
    actions: Counter[str] = Counter()
    local_activity_tasks: set[int] = set()
    for event in events:
        kind = event.event_type
        if kind == E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED and not is_child:
            actions["start"] += 1
        elif kind == E.EVENT_TYPE_TIMER_STARTED:
            actions["timer"] += 1
        elif kind == E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            fields = event.upsert_workflow_search_attributes_event_attributes
            if set(fields.search_attributes.indexed_fields) - {"TemporalChangeVersion"}:
                actions["upsert"] += 1
        elif kind == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            actions["signal"] += 1
        elif kind == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            actions["update"] += 1
        elif kind == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            actions["activity"] += 1
        elif kind == E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            retries = event.activity_task_started_event_attributes.attempt - 1
            if retries > 0:
                actions["activity retry"] += retries
        elif kind == E.EVENT_TYPE_MARKER_RECORDED:
            marker = event.marker_recorded_event_attributes
            if marker.marker_name == "core_local_activity":
                local_activity_tasks.add(marker.workflow_task_completed_event_id)
        elif kind == E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            actions["child"] += 2
    if local_activity_tasks:
        actions["local activity"] += len(local_activity_tasks)
    return actions


@dataclass
class Tally:
    """One scenario on one side: totals over its runs."""

    runs: int = 0
    events: int = 0
    child_events: int = 0
    actions: Counter[str] = field(default_factory=Counter)

    def add_tree(self, trees: list[tuple[Sequence[HistoryEvent], bool]]) -> None:
        self.runs += 1
        for events, is_child in trees:
            if is_child:
                self.child_events += len(events)
            else:
                self.events += len(events)
            self.actions.update(history_actions(events, is_child=is_child))

    def per_run(self) -> tuple[float, float, float, dict[str, float]]:
        n = max(1, self.runs)
        per = {k: v / n for k, v in sorted(self.actions.items())}
        return self.events / n, self.child_events / n, sum(per.values()), per


async def history_tree(
    client: Client, workflow_id: str
) -> list[tuple[Sequence[HistoryEvent], bool]]:
    """The workflow's history and, recursively, its children's (flagged as children)."""
    found: list[tuple[Sequence[HistoryEvent], bool]] = []

    async def walk(wid: str, is_child: bool) -> None:
        history = await client.get_workflow_handle(wid).fetch_history()
        events = list(history.events)
        found.append((events, is_child))
        for event in events:
            if event.event_type == E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
                started = event.child_workflow_execution_started_event_attributes
                await walk(started.workflow_execution.workflow_id, True)

    await walk(workflow_id, False)
    return found


async def heartbeats_seen(metrics_url: str) -> float:
    """The dev server's count of RecordActivityTaskHeartbeat requests so far (as its
    frontend received them)."""
    async with httpx.AsyncClient() as http:
        text = (await http.get(metrics_url)).text
    total = 0.0
    for line in text.splitlines():
        # The history service counts the same request again: the frontend's is the RPC.
        if 'service_name="frontend"' not in line:
            continue
        if (
            line.startswith("service_requests{")
            and 'operation="RecordActivityTaskHeartbeat"' in line
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# --- the sides ------------------------------------------------------------------------------
Scenario = Callable[[], Awaitable[str]]
"""Start one run, wait until it ended, answer its workflow id."""


@contextlib.asynccontextmanager
async def durableruns_side(
    client: Client, announce: bool, announce_after_s: float | None = None
) -> AsyncIterator[tuple[dict[str, Scenario], httpx.AsyncClient]]:
    settings = Settings(
        task_queue_prefix=f"bench-{uuid.uuid4().hex[:8]}", secret_key=SECRET_KEY, environment="dev"
    )
    # Passed only when off: the script also runs against code that predates the setting.
    lean_option: dict[str, Any] = {} if announce else {"announce_attempts": False}
    if announce_after_s is not None:
        lean_option["announce_after_s"] = announce_after_s
    async with (
        running_worker(
            client,
            REGISTRY,
            task_queue_prefix=settings.task_queue_prefix,
            version=VERSION,
            isolation=False,
            short_wait_s=SHORT_WAIT_S,
            **lean_option,
        ),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(settings, client=client)),
            base_url=settings.api_url,
            headers={"Authorization": f"Bearer {SECRET_KEY}"},
            timeout=120,
        ) as http,
    ):

        def scenario(task_id: str, payload: Any = None) -> Scenario:
            async def one() -> str:
                response = await http.post(
                    f"/api/v1/tasks/{task_id}/trigger", json={"payload": payload or {}}
                )
                assert response.status_code == 200, response.text
                run_id: str = response.json()["id"]
                await client.get_workflow_handle(run_id).result()
                return run_id

            return one

        yield (
            {
                "no-op": scenario(noop.id),
                "one child wait": scenario(with_child.id),
                "one timer": scenario(with_timer.id),
                "one step": scenario(with_step.id),
            },
            http,
        )


@contextlib.asynccontextmanager
async def bare_side(client: Client) -> AsyncIterator[dict[str, Scenario]]:
    queue = f"bench-bare-{uuid.uuid4().hex[:8]}"
    workflows = [BareWorkflow, BareTimerWorkflow, BareChildWorkflow, BareStepWorkflow]
    async with Worker(client, task_queue=queue, workflows=workflows, activities=[bare_noop]):

        def scenario(workflow: Any) -> Scenario:
            async def one() -> str:
                workflow_id = f"bare-{uuid.uuid4().hex}"
                await client.execute_workflow(workflow, {}, id=workflow_id, task_queue=queue)
                return workflow_id

            return one

        yield {
            "no-op": scenario(BareWorkflow.run),
            "one child wait": scenario(BareChildWorkflow.run),
            "one timer": scenario(BareTimerWorkflow.run),
            "one step": scenario(BareStepWorkflow.run),
        }


async def measure(
    client: Client,
    scenarios: dict[str, Scenario],
    runs: int,
    metrics_url: str,
    counter: QueryCounter,
) -> dict[str, tuple[Tally, float, int]]:
    """Per scenario: its tally, the heartbeats and the run workflows' queries seen."""
    results: dict[str, tuple[Tally, float, int]] = {}
    for name, one in scenarios.items():
        tally = Tally()
        beats_before = await heartbeats_seen(metrics_url)
        queries_before = sum(counter.queries.values())
        for _ in range(runs):
            workflow_id = await one()
            tally.add_tree(await history_tree(client, workflow_id))
        await asyncio.sleep(1)  # late heartbeat requests reach the metrics
        beats = await heartbeats_seen(metrics_url) - beats_before
        queries = sum(counter.queries.values()) - queries_before
        results[name] = (tally, beats / runs, queries)
    return results


def print_table(title: str, results: dict[str, tuple[Tally, float, int]], runs: int) -> None:
    print(f"\n{title}")
    print(f"  {'scenario':<16} {'events':>7} {'+child':>7} {'actions':>8}  breakdown (per run)")
    for name, (tally, beats, queries) in results.items():
        events, child_events, total, per = tally.per_run()
        extra = {"heartbeat": beats, "query": queries / runs}
        for key, value in extra.items():
            if value:
                per[key] = value
                total += value
        breakdown = ", ".join(f"{k} {v:g}" for k, v in per.items())
        print(f"  {name:<16} {events:>7g} {child_events:>7g} {total:>8g}  {breakdown}")


async def long_attempt_figures(
    client: Client, http: httpx.AsyncClient, seconds: float, metrics_url: str, counter: QueryCounter
) -> None:
    """One attempt of ``seconds``: heartbeats per minute; the actions of a retrieve of the
    running run and of the finished one."""
    beats_before = await heartbeats_seen(metrics_url)
    response = await http.post(
        f"/api/v1/tasks/{long_attempt.id}/trigger", json={"payload": {"seconds": seconds}}
    )
    run_id = response.json()["id"]
    handle = client.get_workflow_handle(run_id)
    while True:  # the attempt's code is running
        pending = (await handle.describe()).raw_description.pending_activities
        if pending and pending[0].last_started_time.seconds:
            break
        await asyncio.sleep(0.1)
    started = time.monotonic()
    await asyncio.sleep(min(5.0, seconds / 2))
    before = counter.queries[run_id]
    body = (await http.get(f"/api/v3/runs/{run_id}")).json()
    running_queries = counter.queries[run_id] - before
    await handle.result()
    ran = time.monotonic() - started
    await asyncio.sleep(1)
    beats = await heartbeats_seen(metrics_url) - beats_before
    before = counter.queries[run_id]
    final = (await http.get(f"/api/v3/runs/{run_id}")).json()
    finished_queries = counter.queries[run_id] - before
    print(
        f"\nOne attempt of {seconds:g} s (ran {ran:.1f} s): {beats:g} heartbeats reached the server"
    )
    print(f"  = {beats / ran * 60:.2f} heartbeat actions per minute of execution")
    print(
        f"  retrieve while {body.get('status')}: {running_queries} queries; "
        f"retrieve once {final.get('status')}: {finished_queries} queries"
    )


async def main(args: argparse.Namespace) -> int:
    print(f"bench/actions.py {' '.join(sys.argv[1:])}; {os.cpu_count()} CPUs; load {load()}")
    port = free_port()
    metrics_url = f"http://127.0.0.1:{port}/metrics"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=sa.ALL,
        data_converter=DATA_CONVERTER,
        ui=False,
        dev_server_extra_args=[*dynamic_config_flags(), "--metrics-port", str(port)],
    )
    counter = QueryCounter()
    client = Client(
        env.client.service_client,
        namespace=env.client.namespace,
        data_converter=DATA_CONVERTER,
        interceptors=[counter],
    )
    try:
        async with bare_side(client) as scenarios:
            for one in scenarios.values():
                await one()  # warm up
            bare = await measure(client, scenarios, args.runs, metrics_url, counter)
        announcing = not args.no_announce
        async with durableruns_side(client, announcing, args.announce_after) as (scenarios, http):
            for one in scenarios.values():
                await one()
            ours = await measure(client, scenarios, args.runs, metrics_url, counter)
            print_table("bare Temporal (bench/bare.py)", bare, args.runs)
            lean = " (announce_attempts off)" if args.no_announce else ""
            if announcing and args.announce_after is not None:
                lean = f" (announce_after_s {args.announce_after:g})"
            print_table(f"durableruns{lean}", ours, args.runs)
            if args.long_s > 0:
                await long_attempt_figures(client, http, args.long_s, metrics_url, counter)
    finally:
        await env.shutdown()
    print(f"\nload {load()}")
    return 0


def cli(argv: list[str]) -> NoReturn:
    """Run the benchmark and leave through exit_process (temporalio's exit crash)."""
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3, help="runs per scenario and side")
    parser.add_argument("--long-s", type=float, default=65.0, help="the long attempt (0: skip)")
    parser.add_argument(
        "--no-announce",
        action="store_true",
        help="lean attempts: the worker does not signal starts (announce_attempts off)",
    )
    parser.add_argument(
        "--announce-after", type=float, metavar="S", help="as in throughput.py (0: at once)"
    )
    args = parser.parse_args(argv)
    try:
        status = run_service(main(args))  # the loop the product runs on
    except KeyboardInterrupt:
        status = 130
    except Exception:
        traceback.print_exc()
        status = 1
    exit_process(status)


if __name__ == "__main__":
    cli(sys.argv[1:])
