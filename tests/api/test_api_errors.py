"""Auth and bad input: every refusal is a 4xx ``{"error": "<field>: <reason>"}`` and
creates nothing."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.helpers import Stack, never


async def _count_runs_of(stack: Stack, task_id: str) -> int:
    count = await stack.client.count_workflows(f"TriggerTaskId = '{task_id}'")
    return count.count


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}],
    ids=["missing", "wrong-key", "wrong-scheme"],
)
async def test_requests_without_the_secret_key_get_401(
    stack: Stack, headers: dict[str, str]
) -> None:
    async with httpx.AsyncClient(transport=stack.http._transport, base_url="http://facade") as http:
        trigger = await http.post("/api/v1/tasks/hello-world/trigger", json={}, headers=headers)
        retrieve = await http.get("/api/v3/runs/run_0000000000aaaaaaaaaaaaaaaa", headers=headers)
    for response in (trigger, retrieve):
        assert response.status_code == 401
        assert response.json() == {"error": "Invalid or Missing API key"}


BAD_TRIGGERS = [
    pytest.param(b"{not json", 400, "body: ", id="unparsable-body"),
    pytest.param(
        b'{"payload": "{oops", "options": {"payloadType": "application/super+json"}}',
        400,
        "payload: not valid JSON",
        id="payload-not-json",
    ),
    pytest.param(
        b'{"payload": "[1]", "options": {"payloadType": "application/super+json"}}',
        400,
        'payload: a SuperJSON packet must be an object with a "json" member',
        id="superjson-without-json",
    ),
    pytest.param(
        b'{"payload": "x", "options": {"payloadType": "application/x-pickle"}}',
        400,
        "payloadType: unsupported packet type",
        id="unknown-packet-type",
    ),
    pytest.param(
        b'{"options": {"maxAttempts": "many"}}',
        422,
        "options.maxAttempts: Input should be a valid integer",
        id="max-attempts-not-int",
    ),
    pytest.param(
        b'{"options": {"maxAttempts": 0}}',
        422,
        "options.maxAttempts: Input should be greater than or equal to 1",
        id="max-attempts-zero",
    ),
    pytest.param(
        b'{"options": {"tags": ["a","b","c","d","e","f","g","h","i","j","k"]}}',
        422,
        "options.tags: at most 10 tags per run, got 11",
        id="too-many-tags",
    ),
    pytest.param(b'{"options": "fast"}', 422, "options: ", id="options-not-object"),
    pytest.param(b'{"options": {"test": "maybe"}}', 422, "options.test: ", id="test-not-bool"),
]


@pytest.mark.parametrize(("body", "status", "error"), BAD_TRIGGERS)
async def test_bad_trigger_requests_are_refused_and_create_nothing(
    stack: Stack, body: bytes, status: int, error: str
) -> None:
    task_id = f"bad-input-{uuid.uuid4().hex[:8]}"
    response = await stack.http.post(
        f"/api/v1/tasks/{task_id}/trigger",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == status, response.text
    assert response.json()["error"].startswith(error), response.json()
    # absence over a window as long as visibility takes to show a run, not at one moment
    await never(lambda: _count_runs_of(stack, task_id), lambda count: count != 0, for_s=0.3)


async def test_an_invalid_task_id_is_refused(stack: Stack) -> None:
    response = await stack.http.post("/api/v1/tasks/%20bad%20id/trigger", json={})
    assert response.status_code == 422
    assert response.json()["error"].startswith("task_id: ")


@pytest.mark.parametrize(
    "run_id", ["run_0000000000aaaaaaaaaaaaaaaa", "run_nope", "not-a-run", "run_" + "z" * 26]
)
async def test_retrieving_an_unknown_run_is_404(stack: Stack, run_id: str) -> None:
    response = await stack.http.get(f"/api/v3/runs/{run_id}")
    assert response.status_code == 404
    assert response.json() == {"error": "Run not found"}
    assert response.headers["x-should-retry"] == "false"


async def test_an_empty_trigger_body_is_a_run_with_no_payload(stack: Stack) -> None:
    response = await stack.http.post(
        "/api/v1/tasks/never-deployed/trigger", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200
    run = await stack.retrieve(response.json()["id"])
    assert "payload" not in run
