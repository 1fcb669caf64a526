"""Executions announce their start only once their code has run ``announce_after_s``
(1 s by default): a no-op run on a default worker costs what a lean one does (3
Temporal Cloud actions, 12 history events), a longer execution is listed EXECUTING, its
signal lands before its outcome, and cancel finds the run whichever side of the
announcement it comes."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from durableruns.engine import search_attributes as sa
from durableruns.task_definitions import TaskRegistry
from tests.engine.test_lean_runs import billable
from tests.helpers import STACK_MODULES, Stack, eventually, open_stack

E = EventType
REGISTRY = TaskRegistry.from_modules(STACK_MODULES)


async def _history_types(client: Client, run_id: str) -> list[int]:
    history = await client.get_workflow_handle(run_id).fetch_history()
    return [e.event_type for e in history.events]


async def _listed(stack: Stack, status: str) -> list[str]:
    response = await stack.http.get("/api/v1/runs", params={"filter[status]": status})
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()["data"]]


async def test_a_no_op_run_on_a_default_worker_costs_three_actions_and_twelve_events(
    client: Client,
) -> None:
    async with open_stack(client, REGISTRY) as stack:
        run_id = await stack.trigger("hello-world", {"name": "default"})
        run = await stack.wait_final(run_id)
        history = await client.get_workflow_handle(run_id).fetch_history()
    events = list(history.events)
    assert run["status"] == "COMPLETED" and run["attempts"][0]["startedAt"]
    assert len(events) <= 12, [e.event_type for e in events]
    assert billable(events) <= 3
    assert E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED not in [e.event_type for e in events]


async def test_an_execution_past_the_delay_is_listed_executing_and_announced_once(
    client: Client,
) -> None:
    async with open_stack(client, REGISTRY) as stack:
        run_id = await stack.trigger("sleepy", {"seconds": 5})
        listed = await eventually(
            lambda: _listed(stack, "EXECUTING"), lambda ids: run_id in ids, timeout=20
        )
        assert run_id in listed
        run = await stack.wait_final(run_id, timeout=30)
        types = await _history_types(client, run_id)
        description = await client.get_workflow_handle(run_id).describe()
    assert run["status"] == "COMPLETED" and run["attemptCount"] == 1
    assert types.count(E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) == 1
    # The signal lands before the outcome: the run never reads a start it has ended.
    signaled = types.index(E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    assert signaled < types.index(E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
    assert description.typed_search_attributes.get(sa.TRIGGER_STATUS) == "COMPLETED"


async def test_a_short_execution_never_reads_queued_again_once_it_read_executing(
    client: Client,
) -> None:
    """Between its code ending and the run recording the outcome (a workflow task), the
    run's record knows no start and no attempt is pending: the history's tail tells."""
    async with open_stack(client, REGISTRY) as stack:
        for _ in range(3):
            run_id = await stack.trigger("sleepy", {"seconds": 0.3})
            seen: list[str] = []
            while not (run := await stack.retrieve(run_id))["isCompleted"]:
                seen.append(run["status"])
                await asyncio.sleep(0.005)
            assert run["status"] == "COMPLETED"
            assert "EXECUTING" in seen
            assert "QUEUED" not in seen[seen.index("EXECUTING") :], seen


async def _cancel(stack: Stack, run_id: str) -> dict[str, Any]:
    """Cancel ``run_id`` and read it until it ends: it reads EXECUTING (never QUEUED) while
    its code is being stopped, and ends within the issue's 2 s (a loaded machine's slack
    on top)."""
    response = await stack.http.post(f"/api/v2/runs/{run_id}/cancel")
    asked = time.monotonic()
    assert response.status_code == 200, response.text
    seen: list[str] = []
    while not (run := await stack.retrieve(run_id))["isCompleted"]:
        seen.append(run["status"])
        assert time.monotonic() - asked < 10, seen
        await asyncio.sleep(0.02)
    assert set(seen) <= {"EXECUTING"}, seen
    return run


async def test_cancel_before_and_after_the_announcement_ends_the_attempt_canceled(
    client: Client,
) -> None:
    async with open_stack(client, REGISTRY) as stack:
        announced = await stack.trigger("sleepy", {"seconds": 60})
        await eventually(lambda: _listed(stack, "EXECUTING"), lambda ids: announced in ids, 20)
        run = await _cancel(stack, announced)
        assert run["status"] == "CANCELED"
        assert [a["status"] for a in run["attempts"]] == ["CANCELED"]
        assert run["attempts"][0]["startedAt"]
    async with open_stack(client, REGISTRY, announce_after_s=60) as stack:
        unannounced = await stack.trigger("sleepy", {"seconds": 60})
        await stack.wait_status(unannounced, "EXECUTING", timeout=20)
        run = await _cancel(stack, unannounced)
        types = await _history_types(client, unannounced)
    assert run["status"] == "CANCELED"
    assert [a["status"] for a in run["attempts"]] == ["CANCELED"]
    assert run["attempts"][0]["startedAt"], "the start came with the canceled outcome"
    assert E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED not in types
