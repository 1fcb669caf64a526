"""The ``durableruns`` command: ``dev`` runs Temporal, a worker and the facade in one
process tree; ``worker`` and ``api`` run one of them alone against any Temporal.

Signals are ours: SIGINT/SIGTERM stop the facade, then the worker, then the Temporal
child, in that order (uvicorn's own handlers are switched off); a second signal forces
the exit. :func:`main` always leaves through :func:`~durableruns.process.exit_process`,
because temporalio's runtime can crash the interpreter's own exit (hazards.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError
from temporalio.client import Client

from durableruns.api import create_app
from durableruns.cli_status import status
from durableruns.dev_config import (
    DEFAULT_TASK_MODULES,
    ENV,
    DevFlags,
    DevOptions,
    config_path,
    load_dev_config,
    resolve_dev_options,
    split_modules,
    task_modules,
)
from durableruns.engine.dev_server import (
    DevServerProcess,
    dev_server_command,
    ensure_dev_ports_free,
    ensure_port_free,
    wait_for_temporal,
)
from durableruns.engine.worker import default_version, running_worker
from durableruns.errors import DurableRunsError
from durableruns.process import exit_process
from durableruns.settings import Settings
from durableruns.task_definitions import TaskRegistry

T = TypeVar("T")
CONNECT_TIMEOUT_S = 30.0
"""How long to wait for Temporal: the dev server takes ~1 s, a neighbour may be starting."""

app = typer.Typer(
    name="durableruns",
    help="Trigger.dev-style background runs on Temporal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _option(text: str, env: str, default: str | None = None) -> Any:
    """A typer option whose help names its ``DURABLERUNS_*`` variable and default."""
    default_text = f", default {default}" if default else ""
    return typer.Option(help=f"{text} (env DURABLERUNS_{env}{default_text})")


Port = Annotated[int | None, _option("Facade port", "API_PORT", "3030")]
Address = Annotated[
    str | None, _option("host:port of Temporal", "TEMPORAL_ADDRESS", "127.0.0.1:7233")
]
Tasks = Annotated[
    list[str] | None,
    typer.Option(
        "--tasks",
        metavar="MODULE",
        help=f"Module or package of tasks, repeatable (env {ENV['tasks']}, "
        f"default {' '.join(DEFAULT_TASK_MODULES)})",
    ),
]


@app.command()
def dev(
    api_port: Port = None,
    temporal_port: Annotated[int | None, _option("Temporal port", "TEMPORAL_PORT", "7233")] = None,
    ui_port: Annotated[int | None, _option("Temporal UI port", "UI_PORT", "8233")] = None,
    db: Annotated[Path | None, _option("Temporal's SQLite file", "DB")] = None,
    in_memory: Annotated[
        bool, typer.Option("--in-memory", help=f"No SQLite file (env {ENV['in_memory']}=1)")
    ] = False,
    temporal_address: Annotated[
        str | None, _option("Use this Temporal; start none", "TEMPORAL_ADDRESS")
    ] = None,
    tasks: Tasks = None,
    config: Annotated[Path | None, _option("Dev settings", "CONFIG", "temporal-dev.yml")] = None,
) -> None:
    """Run the Temporal dev server, a worker and the facade together.

    Precedence: flags > DURABLERUNS_* variables > temporal-dev.yml > defaults.
    """
    dev_config = load_dev_config(config_path(config, os.environ))
    flags = DevFlags(
        api_port=api_port,
        temporal_port=temporal_port,
        ui_port=ui_port,
        db=db,
        in_memory=in_memory,
        temporal_address=temporal_address,
        tasks=split_modules(tasks or ()),
    )
    options = resolve_dev_options(flags, os.environ, dev_config, state_dir=Settings().state_dir)
    settings = _dev_settings(options)
    command = None if options.temporal_address else dev_server_command(dev_config, options)
    asyncio.run(_run_dev(options, settings, command))


@app.command()
def worker(
    temporal_address: Address = None,
    namespace: Annotated[str | None, _option("Namespace", "NAMESPACE", "default")] = None,
    tasks: Tasks = None,
    version: Annotated[str | None, _option("Version served", "VERSION", "today")] = None,
    task_queue_prefix: Annotated[str | None, _option("Queue prefix", "TASK_QUEUE_PREFIX")] = None,
    isolation: Annotated[
        bool | None,
        typer.Option(
            "--isolation/--no-isolation",
            help="Run task code in task processes (env DURABLERUNS_ISOLATION, default on)",
        ),
    ] = None,
) -> None:
    """Run a worker serving tasks; by default it joins `durableruns dev`."""
    settings = _settings(
        temporal_address=temporal_address,
        namespace=namespace,
        version=version,
        task_queue_prefix=task_queue_prefix,
        isolation=isolation,
    )
    registry = _load_tasks(task_modules(tasks or (), os.environ))
    asyncio.run(_run_alone(settings, registry=registry))


app.command()(status)  # durableruns status (cli_status.py)


@app.command()
def api(
    temporal_address: Address = None,
    api_port: Port = None,
    host: Annotated[str | None, _option("Interface", "API_HOST", "127.0.0.1")] = None,
) -> None:
    """Serve the facade alone; by default it joins `durableruns dev`."""
    settings = _settings(temporal_address=temporal_address, api_port=api_port, api_host=host)
    asyncio.run(_run_alone(settings, serve_api=True))


def main() -> NoReturn:
    """Console-script entry point: run the command, then leave with its real status."""
    exit_process(run(sys.argv[1:]))


def run(args: Sequence[str]) -> int:
    """Run the CLI with ``args``; returns the exit status instead of exiting."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app(args=list(args), prog_name="durableruns")
    except SystemExit as exc:
        if isinstance(exc.code, str):
            typer.echo(exc.code, err=True)
            return 1
        return exc.code or 0
    except (DurableRunsError, ValidationError) as exc:  # ValidationError: DURABLERUNS_* values
        typer.echo(f"Error: {exc}", err=True)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception:
        traceback.print_exc()
        return 1
    return 0


