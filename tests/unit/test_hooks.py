"""Hooks, middleware, locals and catch_error as pure logic: parameters by name, the
order of the chain, the verdicts, the init module (the stack tests are in
tests/engine/test_hooks_engine.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from durableruns import TaskContext, locals, task
from durableruns.context import AttemptInfo, RunInfo, TaskInfo
from durableruns.errors import AbortTaskRunError, TaskDefinitionError
from durableruns.hooks import (
    GLOBAL_HOOKS,
    RetryVerdict,
    as_verdict,
    call_hook,
    final_hook_kinds,
    load_init_modules,
)
from durableruns.sdk import tasks
from durableruns.worker.task_executor import Completed, Execution, Failed, execute

NOW = datetime(2026, 12, 4, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_global_hooks() -> Iterator[None]:
    GLOBAL_HOOKS.clear()
    yield
    GLOBAL_HOOKS.clear()


def _ctx(number: int = 1) -> TaskContext:
    return TaskContext(
        task=TaskInfo(id="t"),
        run=RunInfo(id="run_x", created_at=NOW),
        attempt=AttemptInfo(id="attempt_x", number=number, started_at=NOW),
    )


async def test_a_hook_gets_the_parameters_it_declares_by_name() -> None:
    seen: list[Any] = []

    def sync_hook(output: int, ctx: TaskContext) -> None:
        seen.append((output, ctx.run.id))

    async def async_hook(error: Exception, unknown_default: int = 7, **rest: Any) -> None:
        seen.append((error, unknown_default, sorted(rest)))

    values = {"output": 3, "ctx": _ctx(), "error": "e"}
    await call_hook(sync_hook, values)
    await call_hook(async_hook, values)
    assert seen[0] == (3, "run_x")
    assert seen[1][:2] == ("e", 7) and "payload" in seen[1][2]


def test_a_hook_with_an_unknown_parameter_is_refused_at_definition() -> None:
    with pytest.raises(TaskDefinitionError, match="unknown parameter 'colour'"):

        @task(id="bad-hook", on_success=lambda colour: None)
        async def bad(payload: dict[str, Any]) -> None: ...

    with pytest.raises(TaskDefinitionError, match="must be an async function"):
        tasks.middleware("sync", lambda next: None)


def test_catch_error_verdicts_from_dicts_and_the_typed_form() -> None:
    at = datetime(2027, 1, 1, tzinfo=UTC)
    assert as_verdict(None) is None
    assert as_verdict({"skip_retrying": True}) == RetryVerdict(skip_retrying=True)
    assert as_verdict({"retry_at": at}) == RetryVerdict(retry_at=at)
    assert as_verdict(RetryVerdict(retry_delay_ms=5)) == RetryVerdict(retry_delay_ms=5)
    with pytest.raises(TypeError, match="unknown keys: retry"):
        as_verdict({"retry": True})
    with pytest.raises(TypeError):
        as_verdict("skip")


def test_locals_are_per_scope() -> None:
    db = locals.create("db")
    with locals.scope():
        assert locals.get(db) is None
        assert locals.set(db, "conn") == "conn"
        assert locals.get_or_throw(db) == "conn"
        with locals.scope(), pytest.raises(locals.LocalNotSetError, match="'db'"):
            locals.get_or_throw(db)


async def test_middleware_wraps_hooks_and_code_global_first_and_locals_flow() -> None:
    order: list[str] = []
    conn = locals.create("conn")

    async def outer(next: Any, task: str) -> None:
        order.append(f"global-in:{task}")
        locals.set(conn, "open")
        await next()
        order.append("global-out")

    async def inner(next: Any) -> None:
        order.append("task-in")
        await next()
        order.append("task-out")

    tasks.middleware("outer", outer)
    tasks.on_start_attempt(lambda: order.append("global-start"))

    @task(
        id="chain",
        middleware=inner,
        on_start_attempt=lambda ctx: order.append(f"start:{ctx.attempt.number}"),
    )
    async def chain(payload: dict[str, Any]) -> str:
        order.append("code")
        return locals.get_or_throw(conn)

    assert await execute(chain, {}, _ctx()) == Completed("open")
    assert order == [
        "global-in:chain",
        "task-in",
        "global-start",
        "start:1",
        "code",
        "task-out",
        "global-out",
    ]
    order.clear()
    await execute(chain, {}, _ctx(), Execution(continuation=1))
    assert "start:1" not in order and "code" in order, "a continuation does not restart"


async def test_catch_error_verdicts_reach_the_failure() -> None:
    at = datetime(2027, 1, 1, tzinfo=UTC)
    answers: list[Any] = [
        {"skip_retrying": True},
        {"retry_at": at},
        {"retry_delay_ms": 250},
        {"error": AbortTaskRunError("replaced")},
        None,
    ]
    seen_retry_at: list[Any] = []

    def catch(error: Exception, retry_at: datetime | None) -> Any:
        seen_retry_at.append(retry_at)
        return answers.pop(0)

    @task(id="fails", catch_error=catch, retry={"max_attempts": 2})
    async def fails(payload: dict[str, Any]) -> None:
        raise ValueError("boom")

    skip, when, delay, replaced, default = [await execute(fails, {}, _ctx()) for _ in range(5)]
    assert isinstance(skip, Failed) and skip.skip_retrying and skip.kind == "error"
    assert isinstance(when, Failed) and when.retry_at == at
    assert isinstance(delay, Failed) and delay.retry_delay_ms == 250
    assert isinstance(replaced, Failed) and replaced.kind == "abort"
    assert replaced.error.message == "replaced"
    assert isinstance(default, Failed) and default.kind == "error" and not default.skip_retrying
    assert all(isinstance(r, datetime) for r in seen_retry_at), "attempt 1 of 2 can retry"
    assert isinstance(await execute(fails, {}, _ctx(number=2)), Failed)
    assert seen_retry_at[-1] is None, "the last attempt has no retry time"


async def test_an_error_in_on_start_attempt_fails_the_attempt_and_on_resume_does_not() -> None:
    def broken() -> None:
        raise RuntimeError("hook broke")

    @task(id="starts", on_start_attempt=broken, on_resume=broken)
    async def starts(payload: dict[str, Any]) -> int:
        return 1

    failed = await execute(starts, {}, _ctx())
    assert isinstance(failed, Failed) and failed.error.message == "hook broke"
    resumed = Execution(continuation=1, resumed_from=None)
    assert await execute(starts, {}, _ctx(), resumed) == Completed(1)


def test_final_hook_kinds_count_global_hooks() -> None:
    @task(id="quiet")
    async def quiet(payload: dict[str, Any]) -> None: ...

    assert final_hook_kinds(quiet.hooks) == ()
    tasks.on_complete(lambda: None)
    assert final_hook_kinds(quiet.hooks) == ("on_complete",)


def test_the_init_module_of_the_tasks_package_is_loaded_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "inittasks"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "init.py").write_text(
        "from durableruns import tasks\ntasks.on_failure(lambda error: None)\n"
    )
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "work.py").write_text(
        "from durableruns import task\n@task(id='init-work')\nasync def work(p): ...\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert load_init_modules("inittasks.sub.work") == ["inittasks.init"]
        assert len(GLOBAL_HOOKS.of("on_failure")) == 1
    finally:
        for name in [m for m in sys.modules if m.startswith("inittasks")]:
            del sys.modules[name]


def test_registering_a_hook_again_replaces_it_and_two_lambdas_stay_two() -> None:
    def alert(error: Any) -> None: ...

    tasks.on_failure(alert)
    tasks.on_failure(alert)
    tasks.on_failure(lambda error: None)
    tasks.on_failure(lambda ctx: None)
    assert len(GLOBAL_HOOKS.of("on_failure")) == 3


@pytest.mark.parametrize(
    ("status", "kinds"),
    [
        ("COMPLETED", ("on_success", "on_complete")),
        ("FAILED", ("on_failure", "on_complete")),
        ("CRASHED", ("on_failure", "on_complete")),
        ("SYSTEM_FAILURE", ("on_failure", "on_complete")),
        ("TIMED_OUT", ("on_failure", "on_complete")),
        ("CANCELED", ("on_cancel", "on_complete")),
        ("EXPIRED", ()),
    ],
)
def test_which_final_status_fires_which_hooks(status: str, kinds: tuple[str, ...]) -> None:
    from durableruns.hook_models import kinds_for
    from durableruns.status import RunStatus

    assert kinds_for(RunStatus(status)) == kinds
