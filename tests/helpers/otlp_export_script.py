"""Helper process of tests/engine/test_tracing.py: connect like the CLI does (so tracing comes
from OTEL_EXPORTER_OTLP_ENDPOINT), serve the observability tasks, run one, flush spans."""

from __future__ import annotations

import asyncio
import sys
import uuid

import opentelemetry.trace as otel

from durableruns.engine.client import connect
from durableruns.models import RunOptions
from durableruns.service.runs import RunService
from durableruns.settings import Settings
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.assembly import running_worker


async def main(address: str) -> None:
    prefix = f"otlp-{uuid.uuid4().hex[:8]}"
    settings = Settings(temporal_address=address, task_queue_prefix=prefix, sdk_metrics=False)
    client = await connect(settings)
    registry = TaskRegistry.from_modules(["tests.helpers.tasks.observability_tasks"])
    async with running_worker(
        client, registry, task_queue_prefix=prefix, version="1", isolation=False
    ):
        service = RunService(client, task_queue_prefix=prefix)
        triggered = await service.trigger("obs-child", {"n": 1}, RunOptions())
        for _ in range(300):
            record = await service.retrieve(triggered.run_id)
            if record is not None and record.finished_at is not None:
                print(record.status.value, flush=True)
                break
            await asyncio.sleep(0.05)
    provider = otel.get_tracer_provider()
    provider.force_flush()  # type: ignore[attr-defined]


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
    sys.stdout.flush()
    import os

    os._exit(0)
