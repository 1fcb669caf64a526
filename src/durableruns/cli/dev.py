"""``durableruns dev``: the Temporal dev server as a child process, a worker that
reloads when the task modules change, and the facade, in one process tree.

The Temporal child stops last (after the facade and the worker), and is killed by a
second signal; see cli/serve.py for the signal rules and service/dev_server.py for how
the child can never outlive us.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from durableruns.api import create_app
from durableruns.cli.reload import reloading_worker
from durableruns.cli.serve import Shutdown, api_url, connect, say, serve
from durableruns.dev_config import DevOptions
from durableruns.engine.client import resolve_settings
from durableruns.service.dev_server import (
    DevServerProcess,
    ensure_dev_ports_free,
    ensure_port_free,
)
from durableruns.settings import Settings
from durableruns.task_definitions import TaskRegistry

CONNECT_TIMEOUT_S = 30.0


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
    registry = load(options.tasks)  # before starting anything: fail fast
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
        facade = create_app(settings, client=client)
        modules = options.tasks if reload else ()
        worker = reloading_worker(modules, load, registry)
        banner = banner_printer(options, settings, registry, temporal, reload=reload)
        await serve(shutdown, settings, client, worker=worker, app=facade, on_ready=banner)
    finally:
        if temporal is not None:
            await asyncio.to_thread(temporal.stop)


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
    if options.temporal_address is None:
        values["temporal_tls"] = False  # our own dev server: no TEMPORAL_TLS* from a profile
    return Settings(**values)


def _ids(registry: TaskRegistry | None) -> str:
    return ", ".join(registry.ids) if registry and len(registry) else "no tasks"


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
        example, payload = "hello-world", '{"payload": {"name": "World"}}'
        if example not in registry.ids and len(registry):
            example, payload = registry.ids[0], '{"payload": {}}'
        curl = (
            f"  curl -X POST {url}/api/v1/tasks/{example}/trigger "
            f"-H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' "
            f"-d '{payload}'"
        )
        say(
            "durableruns dev is running (Ctrl+C to stop)\n"
            f"  Facade:      {url}\n"
            f"  Dashboard:   {url}/dashboard\n"
            f"  API docs:    {url}/docs\n"
            f"  Temporal UI: {ui}\n"
            f"  Temporal:    {where} ({storage if temporal else 'external'}{log})\n"
            f"  Secret key:  {key}\n"
            f"  Tasks:       {_ids(registry)}{watching}\n\n{curl}"
        )

    return show
