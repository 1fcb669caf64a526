"""The task process side of crash isolation: what runs inside each pooled process.

A task process is started by :mod:`durableruns.engine.isolation` and serves one attempt
at a time over a socket to the worker: it finds the task by module and id, builds the
attempt's :class:`~durableruns.context.TaskContext` (its ``ctx.runtime`` forwards every
call to the worker's real runtime, its ``ctx.metadata`` reports every change), runs the
task's code and answers with plain JSON or a described failure. It imports nothing of
temporalio: Temporal lives in the worker only.

Messages are pickled dataclasses framed by an 8-byte length. A reader thread owns the
receiving side for the life of the process, so a worker that closes the socket (or dies)
ends the process at once, even while the task's code is busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import pickle
import queue
import signal
import socket
import struct
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

from pydantic import BaseModel, ValidationError

from durableruns.context import (
    AttemptInfo,
    RunInfo,
    TaskContext,
    TaskInfo,
    reset_current_context,
    set_current_context,
)
from durableruns.errors import AbortTaskRunError, InvalidInputError, OutsideTaskError
from durableruns.metadata import RunMetadata
from durableruns.models import ChildRunResult, ChildRunSpec, RunError, RunOptions
from durableruns.task_definitions import Task

TASK_PROCESS_ENV = "DURABLERUNS_TASK_PROCESS"
"""Set (to the pid) inside task processes, so task code can tell it is isolated."""

FailureKind = Literal["payload", "abort", "error", "output", "setup", "oom", "crash"]
"""Why an attempt failed, for the worker to classify: a payload that does not fit the
model, an abort (AbortTaskRunError and friends), any other error in the task's code, an
output that is not JSON, a task that cannot be found, memory exhausted, a dead process."""

PROTOCOL_ERROR_EXIT = 70
"""Exit status of a task process that received a message it could not read."""
_HEADER = struct.Struct("!Q")
_PROTOCOL_ERROR = object()


# --- messages ------------------------------------------------------------------------
@dataclass(frozen=True)
class AttemptSpec:
    """Everything a task process needs to run one attempt (all picklable, no runtime)."""

    module: str
    task_id: str
    payload: Any
    task: TaskInfo
    run: RunInfo
    attempt: AttemptInfo
    version: str
    metadata: dict[str, Any] | None


@dataclass(frozen=True)
class Ready:
    """Child → worker, once: the process is up and has imported the task modules."""

    pid: int


@dataclass(frozen=True)
class StartAttempt:
    """Worker → child: run this attempt."""

    spec: AttemptSpec


@dataclass(frozen=True)
class CancelAttempt:
    """Worker → child: the attempt was canceled (or timed out); stop the task's code."""


@dataclass(frozen=True)
class RuntimeCall:
    """Child → worker: call ``method`` of the attempt's runtime (trigger, waits)."""

    call_id: int
    method: Literal["trigger", "wait_for_runs", "wait_until"]
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CancelRuntimeCall:
    """Child → worker: the task's code stopped awaiting this call."""

    call_id: int


@dataclass(frozen=True)
class RuntimeReply:
    """Worker → child: a runtime call's value, or the error it raised."""

    call_id: int
    value: Any = None
    error: RemoteError | None = None


@dataclass(frozen=True)
class MetadataChanged:
    """Child → worker: the run's metadata after a change by the task's code."""

    metadata: dict[str, Any]


@dataclass(frozen=True)
class Completed:
    """The task's code returned; ``output`` is plain JSON."""

    output: Any


@dataclass(frozen=True)
class Failed:
    """The attempt failed; the worker decides the status from ``kind``."""

    kind: FailureKind
    error: RunError


@dataclass(frozen=True)
class Cancelled:
    """The task's code stopped after a :class:`CancelAttempt`."""


Outcome = Completed | Failed | Cancelled


@dataclass(frozen=True)
class Finished:
    """Child → worker: how the attempt ended; the process is free again."""

    outcome: Outcome


