"""``step``: durable steps, the unit of work that does not re-run (``from durableruns
import step``).

An attempt that waits (``wait.for_``, ``trigger_and_wait`` …) suspends, and resumes by
running the task's function again from the top, with every earlier wait answered from
the run's record. Code outside steps therefore runs again on every resume; a step's
function does not: its result is recorded in the run (by position and name) the first
time, and returned from the record afterwards — on a resume and on a retried attempt.

Example::

    from durableruns import step, task, wait

    @task(id="checkout")
    async def checkout(payload: Order) -> dict:
        charge = await step.run("charge-card", charge_card, payload.card, payload.amount)
        await wait.for_(hours=1)          # the attempt suspends here and holds nothing
        await step.run("send-receipt", send_receipt, charge["id"])
        return charge

    @step("fetch-rates")                  # the decorator form (or plain @step: the
    async def fetch_rates(currency: str) -> Rates: ...   # function's name)

A step's result is stored as JSON; the value returned is the JSON value rebuilt to the
function's return annotation (a pydantic model, ``list[int]`` …), the same on the first
run as on a resume. A step that raises is not recorded: the error propagates, and a
retried attempt runs the step again.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import typing
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar, cast, overload

from pydantic import TypeAdapter

from durableruns.context import require_runtime
from durableruns.errors import InvalidInputError
from durableruns.results import to_plain_json

P = ParamSpec("P")
T = TypeVar("T")


class Step:
    """``step.run(name, fn, *args)`` and the ``@step`` / ``@step("name")`` decorator."""

    async def run(
        self, name: str, fn: Callable[..., Awaitable[T] | T], *args: Any, **kwargs: Any
    ) -> T:
        """Run ``fn(*args, **kwargs)`` once per run as the step ``name``; return its result.

        ``fn`` may be async or sync (a sync one runs in a thread). Raises
        InvalidInputError when the result is not JSON-serializable (it could not be
        recorded), ResumeMismatchError when the run recorded another call here.
        """
        if not name:
            raise InvalidInputError("step.run", "a step needs a non-empty name")
        _, runtime = require_runtime(f"step.run({name!r})")
        lookup = await runtime.begin_step(name)
        adapter = _result_adapter(fn)
        if lookup.recorded:
            return cast(T, adapter.validate_python(lookup.value) if adapter else lookup.value)
        if inspect.iscoroutinefunction(fn):
            result = await fn(*args, **kwargs)
        else:
            result = await asyncio.to_thread(fn, *args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
        plain = _plain(name, result, adapter)
        await runtime.end_step(lookup.position, name, plain)
        return cast(T, adapter.validate_python(plain) if adapter else plain)

    @overload
    def __call__(
        self, name: str, /
    ) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T]]]: ...

    @overload
    def __call__(self, fn: Callable[P, Awaitable[T]], /) -> Callable[P, Awaitable[T]]: ...

    def __call__(self, name_or_fn: Any, /) -> Any:
        """Decorator: every call of the function is a step (named, or the function's name)."""
        if callable(name_or_fn):
            return self._decorate(name_or_fn.__name__, name_or_fn)
        return functools.partial(self._decorate, str(name_or_fn))

    def _decorate(self, name: str, fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        @functools.wraps(fn)
        async def call(*args: P.args, **kwargs: P.kwargs) -> T:
            return await self.run(name, fn, *args, **kwargs)

        return call


step = Step()
"""The durable-step helper: ``await step.run("name", fn, ...)`` or ``@step``."""


def _result_adapter(fn: Callable[..., Any]) -> TypeAdapter[Any] | None:
    """A validator for ``fn``'s return annotation, or None when it has none."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # an annotation that cannot be resolved: plain JSON, then
        return None
    annotation = hints.get("return")
    if annotation is None or annotation is Any or annotation is type(None):
        return None
    try:
        return TypeAdapter(annotation)
    except Exception:
        return None


def _plain(name: str, result: Any, adapter: TypeAdapter[Any] | None) -> Any:
    try:
        if adapter is not None:
            return adapter.dump_python(result, mode="json")
        return to_plain_json(result)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"step.run({name!r})", f"the step's result must be JSON-serializable: {exc}"
        ) from exc
