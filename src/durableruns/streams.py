"""Streams from task code: ``await ctx.stream("llm", tokens)`` (or
``await streams.pipe("llm", tokens)``) sends the chunks of an iterable to the run's
stream ``llm``, live, in order, and durably: they are kept in Temporal with the run, so
a reader that joins late or reconnects gets every chunk from the start or from an
offset, also after the run finished, with no worker running.

Each chunk is a JSON value (a string is typical), at offsets 0, 1, 2 … of its key. The
call returns when the iterable ends, after the stream's end marker reached the run.
A run keeps at most 10,000 chunks and 4 MiB across its streams (one chunk at most
256 KiB); past that a stream is cut with a final marker and later chunks are dropped —
the code goes on, the run never fails because of its streams. After a wait, the code
re-running to its wait does not send again what it sent before.

Read a stream with ``runs.subscribe_to_stream(run, "llm")`` (Python),
``runs.subscribeToRun(id).withStreams()`` / ``streams.read(id, "llm")`` (the official
Trigger.dev client) or ``GET /realtime/v1/streams/{runId}/{key}`` (server-sent events).

Input streams — data sent *into* a running run — are ``streams.input(id, model=…)``
(:mod:`durableruns.input_streams`).

Example::

    from durableruns import TaskContext, task

    @task(id="chat")
    async def chat(payload: dict, ctx: TaskContext) -> None:
        await ctx.stream("llm", model.generate(payload["prompt"]))
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from typing import Any

from durableruns.context import require_runtime
from durableruns.input_streams import InputStream as InputStream
from durableruns.input_streams import InputStreamResult as InputStreamResult
from durableruns.input_streams import InputSubscription as InputSubscription
from durableruns.input_streams import input as input


async def pipe(key: str, chunks: AsyncIterable[Any] | Iterable[Any]) -> int:
    """``ctx.stream`` for code that has no ``ctx`` at hand (the running task's)."""
    ctx, _ = require_runtime("streams.pipe")
    return await ctx.stream(key, chunks)
