"""The error-groups workflow: one per environment (task-queue prefix), id
``durableruns-errors:<prefix>``, holding every error group's status, first and last
seen, counts over time, versions and sample run.

Fed by the worker that ran a failed run's last attempt, one signal-with-start each
(:data:`OCCURRED_SIGNAL`); a successful run never touches it, and a run's own history
gains nothing (its group id rides on its FAILED search-attribute upsert). Users change
a group's status with the :data:`CHANGE_UPDATE` Update (validated: an unknown group is
refused before anything is written). Readers query :meth:`ErrorGroupsWorkflow.groups`.
The state is carried through continue-as-new well before Temporal's history limits,
so counts stay exact across 100,000 failures and survive restarts (workflow state).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from durableruns.error_group_models import (
        ErrorGroup,
        ErrorGroupEvent,
        ErrorGroups,
        ErrorOccurrence,
        IgnoreRule,
        ignore,
        record_occurrence,
        resolve,
        unresolve,
    )
    from durableruns.models import Frozen

ERROR_GROUPS_WORKFLOW = "durableruns.error_groups"
OCCURRED_SIGNAL = "error_occurred"
CHANGE_UPDATE = "change"
GROUPS_QUERY = "groups"
UNKNOWN_GROUP_TYPE = "durableruns.UnknownErrorGroup"
"""ApplicationError type of a change naming a group this environment does not have."""
MAX_HISTORY_EVENTS = 8_000
"""Continue-as-new past this many events (Temporal warns at 10,240): about 2,000
failed runs per history, each one signal plus its share of workflow tasks."""
RECENT_EVENTS = 200
"""Events (new / regressed / unignored) kept for readers such as alerts."""


def error_groups_id(task_queue_prefix: str) -> str:
    """The error-groups workflow's id for a prefix."""
    return f"durableruns-errors:{task_queue_prefix}"


class StatusChange(Frozen):
    """A user's change to one group's status."""

    group_id: str
    action: Literal["resolve", "ignore", "unresolve"]
    resolved_in_version: str | None = None
    ignore: IgnoreRule | None = None


class GroupEvent(Frozen):
    """An occurrence that changed a group's life, in order (``seq`` counts from 1)."""

    seq: int
    event: ErrorGroupEvent
    group_id: str
    run_id: str
    at: datetime


class ErrorGroupsState(ErrorGroups):
    """What the workflow holds and carries through continue-as-new."""

    events: list[GroupEvent] = []
    seq: int = 0


@workflow.defn(name=ERROR_GROUPS_WORKFLOW)
class ErrorGroupsWorkflow:
    """Holds an environment's error groups for as long as the environment exists."""

    @workflow.init
    def __init__(self, carried: ErrorGroupsState | None = None) -> None:
        # Set before any handler runs: a signal can arrive with the (continued) start.
        self._state = carried if carried is not None else ErrorGroupsState()

    @workflow.run
    async def run(self, carried: ErrorGroupsState | None = None) -> None:
        """Serve occurrences, changes and reads; continue-as-new when history grows."""
        await workflow.wait_condition(
            lambda: (
                workflow.info().get_current_history_length() > MAX_HISTORY_EVENTS
                or workflow.info().is_continue_as_new_suggested()
            )
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(self._state)

    @workflow.signal(name=OCCURRED_SIGNAL)
    def occurred(self, occurrence: ErrorOccurrence) -> None:
        """A run failed: count it in its group."""
        event = record_occurrence(self._state, occurrence)
        if event is not None:
            self._state.seq += 1
            self._state.events.append(
                GroupEvent(
                    seq=self._state.seq,
                    event=event,
                    group_id=occurrence.group_id,
                    run_id=occurrence.run_id,
                    at=occurrence.at,
                )
            )
            del self._state.events[:-RECENT_EVENTS]

    @workflow.query(name=GROUPS_QUERY)
    def groups(self) -> ErrorGroupsState:
        """Every group and the recent events."""
        return self._state

    @workflow.update(name=CHANGE_UPDATE)
    def change(self, change: StatusChange) -> ErrorGroup:
        """Resolve, ignore or unresolve a group; answers the group as changed."""
        group = self._state.groups[change.group_id]
        now = workflow.now()
        if change.action == "resolve":
            resolve(group, now, change.resolved_in_version)
        elif change.action == "ignore":
            ignore(group, now, change.ignore or IgnoreRule())
        else:
            unresolve(group)
        return group

    @change.validator
    def _known_group(self, change: StatusChange) -> None:
        if change.group_id not in self._state.groups:
            raise ApplicationError(f"No error group {change.group_id}", type=UNKNOWN_GROUP_TYPE)
