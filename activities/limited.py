"""``limited``: a task whose queue lets at most 2 runs execute at once, across workers."""

import asyncio

from pydantic import BaseModel

from durableruns import Queue, task

LIMITED = Queue(name="limited", concurrency_limit=2)


class Nap(BaseModel):
    seconds: float


@task(id="limited", queue=LIMITED)
async def limited(payload: Nap) -> dict[str, float]:
    """Sleeps; never more than two of these run at the same time."""
    await asyncio.sleep(payload.seconds)
    return {"slept": payload.seconds}
