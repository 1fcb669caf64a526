"""Hot reload for ``durableruns dev``: watch the task modules' files and restart the
worker side (its task-process pool, the registry, the Temporal workers) on a change.

Trigger.dev's ``dev`` rebuilds on save; before this, ours kept serving the code it
started with and said nothing. A change drops the project's modules from
``sys.modules`` and imports them afresh; only when that works is the running worker
drained (attempts in flight finish, within the drain grace) and a new one started on the
new code (fresh task processes import it). A save that does not import (a syntax
error, a ``NameError`` at import time) is reported as ``file:line:col: message`` with the
line of code, the previous modules are put back, and the last good code, examples
included, keeps serving until the next save imports.
The version stays the same, so runs pinned to it continue on the new code; if the
catalog refuses the change under that version (a task now defined by another function
or module), the reload serves the next version instead and says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

from temporalio.client import Client
from watchfiles import PythonFilter, awatch

from durableruns.cli.code_errors import describe_code_error
from durableruns.cli.serve import WorkerSide, health_file, say, worker_for
from durableruns.errors import DurableRunsError
from durableruns.settings import Settings
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.assembly import default_version


def module_paths(modules: Sequence[str]) -> list[Path]:
    """The file of each module, or the directory of each package (what to watch)."""
    paths: list[Path] = []
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        if spec.submodule_search_locations:
            paths += [Path(p) for p in spec.submodule_search_locations]
        else:
            paths.append(Path(spec.origin))
    return paths


def forget_modules(paths: Sequence[Path]) -> list[str]:
    """Drop every imported module whose file lies in ``paths``; returns their names."""
    roots = [p.resolve() for p in paths]
    gone = []
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file is None:
            continue
        where = Path(file).resolve()
        if any(where == root or root in where.parents for root in roots):
            del sys.modules[name]
            gone.append(name)
    return gone


def reloading_worker(
    modules: Sequence[str],
    load: Callable[[Sequence[str]], TaskRegistry],
    first: TaskRegistry,
    on_reload: Callable[[TaskRegistry], None] = lambda _: None,
) -> WorkerSide:
    """A worker side that serves ``first`` and restarts on every change to ``modules``."""

    @contextlib.asynccontextmanager
    async def side(client: Client, settings: Settings) -> AsyncIterator[None]:
        paths = module_paths(modules)
        stop = asyncio.Event()
        reloader = _Reloader(client, settings, modules, load, on_reload)
        await reloader.start(first)
        watching = asyncio.ensure_future(reloader.watch(paths, stop))
        try:
            yield
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await watching
            await reloader.stop_worker()

    return side


class _Reloader:
    """Owns the current worker generation and replaces it on change."""

    def __init__(
        self,
        client: Client,
        settings: Settings,
        modules: Sequence[str],
        load: Callable[[Sequence[str]], TaskRegistry],
        on_reload: Callable[[TaskRegistry], None],
    ) -> None:
        self.client, self.settings, self.modules = client, settings, modules
        self.load, self.on_reload = load, on_reload
        self.version = settings.version or default_version()
        self.generation = 1
        self.stack: contextlib.AsyncExitStack | None = None
        self.served: list[str] = []
        """The task ids the running worker serves."""

    async def start(self, registry: TaskRegistry) -> None:
        self.served = list(registry.ids)
        stack = contextlib.AsyncExitStack()
        try:
            workers = await stack.enter_async_context(
                worker_for(self.client, self.settings, registry, self.version)
            )
            await stack.enter_async_context(health_file(self.settings.health_file, workers))
        except BaseException:
            await stack.aclose()
            raise
        self.stack = stack

    async def stop_worker(self) -> None:
        if self.stack is not None:
            stack, self.stack = self.stack, None
            await stack.aclose()

    async def watch(self, paths: list[Path], stop: asyncio.Event) -> None:
        if not paths:
            return
        async for changes in awatch(*paths, watch_filter=PythonFilter(), stop_event=stop):
            changed = sorted({Path(p).name for _, p in changes})
            await self.reload(paths, changed)

    async def reload(self, paths: list[Path], changed: list[str]) -> None:
        say(f"Change in {', '.join(changed)}: reloading tasks")
        before = dict(sys.modules)
        forget_modules(paths)
        try:
            registry = self.load(self.modules)
        except Exception as exc:  # a syntax error in the user's file, a bad definition…
            forget_modules(paths)  # what the failed import left half-made
            sys.modules.update({n: m for n, m in before.items() if n not in sys.modules})
            say(f"Reload failed: {describe_code_error(exc)}", err=True)
            say(
                f"Still serving the last good code ({', '.join(self.served) or 'no tasks'})"
                " until the next save imports",
                err=True,
            )
            return
        grace = self.settings.drain_grace_s
        say(f"Draining the previous code: attempts in flight get up to {grace:g}s")
        await self.stop_worker()
        try:
            await self.start(registry)
        except DurableRunsError as exc:  # the catalog refuses a task's new definition
            self.generation += 1
            self.version = f"{default_version()}.r{self.generation}"
            say(f"{str(exc).rstrip('.')}: serving version {self.version} instead", err=True)
            await self.start(registry)
        self.served = list(registry.ids)
        self.on_reload(registry)
        say(f"Reloaded: {', '.join(registry.ids) or 'no tasks'} (version {self.version})")
