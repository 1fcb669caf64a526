"""Input streams: data sent *into* a running run (Trigger.dev's ``streams.input``).

Define a stream once, in a module both the task and the sender import::

    from durableruns import streams

    approval = streams.input("approval", model=Approval)  # a pydantic model, or any type

Inside a task:

- ``await approval.wait(timeout="1h")`` **suspends** the run until a value arrives
  (WAITING: no slot, no process, like a wait token); returns an
  :class:`InputStreamResult` (``ok``, ``output``, ``unwrap()``);
- ``await approval.once(timeout=30)`` waits for the next value in the process;
- ``approval.on(handler)`` calls ``handler(value)`` for every value while the task's
  code runs (until ``.off()`` or the code ends), e.g. to stop a model call;
- ``await approval.peek()`` the stream's most recent value (or None), consuming nothing.

Anywhere (a backend, or task code sending to another run): ``await approval.send(run_id,
value)``; or the official client's ``streams.input({id}).send(runId, data)``, or
``POST /realtime/v1/streams/{runId}/input/{streamId}`` with ``{"data": …}``.

Delivery: each stream's values are numbered in the order the run received them; values
sent before anyone listens are kept (:mod:`durableruns.input_models` states the bounds:
1 MiB per value, 1,000 unconsumed values / 8 MiB per run), and each value is delivered
once, in order, to one consumer — a ``wait`` at its position (a resumed execution gets
the same value back), a ``once`` (recorded at its position too), or an ``on`` handler
(recorded just before the handler is called: a handler cut off by a worker's death or by
the run suspending is not called again for that value). Concurrent listeners on one
stream take turns. ``once`` and ``on`` poll the run (a Temporal query about every
0.2 s while listening); prefer ``wait`` for long pauses: it costs nothing while idle.

A value that does not fit the stream's ``model`` is refused by ``send`` from Python
(InvalidInputError, nothing is sent); other senders cannot know the model, so such a
value reaches the task's code as a pydantic ``ValidationError`` raised by ``wait`` /
``once`` (the value is consumed; the code may catch it), and an ``on`` handler is
skipped for it (logged). A handler that raises is logged and keeps listening.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from durableruns.context import TaskContext, current_context, require_runtime
from durableruns.durations import parse_duration
from durableruns.errors import InvalidInputError, WaitpointTimeoutError
from durableruns.input_models import InputResult, valid_stream_id

if TYPE_CHECKING:
    from durableruns.context import TaskRuntime

T = TypeVar("T")
log = logging.getLogger("durableruns.input_streams")
Timeout = str | float | timedelta | datetime
"""A duration (``"1h"``, seconds, a timedelta) or a moment."""


@dataclass(frozen=True)
class InputStreamResult(Generic[T]):
    """What ``wait`` / ``once`` give back: ``ok`` with the value, or (the timeout came
    first) not ok with ``error``; ``unwrap()`` returns the value or raises."""

    stream_id: str
    ok: bool
    output: T | None = None
    error: str | None = None

    def unwrap(self) -> T:
        """The value, or WaitpointTimeoutError when the timeout came first."""
        if not self.ok:
            raise WaitpointTimeoutError(f"input stream {self.stream_id!r}: {self.error}")
        return self.output  # type: ignore[return-value]


class InputSubscription:
    """What ``on`` returns: ``off()`` stops the handler (it also stops with the code)."""

    def __init__(self, task: asyncio.Task[None]) -> None:
        self._task = task

    def off(self) -> None:
        """Stop listening."""
        self._task.cancel()


_listeners: dict[int, set[asyncio.Task[None]]] = {}
"""The ``on`` handlers of each running execution (by its context), stopped when it ends."""


def stop_listeners(ctx: TaskContext) -> None:
    """Stop every ``on`` handler of ``ctx``'s execution (the task's code ended)."""
    for task in _listeners.pop(id(ctx), set()):
        task.cancel()


class InputStream(Generic[T]):
    """One input stream of runs (see the module docstring)."""

    def __init__(self, stream_id: str, model: type[T] | None = None) -> None:
        if not valid_stream_id(stream_id):
            raise InvalidInputError("id", "an input stream id is 1-128 letters, digits, '_' or '-'")
        self.id = stream_id
        self._adapter: TypeAdapter[T] | None = TypeAdapter(model) if model is not None else None

    def __repr__(self) -> str:
        return f"streams.input({self.id!r})"

    # --- inside a task ---------------------------------------------------------------------
    async def wait(
        self,
        *,
        timeout: Timeout | None = None,
        idempotency_key: str | None = None,
        tags: list[str] | str | None = None,
    ) -> InputStreamResult[T]:
        """Suspend the run until the stream's next value (or ``timeout``).

        ``idempotency_key`` and ``tags`` are accepted as Trigger.dev's: the wait is
        keyed by its position in the code already, so a retried or resumed attempt
        resumes the same wait (and gets the same value) without a key.
        """
        del idempotency_key, tags
        _, runtime = require_runtime(f"{self!r}.wait()")
        until = _deadline(timeout)
        return self._result(await runtime.input_wait(self.id, until))

    async def once(self, *, timeout: Timeout | None = None) -> InputStreamResult[T]:
        """The stream's next value, waiting in the process (at most ``timeout``)."""
        _, runtime = require_runtime(f"{self!r}.once()")
        until = _deadline(timeout)
        timeout_s = None if until is None else max(0.0, (until - _now()).total_seconds())
        return self._result(await runtime.input_once(self.id, timeout_s))

    def on(self, handler: Callable[[T], Any] | Callable[[T], Awaitable[Any]]) -> InputSubscription:
        """Call ``handler`` (sync or async) with every value while the code runs."""
        ctx, runtime = require_runtime(f"{self!r}.on()")
        task = asyncio.ensure_future(self._listen(runtime, handler))
        listeners = _listeners.setdefault(id(ctx), set())
        listeners.add(task)
        task.add_done_callback(listeners.discard)
        return InputSubscription(task)

    async def peek(self) -> T | None:
        """The stream's most recent value (or None), consuming nothing."""
        _, runtime = require_runtime(f"{self!r}.peek()")
        value = await runtime.input_peek(self.id)
        return None if value is None else self._parse(value)

    # --- anywhere ----------------------------------------------------------------------
    async def send(self, run_id: str, data: T | Any) -> None:
        """Send ``data`` to this stream of run ``run_id`` (from a backend over HTTP,
        from task code through the engine). InvalidInputError when ``data`` does not fit
        the stream's model; the facade's 4xx as ApiError subclasses otherwise."""
        value = self._plain(data)
        ctx = current_context()
        if ctx is not None and ctx.runtime is not None:
            await ctx.runtime.send_input(run_id, self.id, value)
            return
        from durableruns.sdk.input_streams import send_input

        await send_input(run_id, self.id, value)

    # --- helpers -----------------------------------------------------------------------
    async def _listen(
        self, runtime: TaskRuntime, handler: Callable[[T], Any] | Callable[[T], Awaitable[Any]]
    ) -> None:
        while True:
            value = await runtime.input_next(self.id)
            try:
                parsed = self._parse(value)
            except ValidationError as exc:
                log.warning(
                    "%r.on(): a value that does not fit the model is skipped: %s", self, exc
                )
                continue
            try:
                outcome = handler(parsed)
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:  # one failing call does not end the listening
                log.exception("%r.on(): the handler raised; it keeps listening", self)

    def _result(self, result: InputResult) -> InputStreamResult[T]:
        if not result.ok:
            when = result.timed_out_at.isoformat() if result.timed_out_at else "the timeout"
            return InputStreamResult(self.id, ok=False, error=f"timed out at {when}")
        return InputStreamResult(self.id, ok=True, output=self._parse(result.output))

    def _parse(self, value: Any) -> T:
        if self._adapter is None or value is None:
            return value  # type: ignore[no-any-return]
        return self._adapter.validate_python(value)

    def _plain(self, data: Any) -> Any:
        if self._adapter is not None and not isinstance(data, BaseModel):
            try:
                data = self._adapter.validate_python(data)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise InvalidInputError(
                    f"data{'.' + where if where else ''}", first["msg"]
                ) from exc
        if isinstance(data, BaseModel):
            return data.model_dump(mode="json")
        if self._adapter is not None:
            return self._adapter.dump_python(data, mode="json")
        return data


def input(stream_id: str, *, model: type[T] | None = None) -> InputStream[T]:
    """Define input stream ``stream_id`` (``[A-Za-z0-9_-]``, 1-128 characters), its
    values parsed into ``model`` (a pydantic model or any type pydantic validates)."""
    return InputStream(stream_id, model)


def _now() -> datetime:
    return datetime.now(UTC)


def _deadline(timeout: Timeout | None) -> datetime | None:
    if timeout is None:
        return None
    if isinstance(timeout, datetime):
        return timeout if timeout.tzinfo else timeout.replace(tzinfo=UTC)
    if isinstance(timeout, timedelta):
        return _now() + timeout
    return _now() + timedelta(seconds=parse_duration(timeout))
