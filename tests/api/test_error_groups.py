"""``/api/v1/errors`` against a real worker: failed runs group by fingerprint, counts
and status live in the error-groups workflow, ``filter[errorGroup]`` lists a group's
runs, resolve → regression, ignore until N, retried attempts counted too, bad input, and
what a run pays for it (successful runs: nothing; failed: one signal)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from durableruns.cli.commands import run as cli
from durableruns.engine.names import monitor_id, runs_queue
from durableruns.engine.workflows.monitor import (
    OCCURRED_SIGNAL,
    MonitorState,
    MonitorWorkflow,
)
from durableruns.error_group_models import ErrorOccurrence
from durableruns.errors import NotFoundError
from durableruns.sdk import errors as sdk_errors
from durableruns.service.error_groups import ErrorGroupService
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.assembly import running_worker
from tests.helpers import Stack, eventually, open_stack
from tests.helpers.tasks import error_tasks

REGISTRY = [
    error_tasks.err_lookup,
    error_tasks.err_divide,
    error_tasks.err_ok,
    error_tasks.err_flaky,
    error_tasks.err_thrice,
]


@pytest.fixture(scope="module")
async def errors_stack(client: Client) -> AsyncIterator[Stack]:
    async with open_stack(client, TaskRegistry(REGISTRY)) as stack:
        yield stack


async def _fail(stack: Stack, task_id: str, payload: Any) -> dict[str, Any]:
    run = await stack.wait_final(await stack.trigger(task_id, payload))
    assert run["status"] == "FAILED", run
    return run


async def _groups(stack: Stack, query: str = "") -> list[dict[str, Any]]:
    response = await stack.http.get(f"/api/v1/errors{query}")
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def _count(stack: Stack, task_id: str) -> int:
    return next((g["count"] for g in await _groups(stack) if g["taskIdentifier"] == task_id), 0)


async def _group_of(stack: Stack, task_id: str, count: int) -> dict[str, Any]:
    """The task's group once it counts exactly ``count`` occurrences."""

    def ok(groups: list[dict[str, Any]]) -> bool:
        return any(g["taskIdentifier"] == task_id and g["count"] == count for g in groups)

    groups = await eventually(lambda: _groups(stack), ok)
    return next(g for g in groups if g["taskIdentifier"] == task_id)


async def test_the_same_error_in_different_runs_is_one_group(errors_stack: Stack) -> None:
    runs = [
        await _fail(errors_stack, "err-lookup", {"user": f"user-{i}", "tries": i}) for i in range(3)
    ]
    await _fail(errors_stack, "err-divide", None)
    group = await _group_of(errors_stack, "err-lookup", 3)
    assert group["count"] == 3
    assert group["errorType"] == "UserMissingError"
    assert group["errorMessage"] == "user <str> not found after <n> tries"
    assert group["status"] == "unresolved"
    assert group["id"].startswith("error_") and group["fingerprint"] == group["id"][6:]
    assert sum(group["sparkline"]) == 3
    divide = await _group_of(errors_stack, "err-divide", 1)
    assert divide["id"] != group["id"] and divide["errorType"] == "ZeroDivisionError"

    detail = (await errors_stack.http.get(f"/api/v1/errors/{group['id']}")).json()
    assert detail["affectedVersions"] == ["20261128.1"]
    assert detail["sampleRunId"] == runs[0]["id"]
    assert detail["frame"] == "error_tasks.py:err_lookup"

    async def listed() -> set[str]:
        page = await errors_stack.http.get(f"/api/v1/runs?filter[errorGroup]={group['id']}")
        return {r["id"] for r in page.json()["data"]}

    await eventually(listed, lambda ids: ids == {r["id"] for r in runs})


