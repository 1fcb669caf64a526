"""The run workflow's control Updates: reschedule a DELAYED run, debounce it, replace its
metadata — the changes the facade (and later triggers) make to a run in flight."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from durableruns.debounce import DebounceRequest
    from durableruns.engine import search_attributes as sa
    from durableruns.models import RunInput, RunRecord
    from durableruns.status import RunStatus


class RunControlUpdates:
    """Reschedule, debounce and metadata Updates of the run workflow."""

    _delay_moved: bool
    _input: RunInput

    def _record(self) -> RunRecord:
        raise NotImplementedError

    def _set_metadata(self, metadata: dict[str, Any] | None) -> None:
        raise NotImplementedError

    @workflow.update
    def reschedule(self, delay_until: datetime) -> RunRecord:
        """Move a DELAYED run's start."""
        self._move_start(delay_until)
        return self._record()

    @reschedule.validator
    def _only_delayed_runs_reschedule(self, delay_until: datetime) -> None:
        if self._record().status is not RunStatus.DELAYED:
            raise ValueError("Cannot reschedule a run that is not delayed")

    @workflow.update
    def debounce(self, request: DebounceRequest) -> str:
        """A later trigger with this run's debounce key: start no earlier than
        ``delay_until``; in trailing mode, with the trigger's values."""
        run = self._record()
        if run.delayed_until is None or request.delay_until > run.delayed_until:
            self._move_start(request.delay_until)
        if request.trailing:
            options = run.options.model_copy(
                update={
                    "tags": request.tags,
                    "max_attempts": request.max_attempts,
                    "max_duration_s": request.max_duration_s,
                }
            )
            self._input = self._input.model_copy(
                update={"payload": request.payload, "options": options}
            )
            run.payload, run.options = request.payload, options
            self._set_metadata(request.metadata)
            workflow.upsert_search_attributes([sa.TRIGGER_TAGS.value_set(list(request.tags))])
        return run.id

    @debounce.validator
    def _only_debounce_within_the_window(self, request: DebounceRequest) -> None:
        run = self._record()
        if run.status is not RunStatus.DELAYED:
            raise ValueError("The debounced run has started: the key's next run takes this")
        if request.max_delay_s is not None:
            limit = run.created_at + timedelta(seconds=request.max_delay_s)
            if request.delay_until > limit:
                raise ValueError("The debounced run reached its maxDelay")

    @workflow.update
    def replace_metadata(self, metadata: dict[str, Any]) -> dict[str, Any]:
        """Replace the run's metadata (from the API)."""
        self._set_metadata(metadata)
        return metadata

    def _move_start(self, delay_until: datetime) -> None:
        run = self._record()
        run.delayed_until = delay_until
        run.updated_at = workflow.now()
        self._delay_moved = True
