"""Records the workflow histories the replay test replays.

Run it only when a workflow change is *meant* to alter commands, and then add new
files instead of rewriting old ones (a red replay test is never re-recorded green):

    .venv/bin/python -m tests.engine.record_histories [NAME ...]

Files ending ``--pre-d400ebb`` were recorded by the first engine (an Update announced
an attempt's start, the TTL was a timer); they were overwritten once by mistake and are
restored from git, since runs of that engine must still replay.

Each scenario triggers runs through the facade against a fresh dev server and saves
every workflow the scenario made (parents, children, batches) as
``histories/<scenario>--<n>.json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from temporalio.testing import WorkflowEnvironment

from durableruns.engine import search_attributes as sa
from durableruns.engine.converter import DATA_CONVERTER
from durableruns.engine.names import limit_workflow_id, monitor_id, queue_workflow_id
from durableruns.engine.workflows.monitor import OCCURRED_SIGNAL
from durableruns.error_group_models import ErrorOccurrence
from durableruns.process import exit_process
from durableruns.service.catalog import catalog_id
from durableruns.service.dev_server import (
    dynamic_config_flags,
    environment_namespace_flags,
    temporal_binary,
)
from durableruns.service.error_groups import ErrorGroupService
from durableruns.task_definitions import TaskRegistry
from tests.helpers import STACK_MODULES, Stack, eventually, open_stack

HISTORIES = Path(__file__).parent / "histories"

Scenario = Callable[[Stack], Awaitable[list[str]]]


async def _one(stack: Stack, task_id: str, payload: object, **options: object) -> list[str]:
    run_id = await stack.trigger(task_id, payload, **options)
    run = await stack.wait_final(run_id, timeout=60)
    return [run_id, *(c["id"] for c in run["relatedRuns"].get("children", []))]


async def _canceled(stack: Stack) -> list[str]:
    run_id = await stack.trigger("waits-for-a-sleepy-child", {"child": {"seconds": 30}})
    run = await stack.wait_status(run_id, "WAITING")
    await stack.http.post(f"/api/v2/runs/{run_id}/cancel")
    await stack.wait_final(run_id)
    child = run["relatedRuns"]["children"][0]["id"]
    await stack.wait_final(child)
    return [run_id, child]


async def _rescheduled(stack: Stack) -> list[str]:
    run_id = await stack.trigger("hello-world", {"name": "later"}, delay="1h")
    await stack.http.post(f"/api/v1/runs/{run_id}/reschedule", json={"delay": "1s"})
    await stack.wait_final(run_id)
    return [run_id]


async def _metadata(stack: Stack) -> list[str]:
    run_id = await stack.trigger("metadata-writer", {"pause": 1})
    await stack.wait_status(run_id, "EXECUTING")
    await stack.http.put(f"/api/v1/runs/{run_id}/metadata", json={"metadata": {"api": 1}})
    await stack.wait_final(run_id)
    return [run_id]


async def _batch(stack: Stack) -> list[str]:
    created = (await stack.http.post("/api/v3/batches", json={"runCount": 2})).json()
    lines = b"\n".join(
        b'{"index":%d,"task":"hello-world","payload":{"name":"%d"}}' % (i, i) for i in range(2)
    )
    await stack.http.post(f"/api/v3/batches/{created['id']}/items", content=lines)
    batch = (await stack.http.get(f"/api/v2/batches/{created['id']}")).json()
    for run_id in batch["runs"]:
        await stack.wait_final(run_id)
    return [created["id"], *batch["runs"]]


async def _queue(stack: Stack) -> list[str]:
    run_ids = [await stack.trigger("limited", {"seconds": 0.3}) for _ in range(3)]
    for run_id in run_ids:
        await stack.wait_final(run_id)
    prefix = stack.settings.task_queue_prefix
    return [*run_ids, queue_workflow_id(prefix, "limited", None), catalog_id(prefix)]


async def _limits(stack: Stack) -> list[str]:
    """Runs under an inline per-key + total limit, an inline + named pair, and a
    legacy queue's limit; the limits' workflows with them."""
    run_ids = [await stack.trigger("keyed", {"seconds": 0.3}, concurrencyKey=key) for key in "aab"]
    run_ids.append(await stack.trigger("inline-and-named", {"seconds": 0.2}, priority=5))
    run_ids.append(await stack.trigger("limited", {"seconds": 0.2}))
    for run_id in run_ids:
        await stack.wait_final(run_id)
    prefix = stack.settings.task_queue_prefix
    names = ["task/keyed", "task/inline-and-named", "alt-three", "queue/limited"]
    return [*run_ids, *(limit_workflow_id(prefix, name) for name in names)]


async def _limit_ttl_expired(stack: Stack) -> list[str]:
    """A run whose TTL passes in a full limit's line: the limit wakes it, it expires."""
    blocker = await stack.trigger("shared-a", {"seconds": 3})
    await stack.wait_status(blocker, "EXECUTING", timeout=30)
    doomed = await stack.trigger("shared-b", {}, ttl="1s")
    for run_id in (doomed, blocker):
        await stack.wait_final(run_id, timeout=30)
    prefix = stack.settings.task_queue_prefix
    return [doomed, blocker, limit_workflow_id(prefix, "shared-one")]