_ErrorState = tuple[type[BaseException], tuple[Any, ...], dict[str, Any]]
"""An exception's class, args and attributes."""


class RemoteError(Exception):
    """An error the worker's runtime raised for the task's code.

    It crosses as its class, args and attributes, so the task's code gets the same
    exception (an ``InvalidInputError`` stays one, and aborts the run as it would in
    the worker); when even that cannot be pickled, as this error with its name.
    """

    def __init__(self, name: str, message: str, state: _ErrorState | None) -> None:
        super().__init__(message)
        self.name = name
        self.state = state

    @classmethod
    def of(cls, exc: BaseException) -> RemoteError:
        """Describe ``exc`` so it can cross to the task process."""
        state: _ErrorState | None = (
            type(exc),
            exc.args,
            dict(vars(exc)),
        )
        try:
            pickle.loads(pickle.dumps(state))
        except Exception:
            state = None
        return cls(type(exc).__name__, str(exc), state)

    def __reduce__(self) -> tuple[Any, ...]:
        return (RemoteError, (self.name, str(self), self.state))

    def rebuilt(self) -> BaseException:
        """The original exception, rebuilt without calling its ``__init__`` (whose
        signature may not match its args), or this error if it could not cross."""
        if self.state is None:
            return self
        cls, args, attributes = self.state
        try:
            exc: BaseException = cls.__new__(cls)
            exc.args = args
            exc.__dict__.update(attributes)
        except Exception:
            return self
        return exc


# --- framing -------------------------------------------------------------------------
def encode(message: object) -> bytes:
    """One frame: length, then the pickled message."""
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(body)) + body


def frame_size(header: bytes) -> int:
    """The body length announced by a frame's header."""
    (size,) = _HEADER.unpack(header)
    return int(size)


HEADER_SIZE = _HEADER.size


