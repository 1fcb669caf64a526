"""Versions, the catalog of deployed tasks, and PENDING_VERSION."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from durableruns import TaskContext, task, tasks
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.assembly import running_worker
from tests.helpers import Stack, eventually, open_stack, stop_process, worker_process


class Strict(BaseModel):
    count: int


@task(id="strict-count", retry={"max_attempts": 3, "min_timeout_ms": 10})
async def strict_count(payload: Strict) -> int:
    return payload.count


@task(id="reports-version")
async def reports_version(payload: Any, ctx: TaskContext) -> str:
    return ctx.version


@task(id="parent-reports-versions")
async def parent_reports_versions(payload: Any, ctx: TaskContext) -> dict[str, Any]:
    child = await tasks.trigger_and_wait("reports-version", {})
    return {"parent": ctx.version, "child": child.output}


VERSIONED = TaskRegistry([strict_count, reports_version, parent_reports_versions])


@contextlib.asynccontextmanager
async def _worker(stack: Stack, registry: TaskRegistry, version: str) -> AsyncIterator[None]:
    async with running_worker(
        stack.client, registry, task_queue_prefix=stack.settings.task_queue_prefix, version=version
    ):
        yield


async def test_a_run_of_an_undeployed_task_is_pending_version_until_a_worker_serves_it(
    client: Client,
) -> None:
    async with open_stack(client, VERSIONED, with_worker=False) as stack:
        async with _worker(stack, TaskRegistry(), "1"):  # workflows, but not this task
            run_id = await stack.trigger("reports-version", {})
            pending = await stack.wait_status(run_id, "PENDING_VERSION")
            assert pending["isQueued"] and pending["attemptCount"] == 0
        async with _worker(stack, VERSIONED, "2"):
            done = await stack.wait_final(run_id)
    assert done["status"] == "COMPLETED" and done["version"] == "2" and done["output"] == "2"


async def test_an_undeployed_runs_ttl_still_applies(client: Client) -> None:
    async with (
        open_stack(client, VERSIONED, with_worker=False) as stack,
        _worker(stack, TaskRegistry(), "1"),
    ):
        run_id = await stack.trigger("reports-version", {}, ttl="1s")
        await stack.wait_status(run_id, "PENDING_VERSION")
        expired = await stack.wait_final(run_id, timeout=10)
    assert expired["status"] == "EXPIRED" and expired["attemptCount"] == 0


async def test_an_undeployed_tasks_payload_is_validated_when_it_starts(client: Client) -> None:
    async with open_stack(client, VERSIONED, with_worker=False) as stack:
        async with _worker(stack, TaskRegistry(), "1"):
            run_id = await stack.trigger("strict-count", {"count": "lots"})
            await stack.wait_status(run_id, "PENDING_VERSION")
        async with _worker(stack, VERSIONED, "1.1"):
            failed = await stack.wait_final(run_id)
    assert failed["status"] == "FAILED" and failed["attemptCount"] == 1
    assert failed["error"]["name"] == "PayloadValidationError"


async def test_the_catalog_lists_every_versions_tasks(client: Client) -> None:
    async with open_stack(client, VERSIONED, version="7") as stack:
        response = await stack.http.get("/api/v1/tasks")
        assert response.status_code == 200, response.text
        listed = response.json()
    strict = next(t for t in listed if t["id"] == "strict-count")
    assert strict["version"] == "7" and strict["queue"] == "task/strict-count"
    assert strict["retry"]["max_attempts"] == 3
    assert strict["payload_schema"]["properties"]["count"]["type"] == "integer"


async def test_plain_triggers_take_the_latest_version_and_children_their_parents(
    client: Client, temporal_env: WorkflowEnvironment
) -> None:
    async with open_stack(client, VERSIONED, version="v1") as stack:
        newer = worker_process(temporal_env, stack.settings.task_queue_prefix, [__name__], "v2")
        try:
            await eventually(stack.service_catalog, lambda c: "v2" in c.versions, timeout=30)
            latest = await stack.wait_final(await stack.trigger("reports-version", {}))
            pinned = await stack.wait_final(
                await stack.trigger("parent-reports-versions", {}, lockToVersion="v1")
            )
        finally:
            stop_process(newer)
    assert latest["version"] == "v2"
    assert pinned["output"] == {"parent": "v1", "child": "v1"}
    [child] = pinned["relatedRuns"]["children"]
    assert child["version"] == "v1"


async def test_an_unknown_version_is_refused(stack: Stack) -> None:
    response = await stack.http.post(
        "/api/v1/tasks/hello-world/trigger",
        json={"payload": {"name": "x"}, "options": {"lockToVersion": "nope"}},
    )
    assert response.status_code == 400
    assert response.json() == {"error": "options.lockToVersion: unknown version 'nope'"}


async def test_a_worker_redefining_a_task_in_the_same_version_refuses_to_start(
    client: Client, temporal_env: WorkflowEnvironment
) -> None:
    async with open_stack(client, VERSIONED, version="9") as stack:
        prefix = stack.settings.task_queue_prefix
        refused = worker_process(
            temporal_env, prefix, ["tests.helpers.tasks.impostor_tasks"], "9", stderr=True
        )
        _, stderr = refused.communicate(timeout=60)
        assert refused.returncode != 0
        assert b"'strict-count' is already served in version 9" in stderr
        accepted = worker_process(
            temporal_env, prefix, ["tests.helpers.tasks.impostor_tasks"], "10"
        )
        try:
            await eventually(stack.service_catalog, lambda c: "10" in c.versions, timeout=30)
        finally:
            stop_process(accepted)
