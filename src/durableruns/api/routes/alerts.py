"""``/api/v1/alerts``: create, list, retrieve, update, enable/disable and delete alerts,
and list each alert's deliveries (``service.alerts``; the wire contract is in
``durableruns.wire_alerts``). Bad input is a 422 naming the field: an unknown event or
channel type, a URL that is not http(s), an email channel without SMTP settings, a
filter naming a task no deployed version has."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Request

from durableruns.alert_models import (
    Alert,
    AlertFilter,
    Channel,
    EmailChannel,
    SlackChannel,
    WebhookChannel,
)
from durableruns.api.deps import EnvironmentDep, get_environment
from durableruns.api.environments import Environment
from durableruns.api.errors import ApiHTTPError
from durableruns.service.alerts import AlertService
from durableruns.wire_alerts import (
    AlertFilterIn,
    AlertObject,
    ChannelIn,
    ChannelOut,
    CreateAlertRequest,
    DeliveryObject,
    EmailChannelIn,
    ListAlertsResult,
    ListDeliveriesResult,
    SlackChannelIn,
    UpdateAlertRequest,
    WebhookChannelIn,
)

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])
AlertId = Annotated[str, Path(description="The alert's id, ``alert_…``", max_length=64)]
RESPONSE = {"response_model": AlertObject, "response_model_exclude_none": True}


async def get_alerts(request: Request) -> AlertService:
    """The caller's environment's alerts, made on first use."""
    environment = get_environment(request)
    service: AlertService | None = environment.cache.get("alerts")
    if service is None:
        runs = environment.runs
        service = environment.cache["alerts"] = AlertService(
            runs.client, task_queue_prefix=runs.task_queue_prefix
        )
    return service


AlertsDep = Annotated[AlertService, Depends(get_alerts)]


@router.post("", **RESPONSE)  # type: ignore[arg-type]
async def create_alert(
    environment: EnvironmentDep, alerts: AlertsDep, body: Annotated[CreateAlertRequest, Body()]
) -> AlertObject:
    """Create an alert; its secret is never answered back."""
    await _check(environment, body.channel, body.filter)
    now = datetime.now(UTC)
    alert = Alert(
        id=f"alert_{secrets.token_hex(8)}",
        name=body.name,
        events=tuple(dict.fromkeys(body.events)),
        channel=_channel(body.channel, None),
        filter=_filter(body.filter),
        throttle_s=body.throttle_seconds,
        backlog_size=body.backlog_size,
        backlog_minutes=body.backlog_minutes,
        limit_minutes=body.limit_minutes,
        environment=environment.name,
        dashboard_url=environment.settings.api_url,
        created_at=now,
        updated_at=now,
    )
    return alert_object(await alerts.put(alert))


@router.get("", response_model=ListAlertsResult, response_model_exclude_none=True)
async def list_alerts(alerts: AlertsDep) -> ListAlertsResult:
    """Every alert of the environment, oldest first."""
    return ListAlertsResult(data=[alert_object(a) for a in (await alerts.view()).alerts])


@router.get("/{alert_id}", **RESPONSE)  # type: ignore[arg-type]
async def retrieve_alert(alert_id: AlertId, alerts: AlertsDep) -> AlertObject:
    """One alert."""
    return alert_object(_found(alert_id, await alerts.get(alert_id)))


@router.put("/{alert_id}", **RESPONSE)  # type: ignore[arg-type]
async def update_alert(
    alert_id: AlertId,
    environment: EnvironmentDep,
    alerts: AlertsDep,
    body: Annotated[UpdateAlertRequest, Body()],
) -> AlertObject:
    """Replace the fields given; a webhook channel without ``secret`` keeps the old one."""
    current = _found(alert_id, await alerts.get(alert_id))
    await _check(environment, body.channel, body.filter, current.channel)
    given = body.model_dump(exclude_unset=True)
    changes: dict[str, object] = {"updated_at": datetime.now(UTC)}
    if body.name is not None:
        changes["name"] = body.name
    if body.events is not None:
        changes["events"] = tuple(dict.fromkeys(body.events))
    if body.channel is not None:
        changes["channel"] = _channel(body.channel, current.channel)
    if body.filter is not None:
        changes["filter"] = _filter(body.filter)
    if body.throttle_seconds is not None:
        changes["throttle_s"] = body.throttle_seconds
    for name in ("backlog_size", "backlog_minutes", "limit_minutes"):
        if name in given:
            changes[name] = given[name]
    # The current alert may come from the memo (no worker): its secret is blank there,
    # and the workflow puts the one it holds back.
    keep = body.channel is None or (
        isinstance(body.channel, WebhookChannelIn) and body.channel.secret is None
    )
    return alert_object(await alerts.put(current.model_copy(update=changes), keep_secret=keep))


@router.post("/{alert_id}/disable", **RESPONSE)  # type: ignore[arg-type]
async def disable_alert(alert_id: AlertId, alerts: AlertsDep) -> AlertObject:
    """Stop sending (deliveries already started finish)."""
    return alert_object(_found(alert_id, await alerts.set_enabled(alert_id, False)))


@router.post("/{alert_id}/enable", **RESPONSE)  # type: ignore[arg-type]
async def enable_alert(alert_id: AlertId, alerts: AlertsDep) -> AlertObject:
    """Send again."""
    return alert_object(_found(alert_id, await alerts.set_enabled(alert_id, True)))


@router.delete("/{alert_id}", **RESPONSE)  # type: ignore[arg-type]
async def delete_alert(alert_id: AlertId, alerts: AlertsDep) -> AlertObject:
    """Delete the alert and its delivery records; answers what was deleted."""
    return alert_object(_found(alert_id, await alerts.delete(alert_id)))


@router.get(
    "/{alert_id}/deliveries", response_model=ListDeliveriesResult, response_model_exclude_none=True
)
async def list_deliveries(alert_id: AlertId, alerts: AlertsDep) -> ListDeliveriesResult:
    """The alert's recent deliveries, newest first, each with every try."""
    records = await alerts.deliveries(alert_id)
    if records is None:
        raise ApiHTTPError(404, f"No alert {alert_id}")
    return ListDeliveriesResult(
        data=[DeliveryObject.model_validate(r.model_dump()) for r in records]
    )


