"""The deliver activity: one try of sending one alert message on its channel.

A try never raises for the receiver's answer: it returns whether the receiver took it
(2xx, or the SMTP server accepted the mail) and what it said, and the delivery
workflow decides about the next try. HTTP calls time out after 10 s.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage

import httpx
from temporalio import activity

from durableruns.alert_messages import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    email_parts,
    signature,
    slack_body,
    webhook_body,
)
from durableruns.alert_models import DeliveryAttempt, EmailChannel, SlackChannel, WebhookChannel
from durableruns.engine.workflows.alert_delivery import DELIVER_ACTIVITY, DeliveryInput
from durableruns.settings import Settings

HTTP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class SmtpSettings:
    """Where the worker sends email from."""

    host: str
    port: int = 25
    username: str | None = None
    password: str | None = None
    sender: str = "durableruns@localhost"
    starttls: bool = False


def smtp_settings(settings: Settings) -> SmtpSettings | None:
    """The worker's SMTP settings from ``DURABLERUNS_SMTP_*`` (None without a host)."""
    if not settings.smtp_host:
        return None
    return SmtpSettings(
        host=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password,
        sender=settings.smtp_from,
        starttls=settings.smtp_starttls,
    )


class AlertSender:
    """The deliver activity, bound to the worker's SMTP settings (None: no email)."""

    def __init__(self, smtp: SmtpSettings | None = None) -> None:
        self._smtp = smtp

    @activity.defn(name=DELIVER_ACTIVITY)
    async def deliver(self, input: DeliveryInput, number: int) -> DeliveryAttempt:
        """Send the message once; the try's record."""
        try:
            detail = await self._send(input)
        except Exception as exc:  # the receiver's fault or the network's: recorded, retried
            return _attempt(number, False, f"{type(exc).__name__}: {exc}"[:500])
        return _attempt(number, True, detail)

    async def _send(self, input: DeliveryInput) -> str:
        channel = input.channel
        message = input.message
        if isinstance(channel, WebhookChannel):
            body = webhook_body(
                message,
                alert_name=input.alert_name,
                environment=input.environment,
                created_at=input.created_at,
            )
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature(body, channel.secret),
                DELIVERY_HEADER: message.delivery_id,
                EVENT_HEADER: message.event.value,
            }
            return await _post(channel.url, body, headers)
        if isinstance(channel, SlackChannel):
            body = slack_body(message, input.environment, input.dashboard_url)
            return await _post(channel.url, body, {"Content-Type": "application/json"})
        assert isinstance(channel, EmailChannel)
        return await asyncio.to_thread(self._mail, input, channel)

    def _mail(self, input: DeliveryInput, channel: EmailChannel) -> str:
        if self._smtp is None:
            raise RuntimeError("this worker has no SMTP settings (DURABLERUNS_SMTP_HOST)")
        smtp = self._smtp
        subject, text, html = email_parts(input.message, input.environment, input.dashboard_url)
        mail = EmailMessage()
        mail["Subject"], mail["From"], mail["To"] = subject, smtp.sender, ", ".join(channel.to)
        mail["Message-ID"] = f"<{input.message.delivery_id}@durableruns>"  # dedupe key
        mail.set_content(text)
        mail.add_alternative(html, subtype="html")
        with smtplib.SMTP(smtp.host, smtp.port, timeout=HTTP_TIMEOUT_S) as client:
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context())
            if smtp.username:
                client.login(smtp.username, smtp.password or "")
            client.send_message(mail)
        return f"sent to {len(channel.to)} recipient(s)"


async def _post(url: str, body: bytes, headers: dict[str, str]) -> str:
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S) as http:
        response = await http.post(url, content=body, headers=headers)
    if not response.is_success:
        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
    return f"HTTP {response.status_code}"


def _attempt(number: int, ok: bool, detail: str) -> DeliveryAttempt:
    return DeliveryAttempt(number=number, at=datetime.now(UTC), ok=ok, detail=detail)