async def _canceled_suspended(stack: Stack) -> list[str]:
    run_id = await stack.trigger("recursive", {"depth": 2})
    run = await stack.wait_status(run_id, "WAITING")
    await stack.http.post(f"/api/v2/runs/{run_id}/cancel")
    await stack.wait_final(run_id)
    child = run["relatedRuns"]["children"][0]["id"]
    await stack.wait_final(child)
    return [run_id, child]


async def _canceled_executing(stack: Stack) -> list[str]:
    run_id = await stack.trigger("sleepy", {"seconds": 30})
    await stack.wait_status(run_id, "EXECUTING")
    await stack.http.post(f"/api/v2/runs/{run_id}/cancel")
    await stack.wait_final(run_id)
    return [run_id]


async def _canceled_mid_attempt(stack: Stack) -> list[str]:
    """Canceled while its code runs, after the run waits for a canceled execution's
    outcome (``CANCELED_OUTCOME_PATCH``): the attempt's start, then the hooks."""
    run_id = await stack.trigger("hooks-history-runs", {"seconds": 30})
    await stack.wait_status(run_id, "EXECUTING")
    await asyncio.sleep(1.0)  # past the cancel watch's first half second
    await stack.http.post(f"/api/v2/runs/{run_id}/cancel")
    await stack.wait_final(run_id)
    await _workflow_closed(stack, run_id)
    return [run_id]


async def _debounced(stack: Stack) -> list[str]:
    options = {"debounce": {"key": uuid.uuid4().hex, "delay": "1s", "mode": "trailing"}}
    run_ids = [await stack.trigger("hello-world", {"name": n}, **options) for n in "ab"]
    await stack.wait_final(run_ids[0])
    return [run_ids[0]]


async def _token_id(stack: Stack, run_id: str) -> str:
    run = await eventually(
        lambda: stack.retrieve(run_id),
        lambda r: r["status"] == "WAITING" and any(w["kind"] == "token" for w in r["waits"]),
        timeout=30,
    )
    token_id: str = next(w["tokenId"] for w in run["waits"] if w["kind"] == "token")
    return token_id


async def _token_closed(stack: Stack, token_id: str) -> None:
    async def status() -> str:
        description = await stack.client.get_workflow_handle(token_id).describe()
        return description.status.name if description.status else ""

    await eventually(status, lambda s: s == "COMPLETED", timeout=30)


async def _token_approval(stack: Stack) -> list[str]:
    """The example: a token made by task code, completed over HTTP while the run waits."""
    run_id = await stack.trigger("wait-for-approval", {})
    token_id = await _token_id(stack, run_id)
    await stack.http.post(
        f"/api/v1/waitpoints/tokens/{token_id}/complete", json={"data": {"approved": True}}
    )
    await stack.wait_final(run_id)
    await _token_closed(stack, token_id)
    return [run_id, token_id]


async def _new_token(stack: Stack, **body: object) -> str:
    response = await stack.http.post("/api/v1/waitpoints/tokens", json=body)
    token_id: str = response.json()["id"]
    return token_id


async def _token_before_wait(stack: Stack) -> list[str]:
    """Completed (twice) before the run waits; two runs wait on it afterwards."""
    token_id = await _new_token(stack, timeout="5m")
    for n in (1, 2):
        await stack.http.post(
            f"/api/v1/waitpoints/tokens/{token_id}/complete", json={"data": {"n": n}}
        )
    await _token_closed(stack, token_id)
    run_ids = [await stack.trigger("waits-on-token", {"token_id": token_id}) for _ in range(2)]
    for run_id in run_ids:
        await stack.wait_final(run_id)
    return [*run_ids, token_id]


