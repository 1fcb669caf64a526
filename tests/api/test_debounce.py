"""Debounce (Trigger.dev v4's ``options.debounce``): triggers with one key within the
window collapse into one delayed run; ``maxDelay`` caps how long one run collects."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

import pytest

from tests.helpers import Stack


def _debounce(key: str, delay: str = "2s", **more: Any) -> dict[str, Any]:
    return {"debounce": {"key": key, "delay": delay, **more}}


async def _trigger(stack: Stack, name: str, options: dict[str, Any]) -> dict[str, Any]:
    response = await stack.http.post(
        "/api/v1/tasks/hello-world/trigger", json={"payload": {"name": name}, "options": options}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(("mode", "runs_with"), [("leading", "a"), ("trailing", "c")])
async def test_triggers_within_the_window_collapse_into_one_delayed_run(
    stack: Stack, mode: str, runs_with: str
) -> None:
    key = uuid.uuid4().hex
    answers = [await _trigger(stack, n, _debounce(key, mode=mode)) for n in "abc"]
    assert len({a["id"] for a in answers}) == 1 and not any(a["isCached"] for a in answers)
    delayed = await stack.retrieve(answers[0]["id"])
    assert delayed["status"] == "DELAYED"
    run = await stack.wait_final(answers[0]["id"])
    assert run["output"] == {"message": f"Hello, {runs_with}!"}
    started = datetime.fromisoformat(run["startedAt"])
    last_trigger = datetime.fromisoformat(delayed["updatedAt"])
    assert (started - last_trigger).total_seconds() > 1.5, "delayed after the last trigger"


async def test_max_delay_caps_one_run_and_the_key_moves_to_a_new_one(stack: Stack) -> None:
    key = uuid.uuid4().hex
    ids = []
    for i in range(4):  # at 0, 1, 2, 3 s: the third would move the start past 4 s
        ids.append((await _trigger(stack, str(i), _debounce(key, "2s", maxDelay="4s")))["id"])
        await asyncio.sleep(1)
    assert ids[0] == ids[1] and ids[2] == ids[3] and ids[0] != ids[2]
    for run_id, name in ((ids[0], "0"), (ids[2], "2")):
        run = await stack.wait_final(run_id)
        assert run["output"] == {"message": f"Hello, {name}!"}, "leading: its first trigger"


async def test_a_trigger_after_the_run_started_makes_a_new_run(stack: Stack) -> None:
    key = uuid.uuid4().hex
    first = await _trigger(stack, "one", _debounce(key, "1s"))
    await stack.wait_final(first["id"])
    second = await _trigger(stack, "two", _debounce(key, "1s"))
    assert second["id"] != first["id"]
    assert (await stack.wait_final(second["id"]))["output"] == {"message": "Hello, two!"}


@pytest.mark.parametrize(
    ("debounce", "field"),
    [
        ({"delay": "2026-12-01T00:00:00Z"}, "options.debounce.delay"),
        ({"delay": "0.5s"}, "options.debounce.delay"),
        ({"delay": "5s", "maxDelay": "5s"}, "options.debounce.maxDelay"),
        ({"delay": "5s", "maxDelay": "soon"}, "options.debounce.maxDelay"),
    ],
    ids=["a-date", "under-a-second", "max-not-longer", "max-unparsable"],
)
async def test_bad_debounce_options_are_400_naming_the_field(
    stack: Stack, debounce: dict[str, Any], field: str
) -> None:
    response = await stack.http.post(
        "/api/v1/tasks/hello-world/trigger",
        json={"payload": {"name": "x"}, "options": {"debounce": {"key": "k", **debounce}}},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith(field)
