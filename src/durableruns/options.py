"""Turning trigger options, as given on the wire or in Python, into the run's snapshot
(:class:`~durableruns.models.RunOptions`), with one validation for every entry point:
the facade, in-task triggers, batch items and replays.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from durableruns.debounce import parse_debounce
from durableruns.durations import DurationError, parse_delay, parse_duration
from durableruns.errors import InvalidInputError
from durableruns.limits import check_text
from durableruns.metadata import check_metadata_size
from durableruns.models import RunOptions
from durableruns.wire import TriggerOptions

DEFAULT_IDEMPOTENCY_KEY_TTL_S = 30 * 86_400.0

Scope = Literal["run", "attempt", "global"]


@dataclass(frozen=True)
class ParentRun:
    """The run whose code is triggering, for in-task triggers."""

    run_id: str
    root_run_id: str
    depth: int
    attempt_id: str


def idempotency_key_hash(key: str, scope: Scope = "run", parent: ParentRun | None = None) -> str:
    """Trigger.dev's hash: SHA-256 of the key joined with the parent run (and attempt)."""
    parts = [key]
    if parent is not None and scope in ("run", "attempt"):
        parts.append(parent.run_id)
        if scope == "attempt":
            parts.append(parent.attempt_id)
    return hashlib.sha256("-".join(parts).encode()).hexdigest()


def run_options(
    opts: TriggerOptions,
    *,
    now: datetime,
    parent: ParentRun | None = None,
    trigger_function: str = "trigger",
) -> RunOptions:
    """The run's snapshot of ``opts``; InvalidInputError names the field at fault.

    Defaults that depend on what is deployed (version, the task's TTL and queue) are
    applied when the run is started (``engine.deployments``); ``ttl_s`` stays None when
    no TTL was given, and is 0 when the caller disabled it.
    """
    check_metadata_size(opts.metadata, "options.metadata")
    _check_strings(opts)
    user_key, key_hash, key_expires = _idempotency(opts, now, parent)
    debounce = parse_debounce(opts.debounce)
    delay_until = _delay(opts, now)
    if debounce is not None:
        check_text(debounce.key, "options.debounce.key")
        delay_until = delay_until or now + timedelta(seconds=debounce.delay_s)
    return RunOptions(
        tags=tuple(opts.tags or ()),
        metadata=opts.metadata,
        max_attempts=opts.max_attempts,
        max_duration_s=opts.max_duration,
        is_test=bool(opts.test),
        delay_until=delay_until,
        debounce=debounce,
        ttl_s=_ttl(opts),
        idempotency_key=user_key,
        idempotency_key_hash=key_hash,
        idempotency_key_expires_at=key_expires,
        queue=opts.queue.name if opts.queue else None,
        concurrency_key=opts.concurrency_key,
        priority_s=opts.priority or 0,
        limit_names=tuple(opts.concurrency) if opts.concurrency is not None else None,
        lock_to_version=opts.lock_to_version,
        parent_run_id=parent.run_id if parent else None,
        root_run_id=parent.root_run_id if parent else None,
        depth=parent.depth + 1 if parent else 0,
        trigger_function=trigger_function,
    )


def _check_strings(opts: TriggerOptions) -> None:
    """Every string option is stored in Temporal (search attributes, ids): valid Unicode
    without NUL, or a 400 naming the option."""
    for number, tag in enumerate(opts.tags or ()):
        check_text(tag, f"options.tags[{number}]")
    check_text(opts.idempotency_key, "options.idempotencyKey")
    check_text(opts.concurrency_key, "options.concurrencyKey")
    check_text(opts.queue.name if opts.queue else None, "options.queue.name")
    check_text(opts.lock_to_version, "options.lockToVersion")
    if opts.idempotency_key_options is not None:
        check_text(opts.idempotency_key_options.key, "options.idempotencyKeyOptions.key")


def _delay(opts: TriggerOptions, now: datetime) -> datetime | None:
    if opts.delay is None:
        return None
    try:
        return parse_delay(opts.delay, now)
    except DurationError as exc:
        raise InvalidInputError("options.delay", str(exc)) from exc


def _ttl(opts: TriggerOptions) -> float | None:
    if opts.ttl is None:
        return None
    try:
        return parse_duration(opts.ttl)
    except DurationError as exc:
        raise InvalidInputError("options.ttl", str(exc)) from exc


def _idempotency(
    opts: TriggerOptions, now: datetime, parent: ParentRun | None
) -> tuple[str | None, str | None, datetime | None]:
    if not opts.idempotency_key:
        return None, None, None
    if opts.idempotency_key_options is not None:
        user_key = opts.idempotency_key_options.key
        key_hash = opts.idempotency_key  # the official client sends it hashed already
    else:
        user_key = opts.idempotency_key
        key_hash = idempotency_key_hash(user_key, "run", parent)
    ttl_s = DEFAULT_IDEMPOTENCY_KEY_TTL_S
    if opts.idempotency_key_ttl is not None:
        try:
            ttl_s = parse_duration(opts.idempotency_key_ttl)
        except DurationError as exc:
            raise InvalidInputError("options.idempotencyKeyTTL", str(exc)) from exc
    return user_key, key_hash, now + timedelta(seconds=ttl_s)