# --- shapes and checks ---------------------------------------------------------------
def alert_object(alert: Alert) -> AlertObject:
    """The answer's shape of an alert: no secret, a Slack URL masked."""
    channel = alert.channel
    if isinstance(channel, WebhookChannel):
        out = ChannelOut(type="webhook", url=channel.url, secret_set=True)  # required
    elif isinstance(channel, SlackChannel):
        out = ChannelOut(type="slack", url=_masked(channel.url))
    else:
        out = ChannelOut(type="email", to=list(channel.to))
    f = alert.filter
    return AlertObject(
        id=alert.id,
        name=alert.name,
        events=list(alert.events),
        channel=out,
        filter=AlertFilterIn(tasks=list(f.tasks), tags=list(f.tags), queues=list(f.queues)),
        enabled=alert.enabled,
        throttle_seconds=alert.throttle_s,
        backlog_size=alert.backlog_size,
        backlog_minutes=alert.backlog_minutes,
        limit_minutes=alert.limit_minutes,
        created_at=alert.created_at,
        updated_at=alert.updated_at,
    )


async def _check(
    environment: Environment,
    channel: ChannelIn | None,
    alert_filter: AlertFilterIn | None,
    current: Channel | None = None,
) -> None:
    if isinstance(channel, EmailChannelIn) and not environment.settings.smtp_host:
        raise ApiHTTPError(
            422, "channel.type: email needs SMTP settings (DURABLERUNS_SMTP_HOST), none are set"
        )
    keeps_secret = isinstance(current, WebhookChannel)
    if isinstance(channel, WebhookChannelIn) and channel.secret is None and not keeps_secret:
        raise ApiHTTPError(422, "channel.secret: required for a webhook")
    if alert_filter is not None and alert_filter.tasks:
        catalog = await environment.runs.catalog.get()
        for index, task_id in enumerate(alert_filter.tasks):
            if catalog.latest_serving(task_id) is None:
                raise ApiHTTPError(
                    422, f"filter.tasks[{index}]: no deployed version has a task {task_id!r}"
                )


def _channel(channel: ChannelIn, current: Channel | None) -> Channel:
    if isinstance(channel, WebhookChannelIn):
        secret = channel.secret
        if secret is None and isinstance(current, WebhookChannel):
            secret = current.secret
        return WebhookChannel(url=channel.url, secret=secret or "")
    if isinstance(channel, SlackChannelIn):
        return SlackChannel(url=channel.url)
    return EmailChannel(to=tuple(channel.to))


def _filter(f: AlertFilterIn) -> AlertFilter:
    return AlertFilter(tasks=tuple(f.tasks), tags=tuple(f.tags), queues=tuple(f.queues))


def _masked(url: str) -> str:
    if not url:
        return ""  # read from the memo, which never holds it
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0]
    return f"{scheme}://{host}/…"


def _found(alert_id: str, alert: Alert | None) -> Alert:
    if alert is None:
        raise ApiHTTPError(404, f"No alert {alert_id}")
    return alert