async def _token_timeout(stack: Stack) -> list[str]:
    token_id = await _new_token(stack, timeout="2s")
    run_id = await stack.trigger("waits-on-token", {"token_id": token_id})
    await _token_id(stack, run_id)
    await stack.wait_final(run_id)
    await _token_closed(stack, token_id)
    return [run_id, token_id]


async def _token_canceled(stack: Stack) -> list[str]:
    """Two runs wait; one is canceled; the token is completed after (via its URL)."""
    created = (await stack.http.post("/api/v1/waitpoints/tokens", json={})).json()
    token_id = created["id"]
    run_ids = [await stack.trigger("waits-on-token", {"token_id": token_id}) for _ in range(2)]
    for run_id in run_ids:
        await _token_id(stack, run_id)
    await stack.http.post(f"/api/v2/runs/{run_ids[0]}/cancel")
    await stack.wait_final(run_ids[0])
    await stack.http.post(urlsplit(created["url"]).path, json={"late": True})
    await stack.wait_final(run_ids[1])
    await _token_closed(stack, token_id)
    return [*run_ids, token_id]


async def _token_in_task(stack: Stack) -> list[str]:
    """Task code creates (one keyed), completes, retrieves and lists tokens, then waits
    on the one it completed."""
    tag = f"history-{uuid.uuid4().hex[:8]}"
    log = f"/tmp/durableruns-token-log-{uuid.uuid4().hex}"
    run_id = await stack.trigger("token-roundtrip", {"tag": tag, "log": log})
    run = await stack.wait_final(run_id)
    token_id, keyed_id = run["output"]["token"], run["output"]["keyed"][0]
    await _token_closed(stack, token_id)
    return [run_id, token_id, keyed_id]


async def _input_wait(stack: Stack, run_id: str, position: int) -> None:
    await eventually(
        lambda: stack.retrieve(run_id),
        lambda r: (
            r["status"] == "WAITING"
            and any(w["kind"] == "input" and w["position"] == position for w in r["waits"])
        ),
        timeout=30,
    )


async def _send_input(stack: Stack, run_id: str, stream: str, data: object) -> None:
    url = f"/realtime/v1/streams/{run_id}/input/{stream}"
    response = await stack.http.post(url, json={"data": data})
    assert response.status_code == 200, response.text


async def _input_streams(stack: Stack) -> list[str]:
    """once (in the process), wait (suspends; resumed by a send), a step, wait, once."""
    run_id = await stack.trigger("input-mixed", {})
    await _send_input(stack, run_id, "msg", "a")
    await _input_wait(stack, run_id, 1)
    await _send_input(stack, run_id, "msg", "b")
    await _input_wait(stack, run_id, 3)
    for value in ("c", "d"):
        await _send_input(stack, run_id, "msg", value)
    await stack.wait_final(run_id)
    return [run_id]


async def _input_before_listen(stack: Stack) -> list[str]:
    """Values sent while the run is DELAYED, consumed by three waits."""
    run_id = await stack.trigger("input-wait-many", {"count": 3}, delay="2s")
    for n in range(3):
        await _send_input(stack, run_id, "notes", {"n": n})
    await stack.wait_final(run_id)
    return [run_id]


async def _input_on(stack: Stack) -> list[str]:
    """An ``on`` handler fed while the code runs, then a stop (``once``)."""
    run_id = await stack.trigger("input-on", {})
    await stack.wait_status(run_id, "EXECUTING")
    for n in range(3):
        await _send_input(stack, run_id, "msg", n)
    await asyncio.sleep(1)
    await _send_input(stack, run_id, "stop", True)
    await stack.wait_final(run_id)
    return [run_id]


async def _hooks_canceled(stack: Stack) -> list[str]:
    run_id = await stack.trigger("hooks-history", {"wait": 30})
    await stack.wait_status(run_id, "WAITING")
    await stack.http.post(f"/api/v2/runs/{run_id}/cancel")
    await stack.wait_final(run_id)
    await _workflow_closed(stack, run_id)
    return [run_id]


async def _workflow_closed(stack: Stack, run_id: str) -> None:
    """After the final status: the hooks activity runs before the workflow closes."""
    with contextlib.suppress(Exception):  # a canceled workflow's result raises
        await stack.client.get_workflow_handle(run_id).result(follow_runs=False)


