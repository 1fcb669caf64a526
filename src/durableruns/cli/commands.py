"""The ``durableruns`` command: ``dev`` runs Temporal, a worker and the facade in one
process tree; ``worker`` and ``api`` run one of them alone against any Temporal;
``init`` scaffolds a tasks module; ``trigger`` and ``runs …`` work with runs over HTTP
(``cli/remote.py``).

Connection settings come from Temporal's own configuration (``TEMPORAL_*`` variables,
temporal.toml profiles), with ``DURABLERUNS_*`` variables and these flags on top
(engine/temporal_config.py). :func:`main` always leaves through
:func:`~durableruns.process.exit_process`, because temporalio's runtime can crash the
interpreter's own exit (hazards.md); an expected failure is one ``Error:`` line.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
import traceback
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError

from durableruns.api import create_app
from durableruns.cli import alerts, errors
from durableruns.cli.dev import dev_settings, run_dev
from durableruns.cli.limits import limits_app
from durableruns.cli.remote import runs_app, trigger
from durableruns.cli.report import report
from durableruns.cli.scaffold import keep_state_out_of_git, next_steps, scaffold
from durableruns.cli.serve import plain_worker, run_alone, say
from durableruns.cli.setup import run_setup
from durableruns.cli.status import status
from durableruns.cli.sweep import run_sweep
from durableruns.dev_config import (
    DEFAULT_TASK_MODULES,
    ENV,
    DevFlags,
    config_path,
    load_dev_config,
    resolve_dev_options,
    split_modules,
    task_modules,
)
from durableruns.engine.client import resolve_settings, temporal_target
from durableruns.errors import DurableRunsError
from durableruns.event_loop import run_service
from durableruns.process import exit_process
from durableruns.service.dev_server import dev_server_command
from durableruns.settings import Settings
from durableruns.task_definitions import TaskRegistry

app = typer.Typer(
    name="durableruns",
    help="Trigger.dev-style background runs on Temporal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click help: no `<bool>` on flags, and at 80 columns or more a variable name
    # is never split (rich folded them); narrower terminals get the 80-column layout.
    rich_markup_mode=None,
    context_settings={
        "terminal_width": max(shutil.get_terminal_size().columns, 80),
        "max_content_width": 100,
    },
)


def _version() -> str:
    try:
        return package_version("durableruns")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def _show_version(value: bool) -> None:
    if value:
        say(f"durableruns {_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Trigger.dev-style background runs on Temporal."""


def _option(text: str, env: str, default: str | None = None) -> Any:
    """A typer option whose help names its ``DURABLERUNS_*`` variable and default."""
    default_text = f"; default {default}" if default else ""
    return typer.Option(help=f"{text} [env DURABLERUNS_{env}{default_text}]")


def _flag(name: str, text: str, env: str) -> Any:
    """An on/off flag (no value shown in help)."""
    return typer.Option(name, help=f"{text} [env DURABLERUNS_{env}]", show_default=False)


Port = Annotated[int | None, _option("Facade port", "API_PORT", "3030")]
Address = Annotated[
    str | None,
    _option("host:port of Temporal, over TEMPORAL_ADDRESS", "TEMPORAL_ADDRESS", "127.0.0.1:7233"),
]
Namespace = Annotated[
    str | None, _option("Namespace, over TEMPORAL_NAMESPACE", "NAMESPACE", "default")
]
Profile = Annotated[
    str | None, _option("temporal.toml profile, over TEMPORAL_PROFILE", "TEMPORAL_PROFILE")
]
TlsCa = Annotated[Path | None, _option("CA certificate (PEM) of the server", "TEMPORAL_TLS_CA")]
TlsCert = Annotated[Path | None, _option("Client certificate (PEM), mTLS", "TEMPORAL_TLS_CERT")]
TlsKey = Annotated[Path | None, _option("Client certificate's key (PEM)", "TEMPORAL_TLS_KEY")]
Isolation = Annotated[
    bool | None,
    typer.Option(
        "--isolation/--no-isolation",
        help="Run task code in task processes [env DURABLERUNS_ISOLATION; default on]",
        show_default=False,
    ),
]
Version = Annotated[str | None, _option("Version served", "VERSION", "today, e.g. 20261201.1")]
Tasks = Annotated[
    list[str] | None,
    typer.Option(
        "--tasks",
        metavar="MODULE",
        help=f"Module or package of tasks, repeatable; +MODULE adds to the default "
        f"[env {ENV['tasks']}; default {' '.join(DEFAULT_TASK_MODULES)}]",
    ),
]