# --- running ---------------------------------------------------------------------------
async def _run_dev(options: DevOptions, settings: Settings, command: list[str] | None) -> None:
    shutdown = Shutdown.install()
    registry = _load_tasks(options.tasks)  # before starting anything: fail fast
    ensure_port_free(settings.api_host, settings.api_port, "The facade")
    temporal: DevServerProcess | None = None
    try:
        if command is None:
            client = await shutdown.until(_connect(settings))
        else:
            ensure_dev_ports_free(options)
            if options.db is not None:
                options.db.parent.mkdir(parents=True, exist_ok=True)
            temporal = DevServerProcess.start(command, settings.state_dir / "temporal.log")
            shutdown.on_force = temporal.kill
            client = await shutdown.until(temporal.wait_ready(settings, timeout=CONNECT_TIMEOUT_S))
        if client is not None:
            facade = create_app(settings, client=client)
            banner = _banner_printer(options, settings, registry, temporal)
            await _serve(shutdown, settings, client, registry=registry, app=facade, on_ready=banner)
    finally:
        if temporal is not None:
            await asyncio.to_thread(temporal.stop)


async def _run_alone(
    settings: Settings, *, registry: TaskRegistry | None = None, serve_api: bool = False
) -> None:
    shutdown = Shutdown.install()
    client = await shutdown.until(_connect(settings))
    if client is None:
        return
    facade = create_app(settings, client=client) if serve_api else None

    def ready() -> None:
        what = f"facade on {_api_url(settings)}" if facade else f"worker ({_ids(registry)})"
        typer.echo(f"durableruns {what} joined {settings.temporal_address}")
        sys.stdout.flush()

    await _serve(shutdown, settings, client, registry=registry, app=facade, on_ready=ready)


