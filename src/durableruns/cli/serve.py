"""Running a worker and/or the facade until a signal, for every command.

Signals are ours: SIGINT/SIGTERM stop the facade, then the worker, then the Temporal
child, in that order (uvicorn's own handlers are switched off); a second signal forces
the exit. The handler sets the stop request *before* it prints anything: under
``durableruns worker 2>&1 | tee log`` a Ctrl-C kills ``tee`` too, and a print to the
dead pipe (EPIPE) must not keep the request from being made. Every line we print goes
through :func:`say`, which never raises.

A worker drains on stop: its task workers stop polling at once, and running attempts
get ``DURABLERUNS_DRAIN_GRACE_S`` to finish (worker/assembly.py); while it serves it
keeps ``DURABLERUNS_HEALTH_FILE`` fresh for an orchestrator's liveness probe.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from fastapi import FastAPI
from temporalio.client import Client
from temporalio.worker import Worker

from durableruns.errors import DurableRunsError
from durableruns.process import exit_process
from durableruns.service import namespace_setup
from durableruns.service.dev_server import wait_for_temporal
from durableruns.settings import Settings
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.alert_delivery import smtp_settings
from durableruns.worker.assembly import default_version, running_worker

T = TypeVar("T")
CONNECT_TIMEOUT_S = 30.0
"""How long to wait for Temporal: the dev server takes ~1 s, a neighbour may be starting."""
HEALTH_INTERVAL_S = 5.0
"""How often a serving worker touches its health file."""


def say(text: str, *, err: bool = False) -> None:
    """Print a line and flush; a closed pipe (EPIPE) or closed stream is ignored."""
    stream = sys.stderr if err else sys.stdout
    with contextlib.suppress(OSError, ValueError):
        stream.write(text + "\n")
        stream.flush()


WorkerSide = Callable[[Client, Settings], contextlib.AbstractAsyncContextManager[Any]]
"""Starts the worker part (entered before the facade serves, left after it stopped)."""


def plain_worker(registry: TaskRegistry) -> WorkerSide:
    """The worker side of ``durableruns worker``: ``registry``'s tasks, drained on exit."""

    @contextlib.asynccontextmanager
    async def side(client: Client, settings: Settings) -> AsyncIterator[None]:
        async with worker_for(client, settings, registry) as workers:
            async with health_file(settings.health_file, workers):
                yield
            say(f"Draining: running attempts get up to {settings.drain_grace_s:g}s", err=True)

    return side


def worker_for(
    client: Client, settings: Settings, registry: TaskRegistry, version: str | None = None
) -> contextlib.AbstractAsyncContextManager[list[Worker]]:
    """``running_worker`` configured from ``settings``."""
    return running_worker(
        client,
        registry,
        task_queue_prefix=settings.task_queue_prefix,
        version=version or settings.version or default_version(),
        isolation=settings.isolation,
        short_wait_s=settings.short_wait_s,
        max_concurrent_attempts=settings.max_concurrent_attempts,
        api_url=settings.api_url,
        drain_grace=timedelta(seconds=settings.drain_grace_s),
        metrics_port=settings.metrics_port,
        smtp=smtp_settings(settings),
        heartbeat_every_s=settings.heartbeat_every_s,
        announce_attempts=settings.announce_attempts,
        announce_after_s=settings.announce_after_s,
    )


