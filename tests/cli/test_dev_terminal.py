"""The dev loop that talks (issue 26), on a real ``durableruns dev`` process serving the
examples plus a module of the test's own (``--tasks +talky``):

- one line per run that ends: run id, task id, status, durations, the dashboard link;
- a task's ``print`` and ``logger`` lines echoed to the terminal, prefixed by the run;
- a warning for a run of a task no worker serves, naming the served task ids;
- a save that does not import says ``file:line:col: message`` with the code, and the
  last good code (the examples included) keeps serving until a save imports again;
- Ctrl-C says which runs it waits for, within dev's short drain grace.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from tests.helpers import eventually
from tests.helpers.processes import Proc, start

KEY = "tr_dev_terminal_test_key"
TASK = """
import asyncio

from durableruns import logger, task


@task(id="{task_id}")
async def talky(payload: dict) -> str:
    print("said with print", payload.get("n"))
    logger.info("said with logger", n=payload.get("n"))
    await asyncio.sleep(payload.get("sleep", 0))
    return "{answer}"
"""
BROKEN = TASK.replace("async def talky(payload: dict) -> str:", "async def talky(payload: dict:")


def _wait_for(proc: Proc, pattern: str, after: int = 0, timeout: float = 30) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while True:
        found = re.search(pattern, proc.output()[after:])
        if found is not None:
            return found
        assert proc.process.poll() is None, proc.output()
        assert time.monotonic() < deadline, f"no {pattern!r} in:\n{proc.output()}"
        time.sleep(0.05)


async def _trigger(http: httpx.AsyncClient, task_id: str, payload: Any) -> str:
    response = await http.post(f"/api/v1/tasks/{task_id}/trigger", json={"payload": payload})
    assert response.status_code == 200, response.text
    run_id: str = response.json()["id"]
    return run_id


async def _final(http: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
    async def get() -> dict[str, Any]:
        body: dict[str, Any] = (await http.get(f"/api/v3/runs/{run_id}")).json()
        return body

    return await eventually(get, lambda r: r["isCompleted"], timeout=30)


async def test_the_dev_terminal_tells_runs_logs_bad_saves_and_stops(
    client: Client, tmp_path: Path
) -> None:
    task_id = f"talky-{uuid.uuid4().hex[:6]}"
    module = tmp_path / "talky.py"
    module.write_text(TASK.format(task_id=task_id, answer="first"))
    dev = start(
        "dev",
        tmp_path,
        address=client.service_client.config.target_host,
        prefix=f"talk-{uuid.uuid4().hex[:8]}",
        secret_key=KEY,
        args=["--tasks", "+talky"],
        cwd=tmp_path,
    )
    stopped = False
    try:
        await asyncio.to_thread(dev.wait_joined)
        async with httpx.AsyncClient(
            base_url=dev.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=30
        ) as http:
            # A run's outcome line, and its print/logger lines echoed with its id.
            run_id = await _trigger(http, task_id, {"n": 7})
            assert (await _final(http, run_id))["output"] == "first"
            line = rf"{run_id} {task_id} COMPLETED in \S+ \(ran \S+\) → (\S+)"
            link = (await asyncio.to_thread(_wait_for, dev, line)).group(1)
            assert link == f"{dev.url}/dashboard/runs/{run_id}"
            await asyncio.to_thread(_wait_for, dev, rf"\[{run_id} #1\] LOG said with print 7")
            echoed = rf'\[{run_id} #1\] INFO said with logger {{"n": 7}}'
            await asyncio.to_thread(_wait_for, dev, echoed)

            # A typo'd task id: accepted (as Trigger.dev does), and the terminal says so.
            lost = await _trigger(http, "hello-wrld", {})
            warning = await asyncio.to_thread(
                _wait_for,
                dev,
                rf"Warning: {lost} is for task 'hello-wrld'.*Served task ids: (.*) →",
            )
            assert task_id in warning.group(1) and "hello-world" in warning.group(1)
            await http.post(f"/api/v2/runs/{lost}/cancel")

            # A save that does not import: file:line:col and the code; the last good
            # code keeps serving, the examples included.
            seen = len(dev.output())
            module.write_text(BROKEN.format(task_id=task_id, answer="broken"))
            report = await asyncio.to_thread(
                _wait_for, dev, r"Reload failed: (talky\.py:\d+:\d+): SyntaxError: ", seen
            )
            assert report.group(1).startswith("talky.py:8:"), dev.output()[seen:]
            assert "async def talky(payload: dict:" in dev.output()[seen:]
            await asyncio.to_thread(_wait_for, dev, "Still serving the last good code", seen)
            hello = await _trigger(http, "hello-world", {"name": "World"})
            assert (await _final(http, hello))["output"] == {"message": "Hello, World!"}
            again = await _trigger(http, task_id, {"n": 1})
            assert (await _final(http, again))["output"] == "first"

            seen = len(dev.output())
            module.write_text(TASK.format(task_id=task_id, answer="fixed"))
            await asyncio.to_thread(_wait_for, dev, "Reloaded:", seen)
            fixed = await _trigger(http, task_id, {"n": 2})
            assert (await _final(http, fixed))["output"] == "fixed"

            # Ctrl-C while a run executes: the terminal names it, and the drain is short.
            slow = await _trigger(http, task_id, {"n": 3, "sleep": 2})
            await eventually(
                lambda: http.get(f"/api/v3/runs/{slow}"),
                lambda r: r.json()["status"] == "EXECUTING",
            )
            seen = len(dev.output())
            began = time.monotonic()
            dev.process.send_signal(signal.SIGINT)
            await asyncio.to_thread(
                _wait_for,
                dev,
                rf"Stopping: waiting up to 5s for 1 executing run to finish: {slow} \({task_id}\)",
                seen,
            )
            status = await asyncio.to_thread(dev.process.wait, 60)
            stopped = True
            assert status == 0, dev.output()
            assert time.monotonic() - began < 30
            # The attempt finished within the grace (the run itself records it once a
            # worker polls its workflow again).
            after = dev.output()[seen:]
            assert re.search(rf"{slow} attempt 1 COMPLETED", after), dev.output()
    finally:
        if not stopped:
            dev.stop()
