"""Determinism: every recorded history replays against today's workflows.

The histories under ``histories/`` were recorded from real runs of the examples (see
``record_histories.py``). A workflow change that alters the commands of an existing
history fails here; it must go behind ``workflow.patched()`` instead. The canary proves
the guard can fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from durableruns.engine.converter import DATA_CONVERTER
from durableruns.engine.workflows.batch import BatchWorkflow
from durableruns.engine.workflows.catalog import CatalogWorkflow
from durableruns.engine.workflows.limit import LimitWorkflow
from durableruns.engine.workflows.monitor import MonitorWorkflow
from durableruns.engine.workflows.queue import QueueWorkflow
from durableruns.engine.workflows.run import RunWorkflow
from durableruns.engine.workflows.token import TokenWorkflow
from durableruns.models import RunInput, RunRecord

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def _history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


def test_there_is_a_history_for_every_example() -> None:
    scenarios = {p.stem.split("--")[0] for p in HISTORIES}
    assert {"hello-world", "sleepy", "always-fails", "flaky", "too-slow"} <= scenarios
    assert {"parent-waits", "pipeline", "parent-child-fails"} <= scenarios
    assert {"batch", "queue"} <= scenarios, "the batch, queue and catalog workflows too"
    assert {"suspended-pipeline", "suspended-batch", "steps", "resume-mismatch"} <= scenarios
    assert "canceled-suspended" in scenarios, "suspension, resume, steps, the guard, cancel"
    assert "streams" in scenarios, "stream_chunks signals across a continuation"
    assert {
        "closed-failed",
        "closed-expired",
        "closed-canceled",
        "closed-failed-child",
    } <= scenarios
    assert {"token-approval", "token-before-wait", "token-timeout", "token-canceled"} <= (
        scenarios
    ), "wait tokens: the token workflow and the runs waiting on it"
    assert "token-in-task" in scenarios, "tokens made, completed and read by task code"
    assert {"limits", "priority", "limits-woken", "limit-ttl-expired"} <= scenarios, (
        "limit workflows, and runs holding limits"
    )
    assert {"hooks-completed", "hooks-canceled"} <= scenarios, "the hooks activity"
    assert "monitor" in scenarios, "the monitor workflow: batched reports, alerts"


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path) -> None:
    replayer = Replayer(
        workflows=[
            RunWorkflow,
            BatchWorkflow,
            CatalogWorkflow,
            QueueWorkflow,
            TokenWorkflow,
            LimitWorkflow,
            MonitorWorkflow,
        ],
        data_converter=DATA_CONVERTER,
    )
    result = await replayer.replay_workflow(_history(path), raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"


@workflow.defn(name="durableruns.run")
class ChangedRunWorkflow:
    """The run workflow with one command added up front: must not replay."""

    @workflow.run
    async def run(self, input: RunInput) -> RunRecord:
        await workflow.sleep(0.01)
        return RunRecord.from_input(input)


async def test_a_changed_workflow_fails_replay() -> None:
    path = next(p for p in HISTORIES if p.stem == "hello-world--0")
    replayer = Replayer(workflows=[ChangedRunWorkflow], data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(_history(path), raise_on_replay_failure=False)
    assert isinstance(result.replay_failure, workflow.NondeterminismError)
