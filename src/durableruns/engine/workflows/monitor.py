"""The monitor workflow: one per environment (task-queue prefix), id
``durableruns-monitor:<prefix>``, holding the environment's error groups (status,
first and last seen, counts over time, versions, sample run) and its alerts.

Fed by the workers that ran failed attempts, in batches (:data:`OCCURRENCES_SIGNAL`,
a signal-with-start: ``worker/error_reports.py``); a successful run never touches it,
and a run's own history gains nothing (its group id rides on its FAILED
search-attribute upsert). Each occurrence — a retried attempt's failure or a run's
final one — is counted in its group, then matched against the alerts (``run.failed``
for a final failure only, and ``error_group.*`` when the group is new, regressed or
unignored); a match that
passes the throttle becomes a message, sent by an alert-delivery workflow of its own
(``alert_delivery.py``, abandoned on continue-as-new, so it finishes regardless),
which reports each try back (``DELIVERY_ATTEMPTED_SIGNAL``). While an alert watches a
lasting state (``worker.missing``, ``queue.backlog``, ``limit.saturated``) the workflow
runs the health-probe activity every ``probe_every_s`` (30 s) and sends what has lasted.

Users change groups and alerts with validated Updates and read them with queries
(their names are in ``engine/names.py``). The state
is carried through continue-as-new well before Temporal's history limits, so counts
stay exact across 100,000 failures and survive restarts (it is workflow state).
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Literal

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from durableruns.alert_models import (
        CONDITION_EVENTS,
        MAX_DELIVERY_RECORDS,
        Alert,
        AlertEvent,
        DeliveryRecord,
        Message,
        Notice,
        Probe,
        SlackChannel,
        Subject,
        ThrottleWindow,
        WebhookChannel,
        condition_notices,
        due_digests,
        matches,
        next_digest_at,
        throttle,
    )
    from durableruns.engine.names import (
        ALERTS_QUERY,
        ALERTS_SIGNAL,
        DELIVERY_ATTEMPTED_SIGNAL,
        ERROR_GROUP_UPDATE,
        ERROR_GROUPS_QUERY,
        ERROR_OCCURRED_SIGNAL,
        ERRORS_OCCURRED_SIGNAL,
        HEALTH_PROBE_ACTIVITY,
        MONITOR_MEMO,
        MONITOR_WORKFLOW,
        monitor_id,
    )
    from durableruns.engine.workflows.alert_delivery import (
        AlertDeliveryWorkflow,
        DeliveryInput,
        DeliveryProgress,
    )
    from durableruns.error_group_models import (
        ErrorGroup,
        ErrorGroupEvent,
        ErrorGroups,
        ErrorOccurrence,
        IgnoreRule,
        OccurrenceBatch,
        ignore,
        record_occurrence,
        resolve,
        unresolve,
    )
    from durableruns.models import Frozen

OCCURRED_SIGNAL = ERROR_OCCURRED_SIGNAL
OCCURRENCES_SIGNAL = ERRORS_OCCURRED_SIGNAL
CHANGE_UPDATE = ERROR_GROUP_UPDATE
GROUPS_QUERY = ERROR_GROUPS_QUERY
UNKNOWN_GROUP_TYPE = "durableruns.UnknownErrorGroup"
"""ApplicationError type of a change naming a group this environment does not have."""
MAX_HISTORY_EVENTS = 8_000
"""Continue-as-new past this many events (Temporal warns at 10,240): about 2,000
reports per history (each a signal of one or more failed attempts) plus their share of
workflow tasks."""
PUBLISH_EVERY = timedelta(seconds=10)
"""How often, at most, the state is copied into the memo (for reads with no worker)."""
RECENT_EVENTS = 200
"""Group events (new / regressed / unignored) kept for readers."""
GROUP_EVENTS = {
    ErrorGroupEvent.NEW: AlertEvent.ERROR_GROUP_NEW,
    ErrorGroupEvent.REGRESSED: AlertEvent.ERROR_GROUP_REGRESSED,
    ErrorGroupEvent.UNIGNORED: AlertEvent.ERROR_GROUP_UNIGNORED,
}


class StatusChange(Frozen):
    """A user's change to one group's status."""

    group_id: str
    action: Literal["resolve", "ignore", "unresolve"]
    resolved_in_version: str | None = None
    ignore: IgnoreRule | None = None


class AlertChange(Frozen):
    """A user's change to the alerts: ``alert`` for put, ``alert_id`` for the others.
    ``keep_secret``: a webhook put without a secret keeps the alert's current one."""

    action: Literal["put", "delete", "enable", "disable"]
    alert: Alert | None = None
    alert_id: str | None = None
    keep_secret: bool = False


