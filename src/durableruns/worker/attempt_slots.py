"""The attempt slots of one task at a worker's version, shared by the two ways an
execution reaches the worker.

``max_concurrent_attempts`` bounds the executions of a task's code a worker runs from
its queue ``task/<id>@<version>``. Executions offered on the runs queue (eager activity
dispatch, ``RunWorkflow._offered_outcome``) arrive at the runs worker instead; if they
had slots of their own, a worker would run up to twice the bound, and runs waiting in
the task queue's backlog would no longer start in their priority order. So the task
queue's worker takes its slots from this supplier (a temporalio custom slot supplier),
and an offered execution takes one too, without waiting: none free, and it is refused
and goes to the task's queue, where it waits its turn by priority.

A worker reserves slots before it polls (temporalio's core holds one more than its
polls while idle), so with a bound of 3 or less the idle queue holds them all and every
offer is refused: one more activity per execution (an action and three history events),
the price of keeping the bound exact. Larger bounds (the default is 100) leave free
slots, and an idle or busy worker takes offers until its bound is reached.
"""

from __future__ import annotations

import asyncio
import threading

from temporalio.worker import (
    CustomSlotSupplier,
    SlotMarkUsedContext,
    SlotPermit,
    SlotReleaseContext,
    SlotReserveContext,
)


class AttemptSlots(CustomSlotSupplier):
    """``capacity`` slots for one task's executions in this worker (thread-safe: the
    SDK's core releases slots from its own threads)."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._used = 0
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def take(self) -> bool:
        """A slot now, if one is free (an offered execution)."""
        with self._lock:
            if self._used >= self._capacity:
                return False
            self._used += 1
            return True

    def give_back(self) -> None:
        """Free a slot taken by :meth:`take` or reserved by the task queue's worker."""
        with self._lock:
            self._used -= 1
            waiters, self._waiters = self._waiters, []
        for loop, waiter in waiters:
            loop.call_soon_threadsafe(_wake, waiter)

    async def reserve_slot(self, ctx: SlotReserveContext) -> SlotPermit:
        """A slot for the task queue's worker to poll with: waits until one is free."""
        loop = asyncio.get_running_loop()
        while True:
            with self._lock:
                if self._used < self._capacity:
                    self._used += 1
                    return SlotPermit()
                waiter: asyncio.Future[None] = loop.create_future()
                self._waiters.append((loop, waiter))
            await waiter

    def try_reserve_slot(self, ctx: SlotReserveContext) -> SlotPermit | None:
        """A slot now, if one is free (the SDK's eager tasks)."""
        return SlotPermit() if self.take() else None

    def mark_slot_used(self, ctx: SlotMarkUsedContext) -> None:
        """Nothing to do: a reserved slot counts as taken."""
        return None

    def release_slot(self, ctx: SlotReleaseContext) -> None:
        """The worker's slot is free again (called from the SDK's threads)."""
        self.give_back()


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
