"""Who may call what: every route of the OpenAPI document, called with no key, a wrong
key, another environment's key and public access tokens of each scope, answers only
what it should. The routes come from the document itself, so a new route is covered
by default: unless it is listed below as open or as carrying its own capability, it
must refuse every caller but a secret key of its environment, and a public token may
use it only where the document says so (``x-durableruns-public-token``), within its
scopes. And no key or token ever reaches the facade's logs.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest

from durableruns.api.scopes import PUBLIC_TOKEN_KEY
from durableruns.api.tokens import signing_key
from tests.helpers import SECRET_KEY, Stack

OPEN_ROUTES = frozenset({"/healthz", "/readyz", "/api/v1/timezones"})
"""Answer anyone: probes, and the time zones the official client asks for without a key."""
CAPABILITY_ROUTES = frozenset(
    {"/api/v1/packets/upload/{token}", "/api/v1/waitpoints/tokens/{token_id}/callback/{secret}"}
)
"""No key: the URL itself is the capability (an upload URL, a token's callback URL); a
made-up one is refused."""
RESOURCE_PARAMS = frozenset({"run_id", "batch_id", "token_id", "schedule_id"})
"""Path parameters naming one environment's resource: another environment's key finds
nothing there (404)."""
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/api/v1/runs/{run_id}/reschedule"): {"delay": "1h"},
    ("put", "/api/v1/runs/{run_id}/metadata"): {"metadata": {"matrix": 1}},
    ("put", "/api/v1/schedules/{schedule_id}"): {"task": "hello-world", "cron": "0 * * * *"},
    ("post", "/realtime/v1/streams/{run_id}/input/{stream_id}"): {"data": {"matrix": 1}},
    ("post", "/api/v1/runs/{run_id}/tags"): {"tags": ["matrix"]},
}
"""Valid bodies where ``{}`` is not: a refusal must come from who calls, not from what."""
REQUEST_TIMEOUT_S = 30.0
UNAUTHORIZED = {"error": "Invalid or Missing API key"}


@dataclass(frozen=True)
class Call:
    """One operation of the document, with its path filled in."""

    method: str
    route: str
    url: str
    params: dict[str, str]
    token_use: str | None = None
    """What the document says a public access token may do here (None: nothing)."""

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.route}"


@dataclass
class Resources:
    """Real dev-environment resources the paths address."""

    run_id: str
    batch_id: str
    token_id: str


@pytest.fixture
async def resources(stack: Stack) -> Resources:
    run_id = await stack.trigger("hello-world", {"name": "matrix"}, tags=["matrix-mine"])
    batch = await stack.http.post(
        "/api/v3/batches", json={"runCount": 1, "taskIdentifiers": ["hello-world"]}
    )
    assert batch.status_code == 202, batch.text
    token = await stack.http.post("/api/v1/waitpoints/tokens", json={"timeout": "1m"})
    assert token.status_code == 200, token.text
    return Resources(run_id, batch.json()["id"], token.json()["id"])


def operations(stack: Stack, found: Resources) -> list[Call]:
    """Every operation of the facade's OpenAPI document, paths filled with ``found``."""
    app = stack.http._transport.app  # type: ignore[attr-defined]
    values = {
        "run_id": found.run_id,
        "batch_id": found.batch_id,
        "token_id": found.token_id,
        "schedule_id": "sched_matrix_none",
        "task_id": "hello-world",
        "name": "hello-world",
        "filename": "matrix.json",
        "key": "default",
        "stream_id": "matrix-input",
        "token": "not-an-upload-token",
        "secret": "not-the-secret",
    }
    calls = []
    for route, methods in app.openapi()["paths"].items():
        names = re.findall(r"{(\w+)}", route)
        # A parameter the matrix does not know (a new route's) gets a made-up value:
        # the route is still called with every credential, covered by default.
        url = route.format(**{name: values.get(name, f"matrix-{name}") for name in names})
        for method, operation in methods.items():
            # Reads that would stream answer a snapshot; list filters name our own tag.
            params = (
                {"offset": "-1", "tags": "matrix-mine", "tag": "matrix-mine"}
                if method == "get"
                else {}
            )
            calls.append(Call(method, route, url, params, operation.get(PUBLIC_TOKEN_KEY)))
    return calls


def public_token(scopes: list[str], secret_key: str = SECRET_KEY) -> str:
    claims = {"sub": "dev", "pub": True, "scopes": scopes, "exp": int(time.time()) + 300}
    return jwt.encode(claims, signing_key(secret_key), algorithm="HS256")


@pytest.fixture
async def anyone(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=stack.http._transport, base_url="http://facade"
    ) as client:
        yield client


async def _call(client: httpx.AsyncClient, call: Call, authorization: str | None) -> int:
    headers = {"Authorization": authorization} if authorization is not None else {}
    request = client.request(
        call.method,
        call.url,
        params=call.params,
        json=BODIES.get((call.method, call.route), {}) if call.method in ("post", "put") else None,
        headers=headers,
    )
    try:
        response = await asyncio.wait_for(request, REQUEST_TIMEOUT_S)
    except TimeoutError:
        raise AssertionError(f"{call} with {authorization!r}: no answer (streaming?)") from None
    return response.status_code


async def test_without_a_valid_key_only_open_and_capability_routes_answer(
    stack: Stack,
    resources: Resources,
    anyone: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = f"tr_dev_{'x' * 24}"
    credentials: dict[str, str | None] = {
        "no key": None,
        "wrong key": f"Bearer {wrong}",
        "empty bearer": "Bearer ",
        "key in another scheme": f"Basic {SECRET_KEY}",
        "token signed with a wrong key": f"Bearer {public_token(['read:all'], wrong)}",
    }
    wrong_answers = []
    for call in operations(stack, resources):
        for label, authorization in credentials.items():
            status = await _call(anyone, call, authorization)
            if call.route in OPEN_ROUTES:
                ok = status < 500 and status not in (401, 403)
            elif call.route in CAPABILITY_ROUTES:
                ok = 400 <= status < 500
            else:
                ok = status == 401
            if not ok:
                wrong_answers.append(f"{call} with {label}: {status}")
    assert not wrong_answers, "\n".join(wrong_answers)
    _assert_no_secret_logged(caplog, [SECRET_KEY, wrong])


async def test_another_environments_key_finds_none_of_this_environments_resources(
    stack: Stack,
    resources: Resources,
    anyone: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    staging = stack.settings.for_environment("staging").secret_key or ""
    assert staging and staging != SECRET_KEY
    wrong_answers = []
    for call in operations(stack, resources):
        names = set(re.findall(r"{(\w+)}", call.route))
        if not names & RESOURCE_PARAMS or call.route in CAPABILITY_ROUTES:
            continue
        status = await _call(anyone, call, f"Bearer {staging}")
        # A route whose body the matrix does not know yet may refuse ``{}`` first (422,
        # before any lookup): still no answer about this environment's resource.
        unknown_body = call.method in ("post", "put") and (call.method, call.route) not in BODIES
        if status != 404 and not (unknown_body and status == 422):
            wrong_answers.append(f"{call} with the staging key: {status}")
    assert not wrong_answers, "\n".join(wrong_answers)
    _assert_no_secret_logged(caplog, [staging])


SCOPED_ELSEWHERE = {
    "another run": ["read:runs:run_someoneelses0000000000000"],
    "another tag": ["read:tags:matrix-theirs"],
    "another batch": ["read:batch:batch_someoneelses000000000"],
    "another task": ["read:tasks:someone-elses-task"],
    "another wait token": ["write:waitpoints:waitpoint_someoneelses0000"],
}
"""Tokens of each scope kind granting something, but nothing the paths address."""
SUPER = {"read:all": ["read:all"], "admin": ["admin"], "every run": ["read:runs"]}


async def test_public_tokens_read_only_what_their_scopes_grant(
    stack: Stack,
    resources: Resources,
    anyone: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = {
        label: public_token(scopes) for label, scopes in {**SCOPED_ELSEWHERE, **SUPER}.items()
    }
    wrong_answers = []
    for call in operations(stack, resources):
        if call.route in OPEN_ROUTES | CAPABILITY_ROUTES:
            continue
        for label, token in tokens.items():
            if call.token_use is not None and label in SUPER:
                continue  # granted: it would read (or stream) the real thing
            status = await _call(anyone, call, f"Bearer {token}")
            if status != 403:
                wrong_answers.append(f"{call} with a token for {label}: {status}")
    assert not wrong_answers, "\n".join(wrong_answers)

    # What a scope grants, it reads: the run by id, by tag, through its batch.
    granted = {
        "its run": [f"read:runs:{resources.run_id}"],
        "its tag": ["read:tags:matrix-mine"],
        "its task": ["read:tasks:hello-world"],
    }
    for label, scopes in granted.items():
        token = f"Bearer {public_token(scopes)}"
        call = Call("get", "/api/v3/runs/{run_id}", f"/api/v3/runs/{resources.run_id}", {})
        assert await _call(anyone, call, token) == 200, label
    _assert_no_secret_logged(caplog, [SECRET_KEY, *tokens.values()])


def _assert_no_secret_logged(caplog: pytest.LogCaptureFixture, secrets: list[str]) -> None:
    logged = caplog.text + "".join(str(record.args) for record in caplog.records)
    leaked = [secret[:12] + "…" for secret in secrets if secret and secret in logged]
    assert not leaked, f"secrets in the logs: {leaked}"


def test_the_matrix_sees_every_route(stack: Stack) -> None:
    """Routes outside the OpenAPI document (the dashboard's pages, /docs, /metrics) are
    the only ones the matrix does not call; a new API route must be in the document."""
    app: Any = stack.http._transport.app  # type: ignore[attr-defined]
    documented = set(app.openapi()["paths"])
    hidden = {
        route.path for route in app.routes if getattr(route, "include_in_schema", True) is False
    }
    api_hidden = {path for path in hidden if path.startswith(("/api/", "/realtime/"))}
    assert not api_hidden, f"API routes missing from the OpenAPI document: {api_hidden}"
    assert len(documented) > 30
