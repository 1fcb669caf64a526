"""``locals``: typed values shared, within one execution of a task's code, by its
middleware, its hooks and the code itself (Trigger.dev's ``locals``).

Each execution starts with no values (the executor opens a fresh scope), so a value set
by a middleware — a database connection, a client — is seen by ``on_start_attempt``,
``on_wait`` / ``on_resume``, ``catch_error`` and the task's function of that execution,
and by nothing else.

Example::

    from durableruns import locals

    DB = locals.create("db")

    async def db_middleware(next):
        locals.set(DB, await connect())
        try:
            await next()
        finally:
            await locals.get_or_throw(DB).close()
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from durableruns.errors import LocalNotSetError

T = TypeVar("T")

__all__ = ["Local", "LocalNotSetError", "create", "get", "get_or_throw", "scope", "set"]


@dataclass(frozen=True, eq=False)
class Local(Generic[T]):
    """The key of one local value; make it once, at module level, with :func:`create`."""

    name: str


_values: ContextVar[dict[Local[Any], Any] | None] = ContextVar("durableruns_locals", default=None)


def create(name: str) -> Local[Any]:
    """A new local named ``name`` (the name is for messages: two locals of one name are
    two different keys). Annotate it for typed access: ``DB: Local[Db] = create("db")``."""
    return Local(name)


def set(local: Local[T], value: T) -> T:
    """Set ``local`` for the rest of this execution; returns ``value``."""
    _scope_values()[local] = value
    return value


def get(local: Local[T]) -> T | None:
    """The value of ``local`` in this execution, or None."""
    values = _values.get()
    return None if values is None else cast("T | None", values.get(local))


def get_or_throw(local: Local[T]) -> T:
    """The value of ``local``; :class:`LocalNotSetError` when it was never set."""
    values = _values.get()
    if values is None or local not in values:
        raise LocalNotSetError(f"The local {local.name!r} is not set in this execution")
    return cast(T, values[local])


@contextlib.contextmanager
def scope() -> Iterator[None]:
    """A fresh set of values for one execution (used by the executor)."""
    token = _values.set({})
    try:
        yield
    finally:
        _values.reset(token)


def _scope_values() -> dict[Local[Any], Any]:
    values = _values.get()
    if values is None:  # outside an execution (a test, a script): one scope for the context
        values = {}
        _values.set(values)
    return values
