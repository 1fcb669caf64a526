"""``wait``: durable pauses inside task code.

``await wait.for_(seconds=30)`` and ``await wait.until(when)`` are timers in the run's
workflow: the run is WAITING meanwhile, the time does not count towards
``max_duration``, and the timer survives worker restarts.

Wait tokens (Trigger.dev's waitpoint tokens) pause a run until something outside
completes them — a human's approval, a webhook: ``create_token`` (anywhere),
``for_token`` (task code), ``complete_token``, ``retrieve_token``, ``list_tokens``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import TypeAdapter

from durableruns.context import require_runtime
from durableruns.errors import InvalidInputError
from durableruns.wait_tokens import (
    DEFAULT_TOKEN_TIMEOUT,
    TokenCompleted,
    TokenItem,
    WaitToken,
    WaitTokenResult,
)

O = TypeVar("O")  # noqa: E741 - O(utput), as in Trigger.dev


async def for_(
    *, seconds: float = 0, minutes: float = 0, hours: float = 0, days: float = 0
) -> None:
    """Pause the run for the given time (``for`` is a Python keyword, hence ``for_``)."""
    total = timedelta(seconds=seconds, minutes=minutes, hours=hours, days=days)
    if total < timedelta(0):
        raise InvalidInputError("wait.for_", "the duration cannot be negative")
    _, runtime = require_runtime("wait.for_()")
    await runtime.wait_until(datetime.now(UTC) + total)


async def until(when: datetime) -> None:
    """Pause the run until ``when`` (a naive datetime is taken as UTC)."""
    _, runtime = require_runtime("wait.until()")
    await runtime.wait_until(when if when.tzinfo else when.replace(tzinfo=UTC))


# --- wait tokens ------------------------------------------------------------------------
async def for_token(
    token: WaitToken | TokenItem | str, *, model: type[O] | None = None
) -> WaitTokenResult[O]:
    """Wait until the token is completed (``ok``, its output, parsed into ``model`` when
    given) or times out (not ``ok``, a WaitpointTimeoutError). The run is WAITING
    meanwhile and holds nothing; a token completed before the wait answers at once.

    Example::

        token = await wait.create_token(timeout="1h", tags=["approval"])
        result = await wait.for_token(token, model=Approval)
        if result.ok:
            print(result.output.approved)
    """
    _, runtime = require_runtime("wait.for_token()")
    token_id = token if isinstance(token, str) else token.id
    completion = await runtime.wait_for_token(token_id)
    output: Any = completion.output
    if completion.ok and model is not None and output is not None:
        output = TypeAdapter(model).validate_python(output)
    return WaitTokenResult(
        id=token_id,
        ok=completion.ok,
        output=output if completion.ok else None,
        error=completion.error,
    )


async def create_token(
    *,
    timeout: str | float | timedelta | datetime = DEFAULT_TOKEN_TIMEOUT,
    idempotency_key: str | None = None,
    idempotency_key_ttl: str | float | None = None,
    tags: Sequence[str] | str | None = None,
) -> WaitToken:
    """A wait token (``id``, callback ``url``, ``is_cached``, ``public_access_token``),
    from task code or a backend; times out after ``timeout`` (default 10 minutes)."""
    from durableruns.sdk import wait_tokens

    return await wait_tokens.create_token(
        timeout=timeout,
        idempotency_key=idempotency_key,
        idempotency_key_ttl=idempotency_key_ttl,
        tags=tags,
    )


async def complete_token(token: WaitToken | TokenItem | str, output: Any = None) -> TokenCompleted:
    """Complete a token with ``output`` (JSON), once: a second completion is a no-op
    that says so (``completed_now`` False) and returns the first one's output."""
    from durableruns.sdk import wait_tokens

    return await wait_tokens.complete_token(token, output)


async def retrieve_token(token: WaitToken | TokenItem | str) -> TokenItem:
    """A token now: status (WAITING / COMPLETED / TIMED_OUT), output or error, times, tags."""
    from durableruns.sdk import wait_tokens

    return await wait_tokens.retrieve_token(token)


def list_tokens(
    *,
    status: str | Sequence[str] | None = None,
    tags: Sequence[str] | str | None = None,
    idempotency_key: str | None = None,
    period: str | None = None,
    from_: datetime | int | None = None,
    to: datetime | int | None = None,
    limit: int = 25,
) -> AsyncIterator[TokenItem]:
    """Tokens matching the filters, newest first, fetched page by page (cursor
    pagination; ``wait_tokens.list_tokens_page`` gives one page and its cursors)."""
    from durableruns.sdk import wait_tokens

    return wait_tokens.list_tokens(
        status=status,
        tags=tags,
        idempotency_key=idempotency_key,
        period=period,
        from_=from_,
        to=to,
        limit=limit,
    )
