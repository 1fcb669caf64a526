"""The command line as a new user meets it: Ctrl-C under ``| tee`` stops the process
(EPIPE in the signal handler used to keep it running), help that names every variable
whole, ``--version``, ``/docs`` with no internet, the probes, and ``durableruns init``
whose trigger script works with nothing configured."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from durableruns.api import create_app
from durableruns.dev_config import ENV
from durableruns.settings import Settings
from tests.helpers.processes import DURABLERUNS, ROOT, free_port, start

KEY = "tr_dev_cli_production_key"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("command", ["worker", "api"])
def test_ctrl_c_stops_a_command_piped_through_tee(
    command: str, client: Client, tmp_path: Path
) -> None:
    address = client.service_client.config.target_host
    log = tmp_path / "x.log"
    line = f"{DURABLERUNS} {command} --temporal-address {address}"
    if command == "api":
        line += f" --api-port {free_port()}"
    else:
        line += f" --task-queue-prefix tee-{uuid.uuid4().hex[:8]} --tasks activities.hello_world"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DURABLERUNS_SECRET_KEY": KEY}
    shell = subprocess.Popen(
        ["bash", "-c", f"{line} 2>&1 | tee {log}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        deadline = time.monotonic() + 60
        while "joined" not in (log.read_text() if log.exists() else ""):
            assert shell.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        os.killpg(shell.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
        shell.wait(timeout=30)
        deadline = time.monotonic() + 30
        while _group_alive(shell.pid):
            assert time.monotonic() < deadline, "a process of the pipeline kept running"
            time.sleep(0.05)
    finally:
        if _group_alive(shell.pid):
            os.killpg(shell.pid, signal.SIGKILL)


def _help(*args: str) -> str:
    env = {**os.environ, "COLUMNS": "60"}
    done = subprocess.run([DURABLERUNS, *args, "--help"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("command", ["dev", "worker", "api"])
def test_help_names_every_variable_whole_and_flags_show_no_value(command: str) -> None:
    text = _help(command)
    known = {f"DURABLERUNS_{field.upper()}" for field in Settings.model_fields} | set(ENV.values())
    names = re.findall(r"DURABLERUNS_[A-Z][A-Z_]*", text)
    assert len(names) >= 4
    for name in names:
        assert name in known, f"{name} looks cut in:\n{text}"
    assert "<bool>" not in text
    if command in ("dev", "worker"):
        assert "--no-isolation" in text and "--version" in text


def test_version() -> None:
    done = subprocess.run([DURABLERUNS, "--version"], capture_output=True, text=True)
    assert done.returncode == 0
    assert re.fullmatch(r"durableruns \d+\.\d+\.\d+\S*\n", done.stdout), done.stdout


async def test_docs_use_only_local_assets_and_they_are_served(client: Client) -> None:
    app = create_app(Settings(secret_key=KEY), client=client)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://facade"
    ) as http:
        for path in ("/docs", "/redoc"):
            page = await http.get(path)
            assert page.status_code == 200
            urls = re.findall(
                r"""(?:src|href|spec-url)=["']([^"']+)["']|url: ?["']([^"']+)["']""", page.text
            )
            found = [a or b for a, b in urls]
            assert len(found) >= 2, page.text
            for url in found:
                assert url.startswith("/"), f"{url} is not local"
                asset = await http.get(url)
                assert asset.status_code == 200, url
                assert len(asset.content) > 100, url
            assert "cdn" not in page.text.lower()


async def test_probes(client: Client) -> None:
    ready_app = create_app(Settings(secret_key=KEY, environments=["dev"]), client=client)
    broken_app = create_app(
        Settings(secret_key=KEY, environments=["dev", "nowhere"]), client=client
    )
    for app, expected in ((ready_app, 200), (broken_app, 503)):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://facade"
        ) as http:
            assert (await http.get("/healthz")).json() == {"status": "ok"}
            ready = await http.get("/readyz")
            assert ready.status_code == expected, ready.text
    assert "nowhere" in ready.json()["problems"]


async def test_init_scaffolds_a_task_the_sdk_triggers_with_nothing_configured(
    client: Client, tmp_path: Path
) -> None:
    done = subprocess.run(
        [DURABLERUNS, "init", "mytasks"], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "durableruns dev --tasks mytasks" in done.stdout
    assert "python trigger_mytasks.py" in done.stdout
    assert ".durableruns/" in (tmp_path / ".gitignore").read_text().splitlines()
    again = subprocess.run([DURABLERUNS, "init", "mytasks"], cwd=tmp_path, capture_output=True)
    assert again.returncode == 1, "init does not overwrite without --force"

    address = client.service_client.config.target_host
    prefix = f"init-{uuid.uuid4().hex[:8]}"
    state = {"DURABLERUNS_STATE_DIR": str(tmp_path / ".durableruns")}
    common = {"address": address, "prefix": prefix, "secret_key": None, "cwd": tmp_path}
    facade = start("api", tmp_path, env=state, **common)  # type: ignore[arg-type]
    tasks = ["--tasks", "mytasks", "--tasks", "activities.hello_world"]
    worker = start("worker", tmp_path, args=tasks, env=state, **common)  # type: ignore[arg-type]
    try:
        for proc in (facade, worker):
            await asyncio.to_thread(proc.wait_joined)
        assert (tmp_path / ".durableruns" / "dev-secret-key").exists()
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DURABLERUNS_", "TRIGGER_", "TEMPORAL_"))
        }
        env.update(PYTHONPATH=str(ROOT), DURABLERUNS_API_URL=facade.url)  # only the URL
        (tmp_path / "first_run.py").write_text(_readme_first_run())
        script, readme = [
            await asyncio.to_thread(
                subprocess.run,
                [sys.executable, name],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            for name in ("trigger_mytasks.py", "first_run.py")
        ]
    finally:
        facade.stop()
        worker.stop()
    assert script.returncode == 0, script.stderr + facade.output() + worker.output()
    assert script.stdout.strip() == "COMPLETED 2 x coffee, attempt 1"
    assert readme.returncode == 0, readme.stderr
    assert readme.stdout.strip() == "COMPLETED Hello, Ada!", "the README's first run runs"


def _readme_first_run() -> str:
    """The README's complete first-run script (the block that calls asyncio.run)."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    return next(block for block in blocks if "asyncio.run(main())" in block)
