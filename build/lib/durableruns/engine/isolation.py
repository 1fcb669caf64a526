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
import atexit
import contextlib
import logging
import multiprocessing
import os
import pickle
import signal
import socket
import sys
import weakref
from collections.abc import AsyncIterator, Coroutine, Sequence
from multiprocessing.context import ForkServerContext, SpawnContext
from pathlib import Path
from typing import Any, Protocol

from durableruns.context import TaskContext, TaskRuntime
from durableruns.engine import isolation_child as child
from durableruns.engine.isolation_child import (
    AttemptSpec,
    CancelAttempt,
    CancelRuntimeCall,
    Failed,
    Finished,
    MetadataChanged,
    Outcome,
    Ready,
    RemoteError,
    RuntimeCall,
    RuntimeReply,
    StartAttempt,
)
from durableruns.errors import DurableRunsError
from durableruns.models import RunError
from durableruns.task_definitions import Task, TaskRegistry

ISOLATION_ENV = "DURABLERUNS_ISOLATION"
"""``0``/``false``/``off`` runs task code in the worker process (for debugging)."""
CANCEL_GRACE_S = 1.0
"""How long canceled (or timed-out) code may take to stop before its process is killed."""
DEFAULT_MAX_IDLE = 16
"""Idle processes kept after a burst: about the attempts a worker runs at once."""
READY_TIMEOUT_S = 60.0
"""A new process imports the task modules before it is ready; more means it is stuck."""
logger = logging.getLogger(__name__)
_RUNTIME_METHODS = frozenset({"trigger", "wait_for_runs", "wait_until"})


class TaskProcessError(DurableRunsError):
    """A task process could not be started (the attempt ends SYSTEM_FAILURE)."""


class ParentRuntime(TaskRuntime, Protocol):
    """What a task process's calls are served by: the attempt's runtime."""

    def metadata_changed(self, metadata: dict[str, Any]) -> None:
        """Remember the latest metadata for the next flush."""
        ...


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


def attempt_spec(task: Task[Any, Any], payload: Any, ctx: TaskContext) -> AttemptSpec:
    """What a task process needs to run this attempt of ``task``."""
    return AttemptSpec(
        module=task.fn.__module__,
        task_id=task.id,
        payload=payload,
        task=ctx.task,
        run=ctx.run,
        attempt=ctx.attempt,
        version=ctx.version,
        metadata=ctx.metadata.current(),
    )


