"""The Python client SDK: talks HTTP to the facade, never imports temporalio.

Example::

    from durableruns.sdk import configure, runs, tasks

    configure(base_url="http://127.0.0.1:3030", secret_key="tr_dev_…")
    handle = await tasks.trigger("hello-world", {"name": "Ada"})
    run = await runs.poll(handle)
"""

from durableruns.sdk import (
    alerts,
    auth,
    batch,
    concurrency_limits,
    errors,
    queues,
    runs,
    schedules,
    tasks,
)
from durableruns.sdk.client import Client, configure
from durableruns.sdk.handles import RunHandle

__all__ = [
    "Client",
    "RunHandle",
    "alerts",
    "auth",
    "batch",
    "concurrency_limits",
    "configure",
    "errors",
    "queues",
    "runs",
    "schedules",
    "tasks",
]
