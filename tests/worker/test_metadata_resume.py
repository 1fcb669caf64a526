"""Metadata exactly once across resumes: task code outside steps runs again from the top
on every resume, and the metadata changes it made before the wait it resumes from were
applied by the execution that first ran them. They count once per position, in a task
process and in the worker alike, and no Temporal action is added for it (a resumed
execution decides locally, from the journal it already has)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import Client

from durableruns.task_definitions import TaskRegistry
from tests.helpers import Stack, open_stack

EXPECTED = {
    "count": 2,
    "down": -1,
    "seen": ["start", "middle"],
    "phase": "done",
    "read after the first wait": 1,
}


@pytest.fixture(scope="module")
async def in_worker(client: Client) -> AsyncIterator[Stack]:
    """Task code in the worker's process (isolation off)."""
    registry = TaskRegistry.from_modules(["tests.helpers.tasks.suspension_tasks"])
    async with open_stack(client, registry, isolation=False) as opened:
        yield opened


async def _check(stack: Stack, seconds: float) -> None:
    run_id = await stack.trigger("metadata-across-waits", {"seconds": seconds})
    run: dict[str, Any] = await stack.wait_final(run_id, timeout=60)
    assert run["status"] == "COMPLETED", run
    assert run["output"] == EXPECTED, run["output"]
    assert run["metadata"] == EXPECTED, run["metadata"]
    assert run["attemptCount"] == 1


async def test_metadata_changed_before_a_wait_counts_once_in_a_task_process(
    stack: Stack,
) -> None:
    await _check(stack, 6)  # the example of issue 27: increment, a 6 s wait, count is 1


async def test_metadata_changed_before_a_wait_counts_once_in_the_worker(
    in_worker: Stack,
) -> None:
    await _check(in_worker, 1)
