"""Rerun from a step (a durableruns extension, issue 23): a replay that reuses the source
run's journal up to a position. Its recorded calls before the cut — steps, waits, child
runs — return their records; the code runs live from the cut on. This module picks the
cut and the records; ``service/runs.py`` seeds the new run with them.
"""

from __future__ import annotations

from durableruns.errors import StepOutsideJournalError
from durableruns.models import JournalEntry, step_call


def cut_position(journal: tuple[JournalEntry, ...], from_step: str | int) -> int:
    """The journal position ``from_step`` names: a position there is, or the name of a
    step (its first call); StepOutsideJournalError (422) names the last position."""
    last = max((e.position for e in journal), default=-1)
    if isinstance(from_step, int) or from_step.isdigit():
        position = int(from_step)
        if not any(e.position == position for e in journal):
            raise StepOutsideJournalError(
                "fromStep", f"position {position} is not in the run's journal ({_ends(last)})"
            )
        return position
    for entry in sorted(journal, key=lambda e: e.position):
        if entry.kind == "step" and entry.call == step_call(from_step):
            return entry.position
    raise StepOutsideJournalError(
        "fromStep", f"the run's journal has no step {from_step!r} ({_ends(last)})"
    )


def seed_before(journal: tuple[JournalEntry, ...], cut: int) -> tuple[JournalEntry, ...]:
    """The finished records before the cut, which the new run answers from."""
    return tuple(e for e in journal if e.position < cut and e.done)


def _ends(last: int) -> str:
    return "it is empty" if last < 0 else f"its last position is {last}"