app.command()(status)  # durableruns status (cli/status.py)
app.add_typer(errors.app, name="errors")  # durableruns errors … (cli/errors.py)
app.add_typer(alerts.app, name="alerts")  # durableruns alerts … (cli/alerts.py)
app.command()(report)  # durableruns report health (cli/report.py)
app.add_typer(limits_app, name="limits")  # durableruns limits … (cli/limits.py)


@app.command()
def dev(
    api_port: Port = None,
    temporal_port: Annotated[int | None, _option("Temporal port", "TEMPORAL_PORT", "7233")] = None,
    ui_port: Annotated[int | None, _option("Temporal UI port", "UI_PORT", "8233")] = None,
    db: Annotated[Path | None, _option("Temporal's SQLite file", "DB")] = None,
    in_memory: Annotated[bool, _flag("--in-memory", "No SQLite file", "IN_MEMORY=1")] = False,
    temporal_address: Annotated[
        str | None, _option("Use this Temporal; start none", "TEMPORAL_ADDRESS")
    ] = None,
    tasks: Tasks = None,
    config: Annotated[Path | None, _option("Dev settings", "CONFIG", "temporal-dev.yml")] = None,
    version: Version = None,
    isolation: Isolation = None,
    reload: Annotated[
        bool,
        typer.Option("--reload/--no-reload", help="Restart the worker when task files change"),
    ] = True,
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
    settings = dev_settings(options, version=version, isolation=isolation)
    command = None if options.temporal_address else dev_server_command(dev_config, options)
    run_service(run_dev(options, settings, command, _load_tasks, reload=reload))


@app.command()
def worker(
    temporal_address: Address = None,
    namespace: Namespace = None,
    profile: Profile = None,
    tls_ca: TlsCa = None,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
    tasks: Tasks = None,
    version: Version = None,
    task_queue_prefix: Annotated[str | None, _option("Queue prefix", "TASK_QUEUE_PREFIX")] = None,
    isolation: Isolation = None,
    drain_grace: Annotated[
        float | None, _option("Seconds running attempts get on SIGTERM", "DRAIN_GRACE_S", "30")
    ] = None,
    health_file: Annotated[
        Path | None, _option("File kept fresh while healthy", "HEALTH_FILE")
    ] = None,
) -> None:
    """Run a worker serving tasks; by default it joins `durableruns dev`."""
    settings = _settings(
        temporal_address=temporal_address,
        namespace=namespace,
        temporal_profile=profile,
        temporal_tls_ca=tls_ca,
        temporal_tls_cert=tls_cert,
        temporal_tls_key=tls_key,
        version=version,
        task_queue_prefix=task_queue_prefix,
        isolation=isolation,
        drain_grace_s=drain_grace,
        health_file=health_file,
    )
    registry = _load_tasks(task_modules(tasks or (), os.environ))
    run_service(run_alone(settings, worker=plain_worker(registry)))


@app.command()
def api(
    temporal_address: Address = None,
    namespace: Namespace = None,
    profile: Profile = None,
    tls_ca: TlsCa = None,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
    api_port: Port = None,
    host: Annotated[str | None, _option("Interface", "API_HOST", "127.0.0.1")] = None,
    task_queue_prefix: Annotated[str | None, _option("Queue prefix", "TASK_QUEUE_PREFIX")] = None,
) -> None:
    """Serve the facade alone; by default it joins `durableruns dev`."""
    settings = _settings(
        temporal_address=temporal_address,
        namespace=namespace,
        temporal_profile=profile,
        temporal_tls_ca=tls_ca,
        temporal_tls_cert=tls_cert,
        temporal_tls_key=tls_key,
        api_port=api_port,
        api_host=host,
        task_queue_prefix=task_queue_prefix,
    )
    run_service(run_alone(settings, make_app=lambda client: create_app(settings, client=client)))


@app.command("sweep-payloads")
def sweep_payloads(
    temporal_address: Address = None,
    namespace: Namespace = None,
    profile: Profile = None,
    tls_ca: TlsCa = None,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
    grace_hours: Annotated[
        float, typer.Option(help="Keep what changed within this many hours")
    ] = 1.0,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would go; delete nothing")
    ] = False,
) -> None:
    """Delete stored payloads (file storage) whose run's history Temporal no longer has.

    Run it on a schedule on a machine that sees the payload directory.
    """
    settings = _settings(
        temporal_address=temporal_address,
        namespace=namespace,
        temporal_profile=profile,
        temporal_tls_ca=tls_ca,
        temporal_tls_cert=tls_cert,
        temporal_tls_key=tls_key,
    )
    asyncio.run(run_sweep(settings, grace_hours=grace_hours, dry_run=dry_run))


