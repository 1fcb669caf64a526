"""The health-probe activity: the monitor workflow's periodic look at the states alerts
watch (runs queued for a task no worker serves, backlogs per queue, limits at their
bound), while at least one alert subscribes to them. Reads visibility and the limit
workflows (``service/health_report.probe``)."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from durableruns.alert_models import Probe
from durableruns.engine.names import HEALTH_PROBE_ACTIVITY
from durableruns.service.health_report import probe
from durableruns.service.runs import RunService


@activity.defn(name=HEALTH_PROBE_ACTIVITY)
async def health_probe(task_queue_prefix: str) -> Probe:
    """What the environment under ``task_queue_prefix`` looks like now."""
    client = activity.client()
    runs = RunService(client, task_queue_prefix=task_queue_prefix)
    return await probe(client, runs, task_queue_prefix=task_queue_prefix, now=datetime.now(UTC))
