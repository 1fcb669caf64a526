"""The wire between the worker and its task processes (crash isolation).

Messages are pickled dataclasses framed by an 8-byte length, over a socket pair: the
worker's side is :mod:`durableruns.worker.task_process`, the task process's side
:mod:`durableruns.worker.isolation_child`. An error the worker's runtime raises for the
task's code crosses as a :class:`RemoteError` that rebuilds the original exception.
"""

from __future__ import annotations

import inspect
import pickle
import socket
import struct
import threading
from dataclasses import dataclass, field
from typing import Any

from durableruns.context import AttemptInfo, RunInfo, TaskInfo, TaskRuntime
from durableruns.log_models import LogLine
from durableruns.models import WaitSpec
from durableruns.worker.final_hooks import FinalHooksSpec, HooksRan
from durableruns.worker.task_executor import Outcome

_HEADER = struct.Struct("!Q")
RUNTIME_METHODS: frozenset[str] = frozenset(
    name for name, member in vars(TaskRuntime).items() if inspect.iscoroutinefunction(member)
)
"""The runtime calls task code makes across the socket: every async method of the
:class:`~durableruns.context.TaskRuntime` protocol, read from it (a method added there is
served with no change here). ``stream_chunks``, the one synchronous member, is sent as
:class:`StreamChunks` messages instead (fire and forget)."""


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
    continuation: int = 0
    resumed_from: WaitSpec | None = None
    max_attempts: int | None = None
    replay_until: int = -1
    """The last position the run's journal holds (-1: none): until the code has made
    the call at it, it replays what an earlier execution did, and its metadata changes
    are skipped (``metadata`` holds them already)."""


@dataclass(frozen=True)
class Ready:
    """Child → worker, once: the process is up and has imported the task modules."""

    pid: int


@dataclass(frozen=True)
class StartAttempt:
    """Worker → child: run this attempt (or a run's once-per-run hooks)."""

    spec: AttemptSpec | FinalHooksSpec


@dataclass(frozen=True)
class CancelAttempt:
    """Worker → child: stop the task's code (the attempt was canceled, timed out, or
    suspends at ``waits``: its ``on_wait`` hooks run first)."""

    waits: tuple[WaitSpec, ...] = ()


@dataclass(frozen=True)
class RuntimeCall:
    """Child → worker: call ``method`` of the attempt's runtime (trigger, waits)."""

    call_id: int
    method: str
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
    replaying: bool | None = None
    """Whether the code is still replaying recorded calls once this one was served (the
    worker's runtime counts positions): the task process skips metadata changes while
    it is, as the worker does for code it runs itself."""


@dataclass(frozen=True)
class LogLines:
    """Child → worker: lines the task's code logged (or printed)."""

    lines: tuple[LogLine, ...]


@dataclass(frozen=True)
class StreamChunks:
    """Child → worker: chunks of a stream the task's code sends (``ctx.stream``)."""

    key: str
    chunks: tuple[Any, ...]


@dataclass(frozen=True)
class MetadataChanged:
    """Child → worker: the run's metadata after a change by the task's code."""

    metadata: dict[str, Any]


@dataclass(frozen=True)
class HookEnded:
    """Child → worker: a final hook ended (``on_success:0`` …), not to be run again."""

    key: str


@dataclass(frozen=True)
class Finished:
    """Child → worker: how the attempt (or the hooks) ended; the process is free again."""

    outcome: Outcome | HooksRan


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
        self.remote_name = name
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
        return (RemoteError, (self.remote_name, str(self), self.state))

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
