"""``durableruns dev``: the Temporal dev server as a child process, a worker that
reloads when the task modules change, and the facade, in one process tree.

The Temporal child stops last (after the facade and the worker), and is killed by a
second signal; see cli/serve.py for the signal rules and service/dev_server.py for how
the child can never outlive us.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from temporalio.client import Client

from durableruns.api import create_app
from durableruns.cli.code_errors import describe_code_error
from durableruns.cli.narrator import Narrator
from durableruns.cli.reload import reloading_worker
from durableruns.cli.serve import (
    Shutdown,
    WorkerSide,
    api_url,
    connect,
    require_search_attributes,
    say,
    serve,
)
from durableruns.dev_config import DEFAULT_TASK_MODULES, DevOptions
from durableruns.engine.client import resolve_settings
from durableruns.errors import DurableRunsError
from durableruns.logs import ECHO_ENV
from durableruns.payload_examples import example_payload
from durableruns.service.dev_server import (
    DevServerProcess,
    ensure_dev_ports_free,
    ensure_port_free,
)
from durableruns.settings import Settings
from durableruns.task_definitions import TaskRegistry

CONNECT_TIMEOUT_S = 30.0
EXAMPLE_MODULES = tuple(f"{name}." for name in DEFAULT_TASK_MODULES)
DEV_DRAIN_GRACE_S = 5.0
"""How long a stop (Ctrl-C, a reload) waits for attempts in flight in ``dev`` unless
DURABLERUNS_DRAIN_GRACE_S says otherwise: a developer waits at the terminal, a
production worker's 30 s are for rolling deploys."""


async def run_dev(
    options: DevOptions,
    settings: Settings,
    command: list[str] | None,
    load: Callable[[Sequence[str]], TaskRegistry],
    *,
    reload: bool = True,
) -> None:
    """Start everything, serve until a signal, stop in order."""
    shutdown = Shutdown.install()
    try:
        registry = load(options.tasks)  # before starting anything: fail fast
    except Exception as exc:
        report = describe_code_error(exc)  # file:line:col: message, and the code
        if isinstance(exc, DurableRunsError) and report == str(exc):
            raise
        raise SystemExit(f"Error: {report}") from exc
    os.environ.setdefault(ECHO_ENV, "1")  # task code's print/logger lines show here too
    ensure_port_free(settings.api_host, settings.api_port, "The facade")
    temporal: DevServerProcess | None = None
    try:
        if command is None:
            settings = resolve_settings(settings)
            client = await shutdown.until(connect(settings))
        else:
            ensure_dev_ports_free(options)
            if options.db is not None:
                options.db.parent.mkdir(parents=True, exist_ok=True)
            temporal = DevServerProcess.start(command, settings.state_dir / "temporal.log")
            shutdown.on_force = temporal.kill
            client = await shutdown.until(temporal.wait_ready(settings, timeout=CONNECT_TIMEOUT_S))
        if client is None:
            return
        if command is None:  # someone else's Temporal: set up, or say how to
            await require_search_attributes(settings, client, settings.served_namespaces)
        facade = create_app(settings, client=client)
        modules = options.tasks if reload else ()
        served = [registry]
        worker = talking(
            reloading_worker(modules, load, registry, on_reload=lambda r: served.__setitem__(0, r)),
            served=lambda: served[0].ids,
        )
        banner = banner_printer(options, settings, registry, temporal, reload=reload)
        await serve(shutdown, settings, client, worker=worker, app=facade, on_ready=banner)
    finally:
        if temporal is not None:
            await asyncio.to_thread(temporal.stop)


def talking(side: WorkerSide, served: Callable[[], Sequence[str]]) -> WorkerSide:
    """``side``, with the terminal's account of runs (cli/narrator.py) while it serves:
    a line per run that ends, a warning per run of an unserved task, and on stop which
    runs the drain waits for."""

    @contextlib.asynccontextmanager
    async def wrapped(client: Client, settings: Settings) -> AsyncIterator[None]:
        narrator = Narrator(
            client,
            task_queue_prefix=settings.task_queue_prefix,
            api_url=settings.api_url,
            served=served,
            write=say,
        )
        stop = asyncio.Event()
        telling = asyncio.ensure_future(narrator.run(stop))
        try:
            async with side(client, settings):
                try:
                    yield
                finally:
                    say(await narrator.stopping_line(settings.drain_grace_s), err=True)
        finally:
            stop.set()
            await telling
            await narrator.look_safely()  # runs that ended while draining, if visible yet

    return wrapped


def dev_settings(options: DevOptions, **overrides: Any) -> Settings:
    """Settings for the dev stack: DURABLERUNS_* variables, then the dev options."""
    base = Settings()
    ui_url = (
        f"http://{options.ip}:{options.ui_port}"
        if options.temporal_address is None
        else base.temporal_ui_url
    )
    values: dict[str, Any] = {
        "temporal_address": options.address,
        "namespace": options.namespace,
        "api_port": options.api_port,
        "api_url": api_url(base, options.api_port),
        "temporal_ui_url": ui_url,
        **{key: value for key, value in overrides.items() if value is not None},
    }
    if "drain_grace_s" not in base.model_fields_set:
        values["drain_grace_s"] = DEV_DRAIN_GRACE_S
    if options.temporal_address is None:
        values["temporal_tls"] = False  # our own dev server: no TEMPORAL_TLS* from a profile
    return Settings(**values)


def _ids(registry: TaskRegistry | None) -> str:
    return ", ".join(registry.ids) if registry and len(registry) else "no tasks"


def sample_trigger(registry: TaskRegistry) -> tuple[str, str]:
    """The banner's sample: one of the developer's own tasks (not the examples) with a
    payload made from its schema, else ``hello-world``."""
    own = [t for t in registry if not t.qualified_name.startswith(EXAMPLE_MODULES)]
    if not own and "hello-world" in registry.ids:
        return "hello-world", '{"payload": {"name": "World"}}'
    task = next(iter(own or registry), None)
    if task is None:
        return "hello-world", '{"payload": {"name": "World"}}'
    schema = task.descriptor("").payload_schema
    return task.id, json.dumps({"payload": example_payload(schema)})


def banner_printer(
    options: DevOptions,
    settings: Settings,
    registry: TaskRegistry,
    temporal: DevServerProcess | None,
    *,
    reload: bool = True,
) -> Callable[[], None]:
    """What to print once everything serves: where things are, and how to try them."""

    def show() -> None:
        url, key = settings.api_url, settings.dev_secret_key()
        storage = str(options.db) if options.db else "in memory"
        ui = settings.temporal_ui_url if options.ui_enabled or temporal is None else "disabled"
        where = f"{settings.temporal_address}, namespace {settings.namespace}"
        log = f"; log {temporal.log_path}" if temporal else ""
        watching = f" (reloading on change: {' '.join(options.tasks)})" if reload else ""
        example, payload = sample_trigger(registry)
        curl = (
            f"  curl -X POST {url}/api/v1/tasks/{example}/trigger "
            f"-H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' "
            f"-d '{payload}'"
        )
        say(
            "durableruns dev is running (Ctrl+C to stop)\n"
            f"  Facade:      {url}\n"
            f"  Dashboard:   {url}/dashboard\n"
            f"  API docs:    {url}/docs (ReDoc: {url}/redoc)\n"
            f"  Temporal UI: {ui}\n"
            f"  Temporal:    {where} ({storage if temporal else 'external'}{log})\n"
            f"  Secret key:  {key}\n"
            f"  Tasks:       {_ids(registry)}{watching}\n\n{curl}"
        )

    return show
