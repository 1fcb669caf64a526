"""``crash-me`` and ``oom``: tasks whose process dies, to watch a run end CRASHED while
the worker carries on.

Both need crash isolation (each attempt in a task process of its own): without it they
would take the worker down, so they refuse to run and fail the run instead.
"""

import os
import resource
import signal
from pathlib import Path

from durableruns import AbortTaskRunError, task

TASK_PROCESS_ENV = "DURABLERUNS_TASK_PROCESS"
"""Set by durableruns inside task processes (see durableruns.worker.isolation_child)."""
OOM_HEADROOM_BYTES = 512 * 1024 * 1024
"""How much more address space ``oom`` allows itself: a modest cap, so a shared machine
is never at risk and the process fails on its limit long before the kernel's."""
CHUNK_BYTES = 16 * 1024 * 1024


def _require_task_process(task_id: str) -> None:
    if not os.environ.get(TASK_PROCESS_ENV):
        raise AbortTaskRunError(
            f"{task_id} kills its own process, so it only runs with crash isolation on "
            "(unset DURABLERUNS_ISOLATION=0)"
        )


@task(id="crash-me")
async def crash_me(payload: object) -> None:
    """Kills its own process with SIGKILL, as the OOM killer would: the run ends CRASHED."""
    _require_task_process("crash-me")
    os.kill(os.getpid(), signal.SIGKILL)


@task(id="oom")
def oom(payload: object) -> None:
    """Allocates (and touches) memory until its address-space limit stops it.

    The limit (RLIMIT_AS) is set here, 512 MiB above what the process maps already.
    Reaching it raises MemoryError in Python; durableruns reports that as the process
    running out of memory (CRASHED, ``TaskProcessOutOfMemory``) and retires the process,
    as it does when the kernel's OOM killer ends one with SIGKILL.
    """
    _require_task_process("oom")
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _mapped_bytes() + OOM_HEADROOM_BYTES
    resource.setrlimit(
        resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard)
    )
    hog = []
    while True:
        hog.append(b"x" * CHUNK_BYTES)


def _mapped_bytes() -> int:
    """The process's current virtual size (what RLIMIT_AS counts)."""
    pages = int(Path("/proc/self/statm").read_text().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")
