"""The worker's error reports against a real monitor workflow: a retried attempt's
report waits for company (the next final failure's signal, or the linger), concurrent
final failures go out together, a stopping worker sends what lingers, and what is not a
code error (a canceled attempt) is not reported."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from temporalio.client import Client

from durableruns.models import AttemptFailure, AttemptInput, RetryOptions, RunError, RunOptions
from durableruns.service.error_groups import ErrorGroupService
from durableruns.status import AttemptStatus
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.assembly import running_worker
from durableruns.worker.error_reports import ErrorReporter, failed_attempt
from tests.helpers import eventually

VERSION = "20261204.1"


@pytest.fixture
async def prefix(client: Client) -> AsyncIterator[str]:
    """A fresh environment with a worker serving its monitor workflow."""
    name = f"test-er-{uuid.uuid4().hex[:6]}"
    async with running_worker(client, TaskRegistry([]), task_queue_prefix=name, version=VERSION):
        yield name


def _attempt(number: int, run: str = "run_a", max_attempts: int = 3) -> AttemptInput:
    return AttemptInput(
        run_id=run,
        task_id="t",
        attempt_id=f"attempt_{run}_{number}",
        attempt_number=number,
        options=RunOptions(max_attempts=max_attempts, tags=("x",)),
        run_created_at=datetime.now(UTC),
    )


FAILED = AttemptFailure(
    error=RunError(name="E", message="boom 42"), retry=RetryOptions(max_attempts=3)
)


async def _counts(client: Client, prefix: str) -> tuple[int, int]:
    service = ErrorGroupService(client, task_queue_prefix=prefix)
    state = await service.state()
    return state.occurrences, state.failed_runs


def test_which_attempts_are_retried_and_which_are_not_reported() -> None:
    retried = failed_attempt(_attempt(1), FAILED, version=VERSION)
    last = failed_attempt(_attempt(3), FAILED, version=VERSION)
    assert retried is not None and retried.retried and retried.attempt == 1
    assert last is not None and not last.retried and last.group_id == retried.group_id
    not_retryable = FAILED.model_copy(update={"retryable": False})
    assert not failed_attempt(_attempt(1), not_retryable, version=VERSION).retried  # type: ignore[union-attr]
    canceled = FAILED.model_copy(update={"status": AttemptStatus.CANCELED})
    assert failed_attempt(_attempt(1), canceled, version=VERSION) is None


async def test_retried_reports_ride_along_with_the_final_one(client: Client, prefix: str) -> None:
    reporter = ErrorReporter(client, task_queue_prefix=prefix, version=VERSION, linger_s=60)
    await reporter.report(_attempt(1), FAILED)
    await reporter.report(_attempt(2), FAILED)
    assert reporter.signals_sent == 0  # lingering: no action yet
    await reporter.report(_attempt(3), FAILED)  # the final failure: sent before it returns
    assert reporter.signals_sent == 1
    assert await eventually(lambda: _counts(client, prefix), lambda c: c == (3, 1)) == (3, 1)
    await reporter.close()
    assert reporter.signals_sent == 1


async def test_a_lone_retried_report_goes_out_after_the_linger(client: Client, prefix: str) -> None:
    reporter = ErrorReporter(client, task_queue_prefix=prefix, version=VERSION, linger_s=0.3)
    await reporter.report(_attempt(1, run="run_b"), FAILED)
    await reporter.report(_attempt(1, run="run_c"), FAILED)
    await eventually(lambda: _counts(client, prefix), lambda c: c == (2, 0))
    assert reporter.signals_sent == 1
    await reporter.close()


async def test_a_stopping_worker_sends_what_lingers(client: Client, prefix: str) -> None:
    reporter = ErrorReporter(client, task_queue_prefix=prefix, version=VERSION, linger_s=60)
    await reporter.report(_attempt(1), FAILED)
    await reporter.close()
    assert reporter.signals_sent == 1
    await eventually(lambda: _counts(client, prefix), lambda c: c == (1, 0))


async def test_concurrent_final_failures_go_out_together(client: Client, prefix: str) -> None:
    reporter = ErrorReporter(client, task_queue_prefix=prefix, version=VERSION, max_batch=30)
    await asyncio.gather(
        *(reporter.report(_attempt(1, run=f"run_{i}", max_attempts=1), FAILED) for i in range(60))
    )
    assert 2 <= reporter.signals_sent < 60  # coalesced; at most 30 per signal
    await eventually(lambda: _counts(client, prefix), lambda c: c == (60, 60))
