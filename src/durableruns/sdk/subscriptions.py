"""Subscriptions that leave nothing behind at exit.

A subscription reads a streamed HTTP response through several async generators (ours,
and httpx's ``aiter_lines`` chain). Handed to the user as a plain async generator, one
left suspended (a ``break``, or simply ``asyncio.run`` returning right after the loop
ended) is finalised by ``loop.shutdown_asyncgens()``, which closes all of them *at
once*: the outer one's close reaches into an inner one that is being closed already,
and Python prints "Task exception was never retrieved … aclose(): asynchronous
generator is already running".

So the generators run inside one background task, which feeds a one-item queue, and the
user gets a :class:`Subscription`: an ordinary object, not a generator. Leaving it
(``break``, garbage collection, :meth:`Subscription.aclose`) cancels the task, whose
generators then unwind in order inside it; ``asyncio.run`` waits for that before it
finalises anything.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Generic, TypeVar

T = TypeVar("T")


class _End:
    """The source is exhausted."""


class Subscription(AsyncIterator[T], Generic[T]):
    """Items of an async generator that runs in its own task; see the module doc."""

    def __init__(self, source: AsyncGenerator[T, None]) -> None:
        self._source = source
        self._items: asyncio.Queue[T | BaseException | _End] | None = None
        self._task: asyncio.Task[None] | None = None
        self._done = False

    def __aiter__(self) -> Subscription[T]:
        return self

    async def __anext__(self) -> T:
        if self._done:
            raise StopAsyncIteration
        if self._task is None:
            self._items = asyncio.Queue(maxsize=1)
            self._task = asyncio.create_task(self._pump(self._items))
        assert self._items is not None
        item = await self._items.get()
        if isinstance(item, _End):
            self._done = True
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            self._done = True
            raise item
        return item

    async def _pump(self, items: asyncio.Queue[T | BaseException | _End]) -> None:
        try:
            async with contextlib.aclosing(self._source):
                async for item in self._source:
                    await items.put(item)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # handed to the reader, raised where it iterates
            await items.put(exc)
            return
        await items.put(_End())

    async def aclose(self) -> None:
        """Stop reading and close the stream (idempotent)."""
        self._done = True
        if self._task is None:
            await self._source.aclose()
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def __del__(self) -> None:
        task = self._task
        if task is not None and not task.done():
            with contextlib.suppress(RuntimeError):  # the loop is closed already
                task.cancel()
