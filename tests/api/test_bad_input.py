"""No 5xx from input (issue 15): deep nesting, lone surrogates, NUL bytes, huge headers,
wrong content types, numbers out of range and every list parameter get a 4xx whose
JSON error names the field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers import Stack

TRIGGER = "/api/v1/tasks/hello-world/trigger"


def assert_4xx(response: Any, field: str, status: int | None = None) -> str:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    if status is not None:
        assert response.status_code == status, response.text
    error: str = response.json()["error"]
    assert error.startswith(f"{field}"), error
    return error


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


async def test_a_body_nested_5000_deep_is_400(stack: Stack) -> None:
    body = '{"payload":' + nested(5000) + "}"
    response = await stack.http.post(
        TRIGGER, content=body, headers={"Content-Type": "application/json"}
    )
    assert "nested too deeply" in assert_4xx(response, "body", 400)


async def test_a_packet_nested_5000_deep_is_400(stack: Stack) -> None:
    response = await stack.http.post(TRIGGER, json={"payload": nested(5000)})
    assert "nested too deeply" in assert_4xx(response, "payload", 400)


async def test_a_payload_nested_past_the_limit_is_400_naming_the_path(stack: Stack) -> None:
    response = await stack.http.post(TRIGGER, json={"payload": json.loads(nested(200))})
    assert "nested deeper than 128 levels" in assert_4xx(response, "payload.a.a", 400)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"payload": {"name": "\\ud800"}}', "payload.name"),
        ('{"payload": {"\\udfff": 1}}', "payload.\\udfff"),
        ('{"payload": "{\\"name\\": \\"\\\\ud800\\"}"}', "payload.name"),
        ('{"options": {"tags": ["ok", "\\ud800"]}}', "options.tags[1]"),
        ('{"options": {"metadata": {"m": ["\\ud800"]}}}', "options.metadata.m[0]"),
        ('{"options": {"idempotencyKey": "\\ud800"}}', "options.idempotencyKey"),
        ('{"options": {"concurrencyKey": "\\ud83d"}}', "options.concurrencyKey"),
    ],
)
async def test_lone_surrogates_are_400(stack: Stack, body: str, field: str) -> None:
    response = await stack.http.post(
        TRIGGER, content=body, headers={"Content-Type": "application/json"}
    )
    error = assert_4xx(response, field)
    assert "lone surrogate" in error or "unicode string" in error, error


async def test_nul_bytes_are_kept_in_payloads_and_refused_in_options(stack: Stack) -> None:
    run = await stack.wait_final(await stack.trigger("hello-world", {"name": "a\x00b"}))
    assert run["payload"] == {"name": "a\x00b"}
    for option, field in (
        ({"tags": ["a\x00b"]}, "options.tags[0]"),
        ({"idempotencyKey": "k\x00"}, "options.idempotencyKey"),
        ({"queue": {"name": "q\x00"}}, "options.queue.name"),
    ):
        response = await stack.http.post(TRIGGER, json={"payload": {}, "options": option})
        assert "NUL" in assert_4xx(response, field, 400)


async def test_huge_headers_are_not_5xx(stack: Stack) -> None:
    huge = "h" * 200_000
    response = await stack.http.post(
        TRIGGER,
        json={"payload": {"name": "x"}},
        headers={"x-trigger-request-idempotency-key": huge},
    )
    assert response.status_code in (200, 400, 431), response.text
    unauthenticated = await stack.http.get("/api/v1/runs", headers={"Authorization": huge})
    assert unauthenticated.status_code == 401


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "image/png", "nonsense"]
)
async def test_wrong_content_types_are_4xx(stack: Stack, content_type: str) -> None:
    response = await stack.http.post(
        TRIGGER, content=b'{"payload": {}}', headers={"Content-Type": content_type}
    )
    assert_4xx(response, "body")


async def test_a_body_that_is_not_utf8_is_400(stack: Stack) -> None:
    response = await stack.http.post(
        TRIGGER, content=b'{"payload": "\xff\xfe"}', headers={"Content-Type": "application/json"}
    )
    assert_4xx(response, "body")


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"maxAttempts": 10**30}, "options.maxAttempts"),
        ({"maxDuration": 1e300}, "options.maxDuration"),
        ({"priority": 1e300}, "options.priority"),
        ({"priority": -1}, "options.priority"),
        ({"ttl": 1e300}, "options.ttl"),
        ({"ttl": "99999999999999999999w"}, "options.ttl"),
        ({"delay": "99999999999999999999w"}, "options.delay"),
        ({"delay": "9999-12-31T23:59:59Z"}, "options.delay"),
    ],
)
async def test_numbers_out_of_range_are_4xx(
    stack: Stack, options: dict[str, Any], field: str
) -> None:
    response = await stack.http.post(TRIGGER, json={"payload": {"name": "x"}, "options": options})
    assert_4xx(response, field)


async def test_infinity_and_nan_are_refused(stack: Stack) -> None:
    for literal in ("Infinity", "-Infinity", "NaN"):
        in_payload = await stack.http.post(
            TRIGGER,
            content=f'{{"payload": {{"name": "NaN", "n": [{literal}]}}}}',
            headers={"Content-Type": "application/json"},
        )
        assert "not a finite number" in assert_4xx(in_payload, "payload.n[0]", 400)
        response = await stack.http.post(
            TRIGGER,
            content=f'{{"payload": {{"n": {literal}}}, "options": {{"priority": {literal}}}}}',
            headers={"Content-Type": "application/json"},
        )
        assert_4xx(response, "")


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("filter[status]", "NOPE"),
        ("filter[status]", "\x00"),
        ("filter[taskIdentifier]", "a'b"),
        ("filter[tag]", "x" * 20_000),
        ("filter[batch]", "\x00"),
        ("filter[queue]", '"'),
        ("filter[idempotencyKey]", "\\"),
        ("filter[parentRunId]", "\x00"),
        ("filter[createdAt][from]", "99999999999999999999999"),
        ("filter[createdAt][from]", "-99999999999999999999999"),
        ("filter[createdAt][to]", "x"),
        ("filter[createdAt][period]", "99999999999999999999w"),
        ("filter[isTest]", "maybe"),
        ("page[size]", "99999999999999999999999"),
        ("page[size]", "0"),
        ("page[after]", "not-a-cursor"),
        ("page[before]", "a.b"),
        ("filter[unknown]", "1"),
    ],
)
async def test_every_list_parameter_is_4xx_when_bad(stack: Stack, param: str, value: str) -> None:
    response = await stack.http.get("/api/v1/runs", params={param: value})
    if response.status_code == 200:
        return  # a value that is harmless (e.g. a quote in a task id) is simply matched
    assert_4xx(response, param)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v3/batches", {"runCount": 10**30}, "runCount"),
        ("/api/v3/batches", {"runCount": "many"}, "runCount"),
        ("/api/v1/runs/run_0000000000aaaaaaaaaaaaaaaa/reschedule", '{"delay": "\\ud800"}', ""),
        ("/api/v1/runs/run_0000000000aaaaaaaaaaaaaaaa/replay", '{"tags": ["\\ud800"]}', ""),
        ("/api/v3/batches", "[]", "body"),
        ("/api/v3/batches", "null", "body"),
    ],
)
async def test_other_bodies_are_4xx(stack: Stack, path: str, body: Any, field: str) -> None:
    if isinstance(body, str):
        response = await stack.http.post(
            path, content=body, headers={"Content-Type": "application/json"}
        )
    else:
        response = await stack.http.post(path, json=body)
    assert_4xx(response, field)
