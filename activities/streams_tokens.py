"""``streams-tokens``: streams ``count`` chunks (``"token-0"`` … ``"token-199"`` by
default) to the run's stream ``llm``, as a model streams tokens, with a short pause
every ``pause_every`` chunks; returns how many it sent.

Read it live with ``runs.subscribe_to_stream(handle, "llm")``, the official client's
``streams.read(runId, "llm")``, or ``GET /realtime/v1/streams/{runId}/llm``.
"""

import asyncio
from collections.abc import AsyncIterator

from pydantic import BaseModel

from durableruns import TaskContext, task


class Tokens(BaseModel):
    count: int = 200
    pause_every: int = 20
    pause_s: float = 0.02


async def _tokens(spec: Tokens) -> AsyncIterator[str]:
    for i in range(spec.count):
        if spec.pause_every and i and i % spec.pause_every == 0:
            await asyncio.sleep(spec.pause_s)
        yield f"token-{i}"


@task(id="streams-tokens")
async def streams_tokens(payload: Tokens, ctx: TaskContext) -> int:
    """Streams the tokens; the number sent."""
    return await ctx.stream("llm", _tokens(payload))
