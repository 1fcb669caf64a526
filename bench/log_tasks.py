"""Tasks for ``bench/logs.py``: the same run with and without 1,000 log lines."""

from __future__ import annotations

from typing import Any

from durableruns import logger, task


@task(id="bench-logs-quiet")
async def quiet(payload: dict[str, Any]) -> int:
    """Does nothing: the baseline."""
    return 0


@task(id="bench-logs-chatty")
async def chatty(payload: dict[str, Any]) -> int:
    """Logs ``lines`` lines with an attribute each."""
    for i in range(payload["lines"]):
        logger.info(f"line {i} of the report", row=i)
    return payload["lines"]
