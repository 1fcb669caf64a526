"""``wait``: durable pauses inside task code.

``await wait.for_(seconds=30)`` and ``await wait.until(when)`` are timers in the run's
workflow: the run is WAITING meanwhile, the time does not count towards
``max_duration``, and the timer survives worker restarts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from durableruns.context import require_runtime
from durableruns.errors import InvalidInputError


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
