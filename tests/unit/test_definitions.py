"""Task definitions, the registry, retry delays, packets and ids: pure logic."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from durableruns import RetryOptions, TaskContext, task
from durableruns.errors import DuplicateTaskError, TaskDefinitionError
from durableruns.ids import is_run_id, new_run_id
from durableruns.packets import PacketError, decode_packet
from durableruns.task_definitions import TaskRegistry


class In(BaseModel):
    x: int


class Out(BaseModel):
    y: int


def test_the_decorator_reads_models_and_context_from_the_signature() -> None:
    @task(id="typed", max_duration=5)
    async def typed(payload: In, ctx: TaskContext) -> Out:
        return Out(y=payload.x)

    assert typed.payload_model is In and typed.output_model is Out
    assert typed.wants_context and typed.is_async and typed.max_duration == 5
    assert typed.retry == RetryOptions()


def test_a_plain_json_sync_task_without_context() -> None:
    @task(id="plain", retry={"max_attempts": 1})
    def plain(payload: dict[str, Any]) -> list[int]:
        return [1]

    assert plain.payload_model is None and plain.output_model is None
    assert not plain.wants_context and not plain.is_async
    assert plain.retry.max_attempts == 1
    assert plain({}) == [1], "calling the task calls the function"


@pytest.mark.parametrize("bad_id", ["", " x", "has space", "a" * 129, "-leading"])
def test_invalid_task_ids_are_refused(bad_id: str) -> None:
    with pytest.raises(TaskDefinitionError, match="Invalid task id"):
        task(id=bad_id)


def test_a_function_with_too_many_parameters_is_refused() -> None:
    with pytest.raises(TaskDefinitionError, match="payload, ctx"):

        @task(id="three")
        def three(a: int, b: int, c: int) -> None: ...


def test_the_registry_refuses_two_tasks_with_one_id() -> None:
    @task(id="twin")
    def first(payload: Any) -> None: ...

    @task(id="twin")
    def second(payload: Any) -> None: ...

    registry = TaskRegistry([first])
    registry.add(first)  # the same task again is fine
    with pytest.raises(DuplicateTaskError, match="'twin' is defined twice") as info:
        registry.add(second)
    assert "first" in str(info.value) and "second" in str(info.value)


def test_the_registry_collects_tasks_from_packages() -> None:
    registry = TaskRegistry.from_modules(["activities"])
    assert {"hello-world", "sleepy", "always-fails", "flaky", "too-slow"} <= set(registry.ids)


def test_an_unimportable_task_module_is_a_clear_error() -> None:
    with pytest.raises(TaskDefinitionError, match="no_such_module"):
        TaskRegistry.from_modules(["no_such_module"])


@pytest.mark.parametrize(
    ("data", "kind", "expected"),
    [
        ('{"json":{"name":"x"}}', "application/super+json", {"name": "x"}),
        (
            '{"json":"2026-01-01T00:00:00.000Z","meta":{"values":["Date"]}}',
            "application/super+json",
            "2026-01-01T00:00:00.000Z",
        ),
        ('{"a": 1}', "application/json", {"a": 1}),
        ('{"a": 1}', None, {"a": 1}),
        ("hello", "text/plain", "hello"),
        ({"plain": True}, None, {"plain": True}),
        (None, "application/json", None),
        ("", "application/json", None),
    ],
)
def test_payload_packets_decode_to_plain_json(data: Any, kind: str | None, expected: Any) -> None:
    assert decode_packet(data, kind) == expected


@pytest.mark.parametrize(
    ("data", "kind", "field"),
    [
        ("{", "application/json", "payload"),
        ('{"no": "json member"}', "application/super+json", "payload"),
        ("x", "application/store", "payloadType"),
    ],
)
def test_bad_packets_name_the_field(data: str, kind: str, field: str) -> None:
    with pytest.raises(PacketError) as info:
        decode_packet(data, kind)
    assert info.value.field == field


def test_run_ids_are_unique_time_ordered_and_recognisable() -> None:
    ids = [new_run_id() for _ in range(200)]
    assert len(set(ids)) == 200
    assert all(is_run_id(i) for i in ids)
    assert [i[:14] for i in ids] == sorted(i[:14] for i in ids)
    assert not is_run_id("run_123") and not is_run_id("batch_" + ids[0][4:])
