"""Versions as deployments (issue 23): ``GET /api/v1/deployments/current`` is the newest
registered worker version (the one new runs go to) and ``GET /api/v1/deployments`` lists
every version newest first, with cursors; bad parameters are 400s naming them."""

from __future__ import annotations

from temporalio.client import Client

from durableruns.task_definitions import TaskRegistry
from durableruns.worker.assembly import running_worker
from tests.helpers import EXAMPLE_MODULES, eventually
from tests.helpers.stack import open_stack


async def test_the_current_deployment_is_the_newest_version_and_lists_newest_first(
    client: Client,
) -> None:
    registry = TaskRegistry.from_modules(EXAMPLE_MODULES)
    async with open_stack(client, registry, with_worker=False) as stack:
        prefix = stack.settings.task_queue_prefix
        async with running_worker(client, registry, task_queue_prefix=prefix, version="20261201.1"):
            current = (await stack.http.get("/api/v1/deployments/current")).json()
        assert current["version"] == "20261201.1" and current["status"] == "DEPLOYED"
        assert current["id"].startswith("deployment_") and "hello-world" in current["tasks"]
        async with running_worker(client, registry, task_queue_prefix=prefix, version="20261202.1"):
            # The facade re-reads the catalog at most once a second.
            newer = await eventually(
                lambda: stack.http.get("/api/v1/deployments/current"),
                lambda r: r.json()["version"] == "20261202.1",
            )
            assert newer.json()["status"] == "DEPLOYED"
            run_id = await stack.trigger("hello-world", {"name": "x"})
            assert (await stack.wait_final(run_id))["version"] == "20261202.1"
        listed = (await stack.http.get("/api/v1/deployments?page[size]=1")).json()
        assert [d["version"] for d in listed["data"]] == ["20261202.1"]
        rest = await stack.http.get(
            f"/api/v1/deployments?page[size]=1&page[after]={listed['pagination']['next']}"
        )
        assert [d["version"] for d in rest.json()["data"]] == ["20261201.1"]
        assert rest.json()["pagination"] == {}
        failed = await stack.http.get("/api/v1/deployments?status=FAILED")
        assert failed.json()["data"] == []


async def test_no_deployment_is_404_and_bad_parameters_are_400(client: Client) -> None:
    async with open_stack(client, TaskRegistry(), with_worker=False) as stack:
        assert (await stack.http.get("/api/v1/deployments/current")).status_code == 404
        for query, field in (
            ("page[size]=0", "page[size]"),
            ("status=GONE", "status"),
            ("from=yesterday", "from"),
            ("period=soon", "period"),
            ("page[after]=deployment_x", "page[after]"),
        ):
            response = await stack.http.get(f"/api/v1/deployments?{query}")
            assert response.status_code == 400, query
            assert response.json()["error"].startswith(field), response.text
