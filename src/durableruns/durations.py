"""Durations as Trigger.dev writes them: ``"30s"``, ``"1h30m"``, ``"2d"``, ``"1w"``.

Used for delays, TTLs and idempotency-key TTLs. Bare numbers are seconds.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from durableruns.errors import DurationError as DurationError  # defined in errors.py (the one tree)

_UNITS = {"w": 604_800, "d": 86_400, "hr": 3600, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+(?:\.\d+)?)(w|d|hr|h|m|s)")
MAX_DURATION_S = 10 * 365 * 86_400.0
"""Longest accepted duration (10 years): anything longer is a mistake, and past Python's
``timedelta`` range it could not even be computed."""
_FORMAT_UNITS = (("w", 604_800), ("d", 86_400), ("h", 3600), ("m", 60), ("s", 1))


def parse_duration(value: str | int | float) -> float:
    """Seconds in ``value``: ``"1h30m"`` → 5400.0, ``90`` → 90.0.

    Raises:
        DurationError: Not a duration (e.g. ``"soon"``, ``"-5s"``, ``""``).
    """
    seconds = _seconds(value)
    if not 0 <= seconds <= MAX_DURATION_S:  # also refuses NaN
        raise DurationError(f"a duration must be between 0 and 10 years: {value!r}")
    return seconds


def _seconds(value: str | int | float) -> float:
    if isinstance(value, bool):
        raise DurationError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise DurationError(f"a duration cannot be negative: {value!r}")
        return float(value)
    text = value.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    position, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position != len(text) or not text:
        raise DurationError(f"not a duration: {value!r} (use e.g. 30s, 5m, 1h30m, 2d)")
    return total


def format_duration(seconds: float) -> str:
    """The shortest duration string: 3600 → ``"1h"``, 5400 → ``"1h30m"``, 0 → ``"0s"``."""
    remaining = round(seconds)
    parts = []
    for unit, size in _FORMAT_UNITS:
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def parse_delay(value: str | int | float | datetime, now: datetime | None = None) -> datetime:
    """When a delayed run should start: a duration from ``now`` or an ISO date/datetime.

    Raises:
        DurationError: Unparsable, or a date in the past.
    """
    now = now or datetime.now(UTC)
    if isinstance(value, datetime):
        when = value if value.tzinfo else value.replace(tzinfo=UTC)
    else:
        try:
            when = now + timedelta(seconds=parse_duration(value))
        except DurationError:
            when = _parse_iso(str(value))
    if when < now - timedelta(seconds=1):
        raise DurationError(f"the delay {value!s} is in the past")
    if when > now + timedelta(seconds=MAX_DURATION_S):
        raise DurationError(f"the delay {value!s} is more than 10 years away")
    return when


def _parse_iso(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError) as exc:
        raise DurationError(
            f"not a duration or ISO date: {text!r} (use e.g. 30s, 1h30m or 2026-12-01T09:00:00Z)"
        ) from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)
