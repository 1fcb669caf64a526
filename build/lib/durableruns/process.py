"""Ending a process that used Temporal, deliberately and in one place.

temporalio's Rust runtime can crash at interpreter exit (``PyGILState_Release``,
exit 134/139) after all work succeeded (temporalio/sdk-python issue 300). Every entry
point that used a Temporal client or worker (the CLI, the test session) therefore ends
through :func:`exit_process`: flush everything, then ``os._exit`` with the real status,
so a success stays 0 and a failure stays non-zero.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import NoReturn


def exit_process(status: int) -> NoReturn:
    """Flush output and logs, then leave at once with ``status``."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)