class GroupEvent(Frozen):
    """An occurrence that changed a group's life, in order (``seq`` counts from 1)."""

    seq: int
    event: ErrorGroupEvent
    group_id: str
    run_id: str
    at: datetime


class MonitorState(ErrorGroups):
    """What the workflow holds and carries through continue-as-new."""

    events: list[GroupEvent] = []
    seq: int = 0
    max_history_events: int = MAX_HISTORY_EVENTS
    """When to continue-as-new (carried, so a test can start one that does it early)."""
    alerts: dict[str, Alert] = {}
    windows: dict[str, ThrottleWindow] = {}
    outbox: list[Message] = []
    """Messages whose delivery is not started yet."""
    deliveries: dict[str, list[DeliveryRecord]] = {}
    """Per alert, newest last."""
    probe_every_s: float = 30.0
    """How often lasting states are probed while an alert watches them."""
    probed_at: datetime | None = None
    condition_since: dict[str, datetime] = {}
    condition_fired: set[str] = set()


class AlertsView(Frozen):
    """What the alerts query answers (secrets included: the service strips them)."""

    alerts: list[Alert]
    deliveries: dict[str, list[DeliveryRecord]]


@workflow.defn(name=MONITOR_WORKFLOW)
class MonitorWorkflow:
    """Holds an environment's error groups and alerts for as long as it exists."""

    @workflow.init
    def __init__(self, carried: MonitorState | None = None) -> None:
        # Set before any handler runs: a signal can arrive with the (continued) start.
        self._state = carried if carried is not None else MonitorState()
        self._dirty = True
        self._published_at: datetime | None = None

    @workflow.run
    async def run(self, carried: MonitorState | None = None) -> None:
        """Send what alerts ask for; continue-as-new when history grows."""
        while not self._history_full():
            wake = self._next_wake()
            timeout = (wake - workflow.now()) if wake else None
            if timeout is None or timeout > timedelta(0):
                with contextlib.suppress(TimeoutError):  # a window closed, or publish time
                    await workflow.wait_condition(
                        lambda wake=wake: (  # type: ignore[misc]
                            bool(self._state.outbox)
                            or self._history_full()
                            or (self._dirty and self._published_at is None)
                            or self._next_wake() != wake  # an alert or a window changed it
                        ),
                        timeout=timeout,
                    )
            self._queue_digests()
            if self._probe_due():
                await self._probe()
            while self._state.outbox:
                await self._start_delivery(self._state.outbox.pop(0))
            self._publish_if_due()
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(self._state)

    def _watching(self) -> bool:
        return any(
            a.enabled and CONDITION_EVENTS & set(a.events) for a in self._state.alerts.values()
        )

    def _next_probe(self) -> datetime | None:
        if not self._watching():
            return None
        last = self._state.probed_at
        return last + timedelta(seconds=self._state.probe_every_s) if last else workflow.now()

    def _probe_due(self) -> bool:
        due = self._next_probe()
        return due is not None and due <= workflow.now()

    async def _probe(self) -> None:
        """Look at the lasting states; alerts that watch them get what has lasted."""
        self._state.probed_at = workflow.now()
        try:
            found = await workflow.execute_activity(
                HEALTH_PROBE_ACTIVITY,
                self._prefix(),
                result_type=Probe,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=2),
            )
        except ActivityError:
            workflow.logger.warning(
                "health probe failed; next one in %ss", self._state.probe_every_s
            )
            return
        found = found.model_copy(update={"at": workflow.now()})
        alerts = sorted(self._state.alerts.values(), key=lambda a: a.id)
        for alert, notice in condition_notices(
            alerts, found, self._state.condition_since, self._state.condition_fired
        ):
            if throttle(self._state.windows, alert, notice):
                self._queue(alert, notice, 1, notice.at)

    def _prefix(self) -> str:
        return workflow.info().workflow_id.removeprefix(monitor_id(""))

    def _next_wake(self) -> datetime | None:
        """The earliest throttle window to close, probe, or time to publish."""
        times = [t for t in (next_digest_at(self._state.windows), self._next_probe()) if t]
        if self._dirty and self._published_at is not None:
            times.append(self._published_at + PUBLISH_EVERY)
        return min(times) if times else None

    def _publish_if_due(self) -> None:
        """Readers without a worker read the memo: at most every :data:`PUBLISH_EVERY`
        while something changed (one memo upsert per burst, not per failed run)."""
        now = workflow.now()
        if not self._dirty or (
            self._published_at is not None and now < self._published_at + PUBLISH_EVERY
        ):
            return
        workflow.upsert_memo({MONITOR_MEMO: snapshot(self._state).model_dump(mode="json")})
        self._dirty, self._published_at = False, now

    def _history_full(self) -> bool:
        info = workflow.info()
        return (
            info.get_current_history_length() > self._state.max_history_events
            or info.is_continue_as_new_suggested()
        )

    # --- error groups ------------------------------------------------------------------
    @workflow.signal(name=OCCURRED_SIGNAL)
    def occurred(self, occurrence: ErrorOccurrence) -> None:
        """A run failed (one report, as workers sent them before batches)."""
        self._record(occurrence)

    @workflow.signal(name=OCCURRENCES_SIGNAL)
    def occurred_many(self, batch: OccurrenceBatch) -> None:
        """Attempts failed (retried ones and runs' last ones): count each, in order.
        A new handler changes no command of a history recorded before it (such a
        history never holds this signal), so it needs no ``workflow.patched``."""
        for occurrence in batch.occurrences:
            self._record(occurrence)

    def _record(self, occurrence: ErrorOccurrence) -> None:
        """Count ``occurrence`` in its group, and tell the alerts: ``run.failed`` only
        when it ended its run (a message per retried attempt would be noise)."""
        event = record_occurrence(self._state, occurrence)
        self._dirty = True
        if not occurrence.retried:
            self._notify(
                Notice(event=AlertEvent.RUN_FAILED, subject=_run(occurrence), at=occurrence.at)
            )
        if event is None:
            return
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
        group = self._state.groups[occurrence.group_id]
        subject = _group(group, occurrence)
        self._notify(Notice(event=GROUP_EVENTS[event], subject=subject, at=occurrence.at))

    @workflow.query(name=GROUPS_QUERY)
    def groups(self) -> MonitorState:
        """Every group and the recent events (and the rest of the state)."""
        return self._state

    @workflow.update(name=CHANGE_UPDATE)
    def change(self, change: StatusChange) -> ErrorGroup:
        """Resolve, ignore or unresolve a group; answers the group as changed."""
        group = self._state.groups[change.group_id]
        now = workflow.now()
        self._dirty = True
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

    # --- alerts --------------------------------------------------------------------------
    @workflow.signal(name=ALERTS_SIGNAL)
    def alerts_change(self, change: AlertChange) -> None:
        """Create or replace (put), delete, enable or disable an alert. A signal, not an
        Update: the facade checks and answers on its own, and a change is kept even
        while no worker runs (it applies when one starts)."""
        alerts = self._state.alerts
        alert_id = change.alert.id if change.alert else (change.alert_id or "")
        current = alerts.get(alert_id)
        if change.action == "put" and change.alert is not None:
            alert = change.alert
            if change.keep_secret and isinstance(current, Alert):
                alert = _keeping_secret(alert, current)
            alerts[alert.id] = alert
        elif current is None:
            return  # deleted meanwhile
        elif change.action == "delete":
            self._state.deliveries.pop(alert_id, None)
            del alerts[alert_id]
        else:
            alerts[alert_id] = current.model_copy(
                update={"enabled": change.action == "enable", "updated_at": workflow.now()}
            )
        self._dirty = True

    @workflow.query(name=ALERTS_QUERY)
    def alerts(self) -> AlertsView:
        """Every alert (with its secret) and its recent deliveries."""
        return AlertsView(
            alerts=sorted(self._state.alerts.values(), key=lambda a: a.created_at),
            deliveries=self._state.deliveries,
        )

    @workflow.signal(name=DELIVERY_ATTEMPTED_SIGNAL)
    def delivery_attempted(self, progress: DeliveryProgress) -> None:
        """A delivery's try ended: record it."""
        self._dirty = True
        for record in self._state.deliveries.get(progress.alert_id, []):
            if record.id == progress.delivery_id:
                record.attempts.append(progress.attempt)
                record.status = progress.status
                if progress.attempt.ok:
                    record.delivered_at = progress.attempt.at
                return

    def _notify(self, notice: Notice) -> None:
        for alert in list(self._state.alerts.values()):
            if matches(alert, notice) and throttle(self._state.windows, alert, notice):
                self._queue(alert, notice, 1, notice.at)

    def _queue_digests(self) -> None:
        now = workflow.now()
        for alert, notice, count, first_at in due_digests(
            self._state.windows, self._state.alerts, now
        ):
            self._queue(alert, notice, count, first_at)

    def _queue(self, alert: Alert, notice: Notice, count: int, first_at: datetime) -> None:
        message = Message(
            delivery_id=f"delivery_{workflow.uuid4().hex[:24]}",
            alert_id=alert.id,
            event=notice.event,
            subject=notice.subject,
            count=count,
            first_at=first_at,
            last_at=notice.at,
        )
        self._state.outbox.append(message)
        records = self._state.deliveries.setdefault(alert.id, [])
        records.append(
            DeliveryRecord(
                id=message.delivery_id,
                alert_id=alert.id,
                event=notice.event,
                count=count,
                created_at=workflow.now(),
            )
        )
        del records[:-MAX_DELIVERY_RECORDS]

    async def _start_delivery(self, message: Message) -> None:
        alert = self._state.alerts.get(message.alert_id)
        if alert is None:
            return  # deleted meanwhile
        await workflow.start_child_workflow(
            AlertDeliveryWorkflow.run,
            DeliveryInput(
                message=message,
                alert_name=alert.name,
                channel=alert.channel,
                environment=alert.environment,
                dashboard_url=alert.dashboard_url,
                monitor_id=workflow.info().workflow_id,
                created_at=workflow.now(),
            ),
            id=message.delivery_id,
            parent_close_policy=ParentClosePolicy.ABANDON,
            static_summary=f"alert {alert.name}: {message.event.value}",
        )