async def test_a_resolved_group_that_recurs_regresses(errors_stack: Stack) -> None:
    before = await _count(errors_stack, "err-divide")
    await _fail(errors_stack, "err-divide", None)
    group = await _group_of(errors_stack, "err-divide", before + 1)
    resolved = await errors_stack.http.post(
        f"/api/v1/errors/{group['id']}/resolve", json={"resolvedInVersion": "20261128.2"}
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"
    assert resolved.json()["resolvedInVersion"] == "20261128.2"
    await _fail(errors_stack, "err-divide", None)

    async def detail() -> dict[str, Any]:
        response = await errors_stack.http.get(f"/api/v1/errors/{group['id']}")
        body: dict[str, Any] = response.json()
        return body

    regressed = await eventually(detail, lambda d: d["status"] == "unresolved")
    assert regressed["regressions"] == 1 and regressed["regressedAt"]
    assert regressed["count"] == group["count"] + 1


async def test_an_ignored_group_comes_back_after_n_more(errors_stack: Stack) -> None:
    payload = {"user": "ann", "tries": 1}
    before = await _count(errors_stack, "err-lookup")
    await _fail(errors_stack, "err-lookup", payload)
    group = await _group_of(errors_stack, "err-lookup", before + 1)
    ignored = await errors_stack.http.post(
        f"/api/v1/errors/{group['id']}/ignore", json={"totalOccurrences": 2, "reason": "known"}
    )
    assert ignored.status_code == 200, ignored.text
    assert ignored.json()["status"] == "ignored"
    assert ignored.json()["ignoredReason"] == "known"
    assert [g["id"] for g in await _groups(errors_stack, "?filter[status]=ignored")] == [
        group["id"]
    ]
    await _fail(errors_stack, "err-lookup", payload)
    one_more = await _group_of(errors_stack, "err-lookup", before + 2)
    assert one_more["status"] == "ignored"
    await _fail(errors_stack, "err-lookup", payload)

    async def status() -> str:
        response = await errors_stack.http.get(f"/api/v1/errors/{group['id']}")
        value: str = response.json()["status"]
        return value

    await eventually(status, lambda s: s == "unresolved")
    unresolved = await errors_stack.http.post(f"/api/v1/errors/{group['id']}/unresolve")
    assert unresolved.json()["status"] == "unresolved"


async def test_grouping_adds_nothing_to_a_runs_history_and_one_signal_per_failed_run(
    errors_stack: Stack, client: Client
) -> None:
    groups = client.get_workflow_handle(monitor_id(errors_stack.settings.task_queue_prefix))

    async def signals() -> int:
        history = await groups.fetch_history()
        signaled = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        return sum(1 for e in history.events if e.event_type == signaled)

    before = await signals()
    ok = await errors_stack.wait_final(await errors_stack.trigger("err-ok", None))
    failed = await _fail(errors_stack, "err-divide", None)
    await eventually(signals, lambda n: n == before + 1)

    async def events(run_id: str) -> list[Any]:
        return list((await client.get_workflow_handle(run_id).fetch_history()).events)

    for run in (ok, failed):
        kinds = {e.event_type for e in await events(run["id"])}
        assert EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED not in kinds
    upserts = [
        e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
        for e in await events(failed["id"])
        if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
    ]
    # The group id rides on the upsert that sets FAILED: no upsert of its own (the
    # version rides along too when the short attempt never announced its start).
    [grouped] = [sorted(u) for u in upserts if "TriggerErrorGroup" in u]
    assert set(grouped) - {"TriggerVersion"} == {
        "TriggerDurationMs",
        "TriggerErrorGroup",
        "TriggerStatus",
    }


async def _monitor_signals(stack: Stack, client: Client) -> int:
    handle = client.get_workflow_handle(monitor_id(stack.settings.task_queue_prefix))
    signaled = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    return sum(1 for e in (await handle.fetch_history()).events if e.event_type == signaled)


async def test_retried_attempts_count_in_their_group_and_a_recovered_run_is_not_failed(
    errors_stack: Stack, client: Client
) -> None:
    """Fails twice, then succeeds: two occurrences in the group (each failed attempt
    counts), the run COMPLETED and in none of the failed runs' lists. Both retried
    reports wait on the worker for company and go out in one signal."""
    before = await _monitor_signals(errors_stack, client)
    run = await errors_stack.wait_final(await errors_stack.trigger("err-flaky", None))
    assert run["status"] == "COMPLETED" and run["output"] == 3, run
    group = await _group_of(errors_stack, "err-flaky", 2)
    assert group["errorType"] == "FlakyBackendError"
    assert group["errorMessage"] == "backend busy on attempt <n>"
    assert sum(group["sparkline"]) == 2
    detail = (await errors_stack.http.get(f"/api/v1/errors/{group['id']}")).json()
    assert detail["sampleRunId"] == run["id"] and detail["affectedVersions"] == ["20261128.1"]
    # The group's runs are the runs it made FAIL (their search attribute): none here.
    listed = await errors_stack.http.get(f"/api/v1/runs?filter[errorGroup]={group['id']}")
    assert listed.json()["data"] == []
    failed = await errors_stack.run_ids_where("TriggerStatus = 'FAILED'")
    assert run["id"] not in failed
    assert await _monitor_signals(errors_stack, client) <= before + 2


async def test_a_run_that_fails_every_attempt_counts_each_and_one_failed_run(
    errors_stack: Stack,
) -> None:
    """Three failed attempts: three occurrences; the run is listed in its group once."""
    run = await _fail(errors_stack, "err-thrice", None)
    assert run["attemptCount"] == 3, run
    group = await _group_of(errors_stack, "err-thrice", 3)
    assert sum(group["sparkline"]) == 3

    async def listed() -> list[str]:
        page = await errors_stack.http.get(f"/api/v1/runs?filter[errorGroup]={group['id']}")
        return [r["id"] for r in page.json()["data"]]

    assert await eventually(listed, lambda ids: ids == [run["id"]]) == [run["id"]]


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/api/v1/errors?filter[status]=open", 400, "filter[status]"),
        ("/api/v1/errors?filter[period]=soon", 400, "filter[period]"),
        ("/api/v1/errors?filter[from]=yesterday", 400, "filter[from]"),
        ("/api/v1/errors?filter[nope]=1", 400, "filter[nope]"),
        ("/api/v1/errors?page[size]=0", 400, "page[size]"),
        ("/api/v1/errors?page[after]=error_0000000000000000", 400, "page[after]"),
        ("/api/v1/errors/error_0000000000000000", 404, "error_0000000000000000"),
        ("/api/v1/errors/nonsense", 404, "nonsense"),
    ],
)
async def test_bad_input_names_the_field(
    errors_stack: Stack, path: str, status: int, field: str
) -> None:
    response = await errors_stack.http.get(path)
    assert response.status_code == status, response.text
    assert field in response.json()["error"]