class Channel:
    """The task process's blocking end of the socket; sends are thread-safe (a sync
    task's thread reports metadata while the event loop forwards runtime calls)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._send_lock = threading.Lock()

    def send(self, message: object) -> None:
        """Send one message, whole."""
        frame = encode(message)
        with self._send_lock:
            self._sock.sendall(frame)

    def receive(self) -> object | None:
        """The next message, or None once the worker closed its end."""
        header = self._read_exactly(HEADER_SIZE)
        body = self._read_exactly(frame_size(header)) if header is not None else None
        return pickle.loads(body) if body is not None else None

    def _read_exactly(self, size: int) -> bytes | None:
        chunks, remaining = [], size
        while remaining:
            chunk = self._sock.recv(min(remaining, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)


# --- the process's main loop -----------------------------------------------------------
def serve(sock: socket.socket, preload: tuple[str, ...]) -> None:
    """Entry point of a task process: import the task modules, then run attempts."""
    # The worker decides when we stop: Ctrl-C on the dev stack reaches the whole process
    # group, and must not turn a running attempt into a crash.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ[TASK_PROCESS_ENV] = str(os.getpid())
    for name in preload:
        with contextlib.suppress(Exception):  # reported by the attempt that needs it
            importlib.import_module(name)
    channel = Channel(sock)
    starts: queue.SimpleQueue[tuple[AttemptSpec, _Mailbox]] = queue.SimpleQueue()
    reader = threading.Thread(
        target=_read_forever, args=(channel, starts), name="durableruns-inbox", daemon=True
    )
    reader.start()
    channel.send(Ready(pid=os.getpid()))
    while True:
        spec, mailbox = starts.get()
        outcome = asyncio.run(_attempt(spec, mailbox, channel))
        channel.send(Finished(outcome))


def _read_forever(
    channel: Channel, starts: queue.SimpleQueue[tuple[AttemptSpec, _Mailbox]]
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

    async def trigger(self, task_id: str, payload: Any, options: RunOptions) -> tuple[str, bool]:
        """Trigger a run (not waited for); returns (run id, is_cached)."""
        return cast(tuple[str, bool], await self._call("trigger", task_id, payload, options))

    async def wait_for_runs(
        self, items: list[ChildRunSpec], *, batch: bool
    ) -> list[ChildRunResult]:
        """Start child runs and wait for all of them."""
        return cast(list[ChildRunResult], await self._call("wait_for_runs", items, batch=batch))

    async def wait_until(self, until: datetime) -> None:
        """A durable timer in the run."""
        await self._call("wait_until", until)

    def answer(self, reply: RuntimeReply) -> None:
        """Resolve the call ``reply`` answers (unless the code stopped waiting for it)."""
        future = self._calls.get(reply.call_id)
        if future is None or future.done():
            return
        if reply.error is not None:
            future.set_exception(reply.error.rebuilt())
        else:
            future.set_result(reply.value)

    async def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
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

    def handle(message: object) -> None:
        nonlocal canceled
        if isinstance(message, RuntimeReply):
            runtime.answer(message)
        elif isinstance(message, CancelAttempt) and not canceled:
            canceled = True
            main.cancel()

    mailbox.attach(asyncio.get_running_loop(), handle)
    try:
        return await _run(spec, runtime, channel)
    except asyncio.CancelledError:
        if canceled:
            return Cancelled()
        raise
    finally:
        mailbox.close()


async def _run(spec: AttemptSpec, runtime: RuntimeProxy, channel: Channel) -> Outcome:
    try:
        task = find_task(spec.module, spec.task_id)
    except Exception as exc:
        return Failed("setup", describe_error(exc, name="TaskNotFound"))
    try:
        payload = (
            task.payload_model.model_validate(spec.payload) if task.payload_model else spec.payload
        )
    except ValidationError as exc:
        return Failed("payload", describe_error(exc, name="PayloadValidationError"))
    ctx = TaskContext(
        task=spec.task,
        run=spec.run,
        attempt=spec.attempt,
        version=spec.version,
        metadata=RunMetadata(spec.metadata, lambda m: channel.send(MetadataChanged(m))),
        runtime=runtime,
    )
    args = (payload, ctx) if task.wants_context else (payload,)
    token = set_current_context(ctx)
    try:
        if task.is_async:
            output = await task.fn(*args)
        else:
            output = await asyncio.to_thread(task.fn, *args)
    except MemoryError as exc:
        # Free what the code held (its frames) before describing it: we need the memory.
        traceback.clear_frames(exc.__traceback__)
        return Failed("oom", describe_error(exc))
    except (AbortTaskRunError, InvalidInputError, OutsideTaskError) as exc:
        return Failed("abort", describe_error(exc))
    except Exception as exc:
        return Failed("error", describe_error(exc))
    finally:
        reset_current_context(token)
    return plain_output(output)


_TASKS: dict[tuple[str, str], Task[Any, Any]] = {}


def find_task(module_name: str, task_id: str) -> Task[Any, Any]:
    """The task ``task_id`` defined at the top level of ``module_name`` (imported once)."""
    key = (module_name, task_id)
    if key not in _TASKS:
        module = importlib.import_module(module_name)
        found = [v for v in vars(module).values() if isinstance(v, Task) and v.id == task_id]
        if not found:
            raise LookupError(f"Module {module_name!r} defines no task {task_id!r}")
        _TASKS[key] = found[0]
    return _TASKS[key]


def plain_output(output: Any) -> Completed | Failed:
    """The output as plain JSON, or an ``output`` failure naming why it is not."""
    try:
        if isinstance(output, BaseModel):
            return Completed(output.model_dump(mode="json"))
        return Completed(json.loads(json.dumps(output, allow_nan=False)))
    except (TypeError, ValueError) as exc:
        return Failed("output", describe_error(exc))


def describe_error(exc: BaseException, *, name: str | None = None) -> RunError:
    """An exception as users see it: name, message and the formatted traceback."""
    if isinstance(exc, RemoteError):
        name = name or exc.name
    return RunError(
        name=name or type(exc).__name__,
        message=str(exc),
        stack_trace="".join(traceback.format_exception(exc)),
    )
