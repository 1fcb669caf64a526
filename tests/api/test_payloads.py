"""Big payloads (issue 15): Trigger.dev's limits at the edge (3 MiB payload, 10 MiB
output, 256 KiB metadata: 413 naming the limit and the size), and values over 256 KiB
kept outside history by Temporal's External Storage, so history holds references."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from durableruns import limits
from durableruns.engine.converter import data_converter
from durableruns.settings import Settings
from durableruns.task_definitions import TaskRegistry
from tests.helpers import Stack, eventually, open_stack

MB = 1024 * 1024
"""Sizes here are in MiB, as the limits are (Trigger.dev: 3,145,728 and 10,485,760 bytes)."""


async def storage_client(temporal_env: WorkflowEnvironment, settings: Settings) -> Client:
    """A client of the tests' Temporal server with ``settings``' payload storage."""
    return await Client.connect(
        temporal_env.client.service_client.config.target_host,
        namespace="default",
        data_converter=data_converter(settings),
    )


async def history_bytes(client: Client, run_id: str) -> int:
    """Bytes of the run's whole history, as Temporal stores it."""
    history = await client.get_workflow_handle(run_id).fetch_history()
    return sum(event.ByteSize() for event in history.events)


@pytest.fixture(scope="module")
async def big(
    temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """A worker and facade whose client keeps large values in a payload directory."""
    settings = Settings(payload_storage="file", state_dir=tmp_path_factory.mktemp("state"))
    client = await storage_client(temporal_env, settings)
    registry = TaskRegistry.from_modules(["tests.helpers.tasks.payload_tasks"])
    async with open_stack(client, registry) as stack:
        stack.settings = settings  # where the payload files are
        yield stack


def payload_files(stack: Stack) -> list[Path]:
    return [p for p in (stack.settings.state_dir / "payloads").rglob("*") if p.is_file()]


async def test_a_2_9_mb_payload_round_trips_and_history_holds_references(big: Stack) -> None:
    value = {"blob": "a" * (29 * MB // 10)}
    run = await big.wait_final(await big.trigger("payload-echo", value), timeout=60)
    assert run["status"] == "COMPLETED"
    assert run["payload"] == value and run["output"] == value
    size = await history_bytes(big.client, run["id"])
    # Payload (start, attempt input) and output (attempt result, run record) are each
    # a reference of a few hundred bytes: the whole history is about 3 KB.
    assert size < 16 * 1024, size
    assert any(p.stat().st_size > 29 * MB // 10 for p in payload_files(big))


async def test_the_1_5_mb_echo_that_used_to_stick_completes(big: Stack) -> None:
    """Issue 15's report: payload + output over 2 MiB made the run record unrecordable
    and the run stayed EXECUTING forever. With payload storage it completes."""
    value = {"blob": "e" * (15 * MB // 10)}
    run = await big.wait_final(await big.trigger("payload-echo", value), timeout=60)
    assert run["status"] == "COMPLETED" and run["output"] == value


async def test_a_9_9_mb_output_round_trips(big: Stack) -> None:
    run_id = await big.trigger("payload-sized-output", {"bytes": 99 * MB // 10})
    run = await big.wait_final(run_id, timeout=60)
    assert run["status"] == "COMPLETED", run.get("error")
    assert run["output"] == "o" * (99 * MB // 10)
    assert await history_bytes(big.client, run_id) < 16 * 1024


async def test_a_2_9_mb_payload_through_trigger_and_wait(big: Stack) -> None:
    run = await big.wait_final(await big.trigger("payload-parent", {"bytes": 29 * MB // 10}), 90)
    assert run["status"] == "COMPLETED", run.get("error")
    assert run["output"] == {"status": "COMPLETED", "length": 29 * MB // 10, "intact": True}


async def test_2_9_mb_items_of_a_batch_round_trip(big: Stack) -> None:
    created = await big.http.post(
        "/api/v3/batches", json={"runCount": 2, "taskIdentifiers": ["payload-echo"]}
    )
    assert created.status_code == 202, created.text
    lines = [
        json.dumps(
            {"index": i, "task": "payload-echo", "payload": json.dumps(f"{i}" * (29 * MB // 10))}
        )
        for i in range(2)
    ]
    sent = await big.http.post(
        f"/api/v3/batches/{created.json()['id']}/items", content="\n".join(lines).encode()
    )
    assert sent.status_code == 200, sent.text
    batch = await eventually(
        lambda: big.http.get(f"/api/v2/batches/{created.json()['id']}"),
        lambda r: len(r.json()["runs"]) == 2,
    )
    for i, run_id in enumerate(batch.json()["runs"]):
        run = await big.wait_final(run_id, timeout=60)
        assert run["status"] == "COMPLETED" and run["output"] == f"{i}" * (29 * MB // 10)


# --- over the limits: 413 naming the limit and the size -----------------------------
OVER_PAYLOAD = {"blob": "x" * (31 * MB // 10)}


def assert_413(response: Any, field: str, limit: str) -> None:
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error.startswith(f"{field}: ") and limit in error, error
    assert "bytes exceeds the limit of" in error


async def test_a_3_1_mb_payload_is_refused_with_413(big: Stack) -> None:
    plain = await big.http.post(
        "/api/v1/tasks/payload-echo/trigger", json={"payload": OVER_PAYLOAD}
    )
    assert_413(plain, "payload", "3 MiB")
    assert str(len(json.dumps(OVER_PAYLOAD, separators=(",", ":")))) in plain.json()["error"]
    packet = await big.http.post(
        "/api/v1/tasks/payload-echo/trigger",
        json={
            "payload": json.dumps({"json": OVER_PAYLOAD}),
            "options": {"payloadType": "application/super+json"},
        },
    )
    assert_413(packet, "payload", "3 MiB")


async def test_a_3_1_mb_batch_item_is_refused_with_413(big: Stack) -> None:
    created = await big.http.post("/api/v3/batches", json={"runCount": 1})
    line = json.dumps({"index": 0, "task": "payload-echo", "payload": json.dumps(OVER_PAYLOAD)})
    sent = await big.http.post(f"/api/v3/batches/{created.json()['id']}/items", content=line)
    assert_413(sent, "items line 1", "3 MiB")
    assert "payload: " in sent.json()["error"]


async def test_replay_with_a_3_1_mb_payload_is_refused_with_413(big: Stack) -> None:
    run = await big.wait_final(await big.trigger("payload-echo", {"small": 1}))
    replay = await big.http.post(f"/api/v1/runs/{run['id']}/replay", json={"payload": OVER_PAYLOAD})
    assert_413(replay, "payload", "3 MiB")


async def test_metadata_over_256_kib_is_refused_with_413(big: Stack) -> None:
    huge = {"blob": "m" * 300_000}
    trigger = await big.http.post(
        "/api/v1/tasks/payload-echo/trigger", json={"options": {"metadata": huge}}
    )
    assert_413(trigger, "options.metadata", "256 KiB")


@pytest.mark.parametrize("wait", [False, True])
async def test_a_child_payload_over_3_mib_fails_the_parent_clearly(big: Stack, wait: bool) -> None:
    run_id = await big.trigger("payload-big-child", {"bytes": 31 * MB // 10, "wait": wait})
    run = await big.wait_final(run_id, timeout=60)
    assert run["status"] == "FAILED" and run["attemptCount"] == 1, run
    assert run["error"]["name"] == "ValueTooLargeError"
    assert "exceeds the limit of 3145728 bytes (3 MiB)" in run["error"]["message"]


async def test_a_10_mb_error_message_fails_the_run_with_the_message_cut(big: Stack) -> None:
    run = await big.wait_final(await big.trigger("payload-huge-error", {"bytes": 10 * MB}), 60)
    assert run["status"] == "FAILED" and run["attemptCount"] == 2, run["status"]
    message = run["error"]["message"]
    assert len(message.encode()) <= limits.MAX_ERROR_MESSAGE_BYTES
    assert message.startswith("EEEE") and message.endswith("bytes in all)")


def test_the_output_check_the_engine_calls() -> None:
    assert limits.check_output("o" * (99 * MB // 10)) > 0
    with pytest.raises(limits.ValueTooLargeError) as refused:
        limits.check_output("o" * (101 * MB // 10))
    assert refused.value.http_status == 413 and "10 MiB" in str(refused.value)
    assert str(refused.value).startswith("output: ")


def test_error_texts_are_cut_to_their_limit() -> None:
    huge = "é" * (10 * MB)
    cut = limits.truncate_text(huge, limits.MAX_ERROR_MESSAGE_BYTES)
    assert len(cut.encode()) <= limits.MAX_ERROR_MESSAGE_BYTES
    assert cut.startswith("éé") and cut.endswith(f"(truncated: {20 * MB} bytes in all)")
    assert limits.truncate_text("short", 100) == "short"
    assert limits.truncate_text("\ud800", 100) == "\\ud800"


async def test_without_storage_a_2_5_mb_payload_is_413_not_a_temporal_message(
    stack: Stack,
) -> None:
    """The session stack stores inline (as the recorded histories were made): Temporal
    refuses a 2.5 MB blob, and the caller is told why in our words."""
    response = await stack.http.post(
        "/api/v1/tasks/hello-world/trigger", json={"payload": {"name": "n" * (25 * MB // 10)}}
    )
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error.startswith("payload: too large to record without payload storage"), error
    assert "Blob" not in error and "grpc" not in error.lower()
