"""``too-slow``: runs past its 2-second max duration and ends TIMED_OUT."""

import asyncio

from durableruns import task


@task(id="too-slow", max_duration=2)
async def too_slow(payload: object) -> None:
    """Sleeps 30 seconds; the run times out after 2."""
    await asyncio.sleep(30)
