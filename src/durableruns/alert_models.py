"""Alerts' durable records and their pure rules: which alerts an event matches, and the
throttle that turns a storm into a handful of messages that say how many.

An alert subscribes to events (:class:`AlertEvent`), optionally only for some tasks,
tags or queues, and names one channel (a signed webhook, a Slack incoming webhook, or
email). The environment's monitor workflow holds the alerts, matches each event, and
starts one delivery per message. Throttling, per alert and event: the first match
sends at once and opens a window of ``throttle_s``; matches inside the window are
counted, and when it closes one message carries their count (and opens the next
window). 5,000 failures in a minute with the default 60 s window are two messages.
Pure functions of their inputs (time included), so the workflow stays deterministic.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from durableruns.models import Frozen

DEFAULT_THROTTLE_S = 60
MAX_DELIVERY_RECORDS = 50
"""Delivery records kept per alert (newest)."""


class AlertEvent(StrEnum):
    """What an alert can subscribe to."""

    RUN_FAILED = "run.failed"
    ERROR_GROUP_NEW = "error_group.new"
    ERROR_GROUP_REGRESSED = "error_group.regressed"
    ERROR_GROUP_UNIGNORED = "error_group.unignored"
    QUEUE_BACKLOG = "queue.backlog"
    WORKER_MISSING = "worker.missing"
    LIMIT_SATURATED = "limit.saturated"


class WebhookChannel(Frozen):
    """A JSON POST signed ``X-Durableruns-Signature: sha256=<hex HMAC-SHA256>``."""

    type: Literal["webhook"] = "webhook"
    url: str
    secret: str


class SlackChannel(Frozen):
    """A Slack incoming-webhook URL (the message uses Slack's blocks)."""

    type: Literal["slack"] = "slack"
    url: str


class EmailChannel(Frozen):
    """Email through the worker's SMTP settings (plain text and HTML)."""

    type: Literal["email"] = "email"
    to: tuple[str, ...]


Channel = Annotated[WebhookChannel | SlackChannel | EmailChannel, Field(discriminator="type")]


class AlertFilter(Frozen):
    """Only events about these tasks / tags / queues; empty matches all."""

    tasks: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()


class Alert(Frozen):
    """One alert as the monitor workflow holds it (the secret included)."""

    id: str
    name: str
    events: tuple[AlertEvent, ...]
    channel: Channel
    filter: AlertFilter = AlertFilter()
    enabled: bool = True
    throttle_s: int = DEFAULT_THROTTLE_S
    backlog_size: int | None = None
    backlog_minutes: float | None = None
    limit_minutes: float | None = None
    environment: str = "dev"
    dashboard_url: str | None = None
    created_at: datetime
    updated_at: datetime


class Subject(Frozen):
    """What an event is about, as a receiver sees it (``type`` run or error_group)."""

    type: Literal["run", "error_group", "task", "queue", "limit"]
    id: str
    task_identifier: str
    tags: tuple[str, ...] = ()
    queue: str | None = None
    details: dict[str, Any] = {}


CONDITION_EVENTS = frozenset(
    {AlertEvent.QUEUE_BACKLOG, AlertEvent.WORKER_MISSING, AlertEvent.LIMIT_SATURATED}
)
"""Events about a state that lasts, found by a periodic probe (not by a failed run)."""
DEFAULT_BACKLOG_SIZE = 100
DEFAULT_MINUTES = 5.0


class SaturatedLimit(Frozen):
    """A concurrency limit at its bound with runs waiting."""

    name: str
    bound: int
    running: int
    waiting: int


class Probe(Frozen):
    """What the monitor's periodic probe found (``worker/health_probe.py``)."""

    at: datetime
    tasks_without_worker: dict[str, int] = {}
    """Task id → runs queued for it that no live worker polls for."""
    queued_by_queue: dict[str, int] = {}
    saturated: tuple[SaturatedLimit, ...] = ()


class Notice(Frozen):
    """One event matched by the monitor, before throttling."""

    event: AlertEvent
    subject: Subject
    at: datetime


class Message(Frozen):
    """What one delivery sends: the event, its latest subject, and how many events it
    stands for (more than one after a throttled window)."""

    delivery_id: str
    alert_id: str
    event: AlertEvent
    subject: Subject
    count: int
    first_at: datetime
    last_at: datetime


class DeliveryAttempt(Frozen):
    """One try of a delivery: when, whether the receiver took it, and what it said."""

    number: int
    at: datetime
    ok: bool
    detail: str = ""


DeliveryStatus = Literal["pending", "delivered", "failed"]
"""pending: not taken yet (tries remain); delivered; failed: tries ran out."""


class DeliveryRecord(BaseModel):
    """A delivery as the API lists it."""

    id: str
    alert_id: str
    event: AlertEvent
    count: int
    created_at: datetime
    status: DeliveryStatus = "pending"
    attempts: list[DeliveryAttempt] = []
    delivered_at: datetime | None = None


class ThrottleWindow(BaseModel):
    """An alert and event's open window: until when, and what it has counted."""

    until: datetime
    pending: int = 0
    first_at: datetime | None = None
    last: Notice | None = None


def matches(alert: Alert, notice: Notice) -> bool:
    """Whether ``alert`` wants ``notice``."""
    if not alert.enabled or notice.event not in alert.events:
        return False
    f, s = alert.filter, notice.subject
    if f.tasks and s.task_identifier not in f.tasks:
        return False
    if f.tags and not set(f.tags) & set(s.tags):
        return False
    return not (f.queues and s.queue not in f.queues)


def throttle(
    windows: dict[str, ThrottleWindow], alert: Alert, notice: Notice
) -> tuple[int, datetime] | None:
    """Count ``notice`` in its alert's window: ``(1, at)`` to send it now, or None when
    it waits for the window's digest."""
    key = window_key(alert.id, notice.event)
    window = windows.get(key)
    if window is None or notice.at >= window.until:
        windows[key] = ThrottleWindow(until=notice.at + timedelta(seconds=alert.throttle_s))
        return 1, notice.at
    window.pending += 1
    window.first_at = window.first_at or notice.at
    window.last = notice
    return None


def due_digests(
    windows: dict[str, ThrottleWindow], alerts: dict[str, Alert], now: datetime
) -> list[tuple[Alert, Notice, int, datetime]]:
    """Windows that closed by ``now``: a digest for each that counted something (its
    next window opens), and the others are dropped."""
    due = []
    for key in sorted(windows):
        window = windows[key]
        if window.until > now:
            continue
        alert = alerts.get(key.partition("|")[0])
        if window.pending and window.last is not None and alert is not None:
            due.append((alert, window.last, window.pending, window.first_at or window.last.at))
            windows[key] = ThrottleWindow(until=now + timedelta(seconds=alert.throttle_s))
        else:
            del windows[key]
    return due


def next_digest_at(windows: dict[str, ThrottleWindow]) -> datetime | None:
    """When the earliest window with something counted closes."""
    times = [w.until for w in windows.values() if w.pending]
    return min(times) if times else None


def condition_notices(
    alerts: list[Alert], probe: Probe, since: dict[str, datetime], fired: set[str]
) -> list[tuple[Alert, Notice]]:
    """The lasting states ``probe`` shows that alerts ask about, each sent once when it
    has lasted the alert's minutes, and again only after it cleared. ``since`` (when
    each state began) and ``fired`` are the caller's, updated here."""
    to_send: list[tuple[Alert, Notice]] = []
    holding: set[str] = set()
    for alert in alerts:
        for event, subject, minutes in _conditions(alert, probe):
            notice = Notice(event=event, subject=subject, at=probe.at)
            if not matches(alert, notice):
                continue
            key = f"{alert.id}|{event.value}|{subject.type}:{subject.id}"
            holding.add(key)
            began = since.setdefault(key, probe.at)
            if key not in fired and probe.at - began >= timedelta(minutes=minutes):
                fired.add(key)
                to_send.append((alert, notice))
    for key in [k for k in since if k not in holding]:
        del since[key]
        fired.discard(key)
    return to_send


def _conditions(alert: Alert, probe: Probe) -> list[tuple[AlertEvent, Subject, float]]:
    found: list[tuple[AlertEvent, Subject, float]] = []
    for task, queued in sorted(probe.tasks_without_worker.items()):
        subject = Subject(type="task", id=task, task_identifier=task, details={"queued": queued})
        found.append((AlertEvent.WORKER_MISSING, subject, 0.0))
    size = alert.backlog_size or DEFAULT_BACKLOG_SIZE
    for queue, queued in sorted(probe.queued_by_queue.items()):
        if queued > size:
            task = queue.removeprefix("task/") if queue.startswith("task/") else ""
            details = {"queued": queued, "threshold": size}
            subject = Subject(
                type="queue", id=queue, task_identifier=task, queue=queue, details=details
            )
            found.append(
                (AlertEvent.QUEUE_BACKLOG, subject, alert.backlog_minutes or DEFAULT_MINUTES)
            )
    for limit in probe.saturated:
        details = {"bound": limit.bound, "running": limit.running, "waiting": limit.waiting}
        subject = Subject(type="limit", id=limit.name, task_identifier="", details=details)
        found.append((AlertEvent.LIMIT_SATURATED, subject, alert.limit_minutes or DEFAULT_MINUTES))
    return found


def window_key(alert_id: str, event: AlertEvent) -> str:
    """The throttle key of an alert and event."""
    return f"{alert_id}|{event.value}"
