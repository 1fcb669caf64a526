"""Bounded waits on a condition, instead of sleeps: ``eventually`` for what must come
true, ``never`` for what must stay false."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    get: Callable[[], Awaitable[T]],
    ok: Callable[[T], bool],
    timeout: float = 15,
    interval: float = 0.05,
) -> T:
    """Poll ``get`` until ``ok`` holds; fail with the last value after ``timeout`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await get()
        if ok(value):
            return value
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        await asyncio.sleep(interval)


async def never(
    get: Callable[[], Awaitable[T]],
    bad: Callable[[T], bool],
    for_s: float = 1.0,
    interval: float = 0.05,
) -> T:
    """Poll ``get`` for ``for_s`` seconds and fail as soon as ``bad`` holds.

    Absence cannot be waited for, only watched: this asserts that something (a second
    run, a created record, a status change) does not appear during a bounded window,
    checking the whole window rather than a single moment after a sleep. Returns the
    last value seen."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + for_s
    while True:
        value = await get()
        if bad(value):
            raise AssertionError(f"condition appeared within {for_s}s: {value!r}")
        if loop.time() > deadline:
            return value
        await asyncio.sleep(interval)
