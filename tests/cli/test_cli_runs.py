"""Runs from the terminal (issue 23): ``durableruns trigger`` and ``durableruns runs
list|get|replay|cancel|logs`` as subprocesses, talking HTTP through the SDK to a facade
on a free port (``DURABLERUNS_API_URL``/``DURABLERUNS_SECRET_KEY``); ``trigger --wait``
exits with the run's outcome."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from tests.api.test_official_client import serving_facade
from tests.helpers import eventually
from tests.helpers.processes import DURABLERUNS, ROOT
from tests.helpers.stack import SECRET_KEY


@dataclass
class Done:
    code: int
    out: str
    err: str


@dataclass
class Facade:
    url: str
    http: httpx.AsyncClient

    async def cli(self, *args: str, timeout: float = 60) -> Done:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIGGER_", "DURABLE"))}
        env |= {"DURABLERUNS_API_URL": self.url, "DURABLERUNS_SECRET_KEY": SECRET_KEY}
        process = await asyncio.create_subprocess_exec(
            DURABLERUNS,
            *args,
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout)
        assert process.returncode is not None
        return Done(process.returncode, out.decode(), err.decode())


@pytest.fixture
async def facade(client: Client) -> AsyncIterator[Facade]:
    async with serving_facade(client) as url:
        headers = {"Authorization": f"Bearer {SECRET_KEY}"}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:
            yield Facade(url, http)


def _json(done: Done) -> Any:
    assert done.code == 0, (done.out, done.err)
    return json.loads(done.out)


async def test_trigger_wait_prints_the_output_and_exits_0_when_completed(facade: Facade) -> None:
    done = await facade.cli("trigger", "hello-world", "--payload", '{"name": "Ada"}', "--wait")
    assert done.code == 0, done.err
    assert json.loads(done.out) == {"message": "Hello, Ada!"}


async def test_trigger_wait_exits_1_when_the_run_failed(facade: Facade) -> None:
    done = await facade.cli("trigger", "always-fails", "--payload", "{}", "--wait")
    assert done.code == 1
    assert "FAILED" in done.err


async def test_trigger_wait_exits_3_when_the_run_is_canceled(facade: Facade) -> None:
    tag = f"cli-{uuid.uuid4().hex[:8]}"
    args = ("trigger", "sleepy", "--payload", '{"seconds": 30}', "--tag", tag, "--wait")
    waiting = asyncio.ensure_future(facade.cli(*args))
    listed = await eventually(
        lambda: facade.http.get("/api/v1/runs", params={"filter[tag]": tag}),
        lambda r: len(r.json()["data"]) == 1,
    )
    run_id = listed.json()["data"][0]["id"]
    cancel = await facade.cli("runs", "cancel", run_id)
    assert cancel.code == 0 and cancel.out.strip() == f"Canceled {run_id}"
    done = await waiting
    assert done.code == 3 and "CANCELED" in done.err


@pytest.mark.timeout(300)  # a dozen CLI processes, each importing the package
async def test_trigger_with_options_then_get_list_replay_and_logs(facade: Facade) -> None:
    tag = f"cli-{uuid.uuid4().hex[:8]}"
    key = f"key-{tag}"
    args = ["trigger", "hello-world", "--payload", '{"name": "x"}', "--tag", tag]
    triggered = _json(await facade.cli(*args, "--idempotency-key", key, "--json"))
    assert triggered["isCached"] is False and triggered["id"].startswith("run_")
    again = await facade.cli(*args, "--idempotency-key", key)
    assert again.out.strip().startswith(f"Triggered {triggered['id']} (cached")
    run_id = triggered["id"]
    await eventually(
        lambda: facade.cli("runs", "get", run_id, "--json"),
        lambda d: d.code == 0 and json.loads(d.out)["status"] == "COMPLETED",
    )
    table = await facade.cli("runs", "get", run_id)
    assert table.code == 0 and ["STATUS", "COMPLETED"] in [
        r.split() for r in table.out.splitlines()
    ]
    listed = await eventually(
        lambda: facade.cli("runs", "list", "--tag", tag, "--json"),
        lambda d: d.code == 0 and len(json.loads(d.out)) == 1,
    )
    assert json.loads(listed.out)[0]["id"] == run_id
    rows = await facade.cli("runs", "list", "--tag", tag, "--status", "COMPLETED")
    assert rows.out.splitlines()[0].split() == ["ID", "TASK", "STATUS", "CREATED"]
    assert run_id in rows.out
    replayed = _json(await facade.cli("runs", "replay", run_id, "--json"))
    assert (await facade.http.get(f"/api/v3/runs/{replayed['id']}")).json()["replayedFrom"] == (
        run_id
    )
    logs = await facade.cli("runs", "logs", run_id)
    assert logs.code == 0, logs.err
    delayed = _json(await facade.cli(*args[:4], "--delay", "1h", "--json"))
    status = _json(await facade.cli("runs", "get", delayed["id"], "--json"))["status"]
    assert status == "DELAYED"


async def test_bad_input_is_a_usage_error_and_an_unknown_run_an_error(facade: Facade) -> None:
    bad = await facade.cli("trigger", "hello-world", "--payload", "{not json")
    assert bad.code == 2 and "--payload" in bad.err
    missing = await facade.cli("runs", "get", "run_0000000000000000000000000z")
    assert missing.code == 1 and missing.err.startswith("Error:")
    limit = await facade.cli("runs", "list", "--limit", "1000")
    assert limit.code == 2 and "--limit" in limit.err
