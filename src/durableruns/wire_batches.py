"""Wire shapes of batches (Trigger.dev's two-phase batch API), shared by the facade and
the SDK."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from durableruns.wire import IdempotencyKeyOptions, TriggerOptions, WireModel


class CreateBatchRequest(WireModel):
    """Body of ``POST /api/v3/batches`` (phase 1 of a batch trigger)."""

    run_count: int = Field(gt=0, le=1000)
    task_identifiers: list[str] = []
    idempotency_key: str | None = None
    idempotency_key_options: IdempotencyKeyOptions | None = None


class CreateBatchResponse(WireModel):
    """``{id, runCount, isCached}``."""

    id: str
    run_count: int
    is_cached: bool = False
    idempotency_key: str | None = None


class BatchItemLine(WireModel):
    """One NDJSON line of ``POST /api/v3/batches/{id}/items`` (phase 2)."""

    index: int = Field(ge=0)
    task: str = Field(min_length=1, max_length=128)
    payload: Any = None
    options: TriggerOptions = TriggerOptions()


class StreamBatchItemsResponse(WireModel):
    """What an item stream did; ``sealed`` once every item of the batch has arrived."""

    id: str
    items_accepted: int
    items_deduplicated: int
    sealed: bool
    enqueued_count: int | None = None
    expected_count: int | None = None


class BatchProcessing(WireModel):
    """Run-creation progress of a batch."""

    completed_at: datetime | None = None
    errors: list[dict[str, Any]] = []


class Batch(WireModel):
    """A batch as ``GET /api/v2/batches/{id}`` returns it: run ids in item order."""

    id: str
    status: Literal["PENDING", "PROCESSING", "COMPLETED", "PARTIAL_FAILED", "ABORTED"]
    idempotency_key: str | None = None
    created_at: datetime
    updated_at: datetime
    run_count: int
    runs: list[str]
    processing: BatchProcessing = BatchProcessing()
