"""What ``trigger_and_wait`` gives back: a result that is ok with an output, or not
ok with an error, and ``unwrap()`` for code that wants the output or an exception."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from durableruns.errors import ChildRunFailedError
from durableruns.models import RunError
from durableruns.status import RunStatus

O = TypeVar("O")  # noqa: E741 - O(utput), as in Trigger.dev


@dataclass(frozen=True)
class TaskRunResult(Generic[O]):
    """The outcome of a waited-for child run."""

    id: str
    task_id: str
    status: RunStatus
    output: O | None = None
    error: RunError | None = None

    @property
    def ok(self) -> bool:
        """Whether the child run COMPLETED."""
        return self.status is RunStatus.COMPLETED

    def unwrap(self) -> O:
        """The output, or ChildRunFailedError naming the child run and task."""
        if not self.ok:
            message = self.error.message if self.error else "no error recorded"
            raise ChildRunFailedError(self.id, self.task_id, self.status.value, message)
        return self.output  # type: ignore[return-value]


def typed_output(model: Any, output: Any) -> Any:
    """Parse a child's JSON output into its task's output model, if it has one."""
    if model is None or output is None:
        return output
    return model.model_validate(output)
