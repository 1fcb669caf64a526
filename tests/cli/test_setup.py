"""Setup on a fresh Temporal: a dev server started WITHOUT our search attributes (as a
new self-hosted namespace is). A trigger there answers 503 naming the missing
attribute; ``worker`` and ``api`` refuse to start naming what is missing and the
command that fixes it; ``durableruns setup`` registers every attribute in every
served environment's namespace, idempotently, after which the stack works. For
Temporal Cloud it prints the ``tcld`` commands."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from durableruns.api import create_app
from durableruns.engine.converter import DATA_CONVERTER
from durableruns.engine.search_attributes import ALL
from durableruns.service import namespace_setup
from durableruns.service.dev_server import environment_namespace_flags, temporal_binary
from durableruns.settings import Settings
from tests.helpers import eventually
from tests.helpers.processes import DURABLERUNS, ROOT, Proc, start

KEY = "tr_dev_setup_test_key"
NAMESPACES = ["default", "staging", "prod"]


@pytest.fixture(scope="module")
async def bare() -> AsyncIterator[Client]:
    """A dev server whose namespaces (default, staging, prod) have no search attribute
    of ours."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        data_converter=DATA_CONVERTER,
        ui=False,
        dev_server_extra_args=environment_namespace_flags(),
    )
    yield env.client
    await env.shutdown()


def _setup(address: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DURABLERUNS, "setup", "--temporal-address", address, *args],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "TEMPORAL_CONFIG_FILE": "/nonexistent/temporal.toml"},
        capture_output=True,
        text=True,
        timeout=120,
    )


async def _trigger(client: Client) -> httpx.Response:
    settings = Settings(
        task_queue_prefix=f"setup-{uuid.uuid4().hex[:8]}", secret_key=KEY, api_url="http://x"
    )
    transport = httpx.ASGITransport(app=create_app(settings, client=client))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://x", headers={"Authorization": f"Bearer {KEY}"}
    ) as http:
        return await http.post("/api/v1/tasks/hello-world/trigger", json={"payload": {}})


async def test_a_trigger_in_a_bare_namespace_answers_503_naming_the_attribute(
    bare: Client,
) -> None:
    response = await _trigger(bare)
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert "no search attribute Trigger" in error, error
    assert "durableruns setup" in error, error
    assert response.headers.get("x-should-retry") == "false"


@pytest.mark.parametrize("command", ["worker", "api"])
async def test_worker_and_api_refuse_to_start_naming_what_is_missing(
    bare: Client, tmp_path: Path, command: str
) -> None:
    address = bare.service_client.config.target_host
    args = ["--tasks", "activities.hello_world"] if command == "worker" else []
    proc = start(command, tmp_path, address=address, prefix="setup", secret_key=KEY, args=args)
    try:
        status = await asyncio.to_thread(proc.process.wait, 60)
    finally:
        proc.stop()
    output = proc.output()
    assert status == 1, output
    assert "namespace default lacks the search attributes" in output, output
    assert all(key.name in output for key in ALL), output
    assert "durableruns setup" in output, output
    assert "Traceback" not in output, output


async def test_setup_registers_every_attribute_once_then_the_stack_works(
    bare: Client, tmp_path: Path
) -> None:
    address = bare.service_client.config.target_host
    first = await asyncio.to_thread(_setup, address)
    assert first.returncode == 0, first.stdout + first.stderr
    for namespace in NAMESPACES:
        assert f"namespace {namespace}: registered {len(ALL)}" in first.stdout, first.stdout
        state = await namespace_setup.inspect(bare, namespace)
        assert state.ready, state

    again = await asyncio.to_thread(_setup, address)
    assert again.returncode == 0, again.stdout + again.stderr
    for namespace in NAMESPACES:
        assert f"namespace {namespace}: all {len(ALL)} search attributes already registered" in (
            again.stdout
        ), again.stdout

    proc: Proc = start(
        "worker",
        tmp_path,
        address=address,
        prefix="setup",
        secret_key=KEY,
        args=["--tasks", "activities.hello_world"],
    )
    try:
        await asyncio.to_thread(proc.wait_joined)
        # The frontend's cache of the namespace's attributes refreshes within seconds.
        response = await eventually(lambda: _trigger(bare), lambda r: r.status_code == 200, 60)
    finally:
        proc.stop()
    assert response.json()["id"].startswith("run_")


def test_setup_prints_the_temporal_cloud_commands() -> None:
    result = _setup("payments.a1b2c.tmprl.cloud:7233", "--print-commands")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("tcld ")]
    assert len(lines) == len(ALL) * len(NAMESPACES), result.stdout
    assert (
        "tcld namespace search-attributes add --namespace default "
        "--search-attribute TriggerTaskId=Keyword"
    ) in lines
    assert "--search-attribute TriggerTags=KeywordList" in result.stdout
