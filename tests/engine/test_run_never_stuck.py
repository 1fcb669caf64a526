"""A run is never stuck by its own data: a final record Temporal could not hold ends the
run SYSTEM_FAILURE saying what was too big; an output over its limit fails the attempt."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.service import RPCError

from durableruns.task_definitions import TaskRegistry
from tests.api.test_payloads import MB
from tests.helpers import Stack, open_stack


@pytest.fixture(scope="module")
async def inline(client: Client) -> AsyncIterator[Stack]:
    """The session client keeps values inline in history (no payload storage)."""
    async with open_stack(
        client, TaskRegistry.from_modules(["tests.helpers.tasks.payload_tasks"])
    ) as stack:
        yield stack


async def final_or_terminated(stack: Stack, run_id: str, timeout: float) -> dict[str, Any]:
    """The run once final; a run still stuck after ``timeout`` is terminated (it would
    retry its workflow task for the rest of the suite) and the test fails."""
    try:
        return await stack.wait_final(run_id, timeout=timeout)
    finally:
        with contextlib.suppress(RPCError):  # already closed
            await stack.client.get_workflow_handle(run_id).terminate("stuck: test over")


async def test_the_1_5_mb_echo_without_storage_ends_system_failure(inline: Stack) -> None:
    run_id = await inline.trigger("payload-echo", {"blob": "e" * (15 * MB // 10)})
    run = await final_or_terminated(inline, run_id, timeout=20)
    assert run["status"] == "SYSTEM_FAILURE"
    assert run["error"]["name"] == "RunRecordTooLarge"
    assert "output" in run["error"]["message"]


async def test_an_output_over_10_mib_fails_the_attempt_without_retry(inline: Stack) -> None:
    run_id = await inline.trigger("payload-sized-output", {"bytes": 101 * MB // 10})
    run = await final_or_terminated(inline, run_id, timeout=30)
    assert run["status"] == "FAILED" and run["attemptCount"] == 1
    assert "exceeds the limit of" in run["error"]["message"]
