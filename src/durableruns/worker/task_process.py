"""One live task process, from the worker's side of the socket (crash isolation).

The worker sends it an attempt, serves the runtime calls the task's code makes
(trigger, waits, steps) with the attempt's real runtime, passes metadata changes on,
and learns how the attempt ended — or how the process died (a signal, an exit code).
Asked to stop (a cancel, ``max_duration``, a suspension at a wait), the code gets
:data:`CANCEL_GRACE_S` to end before the process is killed. The pool of these
processes is :mod:`durableruns.worker.isolation`.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import multiprocessing
import pickle
import signal
import weakref
from collections.abc import Iterable
from typing import Any, Protocol

from durableruns.context import TaskRuntime
from durableruns.errors import (
    TaskProcessError as TaskProcessError,  # defined in errors.py (the one tree)
)
from durableruns.hooks import WAIT_HOOK_TIMEOUT_S
from durableruns.log_models import LogLine
from durableruns.models import RunError
from durableruns.worker import isolation_protocol as protocol
from durableruns.worker.final_hooks import FinalHooksSpec, HooksRan
from durableruns.worker.isolation_protocol import (
    RUNTIME_METHODS,
    AttemptSpec,
    CancelAttempt,
    CancelRuntimeCall,
    Finished,
    HookEnded,
    LogLines,
    MetadataChanged,
    Ready,
    RemoteError,
    RuntimeCall,
    RuntimeReply,
    StartAttempt,
    StreamChunks,
)
from durableruns.worker.task_executor import Failed, Outcome

CANCEL_GRACE_S = 1.0
"""How long stopped code may take to end before its process is killed."""
logger = logging.getLogger(__name__)


class ParentRuntime(TaskRuntime, Protocol):
    """What a task process's calls are served by: the attempt's runtime."""

    def metadata_changed(self, metadata: dict[str, Any]) -> None:
        """Remember the latest metadata for the next flush."""
        ...

    def log_lines(self, lines: Iterable[LogLine]) -> None:
        """Keep log lines for the next flush."""
        ...

    def replaying(self) -> bool:
        """Whether the code has not yet passed its last recorded call."""
        ...


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
        self.idle_since = 0.0
        """When it last went back to the pool (the pool's clock)."""
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

    async def run(
        self, spec: AttemptSpec | FinalHooksSpec, runtime: ParentRuntime
    ) -> Outcome | HooksRan:
        """Run one attempt (or a run's final hooks): serve the task's runtime calls and
        metadata until it ends.

        If the caller is canceled (the attempt was canceled, or hit its max duration),
        the code is asked to stop and killed after :data:`CANCEL_GRACE_S` (plus the
        ``on_wait`` hooks' bound when it stops to suspend).
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
                elif isinstance(message, LogLines):
                    runtime.log_lines(message.lines)
                elif isinstance(message, StreamChunks):
                    runtime.stream_chunks(message.key, message.chunks)
                elif isinstance(message, HookEnded):
                    hook_ended = getattr(runtime, "hook_ended", None)
                    if hook_ended is not None:
                        hook_ended(message.key)
        except asyncio.CancelledError:
            await self._stop(runtime)
            raise
        finally:
            for call in calls.values():
                call.cancel()

    def _finished(self, outcome: Outcome | HooksRan) -> Outcome | HooksRan:
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
            if call.method not in RUNTIME_METHODS:
                raise AttributeError(f"The task runtime has no method {call.method!r}")
            value = await getattr(runtime, call.method)(*call.args, **call.kwargs)
        except Exception as exc:
            error = RemoteError.of(exc)
            self._send(RuntimeReply(call.call_id, error=error, replaying=runtime.replaying()))
        else:
            self._send(RuntimeReply(call.call_id, value=value, replaying=runtime.replaying()))

    async def _stop(self, runtime: ParentRuntime) -> None:
        """Ask the code to stop; kill the process unless it has within the grace period.

        Only a process that answered (it is between attempts again) may be reused.
        """
        waits = tuple(getattr(runtime, "suspending_waits", ()))
        self._send(CancelAttempt(waits))
        stopped = False
        try:
            async with asyncio.timeout(CANCEL_GRACE_S + (WAIT_HOOK_TIMEOUT_S if waits else 0)):
                while (message := await self._inbox.get()) is not None:
                    if isinstance(message, MetadataChanged):
                        runtime.metadata_changed(message.metadata)
                    elif isinstance(message, LogLines):
                        runtime.log_lines(message.lines)
                    elif isinstance(message, StreamChunks):
                        runtime.stream_chunks(message.key, message.chunks)
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
            self._writer.write(protocol.encode(message))

    async def _read_forever(self, reader: asyncio.StreamReader) -> None:
        # One reader per process for its whole life: a frame is never left half-read by
        # a canceled waiter, and EOF is noticed even while the process is idle.
        try:
            while True:
                size = protocol.frame_size(await reader.readexactly(protocol.HEADER_SIZE))
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


_LIVE: weakref.WeakSet[TaskProcess] = weakref.WeakSet()


@atexit.register
def _kill_leftovers() -> None:
    # Registered after multiprocessing's own exit hook, so it runs first: that hook joins
    # every non-daemon child, and an idle task process only leaves when told to.
    for process in list(_LIVE):
        with contextlib.suppress(Exception):
            process._process.kill()
