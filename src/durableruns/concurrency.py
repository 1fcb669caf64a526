"""Declaring concurrency limits on tasks, as Trigger.dev 4.7 does (``docs/concurrency.mdx``).

``@task(concurrency=...)`` takes an inline shape (``{"per_key": n, "total": m}`` or
:class:`Concurrency`), a named limit made with :func:`concurrency_limit`, or a list of at
most one inline shape and two named limits. A run starts only when every limit it holds
has room in its total pool and in its key's pool; see ``engine/workflows/limit.py``.

Example::

    openai = concurrency_limit(name="openai", total=25)

    @task(id="summarize", concurrency=[{"per_key": 1, "total": 5}, openai])
    async def summarize(payload: dict) -> str: ...

Beyond Trigger.dev, a limit may carry a rate limit (``rate_limit={"limit": 10,
"period": "1m", "per_key": True}``): at most ``limit`` starts in any sliding window of
``period``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from durableruns.durations import DurationError, parse_duration
from durableruns.errors import TaskDefinitionError
from durableruns.limit_models import (
    LIMIT_NAME_PATTERN,
    MAX_BOUND,
    LimitSpec,
    RateLimitSpec,
    inline_limit_name,
)

MAX_NAMED_LIMITS = 2
"""A task (or a trigger) holds at most two named limits, as in Trigger.dev."""


@dataclass(frozen=True)
class Concurrency:
    """An inline limit: caps the task alone. ``per_key`` caps each concurrency key's
    pool (runs without a key share one), ``total`` every run of the task."""

    per_key: int | None = None
    total: int | None = None

    def __post_init__(self) -> None:
        check_bounds("concurrency", self.per_key, self.total)


@dataclass(frozen=True)
class ConcurrencyLimit:
    """A named limit, shared by every task that holds it (one set of pools)."""

    name: str
    per_key: int | None = None
    total: int | None = None
    rate_limit: RateLimitSpec | None = None

    def __post_init__(self) -> None:
        check_limit_name(self.name)
        check_bounds(f"concurrency limit {self.name!r}", self.per_key, self.total)

    def spec(self) -> LimitSpec:
        """The limit as workers announce it."""
        return LimitSpec(
            name=self.name,
            kind="named",
            per_key=self.per_key,
            total=self.total,
            rate_limit=self.rate_limit,
        )


def concurrency_limit(
    *,
    name: str,
    per_key: int | None = None,
    total: int | None = None,
    rate_limit: Mapping[str, Any] | None = None,
) -> ConcurrencyLimit:
    """A named limit to put in several tasks' ``concurrency`` (Trigger.dev's
    ``concurrencyLimit()``); TaskDefinitionError when the name or a bound is invalid."""
    return ConcurrencyLimit(
        name=name,
        per_key=per_key,
        total=total,
        rate_limit=parse_rate_limit(rate_limit, f"concurrency limit {name!r}"),
    )


def check_limit_name(name: object) -> None:
    """Names are 1-122 letters, digits, ``_`` or ``-`` (TaskDefinitionError otherwise)."""
    if not isinstance(name, str) or not LIMIT_NAME_PATTERN.match(name):
        raise TaskDefinitionError(
            f"Invalid concurrency limit name {name!r}: use 1-122 letters, digits, '_' or '-'"
        )


def check_bounds(what: str, per_key: object, total: object) -> None:
    """Bounds are whole numbers from 0 to 100,000; at least one is given."""
    for field, value in (("per_key", per_key), ("total", total)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise TaskDefinitionError(f"{what}: {field} must be a whole number, not {value!r}")
        if not 0 <= value <= MAX_BOUND:
            raise TaskDefinitionError(f"{what}: {field} must be between 0 and {MAX_BOUND}")
    if per_key is None and total is None:
        raise TaskDefinitionError(f"{what}: give per_key, total or both")


def parse_rate_limit(value: Mapping[str, Any] | None, what: str) -> RateLimitSpec | None:
    """``{"limit": n, "period": "1m", "per_key": bool}`` checked; TaskDefinitionError."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TaskDefinitionError(f"{what}: rate_limit must be a dict")
    unknown = set(value) - {"limit", "period", "per_key"}
    if unknown:
        raise TaskDefinitionError(f"{what}: rate_limit has unknown fields {sorted(unknown)}")
    limit, period = value.get("limit"), value.get("period")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_BOUND:
        raise TaskDefinitionError(f"{what}: rate_limit.limit must be a whole number >= 1")
    try:
        period_s = parse_duration(period)  # type: ignore[arg-type]
    except (DurationError, TypeError) as exc:
        raise TaskDefinitionError(f"{what}: rate_limit.period: {exc}") from None
    if period_s <= 0:
        raise TaskDefinitionError(f"{what}: rate_limit.period must be positive")
    return RateLimitSpec(limit=limit, period_s=period_s, per_key=bool(value.get("per_key")))


ConcurrencyOption = Concurrency | ConcurrencyLimit | Mapping[str, Any]


def task_limits(
    task_id: str,
    concurrency: ConcurrencyOption | Sequence[ConcurrencyOption] | None,
    rate_limit: Mapping[str, Any] | None = None,
) -> tuple[LimitSpec, ...]:
    """The limits a task declares, sorted by name (the order runs acquire them in):
    at most one inline (named ``task/<id>``, carrying the task's ``rate_limit``) and two
    named ones. TaskDefinitionError names what is wrong."""
    what = f"Task {task_id!r}"
    items: list[ConcurrencyOption]
    if concurrency is None:
        items = []
    elif isinstance(concurrency, Concurrency | ConcurrencyLimit | Mapping):
        items = [concurrency]
    else:
        items = list(concurrency)
    inline: list[Concurrency] = []
    named: list[ConcurrencyLimit] = []
    for item in items:
        if isinstance(item, ConcurrencyLimit):
            named.append(item)
        elif isinstance(item, Concurrency):
            inline.append(item)
        elif isinstance(item, Mapping):
            unknown = set(item) - {"per_key", "total"}
            if unknown:
                raise TaskDefinitionError(
                    f"{what}: concurrency has unknown fields {sorted(unknown)}"
                    " (use per_key and total, or concurrency_limit(name=...))"
                )
            try:
                inline.append(Concurrency(per_key=item.get("per_key"), total=item.get("total")))
            except TaskDefinitionError as exc:
                raise TaskDefinitionError(f"{what}: {exc}") from None
        else:
            raise TaskDefinitionError(f"{what}: concurrency items are dicts or limits")
    if len(inline) > 1:
        raise TaskDefinitionError(f"{what}: concurrency takes at most one inline limit")
    if len(named) > MAX_NAMED_LIMITS:
        raise TaskDefinitionError(f"{what}: concurrency takes at most two named limits")
    if len({n.name for n in named}) != len(named):
        raise TaskDefinitionError(f"{what}: a named limit is listed twice")
    rate = parse_rate_limit(rate_limit, what)
    specs = [n.spec() for n in named]
    if inline or rate is not None:
        bounds = inline[0] if inline else Concurrency(total=MAX_BOUND)
        specs.append(
            LimitSpec(
                name=inline_limit_name(task_id),
                kind="task",
                per_key=bounds.per_key,
                total=bounds.total if inline else None,
                rate_limit=rate,
            )
        )
    return tuple(sorted(specs, key=lambda s: s.name))
