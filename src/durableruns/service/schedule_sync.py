"""Declarative schedules follow the deployed code: when a worker of the environment's
newest version starts, every ``cron=`` of that version's tasks is created or updated,
and the declarative schedule of every task that no longer declares one is removed.

The catalog (every version's tasks, as registered) says both what is declared now and
what was ever declared, and a declarative schedule's id is derived from its task: so
sync needs no list of schedules (visibility lags) and is exact. A worker of an older
version leaves schedules alone, so restarting it cannot undo a newer deployment.
"""

from __future__ import annotations

from temporalio.client import Client

from durableruns.catalog_models import Catalog
from durableruns.service.schedules import ScheduleService


async def sync_declared_schedules(
    client: Client, catalog: Catalog, *, task_queue_prefix: str, version: str
) -> list[str]:
    """Bring declarative schedules in line with ``version`` if it is the newest; the
    ids of the schedules it declares (empty when an older version started)."""
    if not catalog.registered_at or version != max(
        catalog.registered_at, key=lambda v: catalog.registered_at[v]
    ):
        return []
    service = ScheduleService(client, task_queue_prefix=task_queue_prefix)
    declared = {t.id: t.schedule for t in catalog.versions.get(version, []) if t.schedule}
    ids = [await service.upsert_declarative(task_id, s) for task_id, s in declared.items()]
    ever = {t.id for tasks in catalog.versions.values() for t in tasks if t.schedule}
    for task_id in sorted(ever - declared.keys()):
        await service.remove(service.declarative_id(task_id))
    return ids