async def test_changing_an_unknown_group_is_a_404(errors_stack: Stack) -> None:
    for action in ("resolve", "ignore", "unresolve"):
        response = await errors_stack.http.post(
            f"/api/v1/errors/error_0000000000000000/{action}", json={}
        )
        assert response.status_code == 404, response.text
    bad = await errors_stack.http.post(
        "/api/v1/errors/error_0000000000000000/ignore", json={"totalOccurrences": 0}
    )
    assert bad.status_code in (400, 422) and "totalOccurrences" in bad.text


async def test_the_sdk_lists_retrieves_and_changes_groups(errors_stack: Stack) -> None:
    before = await _count(errors_stack, "err-divide")
    await _fail(errors_stack, "err-divide", None)
    group = await _group_of(errors_stack, "err-divide", before + 1)
    page = await sdk_errors.list(task=["err-divide"])
    assert [g.id for g in page.data] == [group["id"]]
    assert (await sdk_errors.retrieve(group["id"])).error_type == "ZeroDivisionError"
    ignored = await sdk_errors.ignore(group["id"], duration_ms=60_000, reason="later")
    assert ignored.status == "ignored" and ignored.ignored_until is not None
    assert (await sdk_errors.unresolve(group["id"])).status == "unresolved"
    assert (await sdk_errors.resolve(group["id"])).status == "resolved"
    assert (await sdk_errors.unresolve(group["id"])).status == "unresolved"
    with pytest.raises(NotFoundError):
        await sdk_errors.retrieve("error_0000000000000000")


