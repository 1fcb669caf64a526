"""``tags``: tags added to the running run from its own task code (Trigger.dev's
``tags.add``), as the API's ``POST /api/v1/runs/{id}/tags`` adds them from outside.

Example::

    from durableruns import tags

    @task(id="import-user")
    async def import_user(payload: dict, ctx: TaskContext) -> None:
        await tags.add(f"user:{payload['user_id']}")

Tags are searchable run filters (``runs.list(tag=...)``, the Temporal UI's
``TriggerTags``). A run has at most 10, each 1-128 characters; adding a tag the run has
is a no-op, so code that re-runs on resume adds nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from durableruns.context import require_runtime
from durableruns.errors import InvalidInputError
from durableruns.limits import check_text
from durableruns.wire import tags_within_limits


async def add(tags: str | Sequence[str]) -> None:
    """Add one tag or several to the run this code runs in; InvalidInputError beyond the
    limits (10 per run, 1-128 characters each)."""
    wanted = [tags] if isinstance(tags, str) else list(tags)
    try:
        tags_within_limits(wanted, "run")
    except ValueError as exc:
        raise InvalidInputError("tags", str(exc)) from exc
    for number, tag in enumerate(wanted):
        check_text(tag, f"tags[{number}]")
    _, runtime = require_runtime("tags.add()")
    await runtime.add_tags(wanted)
