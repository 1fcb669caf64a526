"""Alert rules without a server: matching, the throttle (a storm becomes one message
now and one digest with the count), and lasting states (sent once when they have
lasted the alert's minutes, again only after clearing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from durableruns.alert_models import (
    Alert,
    AlertEvent,
    AlertFilter,
    Notice,
    Probe,
    SaturatedLimit,
    Subject,
    ThrottleWindow,
    WebhookChannel,
    condition_notices,
    due_digests,
    matches,
    throttle,
)

T0 = datetime(2026, 12, 4, 12, tzinfo=UTC)


def _alert(*events: AlertEvent, **fields: object) -> Alert:
    return Alert(
        id="alert_1",
        name="a",
        events=events,
        channel=WebhookChannel(url="https://x.example", secret="s" * 8),
        created_at=T0,
        updated_at=T0,
        **fields,  # type: ignore[arg-type]
    )


def _failed(at: datetime, task: str = "t", tags: tuple[str, ...] = ()) -> Notice:
    subject = Subject(type="run", id="run_1", task_identifier=task, tags=tags, queue=f"task/{task}")
    return Notice(event=AlertEvent.RUN_FAILED, subject=subject, at=at)


def test_matching_by_event_task_tag_and_queue() -> None:
    alert = _alert(AlertEvent.RUN_FAILED, filter=AlertFilter(tasks=("t",), tags=("x",)))
    assert matches(alert, _failed(T0, tags=("x", "y")))
    assert not matches(alert, _failed(T0, task="u", tags=("x",)))
    assert not matches(alert, _failed(T0))
    assert not matches(_alert(AlertEvent.ERROR_GROUP_NEW), _failed(T0))
    assert not matches(_alert(AlertEvent.RUN_FAILED, enabled=False), _failed(T0))


def test_a_storm_is_one_message_now_and_one_digest_with_the_count() -> None:
    alert = _alert(AlertEvent.RUN_FAILED, throttle_s=60)
    windows: dict[str, ThrottleWindow] = {}
    sent = [throttle(windows, alert, _failed(T0 + timedelta(seconds=i / 100))) for i in range(5000)]
    assert sent.count(None) == 4999 and sent[0] == (1, T0)
    assert due_digests(windows, {alert.id: alert}, T0 + timedelta(seconds=30)) == []
    digests = due_digests(windows, {alert.id: alert}, T0 + timedelta(seconds=61))
    assert [(count, first) for _, _, count, first in digests] == [
        (4999, T0 + timedelta(seconds=0.01))
    ]
    assert due_digests(windows, {alert.id: alert}, T0 + timedelta(seconds=200)) == []
    assert windows == {}


def test_a_lasting_state_is_sent_once_after_its_minutes_and_again_after_clearing() -> None:
    alert = _alert(AlertEvent.QUEUE_BACKLOG, backlog_size=10, backlog_minutes=5)
    since: dict[str, datetime] = {}
    fired: set[str] = set()

    def probe(minutes: float, queued: int) -> list[str]:
        found = Probe(at=T0 + timedelta(minutes=minutes), queued_by_queue={"task/t": queued})
        return [n.subject.id for _, n in condition_notices([alert], found, since, fired)]

    assert probe(0, 50) == []  # began
    assert probe(4, 50) == []
    assert probe(5, 50) == ["task/t"]  # lasted 5 minutes
    assert probe(6, 50) == []  # sent once
    assert probe(7, 3) == []  # cleared
    assert probe(8, 50) == []
    assert probe(13, 50) == ["task/t"]


def test_worker_missing_is_sent_at_once_and_limits_after_their_minutes() -> None:
    alert = _alert(AlertEvent.WORKER_MISSING, AlertEvent.LIMIT_SATURATED, limit_minutes=1)
    since: dict[str, datetime] = {}
    fired: set[str] = set()
    found = Probe(
        at=T0,
        tasks_without_worker={"resize": 3},
        saturated=(SaturatedLimit(name="db", bound=2, running=2, waiting=4),),
    )
    first = condition_notices([alert], found, since, fired)
    assert [(n.event, n.subject.id) for _, n in first] == [(AlertEvent.WORKER_MISSING, "resize")]
    later = condition_notices(
        [alert], found.model_copy(update={"at": T0 + timedelta(minutes=1)}), since, fired
    )
    assert [(n.event, n.subject.id) for _, n in later] == [(AlertEvent.LIMIT_SATURATED, "db")]
