"""The bare-Temporal baseline for ``bench/throughput.py``: one workflow that runs one
no-op activity, nothing else (no signals, no search attributes, no HTTP).

It lives in its own module because the workflow sandbox re-imports the module that
defines a workflow; this one imports nothing but temporalio and the standard library.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow

BARE_WORKFLOW = "bench.bare"
BARE_ACTIVITY = "bench.bare_noop"


@activity.defn(name=BARE_ACTIVITY)
async def bare_noop(payload: dict[str, Any]) -> float:
    """Does nothing; answers the wall-clock time (epoch seconds) at which it started."""
    return time.time()


@workflow.defn(name=BARE_WORKFLOW)
class BareWorkflow:
    """One no-op activity, like one durableruns attempt; returns the activity's start."""

    @workflow.run
    async def run(self, payload: dict[str, Any]) -> float:
        started: float = await workflow.execute_activity(
            bare_noop, payload, start_to_close_timeout=timedelta(seconds=30)
        )
        return started


@workflow.defn(name="bench.bare_timer")
class BareTimerWorkflow:
    """``bench/actions.py``'s bare run with one timer: activity, 1 s timer, activity."""

    @workflow.run
    async def run(self, payload: dict[str, Any]) -> float:
        await workflow.execute_activity(
            bare_noop, payload, start_to_close_timeout=timedelta(seconds=30)
        )
        await workflow.sleep(1)
        return await workflow.execute_activity(
            bare_noop, payload, start_to_close_timeout=timedelta(seconds=30)
        )


@workflow.defn(name="bench.bare_child")
class BareChildWorkflow:
    """``bench/actions.py``'s bare run waiting on a child: activity, child workflow
    (a BareWorkflow), activity."""

    @workflow.run
    async def run(self, payload: dict[str, Any]) -> float:
        await workflow.execute_activity(
            bare_noop, payload, start_to_close_timeout=timedelta(seconds=30)
        )
        await workflow.execute_child_workflow(BareWorkflow.run, payload)
        return await workflow.execute_activity(
            bare_noop, payload, start_to_close_timeout=timedelta(seconds=30)
        )


@workflow.defn(name="bench.bare_step")
class BareStepWorkflow:
    """``bench/actions.py``'s bare run with one step: the step is an activity of its own."""

    @workflow.run
    async def run(self, payload: dict[str, Any]) -> float:
        await workflow.execute_activity(
            bare_noop, payload, start_to_close_timeout=timedelta(seconds=30)
        )
        return await workflow.execute_activity(
            bare_noop, payload, start_to_close_timeout=timedelta(seconds=30)
        )


if __name__ == "__main__":
    raise SystemExit("bench/bare.py is a module; run bench/throughput.py")
