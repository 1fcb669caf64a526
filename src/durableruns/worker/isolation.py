"""Crash isolation, the worker's side: a pool of warm task processes, one attempt each.

Each attempt's code runs in a separate process (:mod:`.isolation_child`), so a task
killed by a signal (the OOM killer, a segfault, SIGKILL) ends its run CRASHED while the
worker lives on, and a canceled task that ignores the cancel is killed after a short
grace period. Processes come from ``multiprocessing``'s *forkserver*: a clean,
single-threaded server started once with the task modules preloaded, which forks each
task process. Forking the worker itself is unsafe (temporalio's Rust runtime threads);
``spawn`` is safe too but pays a full interpreter start and all imports per process.

A process that ended an attempt cleanly goes back to the pool for the next one; a
crashed, killed or out-of-memory one is replaced. The worker talks to each process over
a socket with asyncio streams, so the event loop never blocks on it.

As with any spawn/forkserver child, a task process re-runs the worker's main script as
``__mp_main__``: a script that starts a worker must guard its entry point with
``if __name__ == "__main__":`` (the ``durableruns`` CLI, pytest and the benches do).
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import logging
import multiprocessing
import os
import socket
import sys
from collections.abc import AsyncIterator, Coroutine, Sequence
from multiprocessing.context import ForkServerContext, SpawnContext
from pathlib import Path
from typing import Any

from durableruns.context import TaskContext
from durableruns.task_definitions import Task, TaskRegistry
from durableruns.worker import isolation_child as child
from durableruns.worker.isolation_protocol import AttemptSpec
from durableruns.worker.task_executor import Execution
from durableruns.worker.task_process import TaskProcess, TaskProcessError

ISOLATION_ENV = "DURABLERUNS_ISOLATION"
"""``0``/``false``/``off`` runs task code in the worker process (for debugging)."""
DEFAULT_MAX_IDLE = 16
IDLE_TRIM_S = 10.0
"""Idle processes beyond the warm ones are ended after this long unused: a burst's
processes do not outlive it (waiting runs hold none)."""
"""Idle processes kept after a burst: about the attempts a worker runs at once."""
FORK_SERVER_GUARD = "durableruns.worker.fork_server_guard"
"""Preloaded by the fork server only: it ignores SIGTERM/SIGINT meant for the worker."""
READY_TIMEOUT_S = 60.0
"""A new process imports the task modules before it is ready; more means it is stuck."""
logger = logging.getLogger(__name__)

__all__ = [  # the pool's API, with the process types it hands out
    "ISOLATION_ENV",
    "ProcessPool",
    "TaskProcess",
    "TaskProcessError",
    "attempt_spec",
    "can_isolate",
    "isolation_enabled",
    "task_modules",
]


def isolation_enabled(requested: bool | None = None) -> bool:
    """``requested`` if given, else the ``DURABLERUNS_ISOLATION`` switch (on by default)."""
    if requested is not None:
        return requested
    return os.environ.get(ISOLATION_ENV, "1").strip().lower() not in {"0", "false", "off", "no"}


def can_isolate(task: Task[Any, Any]) -> bool:
    """Whether a task process can find ``task``: defined at the top level of a module it
    can import (not inside a function, not in ``python -c``/a REPL)."""
    module = sys.modules.get(task.fn.__module__)
    if module is None or (task.fn.__module__ == "__main__" and not hasattr(module, "__file__")):
        return False
    return any(value is task for value in vars(module).values())


def task_modules(registry: TaskRegistry) -> list[str]:
    """The modules a task process should import up front to serve ``registry``."""
    return sorted({t.fn.__module__ for t in registry if can_isolate(t)} - {"__main__"})


def attempt_spec(
    task: Task[Any, Any],
    payload: Any,
    ctx: TaskContext,
    execution: Execution | None = None,
    *,
    replay_until: int = -1,
) -> AttemptSpec:
    """What a task process needs to run this execution of ``task``; ``replay_until`` is
    the last position the run's journal holds (see AttemptSpec)."""
    execution = execution or Execution()
    return AttemptSpec(
        module=task.fn.__module__,
        task_id=task.id,
        payload=payload,
        task=ctx.task,
        run=ctx.run,
        attempt=ctx.attempt,
        version=ctx.version,
        metadata=ctx.metadata.current(),
        continuation=execution.continuation,
        resumed_from=execution.resumed_from,
        max_attempts=execution.max_attempts,
        replay_until=replay_until,
    )


