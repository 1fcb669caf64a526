"""Property-based fuzzing of the facade from its own OpenAPI document (schemathesis):
for generated valid and invalid requests, authenticated, no answer is a 5xx and every
answer matches the document. Bounded: a few examples per operation and a time budget.

The facade runs as ``durableruns api`` in a process of its own on a free port, joined
to the tests' Temporal server (a real server: schemathesis's calls are synchronous, and
the Temporal client must stay on the loop that made it). Streaming routes (realtime,
events) are left out: they answer for as long as a run lives.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from tests.engine.test_payload_storage_s3 import free_port
from tests.helpers import ROOT, SECRET_KEY

BIN = Path(sys.executable).parent
BUDGET_S = 45
"""The fuzzing time budget (the whole test stays about a minute on two shared cores)."""


@pytest.fixture(scope="module")
def facade_url(
    temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    port = free_port()
    address = temporal_env.client.service_client.config.target_host
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DURABLERUNS_SECRET_KEY": SECRET_KEY,
        "DURABLERUNS_TASK_QUEUE_PREFIX": f"fuzz-{uuid.uuid4().hex[:8]}",
        "DURABLERUNS_STATE_DIR": str(tmp_path_factory.mktemp("fuzz-state")),
    }
    command = [
        str(BIN / "durableruns"),
        "api",
        "--temporal-address",
        address,
        "--api-port",
        str(port),
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # "durableruns facade on … joined …" once serving
        assert "facade" in line, line
        url = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{url}/openapi.json", timeout=10).status_code == 200
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.timeout(BUDGET_S + 60)
def test_no_input_gets_a_5xx_and_every_answer_matches_the_schema(
    facade_url: str, tmp_path: Path
) -> None:
    command = [
        str(BIN / "schemathesis"),
        "run",
        f"{facade_url}/openapi.json",
        "--header",
        f"Authorization: Bearer {SECRET_KEY}",
        "--checks",
        "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance",
        "--max-examples",
        "8",
        "--max-time",
        str(BUDGET_S),
        "--request-timeout",
        "15",
        "--workers",
        "1",
        "--seed",
        "15",
        "--exclude-path-regex",
        "^/realtime/|/runs/events$|/batches/{batch_id}/events$|/stream$",
        "--suppress-health-check",
        "all",
    ]
    result = subprocess.run(
        command,
        cwd=tmp_path,  # schemathesis and hypothesis keep their caches in the working directory
        capture_output=True,
        text=True,
        timeout=BUDGET_S + 45,
        env={
            **os.environ,
            "NO_COLOR": "1",
            "SCHEMATHESIS_HOOKS": "tests.helpers.schemathesis_hooks",
            "PYTHONPATH": str(ROOT),
        },
    )
    print(result.stdout[-3000:])  # the summary, for -s
    assert result.returncode == 0, result.stdout[-12_000:] + result.stderr[-3000:]
