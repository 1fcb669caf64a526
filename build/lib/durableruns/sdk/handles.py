"""What a trigger returns: the run's id, whether it was cached, and a read token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from durableruns.task_definitions import Task


@dataclass(frozen=True)
class RunHandle:
    """A triggered run. Pass it to ``runs.retrieve`` to get typed payload and output."""

    id: str
    is_cached: bool = False
    public_access_token: str = ""
    task: Task[Any, Any] | None = None
