"""Debounce, as Trigger.dev v4 has it: triggers of one task with one key within a window
collapse into one delayed run.

``options.debounce = {key, delay, mode, maxDelay}``. The first trigger makes a DELAYED run
(delayed by ``options.delay`` if given, else ``debounce.delay``); each later trigger with
the key, while that run is still DELAYED, moves its start to ``now + delay`` (only ever
later) and answers with its id — unless that would pass ``maxDelay`` after the run was
created, in which case the run keeps its time and the trigger makes the key's next run.
Once the run left DELAYED, the next trigger makes a new run too. ``mode`` "leading"
(default) runs with the first trigger's payload; "trailing" with the last one's (its
payload, metadata, tags, max attempts and max duration). An idempotency key wins over
debounce. Keys are scoped to the environment and the task.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from durableruns.durations import DurationError, parse_duration
from durableruns.errors import InvalidInputError

MIN_DELAY_S = 1.0


class DebounceOption(BaseModel):
    """``options.debounce`` on the wire."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    key: str = Field(min_length=1, max_length=512)
    delay: str
    """A duration (``"5s"``, ``"1m"``): re-applied by every trigger, so not a date."""
    mode: Literal["leading", "trailing"] = "leading"
    max_delay: str | None = None


class Debounce(BaseModel):
    """A run's debounce settings, snapshotted at trigger."""

    model_config = ConfigDict(frozen=True)

    key: str
    delay_s: float
    mode: Literal["leading", "trailing"] = "leading"
    max_delay_s: float | None = None


class DebounceRequest(BaseModel):
    """A later trigger of a debounced run: start no earlier than ``delay_until`` (and, in
    trailing mode, with these values). Refused when the run is no longer DELAYED or the
    move would pass ``max_delay_s`` after it was created."""

    model_config = ConfigDict(frozen=True)

    delay_until: datetime
    max_delay_s: float | None = None
    trailing: bool = False
    payload: Any = None
    metadata: dict[str, Any] | None = None
    tags: tuple[str, ...] = ()
    max_attempts: int | None = None
    max_duration_s: float | None = None


def parse_debounce(option: DebounceOption | None) -> Debounce | None:
    """The run's debounce, or InvalidInputError naming the field (Trigger.dev's rules)."""
    if option is None:
        return None
    delay = _seconds(option.delay, "options.debounce.delay")
    if delay < MIN_DELAY_S:
        raise InvalidInputError("options.debounce.delay", "must be at least 1 second")
    max_delay = None
    if option.max_delay is not None:
        max_delay = _seconds(option.max_delay, "options.debounce.maxDelay")
        if max_delay <= delay:
            raise InvalidInputError(
                "options.debounce.maxDelay",
                "must be longer than the delay (else every trigger would make its own run)",
            )
    return Debounce(key=option.key, delay_s=delay, mode=option.mode, max_delay_s=max_delay)


def _seconds(value: str, field: str) -> float:
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise InvalidInputError(field, f"{exc} (a duration such as '5s'; not a date)") from exc
