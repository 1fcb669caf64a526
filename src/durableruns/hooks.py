"""Lifecycle hooks, middleware and ``catch_error``: what a task (or every task of a
worker) runs around its code, with Trigger.dev's names in snake_case.

A hook is a sync or async function called with the parameters it declares, by name,
from :data:`HOOK_PARAMETERS` (``payload``, ``ctx``, ``task``, ``output``, ``error``,
``wait``, ``retry_at``, ``signal``, ``next``): ``async def on_failure(error, ctx)`` and
``def on_success(output)`` both work. Hooks are given per task (``@task(on_failure=…)``)
or globally, for every task the process serves (``tasks.on_failure(fn)``,
``tasks.middleware("db", fn)``), typically from the tasks package's ``init`` module
(:func:`load_init_modules`). Global hooks run before the task's own; ``catch_error``
asks the task's first.

Where each runs is the engine's business: ``on_start_attempt``, ``middleware``,
``on_wait``, ``on_resume`` and ``catch_error`` in the attempt (``worker/task_executor``);
``on_success``, ``on_failure``, ``on_complete`` and ``on_cancel`` once per run, after
its final status, in an activity of their own (``worker/hooks_activity``).
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from durableruns.errors import TaskDefinitionError

HookKind = Literal[
    "on_start_attempt",
    "on_success",
    "on_failure",
    "on_complete",
    "on_wait",
    "on_resume",
    "on_cancel",
    "catch_error",
]
HOOK_KINDS: tuple[HookKind, ...] = get_args(HookKind)
FINAL_HOOK_KINDS: tuple[HookKind, ...] = ("on_success", "on_failure", "on_complete", "on_cancel")
"""The hooks that run once per run, after its final status (not in an attempt)."""
HOOK_PARAMETERS = frozenset(
    {"payload", "ctx", "task", "output", "error", "wait", "retry_at", "signal", "next"}
)
"""What a hook may declare; a parameter the hook's moment has no value for gets None."""
HOOK_TIMEOUT_S = 30.0
"""How long one hook may run (a hung hook is abandoned, and its process killed when it
ignores the cancel); middleware and ``on_start_attempt`` count towards ``max_duration``
instead, as the task's code."""
WAIT_HOOK_TIMEOUT_S = 10.0
"""How long the ``on_wait`` hooks of one suspension may take together: they run while
the worker waits for the suspended code to stop (its grace grows by this much)."""

HookFunction = Callable[..., Any]


def check_hook(kind: str, fn: HookFunction) -> HookFunction:
    """``fn`` if it can be called as a ``kind`` hook; TaskDefinitionError naming why not."""
    if not callable(fn):
        raise TaskDefinitionError(f"{kind}: {fn!r} is not a function")
    for parameter in inspect.signature(fn).parameters.values():
        if parameter.kind in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
            continue
        if parameter.name not in HOOK_PARAMETERS and parameter.default is parameter.empty:
            raise TaskDefinitionError(
                f"{kind} hook {getattr(fn, '__qualname__', fn)!r}: unknown parameter "
                f"{parameter.name!r} (a hook may take {', '.join(sorted(HOOK_PARAMETERS))})"
            )
    if kind == "middleware" and not inspect.iscoroutinefunction(fn):
        raise TaskDefinitionError(
            f"middleware {getattr(fn, '__qualname__', fn)!r} must be an async function "
            "(it awaits next())"
        )
    return fn


@dataclass(frozen=True)
class TaskHooks:
    """The hooks of one task (or, in :data:`GLOBAL_HOOKS`, of every task)."""

    by_kind: dict[str, tuple[HookFunction, ...]] = field(default_factory=dict)
    middleware: tuple[tuple[str, HookFunction], ...] = ()

    def of(self, kind: HookKind) -> tuple[HookFunction, ...]:
        """This set's hooks of ``kind``, in registration order."""
        return self.by_kind.get(kind, ())

    @classmethod
    def build(
        cls,
        hooks: dict[str, HookFunction | Iterable[HookFunction] | None],
        middleware: HookFunction | Iterable[HookFunction] | None,
    ) -> TaskHooks:
        """Checked per-task hooks from ``@task``'s keyword arguments."""
        by_kind = {
            kind: tuple(check_hook(kind, fn) for fn in _as_tuple(value))
            for kind, value in hooks.items()
            if value is not None
        }
        chain = tuple(
            (getattr(fn, "__name__", "middleware"), check_hook("middleware", fn))
            for fn in _as_tuple(middleware)
        )
        return cls(by_kind={k: v for k, v in by_kind.items() if v}, middleware=chain)