async def _hooks_completed(stack: Stack) -> list[str]:
    run_id = await stack.trigger("hooks-history", {})
    await stack.wait_final(run_id)
    await _workflow_closed(stack, run_id)
    return [run_id]


async def _monitor(stack: Stack) -> list[str]:
    """The environment's monitor workflow: batched reports (a recovered run's two
    retried attempts; a failed run's retried and final ones), a report on the single
    signal workers sent before batches, and an alert whose matches start deliveries
    (to a port that refuses: the deliveries are abandoned children, not waited on)."""
    prefix = stack.settings.task_queue_prefix
    created = await stack.http.post(
        "/api/v1/alerts",
        json={
            "name": "replay",
            "events": ["run.failed", "error_group.new"],
            "channel": {"type": "webhook", "url": "http://127.0.0.1:9/h", "secret": "whsec-replay"},
            "throttleSeconds": 1,
        },
    )
    assert created.status_code == 200, created.text
    await _one(stack, "flaky", {"fail_times": 2})
    await _one(stack, "always-fails", {})
    legacy = ErrorOccurrence(
        group_id="error_00000000000000aa",
        fingerprint="00000000000000aa",
        task_id="always-fails",
        error_type="BoomError",
        message="boom",
        run_id="run_legacy",
        at=datetime.now(UTC),
    )
    await stack.client.get_workflow_handle(monitor_id(prefix)).signal(OCCURRED_SIGNAL, legacy)
    service = ErrorGroupService(stack.client, task_queue_prefix=prefix)

    async def occurrences() -> int:
        await asyncio.sleep(0.6)  # past the service's read cache
        return (await service.state()).occurrences

    await eventually(occurrences, lambda n: n >= 5, timeout=30)
    await asyncio.sleep(2)  # a throttle window closes: a digest
    return [monitor_id(prefix)]


async def _offer_refused(stack: Stack) -> list[str]:
    """On a worker with one attempt slot per task, which its idle poll holds: the runs
    worker refuses the offered execution, and it runs from the task's queue."""
    registry = TaskRegistry.from_modules(MODULES)
    async with open_stack(stack.client, registry, max_concurrent_attempts=1) as small:
        await eventually(small.service_catalog, lambda c: bool(c.versions), timeout=30)
        return await _one(small, "hello-world", {"name": "Refused"})


