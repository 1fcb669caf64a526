"""Trigger.dev's cron format: five fields (minute, hour, day of month, month, day of
week) evaluated in an IANA time zone; parsed here, before anything reaches Temporal,
so a bad expression is refused naming the field and why.

The parse result is plain data (the set of values each field allows) that the engine
turns into Temporal calendar specs and the dashboard into words (:func:`describe`).
A hand-written describer of a few dozen lines covers the shapes people write; a cron
library would add a dependency for a sentence.

Example::

    expr = parse_cron("0 2 * * 1-5")
    describe(expr)  # 'At 02:00, Monday through Friday'
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass

from durableruns.errors import InvalidScheduleError

FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
DAY_NAMES = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
MONTH_NAMES = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


@dataclass(frozen=True)
class CronExpression:
    """A parsed 5-field expression: the values each field allows, and which were ``*``."""

    source: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days_of_month: tuple[int, ...]
    months: tuple[int, ...]
    days_of_week: tuple[int, ...]
    """0 is Sunday (7 is folded into 0)."""
    fields: tuple[str, ...]
    """The five raw fields."""

    @property
    def restricts_day_of_month(self) -> bool:
        """Whether the day-of-month field is not ``*`` (cron ORs it with day of week)."""
        return self.fields[2] != "*"

    @property
    def restricts_day_of_week(self) -> bool:
        """Whether the day-of-week field is not ``*``."""
        return self.fields[4] != "*"


def parse_cron(text: str) -> CronExpression:
    """The expression in ``text``; InvalidScheduleError("cron", why) if it is not one."""
    fields = text.split()
    if len(fields) != 5:
        raise InvalidScheduleError(
            "cron",
            f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}"
            f" in {text!r}",
        )
    values = [_field(raw, *spec) for raw, spec in zip(fields, FIELDS, strict=True)]
    days_of_week = tuple(sorted({d % 7 for d in values[4]}))
    return CronExpression(
        source=" ".join(fields),
        minutes=values[0],
        hours=values[1],
        days_of_month=values[2],
        months=values[3],
        days_of_week=days_of_week,
        fields=tuple(fields),
    )


def _field(raw: str, name: str, low: int, high: int) -> tuple[int, ...]:
    allowed: set[int] = set()
    for item in raw.split(","):
        allowed |= _item(item, name, low, high)
    return tuple(sorted(allowed))


def _item(item: str, name: str, low: int, high: int) -> set[int]:
    def fail(why: str) -> InvalidScheduleError:
        return InvalidScheduleError("cron", f"{name} field {item!r}: {why}")

    if not item:
        raise fail("empty list item")
    base, _, step_text = item.partition("/")
    step = 1
    if step_text:
        step = _number(step_text, name, fail)
        if step < 1:
            raise fail("the step must be at least 1")
    if base == "*":
        start, end = low, high
    elif "-" in base:
        first, _, last = base.partition("-")
        start, end = _value(first, name, fail), _value(last, name, fail)
        if start > end:
            raise fail(f"range {start}-{end} runs backwards")
    else:
        start = _value(base, name, fail)
        end = high if step_text else start
    for value in (start, end):
        if not low <= value <= high:
            raise fail(f"{value} is outside {low}-{high}")
    return set(range(start, end + 1, step))


Fail = Callable[[str], InvalidScheduleError]


def _value(text: str, name: str, fail: Fail) -> int:
    names = MONTHS if name == "month" else DAYS if name == "day of week" else []
    upper = text.upper()
    if upper in names:
        return names.index(upper) + (1 if name == "month" else 0)
    if "L" in upper:
        raise fail("'L' (last) is not supported")
    return _number(text, name, fail)


def _number(text: str, name: str, fail: Fail) -> int:
    if not text.isdigit():
        raise fail(f"{text!r} is not a number")
    return int(text)


# --- time zones ----------------------------------------------------------------------
@functools.cache
def timezones() -> tuple[str, ...]:
    """Every IANA time zone name we accept, sorted, ``UTC`` first."""
    names = sorted(zoneinfo.available_timezones() - {"UTC"})
    return ("UTC", *names)


def check_timezone(name: str) -> str:
    """``name`` if it is an IANA time zone; InvalidScheduleError("timezone", why) if not."""
    if name not in set(timezones()):
        raise InvalidScheduleError(
            "timezone", f"unknown time zone {name!r} (use an IANA name such as Europe/Paris)"
        )
    return name


# --- words ---------------------------------------------------------------------------
def describe(expr: CronExpression) -> str:
    """The expression in English, e.g. ``Every 5 minutes`` or ``At 02:00, on day 1 of
    the month``."""
    minute, hour, dom, month, dow = expr.fields
    if len(expr.minutes) == 1 and len(expr.hours) == 1:
        when = f"At {expr.hours[0]:02d}:{expr.minutes[0]:02d}"
    elif minute == "*" and hour == "*":
        when = "Every minute"
    elif minute.startswith("*/") and hour == "*":
        when = f"Every {minute[2:]} minutes"
    elif len(expr.minutes) == 1 and hour == "*":
        minutes = expr.minutes[0]
        when = "Every hour" if minutes == 0 else f"At minute {minutes} past every hour"
    elif expr.minutes == (0,) and hour.startswith("*/"):
        when = f"Every {hour[2:]} hours"
    elif len(expr.minutes) == 1 and hour.startswith("*/"):
        when = f"At minute {expr.minutes[0]} past every {hour[2:]} hours"
    else:
        when = f"At minute {_words(minute)} past hour {_words(hour)}"
    days = []
    if expr.restricts_day_of_month:
        days.append(f"on day {_words(dom)} of the month")
    if expr.restricts_day_of_week:
        days.append("on " + _words(dow, DAY_NAMES, fold=7))
    parts = [when]
    if days:
        parts.append(" or ".join(days))
    elif when.startswith("At ") and ":" in when:
        parts.append("every day")
    if month != "*":
        parts.append("in " + _words(month, MONTH_NAMES, offset=1))
    return ", ".join(parts)


def _words(raw: str, names: list[str] | None = None, *, offset: int = 0, fold: int = 0) -> str:
    """One field's raw text in words: lists, ranges and steps, with day/month names."""

    def name(token: str) -> str:
        if names is None:
            return token
        upper = token.upper()
        for table in (MONTHS, DAYS):
            if upper in table:
                return names[table.index(upper)]
        number = int(token)
        return names[(number % fold if fold else number) - offset]

    out = []
    for item in raw.split(","):
        base, _, step = item.partition("/")
        if base == "*":
            text = "every value"
        elif "-" in base:
            first, _, last = base.partition("-")
            text = f"{name(first)} through {name(last)}"
        else:
            text = name(base)
        out.append(f"{text} (every {step})" if step else text)
    return out[0] if len(out) == 1 else ", ".join(out[:-1]) + " and " + out[-1]
