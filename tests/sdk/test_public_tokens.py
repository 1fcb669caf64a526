"""Public access tokens in Trigger.dev's format, minted by the Python SDK's
``auth.create_public_token`` (the official client's are checked in
``test_official_realtime``): scopes for a tag, a run, a batch; expiry (401); the wrong
scope (403); and the per-run token a trigger returns, on every realtime endpoint."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from durableruns.api.scopes import Scopes
from durableruns.api.tokens import JWT_AUDIENCE, JWT_ISSUER
from durableruns.sdk import auth, batch
from tests.helpers import SECRET_KEY, Stack


@contextlib.asynccontextmanager
async def as_token(stack: Stack, token: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=stack.http._transport,
        base_url="http://facade",
        headers={"Authorization": f"Bearer {token}"},
    ) as reader:
        yield reader


def test_scopes_flatten_as_the_official_client_flattens_them() -> None:
    scopes = {"read": {"runs": ["run_1", "run_2"], "tags": "t", "batch": True}, "admin": True}
    assert auth.flatten_scopes(scopes) == [
        "read:runs:run_1",
        "read:runs:run_2",
        "read:tags:t",
        "read:batch",
        "admin",
    ]
    with pytest.raises(ValueError, match="must not be empty"):
        auth.flatten_scopes({"read": {"runs": [" "]}})


def test_a_tag_subscription_needs_every_tag_it_asks_for() -> None:
    one = Scopes.of(["read:tags:a"])
    assert one.can_read_tags(["a"]) and not one.can_read_tags(["a", "b"])
    assert not one.can_read_tags([]) and not one.can_read_batch("batch_1")
    assert Scopes.of(["read:all"]).can_read_tags(["x"])
    assert Scopes.of(["read:runs"]).can_read_tags(["x"])
    assert Scopes.of(["read:batch:batch_1"]).can_read_batch("batch_1")


@pytest.mark.filterwarnings("ignore:The HMAC key is")  # Trigger.dev's keys are short
async def test_an_sdk_token_has_the_official_claims(sdk_stack: Stack) -> None:
    token = await auth.create_public_token(scopes={"read": {"tags": ["x"]}}, expiration_time="1h")
    claims = jwt.decode(
        token, SECRET_KEY, algorithms=["HS256"], audience=JWT_AUDIENCE, issuer=JWT_ISSUER
    )
    assert claims["sub"] == "dev" and claims["pub"] is True
    assert claims["scopes"] == ["read:tags:x"]
    assert 3590 <= claims["exp"] - claims["iat"] <= 3600


async def test_a_tag_token_reads_runs_with_its_tag_and_nothing_else(sdk_stack: Stack) -> None:
    stack = sdk_stack
    tag = f"tok-{time.time_ns()}"
    mine = await stack.trigger("hello-world", {"name": "mine"}, tags=[tag])
    other = await stack.trigger("hello-world", {"name": "other"}, tags=[f"{tag}-x"])
    token = await auth.create_public_token(scopes={"read": {"tags": [tag]}})
    async with as_token(stack, token) as reader:
        assert (await reader.get(f"/api/v3/runs/{mine}")).status_code == 200
        shape = await reader.get(f"/realtime/v1/runs/{mine}", params={"offset": "-1"})
        assert shape.status_code == 200
        tag_shape = await reader.get("/realtime/v1/runs", params={"tags": tag, "offset": "-1"})
        assert tag_shape.status_code == 200
        refused = [
            await reader.get(f"/api/v3/runs/{other}"),
            await reader.get(f"/realtime/v1/runs/{other}", params={"offset": "-1"}),
            await reader.get("/realtime/v1/runs", params={"tags": f"{tag},{tag}-x"}),
            await reader.get(f"/api/v1/runs/{other}/events/stream"),
            await reader.get("/api/v1/runs/events", params={"tag": f"{tag}-x"}),
            await reader.get("/api/v1/runs"),
            await reader.post(f"/api/v2/runs/{mine}/cancel"),
        ]
    assert [r.status_code for r in refused] == [403] * len(refused), [r.text for r in refused]


async def test_run_and_batch_tokens_read_what_they_name(sdk_stack: Stack) -> None:
    stack = sdk_stack
    handle = await batch.trigger("hello-world", [{"name": "a"}, {"name": "b"}])
    loner = await stack.trigger("hello-world", {"name": "loner"})
    batch_token = await auth.create_public_token(scopes={"read": {"batch": [handle.id]}})
    run_token = await auth.create_public_token(scopes={"read": {"runs": [loner]}})
    async with as_token(stack, batch_token) as reader:
        assert (await reader.get(f"/api/v2/batches/{handle.id}")).status_code == 200
        assert (await reader.get(f"/api/v3/runs/{handle.runs[0].id}")).status_code == 200
        shape = await reader.get(f"/realtime/v1/batches/{handle.id}", params={"offset": "-1"})
        assert shape.status_code == 200
        assert (await reader.get(f"/api/v3/runs/{loner}")).status_code == 403
    async with as_token(stack, run_token) as reader:
        assert (await reader.get(f"/api/v3/runs/{loner}")).status_code == 200
        assert (await reader.get(f"/api/v3/runs/{handle.runs[0].id}")).status_code == 403
        assert (await reader.get(f"/realtime/v1/batches/{handle.id}")).status_code == 403
        assert (await reader.get(f"/api/v2/batches/{handle.id}")).status_code == 403


async def test_expired_or_foreign_tokens_are_401(sdk_stack: Stack) -> None:
    stack = sdk_stack
    run_id = await stack.trigger("hello-world", {"name": "late"})
    expired = await auth.create_public_token(
        scopes={"read": {"runs": [run_id]}},
        expiration_time=datetime.now(UTC) - timedelta(seconds=5),
    )
    claims = {"sub": "dev", "scopes": [f"read:runs:{run_id}"], "exp": int(time.time()) + 60}
    foreign = jwt.encode(
        {**claims, "iss": JWT_ISSUER, "aud": JWT_AUDIENCE},
        "tr_dev_someone_elses_key_of_32_bytes!",
        algorithm="HS256",
    )
    for token in (expired, foreign):
        async with as_token(stack, token) as reader:
            assert (await reader.get(f"/api/v3/runs/{run_id}")).status_code == 401
            shape = await reader.get(f"/realtime/v1/runs/{run_id}", params={"offset": "-1"})
            assert shape.status_code == 401


async def test_the_per_run_token_of_a_trigger_still_reads_its_run_live(sdk_stack: Stack) -> None:
    stack = sdk_stack
    triggered = await stack.http.post(
        "/api/v1/tasks/hello-world/trigger", json={"payload": {"name": "own"}}
    )
    run_id, token = triggered.json()["id"], triggered.headers["x-trigger-jwt"]
    async with as_token(stack, token) as reader:
        assert (await reader.get(f"/api/v3/runs/{run_id}")).status_code == 200
        shape = await reader.get(f"/realtime/v1/runs/{run_id}", params={"offset": "-1"})
        assert shape.status_code == 200
        assert (await reader.get("/realtime/v1/runs", params={"tags": "x"})).status_code == 403
        claims = await reader.post("/api/v1/auth/jwt/claims")
        assert claims.status_code == 403  # only a secret key may ask how to sign tokens
    answer = await stack.http.post("/api/v1/auth/jwt/claims")
    assert answer.json() == {"sub": "dev", "pub": True}
