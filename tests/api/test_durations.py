"""One meaning per duration: ``durationMs`` is execution time (waits excluded), the same
in the list as on retrieve; attempt timestamps are in order."""

from __future__ import annotations

from datetime import datetime

from tests.helpers import Stack, eventually


async def test_duration_excludes_waits_and_the_list_agrees_with_retrieve(stack: Stack) -> None:
    run = await stack.wait_final(await stack.trigger("naps", {"seconds": 1.5}))
    assert run["status"] == "COMPLETED"
    assert run["durationMs"] < 1000, "the 1.5 s suspended wait does not count"
    listed = await eventually(
        lambda: stack.http.get("/api/v1/runs", params={"filter[taskIdentifier]": "naps"}),
        lambda r: any(i["id"] == run["id"] and i["isCompleted"] for i in r.json()["data"]),
    )
    item = next(i for i in listed.json()["data"] if i["id"] == run["id"])
    assert item["durationMs"] == run["durationMs"]


async def test_an_attempt_is_created_before_it_starts_and_ends_after(stack: Stack) -> None:
    run = await stack.wait_final(await stack.trigger("hello-world", {"name": "t"}))
    [attempt] = run["attempts"]
    created, started, completed = (
        datetime.fromisoformat(attempt[k]) for k in ("createdAt", "startedAt", "completedAt")
    )
    assert created <= started <= completed
