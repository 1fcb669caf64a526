"""The shapes of ``/api/v1/alerts`` (ours: Trigger.dev configures alerts in its
dashboard only), shared by the facade and the Python SDK.

The request body (build to exactly this)::

    {"name": "…",
     "events": ["run.failed", "error_group.new", "error_group.regressed",
                "error_group.unignored", "queue.backlog", "worker.missing",
                "limit.saturated"],
     "channel": {"type": "webhook", "url": "…", "secret": "…"}
              | {"type": "slack", "url": "…"} | {"type": "email", "to": ["…"]},
     "filter": {"tasks": […], "tags": […], "queues": […]},
     "throttleSeconds": 60,                       # one message per window, with a count
     "backlogSize": 100, "backlogMinutes": 5,     # queue.backlog's parameters
     "limitMinutes": 5}                           # limit.saturated's parameter

Secrets never come back: a webhook's channel answers ``secretSet: true`` instead of its
secret, and a Slack channel's URL (itself a credential) answers with its path masked.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, field_validator

from durableruns.alert_models import AlertEvent, DeliveryAttempt, DeliveryStatus
from durableruns.wire import WireModel

MAX_LIST = 50
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value) or len(value) > 2000:
        raise ValueError("must be an http:// or https:// URL")
    return value


class WebhookChannelIn(WireModel):
    """A signed JSON webhook."""

    type: Literal["webhook"]
    url: str
    secret: str | None = Field(default=None, min_length=8, max_length=512)
    """Required on create; omitted on update, the alert keeps its secret."""

    _url = field_validator("url")(_http_url)


class SlackChannelIn(WireModel):
    """A Slack incoming webhook."""

    type: Literal["slack"]
    url: str

    _url = field_validator("url")(_http_url)


class EmailChannelIn(WireModel):
    """Email to these addresses (the workers' SMTP settings)."""

    type: Literal["email"]
    to: list[str] = Field(min_length=1, max_length=MAX_LIST)

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if not _EMAIL.match(address) or len(address) > 320:
                raise ValueError(f"{address!r} is not an email address")
        return value


ChannelIn = Annotated[
    WebhookChannelIn | SlackChannelIn | EmailChannelIn, Field(discriminator="type")
]


class AlertFilterIn(WireModel):
    """Only events about these tasks, tags or queues."""

    tasks: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(
        default=[], max_length=MAX_LIST
    )
    tags: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(
        default=[], max_length=MAX_LIST
    )
    queues: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(
        default=[], max_length=MAX_LIST
    )


class CreateAlertRequest(WireModel):
    """Body of ``POST /api/v1/alerts``."""

    name: str = Field(min_length=1, max_length=200)
    events: list[AlertEvent] = Field(min_length=1, max_length=len(AlertEvent))
    channel: ChannelIn
    filter: AlertFilterIn = AlertFilterIn()
    throttle_seconds: int = Field(default=60, ge=0, le=86_400)
    backlog_size: int | None = Field(default=None, ge=1)
    backlog_minutes: float | None = Field(default=None, gt=0, le=1440)
    limit_minutes: float | None = Field(default=None, gt=0, le=1440)


class UpdateAlertRequest(WireModel):
    """Body of ``PUT /api/v1/alerts/{id}``: the fields given replace the alert's."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    events: list[AlertEvent] | None = Field(default=None, min_length=1, max_length=len(AlertEvent))
    channel: ChannelIn | None = None
    filter: AlertFilterIn | None = None
    throttle_seconds: int | None = Field(default=None, ge=0, le=86_400)
    backlog_size: int | None = Field(default=None, ge=1)
    backlog_minutes: float | None = Field(default=None, gt=0, le=1440)
    limit_minutes: float | None = Field(default=None, gt=0, le=1440)


class ChannelOut(WireModel):
    """A channel as answered: no secret."""

    type: Literal["webhook", "slack", "email"]
    url: str | None = None
    secret_set: bool | None = None
    to: list[str] | None = None


class AlertObject(WireModel):
    """An alert as every ``/api/v1/alerts`` call answers it."""

    id: str
    name: str
    events: list[AlertEvent]
    channel: ChannelOut
    filter: AlertFilterIn
    enabled: bool
    throttle_seconds: int
    backlog_size: int | None = None
    backlog_minutes: float | None = None
    limit_minutes: float | None = None
    created_at: datetime
    updated_at: datetime


class ListAlertsResult(WireModel):
    """``GET /api/v1/alerts``."""

    data: list[AlertObject]


class DeliveryObject(WireModel):
    """One delivery: its id (the receiver's idempotency key) and every try."""

    id: str
    alert_id: str
    event: AlertEvent
    count: int
    status: DeliveryStatus
    created_at: datetime
    delivered_at: datetime | None = None
    attempts: list[DeliveryAttempt] = []


class ListDeliveriesResult(WireModel):
    """``GET /api/v1/alerts/{id}/deliveries``, newest first."""

    data: list[DeliveryObject]
