"""The durable records of concurrency limits: what a task declares, what a run asks a
limit for, and what a limit's workflow keeps (``engine/workflows/limit.py``).

A *limit* has a total pool and, when it has ``per_key``, one pool per concurrency key
(runs without a key share one pool). It is one of three kinds, all kept by the same
workflow: a named limit (``concurrency_limit(name=…)``), a task's inline limit
(``task/<task id>``) and a legacy queue's limit (``queue/<queue name>``: Trigger.dev's
``queue={concurrencyLimit: n}``, which caps each key's pool, or the whole queue for runs
without a key — exactly ``per_key: n``).

Like :mod:`durableruns.models` these live in Temporal history: JSON-friendly fields
only, and no change of shape without a replay test.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

LIMIT_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,122}$")
"""Trigger.dev's rule for declared limit names: 1-122 letters, digits, ``_`` or ``-``."""
MAX_BOUND = 100_000
"""The largest bound Trigger.dev accepts (its ``ConcurrencyBoundSchema``)."""
NO_KEY = "\x00"
"""The pool of runs without a concurrency key (a key can never hold a NUL)."""

LimitKind = Literal["named", "task", "queue"]


class Frozen(BaseModel):
    """Base for immutable records (as :class:`durableruns.models.Frozen`, which imports
    this module)."""

    model_config = ConfigDict(frozen=True)


class RateLimitSpec(Frozen):
    """At most ``limit`` runs start in any window of ``period_s`` seconds (a sliding
    window), per concurrency key when ``per_key``."""

    limit: int = Field(ge=1, le=MAX_BOUND)
    period_s: float = Field(gt=0)
    per_key: bool = False


class LimitSpec(Frozen):
    """A limit as declared: its name and bounds (None: no such bound)."""

    name: str
    kind: LimitKind = "named"
    per_key: int | None = Field(default=None, ge=0, le=MAX_BOUND)
    total: int | None = Field(default=None, ge=0, le=MAX_BOUND)
    rate_limit: RateLimitSpec | None = None


def inline_limit_name(task_id: str) -> str:
    """The derived name of a task's inline limit, as Trigger.dev shows it."""
    return f"task/{task_id}"


def queue_limit_name(queue: str) -> str:
    """The name under which a legacy queue's ``concurrency_limit`` is kept."""
    return f"queue/{queue}"


class LimitRequest(Frozen):
    """A run asking a limit for a slot (``priority_s`` seconds of head start)."""

    run_id: str
    concurrency_key: str | None = None
    enqueued_at: datetime
    priority_s: float = 0
    spec: LimitSpec
    expires_at: datetime | None = None
    """The run's TTL: past it the limit takes it out of line and wakes it to expire (so
    the run needs no timer of its own while it waits)."""

    @property
    def pool(self) -> str:
        """The key pool this run draws from."""
        return self.concurrency_key if self.concurrency_key is not None else NO_KEY

    @property
    def order(self) -> datetime:
        """Its place in its key's line: earlier is first."""
        return self.enqueued_at - timedelta(seconds=self.priority_s)


class LimitHolder(BaseModel):
    """A run holding a slot of the limit."""

    pool: str
    since: datetime
    checked_at: datetime | None = None
    """When the periodic check last found its run alive."""


class KeyOverride(BaseModel):
    """A temporary ``per_key`` for one key (0 blocks the key)."""

    per_key: int
    expires_at: datetime
    overridden_at: datetime


class RateStart(BaseModel):
    """A start, remembered for the rate limit's window."""

    at: datetime
    pool: str


class LimitState(BaseModel):
    """Everything a limit's workflow keeps (and passes on when it continues as new)."""

    spec: LimitSpec
    """The bounds as declared (the newest request's spec)."""
    per_key_override: int | None = None
    total_override: int | None = None
    overridden_at: datetime | None = None
    key_overrides: dict[str, KeyOverride] = {}
    paused: bool = False
    holders: dict[str, LimitHolder] = {}
    waiting: list[LimitRequest] = []
    rotation: list[str] = []
    """Pools with waiting runs, in the order they take turns (round robin)."""
    starts: list[RateStart] = []

    def per_key_bound(self, pool: str, now: datetime) -> int | None:
        """The bound on one key's pool right now (None: no per-key bound)."""
        base = self.per_key_override if self.per_key_override is not None else self.spec.per_key
        if base is None:
            return None
        override = self.key_overrides.get(pool)
        if override is not None and override.expires_at > now:
            return override.per_key
        return base

    @property
    def total_bound(self) -> int | None:
        """The bound on every run holding the limit right now."""
        return self.total_override if self.total_override is not None else self.spec.total

    def running_in(self, pool: str) -> int:
        """Holders drawing from ``pool``."""
        return sum(1 for h in self.holders.values() if h.pool == pool)

    def queued_in(self, pool: str) -> int:
        """Runs waiting in ``pool``."""
        return sum(1 for w in self.waiting if w.pool == pool)


LimitAction = Literal["pause", "resume", "override", "reset", "override_key", "reset_key"]


class LimitCommand(Frozen):
    """A change made at runtime (``/api/v1/concurrency-limits``, ``/api/v1/queues``),
    checked by the service before it is sent. ``spec`` is the limit as deployed now."""

    spec: LimitSpec
    action: LimitAction
    per_key: int | None = Field(default=None, ge=0, le=MAX_BOUND)
    total: int | None = Field(default=None, ge=0, le=MAX_BOUND)
    concurrency_key: str | None = None
    ttl_s: float | None = None