async def _serve(
    shutdown: Shutdown,
    settings: Settings,
    client: Client,
    *,
    registry: TaskRegistry | None,
    app: FastAPI | None,
    on_ready: Callable[[], None],
) -> None:
    """Run the worker and/or facade until a signal; stop the facade, then the worker."""
    async with contextlib.AsyncExitStack() as stack:
        if registry is not None:
            version = settings.version or default_version()
            prefix = settings.task_queue_prefix
            await stack.enter_async_context(
                running_worker(
                    client,
                    registry,
                    task_queue_prefix=prefix,
                    version=version,
                    isolation=settings.isolation,
                    short_wait_s=settings.short_wait_s,
                    max_concurrent_attempts=settings.max_concurrent_attempts,
                    metrics_port=settings.metrics_port,
                )
            )
        waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(shutdown.requested.wait())]
        if app is not None:
            server = _ApiServer(
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


class _ApiServer(uvicorn.Server):
    """uvicorn, minus its signal handlers: ours decide the shutdown order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
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
            typer.echo(f"{sig.name} again: forcing exit", err=True)
            self.on_force()
            exit_process(128 + sig.value)
        typer.echo(f"{sig.name} received: shutting down (again to force)", err=True)
        self.requested.set()

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


# --- helpers ---------------------------------------------------------------------------
def _settings(**overrides: Any) -> Settings:
    """Settings from DURABLERUNS_* variables, with the flags that were given on top."""
    return Settings(**{key: value for key, value in overrides.items() if value is not None})


def _dev_settings(options: DevOptions) -> Settings:
    base = Settings()
    ui_url = (
        f"http://{options.ip}:{options.ui_port}"
        if options.temporal_address is None
        else base.temporal_ui_url
    )
    return Settings(
        temporal_address=options.address,
        namespace=options.namespace,
        api_port=options.api_port,
        api_url=_api_url(base, options.api_port),
        temporal_ui_url=ui_url,
    )


def _api_url(settings: Settings, port: int | None = None) -> str:
    host = settings.api_host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://{host}:{port or settings.api_port}"


async def _connect(settings: Settings) -> Client:
    return await wait_for_temporal(settings, timeout=CONNECT_TIMEOUT_S)


def _load_tasks(modules: Sequence[str]) -> TaskRegistry:
    """Import the task modules from the current directory (the project root)."""
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    return TaskRegistry.from_modules(list(modules))


def _ids(registry: TaskRegistry | None) -> str:
    return ", ".join(registry.ids) if registry and len(registry) else "no tasks"


def _banner_printer(
    options: DevOptions,
    settings: Settings,
    registry: TaskRegistry,
    temporal: DevServerProcess | None,
) -> Callable[[], None]:
    """What to print once everything serves: where things are, and how to try them."""

    def show() -> None:
        url, key = settings.api_url, settings.dev_secret_key()
        storage = str(options.db) if options.db else "in memory"
        ui = settings.temporal_ui_url if options.ui_enabled or temporal is None else "disabled"
        where = f"{settings.temporal_address}, namespace {settings.namespace}"
        log = f"; log {temporal.log_path}" if temporal else ""
        typer.echo(
            "durableruns dev is running (Ctrl+C to stop)\n"
            f"  Facade:      {url}\n"
            f"  Dashboard:   {url}/dashboard\n"
            f"  API docs:    {url}/docs\n"
            f"  Temporal UI: {ui}\n"
            f"  Temporal:    {where} ({storage if temporal else 'external'}{log})\n"
            f"  Secret key:  {key}\n"
            f"  Tasks:       {_ids(registry)}\n\n"
            f"  curl -X POST {url}/api/v1/tasks/hello-world/trigger "
            f"-H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' "
            """-d '{"payload": {"name": "World"}}'"""
        )
        sys.stdout.flush()

    return show