class ProcessPool:
    """Warm task processes for a worker.

    At least ``warm`` processes are kept alive (idle or running an attempt), so a
    steady flow of attempts reuses them and never waits for a start; a burst starts
    more on demand (one per concurrently running attempt), and up to ``max_idle`` of
    those stay for the next burst: an idle process costs ~3.5 MiB of private memory
    (the rest is shared with the fork server), a new one ~15-25 ms of a core. A process
    that crashed or was killed is replaced.

    Example::

        async with ProcessPool(preload=["activities"]) as pool:
            async with pool.process() as process:
                outcome = await process.run(spec, runtime)
    """

    def __init__(
        self, *, preload: Sequence[str] = (), warm: int = 2, max_idle: int = DEFAULT_MAX_IDLE
    ) -> None:
        self._preload = tuple(preload)
        self._warm = warm
        self._max_idle = max(warm, max_idle)
        self._idle: list[TaskProcess] = []
        self._busy = 0
        self._refilling: set[asyncio.Future[TaskProcess]] = set()
        self._chores: set[asyncio.Future[None]] = set()
        self._trim_timer: asyncio.TimerHandle | None = None
        self._closed = False
        self._uses_server = False
        self._context = _context(self._preload)

    async def __aenter__(self) -> ProcessPool:
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Start the fork server (once per worker process) and the warm processes; a
        setup that cannot start task processes fails here, not in the first run."""
        if self._context.get_start_method() == "forkserver" and not self._uses_server:
            self._uses_server = True
            await _ForkServer.acquire()
        self._refill()
        await asyncio.gather(*self._refilling)

    @contextlib.asynccontextmanager
    async def process(self) -> AsyncIterator[TaskProcess]:
        """A ready process for one attempt; back to the pool after, unless it died."""
        process = await self._take()
        self._busy += 1
        try:
            yield process
        finally:
            self._busy -= 1
            self._give_back(process)

    async def close(self) -> None:
        """End every idle process (an attempt still running keeps its own until done)."""
        self._closed = True
        if self._trim_timer is not None:
            self._trim_timer.cancel()
        await asyncio.gather(*self._refilling, return_exceptions=True)
        idle, self._idle = self._idle, []
        await asyncio.gather(*(p.shutdown() for p in idle))
        await asyncio.gather(*self._chores, return_exceptions=True)
        if self._uses_server:
            self._uses_server = False
            await _ForkServer.release()

    async def _take(self) -> TaskProcess:
        while self._idle:
            process = self._idle.pop()  # the most recently used: the warmest caches
            if process.alive:
                return process
            self._later(process.kill())
        starting = asyncio.ensure_future(self._spawn())
        try:
            # Shielded: a canceled attempt must not abandon a process halfway started.
            return await asyncio.shield(starting)
        except asyncio.CancelledError:
            starting.add_done_callback(self._arrived)
            raise

    def _give_back(self, process: TaskProcess) -> None:
        if not (process.reusable and process.alive):
            self._later(process.kill())
        elif self._closed or len(self._idle) >= self._max_idle:
            self._later(process.shutdown())
        else:
            process.idle_since = asyncio.get_running_loop().time()
            self._idle.append(process)
            self._schedule_trim()
        self._refill()

    def _schedule_trim(self) -> None:
        if self._trim_timer is None and not self._closed:
            loop = asyncio.get_running_loop()
            self._trim_timer = loop.call_later(IDLE_TRIM_S, self._trim)

    def _trim(self) -> None:
        """End the idle processes unused for IDLE_TRIM_S, keeping ``warm`` alive."""
        self._trim_timer = None
        now = asyncio.get_running_loop().time()
        spare = len(self._idle) + self._busy - self._warm
        stale = [p for p in self._idle if now - p.idle_since >= IDLE_TRIM_S]
        for process in stale[: max(0, spare)]:  # the least recently used first
            self._idle.remove(process)
            self._later(process.shutdown())
        if len(self._idle) + self._busy > self._warm:
            self._schedule_trim()

    def _refill(self) -> None:
        alive = len(self._idle) + self._busy + len(self._refilling)
        missing = 0 if self._closed else self._warm - alive
        for _ in range(missing):
            starting = asyncio.ensure_future(self._spawn())
            self._refilling.add(starting)
            starting.add_done_callback(self._arrived)

    def _arrived(self, starting: asyncio.Future[TaskProcess]) -> None:
        self._refilling.discard(starting)
        if starting.cancelled() or starting.exception() is not None:
            return  # the attempt that needs a process starts one and reports why
        process = starting.result()
        if self._closed or len(self._idle) >= self._max_idle:
            self._later(process.shutdown())
        else:
            process.idle_since = asyncio.get_running_loop().time()
            self._idle.append(process)
            self._schedule_trim()

    async def _spawn(self) -> TaskProcess:
        ours, theirs = socket.socketpair()
        process = self._context.Process(
            target=child.serve, args=(theirs, self._preload), name="durableruns-task"
        )
        try:
            await asyncio.to_thread(process.start)
        except Exception as exc:
            ours.close()
            raise TaskProcessError(f"A task process could not be started: {exc}") from exc
        finally:
            theirs.close()  # the child has its copy; ours must see EOF when it dies
        reader, writer = await asyncio.open_unix_connection(sock=ours)
        started = TaskProcess(process, reader, writer)
        await started.wait_ready(READY_TIMEOUT_S)
        return started

    def _later(self, chore: Coroutine[Any, Any, None]) -> None:
        future = asyncio.ensure_future(chore)
        self._chores.add(future)
        future.add_done_callback(self._chores.discard)


def _context(preload: tuple[str, ...]) -> ForkServerContext | SpawnContext:
    """The forkserver context with the task modules preloaded where available, else spawn."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # Only the first pool's list counts (one fork server per worker process); modules
    # it lacks are imported by each task process as it starts.
    # The guard first: from then on the fork server ignores the stop signals a service
    # manager sends to the worker's whole group (worker/fork_server_guard.py).
    context.set_forkserver_preload(
        [FORK_SERVER_GUARD, "__main__", child.__name__, *_main_script_imports(), *preload]
    )
    return context


