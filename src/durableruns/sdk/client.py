"""The SDK's HTTP client and its configuration.

A :class:`Client` is one facade; the default one is configured by :func:`configure` or by
``DURABLERUNS_API_URL`` /
``DURABLERUNS_SECRET_KEY`` (Trigger.dev's ``TRIGGER_API_URL`` / ``TRIGGER_SECRET_KEY``
work too). With nothing configured it talks to the local dev stack, as the worker does:
``http://127.0.0.1:3030`` and the key ``durableruns dev`` keeps in
``.durableruns/dev-secret-key`` (``DURABLERUNS_STATE_DIR`` moves it).
Errors come back as :class:`~durableruns.errors.ApiError` subclasses chosen by HTTP
status.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import weakref
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import httpx

from durableruns.errors import ApiConnectionError, ApiError, DurableRunsError

DEFAULT_BASE_URL = "http://127.0.0.1:3030"


class Client:
    """One facade to talk to: its URL, secret key and (for tests) an in-process transport.

    The SDK's namespaces (``runs``, ``tasks``, ``batch``, ``schedules``, ``auth``,
    ``wait_tokens``) talk to the client in use: the default one (:func:`configure`, the
    environment, or the local dev stack), or another inside ``with client.use():``. So
    today's module-level API keeps working and two facades can be used from one process.
    Unset values fall back to the environment, read at each request.

    Example::

        staging = Client(base_url="https://staging.example.com", secret_key="tr_prod_…")
        with staging.use():
            handle = await tasks.trigger("hello-world", {"name": "Ada"})
        local_run = await runs.retrieve(other_id)  # the default client again
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        secret_key: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url
        self.secret_key = secret_key
        self.transport = transport

    @contextlib.contextmanager
    def use(self) -> Iterator[Client]:
        """Make this the client SDK calls use, in this task and the tasks it starts,
        until the block ends."""
        token = _in_use.set(self)
        try:
            yield self
        finally:
            _in_use.reset(token)


_default = Client()
_in_use: ContextVar[Client | None] = ContextVar("durableruns_sdk_client", default=None)


def current_client() -> Client:
    """The client SDK calls use now: the one in ``with client.use()``, else the default."""
    return _in_use.get() or _default


def configure(
    *,
    base_url: str | None = None,
    secret_key: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    """Point the default client at a facade. ``transport`` lets tests drive an app
    in-process."""
    _default.base_url = base_url
    _default.secret_key = secret_key
    _default.transport = transport


def _base_url() -> str:
    return (
        current_client().base_url
        or os.environ.get("DURABLERUNS_API_URL")
        or os.environ.get("TRIGGER_API_URL")
        or DEFAULT_BASE_URL
    ).rstrip("/")


def _secret_key() -> str:
    key = (
        current_client().secret_key
        or os.environ.get("DURABLERUNS_SECRET_KEY")
        or os.environ.get("TRIGGER_SECRET_KEY")
        or _dev_key()
    )
    if not key:
        raise DurableRunsError(
            "No secret key: call durableruns.sdk.configure(secret_key=…), "
            "set DURABLERUNS_SECRET_KEY, or run `durableruns dev` here (it keeps one in "
            f"{_dev_key_path()})"
        )
    return key


def _dev_key_path() -> Path:
    return Path(os.environ.get("DURABLERUNS_STATE_DIR") or ".durableruns") / "dev-secret-key"


def _dev_key() -> str | None:
    """The dev stack's key from the working directory's state, if there is one."""
    try:
        return _dev_key_path().read_text().strip() or None
    except OSError:
        return None


_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, str, int], httpx.AsyncClient]
] = weakref.WeakKeyDictionary()


def _client() -> httpx.AsyncClient:
    """One pooled client per configuration and event loop (connections are reused; a
    client never crosses event loops, which httpx does not allow)."""
    base_url, key = _base_url(), _secret_key()
    by_config = _clients.setdefault(asyncio.get_running_loop(), {})
    transport = current_client().transport
    config = (base_url, key, id(transport))
    client = by_config.get(config)
    if client is None or client.is_closed:
        client = by_config[config] = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {key}"},
            transport=transport,
            timeout=30.0,
        )
    return client


async def aclose() -> None:
    """Close this event loop's pooled clients (optional: they close with the loop)."""
    for client in _clients.pop(asyncio.get_running_loop(), {}).values():
        await client.aclose()


async def request(
    method: str,
    path: str,
    *,
    json: Any = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Send one request to the facade; raises ApiError on a non-2xx answer and
    ApiConnectionError when it cannot be reached."""
    try:
        response = await _client().request(
            method, path, json=json, content=content, headers=headers
        )
    except httpx.TransportError as exc:
        raise ApiConnectionError(f"Could not reach the facade at {_base_url()}: {exc}") from exc
    if response.is_success:
        return response
    raise _api_error(response)


def _api_error(response: httpx.Response) -> ApiError:
    body: Any = response.text
    message = response.text or response.reason_phrase
    with contextlib.suppress(ValueError):
        body = response.json()
        if isinstance(body, dict):
            message = str(body.get("error", message))
    return ApiError.for_status(
        response.status_code, message, body=body, headers=dict(response.headers)
    )


@contextlib.asynccontextmanager
async def stream(
    method: str,
    path: str,
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> AsyncIterator[httpx.Response]:
    """A streamed request (server-sent events): no read timeout, the body read as it
    arrives; raises ApiError on a non-2xx answer."""
    client = _client()
    try:
        async with client.stream(
            method,
            path,
            params=params,
            headers={"Accept": "text/event-stream", **(headers or {})},
            timeout=httpx.Timeout(30.0, read=None),
        ) as response:
            if not response.is_success:
                await response.aread()
                raise _api_error(response)
            yield response
    except httpx.TransportError as exc:
        raise ApiConnectionError(f"Could not reach the facade at {_base_url()}: {exc}") from exc
