"""Wire shapes of the runs list (``GET /api/v1/runs``), shared by the facade and the SDK."""

from __future__ import annotations

from typing import Any

from durableruns.wire import RETRIEVE_ONLY_FIELDS, Run, WireModel


class RunEnv(WireModel):
    """The environment a listed run belongs to."""

    id: str
    name: str
    user: str | None = None


class ListedRun(Run[Any, Any]):
    """A run as ``GET /api/v1/runs`` lists it (``ListRunResponseItem``): the common run
    fields, no payload, output or error, plus its environment. The facade builds it from
    visibility alone, so ``started_at``, ``duration_ms``, ``metadata`` and ``ttl`` are
    not filled in and ``updated_at`` is the last time visibility saw (start or close);
    ``retrieve`` the run for all of it."""

    env: RunEnv
    parent_run_id: str | None = None
    """durableruns extension: the run that triggered this one (absent for a root run)."""

    def to_wire(self) -> dict[str, Any]:
        """The list item body: the retrieve-only fields left out."""
        body = super().to_wire()
        return {k: v for k, v in body.items() if k not in RETRIEVE_ONLY_FIELDS}


class Pagination(WireModel):
    """Cursors of the neighbouring pages; absent when there is none."""

    next: str | None = None
    previous: str | None = None


class RunListResponse(WireModel):
    """The body of ``GET /api/v1/runs``."""

    data: list[ListedRun]
    pagination: Pagination = Pagination()
