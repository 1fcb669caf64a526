"""Mints the ids users see: ``run_…``, ``batch_…``, ``sched_…`` and ``waitpoint_…``
(attempt ids are the run workflow's, made deterministically in workflow code).

Run ids are time-ordered (a 48-bit millisecond timestamp then 80 random bits, in
lowercase Crockford base32, like a ULID), so sorting ids sorts runs by creation.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
RUN_ID_PATTERN = re.compile(r"^run_[0-9a-hjkmnp-tv-z]{26}$")


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def _ulid(now_ms: int | None = None) -> str:
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    return _encode(ms, 10) + _encode(secrets.randbits(80), 16)


def new_run_id() -> str:
    """A fresh, time-ordered run id such as ``run_01jd5x…``."""
    return "run_" + _ulid()


def is_run_id(value: str) -> bool:
    """Whether ``value`` has the shape of a run id we mint."""
    return bool(RUN_ID_PATTERN.match(value))


def derived_run_id(*parts: str) -> str:
    """A run id that is a pure function of ``parts``: the same parts, the same id.

    Used where uniqueness must come from Temporal's workflow-id uniqueness:
    idempotency keys, batch items, and children keyed by their call position.
    """
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return "run_" + _encode(int.from_bytes(digest[:17], "big") >> 6, 26)


BATCH_ID_PATTERN = re.compile(r"^batch_[0-9a-hjkmnp-tv-z]{26}$")


def new_batch_id() -> str:
    """A fresh, time-ordered batch id ``batch_…``."""
    return "batch_" + _ulid()


def derived_batch_id(*parts: str) -> str:
    """A batch id that is a pure function of ``parts`` (idempotent batch creation)."""
    return "batch_" + derived_run_id(*parts).removeprefix("run_")


def is_batch_id(value: str) -> bool:
    """Whether ``value`` has the shape of a batch id we mint."""
    return bool(BATCH_ID_PATTERN.match(value))


SCHEDULE_ID_PATTERN = re.compile(r"^sched_[0-9a-hjkmnp-tv-z]{26}$")


def new_schedule_id() -> str:
    """A fresh, time-ordered schedule id ``sched_…``."""
    return "sched_" + _ulid()


def derived_schedule_id(*parts: str) -> str:
    """A schedule id that is a pure function of ``parts``: a deduplication key's, or a
    declarative schedule's (its task), so creating it twice finds the first."""
    return "sched_" + derived_run_id(*parts).removeprefix("run_")


def is_schedule_id(value: str) -> bool:
    """Whether ``value`` has the shape of a schedule id we mint."""
    return bool(SCHEDULE_ID_PATTERN.match(value))


TOKEN_ID_PATTERN = re.compile(r"^waitpoint_[0-9a-hjkmnp-tv-z]{26}$")


def new_token_id() -> str:
    """A fresh, time-ordered wait token id such as ``waitpoint_01jd5x…``."""
    return "waitpoint_" + _ulid()


def derived_token_id(*parts: str) -> str:
    """A token id that is a pure function of ``parts`` (idempotency keys, and tokens
    made by task code, keyed by their call position)."""
    return "waitpoint_" + derived_run_id(*parts).removeprefix("run_")


def is_token_id(value: str) -> bool:
    """Whether ``value`` has the shape of a token id we mint."""
    return bool(TOKEN_ID_PATTERN.match(value))


BULK_ACTION_ID_PATTERN = re.compile(r"^bulk_[0-9a-hjkmnp-tv-z]{26}$")


def new_bulk_action_id() -> str:
    """A fresh, time-ordered bulk action id ``bulk_…``."""
    return "bulk_" + _ulid()


def is_bulk_action_id(value: str) -> bool:
    """Whether ``value`` has the shape of a bulk action id we mint."""
    return bool(BULK_ACTION_ID_PATTERN.match(value))
