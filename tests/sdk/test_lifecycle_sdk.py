"""The same lifecycles through the Python SDK: typed handles and runs."""

from __future__ import annotations

import pytest

from activities.hello_world import Greeting, Hello, hello_world
from durableruns import RunStatus, runs, tasks
from durableruns.errors import DurableRunsError, NotFoundError
from tests.helpers import Stack


async def test_task_trigger_returns_a_handle_and_retrieve_types_the_output(
    sdk_stack: Stack,
) -> None:
    handle = await hello_world.trigger(Hello(name="Grace"))
    assert handle.id.startswith("run_") and not handle.is_cached
    assert handle.public_access_token.count(".") == 2, "a JWT"
    run = await runs.poll(handle, timeout=30)
    assert run.status is RunStatus.COMPLETED
    assert isinstance(run.output, Greeting) and run.output.message == "Hello, Grace!"
    assert isinstance(run.payload, Hello) and run.payload.name == "Grace"
    assert run.is_success and run.is_completed and not run.is_failed and not run.is_canceled


async def test_tasks_trigger_by_id_gives_plain_json(sdk_stack: Stack) -> None:
    handle = await tasks.trigger("hello-world", {"name": "Linus"}, tags=["sdk"])
    run = await runs.poll(handle.id, timeout=30)
    assert run.output == {"message": "Hello, Linus!"}
    assert run.tags == ["sdk"]


async def test_flaky_through_the_sdk_records_every_attempt(sdk_stack: Stack) -> None:
    handle = await tasks.trigger("flaky", {"fail_times": 2})
    run = await runs.poll(handle, timeout=30)
    assert run.status is RunStatus.COMPLETED
    assert run.attempt_count == 3
    assert [a.status for a in run.attempts] == ["FAILED", "FAILED", "COMPLETED"]
    assert run.attempts[0].error is not None
    assert run.attempts[0].error.message == "attempt 1 fails on purpose"


async def test_always_fails_through_the_sdk(sdk_stack: Stack) -> None:
    run = await runs.poll(await tasks.trigger("always-fails", {}), timeout=30)
    assert run.status is RunStatus.FAILED and run.is_failed
    assert run.error is not None and run.error.message == "boom"
    assert run.attempt_count == 2


async def test_too_slow_through_the_sdk(sdk_stack: Stack) -> None:
    run = await runs.poll(await tasks.trigger("too-slow", {}), timeout=30)
    assert run.status is RunStatus.TIMED_OUT and run.is_completed and run.is_failed


async def test_retrieve_of_an_unknown_run_raises_not_found(sdk_stack: Stack) -> None:
    with pytest.raises(NotFoundError):
        await runs.retrieve("run_0000000000aaaaaaaaaaaaaaaa")


async def test_unknown_trigger_options_are_refused_before_any_request(sdk_stack: Stack) -> None:
    with pytest.raises(TypeError, match="colour"):
        await tasks.trigger("hello-world", {"name": "x"}, colour="red")


async def test_the_sdk_needs_a_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from durableruns.sdk import client

    monkeypatch.setattr(client, "_default", client.Client())
    monkeypatch.delenv("DURABLERUNS_SECRET_KEY", raising=False)
    monkeypatch.delenv("TRIGGER_SECRET_KEY", raising=False)
    with pytest.raises(DurableRunsError, match="secret key"):
        await tasks.trigger("hello-world", {"name": "x"})
