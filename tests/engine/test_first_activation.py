"""Handlers that arrive with a workflow's start run before its ``run`` method: the state
they change must exist already (``@workflow.init``), or the first Update of a batch
fails its workflow task (the facade then answers 5xx) and a registration made just
after a catalog's continue-as-new is lost.

Each test starts the workflow on a queue no worker polls, sends the Update, and only
then starts a worker, so start and Update reach it in one activation."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from temporalio.client import Client
from temporalio.worker import Worker

from durableruns.batch_models import BatchInput
from durableruns.catalog_models import Catalog, Deployment, TaskDescriptor
from durableruns.engine.workflows.batch import BatchWorkflow
from durableruns.engine.workflows.catalog import CatalogWorkflow

NOW = datetime(2026, 12, 1, tzinfo=UTC)


async def test_a_batch_update_that_arrives_with_the_start_is_recorded(client: Client) -> None:
    queue = f"first-activation-{uuid.uuid4().hex[:8]}"
    batch = BatchInput(batch_id=f"batch_{uuid.uuid4().hex}", run_count=1, created_at=NOW)
    handle = await client.start_workflow(
        BatchWorkflow.run, batch, id=batch.batch_id, task_queue=queue
    )
    update = asyncio.ensure_future(handle.execute_update(BatchWorkflow.items_created, {0: "run_a"}))
    await asyncio.sleep(1)  # the Update now waits with the start for the first task
    async with Worker(client, task_queue=queue, workflows=[BatchWorkflow]):
        record = await asyncio.wait_for(update, 30)
        assert record.run_ids == {0: "run_a"} and record.sealed
        assert (await handle.result()).sealed_at is not None


async def test_a_registration_just_after_continue_as_new_keeps_the_carried_catalog(
    client: Client,
) -> None:
    queue = f"first-activation-{uuid.uuid4().hex[:8]}"

    def task(version: str) -> TaskDescriptor:
        return TaskDescriptor(id="t", version=version, queue="default", definition="m:t")

    carried = Catalog(versions={"v1": [task("v1")]}, registered_at={"v1": NOW})
    handle = await client.start_workflow(
        CatalogWorkflow.run, carried, id=f"catalog-{queue}", task_queue=queue
    )
    deployment = Deployment(version="v2", tasks=(task("v2"),), registered_at=NOW)
    update = asyncio.ensure_future(handle.execute_update(CatalogWorkflow.register, deployment))
    await asyncio.sleep(1)
    async with Worker(client, task_queue=queue, workflows=[CatalogWorkflow]):
        catalog = await asyncio.wait_for(update, 30)
        assert sorted(catalog.versions) == ["v1", "v2"]
        assert sorted((await handle.query(CatalogWorkflow.get)).versions) == ["v1", "v2"]
        await handle.terminate()
