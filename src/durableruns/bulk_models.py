"""The durable records of bulk actions (replay or cancel many runs, issue 23): what a bulk
action starts from, what its workflow keeps, what its activities exchange (their names are
in ``engine/names.py``). JSON-friendly fields only: they live in history."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from durableruns.models import Frozen

BulkActionType = Literal["CANCEL", "REPLAY"]
BulkActionStatus = Literal["PENDING", "COMPLETED", "ABORTED"]

PAGE_SIZE = 100
"""Runs read (and acted on) per page: one page activity and one act activity each."""
DEFAULT_CONCURRENCY = 10
"""Runs acted on at once within a page, so 10,000 replays never flood the queues."""
MAX_SELECTED_RUNS = 50_000
"""The most runs one action may select (a filter matching more is refused): the runs
acted on are carried across continue-as-new, within Temporal's 2 MB payload limit."""
MAX_RUN_IDS = 1_000
"""The most run ids one request may list (``runIds``)."""
PAGES_PER_EXECUTION = 50
"""Pages one workflow execution handles before it continues as new (its history stays
far below Temporal's limits: ~6 events per page)."""


class BulkActionInput(Frozen):
    """What a bulk action starts from. The selection is either ``run_ids`` or ``query``
    (the ``runs.list`` filter as a visibility query, its time bounds resolved when the
    action was created)."""

    id: str
    type: BulkActionType
    name: str | None = None
    run_ids: tuple[str, ...] = ()
    query: str | None = None
    created_at: datetime
    task_queue_prefix: str
    concurrency: int = DEFAULT_CONCURRENCY
    total: int = 0
    """How many runs the selection held when the action was created."""
    # Carried across continue-as-new:
    offset: int = 0
    """Run ids: the next index to act on."""
    page_token: str | None = None
    """Query: visibility's token for the next page (None: the first, or no more)."""
    success: int = 0
    failure: int = 0
    seen: tuple[str, ...] = ()
    """Query: the runs acted on so far. Visibility orders a list by close time first, so a
    run that closes while the action pages through may come round again: it is skipped."""


class BulkActionRecord(BaseModel):
    """A bulk action as the API answers it (``BulkActionObject``)."""

    id: str
    name: str | None = None
    type: BulkActionType
    status: BulkActionStatus = "PENDING"
    total: int = 0
    success: int = 0
    failure: int = 0
    created_at: datetime
    completed_at: datetime | None = None


class BulkPageRequest(Frozen):
    """Read the next page of a query selection."""

    query: str
    page_token: str | None = None
    size: int = PAGE_SIZE


class BulkPage(Frozen):
    """One page of run ids, and the token of the next (None: this was the last)."""

    run_ids: tuple[str, ...]
    next_token: str | None = None


class BulkActRequest(Frozen):
    """Act on ``run_ids`` (at most ``concurrency`` at once)."""

    action_id: str
    type: BulkActionType
    run_ids: tuple[str, ...]
    task_queue_prefix: str
    concurrency: int = DEFAULT_CONCURRENCY
    created_at: datetime
    """When the action was created: a run found CANCELED since, on a retried page, was
    canceled by this action (or at least not before it)."""


class BulkActResult(Frozen):
    """What acting on a page did: runs it succeeded on and failed on."""

    success: int = 0
    failure: int = 0
