"""``alerts``: be told when runs fail or error groups appear, regress or come back.

Example::

    from durableruns.sdk import alerts

    alert = await alerts.create(
        name="payments on fire",
        events=["run.failed", "error_group.new", "error_group.regressed"],
        channel={"type": "webhook", "url": "https://example.com/hooks/dr", "secret": "…"},
        filter={"tasks": ["charge-card"]},
    )
    for delivery in await alerts.deliveries(alert.id):
        print(delivery.status, len(delivery.attempts))
"""

from __future__ import annotations

import builtins
from typing import Any

from durableruns.sdk.client import request
from durableruns.wire_alerts import (
    AlertObject,
    CreateAlertRequest,
    DeliveryObject,
    ListAlertsResult,
    ListDeliveriesResult,
    UpdateAlertRequest,
)

__all__ = [
    "AlertObject",
    "DeliveryObject",
    "create",
    "delete",
    "deliveries",
    "disable",
    "enable",
    "list",
    "retrieve",
    "update",
]


async def create(
    *,
    name: str,
    events: builtins.list[str],
    channel: dict[str, Any],
    filter: dict[str, builtins.list[str]] | None = None,
    throttle_seconds: int = 60,
) -> AlertObject:
    """Create an alert; ``channel`` is ``{"type": "webhook", "url", "secret"}``,
    ``{"type": "slack", "url"}`` or ``{"type": "email", "to": […]}``."""
    body = CreateAlertRequest.model_validate(
        {
            "name": name,
            "events": events,
            "channel": channel,
            "filter": filter or {},
            "throttleSeconds": throttle_seconds,
        }
    )
    response = await request("POST", "/api/v1/alerts", json=body.to_wire())
    return AlertObject.model_validate(response.json())


async def list() -> builtins.list[AlertObject]:  # shadows the builtin on purpose: the verb
    """Every alert of the environment."""
    response = await request("GET", "/api/v1/alerts")
    return ListAlertsResult.model_validate(response.json()).data


async def retrieve(alert_id: str) -> AlertObject:
    """One alert (``alert_…``)."""
    response = await request("GET", f"/api/v1/alerts/{alert_id}")
    return AlertObject.model_validate(response.json())


async def update(alert_id: str, **fields: Any) -> AlertObject:
    """Replace the given fields (wire names or snake_case)."""
    body = UpdateAlertRequest.model_validate(fields)
    json = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    response = await request("PUT", f"/api/v1/alerts/{alert_id}", json=json)
    return AlertObject.model_validate(response.json())


async def disable(alert_id: str) -> AlertObject:
    """Stop sending."""
    response = await request("POST", f"/api/v1/alerts/{alert_id}/disable")
    return AlertObject.model_validate(response.json())


async def enable(alert_id: str) -> AlertObject:
    """Send again."""
    response = await request("POST", f"/api/v1/alerts/{alert_id}/enable")
    return AlertObject.model_validate(response.json())


async def delete(alert_id: str) -> AlertObject:
    """Delete the alert and its delivery records."""
    response = await request("DELETE", f"/api/v1/alerts/{alert_id}")
    return AlertObject.model_validate(response.json())


async def deliveries(alert_id: str) -> builtins.list[DeliveryObject]:
    """The alert's recent deliveries, newest first, each with every try."""
    response = await request("GET", f"/api/v1/alerts/{alert_id}/deliveries")
    return ListDeliveriesResult.model_validate(response.json()).data
