"""The rules of the run workflow's control Updates: reschedule a DELAYED run, debounce
it, replace its metadata — the changes the facade (and later triggers) make to a run in
flight. The handlers are on :class:`~durableruns.engine.workflows.run.RunWorkflow`; the
rules they apply are here, as functions of the run's record and input."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from durableruns.debounce import DebounceRequest
    from durableruns.models import RunInput, RunRecord
    from durableruns.status import RunStatus


def check_reschedulable(run: RunRecord) -> None:
    """Only a DELAYED run can be rescheduled (an Update validator: a refusal leaves no
    trace in history)."""
    if run.status is not RunStatus.DELAYED:
        raise ValueError("Cannot reschedule a run that is not delayed")


def check_debounce(run: RunRecord, request: DebounceRequest) -> None:
    """A later trigger with the run's debounce key applies only while the run is still
    DELAYED and within its ``maxDelay``."""
    if run.status is not RunStatus.DELAYED:
        raise ValueError("The debounced run has started: the key's next run takes this")
    if request.max_delay_s is not None:
        limit = run.created_at + timedelta(seconds=request.max_delay_s)
        if request.delay_until > limit:
            raise ValueError("The debounced run reached its maxDelay")


def moves_start(run: RunRecord, request: DebounceRequest) -> bool:
    """Whether a debounce pushes the run's start later (it never pulls it earlier)."""
    return run.delayed_until is None or request.delay_until > run.delayed_until


def trailing_input(input: RunInput, run: RunRecord, request: DebounceRequest) -> RunInput:
    """Trailing mode: the run takes the later trigger's payload and options (the record
    is updated to match; metadata is the caller's to set)."""
    options = run.options.model_copy(
        update={
            "tags": request.tags,
            "max_attempts": request.max_attempts,
            "max_duration_s": request.max_duration_s,
        }
    )
    run.payload, run.options = request.payload, options
    return input.model_copy(update={"payload": request.payload, "options": options})
