"""Tasks that write to their run's log, every way task code does."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

from durableruns import logger, task, wait


@task(id="chatty")
async def chatty(payload: dict[str, Any]) -> str:
    """A line each way, then (optionally) a pause to read the log live, then a wait."""
    logger.info("from the logger", amount=5)
    logging.getLogger("mytasks").warning("from logging")
    logging.getLogger("mytasks").info("info from logging")
    print("from print")
    print("to stderr", file=sys.stderr)
    await asyncio.sleep(payload.get("pause", 0))
    if payload.get("wait"):
        await wait.for_(seconds=payload["wait"])
        logger.error("after the wait")
    return "said"


@task(id="very-chatty")
async def very_chatty(payload: dict[str, Any]) -> int:
    """More lines than a run keeps."""
    for i in range(payload["lines"]):
        logger.debug(f"line {i}")
    return payload["lines"]


@task(id="fails-loudly", retry={"max_attempts": 1})
async def fails_loudly(payload: Any) -> None:
    """Fails in the user's own frame."""
    raise ValueError("boom")
