"""The event loop the long-running processes (``durableruns dev``, ``worker``, ``api``)
run on: uvloop where it exists (Linux, macOS), else asyncio's own.

A run costs the facade and worker a handful of socket reads and writes, thread wake-ups
from temporalio's core and timer callbacks; asyncio's pure-Python selector loop spent
about a sixth of our process's CPU per run on them. uvloop (libuv, MagicStack, the loop
uvicorn picks by default when installed) cut our CPU per no-op run from 12.9 to 11.8 ms
in ``bench/throughput.py`` (bench/README.md, issue 28). Short CLI commands keep
``asyncio.run``: they make a few requests and exit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_service(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to completion on a new event loop (uvloop when available)."""
    try:
        import uvloop
    except ImportError:  # Windows: no uvloop
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)
