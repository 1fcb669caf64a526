"""The SDK's errors (one class per status family, a connection error) and its pooled
HTTP client."""

from __future__ import annotations

import socket

import httpx
import pytest

from durableruns import runs, sdk, tasks
from durableruns.api import create_app
from durableruns.errors import (
    ApiConnectionError,
    ApiError,
    InternalServerError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitError,
)
from durableruns.sdk import client as sdk_client
from tests.helpers import SECRET_KEY, Stack
from tests.helpers.stack import new_settings


async def test_an_unknown_run_is_a_not_found_error_with_status_body_and_headers(
    sdk_stack: Stack,
) -> None:
    with pytest.raises(NotFoundError) as caught:
        await runs.retrieve("run_doesnotexist0000000000000")
    error = caught.value
    assert error.status == 404 and isinstance(error.body, dict) and "error" in error.body
    assert error.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize(
    ("status", "kind"),
    [(413, PayloadTooLargeError), (429, RateLimitError), (503, InternalServerError)],
)
def test_each_status_family_has_its_class(status: int, kind: type[ApiError]) -> None:
    error = ApiError.for_status(status, "nope", body={"error": "nope"})
    assert type(error) is kind and error.status == status and error.body == {"error": "nope"}


async def test_an_unreachable_facade_is_a_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free, and nothing listens once closed
    sdk.configure(base_url=f"http://127.0.0.1:{port}", secret_key=SECRET_KEY)
    with pytest.raises(ApiConnectionError, match="Could not reach the facade"):
        await runs.retrieve("run_x")


async def test_requests_share_one_pooled_client_per_configuration(sdk_stack: Stack) -> None:
    first = sdk_client._client()
    await runs.list_page(limit=1)
    assert sdk_client._client() is first
    sdk.configure(base_url="http://elsewhere", secret_key=SECRET_KEY)
    assert sdk_client._client() is not first


class _Counting(httpx.AsyncBaseTransport):
    """A transport that counts the requests it carries to the app behind it."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return await self.inner.handle_async_request(request)


async def test_two_facades_from_one_process_each_through_its_client(sdk_stack: Stack) -> None:
    other_settings = new_settings()
    other = _Counting(httpx.ASGITransport(app=create_app(other_settings, client=sdk_stack.client)))
    second = sdk.Client(base_url=other_settings.api_url, secret_key=SECRET_KEY, transport=other)
    with second.use():
        handle = await tasks.trigger("hello-world", {"name": "Ada"})
        assert (await runs.retrieve(handle.id)).id == handle.id
    assert other.paths == ["/api/v1/tasks/hello-world/trigger", f"/api/v3/runs/{handle.id}"]
    # Outside the block the default client (the stack's facade) is used again.
    run = await runs.retrieve(handle.id)
    assert run.id == handle.id and len(other.paths) == 2
