"""Input streams (``streams.input``): values sent into a running run reach its code in
order, exactly once, whether it suspends in ``wait`` (no process while waiting),
listens in its process (``once``, ``on``), or resumes in between."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import Client

from durableruns.errors import BadRequestError, InvalidInputError, NotFoundError
from durableruns.task_definitions import TaskRegistry
from tests.helpers import EXAMPLE_MODULES, Stack, eventually, open_stack
from tests.helpers.tasks.input_tasks import messages, notes

MODULES = [*EXAMPLE_MODULES, "tests.helpers.tasks.input_tasks"]


@pytest.fixture(scope="module")
async def input_stack(client: Client) -> AsyncIterator[Stack]:
    async with open_stack(client, TaskRegistry.from_modules(MODULES)) as opened:
        yield opened


async def _send(stack: Stack, run_id: str, stream: str, data: Any) -> int:
    response = await stack.http.post(
        f"/realtime/v1/streams/{run_id}/input/{stream}", json={"data": data}
    )
    return response.status_code


async def _waiting_on(stack: Stack, run_id: str) -> dict[str, Any]:
    return await eventually(
        lambda: stack.retrieve(run_id),
        lambda r: r["status"] == "WAITING" and any(w["kind"] == "input" for w in r["waits"]),
        timeout=30,
    )


async def _pending_attempts(client: Client, run_id: str) -> int:
    description = await client.get_workflow_handle(run_id).describe()
    activities: Any = description.raw_description.pending_activities
    return sum(1 for a in activities if a.activity_type.name == "durableruns.attempt")


async def test_values_sent_before_anyone_listens_are_delivered_in_order(
    input_stack: Stack,
) -> None:
    run_id = await input_stack.trigger("input-wait-many", {"count": 3}, delay="2s")
    for n in range(3):
        await notes.send(run_id, {"n": n})  # the Python SDK, over HTTP
    run = await input_stack.wait_final(run_id, timeout=60)
    assert run["status"] == "COMPLETED", run
    assert run["output"] == [0, 1, 2]


async def test_wait_suspends_the_run_with_no_attempt_running_and_resumes_with_the_value(
    input_stack: Stack, client: Client
) -> None:
    run_id = await input_stack.trigger("input-wait", {})
    run = await _waiting_on(input_stack, run_id)
    assert run["waitingReason"]["code"] == "INPUT_STREAM"
    assert run["waitingReason"]["inputStream"] == "msg"
    assert "msg" in run["waitingReason"]["message"]
    assert await _pending_attempts(client, run_id) == 0  # no task process, no slot
    assert await _send(input_stack, run_id, "msg", {"approved": True}) == 200
    run = await input_stack.wait_final(run_id, timeout=60)
    assert run["status"] == "COMPLETED", run
    assert run["output"] == {"ok": True, "output": {"approved": True}, "attempt": 1}
    timeline = (await input_stack.http.get(f"/api/v1/runs/{run_id}/timeline")).json()["data"]
    names = [span["name"] for span in timeline if span["kind"] == "input"]
    assert any("'msg' received" in name for name in names), timeline


async def test_wait_times_out_without_a_value(input_stack: Stack) -> None:
    run_id = await input_stack.trigger("input-wait", {"timeout": "1s"})
    run = await input_stack.wait_final(run_id, timeout=60)
    assert run["status"] == "COMPLETED", run
    assert run["output"]["ok"] is False


async def test_once_waits_in_process_and_times_out(input_stack: Stack) -> None:
    run_id = await input_stack.trigger("input-once", {"timeout": 0.5})
    run = await input_stack.wait_final(run_id, timeout=60)
    assert run["output"]["ok"] is False and "timed out" in run["output"]["error"]
    run_id = await input_stack.trigger("input-once", {"timeout": 30})
    await input_stack.wait_status(run_id, "EXECUTING", timeout=30)
    await messages.send(run_id, "hello")
    run = await input_stack.wait_final(run_id, timeout=60)
    assert run["output"] == {"ok": True, "output": "hello", "error": None}


async def test_on_sees_every_value_while_the_code_runs(input_stack: Stack) -> None:
    run_id = await input_stack.trigger("input-on", {})
    await input_stack.wait_status(run_id, "EXECUTING", timeout=30)
    for n in range(5):
        assert await _send(input_stack, run_id, "msg", n) == 200
    await eventually(
        lambda: input_stack.http.get(f"/api/v1/runs/{run_id}/timeline"),
        lambda r: sum("on()" in s["name"] for s in r.json()["data"]) == 5,
        timeout=30,
    )
    assert await _send(input_stack, run_id, "stop", True) == 200
    run = await input_stack.wait_final(run_id, timeout=60)
    assert run["status"] == "COMPLETED", run
    assert run["output"] == {"seen": [0, 1, 2, 3, 4], "stopped": True, "peek": 4}
    # The handler stopped with the run: the run takes no more values.
    assert await _send(input_stack, run_id, "msg", 5) == 400


async def test_once_wait_once_deliver_each_value_once_in_order_across_resumes(
    input_stack: Stack,
) -> None:
    run_id = await input_stack.trigger("input-mixed", {})
    await messages.send(run_id, "a")  # once, in the process
    await _waiting_on(input_stack, run_id)  # the first wait suspended the run
    await messages.send(run_id, "b")
    await eventually(
        lambda: input_stack.retrieve(run_id),
        lambda r: r["status"] == "WAITING" and r["waits"] and r["waits"][0]["position"] == 3,
        timeout=30,
    )  # resumed: once and wait answered from the journal, then the second wait
    await messages.send(run_id, "c")
    await messages.send(run_id, "d")
    run = await input_stack.wait_final(run_id, timeout=60)
    assert run["status"] == "COMPLETED", run
    assert run["output"] == {"values": ["a", "b", "c", "d"], "attempt": 1}
    assert run["attempts"][0]["continuations"] == 2


async def test_a_value_buffered_in_the_process_is_consumed_by_wait_without_suspending(
    input_stack: Stack,
) -> None:
    run_id = await input_stack.trigger("input-mixed", {})
    for value in ["a", "b", "c", "d"]:
        await messages.send(run_id, value)
    run = await input_stack.wait_final(run_id, timeout=60)
    assert run["status"] == "COMPLETED", run
    assert run["output"] == {"values": ["a", "b", "c", "d"], "attempt": 1}


async def test_task_code_sends_to_another_run(input_stack: Stack) -> None:
    target = await input_stack.trigger("input-wait", {})
    await _waiting_on(input_stack, target)
    sender = await input_stack.trigger("input-sender", {"run_id": target, "value": "hi"})
    assert (await input_stack.wait_final(sender, timeout=60))["status"] == "COMPLETED"
    run = await input_stack.wait_final(target, timeout=60)
    assert run["output"]["output"] == "hi"


async def test_bad_sends_are_refused_with_a_clear_4xx(input_stack: Stack) -> None:
    run_id = await input_stack.trigger("input-wait", {"timeout": "1m"})
    assert await _send(input_stack, "run_doesnotexist00000000000", "msg", 1) == 404
    response = await input_stack.http.post(
        f"/realtime/v1/streams/{run_id}/input/bad.id", json={"data": 1}
    )
    assert response.status_code == 422 and "streamId" in response.json()["error"]
    response = await input_stack.http.post(
        f"/realtime/v1/streams/{run_id}/input/msg", json={"data": "x" * (1024 * 1024 + 1)}
    )
    assert response.status_code == 413 and "data" in response.json()["error"]
    response = await input_stack.http.post(f"/realtime/v1/streams/{run_id}/input/msg", json={})
    assert response.status_code == 422 and "data" in response.json()["error"]
    with pytest.raises(InvalidInputError, match=r"data\.n"):
        await notes.send(run_id, {"n": "not a number"})
    with pytest.raises(NotFoundError):
        await messages.send("run_doesnotexist00000000000", 1)
    await _send(input_stack, run_id, "msg", "done")
    assert (await input_stack.wait_final(run_id, timeout=60))["status"] == "COMPLETED"
    with pytest.raises(BadRequestError, match="finished"):
        await messages.send(run_id, "too late")


async def test_a_runs_public_token_may_send_to_its_input_streams_only(
    input_stack: Stack,
) -> None:
    response = await input_stack.http.post(
        "/api/v1/tasks/input-wait/trigger", json={"payload": {"timeout": "1m"}}
    )
    run_id, token = response.json()["id"], response.headers["x-trigger-jwt"]
    other = await input_stack.trigger("input-wait", {"timeout": "1m"})
    headers = {"Authorization": f"Bearer {token}"}
    url = "/realtime/v1/streams/{}/input/msg"
    denied = await input_stack.http.post(url.format(other), json={"data": 1}, headers=headers)
    assert denied.status_code == 403
    sent = await input_stack.http.post(url.format(run_id), json={"data": 1}, headers=headers)
    assert sent.status_code == 200, sent.text
    assert (await input_stack.wait_final(run_id, timeout=60))["output"]["output"] == 1
    await _send(input_stack, other, "msg", 2)
    await input_stack.wait_final(other, timeout=60)


async def test_the_chat_agent_example_converses_asks_approval_and_stops_on_cancel(
    input_stack: Stack,
) -> None:
    from durableruns import runs, wait
    from workflows.chat_agent import cancel, messages

    handle = await input_stack.trigger("chat-agent", {"word_delay_s": 0})
    await _waiting_on(input_stack, handle)
    await messages.send(handle, {"text": "hello world"})
    reply = [chunk async for chunk in runs.subscribe_to_stream(handle, "reply-0")]
    assert "".join(reply) == "Turn 0: you said 'hello world', which has 2 words. "
    await messages.send(handle, {"text": "/tool make it loud"})
    run = await eventually(
        lambda: input_stack.retrieve(handle),
        lambda r: (r.get("metadata") or {}).get("approvalTokenId"),
        timeout=30,
    )
    await wait.complete_token(run["metadata"]["approvalTokenId"], {"approved": True})
    await eventually(
        lambda: input_stack.retrieve(handle),
        lambda r: r["status"] == "WAITING" and (r.get("metadata") or {}).get("turns") == 2,
        timeout=30,
    )
    await cancel.send(handle, {"reason": "user clicked stop"})  # while it waits
    await messages.send(handle, {"text": "are you there?"})
    run = await input_stack.wait_final(handle, timeout=60)
    assert run["status"] == "COMPLETED", run
    assert run["output"]["ended"] == "canceled"
    turns = run["output"]["turns"]
    assert [t["user"] for t in turns] == ["hello world", "/tool make it loud"]
    assert turns[1]["agent"].endswith("Tool said: MAKE IT LOUD")


async def test_a_run_that_never_uses_input_streams_makes_no_input_stream_call(
    input_stack: Stack, client: Client
) -> None:
    run_id = await input_stack.trigger("hello-world", {"name": "plain"})
    assert (await input_stack.wait_final(run_id, timeout=60))["status"] == "COMPLETED"
    history = await client.get_workflow_handle(run_id).fetch_history()
    text = history.to_json()
    for name in ("input_sent", "input_consumed", "input-streams"):
        assert name not in text
