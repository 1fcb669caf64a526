"""Wait tokens: a run waits for a human or a webhook, holding nothing meanwhile.

Created from a backend (the Python SDK over HTTP) or task code; completed once, by the
SDK, the HTTP route or the keyless callback URL; timed out by their own timer; and
several runs may wait on one, before or after it is completed.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from durableruns import wait
from durableruns.errors import BadRequestError, InvalidInputError, NotFoundError
from durableruns.sdk import wait_tokens
from tests.helpers import Stack, eventually


def _path(url: str) -> str:
    return urlsplit(url).path


async def _waiting_on(stack: Stack, run_id: str, token_id: str) -> dict[str, Any]:
    return await eventually(
        lambda: stack.retrieve(run_id),
        lambda r: (
            r["status"] == "WAITING"
            and any(w.get("tokenId") == token_id for w in r.get("waits", []))
        ),
        timeout=20,
    )


async def test_a_run_waits_for_approval_and_completes_with_it(sdk_stack: Stack) -> None:
    run_id = await sdk_stack.trigger("wait-for-approval", {})
    run = await eventually(
        lambda: sdk_stack.retrieve(run_id),
        lambda r: r["status"] == "WAITING" and (r.get("metadata") or {}).get("tokenId"),
        timeout=20,
    )
    token_id = run["metadata"]["tokenId"]
    assert token_id.startswith("waitpoint_")
    assert run["waits"] == [{"kind": "token", "position": 1, "runIds": [], "tokenId": token_id}]
    token = await wait.retrieve_token(token_id)
    assert token.status == "WAITING" and token.tags == ["approval"]
    assert token.timeout_at is not None and token.output is None
    completed = await wait.complete_token(token_id, {"approved": True})
    assert completed.completed_now
    run = await sdk_stack.wait_final(run_id)
    assert run["status"] == "COMPLETED", run
    assert run["output"] == {"approved": True}
    assert run["attemptCount"] == 1
    token = await wait.retrieve_token(token_id)
    assert token.status == "COMPLETED" and token.output == {"approved": True}
    assert token.completed_at is not None


async def test_a_token_completed_before_the_wait_resolves_it_at_once(sdk_stack: Stack) -> None:
    token = await wait.create_token(timeout="5m")
    await wait.complete_token(token, {"early": True})
    started = time.monotonic()
    run_id = await sdk_stack.trigger("waits-on-token", {"token_id": token.id})
    run = await sdk_stack.wait_final(run_id)
    assert run["status"] == "COMPLETED"
    assert run["output"]["ok"] is True and run["output"]["output"] == {"early": True}
    assert time.monotonic() - started < 10


async def test_completing_twice_keeps_the_first_completion(sdk_stack: Stack) -> None:
    token = await wait.create_token()
    first = await wait.complete_token(token, {"n": 1})
    second = await wait.complete_token(token, {"n": 2})
    assert first.completed_now and not second.completed_now
    assert second.output == {"n": 1}
    response = await sdk_stack.http.post(
        f"/api/v1/waitpoints/tokens/{token.id}/complete", json={"data": {"n": 3}}
    )
    assert response.status_code == 200
    assert response.json() == {"success": True, "alreadyCompleted": True, "output": {"n": 1}}
    assert (await wait.retrieve_token(token)).output == {"n": 1}


async def test_a_token_times_out_and_then_refuses_completion(sdk_stack: Stack) -> None:
    token = await wait.create_token(timeout="1s")
    run_id = await sdk_stack.trigger("waits-on-token", {"token_id": token.id})
    run = await sdk_stack.wait_final(run_id)
    assert run["status"] == "COMPLETED"
    assert run["output"]["ok"] is False
    assert run["output"]["error"]["name"] == "WaitpointTimeoutError"
    assert "timed out" in run["output"]["error"]["message"]
    retrieved = await wait.retrieve_token(token)
    assert retrieved.status == "TIMED_OUT" and retrieved.error is not None
    with pytest.raises(BadRequestError, match="timed out"):
        await wait.complete_token(token, {"late": True})
    body = (await sdk_stack.http.get(f"/api/v1/waitpoints/tokens/{token.id}")).json()
    assert body["outputIsError"] is True and "TRIGGER_WAITPOINT_TIMEOUT" in body["output"]


async def test_the_example_fails_clearly_when_its_token_times_out(sdk_stack: Stack) -> None:
    run_id = await sdk_stack.trigger("wait-for-approval", {"timeout": "1s"})
    run = await sdk_stack.wait_final(run_id)
    assert run["status"] == "FAILED"
    assert "timed out" in run["error"]["message"]


async def test_the_callback_url_completes_without_a_key_and_refuses_a_forged_one(
    sdk_stack: Stack,
) -> None:
    token = await wait.create_token()
    run_id = await sdk_stack.trigger("waits-on-token", {"token_id": token.id})
    await _waiting_on(sdk_stack, run_id, token.id)
    path = _path(token.url)
    assert path.startswith(f"/api/v1/waitpoints/tokens/{token.id}/callback/")
    transport = sdk_stack.http._transport
    async with httpx.AsyncClient(transport=transport, base_url="http://facade") as anonymous:
        forged = path.rsplit("/", 1)[0] + "/" + "x" * 32
        response = await anonymous.post(forged, json={"evil": True})
        assert response.status_code == 404
        other = await wait.create_token()
        crossed = _path(other.url).replace(other.id, token.id)  # another token's secret
        assert (await anonymous.post(crossed, json={"evil": True})).status_code == 404
        no_key = await anonymous.post(f"/api/v1/waitpoints/tokens/{token.id}/complete", json={})
        assert no_key.status_code == 401
        response = await anonymous.post(path, json={"paid": 42})
        assert response.status_code == 200 and response.json()["success"] is True
        again = await anonymous.post(path, json={"paid": 0})
        assert again.json()["alreadyCompleted"] is True
    run = await sdk_stack.wait_final(run_id)
    assert run["output"]["ok"] is True and run["output"]["output"] == {"paid": 42}


async def test_two_runs_wait_on_one_token(sdk_stack: Stack) -> None:
    token = await wait.create_token()
    run_ids = [await sdk_stack.trigger("waits-on-token", {"token_id": token.id}) for _ in range(2)]
    for run_id in run_ids:
        await _waiting_on(sdk_stack, run_id, token.id)
    await wait.complete_token(token, {"both": True})
    for run_id in run_ids:
        run = await sdk_stack.wait_final(run_id)
        assert run["output"]["output"] == {"both": True} and run["attemptCount"] == 1


async def test_canceling_a_run_waiting_on_a_token_is_immediate_and_the_token_stays(
    sdk_stack: Stack,
) -> None:
    token = await wait.create_token()
    run_id = await sdk_stack.trigger("waits-on-token", {"token_id": token.id})
    await _waiting_on(sdk_stack, run_id, token.id)
    started = time.monotonic()
    await sdk_stack.http.post(f"/api/v2/runs/{run_id}/cancel")
    run = await sdk_stack.wait_final(run_id, timeout=5)
    assert run["status"] == "CANCELED" and time.monotonic() - started < 3
    assert (await wait.retrieve_token(token)).status == "WAITING"
    completed = await wait.complete_token(token, {"after": "cancel"})
    assert completed.completed_now
    assert (await wait.retrieve_token(token)).status == "COMPLETED"


async def test_task_code_creates_completes_retrieves_lists_and_waits(
    sdk_stack: Stack, tmp_path: Path
) -> None:
    tag = f"rt-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "seen.jsonl"
    run_id = await sdk_stack.trigger("token-roundtrip", {"tag": tag, "log": str(log)})
    run = await sdk_stack.wait_final(run_id)
    assert run["status"] == "COMPLETED", run
    out = run["output"]
    first, rerun = (json.loads(line) for line in log.read_text().splitlines())
    keyed_id, keyed_cached, again_id, again_cached = first["keyed"]
    assert keyed_id == again_id and keyed_cached is False and again_cached is True
    assert first["completions"] == [True, False, {"approved": True}]
    # Re-run after the wait suspended it: the same tokens, the completion already made.
    assert rerun["keyed"][0] == keyed_id and rerun["completions"][0] is False
    assert out["keyed"] == rerun["keyed"]
    assert out["status"] == "COMPLETED" and out["approved"] is True
    assert _path(out["url"]).startswith(f"/api/v1/waitpoints/tokens/{out['token']}/callback/")
    # The token made by task code is the same one across the run's resume: one, not two.
    listed = await eventually(
        lambda: _ids(wait.list_tokens(tags=[tag])), lambda ids: len(ids) >= 2, timeout=10
    )
    assert sorted(listed) == sorted([out["token"], keyed_id])


async def _ids(tokens: Any) -> list[str]:
    return [t.id async for t in tokens]


async def test_list_filters_and_cursor_pages(sdk_stack: Stack) -> None:
    tag = f"list-{uuid.uuid4().hex[:8]}"
    made = []
    for _ in range(3):
        made.append((await wait.create_token(tags=[tag, "list"])).id)
        await asyncio.sleep(0.01)
    keyed = await wait.create_token(tags=[tag], idempotency_key=f"{tag}-k")
    await wait.complete_token(made[0], {"done": True})
    newest_first = [keyed.id, *reversed(made)]
    await eventually(
        lambda: _ids(wait.list_tokens(tags=tag)), lambda ids: ids == newest_first, timeout=10
    )
    chosen = wait_tokens.token_filter(tags=tag)
    first = await wait_tokens.list_tokens_page(chosen, limit=3)
    assert [t.id for t in first.items] == newest_first[:3] and first.next is not None
    second = await wait_tokens.list_tokens_page(chosen, limit=3, after=first.next)
    assert [t.id for t in second.items] == newest_first[3:] and second.next is None
    assert second.previous is not None
    back = await wait_tokens.list_tokens_page(chosen, limit=3, before=second.previous)
    assert [t.id for t in back.items] == newest_first[:3]
    await eventually(
        lambda: _ids(wait.list_tokens(tags=tag, status="COMPLETED")),
        lambda ids: ids == [made[0]],
        timeout=10,
    )
    waiting = await _ids(wait.list_tokens(tags=tag, status=["WAITING"], period="1h"))
    assert waiting == newest_first[:3]
    assert await _ids(wait.list_tokens(idempotency_key=f"{tag}-k")) == [keyed.id]
    assert await _ids(wait.list_tokens(tags=tag, to=0)) == []
    item = first.items[0]
    assert item.tags == [tag] and item.idempotency_key == f"{tag}-k" and item.url


async def test_an_idempotency_key_returns_the_same_token_until_its_ttl(sdk_stack: Stack) -> None:
    key = f"key-{uuid.uuid4().hex}"
    first = await wait.create_token(idempotency_key=key, idempotency_key_ttl="1s")
    cached = await wait.create_token(idempotency_key=key, idempotency_key_ttl="1s")
    assert cached.id == first.id and cached.is_cached and not first.is_cached
    await asyncio.sleep(1.2)
    fresh = await wait.create_token(idempotency_key=key)
    assert fresh.id != first.id and not fresh.is_cached


async def test_a_public_access_token_completes_its_token_only(sdk_stack: Stack) -> None:
    token = await wait.create_token()
    other = await wait.create_token()
    assert token.public_access_token
    transport = sdk_stack.http._transport
    headers = {"Authorization": f"Bearer {token.public_access_token}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://f", headers=headers) as pat:
        refused = await pat.post(f"/api/v1/waitpoints/tokens/{other.id}/complete", json={})
        assert refused.status_code == 403
        assert (await pat.get(f"/api/v1/waitpoints/tokens/{token.id}")).status_code == 403
        done = await pat.post(f"/api/v1/waitpoints/tokens/{token.id}/complete", json={"data": 1})
        assert done.status_code == 200
    assert (await wait.retrieve_token(token)).output == 1


async def test_unknown_tokens_and_bad_input_are_clear_errors(sdk_stack: Stack) -> None:
    with pytest.raises(NotFoundError):
        await wait.retrieve_token("waitpoint_" + "0" * 26)
    with pytest.raises(NotFoundError):
        await wait.complete_token("nonsense", {})
    with pytest.raises(BadRequestError, match="timeout"):
        await wait.create_token(timeout="soon")
    response = await sdk_stack.http.post("/api/v1/waitpoints/tokens", json={"tags": ["x"] * 11})
    assert response.status_code == 422
    with pytest.raises(InvalidInputError, match="at most 10 tags"):
        await wait.create_token(tags=["x"] * 11)
    run_id = await sdk_stack.trigger("waits-on-token", {"token_id": "waitpoint_nope"})
    run = await sdk_stack.wait_final(run_id)
    assert run["output"]["ok"] is False and run["output"]["error"]["name"] == "TokenNotFound"
    # A completion without the {"data": …} wrapper is refused, not completed with null.
    token = await wait.create_token(timeout="1h")
    path = f"/api/v1/waitpoints/tokens/{token.id}/complete"
    refused = await sdk_stack.http.post(path, json={"approved": True})
    assert refused.status_code == 400
    assert refused.json()["error"].startswith("body.approved: unknown field")
    assert (await wait.retrieve_token(token.id)).status == "WAITING"
    assert (await sdk_stack.http.post(path, json={"data": {"approved": True}})).status_code == 200


async def test_for_token_outside_task_code_says_so() -> None:
    from durableruns.errors import OutsideTaskError

    with pytest.raises(OutsideTaskError):
        await wait.for_token("waitpoint_x")


async def test_tokens_belong_to_their_environment(sdk_stack: Stack) -> None:
    """A staging key's token lives in the staging namespace: listed and retrieved there,
    not found with the dev key."""
    staging_key = sdk_stack.settings.for_environment("staging").secret_key or ""
    headers = {"Authorization": f"Bearer {staging_key}"}
    transport = sdk_stack.http._transport
    tag = f"env-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(transport=transport, base_url="http://f", headers=headers) as s:
        created = (await s.post("/api/v1/waitpoints/tokens", json={"tags": [tag]})).json()
        assert (await s.get(f"/api/v1/waitpoints/tokens/{created['id']}")).status_code == 200
        listed = await eventually(
            lambda: s.get(f"/api/v1/waitpoints/tokens?filter[tags]={tag}"),
            lambda r: len(r.json()["data"]) == 1,
            timeout=10,
        )
        assert listed.json()["data"][0]["id"] == created["id"]
    dev = await sdk_stack.http.get(f"/api/v1/waitpoints/tokens/{created['id']}")
    assert dev.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [({"idempotencyKey": "a\u0000b"}, "idempotencyKey"), ({"tags": ["ok", "b\u0000"]}, "tags[1]")],
    ids=["key", "tag"],
)
async def test_a_nul_in_a_key_or_tag_is_a_400_naming_it(
    stack: Stack, body: dict[str, Any], field: str
) -> None:
    response = await stack.http.post("/api/v1/waitpoints/tokens", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith(f"{field}: ")


async def test_a_key_too_long_to_search_for_is_a_400_not_a_503(stack: Stack) -> None:
    for body in ({"idempotencyKey": "é" * 2000}, {"idempotencyKey": "\U0001f600" * 600}):
        response = await stack.http.post("/api/v1/waitpoints/tokens", json=body)
        assert response.status_code == 400, response.text
        assert response.json()["error"].startswith("idempotencyKey: ")
    trigger = await stack.http.post(
        "/api/v1/tasks/hello-world/trigger",
        json={"payload": {"name": "x"}, "options": {"idempotencyKey": "é" * 2000}},
    )
    assert trigger.status_code == 400 and "idempotencyKey" in trigger.json()["error"]
