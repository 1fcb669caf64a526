"""The records of a run's hooks activity: what the run workflow asks for when its final
status is decided, and what the worker answers (``worker/hooks_activity.py``).

Like :mod:`durableruns.models`, they are stored in Temporal history: JSON-friendly
fields only, new fields with defaults.
"""

from __future__ import annotations

from durableruns.models import Frozen
from durableruns.status import RunStatus


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
