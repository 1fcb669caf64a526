"""The S3 payload storage (``DURABLERUNS_PAYLOAD_STORAGE=s3``) against a real
S3-compatible server this test starts: moto in server mode, on a free port."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aioboto3
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from durableruns.settings import Settings
from durableruns.task_definitions import TaskRegistry
from tests.api.test_payloads import MB, history_bytes, storage_client
from tests.helpers import Stack, eventually, open_stack

BUCKET = "durableruns-payloads"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server in a process of its own; its AWS credentials in the environment."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    saved = {name: os.environ.get(name) for name in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        server.terminate()
        server.wait(timeout=10)


@contextlib.asynccontextmanager
async def s3(endpoint: str) -> AsyncIterator[Any]:
    async with aioboto3.Session().client("s3", endpoint_url=endpoint) as client:
        yield client


@pytest.fixture(scope="module")
async def s3_stack(
    temporal_env: WorkflowEnvironment, s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    async def up() -> bool:
        try:
            async with httpx.AsyncClient() as http:
                return (await http.get(s3_endpoint)).status_code < 500
        except httpx.TransportError:
            return False

    await eventually(up, bool, timeout=30, interval=0.2)
    async with s3(s3_endpoint) as client:
        await client.create_bucket(Bucket=BUCKET)
    settings = Settings(
        payload_storage="s3",
        s3_bucket=BUCKET,
        s3_endpoint_url=s3_endpoint,
        s3_region="us-east-1",
        state_dir=tmp_path_factory.mktemp("state"),
    )
    client = await storage_client(temporal_env, settings)
    async with open_stack(
        client, TaskRegistry.from_modules(["tests.helpers.tasks.payload_tasks"])
    ) as stack:
        yield stack


async def test_a_large_payload_and_output_live_in_the_bucket(
    s3_stack: Stack, s3_endpoint: str
) -> None:
    value = {"blob": "s" * (2 * MB)}
    run = await s3_stack.wait_final(await s3_stack.trigger("payload-echo", value), timeout=60)
    assert run["status"] == "COMPLETED", run.get("error")
    assert run["payload"] == value and run["output"] == value
    assert await history_bytes(s3_stack.client, run["id"]) < 16 * 1024
    async with s3(s3_endpoint) as client:
        listed = await client.list_objects_v2(Bucket=BUCKET)
    objects = listed.get("Contents", [])
    assert any(o["Size"] > 2 * MB for o in objects)
    # Keys are scoped by namespace and workflow (temporalio's S3 key layout).
    assert all(o["Key"].startswith("v0/ns/default/") for o in objects), objects


async def test_small_values_stay_inline(s3_stack: Stack, s3_endpoint: str) -> None:
    async with s3(s3_endpoint) as client:
        before = (await client.list_objects_v2(Bucket=BUCKET)).get("KeyCount", 0)
    run = await s3_stack.wait_final(await s3_stack.trigger("payload-echo", {"tiny": True}))
    assert run["output"] == {"tiny": True}
    async with s3(s3_endpoint) as client:
        assert (await client.list_objects_v2(Bucket=BUCKET)).get("KeyCount", 0) == before
