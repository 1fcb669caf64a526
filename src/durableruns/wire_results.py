"""A finished run as Trigger.dev's ``TaskRunExecutionResult`` (``GET /api/v1/runs/{id}/result``
and each item of ``GET /api/v1/batches/{id}/results``): ``ok`` with the output as a JSON
packet, or not ok with a ``TaskRunError``."""

from __future__ import annotations

import json
from typing import Any

from durableruns.models import RunRecord
from durableruns.status import RunStatus, is_completed


def execution_result(record: RunRecord) -> dict[str, Any] | None:
    """The run's result; None while it has not finished."""
    if not is_completed(record.status):
        return None
    if record.status is RunStatus.COMPLETED:
        result: dict[str, Any] = {
            "ok": True,
            "id": record.id,
            "outputType": "application/json",
            "taskIdentifier": record.task_id,
        }
        if record.output is not None:
            result["output"] = json.dumps(record.output)
        return result
    error = record.error
    return {
        "ok": False,
        "id": record.id,
        "taskIdentifier": record.task_id,
        "error": {
            "type": "BUILT_IN_ERROR",
            "name": error.name if error else record.status.value,
            "message": error.message if error else f"The run ended {record.status.value}",
            "stackTrace": error.stack_trace if error else "",
        },
    }
