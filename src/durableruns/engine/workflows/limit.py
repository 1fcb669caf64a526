"""The limit workflow: one concurrency limit, enforced across every worker and facade.

Temporal has no cap per workflow type or task queue (temporalio/temporal#7666), so each
limit (a named one, a task's inline ``task/<id>``, a legacy queue's ``queue/<name>``) is
one long-lived workflow, id ``durableruns-limit:<prefix>:<name>``, that keeps the total
pool *and* every key's pool. A grant checks both in one step of one workflow, so no race
between workers or facades can over-admit (nothing else ever grants a slot).

- Runs ask with the ``enqueue`` signal and get a ``slot_granted`` signal back; they
  ``release`` the slot when their execution ends or suspends (WAITING holds nothing),
  and ``release`` their place in line when canceled or expired while queued.
- Fair dispatch: pools with waiting runs take turns (round robin); within a pool,
  FIFO with ``priority`` seconds of head start. A key with 10,000 queued runs delays a
  key with one by at most one turn.
- Rate limit: at most ``limit`` grants in any sliding window of ``period`` (per pool
  when ``per_key``); the workflow sleeps until the window has room.
- Pause, overrides of the bounds and per-key overrides (with an expiry) are kept here,
  so they outlive workers, facades and deploys until reset.
- Slots of runs that ended without releasing (terminated from the Temporal UI) are
  found by a periodic check of the holders; a worker that dies mid-attempt is the run
  workflow's business (its attempt times out on its heartbeat, and the run releases).
- It continues as new before its history gets long, carrying its whole state.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from durableruns.engine.names import (
        CLOSED_RUNS_ACTIVITY,
        LIMIT_ENQUEUE_SIGNAL,
        LIMIT_RELEASE_SIGNAL,
        LIMIT_WORKFLOW,
        SLOT_GRANTED_SIGNAL,
    )
    from durableruns.limit_models import (
        KeyOverride,
        LimitCommand,
        LimitHolder,
        LimitRequest,
        LimitState,
        RateStart,
    )

RECONCILE_EVERY = timedelta(seconds=5)
"""How often holders are checked for runs that ended without releasing."""
CHECK_AT_MOST = 200
"""Holders checked per reconcile (the longest-unchecked first): bounded work per pass."""
MAX_HISTORY_EVENTS = 4_000
MIN_WAKE = timedelta(milliseconds=10)


@workflow.defn(name=LIMIT_WORKFLOW)
class LimitWorkflow:
    """Grants, takes back and reclaims the slots of one concurrency limit."""

    @workflow.init
    def __init__(self, state: LimitState) -> None:
        # Set before any handler runs: the first enqueue arrives with the start.
        self._state = state
        self._changed = False
        self._woke = False
        self._timer: asyncio.Task[None] | None = None
        self._timer_at: datetime | None = None
        self._reconciled_at: datetime | None = None

    @workflow.run
    async def run(self, state: LimitState) -> None:
        """Grant whenever something changed; reclaim lost slots periodically.

        One timer serves every wake-up (a reconcile, the rate window's next opening, a
        key override's expiry) and is re-armed only for an earlier one, so a busy limit
        starts about one timer per reconcile period, and an idle one none at all.
        """
        self._reconciled_at = workflow.now()
        while not self._history_is_long():
            self._changed = False
            await self._grant()
            self._arm(self._next_wake())
            await workflow.wait_condition(lambda: self._changed or self._woke)
            self._woke = False
            if workflow.now() - self._reconciled_at >= RECONCILE_EVERY:
                await self._reclaim()
                self._reconciled_at = workflow.now()
        if self._timer is not None:
            self._timer.cancel()
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(self._state)

    def _arm(self, after: timedelta | None) -> None:
        """Wake up ``after`` from now, unless the armed timer rings sooner."""
        if after is None:
            return
        at = workflow.now() + after
        if self._timer is not None and not self._timer.done():
            if self._timer_at is not None and self._timer_at <= at:
                return
            self._timer.cancel()
        self._timer_at = at
        self._timer = asyncio.create_task(self._ring(after))

    async def _ring(self, after: timedelta) -> None:
        try:
            await workflow.sleep(after)
        except asyncio.CancelledError:
            return
        self._woke = True

    @workflow.query
    def get(self) -> LimitState:
        """Bounds, overrides, holders and the line."""
        return self._state

    @workflow.signal(name=LIMIT_ENQUEUE_SIGNAL)
    def enqueue(self, request: LimitRequest) -> None:
        """A run wants a slot (a run already holding or waiting is not queued twice)."""
        state = self._state
        if request.spec != state.spec:
            state.spec = request.spec  # the newest declaration wins
        if request.run_id not in state.holders and all(
            w.run_id != request.run_id for w in state.waiting
        ):
            state.waiting.append(request)
        self._changed = True

    @workflow.signal(name=LIMIT_RELEASE_SIGNAL)
    def release(self, run_id: str) -> None:
        """A run gives its slot back, or leaves the line."""
        state = self._state
        state.holders.pop(run_id, None)
        state.waiting = [w for w in state.waiting if w.run_id != run_id]
        self._changed = True

    @workflow.update
    def manage(self, command: LimitCommand) -> LimitState:
        """Pause/resume, override or reset the bounds (or one key's bound)."""
        state, now = self._state, workflow.now()
        state.spec = command.spec
        if command.action == "pause":
            state.paused = True
        elif command.action == "resume":
            state.paused = False
        elif command.action == "override":
            if command.per_key is not None:
                state.per_key_override = command.per_key
            if command.total is not None:
                state.total_override = command.total
            state.overridden_at = now
        elif command.action == "reset":
            state.per_key_override = state.total_override = state.overridden_at = None
        elif command.action == "override_key" and command.concurrency_key is not None:
            state.key_overrides[command.concurrency_key] = KeyOverride(
                per_key=command.per_key or 0,
                expires_at=now + timedelta(seconds=command.ttl_s or 0),
                overridden_at=now,
            )
        elif command.action == "reset_key" and command.concurrency_key is not None:
            state.key_overrides.pop(command.concurrency_key, None)
        self._changed = True
        return state

    # --- granting ------------------------------------------------------------------
    async def _grant(self) -> None:
        """Pick the runs that may start now and tell them (all signals at once); wake
        the runs whose TTL passed in line, so they expire without a timer of their own."""
        now = workflow.now()
        expired = self._expire_waiting(now)
        granted = self._pick(now)
        if not granted and not expired:
            return

        async def notify(request: LimitRequest) -> None:
            try:
                await workflow.get_external_workflow_handle(request.run_id).signal(
                    SLOT_GRANTED_SIGNAL
                )
            except Exception:  # the run is gone: its slot is free again
                self._state.holders.pop(request.run_id, None)
                self._changed = True

        async def wake(request: LimitRequest) -> None:
            with contextlib.suppress(Exception):  # gone: nothing to wake
                await workflow.get_external_workflow_handle(request.run_id).signal(
                    SLOT_GRANTED_SIGNAL
                )

        await asyncio.gather(*(notify(r) for r in granted), *(wake(r) for r in expired))

    def _expire_waiting(self, now: datetime) -> list[LimitRequest]:
        """Take out of line the runs whose TTL passed (they expire when woken: a run
        checks its deadline after every ``slot_granted``)."""
        state = self._state
        expired = [w for w in state.waiting if w.expires_at is not None and w.expires_at <= now]
        if expired:
            gone = {w.run_id for w in expired}
            state.waiting = [w for w in state.waiting if w.run_id not in gone]
        return expired

    def _pick(self, now: datetime) -> list[LimitRequest]:
        """Grant slots: pools take turns, each its best-placed run, while the total
        bound, the pool's bound and the rate limit all have room."""
        state = self._state
        self._forget_expired(now)
        if state.paused or not state.waiting:
            return []
        lines: dict[str, list[LimitRequest]] = {}
        for request in state.waiting:
            lines.setdefault(request.pool, []).append(request)
        for line in lines.values():
            line.sort(key=lambda r: r.order, reverse=True)  # best last: pop()
        turns = deque([p for p in state.rotation if p in lines])
        turns.extend(p for p in lines if p not in turns)
        running: dict[str, int] = {}
        for holder in state.holders.values():
            running[holder.pool] = running.get(holder.pool, 0) + 1
        total, rate = state.total_bound, state.spec.rate_limit
        recent: dict[str, int] = {}
        for start in state.starts:
            recent[start.pool] = recent.get(start.pool, 0) + 1
        granted: list[LimitRequest] = []
        skipped: list[str] = []
        while turns:
            if total is not None and len(state.holders) >= total:
                break
            if rate is not None and not rate.per_key and len(state.starts) >= rate.limit:
                break
            pool = turns.popleft()
            bound = state.per_key_bound(pool, now)
            pool_full = bound is not None and running.get(pool, 0) >= bound
            rated = rate is not None and rate.per_key and recent.get(pool, 0) >= rate.limit
            if pool_full or rated:
                skipped.append(pool)  # keeps its turn for when it has room
                continue
            request = lines[pool].pop()
            state.holders[request.run_id] = LimitHolder(pool=pool, since=now)
            running[pool] = running.get(pool, 0) + 1
            if rate is not None:
                state.starts.append(RateStart(at=now, pool=pool))
                recent[pool] = recent.get(pool, 0) + 1
            granted.append(request)
            if lines[pool]:
                turns.append(pool)
        state.rotation = skipped + list(turns)
        if granted:
            taken = {r.run_id for r in granted}
            state.waiting = [w for w in state.waiting if w.run_id not in taken]
        return granted

    def _forget_expired(self, now: datetime) -> None:
        """Drop starts outside the rate window and per-key overrides past their expiry."""
        state = self._state
        rate = state.spec.rate_limit
        if rate is None:
            state.starts = []
        else:
            window_start = now - timedelta(seconds=rate.period_s)
            state.starts = [s for s in state.starts if s.at > window_start]
        expired = [k for k, o in state.key_overrides.items() if o.expires_at <= now]
        for key in expired:
            del state.key_overrides[key]

    def _next_wake(self) -> timedelta | None:
        """Until the next reconcile (while runs hold slots), the rate window's next
        opening (while runs wait), the next key override's expiry or the next TTL of a
        run in line; None when idle."""
        state, now = self._state, workflow.now()
        wakes: list[timedelta] = []
        if state.holders:
            reconciled = self._reconciled_at or now
            wakes.append(max(reconciled + RECONCILE_EVERY - now, MIN_WAKE))
        rate = state.spec.rate_limit
        if rate is not None and state.starts and state.waiting:
            opens = min(s.at for s in state.starts) + timedelta(seconds=rate.period_s)
            wakes.append(max(opens - now, MIN_WAKE))
        if state.key_overrides:
            expires = min(o.expires_at for o in state.key_overrides.values())
            wakes.append(max(expires - now, MIN_WAKE))
        deadlines = [w.expires_at for w in state.waiting if w.expires_at is not None]
        if deadlines:
            wakes.append(max(min(deadlines) - now, MIN_WAKE))
        return min(wakes, default=None)

    # --- reclaiming ----------------------------------------------------------------
    async def _reclaim(self) -> None:
        """Free the slots of holders whose run workflow is no longer running."""
        state, now = self._state, workflow.now()
        due = [
            (holder.checked_at or holder.since, run_id)
            for run_id, holder in state.holders.items()
            if now - (holder.checked_at or holder.since) >= RECONCILE_EVERY
        ]
        if not due:
            return
        batch = [run_id for _, run_id in sorted(due)[:CHECK_AT_MOST]]
        closed = await workflow.execute_local_activity(
            CLOSED_RUNS_ACTIVITY,
            batch,
            result_type=list[str],
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(maximum_attempts=2),
        )
        for run_id in batch:
            holder = state.holders.get(run_id)
            if holder is not None:
                holder.checked_at = workflow.now()
        for run_id in closed:
            if state.holders.pop(run_id, None) is not None:
                self._changed = True

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= MAX_HISTORY_EVENTS
        )
