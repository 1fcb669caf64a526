"""``durableruns alerts list|create|deliveries|enable|disable|delete``: the environment's
alerts through ``service.alerts`` (straight to Temporal, like ``durableruns status``).
Secrets are never printed."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import typer

from durableruns.alert_models import (
    Alert,
    AlertEvent,
    AlertFilter,
    Channel,
    EmailChannel,
    SlackChannel,
    WebhookChannel,
)
from durableruns.engine.client import connect
from durableruns.errors import InvalidInputError
from durableruns.service.alerts import AlertService
from durableruns.settings import Settings

app = typer.Typer(help="Alerts: be told when runs fail or errors appear.", no_args_is_help=True)
T = TypeVar("T")
Prefix = Annotated[
    str | None, typer.Option(help="Queue prefix (env DURABLERUNS_TASK_QUEUE_PREFIX)")
]
Address = Annotated[
    str | None, typer.Option(help="host:port of Temporal (env DURABLERUNS_TEMPORAL_ADDRESS)")
]
AlertId = Annotated[str, typer.Argument(help="The alert's id, alert_…")]


def _call(
    address: str | None, prefix: str | None, use: Callable[[AlertService, Settings], Awaitable[T]]
) -> T:
    given: dict[str, Any] = {"temporal_address": address, "task_queue_prefix": prefix}
    settings = Settings(**{k: v for k, v in given.items() if v is not None})
    settings = settings.model_copy(update={"sdk_metrics": False})

    async def go() -> T:
        client = await connect(settings)
        service = AlertService(client, task_queue_prefix=settings.task_queue_prefix)
        return await use(service, settings)

    return asyncio.run(go())


@app.command("list")
def list_alerts(temporal_address: Address = None, task_queue_prefix: Prefix = None) -> None:
    """Every alert: id, on/off, events, channel."""

    async def use(service: AlertService, _: Settings) -> list[Alert]:
        return (await service.view()).alerts

    alerts = _call(temporal_address, task_queue_prefix, use)
    typer.echo("\n".join(render(a) for a in alerts) if alerts else "No alerts.")


@app.command()
def create(
    name: Annotated[str, typer.Option(help="What to call it")],
    event: Annotated[list[str], typer.Option(help="An event, repeatable (run.failed, …)")],
    webhook: Annotated[str | None, typer.Option(help="A webhook URL (signed)")] = None,
    secret: Annotated[str | None, typer.Option(help="The webhook's signing secret")] = None,
    slack: Annotated[str | None, typer.Option(help="A Slack incoming-webhook URL")] = None,
    email: Annotated[list[str] | None, typer.Option(help="An address, repeatable")] = None,
    task: Annotated[list[str] | None, typer.Option(help="Only this task, repeatable")] = None,
    temporal_address: Address = None,
    task_queue_prefix: Prefix = None,
) -> None:
    """Create an alert on one channel (--webhook with --secret, --slack or --email)."""
    try:
        events = tuple(AlertEvent(e) for e in event)
    except ValueError as exc:
        raise InvalidInputError("--event", str(exc)) from exc
    channel = _channel(webhook, secret, slack, email or [])

    async def use(service: AlertService, settings: Settings) -> Alert:
        now = datetime.now(UTC)
        alert = Alert(
            id=f"alert_{secrets.token_hex(8)}",
            name=name,
            events=events,
            channel=channel,
            filter=AlertFilter(tasks=tuple(task or ())),
            environment=settings.environment,
            dashboard_url=settings.api_url,
            created_at=now,
            updated_at=now,
        )
        return await service.put(alert)

    typer.echo(render(_call(temporal_address, task_queue_prefix, use)))


@app.command()
def deliveries(
    alert_id: AlertId, temporal_address: Address = None, task_queue_prefix: Prefix = None
) -> None:
    """An alert's recent deliveries, newest first, with every try."""
    records = _call(temporal_address, task_queue_prefix, lambda s, _: s.deliveries(alert_id))
    if records is None:
        raise InvalidInputError("ALERT_ID", f"no alert {alert_id}")
    for record in records:
        typer.echo(f"{record.id}  {record.status:<9}  {record.event.value}  x{record.count}")
        for attempt in record.attempts:
            mark = "ok" if attempt.ok else "failed"
            typer.echo(f"    try {attempt.number} {attempt.at.isoformat()} {mark} {attempt.detail}")
    if not records:
        typer.echo("No deliveries yet.")


@app.command()
def enable(
    alert_id: AlertId, temporal_address: Address = None, task_queue_prefix: Prefix = None
) -> None:
    """Send again."""
    _change(alert_id, temporal_address, task_queue_prefix, lambda s: s.set_enabled(alert_id, True))


@app.command()
def disable(
    alert_id: AlertId, temporal_address: Address = None, task_queue_prefix: Prefix = None
) -> None:
    """Stop sending."""
    _change(alert_id, temporal_address, task_queue_prefix, lambda s: s.set_enabled(alert_id, False))


@app.command()
def delete(
    alert_id: AlertId, temporal_address: Address = None, task_queue_prefix: Prefix = None
) -> None:
    """Delete the alert and its delivery records."""
    _change(alert_id, temporal_address, task_queue_prefix, lambda s: s.delete(alert_id))


def _change(
    alert_id: str,
    address: str | None,
    prefix: str | None,
    use: Callable[[AlertService], Awaitable[Alert | None]],
) -> None:
    alert = _call(address, prefix, lambda s, _: use(s))
    if alert is None:
        raise InvalidInputError("ALERT_ID", f"no alert {alert_id}")
    typer.echo(render(alert))


def render(alert: Alert) -> str:
    """One line per alert; a webhook's secret shows as ``signed``, a Slack URL masked."""
    channel = alert.channel
    if isinstance(channel, WebhookChannel):
        target = f"webhook {channel.url} (signed)"
    elif isinstance(channel, SlackChannel):
        target = f"slack {channel.url.split('://')[-1].split('/')[0]}/…"
    else:
        target = f"email {', '.join(channel.to)}"
    state = "on " if alert.enabled else "off"
    events = ",".join(e.value for e in alert.events)
    return f"{alert.id}  {state}  {alert.name}  [{events}]  {target}"


def _channel(
    webhook: str | None, secret: str | None, slack: str | None, email: list[str]
) -> Channel:
    given = [c for c in (webhook, slack, email or None) if c]
    if len(given) != 1:
        raise InvalidInputError("--webhook/--slack/--email", "give exactly one channel")
    for url in (webhook, slack):
        if url and not re.match(r"^https?://[^/\s]+", url):
            raise InvalidInputError("--webhook/--slack", "must be an http:// or https:// URL")
    if webhook:
        if not secret or len(secret) < 8:
            raise InvalidInputError("--secret", "a webhook needs a secret of 8 characters or more")
        return WebhookChannel(url=webhook, secret=secret)
    if slack:
        return SlackChannel(url=slack)
    return EmailChannel(to=tuple(email))