class TaskProcess:
    """One live task process and the worker's end of its socket."""

    def __init__(
        self,
        process: multiprocessing.process.BaseProcess,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self._process = process
        self._writer = writer
        self._inbox: asyncio.Queue[object | None] = asyncio.Queue()
        self._pump = asyncio.ensure_future(self._read_forever(reader))
        self._exited: asyncio.Future[None] | None = None
        self.pid = process.pid or 0
        self.reusable = True
        """False once the process must not run another attempt."""
        _LIVE.add(self)

    @property
    def alive(self) -> bool:
        """Not known to be dead (checked before an idle process is reused)."""
        return not self._pump.done() and self._process.exitcode is None

    async def wait_ready(self, timeout: float) -> None:
        """Wait for the process's Ready (it imports the task modules first)."""
        try:
            async with asyncio.timeout(timeout):
                message = await self._inbox.get()
        except TimeoutError:
            message = None
        if not isinstance(message, Ready):
            death = await self._death()
            await self.kill()
            raise TaskProcessError(f"A task process did not start: {death.message}")

    async def run(self, spec: AttemptSpec, runtime: ParentRuntime) -> Outcome:
        """Run one attempt: serve the task's runtime calls and metadata until it ends.

        If the caller is canceled (the attempt was canceled, or hit its max duration),
        the code is asked to stop and killed after :data:`CANCEL_GRACE_S`.
        """
        calls: dict[int, asyncio.Task[None]] = {}
        self._send(StartAttempt(spec))
        try:
            while True:
                message = await self._inbox.get()
                if message is None:
                    self.reusable = False
                    return Failed("crash", await self._death())
                if isinstance(message, Finished):
                    return self._finished(message.outcome)
                if isinstance(message, RuntimeCall):
                    calls[message.call_id] = asyncio.create_task(self._serve(runtime, message))
                elif isinstance(message, CancelRuntimeCall):
                    if (call := calls.pop(message.call_id, None)) is not None:
                        call.cancel()
                elif isinstance(message, MetadataChanged):
                    runtime.metadata_changed(message.metadata)
        except asyncio.CancelledError:
            await self._stop(runtime)
            raise
        finally:
            for call in calls.values():
                call.cancel()

    def _finished(self, outcome: Outcome) -> Outcome:
        if isinstance(outcome, Failed) and outcome.kind == "oom":
            # Its heap (and any rlimit the code set) is suspect: never reuse it.
            self.reusable = False
            what = outcome.error.message or outcome.error.name
            error = outcome.error.model_copy(
                update={
                    "name": "TaskProcessOutOfMemory",
                    "message": f"The task's process ran out of memory ({what})",
                }
            )
            return Failed("crash", error)
        return outcome

    async def _serve(self, runtime: ParentRuntime, call: RuntimeCall) -> None:
        try:
            if call.method not in _RUNTIME_METHODS:
                raise AttributeError(f"The task runtime has no method {call.method!r}")
            value = await getattr(runtime, call.method)(*call.args, **call.kwargs)
        except Exception as exc:
            self._send(RuntimeReply(call.call_id, error=RemoteError.of(exc)))
        else:
            self._send(RuntimeReply(call.call_id, value=value))

    async def _stop(self, runtime: ParentRuntime) -> None:
        """Ask the code to stop; kill the process unless it has within the grace period.

        Only a process that answered (it is between attempts again) may be reused.
        """
        self._send(CancelAttempt())
        stopped = False
        try:
            async with asyncio.timeout(CANCEL_GRACE_S):
                while (message := await self._inbox.get()) is not None:
                    if isinstance(message, MetadataChanged):
                        runtime.metadata_changed(message.metadata)
                    elif isinstance(message, Finished):
                        self._finished(message.outcome)
                        stopped = True
                        return
        except TimeoutError:  # it ignored the cancel
            pass
        finally:  # also when canceled once more while waiting
            if not stopped:
                await asyncio.shield(self.kill())

    async def _death(self) -> RunError:
        """How the process ended, for the run's error: the signal or the exit code."""
        code = await self._exit_code(timeout=2.0)
        if code is None:
            detail = "closed its connection to the worker"
        elif code < 0:
            detail = f"was killed by {_signal_name(-code)}"
        else:
            detail = f"exited unexpectedly with code {code}"
        return RunError(
            name="TaskProcessCrashed",
            message=f"The task's process {detail}",
            stack_trace=f"pid {self.pid}, exit status {code}",
        )

    async def kill(self) -> None:
        """SIGKILL the process (if still running) and reap it."""
        self.reusable = False
        if self._process.exitcode is None:  # polled first: never signal a reused pid
            with contextlib.suppress(OSError):
                self._process.kill()
        await self._exit_code(timeout=5.0)
        self._close()

    async def shutdown(self) -> None:
        """End an idle process: closing its socket ends it; kill it if it lingers."""
        self.reusable = False
        self._close()
        if await self._exit_code(timeout=1.0) is None:
            await self.kill()

    def _close(self) -> None:
        self._writer.close()
        self._pump.cancel()
        _LIVE.discard(self)

    async def _exit_code(self, timeout: float) -> int | None:
        """The exit code (negative: the signal), waiting up to ``timeout`` for the exit."""
        if self._process.exitcode is None:
            if self._exited is None:
                self._exited = self._watch_exit()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._exited), timeout)
        return self._process.exitcode

    def _watch_exit(self) -> asyncio.Future[None]:
        # The sentinel turns readable when the process has exited (the fork server writes
        # its status there); one watcher per process, shared by every waiter.
        loop = asyncio.get_running_loop()
        exited: asyncio.Future[None] = loop.create_future()
        sentinel = self._process.sentinel

        def on_exit() -> None:
            loop.remove_reader(sentinel)
            if not exited.done():
                exited.set_result(None)

        loop.add_reader(sentinel, on_exit)
        return exited

    def _send(self, message: object) -> None:
        if not self._writer.is_closing():
            self._writer.write(child.encode(message))

    async def _read_forever(self, reader: asyncio.StreamReader) -> None:
        # One reader per process for its whole life: a frame is never left half-read by
        # a canceled waiter, and EOF is noticed even while the process is idle.
        try:
            while True:
                size = child.frame_size(await reader.readexactly(child.HEADER_SIZE))
                self._inbox.put_nowait(pickle.loads(await reader.readexactly(size)))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception:  # a message we cannot read: the process is of no further use
            logger.exception("Unreadable message from task process %s; killing it", self.pid)
            with contextlib.suppress(OSError):
                self._process.kill()
        finally:
            self._inbox.put_nowait(None)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


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
            self._idle.append(process)
        self._refill()

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
            self._idle.append(process)

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
    """forkserver with the task modules preloaded where available, else spawn."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # Only the first pool's list counts (one fork server per worker process); modules
    # it lacks are imported by each task process as it starts.
    context.set_forkserver_preload(["__main__", child.__name__, *_main_script_imports(), *preload])
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


_LIVE: weakref.WeakSet[TaskProcess] = weakref.WeakSet()


@atexit.register
def _kill_leftovers() -> None:
    # Registered after multiprocessing's own exit hook, so it runs first: that hook joins
    # every non-daemon child, and an idle task process only leaves when told to.
    for process in list(_LIVE):
        with contextlib.suppress(Exception):
            process._process.kill()
