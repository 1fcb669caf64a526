"""Hot reload in ``durableruns dev``: edit a task module on disk while the stack runs,
trigger, get the new behaviour (it used to keep running the old code silently)."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from tests.helpers import eventually
from tests.helpers.processes import Proc, start

KEY = "tr_dev_reload_test_key"
TASK = """
from durableruns import task


@task(id="{task_id}")
async def {function}(payload: dict) -> str:
    return "{answer}"
"""


def _source(task_id: str, answer: str, function: str = "changing") -> str:
    return TASK.format(task_id=task_id, answer=answer, function=function)


async def _result(http: httpx.AsyncClient, task_id: str) -> Any:
    response = await http.post(f"/api/v1/tasks/{task_id}/trigger", json={"payload": {}})
    assert response.status_code == 200, response.text
    run_id = response.json()["id"]

    async def get() -> dict[str, Any]:
        body: dict[str, Any] = (await http.get(f"/api/v3/runs/{run_id}")).json()
        return body

    run = await eventually(get, lambda r: r["isCompleted"], timeout=30)
    assert run["status"] == "COMPLETED", run
    return run["output"]


def _wait_for(proc: Proc, text: str, after: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while text not in proc.output()[after:]:
        assert proc.process.poll() is None, proc.output()
        assert time.monotonic() < deadline, f"no {text!r} in:\n{proc.output()}"
        time.sleep(0.05)


async def test_dev_reloads_a_changed_task_module(client: Client, tmp_path: Path) -> None:
    task_id = f"changing-{uuid.uuid4().hex[:6]}"
    module = tmp_path / "reloadable.py"
    module.write_text(_source(task_id, "before"))
    address = client.service_client.config.target_host
    dev = start(
        "dev",
        tmp_path,
        address=address,
        prefix=f"reload-{uuid.uuid4().hex[:8]}",
        secret_key=KEY,
        args=["--tasks", "reloadable"],
        cwd=tmp_path,
    )
    try:
        await asyncio.to_thread(dev.wait_joined)
        assert "reloading on change" in dev.output()
        async with httpx.AsyncClient(
            base_url=dev.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=30
        ) as http:
            assert await _result(http, task_id) == "before"
            seen = len(dev.output())
            module.write_text(_source(task_id, "after"))
            await asyncio.to_thread(_wait_for, dev, "Reloaded:", seen)
            assert "reloadable.py" in dev.output()[seen:], "it says what changed"
            assert await _result(http, task_id) == "after"

            # Another function defining the task cannot be served under the same
            # version (the catalog refuses it): the reload moves on and says so.
            seen = len(dev.output())
            module.write_text(_source(task_id, "retried", function="renamed"))
            await asyncio.to_thread(_wait_for, dev, "Reloaded:", seen)
            assert "instead" in dev.output()[seen:]
            assert await _result(http, task_id) == "retried"
    finally:
        status = dev.stop()
    assert status == 0, dev.output()