def _as_tuple(value: HookFunction | Iterable[HookFunction] | None) -> tuple[HookFunction, ...]:
    if value is None:
        return ()
    if callable(value):
        return (value,)
    return tuple(value)


class GlobalHooks:
    """Hooks for every task this process serves, registered by ``tasks.on_failure(fn)``
    and friends. Registering the same function (or middleware name) again replaces it,
    so a module imported twice does not run its hooks twice."""

    def __init__(self) -> None:
        self._by_kind: dict[str, list[HookFunction]] = {}
        self._middleware: dict[str, HookFunction] = {}

    def add(self, kind: HookKind, fn: HookFunction) -> HookFunction:
        """Register ``fn`` as a global ``kind`` hook; returns it (usable as a decorator)."""
        check_hook(kind, fn)
        hooks = self._by_kind.setdefault(kind, [])
        key = _identity(fn)
        hooks[:] = [h for h in hooks if _identity(h) != key]
        hooks.append(fn)
        return fn

    def add_middleware(self, name: str, fn: HookFunction) -> HookFunction:
        """Register (or replace) the global middleware ``name``."""
        self._middleware[name] = check_hook("middleware", fn)
        return fn

    def of(self, kind: HookKind) -> tuple[HookFunction, ...]:
        """The global hooks of ``kind``, in registration order."""
        return tuple(self._by_kind.get(kind, ()))

    @property
    def middleware(self) -> tuple[tuple[str, HookFunction], ...]:
        """The global middleware by name, in registration order."""
        return tuple(self._middleware.items())

    def clear(self) -> None:
        """Forget every global hook (tests)."""
        self._by_kind.clear()
        self._middleware.clear()


def _identity(fn: HookFunction) -> tuple[str, str, int]:
    # By definition site, not object: a module imported again (the worker's main script
    # as __mp_main__, a reload) makes a new function object for one hook. The line keeps
    # two lambdas of one module apart.
    code = getattr(fn, "__code__", None)
    return (
        getattr(fn, "__module__", ""),
        getattr(fn, "__qualname__", repr(fn)),
        code.co_firstlineno if code is not None else id(fn),
    )


GLOBAL_HOOKS = GlobalHooks()
"""This process's global hooks."""


def hooks_of(kind: HookKind, task_hooks: TaskHooks) -> tuple[HookFunction, ...]:
    """The hooks of ``kind`` that apply to a task, in call order: global ones first,
    except for ``catch_error``, where the task's own answer first (as Trigger.dev)."""
    if kind == "catch_error":
        return task_hooks.of(kind) + GLOBAL_HOOKS.of(kind)
    return GLOBAL_HOOKS.of(kind) + task_hooks.of(kind)


def middleware_of(task_hooks: TaskHooks) -> tuple[HookFunction, ...]:
    """The middleware chain of a task, outermost first: global, then the task's."""
    return tuple(fn for _, fn in GLOBAL_HOOKS.middleware + task_hooks.middleware)


def final_hook_kinds(task_hooks: TaskHooks) -> tuple[str, ...]:
    """Which once-per-run hooks a task has (its own or global), for its run to know
    whether to run the hooks activity at all."""
    return tuple(k for k in FINAL_HOOK_KINDS if hooks_of(k, task_hooks))


