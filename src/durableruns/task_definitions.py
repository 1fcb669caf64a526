"""Task definitions: the ``@task`` decorator, the :class:`Task` it makes, and the
:class:`TaskRegistry` a worker serves.

A task is a plain async or sync function taking a payload (a pydantic model or plain
JSON) and, optionally, a :class:`~durableruns.context.TaskContext`. Decorating it does
not register it anywhere global: a worker collects the tasks of the modules it is told
to load (:meth:`TaskRegistry.from_modules`), so tests can build registries freely.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import typing
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

from durableruns.catalog_models import TaskDescriptor, TaskSchedule
from durableruns.concurrency import ConcurrencyOption, task_limits
from durableruns.cron import check_timezone, parse_cron
from durableruns.durations import DurationError, parse_duration
from durableruns.errors import DuplicateTaskError, InvalidInputError, TaskDefinitionError
from durableruns.hooks import HookFunction, TaskHooks, load_init_modules
from durableruns.in_task import as_batch_item, wait_for_runs
from durableruns.limit_models import LimitSpec
from durableruns.models import RetryOptions
from durableruns.results import TaskRunResult

if TYPE_CHECKING:
    from durableruns.sdk.handles import RunHandle

P = TypeVar("P")
O = TypeVar("O")  # noqa: E741 - P(ayload), O(utput), as in Trigger.dev

TASK_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")
"""Kebab-case ids like ``hello-world``; also letters, digits, ``_ . :``."""

TaskFunction = Callable[..., Awaitable[Any]] | Callable[..., Any]


@dataclass(frozen=True)
class Queue:
    """A queue with a concurrency limit that holds across all workers.

    Several tasks may share one queue; by default each task has its own, ``task/<id>``,
    with no limit.

    Example::

        emails = Queue(name="emails", concurrency_limit=5)

        @task(id="send-email", queue=emails)
        async def send_email(payload: Email) -> None: ...
    """

    name: str
    concurrency_limit: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= len(self.name) <= 128:
            raise TaskDefinitionError("Queue name must be 1-128 characters")
        if self.concurrency_limit is not None and self.concurrency_limit < 1:
            raise TaskDefinitionError(f"Queue {self.name!r}: concurrency_limit must be at least 1")


@dataclass(frozen=True, eq=False)
class Task(Generic[P, O]):
    """A task: its id, its function and its options. Made by :func:`task`."""

    id: str
    fn: TaskFunction
    retry: RetryOptions
    max_duration: float | None
    payload_model: type[BaseModel] | None
    output_model: type[BaseModel] | None
    wants_context: bool
    queue: Queue | None = None
    ttl: float | None = None
    scheduled: bool = False
    """A scheduled task: triggered by schedules, with a :class:`ScheduledPayload`."""
    schedule: TaskSchedule | None = None
    """Its declarative schedule (``cron=``), created when a worker serving it starts."""
    limits: tuple[LimitSpec, ...] = ()
    """Its concurrency limits (``concurrency=`` and ``rate_limit=``), sorted by name."""
    hooks: TaskHooks = field(default_factory=TaskHooks)
    """Its own lifecycle hooks and middleware (``durableruns.hooks``)."""

    @property
    def queue_name(self) -> str:
        """The queue the task's runs wait in: its own ``task/<id>`` unless given one."""
        return self.queue.name if self.queue else f"task/{self.id}"

    def descriptor(self, version: str) -> TaskDescriptor:
        """What a worker announces about this task for ``version``."""
        return TaskDescriptor(
            id=self.id,
            version=version,
            queue=self.queue_name,
            concurrency_limit=self.queue.concurrency_limit if self.queue else None,
            retry=self.retry,
            max_duration_s=self.max_duration,
            ttl_s=self.ttl,
            payload_schema=self.payload_model.model_json_schema() if self.payload_model else None,
            definition=self.qualified_name,
            scheduled=self.scheduled,
            schedule=self.schedule,
            limits=self.limits,
        )

    @property
    def is_async(self) -> bool:
        """Whether the function is a coroutine function (else it runs in a thread)."""
        return inspect.iscoroutinefunction(self.fn)

    @property
    def qualified_name(self) -> str:
        """``module.function``, for error messages."""
        return f"{self.fn.__module__}.{self.fn.__qualname__}"

    async def trigger(self, payload: P, **options: Any) -> RunHandle:
        """Trigger a run of this task; returns its handle.

        Outside task code this goes through the facade (the SDK); inside task code it
        goes through the running attempt and records this run as the parent. Options
        are Trigger.dev's trigger options in snake_case (``tags``, ``delay``, ``ttl``,
        ``idempotency_key``, ``max_attempts``, ``metadata`` …).
        """
        # Imported here so the core stays free of the SDK (dependency direction).
        from durableruns.sdk.tasks import trigger

        return await trigger(self, payload, **options)

    async def trigger_and_wait(self, payload: P, **options: Any) -> TaskRunResult[O]:
        """From task code: run this task as a child and wait for its result.

        Example::

            result = await resize.trigger_and_wait(Image(url=url))
            if result.ok:
                print(result.output)
        """
        [result] = await wait_for_runs(
            [(self.id, payload, options)],
            batch=False,
            output_models={self.id: self.output_model},
            what=f"{self.id}.trigger_and_wait()",
        )
        return result

    async def batch_trigger_and_wait(self, items: Sequence[Any]) -> list[TaskRunResult[O]]:
        """From task code: one child run per item (payloads or BatchItems), in parallel;
        one result per item, in item order."""
        batch = [as_batch_item(i) for i in items]
        return await wait_for_runs(
            [(self.id, b.payload, b.options) for b in batch],
            batch=True,
            output_models={self.id: self.output_model},
            what=f"{self.id}.batch_trigger_and_wait()",
        )

    async def batch_trigger(self, items: Sequence[Any]) -> Any:
        """Trigger one run per item (payloads or BatchItems) through the facade; returns
        the batch handle (``id`` ``batch_…`` and the run ids in item order)."""
        from durableruns.sdk.batch import trigger

        return await trigger(self, items)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function directly (tests, scripts): no run is created."""
        return self.fn(*args, **kwargs)


def task(
    id: str,
    *,
    retry: RetryOptions | dict[str, Any] | None = None,
    max_duration: float | None = None,
    queue: Queue | dict[str, Any] | None = None,
    ttl: str | float | None = None,
    cron: str | None = None,
    timezone: str | None = None,
    concurrency: ConcurrencyOption | Sequence[ConcurrencyOption] | None = None,
    rate_limit: dict[str, Any] | None = None,
    on_start_attempt: HookFunction | None = None,
    on_success: HookFunction | None = None,
    on_failure: HookFunction | None = None,
    on_complete: HookFunction | None = None,
    on_wait: HookFunction | None = None,
    on_resume: HookFunction | None = None,
    on_cancel: HookFunction | None = None,
    catch_error: HookFunction | None = None,
    middleware: HookFunction | Sequence[HookFunction] | None = None,
) -> Callable[[TaskFunction], Task[Any, Any]]:
    """Define a task.

    Args:
        id: The task's id, e.g. ``"hello-world"``; unique within a worker.
        retry: Retry policy (``max_attempts``, ``factor``, ``min_timeout_ms``,
            ``max_timeout_ms``, ``randomize``); Trigger.dev's defaults otherwise.
        max_duration: Seconds an attempt may run before the run ends TIMED_OUT.
        queue: The queue (and its concurrency limit) the task's runs wait in.
        ttl: Default TTL of the task's runs (``"10m"`` or seconds), over the environment's.
        cron: Make it a scheduled task with this declarative schedule (5-field cron,
            Trigger.dev's format), evaluated in ``timezone``.
        timezone: The IANA time zone of ``cron`` (default UTC).
        concurrency: Its concurrency limits (``durableruns.concurrency``): an inline
            ``{"per_key": n, "total": m}``, a named ``concurrency_limit(...)``, or a list
            of at most one inline and two named limits.
        rate_limit: ``{"limit": n, "period": "1m", "per_key": bool}``: at most ``limit``
            of its runs start in any window of ``period`` (per concurrency key if asked).
        on_start_attempt: Runs at the start of each attempt (not on resumes); an error
            fails the attempt. Hooks are sync or async functions called with the
            parameters they declare (``payload``, ``ctx``, ``output``, ``error`` …);
            see :mod:`durableruns.hooks` and the README's "Lifecycle hooks".
        on_success: Runs once when the run COMPLETED.
        on_failure: Runs once when the run ended FAILED, CRASHED, SYSTEM_FAILURE or
            TIMED_OUT.
        on_complete: Runs once when the run ended, whatever its final status.
        on_wait: Runs when the code suspends at a wait (``wait`` describes it).
        on_resume: Runs when the code resumes after a wait.
        on_cancel: Runs once when the run was canceled.
        catch_error: Decides about an error of the code before the retry decision.
        middleware: An async function (or a list of them, outermost first) wrapping
            every execution of the code: ``async def db(next): …; await next(); …``.

    Example::

        @task(id="hello-world", retry={"max_attempts": 3})
        async def hello_world(payload: Hello, ctx: TaskContext) -> Greeting:
            return Greeting(message=f"Hello, {payload.name}!")
    """
    if not TASK_ID_PATTERN.match(id):
        raise TaskDefinitionError(
            f"Invalid task id {id!r}: use 1-128 letters, digits, '-', '_', '.' or ':'"
        )
    if max_duration is not None and max_duration <= 0:
        raise TaskDefinitionError(f"Task {id!r}: max_duration must be positive seconds")
    retry_options = retry if isinstance(retry, RetryOptions) else RetryOptions(**(retry or {}))
    task_queue = Queue(**queue) if isinstance(queue, dict) else queue
    try:
        ttl_s = parse_duration(ttl) if ttl is not None else None
    except DurationError as exc:
        raise TaskDefinitionError(f"Task {id!r}: {exc}") from exc
    schedule = _declared_schedule(id, cron, timezone)
    limits = task_limits(id, concurrency, rate_limit)
    hooks = TaskHooks.build(
        {
            "on_start_attempt": on_start_attempt,
            "on_success": on_success,
            "on_failure": on_failure,
            "on_complete": on_complete,
            "on_wait": on_wait,
            "on_resume": on_resume,
            "on_cancel": on_cancel,
            "catch_error": catch_error,
        },
        middleware,
    )

    def decorate(fn: TaskFunction) -> Task[Any, Any]:
        params = list(inspect.signature(fn).parameters.values())
        if not 1 <= len(params) <= 2:
            raise TaskDefinitionError(
                f"Task {id!r}: the function must take (payload) or (payload, ctx), "
                f"not {len(params)} parameters"
            )
        hints = typing.get_type_hints(fn)
        return Task(
            id=id,
            fn=fn,
            retry=retry_options,
            max_duration=max_duration,
            payload_model=_model_or_none(hints.get(params[0].name)),
            output_model=_model_or_none(hints.get("return")),
            wants_context=len(params) == 2,
            queue=task_queue,
            ttl=ttl_s,
            scheduled=schedule is not None,
            schedule=schedule,
            limits=limits,
            hooks=hooks,
        )

    return decorate


def _declared_schedule(task_id: str, cron: str | None, timezone: str | None) -> TaskSchedule | None:
    """The checked declarative schedule; TaskDefinitionError naming what is wrong."""
    if cron is None:
        if timezone is not None:
            raise TaskDefinitionError(f"Task {task_id!r}: timezone needs a cron")
        return None
    try:
        expr = parse_cron(cron)
        zone = check_timezone(timezone or "UTC")
    except InvalidInputError as exc:
        raise TaskDefinitionError(f"Task {task_id!r}: {exc}") from exc
    return TaskSchedule(cron=expr.source, timezone=zone)


def _model_or_none(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


class TaskRegistry:
    """The tasks a worker serves, by id. Two different tasks with one id are refused."""

    def __init__(self, tasks: Iterable[Task[Any, Any]] = ()) -> None:
        self._tasks: dict[str, Task[Any, Any]] = {}
        for t in tasks:
            self.add(t)

    def add(self, new: Task[Any, Any]) -> None:
        """Register ``new``; the same Task object twice is fine, another one is not."""
        existing = self._tasks.get(new.id)
        if existing is not None and existing is not new:
            raise DuplicateTaskError(
                f"Task id {new.id!r} is defined twice: by {existing.qualified_name} "
                f"and by {new.qualified_name}"
            )
        self._tasks[new.id] = new

    def get(self, task_id: str) -> Task[Any, Any] | None:
        """The task with this id, or None."""
        return self._tasks.get(task_id)

    def __iter__(self) -> Iterator[Task[Any, Any]]:
        return iter(self._tasks.values())

    def __len__(self) -> int:
        return len(self._tasks)

    @property
    def ids(self) -> list[str]:
        """Sorted task ids."""
        return sorted(self._tasks)

    @classmethod
    def from_modules(cls, names: Sequence[str]) -> TaskRegistry:
        """Import modules (packages with all their submodules) and collect their tasks."""
        registry = cls()
        for name in names:
            for module in _import_tree(name):
                for value in vars(module).values():
                    if isinstance(value, Task):
                        registry.add(value)
        return registry


def _import_tree(name: str) -> list[ModuleType]:
    try:
        load_init_modules(name)  # global hooks first, as Trigger.dev's init.ts
        root = importlib.import_module(name)
    except ImportError as exc:
        raise TaskDefinitionError(f"Cannot import task module {name!r}: {exc}") from exc
    modules = [root]
    if hasattr(root, "__path__"):
        for info in pkgutil.walk_packages(root.__path__, prefix=f"{name}."):
            load_init_modules(info.name)
            modules.append(importlib.import_module(info.name))
    return modules
