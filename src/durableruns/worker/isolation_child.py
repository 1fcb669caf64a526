"""The task process side of crash isolation: what runs inside each pooled process.

A task process is started by :mod:`durableruns.worker.isolation` and serves one attempt
at a time over a socket to the worker (:mod:`.isolation_protocol`): it finds the task
by module and id, builds the attempt's :class:`~durableruns.context.TaskContext` (its
``ctx.runtime`` forwards every call to the worker's real runtime, its ``ctx.metadata``
reports every change) and runs the task's code through the shared executor
(:mod:`.task_executor`). It imports nothing of temporalio: Temporal lives in the worker.

A reader thread owns the receiving side for the life of the process, so a worker that
closes the socket (or dies) ends the process at once, even while the task's code is busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import queue
import signal
import socket
import sys
import threading
import traceback
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, cast

from durableruns.context import TaskContext, TaskRuntime
from durableruns.hooks import load_init_modules
from durableruns.logs import capture_task_output
from durableruns.metadata import RunMetadata
from durableruns.task_definitions import Task
from durableruns.worker.final_hooks import (
    FinalHooksSpec,
    HooksRan,
    hooks_context,
    run_final_hooks,
)
from durableruns.worker.isolation_protocol import (
    RUNTIME_METHODS,
    AttemptSpec,
    CancelAttempt,
    CancelRuntimeCall,
    Channel,
    Finished,
    HookEnded,
    LogLines,
    MetadataChanged,
    Ready,
    RuntimeCall,
    RuntimeReply,
    StartAttempt,
    StreamChunks,
)
from durableruns.worker.task_executor import (
    Cancelled,
    Execution,
    Failed,
    Outcome,
    describe_error,
    execute,
)

TASK_PROCESS_ENV = "DURABLERUNS_TASK_PROCESS"
"""Set (to the pid) inside task processes, so task code can tell it is isolated."""
PROTOCOL_ERROR_EXIT = 70
"""Exit status of a task process that received a message it could not read."""
_PROTOCOL_ERROR = object()


# --- the process's main loop -----------------------------------------------------------
def serve(sock: socket.socket, preload: tuple[str, ...]) -> None:
    """Entry point of a task process: import the task modules, then run attempts."""
    leave_stop_signals_to_the_worker(new_session=True)
    os.environ[TASK_PROCESS_ENV] = str(os.getpid())
    capture_task_output(task_process=True)
    for name in preload:
        with contextlib.suppress(Exception):  # reported by the attempt that needs it
            load_init_modules(name)  # the tasks package's global hooks, before its tasks
            importlib.import_module(name)
    channel = Channel(sock)
    starts: queue.SimpleQueue[tuple[AttemptSpec | FinalHooksSpec, _Mailbox]] = queue.SimpleQueue()
    reader = threading.Thread(
        target=_read_forever, args=(channel, starts), name="durableruns-inbox", daemon=True
    )
    reader.start()
    channel.send(Ready(pid=os.getpid()))
    while True:
        spec, mailbox = starts.get()
        if isinstance(spec, FinalHooksSpec):
            channel.send(Finished(asyncio.run(_final_hooks(spec, channel))))
            continue
        outcome = asyncio.run(_attempt(spec, mailbox, channel))
        channel.send(Finished(outcome))


def leave_stop_signals_to_the_worker(*, new_session: bool) -> None:
    """Ignore SIGTERM and SIGINT; with ``new_session``, leave the worker's session too.

    The worker decides when a task process stops (it drains, then closes the socket):
    a stop signal sent to the worker's whole process group (Ctrl-C on the dev stack,
    supervisord's ``stopasgroup``, honcho) or to every process of its cgroup (systemd's
    default ``KillMode=control-group``) must not turn a running attempt into a crash.
    A session of its own also keeps the terminal's job-control signals (Ctrl-Z, a
    closed terminal's SIGHUP) away from it. SIGKILL, the forced stop and the OOM
    killer's signal, still ends it, and its run CRASHED.
    """
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    if new_session:
        with contextlib.suppress(OSError):  # already a group leader: nothing to leave
            os.setsid()


def _read_forever(
    channel: Channel, starts: queue.SimpleQueue[tuple[AttemptSpec | FinalHooksSpec, _Mailbox]]
) -> None:
    """Route the worker's messages: a new attempt to the main thread, the rest to the
    attempt running now. The worker gone means we are done, whatever the code is doing."""
    mailbox: _Mailbox | None = None
    while True:
        try:
            message = channel.receive()
        except Exception:  # a broken protocol: better a reported crash than a hang
            traceback.print_exc()
            message = _PROTOCOL_ERROR
        if message is None or message is _PROTOCOL_ERROR:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            os._exit(0 if message is None else PROTOCOL_ERROR_EXIT)
        if isinstance(message, StartAttempt):
            mailbox = _Mailbox()
            starts.put((message.spec, mailbox))
        elif mailbox is not None:
            mailbox.deliver(message)


class _Mailbox:
    """Messages for one attempt, handed to its event loop once it runs (a cancel may
    arrive before the loop exists) and dropped after it ended."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._early: list[object] = []
        self._deliver: Callable[[object], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def attach(self, loop: asyncio.AbstractEventLoop, handler: Callable[[object], None]) -> None:
        with self._lock:
            self._loop, self._deliver = loop, handler
            early, self._early = self._early, []
        for message in early:
            loop.call_soon(handler, message)

    def deliver(self, message: object) -> None:
        with self._lock:
            if self._closed:
                return
            if self._loop is None or self._deliver is None:
                self._early.append(message)
            else:
                self._loop.call_soon_threadsafe(self._deliver, message)

    def close(self) -> None:
        with self._lock:
            self._closed = True


class RuntimeProxy:
    """``ctx.runtime`` in a task process: each call is answered by the worker's runtime
    (trigger_and_wait, wait.for_ … are Updates on the run workflow, made there)."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel
        self._calls: dict[int, asyncio.Future[Any]] = {}
        self._next_id = 0
        self.replaying = False
        """Whether the code is still replaying its recorded calls (set from the spec,
        then from each reply: the worker's runtime counts the positions)."""

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        """Every async method of the TaskRuntime protocol, answered by the worker's
        runtime: generated from the protocol, so no method is named twice."""
        if name not in RUNTIME_METHODS:
            raise AttributeError(f"The task runtime has no method {name!r}")

        async def remote(*args: Any, **kwargs: Any) -> Any:
            return await self._call(name, *args, **kwargs)

        return remote

    def stream_chunks(self, key: str, chunks: Iterable[Any]) -> None:
        """Send chunks of stream ``key`` (buffered by the worker's runtime)."""
        self._channel.send(StreamChunks(key, tuple(chunks)))

    def answer(self, reply: RuntimeReply) -> None:
        """Resolve the call ``reply`` answers (unless the code stopped waiting for it)."""
        if reply.replaying is not None:
            self.replaying = reply.replaying
        future = self._calls.get(reply.call_id)
        if future is None or future.done():
            return
        if reply.error is not None:
            future.set_exception(reply.error.rebuilt())
        else:
            future.set_result(reply.value)

    async def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        call_id, self._next_id = self._next_id, self._next_id + 1
        future = asyncio.get_running_loop().create_future()
        self._calls[call_id] = future
        self._channel.send(RuntimeCall(call_id, method, args, kwargs))
        try:
            return await future
        except asyncio.CancelledError:
            self._channel.send(CancelRuntimeCall(call_id))
            raise
        finally:
            del self._calls[call_id]


# --- one attempt -----------------------------------------------------------------------
async def _attempt(spec: AttemptSpec, mailbox: _Mailbox, channel: Channel) -> Outcome:
    """Run the task's code once; every way it can end becomes an :data:`Outcome`."""
    main = asyncio.current_task()
    assert main is not None
    runtime = RuntimeProxy(channel)
    canceled = False
    execution = Execution(
        continuation=spec.continuation,
        resumed_from=spec.resumed_from,
        max_attempts=spec.max_attempts,
    )

    def handle(message: object) -> None:
        nonlocal canceled
        if isinstance(message, RuntimeReply):
            runtime.answer(message)
        elif isinstance(message, CancelAttempt) and not canceled:
            canceled = True
            if message.waits:  # a suspension: its on_wait hooks run before the code stops
                execution.suspending = message.waits[0]
            main.cancel()

    mailbox.attach(asyncio.get_running_loop(), handle)
    try:
        return await _run(spec, runtime, channel, execution)
    except asyncio.CancelledError:
        if canceled:
            return Cancelled()
        raise
    finally:
        mailbox.close()


async def _run(
    spec: AttemptSpec, runtime: RuntimeProxy, channel: Channel, execution: Execution
) -> Outcome:
    try:
        task = find_task(spec.module, spec.task_id)
    except Exception as exc:
        return Failed("setup", describe_error(exc, name="TaskNotFound"))
    runtime.replaying = spec.replay_until >= 0
    ctx = TaskContext(
        task=spec.task,
        run=spec.run,
        attempt=spec.attempt,
        version=spec.version,
        metadata=RunMetadata(
            spec.metadata,
            lambda m: channel.send(MetadataChanged(m)),
            replaying=lambda: runtime.replaying,
        ),
        runtime=cast(TaskRuntime, runtime),  # RuntimeProxy serves the protocol's calls
        log=lambda line: channel.send(LogLines((line,))),
    )
    return await execute(task, spec.payload, ctx, execution)


async def _final_hooks(spec: FinalHooksSpec, channel: Channel) -> HooksRan | Failed:
    """Run a run's once-per-run hooks (``final_hooks``); their logs go to the run."""
    try:
        task = find_task(spec.module, spec.task_id)
    except Exception as exc:
        return Failed("setup", describe_error(exc, name="TaskNotFound"))
    ctx = hooks_context(spec, lambda line: channel.send(LogLines((line,))))
    return await run_final_hooks(task, spec, ctx, lambda key: channel.send(HookEnded(key)))


_TASKS: dict[tuple[str, str], Task[Any, Any]] = {}


def find_task(module_name: str, task_id: str) -> Task[Any, Any]:
    """The task ``task_id`` defined at the top level of ``module_name`` (imported once)."""
    key = (module_name, task_id)
    if key not in _TASKS:
        load_init_modules(module_name)
        module = importlib.import_module(module_name)
        found = [v for v in vars(module).values() if isinstance(v, Task) and v.id == task_id]
        if not found:
            raise LookupError(f"Module {module_name!r} defines no task {task_id!r}")
        _TASKS[key] = found[0]
    return _TASKS[key]
