"""The alert-delivery workflow: one per message, id = the delivery id (the receiver's
idempotency key, the same on every try).

Each try is one execution of the deliver activity (``worker/alert_delivery.py``) with
no retry of its own: the loop here retries with backoff (1 s, doubling, at most
5 minutes, 12 tries), so every try is recorded. A worker that dies mid-try times the
activity out and the next try runs wherever a worker is. After each try the monitor
workflow is told (the deliveries the API lists). Deliveries are workflows of their
own, so a receiver that answers 500 or never answers holds up no other alert.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from durableruns.alert_models import Channel, DeliveryAttempt, DeliveryStatus, Message
    from durableruns.engine.names import (
        ALERT_DELIVER_ACTIVITY,
        ALERT_DELIVERY_WORKFLOW,
        DELIVERY_ATTEMPTED_SIGNAL,
    )
    from durableruns.models import Frozen

DELIVER_ACTIVITY = ALERT_DELIVER_ACTIVITY
TRY_TIMEOUT = timedelta(seconds=15)
"""A try's bound (the HTTP call's own timeout is 10 s): past it the worker is gone."""


class DeliveryInput(Frozen):
    """One message to send, with what sending needs (the channel, secret included)."""

    message: Message
    alert_name: str
    channel: Channel
    environment: str
    dashboard_url: str | None = None
    monitor_id: str
    created_at: datetime
    max_attempts: int = 12
    first_backoff_s: float = 1.0
    max_backoff_s: float = 300.0


class DeliveryProgress(Frozen):
    """A try's outcome, as the monitor records it."""

    delivery_id: str
    alert_id: str
    attempt: DeliveryAttempt
    status: DeliveryStatus


@workflow.defn(name=ALERT_DELIVERY_WORKFLOW)
class AlertDeliveryWorkflow:
    """Sends one message, at least once, until the receiver takes it or tries run out."""

    @workflow.run
    async def run(self, input: DeliveryInput) -> list[DeliveryAttempt]:
        """Try, record, back off; the tries made."""
        attempts: list[DeliveryAttempt] = []
        for number in range(1, input.max_attempts + 1):
            attempt = await self._try(input, number)
            attempts.append(attempt)
            last = attempt.ok or number == input.max_attempts
            status: DeliveryStatus = (
                "delivered" if attempt.ok else ("failed" if last else "pending")
            )
            await self._tell_monitor(input, attempt, status)
            if last:
                break
            backoff = min(input.max_backoff_s, input.first_backoff_s * 2 ** (number - 1))
            await workflow.sleep(timedelta(seconds=backoff))
        return attempts

    async def _try(self, input: DeliveryInput, number: int) -> DeliveryAttempt:
        try:
            attempt: DeliveryAttempt = await workflow.execute_activity(
                DELIVER_ACTIVITY,
                args=[input, number],
                result_type=DeliveryAttempt,
                start_to_close_timeout=TRY_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
            return attempt
        except ActivityError as err:  # the worker died or timed out mid-try
            detail = f"{type(err.cause).__name__}: {err.cause}" if err.cause else str(err)
            return DeliveryAttempt(number=number, at=workflow.now(), ok=False, detail=detail)

    async def _tell_monitor(
        self, input: DeliveryInput, attempt: DeliveryAttempt, status: str
    ) -> None:
        monitor = workflow.get_external_workflow_handle(input.monitor_id)
        progress = DeliveryProgress(
            delivery_id=input.message.delivery_id,
            alert_id=input.message.alert_id,
            attempt=attempt,
            status=status,
        )
        try:
            await monitor.signal(DELIVERY_ATTEMPTED_SIGNAL, progress)
        except Exception:  # the record is a courtesy; the delivery itself must go on
            workflow.logger.warning("monitor not told of %s", input.message.delivery_id)