async def call_hook(fn: HookFunction, values: dict[str, Any]) -> Any:
    """Call ``fn`` with the parameters it declares, taken from ``values`` by name (a
    sync function in a thread); returns what it returned."""
    signature = inspect.signature(fn)
    if any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
        kwargs = {name: values.get(name) for name in HOOK_PARAMETERS}
    else:
        kwargs = {
            name: values.get(name)
            for name, parameter in signature.parameters.items()
            if name in HOOK_PARAMETERS and (name in values or parameter.default is parameter.empty)
        }
    if inspect.iscoroutinefunction(fn):
        return await fn(**kwargs)
    result = await asyncio.to_thread(fn, **kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result


@dataclass(frozen=True)
class RetryVerdict:
    """What ``catch_error`` decided (one of the four, or nothing: the task's policy).

    Return it, or a dict with the same keys: ``{"skip_retrying": True}``,
    ``{"retry_at": datetime}``, ``{"retry_delay_ms": 5000}``, ``{"error": exc}``.
    ``retry_at`` / ``retry_delay_ms`` move the next attempt; the task's ``max_attempts``
    still bounds how many there are.
    """

    skip_retrying: bool = False
    retry_at: datetime | None = None
    retry_delay_ms: int | None = None
    error: BaseException | None = None


_VERDICT_KEYS = frozenset({"skip_retrying", "retry_at", "retry_delay_ms", "error"})


def as_verdict(value: Any) -> RetryVerdict | None:
    """``catch_error``'s return value as a verdict; TypeError for anything else."""
    if value is None or isinstance(value, RetryVerdict):
        return value
    if isinstance(value, dict):
        unknown = set(value) - _VERDICT_KEYS
        if unknown:
            raise TypeError(f"catch_error returned unknown keys: {', '.join(sorted(unknown))}")
        verdict = RetryVerdict(**value)
        if verdict.retry_at is not None and not isinstance(verdict.retry_at, datetime):
            raise TypeError("catch_error: retry_at must be a datetime")
        if verdict.retry_delay_ms is not None and not isinstance(verdict.retry_delay_ms, int):
            raise TypeError("catch_error: retry_delay_ms must be an int")
        if verdict.error is not None and not isinstance(verdict.error, BaseException):
            raise TypeError("catch_error: error must be an exception")
        return verdict
    raise TypeError(f"catch_error must return None, a dict or a RetryVerdict, not {value!r}")


# --- global registration: tasks.on_failure(fn) … -----------------------------------------
def on_start_attempt(fn: HookFunction) -> HookFunction:
    """Run ``fn`` at the start of every attempt of every task (not on resumes)."""
    return GLOBAL_HOOKS.add("on_start_attempt", fn)


def on_success(fn: HookFunction) -> HookFunction:
    """Run ``fn`` once when a run of any task COMPLETED."""
    return GLOBAL_HOOKS.add("on_success", fn)


def on_failure(fn: HookFunction) -> HookFunction:
    """Run ``fn`` once when a run of any task ended FAILED, CRASHED, SYSTEM_FAILURE or
    TIMED_OUT (after its last attempt)."""
    return GLOBAL_HOOKS.add("on_failure", fn)


def on_complete(fn: HookFunction) -> HookFunction:
    """Run ``fn`` once when a run of any task ended, whatever its final status."""
    return GLOBAL_HOOKS.add("on_complete", fn)


def on_wait(fn: HookFunction) -> HookFunction:
    """Run ``fn`` when any task's code suspends at a wait."""
    return GLOBAL_HOOKS.add("on_wait", fn)


def on_resume(fn: HookFunction) -> HookFunction:
    """Run ``fn`` when any task's code resumes after a wait."""
    return GLOBAL_HOOKS.add("on_resume", fn)


def on_cancel(fn: HookFunction) -> HookFunction:
    """Run ``fn`` once when a run of any task was canceled."""
    return GLOBAL_HOOKS.add("on_cancel", fn)


def catch_error(fn: HookFunction) -> HookFunction:
    """Ask ``fn`` what to do with an error of any task's code, before the retry decision."""
    return GLOBAL_HOOKS.add("catch_error", fn)


def middleware(name: str, fn: HookFunction | None = None) -> Any:
    """Wrap every execution of every task in ``fn`` (``async def fn(next, …)``, which
    must ``await next()``); ``@tasks.middleware("db")`` works as a decorator too."""
    if fn is None:
        return lambda f: GLOBAL_HOOKS.add_middleware(name, f)
    return GLOBAL_HOOKS.add_middleware(name, fn)


# --- the init module ----------------------------------------------------------------------
INIT_MODULE = "init"


def load_init_modules(module_name: str) -> list[str]:
    """Import the ``init`` module of each package ``module_name`` lives in (outermost
    first), as Trigger.dev loads ``init.ts``: for ``activities.billing.charge`` that is
    ``activities.init`` then ``activities.billing.init``, those that exist. Returns the
    names imported. Workers and task processes call it before importing task modules."""
    parts = module_name.split(".")
    loaded: list[str] = []
    for end in range(1, len(parts) + 1):
        package = ".".join(parts[:end])
        if package.endswith(f".{INIT_MODULE}") or package == INIT_MODULE:
            continue
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            return loaded
        if spec is None or spec.submodule_search_locations is None:
            continue  # a module, not a package
        name = f"{package}.{INIT_MODULE}"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
            loaded.append(name)
    return loaded
