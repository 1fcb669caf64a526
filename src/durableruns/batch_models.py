"""The durable records of batches: what a batch starts from, and what its workflow
keeps (which item became which run). JSON-friendly fields only: they live in history."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from durableruns.models import Frozen


class BatchInput(Frozen):
    """What a batch record starts from (``POST /api/v3/batches``)."""

    batch_id: str
    run_count: int
    task_identifiers: tuple[str, ...] = ()
    created_at: datetime
    idempotency_key: str | None = None


class BatchRecord(BaseModel):
    """A batch: how many runs it will have, which exist so far (by item index)."""

    id: str
    run_count: int
    task_identifiers: list[str] = []
    run_ids: dict[int, str] = {}
    created_at: datetime
    updated_at: datetime
    sealed_at: datetime | None = None
    idempotency_key: str | None = None

    @property
    def sealed(self) -> bool:
        """Whether every item has arrived (and its run exists)."""
        return len(self.run_ids) >= self.run_count
