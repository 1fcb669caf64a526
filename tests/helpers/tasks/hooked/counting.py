"""Counts kept in files: ``mark(payload, name)`` appends a line to ``<dir>/<name>``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any


def mark(payload: Any, name: str, value: str = "") -> None:
    """One call of ``name`` (with an optional value on its line)."""
    with (Path(payload["dir"]) / name).open("a") as file:
        file.write(f"{value or time.time()}\n")


def count(directory: str | Path, name: str) -> int:
    """How many times ``name`` was marked."""
    path = Path(directory) / name
    return len(path.read_text().splitlines()) if path.exists() else 0


def values(directory: str | Path, name: str) -> list[str]:
    """The values marked for ``name``, in order."""
    path = Path(directory) / name
    return path.read_text().splitlines() if path.exists() else []