def _main_script_imports() -> list[str]:
    """The modules the main script imports at its top level.

    Like every spawn/forkserver child, a task process re-runs the main script (as
    ``__mp_main__``; guarded code does not run), and Python 3.11's fork server does not
    preload it (its ``__main__`` preload never receives the path). Preloading what the
    script imports makes that re-run cheap (~10 ms instead of ~0.4 s for the CLI); it
    imports nothing the task process would not import anyway.
    """
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    try:
        tree = ast.parse(Path(path).read_bytes()) if path else None
    except (OSError, SyntaxError, ValueError):
        tree = None
    names: list[str] = []
    for node in tree.body if tree else []:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return [name for name in names if name != "__future__"]


class _ForkServer:
    """The pools of this worker process sharing multiprocessing's fork server.

    The last pool to close stops the fork server (and the resource tracker, when it
    started them), so a stopped worker leaves no helper process behind: ``durableruns
    dev`` stopping must stop its whole process tree.
    """

    users = 0
    stop_server = False
    stop_tracker = False

    @classmethod
    async def acquire(cls) -> None:
        from multiprocessing import forkserver, resource_tracker

        if cls.users == 0:
            cls.stop_server = _private(forkserver, "_forkserver", "_forkserver_pid") is None
            cls.stop_tracker = _private(resource_tracker, "_resource_tracker", "_pid") is None
        cls.users += 1
        await asyncio.to_thread(forkserver.ensure_running)

    @classmethod
    async def release(cls) -> None:
        from multiprocessing import forkserver, resource_tracker

        cls.users -= 1
        if cls.users:
            return
        helpers = [
            getattr(module, name)
            for module, name, ours in (
                (forkserver, "_forkserver", cls.stop_server),
                (resource_tracker, "_resource_tracker", cls.stop_tracker),
            )
            if ours and hasattr(getattr(module, name, None), "_stop")
        ]
        for helper in helpers:
            # _stop closes our end of its pipe and reaps it; it exits once every task
            # process is gone too (they all are by now). Bounded, in case one lingers.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.to_thread(helper._stop), 5.0)


def _private(module: Any, singleton: str, attribute: str) -> Any:
    # multiprocessing keeps these helpers as private singletons; read leniently.
    return getattr(getattr(module, singleton, None), attribute, None)
