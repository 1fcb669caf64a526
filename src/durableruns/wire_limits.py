"""Trigger.dev's shapes for queues and concurrency limits (``/api/v1/queues``,
``/api/v1/concurrency-limits``), as its ``v3/schemas/queues`` defines them, shared by
the facade and the Python SDK like ``durableruns.wire``.

Nullable fields are always present (``null``), as the official client's schemas want.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from durableruns.limit_models import MAX_BOUND
from durableruns.wire import WireModel

Bound = Annotated[int, Field(ge=0, le=MAX_BOUND, strict=True)]


def _key_as_text(value: Any) -> Any:
    """Numbers are accepted as keys and kept as text, like a trigger's concurrencyKey."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


ConcurrencyKey = Annotated[str, BeforeValidator(_key_as_text), Field(min_length=1, max_length=128)]


class Page(WireModel):
    """``pagination`` of an offset page."""

    current_page: int
    total_pages: int
    count: int


class QueueConcurrency(WireModel):
    """A V1 queue's own limit and its override."""

    current: int | None
    base: int | None
    override: int | None
    overridden_at: datetime | None
    overridden_by: str | None = None


class QueueItem(WireModel):
    """A queue (``version`` V1: it carries a limit; V2: it is only a line)."""

    id: str
    name: str
    type: Literal["task", "custom"]
    running: int
    queued: int
    paused: bool
    concurrency_limit: int | None
    version: Literal["V1", "V2"]
    concurrency: QueueConcurrency | None = None


class QueuePage(WireModel):
    """``GET /api/v1/queues``."""

    data: list[QueueItem]
    pagination: Page


class PauseQueueBody(WireModel):
    """``POST /api/v1/queues/{queue}/pause``."""

    type: Literal["id", "task", "custom"] = "id"
    action: Literal["pause", "resume"]


class QueueLimitBody(WireModel):
    """``POST /api/v1/queues/{queue}/concurrency/override``."""

    type: Literal["id", "task", "custom"] = "id"
    concurrency_limit: Bound


class QueueTypeBody(WireModel):
    """``POST /api/v1/queues/{queue}/concurrency/reset``."""

    type: Literal["id", "task", "custom"] = "id"


class LimitBound(WireModel):
    """One bound of a limit: enforced now, declared in code, overridden."""

    current: int | None
    base: int | None
    override: int | None
    overridden_at: datetime | None


class ConcurrencyLimitItem(WireModel):
    """A concurrency limit with its live counts."""

    id: str
    name: str
    per_key: LimitBound
    total: LimitBound
    running: int
    queued: int
    paused: bool


class ConcurrencyLimitPage(WireModel):
    """``GET /api/v1/concurrency-limits``."""

    data: list[ConcurrencyLimitItem]
    pagination: Page


class KeyBound(WireModel):
    """A limit's ``perKey`` for one key: its own, the key's override, and its expiry."""

    current: int | None
    base: int | None
    override: int | None
    expires_at: datetime | None


class ConcurrencyLimitKeyItem(WireModel):
    """``retrieve(name, {concurrencyKey})``: one key's pool of a limit."""

    name: str
    concurrency_key: str
    per_key: KeyBound
    running: int
    paused: bool


class OverrideLimitBody(WireModel):
    """``POST /api/v1/concurrency-limits/{name}/override``: the limit's own bounds, or
    (with ``concurrencyKey``) one key's ``perKey`` for ``ttl``."""

    per_key: Bound | None = None
    total: Bound | None = None
    concurrency_key: ConcurrencyKey | None = None
    ttl: str | Annotated[int, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> OverrideLimitBody:
        if self.concurrency_key is not None:
            if self.per_key is None:
                raise ValueError("perKey: a per-key override needs perKey")
            if self.total is not None:
                raise ValueError("total: not per key; omit it when overriding one concurrencyKey")
        elif self.ttl is not None:
            raise ValueError("ttl: only applies to a per-key override; pass concurrencyKey")
        elif self.per_key is None and self.total is None:
            raise ValueError("body: provide at least one of perKey or total")
        return self


class PauseLimitBody(WireModel):
    """``POST /api/v1/concurrency-limits/{name}/pause``."""

    action: Literal["pause", "resume"]


class ResetLimitBody(WireModel):
    """``POST /api/v1/concurrency-limits/{name}/reset``: one key's override, or the
    limit's own."""

    concurrency_key: ConcurrencyKey | None = None