def snapshot(state: MonitorState) -> MonitorState:
    """The state as published in the memo: no secrets, no pending work."""
    alerts = {k: _without_secret(a) for k, a in state.alerts.items()}
    return state.model_copy(update={"alerts": alerts, "outbox": [], "windows": {}})


def _without_secret(alert: Alert) -> Alert:
    channel = alert.channel
    if isinstance(channel, WebhookChannel):
        return alert.model_copy(update={"channel": channel.model_copy(update={"secret": ""})})
    if isinstance(channel, SlackChannel):  # its URL is the credential
        return alert.model_copy(update={"channel": channel.model_copy(update={"url": ""})})
    return alert


def _keeping_secret(alert: Alert, current: Alert) -> Alert:
    """``alert`` with the secret ``current`` holds where it has none (blank in a copy
    read from the memo)."""
    new, old = alert.channel, current.channel
    if isinstance(new, WebhookChannel) and isinstance(old, WebhookChannel) and not new.secret:
        return alert.model_copy(update={"channel": new.model_copy(update={"secret": old.secret})})
    if isinstance(new, SlackChannel) and isinstance(old, SlackChannel) and not new.url:
        return alert.model_copy(update={"channel": old})
    return alert


def _run(occurrence: ErrorOccurrence) -> Subject:
    return Subject(
        type="run",
        id=occurrence.run_id,
        task_identifier=occurrence.task_id,
        tags=occurrence.tags,
        queue=occurrence.queue,
        details={
            "error": {"name": occurrence.error_type, "message": occurrence.sample_message},
            "errorGroup": occurrence.group_id,
            "version": occurrence.version,
        },
    )


def _group(group: ErrorGroup, occurrence: ErrorOccurrence) -> Subject:
    return Subject(
        type="error_group",
        id=group.id,
        task_identifier=group.task_id,
        tags=occurrence.tags,
        queue=occurrence.queue,
        details={
            "errorType": group.error_type,
            "errorMessage": group.message,
            "count": group.count,
            "status": group.status.value,
            "sampleRunId": group.sample_run_id,
            "lastRunId": occurrence.run_id,
        },
    )
