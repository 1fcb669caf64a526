"""The README's first run works as pasted: its shell and Python snippets (the blocks
after ``<!-- first-run:shell -->`` and ``<!-- first-run:python -->``) run against a real
``durableruns dev`` whose key is the generated dev key in ``.durableruns/``, from a
directory laid out like the repository's root (``.venv``, the examples importable).

The only change made to a snippet is the facade's port (the README's 3030 is taken by
whoever runs ``make dev`` on this machine)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from tests.helpers import eventually
from tests.helpers.processes import ROOT, start

README = ROOT / "README.md"


def snippet(name: str) -> str:
    """The fenced block right after ``<!-- first-run:<name> -->``."""
    found = re.search(
        rf"<!-- first-run:{name} -->\n```\w*\n(.*?)\n```", README.read_text(), re.DOTALL
    )
    assert found is not None, f"README.md has no first-run:{name} block"
    return found.group(1)


def test_the_readme_keeps_its_promises() -> None:
    text = README.read_text()
    assert len(text.splitlines()) <= 260
    for command in ("make dev ", "make test "):
        assert f"{command}" in text
    for link in re.findall(r"\]\((docs/[^)]+)\)", text):
        assert (ROOT / link).is_file(), link


async def test_the_readme_first_run_works_as_pasted(client: Client, tmp_path: Path) -> None:
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    state = tmp_path / ".durableruns"
    dev = start(
        "dev",
        tmp_path,
        address=client.service_client.config.target_host,
        prefix=f"readme-{uuid.uuid4().hex[:8]}",
        secret_key=None,  # the generated dev key, as `make dev` has it
        cwd=tmp_path,
        env={"DURABLERUNS_STATE_DIR": str(state)},
    )
    try:
        await asyncio.to_thread(dev.wait_joined)
        here = f"127.0.0.1:{dev.port}"
        environment = {k: v for k, v in os.environ.items() if not k.startswith("DURABLERUNS_")}
        environment["PYTHONPATH"] = str(ROOT)

        shell = snippet("shell").replace("127.0.0.1:3030", here)
        done = await asyncio.to_thread(
            subprocess.run,
            ["bash", "-euo", "pipefail", "-c", shell],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        run: dict[str, Any] = json.loads(done.stdout)
        assert run["id"].startswith("run_") and run["taskIdentifier"] == "hello-world"
        key = (state / "dev-secret-key").read_text().strip()
        async with httpx.AsyncClient(
            base_url=dev.url, headers={"Authorization": f"Bearer {key}"}
        ) as http:
            final = await eventually(
                lambda: http.get(f"/api/v3/runs/{run['id']}"),
                lambda r: r.json()["isCompleted"],
            )
            assert final.json()["output"] == {"message": "Hello, Ada!"}
            # Without the key, the 401 says where the dev key is.
            refused = await http.get("/api/v3/runs/" + run["id"], headers={"Authorization": ""})
            assert refused.status_code == 401
            assert str(state / "dev-secret-key") in refused.json()["error"]

        script = tmp_path / "first_run.py"
        script.write_text(snippet("python") + "\n")
        environment["DURABLERUNS_API_URL"] = dev.url  # the SDK's default is :3030
        done = await asyncio.to_thread(
            subprocess.run,
            [".venv/bin/python", "first_run.py"],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "COMPLETED Hello, Ada!"
        assert re.search(rf"{run['id']} hello-world COMPLETED .*/dashboard/runs/", dev.output())
    finally:
        dev.stop()
