"""The records of a run's hooks activity: what the run workflow asks for when its final
status is decided, and what the worker answers (``worker/hooks_activity.py``).

Like :mod:`durableruns.models`, they are stored in Temporal history: JSON-friendly
fields only, new fields with defaults.
"""

from __future__ import annotations

from durableruns.models import Frozen
from durableruns.status import RunStatus

_FIRES: dict[RunStatus, tuple[str, ...]] = {
    RunStatus.COMPLETED: ("on_success", "on_complete"),
    RunStatus.CANCELED: ("on_cancel", "on_complete"),
    RunStatus.EXPIRED: (),
}
_FAILED = ("on_failure", "on_complete")


def kinds_for(status: RunStatus) -> tuple[str, ...]:
    """The once-per-run hooks a run that ended ``status`` fires, in order.

    - COMPLETED: ``on_success``, then ``on_complete``;
    - FAILED, CRASHED, SYSTEM_FAILURE, TIMED_OUT: ``on_failure``, then ``on_complete``;
    - CANCELED: ``on_cancel``, then ``on_complete`` (the run did complete: its ``error``
      says it was canceled);
    - EXPIRED: none (the task's code never ran).
    """
    return _FIRES.get(status, _FAILED)


class HooksInput(Frozen):
    """Run the once-per-run hooks that ``status`` fires for run ``run_id``. The payload,
    output and error are read from the run (its ``get`` query), not copied here."""

    run_id: str
    task_id: str
    status: RunStatus


class HooksOutput(Frozen):
    """How the hooks went: how many ran, how many raised (each logged with the run)."""

    ran: int = 0
    failed: int = 0
