"""The SDK's errors (one class per status family, a connection error) and its pooled
HTTP client."""

from __future__ import annotations

import socket

import pytest

from durableruns import runs, sdk
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
