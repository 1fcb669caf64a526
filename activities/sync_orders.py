"""``sync-orders``: lifecycle hooks on a realistic task — a database connection opened
around every execution (``middleware`` and ``locals``), ``catch_error`` for a
rate-limited API (retry when its 429 says, never retry a 4xx), and an alert when the
run fails for good (``on_failure``, once per run).

The "API" is simulated from the payload so the example runs anywhere: ``rate_limited``
answers 429 with a ``Retry-After`` on the first attempt, ``status`` answers that status.
The database is SQLite, in ``database`` (a temporary file by default).
"""

from __future__ import annotations

import sqlite3
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from durableruns import TaskContext, locals, logger, task
from durableruns.models import RunError

DB: locals.Local[sqlite3.Connection] = locals.create("db")
DEFAULT_DATABASE = str(Path(tempfile.gettempdir()) / "durableruns-sync-orders.sqlite")


class SyncOrders(BaseModel):
    orders: list[str] = ["A-1", "A-2"]
    rate_limited: bool = False
    retry_after_s: float = 1.0
    status: int = 200
    database: str = DEFAULT_DATABASE


class Synced(BaseModel):
    saved: int
    attempt: int


class ApiError(Exception):
    """An HTTP error of the orders API, with its ``Retry-After`` when it sent one."""

    def __init__(self, status: int, retry_after_s: float | None = None) -> None:
        super().__init__(f"orders API answered {status}")
        self.status = status
        self.retry_after_s = retry_after_s


async def database(payload: SyncOrders, next: Any) -> None:
    """One connection per execution of the code, closed however the execution ends
    (also when it suspends at a wait: nothing stays open while the run waits)."""
    connection = locals.set(DB, sqlite3.connect(payload.database))
    try:
        await next()
    finally:
        connection.close()


def rate_limits(error: Exception, retry_at: datetime | None) -> dict[str, Any] | None:
    """Retry at the time a 429 names; a 4xx will fail the same way: do not retry."""
    if isinstance(error, ApiError):
        if error.status == 429 and error.retry_after_s is not None:
            return {"retry_at": datetime.now(UTC) + timedelta(seconds=error.retry_after_s)}
        if 400 <= error.status < 500:
            return {"skip_retrying": True}
    return None  # anything else: the task's retry settings


def alert(error: RunError, ctx: TaskContext) -> None:
    """Page someone (here: an ERROR line in the run's log), once per failed run."""
    logger.error(f"ALERT: {ctx.task.id} run {ctx.run.id} failed: {error.name}: {error.message}")


def _call_api(payload: SyncOrders, attempt: int) -> list[str]:
    if payload.rate_limited and attempt == 1:
        raise ApiError(429, retry_after_s=payload.retry_after_s)
    if payload.status >= 400:
        raise ApiError(payload.status)
    return payload.orders


@task(
    id="sync-orders",
    retry={"max_attempts": 3, "min_timeout_ms": 100},
    middleware=database,
    catch_error=rate_limits,
    on_failure=alert,
)
async def sync_orders(payload: SyncOrders, ctx: TaskContext) -> Synced:
    """Fetch the orders from the API and upsert them."""
    orders = _call_api(payload, ctx.attempt.number)
    db = locals.get_or_throw(DB)
    db.execute("create table if not exists orders (id text primary key, run text)")
    db.executemany("insert or replace into orders values (?, ?)", [(o, ctx.run.id) for o in orders])
    db.commit()
    return Synced(saved=len(orders), attempt=ctx.attempt.number)