@app.command()
def setup(
    temporal_address: Address = None,
    namespace: Namespace = None,
    profile: Profile = None,
    tls_ca: TlsCa = None,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
    print_commands: Annotated[
        bool,
        typer.Option(
            "--print-commands",
            help="Print the Temporal Cloud (tcld) commands instead; connect to nothing",
            show_default=False,
        ),
    ] = False,
) -> None:
    """Register the search attributes every served environment's namespace needs.

    Idempotent: only missing ones are added. For Temporal Cloud (or with
    --print-commands) it prints the tcld commands that do it.
    """
    settings = _settings(
        temporal_address=temporal_address,
        namespace=namespace,
        temporal_profile=profile,
        temporal_tls_ca=tls_ca,
        temporal_tls_cert=tls_cert,
        temporal_tls_key=tls_key,
    )
    status = asyncio.run(run_setup(settings, print_commands=print_commands))
    if status:
        raise typer.Exit(status)


@app.command()
def init(
    module: Annotated[str, typer.Argument(help="Name of the tasks module to create")] = "mytasks",
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files")] = False,
) -> None:
    """Create a tasks module with one example task, and a script that triggers it."""
    for path in scaffold(Path.cwd(), module, force=force):
        say(f"wrote {path}")
    ignore = keep_state_out_of_git(Path.cwd())
    if ignore is not None:
        say(f"added .durableruns/ (the dev secret keys) to {ignore}")
    say(next_steps(module))


app.command(no_args_is_help=True)(trigger)
app.add_typer(runs_app)


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
            say(exc.code, err=True)
            return 1
        return exc.code or 0
    except (DurableRunsError, ValidationError) as exc:  # ValidationError: DURABLERUNS_* values
        say(f"Error: {' '.join(str(exc).split())}", err=True)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception:
        traceback.print_exc()
        return 1
    return 0


def _settings(**overrides: Any) -> Settings:
    """Settings from DURABLERUNS_* variables, the flags that were given on top, then
    Temporal's profile for what neither gave; the TLS files are read now (fail fast)."""
    settings = Settings(**{key: value for key, value in overrides.items() if value is not None})
    settings = resolve_settings(settings)
    temporal_target(settings)
    return settings


def _load_tasks(modules: Sequence[str]) -> TaskRegistry:
    """Import the task modules from the current directory (the project root)."""
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    return TaskRegistry.from_modules(list(modules))
