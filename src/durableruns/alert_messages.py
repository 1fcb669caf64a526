"""What an alert's message looks like on each channel: the webhook's JSON body and its
signature, Slack's blocks, and the email's subject, text and HTML.

The webhook body (the receiver's contract)::

    {"id": "delivery_…",              # the idempotency key: the same on every retry
     "event": "run.failed",
     "environment": "dev",
     "alert": {"id": "alert_…", "name": "…"},
     "count": 1,                      # events this message stands for (throttled: more)
     "firstAt": "…", "lastAt": "…", "createdAt": "…",
     "subject": {"type": "run" | "error_group", "id": "…", "taskIdentifier": "…", …}}

signed with ``X-Durableruns-Signature: sha256=<hex HMAC-SHA256 of the raw body>``.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
from datetime import datetime
from typing import Any

from durableruns.alert_models import AlertEvent, Message

SIGNATURE_HEADER = "X-Durableruns-Signature"
DELIVERY_HEADER = "X-Durableruns-Delivery"
EVENT_HEADER = "X-Durableruns-Event"

_TITLES = {
    AlertEvent.RUN_FAILED: "Run failed",
    AlertEvent.ERROR_GROUP_NEW: "New error",
    AlertEvent.ERROR_GROUP_REGRESSED: "Error regressed",
    AlertEvent.ERROR_GROUP_UNIGNORED: "Error is back (no longer ignored)",
    AlertEvent.QUEUE_BACKLOG: "Queue backlog",
    AlertEvent.WORKER_MISSING: "No worker",
    AlertEvent.LIMIT_SATURATED: "Concurrency limit saturated",
}


def webhook_body(
    message: Message, *, alert_name: str, environment: str, created_at: datetime
) -> bytes:
    """The webhook's raw JSON body (what is signed is exactly these bytes)."""
    subject = message.subject
    document: dict[str, Any] = {
        "id": message.delivery_id,
        "event": message.event.value,
        "environment": environment,
        "alert": {"id": message.alert_id, "name": alert_name},
        "count": message.count,
        "firstAt": _iso(message.first_at),
        "lastAt": _iso(message.last_at),
        "createdAt": _iso(created_at),
        "subject": {
            "type": subject.type,
            "id": subject.id,
            "taskIdentifier": subject.task_identifier,
            "tags": list(subject.tags),
            "queue": subject.queue,
            **subject.details,
        },
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def signature(body: bytes, secret: str) -> str:
    """The ``X-Durableruns-Signature`` value: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def headline(message: Message, environment: str) -> str:
    """One line: what happened, where, and how many times."""
    subject = message.subject
    what = _TITLES[message.event]
    times = f" ({message.count} times)" if message.count > 1 else ""
    error = subject.details.get("error") or {}
    detail = subject.details.get("errorMessage") or error.get("message") or ""
    if "queued" in subject.details:
        detail = f"{subject.details['queued']} run(s) queued"
    if "bound" in subject.details:
        d = subject.details
        detail = f"{d['running']}/{d['bound']} running, {d['waiting']} waiting"
    detail = f": {detail}" if detail else ""
    return f"[{environment}] {what}{times}: {subject.task_identifier or subject.id}{detail}"


def link(message: Message, dashboard_url: str | None) -> str | None:
    """The dashboard page of the subject."""
    if not dashboard_url:
        return None
    base = dashboard_url.rstrip("/")
    kind = {"run": "runs", "error_group": "errors"}.get(message.subject.type)
    return f"{base}/dashboard/{kind}/{message.subject.id}" if kind else f"{base}/dashboard"


def slack_body(message: Message, environment: str, dashboard_url: str | None) -> bytes:
    """Slack's incoming-webhook JSON: ``text`` (notifications) and ``blocks``."""
    text = headline(message, environment)
    url = link(message, dashboard_url)
    facts = f"*{message.subject.type.replace('_', ' ')}* `{message.subject.id}`"
    if message.count > 1:
        facts += (
            f"\n{message.count} events between {_iso(message.first_at)} and {_iso(message.last_at)}"
        )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _TITLES[message.event]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(text)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": facts}},
    ]
    if url:
        blocks.append(
            {"type": "actions", "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "Open"}, "url": url}
            ]}
        )  # fmt: skip
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"delivery {message.delivery_id}"}],
        }
    )
    return json.dumps({"text": text, "blocks": blocks}).encode()


def email_parts(
    message: Message, environment: str, dashboard_url: str | None
) -> tuple[str, str, str]:
    """Subject line, plain text and HTML of the email."""
    subject_line = headline(message, environment)
    url = link(message, dashboard_url)
    lines = [
        subject_line,
        "",
        f"{message.subject.type.replace('_', ' ')}: {message.subject.id}",
        f"task: {message.subject.task_identifier}",
        f"events: {message.count} ({_iso(message.first_at)} to {_iso(message.last_at)})",
    ]
    if url:
        lines.append(f"open: {url}")
    lines.append(f"delivery: {message.delivery_id}")
    text = "\n".join(lines) + "\n"
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines[2:])
    anchor = f'<p><a href="{html.escape(url)}">Open in the dashboard</a></p>' if url else ""
    body = f"<h2>{html.escape(subject_line)}</h2><ul>{items}</ul>{anchor}"
    return subject_line, text, f"<!doctype html><html><body>{body}</body></html>"


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
