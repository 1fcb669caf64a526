"""Wait tokens (Trigger.dev's *waitpoint tokens*): the records and the shapes users see.

A token is made by ``wait.create_token`` (in task code or from a backend), waited for by
any number of runs (``wait.for_token``) and completed once, by ``wait.complete_token``,
the official client's ``wait.completeToken`` or an HTTP ``POST`` to its callback URL;
unless it times out first. The engine keeps each token as a small workflow of its own
(``engine.token_workflow``); these models cross that workflow's boundary (so they stay
JSON-friendly and change shape only with a replay test) and the HTTP wire.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from durableruns.errors import TokenNotFoundError as TokenNotFoundError  # the tree
from durableruns.errors import TokenTimedOutError as TokenTimedOutError
from durableruns.errors import WaitpointTimeoutError as WaitpointTimeoutError
from durableruns.models import RunError
from durableruns.wire import WireModel, tags_within_limits

O = TypeVar("O")  # noqa: E741 - O(utput), as in Trigger.dev

DEFAULT_TOKEN_TIMEOUT = "10m"
"""A token times out after 10 minutes unless told otherwise, as in Trigger.dev."""
TIMEOUT_ERROR_CODE = "TRIGGER_WAITPOINT_TIMEOUT"
"""The code of a timed-out token's error output (the official client checks it)."""
TOKEN_ID_PREFIX = "waitpoint_"


class TokenStatus(StrEnum):
    """WAITING until completed (COMPLETED) or its timeout passed first (TIMED_OUT)."""

    WAITING = "WAITING"
    COMPLETED = "COMPLETED"
    TIMED_OUT = "TIMED_OUT"


class TokenInput(BaseModel):
    """What a token's workflow starts from: everything fixed at creation."""

    model_config = ConfigDict(frozen=True)

    id: str
    created_at: datetime
    timeout_at: datetime
    tags: tuple[str, ...] = ()
    idempotency_key: str | None = None
    idempotency_key_expires_at: datetime | None = None
    callback_secret: str = Field(default_factory=lambda: secrets.token_urlsafe(24))
    """The capability in the callback URL: whoever has the URL may complete the token
    (once), nobody else. Random per token, so it needs no environment key to make
    (task code makes tokens in a worker, which holds none) and survives key rotation."""


class TokenRecord(BaseModel):
    """A token's current state, as its workflow answers it."""

    id: str
    status: TokenStatus = TokenStatus.WAITING
    created_at: datetime
    timeout_at: datetime
    completed_at: datetime | None = None
    output: Any = None
    """The completion's JSON (COMPLETED)."""
    error: RunError | None = None
    """Why there is no output (TIMED_OUT)."""
    tags: tuple[str, ...] = ()
    idempotency_key: str | None = None
    idempotency_key_expires_at: datetime | None = None
    callback_secret: str = ""

    @classmethod
    def from_input(cls, token: TokenInput) -> TokenRecord:
        """A freshly created, WAITING token."""
        return cls(
            id=token.id,
            created_at=token.created_at,
            timeout_at=token.timeout_at,
            tags=token.tags,
            idempotency_key=token.idempotency_key,
            idempotency_key_expires_at=token.idempotency_key_expires_at,
            callback_secret=token.callback_secret,
        )

    @property
    def completion(self) -> TokenCompletion | None:
        """What a waiting run gets, once the token is no longer WAITING."""
        if self.status is TokenStatus.WAITING:
            return None
        return TokenCompletion(
            token_id=self.id,
            ok=self.status is TokenStatus.COMPLETED,
            output=self.output,
            error=self.error,
        )


def timeout_error(timeout_at: datetime) -> RunError:
    """The error of a token that timed out (Trigger.dev's ``WaitpointTimeoutError``)."""
    return RunError(
        name="WaitpointTimeoutError",
        message=f"Waitpoint timed out at {timeout_at.isoformat().replace('+00:00', 'Z')}",
    )


class TokenCompletion(BaseModel):
    """How a token ended, as the runs waiting on it receive (and journal) it."""

    model_config = ConfigDict(frozen=True)

    token_id: str
    ok: bool
    output: Any = None
    error: RunError | None = None


class TokenWaiter(BaseModel):
    """A run asking a token to tell it when it ends."""

    model_config = ConfigDict(frozen=True)

    token_id: str
    run_id: str


class WaiterAnswer(BaseModel):
    """A token's answer to a run registering as its waiter: the completion if the
    token has ended already, else None (the run is signaled when it ends)."""

    model_config = ConfigDict(frozen=True)

    completion: TokenCompletion | None = None


class CompleteAnswer(BaseModel):
    """The answer to a completion: the token after it, and whether this one won."""

    model_config = ConfigDict(frozen=True)

    completed_now: bool
    token: TokenRecord


# --- what users get -------------------------------------------------------------------
@dataclass(frozen=True)
class WaitToken:
    """A created token: pass ``id`` to ``wait.for_token``; POST any JSON to ``url`` to
    complete it; ``public_access_token`` lets a browser complete it (``write:waitpoints``).
    ``is_cached``: an existing token was returned for the idempotency key."""

    id: str
    url: str
    is_cached: bool = False
    public_access_token: str = ""


