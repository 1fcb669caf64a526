"""The signals a run's executions send it while the task's code runs: log lines, step
results, short in-process timers, and the completion of a wait token it waits on.

Each only records (the run's journal, its counters); none makes a command, so they may
arrive in any workflow task.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from durableruns.engine.names import TOKEN_COMPLETED_SIGNAL
    from durableruns.engine.workflows.run_waits import RunWaits
    from durableruns.log_models import LogBatch
    from durableruns.models import RunRecord, StepRecord, WaitSpec
    from durableruns.wait_tokens import TokenCompletion


class ExecutionSignals:
    """Signal handlers of the run workflow for what its executions report."""

    _waits: RunWaits

    def _record(self) -> RunRecord:
        raise NotImplementedError

    @workflow.signal
    def log_lines(self, batch: LogBatch) -> None:
        """Log lines of the running execution: kept in history (read from there), counted
        here so the run's bound holds across executions."""
        self._record().log_count += len(batch.lines)

    @workflow.signal
    def step_recorded(self, step: StepRecord) -> None:
        """A step of the running execution returned (it is not run again)."""
        self._waits.record_step(step)

    @workflow.signal
    def short_wait_recorded(self, wait: WaitSpec) -> None:
        """A short timer the execution waits for in its own process."""
        if wait.until is not None:
            self._waits.record_timer(wait.position, wait.until)

    @workflow.signal(name=TOKEN_COMPLETED_SIGNAL)
    def token_completed(self, completion: TokenCompletion) -> None:
        """A wait token this run registered for ended (it may arrive before the wait)."""
        self._waits.token_ended(completion)
