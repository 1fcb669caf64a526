"""``sleepy``: sleeps for ``seconds``, for watching EXECUTING and for cancel."""

import asyncio

from pydantic import BaseModel

from durableruns import task


class Nap(BaseModel):
    seconds: float


@task(id="sleepy")
async def sleepy(payload: Nap) -> dict[str, float]:
    """Sleeps, then reports how long."""
    await asyncio.sleep(payload.seconds)
    return {"slept": payload.seconds}
