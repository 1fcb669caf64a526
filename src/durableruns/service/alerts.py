"""An environment's alerts and their deliveries, held by its monitor workflow
(``engine/workflows/monitor.py``): read with a query, changed with validated Updates
(Update-with-Start, so the first alert of an environment no worker joined yet is kept
too; it is acted on once a worker runs)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from durableruns.alert_models import Alert, DeliveryRecord
from durableruns.engine.names import monitor_id, runs_queue
from durableruns.engine.workflows.monitor import (
    UNKNOWN_ALERT_TYPE,
    AlertChange,
    AlertsView,
    MonitorWorkflow,
)
from durableruns.errors import EngineUnavailableError

TIMEOUT = timedelta(seconds=10)


class AlertService:
    """One environment's alerts."""

    def __init__(self, client: Client, *, task_queue_prefix: str) -> None:
        self._client = client
        self._prefix = task_queue_prefix

    async def view(self) -> AlertsView:
        """Every alert (secrets included: callers strip them) and their deliveries."""
        handle = self._client.get_workflow_handle_for(MonitorWorkflow.run, monitor_id(self._prefix))
        try:
            return await handle.query(MonitorWorkflow.alerts, rpc_timeout=TIMEOUT)
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                return AlertsView(alerts=[], deliveries={})
            raise EngineUnavailableError(f"Could not read the alerts: {exc}") from exc
        except WorkflowQueryFailedError as exc:
            raise EngineUnavailableError(f"Could not read the alerts: {exc}") from exc

    async def get(self, alert_id: str) -> Alert | None:
        """One alert, or None."""
        return next((a for a in (await self.view()).alerts if a.id == alert_id), None)

    async def deliveries(self, alert_id: str) -> list[DeliveryRecord] | None:
        """An alert's recent deliveries, newest first; None for an unknown alert."""
        view = await self.view()
        if not any(a.id == alert_id for a in view.alerts):
            return None
        return list(reversed(view.deliveries.get(alert_id, [])))

    async def put(self, alert: Alert) -> Alert:
        """Create or replace ``alert``."""
        changed = await self._change(AlertChange(action="put", alert=alert))
        assert changed is not None
        return changed

    async def delete(self, alert_id: str) -> Alert | None:
        """Delete; the deleted alert, or None for an unknown one."""
        return await self._change(AlertChange(action="delete", alert_id=alert_id))

    async def set_enabled(self, alert_id: str, enabled: bool) -> Alert | None:
        """Enable or disable; None for an unknown alert."""
        action = "enable" if enabled else "disable"
        return await self._change(AlertChange(action=action, alert_id=alert_id))

    async def _change(self, change: AlertChange) -> Alert | None:
        start = WithStartWorkflowOperation(
            MonitorWorkflow.run,
            None,
            id=monitor_id(self._prefix),
            task_queue=runs_queue(self._prefix),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        try:
            return await self._client.execute_update_with_start_workflow(
                MonitorWorkflow.alerts_change,
                change,
                start_workflow_operation=start,
                rpc_timeout=TIMEOUT,
            )
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.type == UNKNOWN_ALERT_TYPE:
                return None
            raise EngineUnavailableError(f"Could not change the alert: {exc}") from exc
        except RPCError as exc:
            raise EngineUnavailableError(f"Could not change the alert: {exc}") from exc
