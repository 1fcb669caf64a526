"""Runs from the terminal (issue 23), as Trigger.dev's CLI: ``durableruns trigger`` and
``durableruns runs list|get|replay|cancel|logs``. They talk HTTP to a facade through the
Python SDK, so they read the same variables (``DURABLERUNS_API_URL`` or
``TRIGGER_API_URL``, ``DURABLERUNS_SECRET_KEY`` or ``TRIGGER_SECRET_KEY``, else the dev
stack's key in ``.durableruns/``). Output is a table for people, or ``--json`` for scripts.

``trigger --wait`` exits with the run's outcome: 0 COMPLETED (its output printed as JSON),
1 FAILED, CRASHED, SYSTEM_FAILURE or TIMED_OUT, 3 CANCELED, 4 EXPIRED (2 is a usage
error, as for every command).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine, Sequence
from typing import Annotated, Any, TypeVar

import typer

from durableruns.sdk import runs as sdk_runs
from durableruns.sdk import tasks as sdk_tasks
from durableruns.sdk.run_logs import follow_logs, logs
from durableruns.wire import Run

T = TypeVar("T")

EXIT_FOR_STATUS = {
    "COMPLETED": 0,
    "FAILED": 1,
    "CRASHED": 1,
    "SYSTEM_FAILURE": 1,
    "TIMED_OUT": 1,
    "CANCELED": 3,
    "EXPIRED": 4,
}
"""``trigger --wait``'s exit status for each final status."""

runs_app = typer.Typer(
    name="runs",
    help="List, inspect, replay and cancel runs (over HTTP, through the SDK).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
RunArg = Annotated[str, typer.Argument(help="The run's id, run_…")]


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, default=str))


def _table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> None:
    """Columns padded to their widest cell."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        typer.echo("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _payload(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint="--payload") from exc


def trigger(
    task: Annotated[str, typer.Argument(help="The task's id, e.g. hello-world")],
    payload: Annotated[str | None, typer.Option(help="The payload, as JSON")] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait for the run to finish; exit with its outcome")
    ] = False,
    idempotency_key: Annotated[str | None, typer.Option(help="An idempotency key")] = None,
    delay: Annotated[str | None, typer.Option(help="Start later: 30s, 1h, or a date")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="A tag (repeat for more)")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Trigger a run of TASK; with --wait, print its output and exit with its outcome."""
    body = _payload(payload)
    options: dict[str, Any] = {
        "idempotency_key": idempotency_key,
        "delay": delay,
        "tags": tag or None,
    }
    options = {k: v for k, v in options.items() if v is not None}
    handle = _run(sdk_tasks.trigger(task, body, **options))
    if not wait:
        if as_json:
            _print_json({"id": handle.id, "isCached": handle.is_cached})
        else:
            cached = " (cached: the idempotency key's existing run)" if handle.is_cached else ""
            typer.echo(f"Triggered {handle.id}{cached}")
        return
    run = _run(sdk_runs.poll(handle.id, timeout=24 * 3600))
    if as_json:
        _print_json(run.to_wire())
    elif run.status == "COMPLETED":
        _print_json(run.output)
    else:
        message = run.error.message if run.error else ""
        typer.echo(f"Run {run.id} {run.status}: {message}".rstrip(": "), err=True)
    raise typer.Exit(EXIT_FOR_STATUS.get(str(run.status), 1))


@runs_app.command("list")
def list_runs(
    status: Annotated[list[str] | None, typer.Option(help="A status (repeat for more)")] = None,
    task: Annotated[list[str] | None, typer.Option(help="A task id (repeat for more)")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="A tag (repeat for more)")] = None,
    period: Annotated[str | None, typer.Option(help="Created within: 30m, 1d, 7d")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="How many runs")] = 20,
    as_json: JsonFlag = False,
) -> None:
    """The newest runs matching the filters."""
    page = _run(
        sdk_runs.list_page(
            status=status or None, task_identifier=task, tag=tag, period=period, limit=limit
        )
    )
    if as_json:
        _print_json([run.to_wire() for run in page.items])
        return
    rows = [
        (r.id, r.task_identifier, str(r.status), r.created_at.isoformat(timespec="seconds"))
        for r in page.items
    ]
    _table(rows, ("ID", "TASK", "STATUS", "CREATED"))


@runs_app.command("get")
def get_run(run_id: RunArg, as_json: JsonFlag = False) -> None:
    """One run: status, attempts, output or error."""
    run = _run(sdk_runs.retrieve(run_id))
    if as_json:
        _print_json(run.to_wire())
        return
    _describe(run)


def _describe(run: Run[Any, Any]) -> None:
    fields = [
        ("ID", run.id),
        ("TASK", run.task_identifier),
        ("STATUS", str(run.status)),
        ("CREATED", run.created_at.isoformat(timespec="seconds")),
        ("FINISHED", run.finished_at.isoformat(timespec="seconds") if run.finished_at else "-"),
        ("ATTEMPTS", str(run.attempt_count)),
        ("TAGS", ", ".join(run.tags) or "-"),
    ]
    if run.output is not None:
        fields.append(("OUTPUT", json.dumps(run.output, default=str)))
    if run.error is not None:
        fields.append(("ERROR", f"{run.error.name}: {run.error.message}"))
    _table(fields, ("FIELD", "VALUE"))


@runs_app.command("replay")
def replay_run(
    run_id: RunArg,
    from_step: Annotated[
        str | None, typer.Option(help="Rerun from this step (a name or journal position)")
    ] = None,
    payload: Annotated[str | None, typer.Option(help="Another payload, as JSON")] = None,
    as_json: JsonFlag = False,
) -> None:
    """A new run of the same task with the same payload (or --payload); with
    --from-step, the steps before it return the run's records instead of running."""
    overrides: dict[str, Any] = {"from_step": from_step}
    if payload is not None:
        overrides["payload"] = _payload(payload)
    handle = _run(sdk_runs.replay(run_id, **overrides))
    if as_json:
        _print_json({"id": handle.id})
    else:
        typer.echo(f"Replayed {run_id} as {handle.id}")


@runs_app.command("cancel")
def cancel_run(run_id: RunArg, as_json: JsonFlag = False) -> None:
    """Cancel a run (a finished run is left as it is)."""
    _run(sdk_runs.cancel(run_id))
    if as_json:
        _print_json({"id": run_id})
    else:
        typer.echo(f"Canceled {run_id}")


@runs_app.command("logs")
def run_logs(
    run_id: RunArg,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines until it ends")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """The run's log lines (with --follow, new ones too, until the run ends)."""

    async def show() -> None:
        lines = follow_logs(run_id) if follow else logs(run_id)
        async for line in lines:
            if as_json:
                typer.echo(json.dumps(line.to_wire(), default=str))
            else:
                stamp = line.timestamp.isoformat(timespec="milliseconds")
                typer.echo(f"{stamp}  {line.level:<5}  #{line.attempt}  {line.message}")

    _run(show())
