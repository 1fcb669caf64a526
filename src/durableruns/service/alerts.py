"""An environment's alerts and their deliveries, held by its monitor workflow
(``engine/workflows/monitor.py``). Reads go through ``monitor_state`` (no worker
needed); changes are signals-with-start, checked and answered here, so an alert made
while no worker runs is kept and acted on once one starts."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio.client import Client
from temporalio.service import RPCError

from durableruns.alert_models import Alert, DeliveryRecord
from durableruns.engine.names import ALERTS_SIGNAL
from durableruns.engine.workflows.monitor import AlertChange, AlertsView
from durableruns.errors import EngineUnavailableError
from durableruns.service.monitor_state import read_monitor, start_monitor


class AlertService:
    """One environment's alerts."""

    def __init__(self, client: Client, *, task_queue_prefix: str) -> None:
        self._client = client
        self._prefix = task_queue_prefix

    async def view(self) -> AlertsView:
        """Every alert (secrets included when a worker answered: callers strip them) and
        their deliveries."""
        state = await read_monitor(self._client, self._prefix)
        return AlertsView(
            alerts=sorted(state.alerts.values(), key=lambda a: a.created_at),
            deliveries=state.deliveries,
        )

    async def get(self, alert_id: str) -> Alert | None:
        """One alert, or None."""
        return next((a for a in (await self.view()).alerts if a.id == alert_id), None)

    async def deliveries(self, alert_id: str) -> list[DeliveryRecord] | None:
        """An alert's recent deliveries, newest first; None for an unknown alert."""
        view = await self.view()
        if not any(a.id == alert_id for a in view.alerts):
            return None
        return list(reversed(view.deliveries.get(alert_id, [])))

    async def put(self, alert: Alert, *, keep_secret: bool = False) -> Alert:
        """Create or replace ``alert`` (``keep_secret``: a webhook given without a secret
        keeps the one it has)."""
        await self._send(AlertChange(action="put", alert=alert, keep_secret=keep_secret))
        return alert

    async def delete(self, alert_id: str) -> Alert | None:
        """Delete; the deleted alert, or None for an unknown one."""
        alert = await self.get(alert_id)
        if alert is not None:
            await self._send(AlertChange(action="delete", alert_id=alert_id))
        return alert

    async def set_enabled(self, alert_id: str, enabled: bool) -> Alert | None:
        """Enable or disable; the alert as changed, or None for an unknown one."""
        alert = await self.get(alert_id)
        if alert is None:
            return None
        action = "enable" if enabled else "disable"
        await self._send(AlertChange(action=action, alert_id=alert_id))
        return alert.model_copy(update={"enabled": enabled, "updated_at": datetime.now(UTC)})

    async def _send(self, change: AlertChange) -> None:
        try:
            await start_monitor(self._client, self._prefix, ALERTS_SIGNAL, change)
        except RPCError as exc:
            raise EngineUnavailableError(f"Could not change the alert: {exc.message}") from exc
