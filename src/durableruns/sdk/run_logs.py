"""``runs.logs`` and ``runs.follow_logs``: a run's log lines from the facade.

Example::

    async for line in runs.logs(handle, level=["WARN", "ERROR"]):
        print(line.timestamp, line.level, line.message)
    async for line in runs.follow_logs(handle):  # live, ends when the run does
        print(line.message)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import urlencode

from durableruns.sdk.client import request, stream
from durableruns.sdk.handles import RunHandle
from durableruns.sdk.sse import server_sent_events
from durableruns.wire_logs import LogLineBody, LogPage


def _params(level: Sequence[str] | None, attempt: int | None) -> dict[str, str]:
    params: dict[str, str] = {}
    if level:
        params["level"] = ",".join(level)
    if attempt is not None:
        params["attempt"] = str(attempt)
    return params


async def logs(
    run: RunHandle | str,
    *,
    level: Sequence[str] | None = None,
    attempt: int | None = None,
    page_size: int = 200,
) -> AsyncIterator[LogLineBody]:
    """Every line of the run's log so far, oldest first (fetched a page at a time)."""
    run_id = run if isinstance(run, str) else run.id
    params: dict[str, Any] = {**_params(level, attempt), "limit": str(page_size)}
    while True:
        response = await request("GET", f"/api/v1/runs/{run_id}/logs?{urlencode(params)}")
        page = LogPage.model_validate(response.json())
        for line in page.data:
            yield line
        if page.pagination.next is None:
            return
        params["cursor"] = page.pagination.next


async def follow_logs(
    run: RunHandle | str, *, level: Sequence[str] | None = None, attempt: int | None = None
) -> AsyncIterator[LogLineBody]:
    """The run's log lines, then new ones as they are written, until the run ends."""
    run_id = run if isinstance(run, str) else run.id
    path = f"/api/v1/runs/{run_id}/logs/stream"
    async with stream("GET", path, params=_params(level, attempt)) as response:
        async for event in server_sent_events(response):
            if event.event == "end":
                return
            if event.event == "log" and event.has_data:
                yield LogLineBody.model_validate(event.data)