@dataclass(frozen=True)
class TokenCompleted:
    """The answer to a completion: ``completed_now`` if this one completed the token,
    False if it was completed before (a no-op: ``output`` is the first completion's)."""

    id: str
    completed_now: bool
    output: Any = None


@dataclass(frozen=True)
class WaitTokenResult(Generic[O]):
    """What ``wait.for_token`` gives back: ok with the completion's output, or (timed
    out) not ok with an error; ``unwrap()`` returns the output or raises."""

    id: str
    ok: bool
    output: O | None = None
    error: RunError | None = None

    def unwrap(self) -> O:
        """The output, or WaitpointTimeoutError with the token's error message."""
        if not self.ok:
            message = self.error.message if self.error else "the token did not complete"
            raise WaitpointTimeoutError(f"{self.id}: {message}")
        return self.output  # type: ignore[return-value]


class TokenItem(WireModel):
    """A token as retrieve (``WaitpointRetrieveTokenResponse``) and list
    (``WaitpointListTokenItem``) show it; list items carry no output."""

    id: str
    url: str
    status: TokenStatus
    completed_at: datetime | None = None
    timeout_at: datetime | None = None
    idempotency_key: str | None = None
    idempotency_key_expires_at: datetime | None = None
    tags: list[str] = []
    created_at: datetime
    output: Any = None
    """The completion's JSON (parsed; on the wire it is a JSON string)."""
    error: RunError | None = None
    """Why a TIMED_OUT token has no output."""

    @classmethod
    def of(cls, record: TokenRecord, url: str, *, with_output: bool = True) -> TokenItem:
        """The item for ``record``, its callback at ``url``."""
        return cls(
            id=record.id,
            url=url,
            status=record.status,
            completed_at=record.completed_at,
            timeout_at=record.timeout_at,
            idempotency_key=record.idempotency_key,
            idempotency_key_expires_at=record.idempotency_key_expires_at,
            tags=list(record.tags),
            created_at=record.created_at,
            output=record.output if with_output else None,
            error=record.error if with_output else None,
        )

    def to_wire_body(self, *, with_output: bool = True) -> dict[str, Any]:
        """The official client's shape: output as a JSON string with its type, a
        timeout's error as ``{code, message}`` output with ``outputIsError``."""
        body = self.model_dump(
            mode="json", by_alias=True, exclude_none=True, exclude={"output", "error"}
        )
        if not with_output:
            return body
        if self.error is not None:
            error = {"code": TIMEOUT_ERROR_CODE, "message": self.error.message}
            body |= {"output": json.dumps(error), "outputType": "application/json"}
            body["outputIsError"] = True
        elif self.status is TokenStatus.COMPLETED:
            body |= {"output": json.dumps(self.output), "outputType": "application/json"}
            body["outputIsError"] = False
        return body

    @classmethod
    def from_wire_body(cls, body: dict[str, Any]) -> TokenItem:
        """Parse the official shape back (the Python SDK over HTTP)."""
        data = {k: v for k, v in body.items() if k not in ("output", "outputType", "outputIsError")}
        item = cls.model_validate(data)
        raw = body.get("output")
        if raw is None:
            return item
        is_json = body.get("outputType", "application/json") == "application/json"
        value = json.loads(raw) if is_json else raw
        if body.get("outputIsError"):
            message = value.get("message", "") if isinstance(value, dict) else str(value)
            return item.model_copy(
                update={"error": RunError(name="WaitpointTimeoutError", message=message)}
            )
        return item.model_copy(update={"output": value})


class CreateTokenRequest(WireModel):
    """The body of ``POST /api/v1/waitpoints/tokens``."""

    idempotency_key: str | None = Field(default=None, max_length=2048)
    idempotency_key_ttl: str | None = Field(default=None, alias="idempotencyKeyTTL")
    timeout: str | datetime | None = None
    tags: list[str] | None = None

    @field_validator("tags", mode="before")
    @classmethod
    def _one_tag_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("tags")
    @classmethod
    def _tags_within_limits(cls, tags: list[str] | None) -> list[str] | None:
        return tags_within_limits(tags, "token")


class TokenFilter(BaseModel):
    """What ``list_tokens`` filters by (all optional; tags match any)."""

    model_config = ConfigDict(frozen=True)

    statuses: tuple[TokenStatus, ...] = ()
    tags: tuple[str, ...] = ()
    idempotency_key: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


class TokenItemPage(BaseModel):
    """One page of ``list_tokens``, newest first: pass ``next`` as ``after`` for older
    tokens, ``previous`` as ``before`` for newer ones (None: no such page)."""

    items: list[TokenItem]
    next: str | None = None
    previous: str | None = None


class TokenPage(BaseModel):
    """One page of tokens, newest first, with the cursors around it."""

    items: list[TokenRecord]
    next: str | None = None
    previous: str | None = None
