"""Retention of stored payloads: delete those whose run's history is gone.

Large payloads and outputs live outside Temporal (engine/payload_storage.py), so
Temporal's namespace retention, which deletes a closed run's history, does not delete
them. The file driver files each payload under its workflow (``runs/<workflow id>/``);
this sweep removes the directory of every workflow that no served namespace has any
more. A directory changed within ``grace`` is kept: a trigger stores its payload just
before it starts the run. ``durableruns sweep-payloads`` runs it; schedule it (cron, a
systemd timer) on a machine that sees the payload directory.

S3 storage is not swept here: temporalio's S3 driver keys name the workflow
(``v0/ns/<ns>/wt/<type>/wi/<workflow id>/…``) but an attempt's output is keyed by its
activity, so the documented way is a bucket lifecycle rule expiring objects some time
after the namespace's retention plus the longest a run lives (docs/runs-and-the-wire.md,
"Retention of stored payloads").
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from durableruns.engine.file_storage import RUNS_DIR

DEFAULT_GRACE = timedelta(hours=1)
CALL_TIMEOUT = timedelta(seconds=10)


@dataclass
class SweepResult:
    """What a sweep did."""

    removed: int = 0
    removed_bytes: int = 0
    kept: int = 0
    recent: int = 0
    """Kept because changed within the grace period."""
    unknown: int = 0
    """Kept because Temporal could not say (an error other than not found)."""


async def sweep_file_payloads(
    client: Client,
    directory: Path,
    namespaces: list[str],
    *,
    grace: timedelta = DEFAULT_GRACE,
    dry_run: bool = False,
) -> SweepResult:
    """Remove ``directory/runs/<workflow id>`` for each workflow no namespace has."""
    result = SweepResult()
    runs = directory / RUNS_DIR
    cutoff = time.time() - grace.total_seconds()
    for owned in sorted(runs.iterdir()) if runs.is_dir() else []:
        if not owned.is_dir():
            continue
        if owned.stat().st_mtime > cutoff:
            result.recent += 1
            continue
        state = await _workflow_state(client, owned.name, namespaces)
        if state == "gone":
            size = sum(f.stat().st_size for f in owned.rglob("*") if f.is_file())
            if not dry_run:
                shutil.rmtree(owned, ignore_errors=True)
            result.removed += 1
            result.removed_bytes += size
        elif state == "present":
            result.kept += 1
        else:
            result.unknown += 1
    return result


async def _workflow_state(client: Client, workflow_id: str, namespaces: list[str]) -> str:
    """``present`` if a namespace still has the workflow, ``gone`` if none has, else
    ``unknown`` (then nothing is deleted)."""
    for namespace in namespaces:
        try:
            await client.workflow_service.describe_workflow_execution(
                DescribeWorkflowExecutionRequest(
                    namespace=namespace, execution=WorkflowExecution(workflow_id=workflow_id)
                ),
                timeout=CALL_TIMEOUT,
            )
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                continue
            return "unknown"
        return "present"
    return "gone"
