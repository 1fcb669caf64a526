"""Environments and keys: dev, staging and prod are Temporal namespaces with their own
secret keys; public access tokens read one run and nothing else."""

from __future__ import annotations

import time

import httpx
import jwt
from temporalio.client import Client

from durableruns.api.tokens import signing_key
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.assembly import running_worker
from tests.helpers import SECRET_KEY, Stack, eventually


def _as(stack: Stack, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=stack.http._transport,
        base_url="http://facade",
        headers={"Authorization": f"Bearer {token}"},
    )


def _key(stack: Stack, environment: str) -> str:
    return stack.settings.for_environment(environment).secret_key or ""


async def test_each_environment_sees_and_triggers_only_its_own_runs(
    stack: Stack, client: Client
) -> None:
    staging_key = _key(stack, "staging")
    assert staging_key not in ("", SECRET_KEY)
    staging_client = Client(
        client.service_client, namespace="staging", data_converter=client.data_converter
    )
    registry = TaskRegistry.from_modules(["activities.hello_world"])
    async with (
        running_worker(
            staging_client,
            registry,
            task_queue_prefix=stack.settings.task_queue_prefix,
            version="s1",
        ),
        _as(stack, staging_key) as staging,
    ):
        triggered = await staging.post(
            "/api/v1/tasks/hello-world/trigger", json={"payload": {"name": "Staging"}}
        )
        run_id = triggered.json()["id"]
        done = await eventually(
            lambda: staging.get(f"/api/v3/runs/{run_id}"),
            lambda r: r.json()["status"] == "COMPLETED",
        )
        assert done.json()["output"] == {"message": "Hello, Staging!"}
        assert done.json()["version"] == "s1"
        dev_view = await stack.http.get(f"/api/v3/runs/{run_id}")
        assert dev_view.status_code == 404, "a run of another environment is not found"
        dev_run = await stack.trigger("hello-world", {"name": "Dev"})
        assert (await staging.get(f"/api/v3/runs/{dev_run}")).status_code == 404
    description = await staging_client.get_workflow_handle(run_id).describe()
    assert description.id == run_id, "the staging run lives in the staging namespace"


async def test_a_key_of_no_environment_is_401(stack: Stack) -> None:
    async with _as(stack, "tr_prod_not_a_real_key") as stranger:
        response = await stranger.post("/api/v1/tasks/hello-world/trigger", json={})
    assert response.status_code == 401 and response.json() == {
        "error": "Invalid or Missing API key"
    }


async def test_a_public_access_token_reads_its_run_and_nothing_else(stack: Stack) -> None:
    triggered = await stack.http.post(
        "/api/v1/tasks/hello-world/trigger", json={"payload": {"name": "Token"}}
    )
    run_id, token = triggered.json()["id"], triggered.headers["x-trigger-jwt"]
    other = await stack.trigger("hello-world", {"name": "Other"})
    async with _as(stack, token) as reader:
        own = await reader.get(f"/api/v3/runs/{run_id}")
        someone_elses = await reader.get(f"/api/v3/runs/{other}")
        trigger = await reader.post("/api/v1/tasks/hello-world/trigger", json={})
        cancel = await reader.post(f"/api/v2/runs/{run_id}/cancel")
        listing = await reader.get("/api/v1/runs")
    assert own.status_code == 200 and own.json()["id"] == run_id
    for refused in (someone_elses, trigger, cancel, listing):
        assert refused.status_code == 403, refused.text
        assert refused.json() == {"error": "This public access token may only read its own run"}


async def test_an_expired_public_access_token_is_401(stack: Stack) -> None:
    run_id = await stack.trigger("hello-world", {"name": "Late"})
    claims = {"sub": "dev", "scopes": [f"read:runs:{run_id}"], "exp": int(time.time()) - 5}
    expired = jwt.encode(claims, signing_key(SECRET_KEY), algorithm="HS256")
    async with _as(stack, expired) as reader:
        assert (await reader.get(f"/api/v3/runs/{run_id}")).status_code == 401


async def test_a_token_signed_by_another_environment_cannot_read_dev_runs(stack: Stack) -> None:
    run_id = await stack.trigger("hello-world", {"name": "Cross"})
    claims = {"sub": "staging", "scopes": [f"read:runs:{run_id}"], "exp": int(time.time()) + 60}
    token = jwt.encode(claims, signing_key(_key(stack, "staging")), algorithm="HS256")
    async with _as(stack, token) as reader:
        response = await reader.get(f"/api/v3/runs/{run_id}")
    assert response.status_code == 404, "staging's token reads staging, where there is no such run"