async def test_the_cli_lists_shows_resolves_and_ignores(
    errors_stack: Stack, client: Client, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    # In a thread: the CLI runs its own event loop, and this one serves the worker.
    monkeypatch.setenv("DURABLERUNS_TEMPORAL_ADDRESS", client.service_client.config.target_host)
    monkeypatch.setenv("DURABLERUNS_NAMESPACE", client.namespace)
    monkeypatch.setenv("DURABLERUNS_TASK_QUEUE_PREFIX", errors_stack.settings.task_queue_prefix)
    assert await asyncio.to_thread(cli, ["errors", "list", "--task", "err-divide"]) == 0
    listed = capsys.readouterr().out
    group_id = listed.split()[0]
    assert group_id.startswith("error_") and "ZeroDivisionError" in listed
    assert await asyncio.to_thread(cli, ["errors", "show", group_id]) == 0
    assert "error_tasks.py:err_divide" in capsys.readouterr().out
    assert (
        await asyncio.to_thread(cli, ["errors", "resolve", group_id, "--version", "20261128.9"])
        == 0
    )
    assert "resolved" in capsys.readouterr().out
    assert await asyncio.to_thread(cli, ["errors", "ignore", group_id, "--occurrences", "5"]) == 0
    assert "5 more" in capsys.readouterr().out
    assert await asyncio.to_thread(cli, ["errors", "unresolve", group_id]) == 0
    assert await asyncio.to_thread(cli, ["errors", "show", "error_0000000000000000"]) == 1
    assert "no error group" in capsys.readouterr().err
    assert await asyncio.to_thread(cli, ["errors", "list", "--status", "open"]) == 1
    assert "--status" in capsys.readouterr().err


async def test_counts_stay_exact_across_continue_as_new(client: Client) -> None:
    """600 failures into a workflow that continues-as-new every ~200 events: every one
    counted, the new run carries the groups (the real threshold is 8,000 events)."""
    prefix = f"test-can-{uuid.uuid4().hex[:6]}"
    async with running_worker(client, TaskRegistry([]), task_queue_prefix=prefix, version="1"):
        handle = await client.start_workflow(
            MonitorWorkflow.run,
            MonitorState(max_history_events=200),
            id=monitor_id(prefix),
            task_queue=runs_queue(prefix),
            id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
        )
        first_run = handle.result_run_id
        now = datetime.now(UTC)

        async def send(i: int) -> None:
            group = f"error_{i % 3:016x}"
            occurrence = ErrorOccurrence(
                group_id=group,
                fingerprint=group[6:],
                task_id="t",
                error_type="E",
                message="boom",
                run_id=f"run_{i}",
                at=now,
            )
            await client.get_workflow_handle(monitor_id(prefix)).signal(OCCURRED_SIGNAL, occurrence)

        for start in range(0, 600, 50):
            await asyncio.gather(*(send(i) for i in range(start, start + 50)))
        service = ErrorGroupService(client, task_queue_prefix=prefix)

        async def counts() -> list[int]:
            await asyncio.sleep(0.6)  # past the service's read cache
            state = await service.state()
            return sorted(g.count for g in state.groups.values())

        assert await eventually(counts, lambda c: c == [200, 200, 200], timeout=30)
        description = await client.get_workflow_handle(monitor_id(prefix)).describe()
        assert description.run_id != first_run  # it did continue-as-new