SCENARIOS: dict[str, Scenario] = {
    "hello-world": lambda s: _one(s, "hello-world", {"name": "Replay"}),
    "sleepy": lambda s: _one(s, "sleepy", {"seconds": 0.5}),
    "always-fails": lambda s: _one(s, "always-fails", {}),
    "flaky": lambda s: _one(s, "flaky", {"fail_times": 2}),
    "too-slow": lambda s: _one(s, "too-slow", {}),
    "expired": lambda s: _one(s, "no-worker-serves-this", {}, ttl="1s"),
    "parent-waits": lambda s: _one(s, "parent-waits", {"names": ["a", "b", "c"]}),
    "pipeline": lambda s: _one(s, "pipeline", {"name": "P", "seconds": 0.1}),
    "parent-child-fails": lambda s: _one(s, "parent-child-fails", {}),
    "canceled-parent": _canceled,
    "rescheduled": _rescheduled,
    "metadata": _metadata,
    "batch": _batch,
    "queue": _queue,
    # Since attempts suspend at waits (the first histories above predate it):
    "suspended-pipeline": lambda s: _one(s, "pipeline", {"name": "S", "seconds": 0.1}),
    "suspended-batch": lambda s: _one(s, "parent-waits", {"names": ["x", "y"]}),
    "steps": lambda s: _one(s, "checkout", {"counter": "/tmp/durableruns-steps", "seconds": 1}),
    "resume-mismatch": lambda s: _one(
        s, "changes-its-calls", {"marker": f"/tmp/durableruns-marker-{uuid.uuid4().hex}"}
    ),
    "canceled-suspended": _canceled_suspended,
    # Since workflows close with the run's Temporal status (Failed, Canceled):
    "closed-failed": lambda s: _one(s, "always-fails", {}),
    "closed-expired": lambda s: _one(s, "no-worker-serves-this", {}, ttl="1s"),
    "closed-canceled": _canceled_executing,
    "closed-failed-child": lambda s: _one(s, "parent-child-fails", {}),
    "debounced": _debounced,
    # Wait tokens:
    "token-approval": _token_approval,
    "token-before-wait": _token_before_wait,
    "token-timeout": _token_timeout,
    "token-canceled": _token_canceled,
    "token-in-task": _token_in_task,
    # Streams from task code (stream_chunks signals, a continuation carrying offsets):
    "streams": lambda s: _one(s, "stream-across-wait", {"wait": 1.0}),
    # Concurrency limits (limit workflows) and task-queue priority:
    "limits": _limits,
    "priority": lambda s: _one(s, "unlimited", {"label": "first"}, priority=90),
    # Since a limit wakes its runs whose TTL passed in line (no timer in the run):
    "limits-woken": _limits,
    "limit-ttl-expired": _limit_ttl_expired,
    # Workers that do not announce attempt starts (announce_attempts off; LEAN below):
    # the start comes back with the outcome, the version with the final status.
    "lean-hello-world": lambda s: _one(s, "hello-world", {"name": "Lean"}),
    "lean-pipeline": lambda s: _one(s, "pipeline", {"name": "L", "seconds": 0.1}),
    "lean-always-fails": lambda s: _one(s, "always-fails", {}),
    "lean-canceled": _canceled_executing,
    "lean-canceled-mid-attempt": _canceled_mid_attempt,
    # Runs that keep their changing state in the memo (RunInput.record_in_memo):
    "memo-pipeline": lambda s: _one(s, "pipeline", {"name": "M", "seconds": 0.1}),
    "memo-flaky": lambda s: _one(s, "flaky", {"fail_times": 2}),
    "memo-metadata": _metadata,
    "memo-rescheduled": _rescheduled,
    "memo-streams": lambda s: _one(s, "stream-across-wait", {"wait": 1.0}),
    # Input streams (input_sent / input_consumed signals, input waits, the patch):
    "input-streams": _input_streams,
    "input-before-listen": _input_before_listen,
    "input-timeout": lambda s: _one(s, "input-wait", {"timeout": "1s"}),
    "input-on": _input_on,
    # Lifecycle hooks: the hooks activity after the final status, catch_error's delay:
    "hooks-completed": _hooks_completed,
    "hooks-canceled": _hooks_canceled,
    "lean-hooks-completed": _hooks_completed,
    # The monitor workflow (error groups, alerts), since every failed attempt is reported:
    "monitor": _monitor,
    # Executions offered on the runs queue (eager activity dispatch), continuations too,
    # and an offer refused (a worker whose bound leaves no slot) run on the task queue:
    "offered-hello-world": lambda s: _one(s, "hello-world", {"name": "Offered"}),
    "offered-pipeline": lambda s: _one(s, "pipeline", {"name": "O", "seconds": 0.1}),
    "offered-refused": _offer_refused,
}
LEAN = "lean-"
"""Scenarios of this prefix run on a stack whose worker does not announce attempts."""
MODULES = [
    *STACK_MODULES,
    "tests.helpers.tasks.stream_tasks",
    "tests.helpers.tasks.limit_tasks",
    "tests.helpers.tasks.input_tasks",
    "tests.helpers.tasks.hook_history_tasks",
]
"""The tests' tasks, and the tasks of scenarios recorded since (streams, limits, input
streams, hooks)."""


async def record(names: list[str]) -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=sa.ALL,
        data_converter=DATA_CONVERTER,
        dev_server_extra_args=[*dynamic_config_flags(), *environment_namespace_flags()],
    )
    try:
        for lean in (False, True):
            chosen = [name for name in names if name.startswith(LEAN) == lean]
            if not chosen:
                continue
            registry = TaskRegistry.from_modules(MODULES)
            async with open_stack(env.client, registry, announce_attempts=not lean) as stack:
                for name in chosen:
                    workflow_ids = await SCENARIOS[name](stack)
                    for n, workflow_id in enumerate(workflow_ids):
                        handle = env.client.get_workflow_handle(workflow_id)
                        history = await handle.fetch_history()
                        path = HISTORIES / f"{name}--{n}.json"
                        path.write_text(history.to_json())
                        print(f"recorded {path.name}")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    HISTORIES.mkdir(exist_ok=True)
    asyncio.run(record(sys.argv[1:] or list(SCENARIOS)))
    exit_process(0)