@contextlib.asynccontextmanager
async def health_file(path: Path | None, workers: list[Worker]) -> AsyncIterator[None]:
    """Touch ``path`` every few seconds while all ``workers`` run; remove it on exit."""
    if path is None:
        yield
        return

    async def beat() -> None:
        while all(worker.is_running for worker in workers):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
            await asyncio.sleep(HEALTH_INTERVAL_S)
        path.unlink(missing_ok=True)  # a worker died: say so at once

    task = asyncio.ensure_future(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        path.unlink(missing_ok=True)


async def run_alone(
    settings: Settings,
    *,
    worker: WorkerSide | None = None,
    make_app: Callable[[Client], FastAPI] | None = None,
) -> None:
    """``durableruns worker`` / ``api``: connect, check the namespaces, serve until a
    signal, stop in order. A worker serves its own namespace, the facade every
    environment's."""
    shutdown = Shutdown.install()
    client = await shutdown.until(connect(settings))
    if client is None:
        return
    namespaces = settings.served_namespaces if make_app else [settings.namespace]
    await require_search_attributes(settings, client, namespaces)
    app = make_app(client) if make_app else None

    def ready() -> None:
        what = f"facade on {api_url(settings)}" if app else "worker"
        say(f"durableruns {what} joined {settings.temporal_address} ({settings.namespace})")

    await serve(shutdown, settings, client, worker=worker, app=app, on_ready=ready)


async def serve(
    shutdown: Shutdown,
    settings: Settings,
    client: Client,
    *,
    worker: WorkerSide | None,
    app: FastAPI | None,
    on_ready: Callable[[], None],
) -> None:
    """Run the worker and/or facade until a signal; stop the facade, then the worker."""
    async with contextlib.AsyncExitStack() as stack:
        if worker is not None:
            await stack.enter_async_context(worker(client, settings))
        waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(shutdown.requested.wait())]
        if app is not None:
            server = ApiServer(
                uvicorn.Config(
                    app, host=settings.api_host, port=settings.api_port, log_level="warning"
                )
            )
            serving = asyncio.ensure_future(server.serve_or_fail())
            stack.push_async_callback(server.stop, serving)
            while not server.started and not serving.done() and not shutdown.requested.is_set():
                await asyncio.sleep(0.02)
            waits.append(serving)
        if not shutdown.requested.is_set() and all(not w.done() for w in waits[1:]):
            on_ready()
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        waits[0].cancel()
        for done in waits[1:]:
            if done.done():
                done.result()  # a facade that died raises here


async def require_search_attributes(
    settings: Settings, client: Client, namespaces: list[str]
) -> None:
    """Refuse to start where a served namespace lacks one of our search attributes:
    every run would be refused there, so naming each and the command that registers
    them (``durableruns setup``) beats a 503 on the first trigger. A namespace whose
    attributes cannot be read (it does not exist: ``/readyz`` says so; or its operator
    service is not ours to call) is only a warning."""
    states = await namespace_setup.check(client, namespaces)
    for state in states:
        if state.unknown:
            say(
                f"Warning: could not check the search attributes of namespace "
                f"{state.namespace} ({state.unknown})",
                err=True,
            )
    broken = [state for state in states if state.missing or state.mistyped]
    if broken:
        raise DurableRunsError(namespace_setup.describe_problems(broken, settings.temporal_address))


class ApiServer(uvicorn.Server):
    """uvicorn, minus its signal handlers: ours decide the shutdown order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Leave signals to the CLI (uvicorn would install its own handlers)."""
        yield

    async def serve_or_fail(self) -> None:
        """Serve; uvicorn's ``sys.exit`` on a startup failure becomes an error."""
        try:
            await self.serve()
        except SystemExit as exc:
            host, port = self.config.host, self.config.port
            raise DurableRunsError(
                f"The facade could not start on {host}:{port} (see the log above)"
            ) from exc

    async def stop(self, serving: asyncio.Future[None]) -> None:
        """Ask uvicorn to finish, and wait until it has."""
        self.should_exit = True
        with contextlib.suppress(DurableRunsError):
            await serving


class Shutdown:
    """The stop request: the first SIGINT/SIGTERM asks for a clean stop, a second one
    runs ``on_force`` (kill the Temporal child) and leaves at once."""

    def __init__(self) -> None:
        self.requested = asyncio.Event()
        self.on_force: Callable[[], None] = lambda: None

    @classmethod
    def install(cls) -> Shutdown:
        """Handle SIGINT and SIGTERM in the running loop."""
        shutdown = cls()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, shutdown._on_signal, sig)
        return shutdown

    def _on_signal(self, sig: signal.Signals) -> None:
        if self.requested.is_set():
            self.on_force()
            say(f"{sig.name} again: forcing exit", err=True)
            exit_process(128 + sig.value)
        self.requested.set()  # first: the print below may hit a dead pipe
        say(f"{sig.name} received: shutting down (again to force)", err=True)

    async def until(self, work: Awaitable[T]) -> T | None:
        """``work``'s result, or None if a stop is requested first (``work`` is cancelled)."""
        task = asyncio.ensure_future(work)
        stop = asyncio.ensure_future(self.requested.wait())
        await asyncio.wait([task, stop], return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, DurableRunsError):
            await task
        return None


def api_url(settings: Settings, port: int | None = None) -> str:
    """Where the facade answers, as a URL a browser on this machine can open."""
    host = settings.api_host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://{host}:{port or settings.api_port}"


async def connect(settings: Settings) -> Client:
    """Connect, retrying while Temporal starts; a rejected certificate fails at once."""
    return await wait_for_temporal(settings, timeout=CONNECT_TIMEOUT_S)
