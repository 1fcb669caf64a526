"""Retention of stored payloads (file storage): a run's large payload and output are
filed under the run (``payloads/runs/<run id>/``); once Temporal no longer has the run's
history (namespace retention, here a deletion), ``durableruns sweep-payloads`` removes
them, and keeps those of runs still retained and anything changed within the grace."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from durableruns.engine.client import data_converter
from durableruns.engine.file_storage import RUNS_DIR
from durableruns.service.payload_sweep import sweep_file_payloads
from durableruns.settings import Settings
from durableruns.task_definitions import TaskRegistry
from tests.helpers import Stack, eventually, open_stack
from tests.helpers.processes import DURABLERUNS, ROOT

KIB = 1024


@pytest.fixture(scope="module")
async def stored(
    temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    settings = Settings(
        payload_storage="file",
        payload_storage_threshold=64 * KIB,
        state_dir=tmp_path_factory.mktemp("state"),
    )
    client = await Client.connect(
        temporal_env.client.service_client.config.target_host,
        namespace="default",
        data_converter=data_converter(settings),
    )
    registry = TaskRegistry.from_modules(["tests.helpers.tasks.payload_tasks"])
    async with open_stack(client, registry) as stack:
        stack.settings = settings
        yield stack


async def _gone(client: Client, run_id: str) -> bool:
    try:
        await client.get_workflow_handle(run_id).describe()
    except RPCError:
        return True
    return False


async def test_the_sweep_removes_the_payloads_of_runs_whose_history_is_gone(
    stored: Stack,
) -> None:
    directory = stored.settings.state_dir / "payloads"
    runs = {}
    for name in ("expired", "retained"):
        value = {"blob": name[0] * (200 * KIB)}
        run = await stored.wait_final(await stored.trigger("payload-echo", value), timeout=60)
        assert run["status"] == "COMPLETED" and run["output"] == value
        runs[name] = run["id"]
        files = list((directory / RUNS_DIR / run["id"]).iterdir())
        assert files, "the run's payloads are filed under it"

    # Temporal's retention deletes a closed run's history; here, at once.
    await stored.client.workflow_service.delete_workflow_execution(
        DeleteWorkflowExecutionRequest(
            namespace="default", workflow_execution=WorkflowExecution(workflow_id=runs["expired"])
        )
    )
    # The dev server (CLI 1.9.1) removes a just-closed execution about 32 s after the request.
    await eventually(lambda: _gone(stored.client, runs["expired"]), bool, 120)

    within_grace = await sweep_file_payloads(stored.client, directory, ["default"])
    assert within_grace.removed == 0 and within_grace.recent >= 2, within_grace

    settings = stored.settings
    result = subprocess.run(
        [DURABLERUNS, "sweep-payloads", "--grace-hours", "0"],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "TEMPORAL_CONFIG_FILE": "/nonexistent/temporal.toml",
            "DURABLERUNS_TEMPORAL_ADDRESS": stored.client.service_client.config.target_host,
            "DURABLERUNS_STATE_DIR": str(settings.state_dir),
            "DURABLERUNS_PAYLOAD_STORAGE": "file",
            "DURABLERUNS_SECRET_KEY": "tr_dev_sweep",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "removed the payloads of 1 runs" in result.stdout, result.stdout
    assert not (directory / RUNS_DIR / runs["expired"]).exists()
    assert (directory / RUNS_DIR / runs["retained"]).exists()
    kept = await stored.retrieve(runs["retained"])
    assert kept["output"] == {"blob": "r" * (200 * KIB)}, "a retained run still reads whole"

    again = await sweep_file_payloads(stored.client, directory, ["default"], grace=timedelta(0))
    assert again.removed == 0 and again.kept >= 1, again
