"""``/api/v1/alerts`` against real receivers the tests start: a signed webhook, Slack's
shape and email (aiosmtpd) on run.failed and error_group.new; durable, retried
deliveries whose tries are recorded; run.failed for a run's final failure only; a storm
of 500 real failing runs throttled into a handful of messages that carry the count;
secrets never answered back; bad input named."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from durableruns import sdk
from durableruns.api import create_app
from durableruns.cli.commands import run as cli
from durableruns.engine.names import monitor_id, runs_queue
from durableruns.engine.workflows.monitor import OCCURRED_SIGNAL, MonitorState, MonitorWorkflow
from durableruns.error_group_models import ErrorOccurrence
from durableruns.errors import NotFoundError
from durableruns.sdk import alerts as sdk_alerts
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.alert_delivery import SmtpSettings
from durableruns.worker.assembly import running_worker
from tests.helpers import SECRET_KEY, eventually, new_settings, open_stack
from tests.helpers.receivers import Receiver, http_receiver, smtp_receiver
from tests.helpers.tasks import error_tasks, queue_tasks

SECRET = "whsec-test-0123456789"
WAIT = 30.0


@dataclass
class AlertStack:
    http: httpx.AsyncClient
    client: Client
    prefix: str
    mails: list[Any]

    async def trigger_failure(self, task_id: str = "err-divide", **options: Any) -> str:
        payload = {"user": "ann", "tries": 1} if task_id == "err-lookup" else None
        response = await self.http.post(
            f"/api/v1/tasks/{task_id}/trigger", json={"payload": payload, "options": options}
        )
        assert response.status_code == 200, response.text
        run_id: str = response.json()["id"]
        return run_id

    async def create(self, **body: Any) -> dict[str, Any]:
        response = await self.http.post("/api/v1/alerts", json=body)
        assert response.status_code == 200, response.text
        created: dict[str, Any] = response.json()
        return created

    async def deliveries(self, alert_id: str) -> list[dict[str, Any]]:
        response = await self.http.get(f"/api/v1/alerts/{alert_id}/deliveries")
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[int, list[Any]]]:
    with smtp_receiver() as opened:
        yield opened


@pytest.fixture(scope="module")
async def alert_stack(client: Client, smtp: tuple[int, list[Any]]) -> AsyncIterator[AlertStack]:
    port, mails = smtp
    settings = new_settings(smtp_host="127.0.0.1", smtp_port=port)
    registry = TaskRegistry(
        [error_tasks.err_lookup, error_tasks.err_divide, error_tasks.err_thrice]
    )
    async with (
        running_worker(
            client,
            registry,
            task_queue_prefix=settings.task_queue_prefix,
            version="20261128.1",
            smtp=SmtpSettings(host="127.0.0.1", port=port),
        ),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(settings, client=client)),
            base_url=settings.api_url,
            headers={"Authorization": f"Bearer {SECRET_KEY}"},
        ) as http,
    ):
        yield AlertStack(http, client, settings.task_queue_prefix, mails)


def _tag() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


async def _received(receiver: Receiver, count: int) -> list[Any]:
    async def got() -> int:
        return len(receiver.received)

    await eventually(got, lambda n: n >= count, WAIT)
    return receiver.received


async def test_a_webhook_gets_signed_run_failed_and_new_group_messages(
    alert_stack: AlertStack,
) -> None:
    tag = _tag()
    async with http_receiver() as receiver:
        alert = await alert_stack.create(
            name="failures",
            events=["run.failed", "error_group.new"],
            channel={"type": "webhook", "url": receiver.url, "secret": SECRET},
            filter={"tags": [tag]},
        )
        assert alert["channel"] == {"type": "webhook", "url": receiver.url, "secretSet": True}
        run_id = await alert_stack.trigger_failure("err-lookup", tags=[tag])
        got = await _received(receiver, 1)
        await asyncio.sleep(0)
        events = {r.json["event"]: r for r in got}
        assert "run.failed" in events
        message = events["run.failed"]
        assert message.signed_with(SECRET)
        body = message.json
        assert message.headers["x-durableruns-delivery"] == body["id"]
        assert body["id"].startswith("delivery_") and body["environment"] == "dev"
        assert body["count"] == 1 and body["alert"] == {"id": alert["id"], "name": "failures"}
        subject = body["subject"]
        assert (subject["type"], subject["id"], subject["taskIdentifier"]) == (
            "run",
            run_id,
            "err-lookup",
        )
        assert subject["error"]["name"] == "UserMissingError" and tag in subject["tags"]
        # The group is new only the first time this stack sees it.
        if "error_group.new" in events:
            assert events["error_group.new"].json["subject"]["type"] == "error_group"

        async def delivered() -> list[dict[str, Any]]:
            return await alert_stack.deliveries(alert["id"])

        records = await eventually(
            delivered, lambda d: d and all(r["status"] == "delivered" for r in d), WAIT
        )
        assert {r["id"] for r in records} == {r.json["id"] for r in receiver.received}
        assert all(len(r["attempts"]) == 1 and r["attempts"][0]["ok"] for r in records)
        listed = await alert_stack.http.get("/api/v1/alerts")
        assert SECRET not in listed.text and SECRET not in str(records)


async def test_a_receiver_that_fails_or_hangs_is_retried_and_blocks_no_other_alert(
    alert_stack: AlertStack,
) -> None:
    tag = _tag()
    async with (
        http_receiver(fail_first=2) as failing,
        http_receiver(hang_first=1) as hanging,
        http_receiver() as healthy,
    ):
        ids = []
        for receiver in (failing, hanging, healthy):
            alert = await alert_stack.create(
                name="retry",
                events=["run.failed"],
                channel={"type": "webhook", "url": receiver.url, "secret": SECRET},
                filter={"tags": [tag]},
            )
            ids.append(alert["id"])
        await alert_stack.trigger_failure(tags=[tag])
        await _received(healthy, 1)
        assert len(hanging.received) == 1 and len(hanging.received[0].body) > 0  # still hanging
        got = await _received(failing, 3)
        assert len({r.json["id"] for r in got}) == 1  # one delivery id on every try
        await _received(hanging, 2)  # the 10 s timeout, a backoff, then a try that answers
        assert hanging.received[0].json["id"] == hanging.received[1].json["id"]

        async def records(alert_id: str) -> list[dict[str, Any]]:
            return await alert_stack.deliveries(alert_id)

        failed_twice = await eventually(
            lambda: records(ids[0]), lambda d: d and d[0]["status"] == "delivered", WAIT
        )
        tries = failed_twice[0]["attempts"]
        assert [t["ok"] for t in tries] == [False, False, True]
        assert "HTTP 500" in tries[0]["detail"]


async def test_slack_gets_blocks(alert_stack: AlertStack) -> None:
    tag = _tag()
    async with http_receiver() as receiver:
        alert = await alert_stack.create(
            name="slack",
            events=["run.failed"],
            channel={"type": "slack", "url": receiver.url + "/T000/B000/XXXX"},
            filter={"tags": [tag]},
        )
        assert alert["channel"]["url"].endswith("/…") and "XXXX" not in str(alert)
        await alert_stack.trigger_failure(tags=[tag])
        body = (await _received(receiver, 1))[0].json
        assert body["text"].startswith("[dev] Run failed: err-divide")
        kinds = [b["type"] for b in body["blocks"]]
        assert kinds[:3] == ["header", "section", "section"] and "actions" in kinds


async def test_email_is_sent_as_text_and_html(alert_stack: AlertStack) -> None:
    tag = _tag()
    alert = await alert_stack.create(
        name="mail",
        events=["run.failed"],
        channel={"type": "email", "to": ["oncall@example.com"]},
        filter={"tags": [tag]},
    )
    before = len(alert_stack.mails)
    run_id = await alert_stack.trigger_failure(tags=[tag])

    async def mails() -> int:
        return len(alert_stack.mails)

    await eventually(mails, lambda n: n > before, WAIT)
    mail = alert_stack.mails[-1]
    assert mail["To"] == "oncall@example.com" and "Run failed" in mail["Subject"]
    kinds = sorted(part.get_content_type() for part in mail.walk() if not part.is_multipart())
    assert kinds == ["text/html", "text/plain"]
    assert run_id in mail.as_string()
    records = await alert_stack.deliveries(alert["id"])
    assert mail["Message-ID"] == f"<{records[0]['id']}@durableruns>"


async def test_run_failed_is_sent_for_a_runs_final_failure_only(alert_stack: AlertStack) -> None:
    """Three failed attempts, one run.failed message: the retried attempts count in
    their error group but are no failed run (a message each would be noise)."""
    tag = _tag()
    async with http_receiver() as receiver:
        await alert_stack.create(
            name="final only",
            events=["run.failed"],
            channel={"type": "webhook", "url": receiver.url, "secret": SECRET},
            filter={"tags": [tag]},
            throttleSeconds=1,
        )
        run_id = await alert_stack.trigger_failure("err-thrice", tags=[tag])
        got = await _received(receiver, 1)
        assert got[0].json["subject"]["id"] == run_id
        await asyncio.sleep(3)  # past the throttle window: a digest would be sent by now
        assert [r.json["count"] for r in receiver.received] == [1]


@pytest.mark.timeout(240)
async def test_a_storm_of_500_failing_runs_sends_a_handful_of_messages(client: Client) -> None:
    """500 real failing runs (one attempt each, a no-op that raises), triggered over
    HTTP 50 at a time, a webhook on run.failed with a 20 s throttle window: at most 10
    messages, signed, whose counts add up to 500; the group counts 500; and the
    worker's reports coalesce (fewer signals to the monitor than failed runs)."""
    registry = TaskRegistry([error_tasks.err_storm])
    async with (
        open_stack(client, registry, isolation=False, announce_attempts=False) as stack,
        http_receiver() as receiver,
    ):
        created = await stack.http.post(
            "/api/v1/alerts",
            json={
                "name": "storm",
                "events": ["run.failed"],
                "channel": {"type": "webhook", "url": receiver.url, "secret": SECRET},
                "throttleSeconds": 20,
            },
        )
        assert created.status_code == 200, created.text
        for start in range(0, 500, 50):
            await asyncio.gather(*(stack.trigger("err-storm", i) for i in range(start, start + 50)))

        async def total() -> int:
            return sum(r.json["count"] for r in receiver.received)

        await eventually(total, lambda n: n == 500, timeout=180, interval=0.5)
        counts = [r.json["count"] for r in receiver.received]
        assert len(counts) <= 10 and counts[0] == 1, counts
        assert all(r.signed_with(SECRET) for r in receiver.received)
        assert len({r.json["id"] for r in receiver.received}) == len(counts)
        groups = (await stack.http.get("/api/v1/errors")).json()["data"]
        assert [g["count"] for g in groups] == [500]
        monitor = client.get_workflow_handle(monitor_id(stack.settings.task_queue_prefix))
        signaled = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        history = await monitor.fetch_history()
        assert sum(1 for e in history.events if e.event_type == signaled) < 500


async def test_a_storm_sends_a_handful_of_messages_that_carry_the_count(
    alert_stack: AlertStack,
) -> None:
    """500 failures reported within seconds, a 4 s throttle window: a handful of
    messages whose counts add up to 500 (the failures are sent to the monitor straight,
    one legacy single-report signal each, so this takes seconds; the test above makes
    them from real failing runs)."""
    tag = _tag()
    async with http_receiver() as receiver:
        await alert_stack.create(
            name="storm",
            events=["run.failed"],
            channel={"type": "webhook", "url": receiver.url, "secret": SECRET},
            filter={"tags": [tag]},
            throttleSeconds=4,
        )
        handle = alert_stack.client.get_workflow_handle(monitor_id(alert_stack.prefix))

        async def fail(i: int) -> None:
            occurrence = ErrorOccurrence(
                group_id="error_00000000000000aa",
                fingerprint="00000000000000aa",
                task_id="err-divide",
                error_type="ZeroDivisionError",
                message="division by zero",
                run_id=f"run_storm_{i}",
                at=datetime.now(UTC),
                tags=(tag,),
            )
            await handle.signal(OCCURRED_SIGNAL, occurrence)

        for start in range(0, 500, 50):
            await asyncio.gather(*(fail(i) for i in range(start, start + 50)))

        async def total() -> int:
            return sum(r.json["count"] for r in receiver.received)

        await eventually(total, lambda n: n == 500, WAIT)
        assert 2 <= len(receiver.received) <= 8, [r.json["count"] for r in receiver.received]
        assert receiver.received[0].json["count"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": ["run.exploded"]}, "events"),
        ({"channel": {"type": "pager", "url": "https://x.example"}}, "channel"),
        ({"channel": {"type": "webhook", "url": "ftp://x.example", "secret": SECRET}}, "url"),
        ({"channel": {"type": "slack", "url": "not a url"}}, "url"),
        ({"channel": {"type": "webhook", "url": "https://x.example"}}, "channel.secret"),
        ({"channel": {"type": "email", "to": ["nobody"]}}, "to"),
        ({"filter": {"tasks": ["no-such-task"]}}, "filter.tasks[0]"),
        ({"events": []}, "events"),
        ({"name": ""}, "name"),
        ({"throttleSeconds": -1}, "throttleSeconds"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(
    alert_stack: AlertStack, body: dict[str, Any], field: str
) -> None:
    base: dict[str, Any] = {
        "name": "bad",
        "events": ["run.failed"],
        "channel": {"type": "webhook", "url": "https://x.example", "secret": SECRET},
    }
    response = await alert_stack.http.post("/api/v1/alerts", json={**base, **body})
    assert response.status_code == 422, response.text
    assert field in response.json()["error"], response.text


async def test_an_email_channel_without_smtp_is_a_422(client: Client) -> None:
    settings = new_settings()
    transport = httpx.ASGITransport(app=create_app(settings, client=client))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://f", headers={"Authorization": f"Bearer {SECRET_KEY}"}
    ) as http:
        response = await http.post(
            "/api/v1/alerts",
            json={
                "name": "m",
                "events": ["run.failed"],
                "channel": {"type": "email", "to": ["a@b.co"]},
            },
        )
    assert response.status_code == 422 and "channel.type" in response.json()["error"]


async def test_update_disable_enable_delete(alert_stack: AlertStack) -> None:
    alert = await alert_stack.create(
        name="crud",
        events=["run.failed"],
        channel={"type": "webhook", "url": "https://x.example/hook", "secret": SECRET},
    )
    path = f"/api/v1/alerts/{alert['id']}"
    updated = await alert_stack.http.put(
        path,
        json={"name": "renamed", "channel": {"type": "webhook", "url": "https://y.example/h"}},
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["name"] == "renamed"
    assert updated.json()["channel"] == {
        "type": "webhook",
        "url": "https://y.example/h",
        "secretSet": True,
    }
    assert (await alert_stack.http.post(f"{path}/disable")).json()["enabled"] is False
    assert (await alert_stack.http.post(f"{path}/enable")).json()["enabled"] is True
    assert (await alert_stack.http.get(path)).json()["name"] == "renamed"
    assert (await alert_stack.http.delete(path)).status_code == 200
    assert (await alert_stack.http.get(path)).status_code == 404
    assert (await alert_stack.http.get(f"{path}/deliveries")).status_code == 404
    assert (await alert_stack.http.post(f"{path}/disable")).status_code == 404


async def test_the_sdk_creates_lists_and_deletes_alerts(alert_stack: AlertStack) -> None:
    sdk.configure(
        base_url=str(alert_stack.http.base_url),
        secret_key=SECRET_KEY,
        transport=alert_stack.http._transport,  # type: ignore[arg-type]
    )
    created = await sdk_alerts.create(
        name="via sdk",
        events=["error_group.regressed"],
        channel={"type": "webhook", "url": "https://x.example/h", "secret": SECRET},
        filter={"tasks": ["err-divide"]},
    )
    assert created.channel.secret_set is True and created.filter.tasks == ["err-divide"]
    assert created.id in [a.id for a in await sdk_alerts.list()]
    renamed = await sdk_alerts.update(created.id, name="renamed")
    assert renamed.name == "renamed" and renamed.channel.secret_set is True
    assert (await sdk_alerts.disable(created.id)).enabled is False
    assert await sdk_alerts.deliveries(created.id) == []
    await sdk_alerts.delete(created.id)
    with pytest.raises(NotFoundError):
        await sdk_alerts.retrieve(created.id)


async def test_the_cli_creates_lists_and_shows_deliveries(
    alert_stack: AlertStack, client: Client, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("DURABLERUNS_TEMPORAL_ADDRESS", client.service_client.config.target_host)
    monkeypatch.setenv("DURABLERUNS_NAMESPACE", client.namespace)
    monkeypatch.setenv("DURABLERUNS_TASK_QUEUE_PREFIX", alert_stack.prefix)
    tag = _tag()

    async def cli_run(*args: str) -> tuple[int, str, str]:
        # In a thread: the CLI runs its own event loop, and this one serves the worker.
        code = await asyncio.to_thread(cli, list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    async with http_receiver() as receiver:
        code, out, _ = await cli_run(
            "alerts", "create", "--name", "cli", "--event", "run.failed",
            "--webhook", receiver.url, "--secret", SECRET,
        )  # fmt: skip
        assert code == 0 and "(signed)" in out and SECRET not in out
        alert_id = out.split()[0]
        await alert_stack.http.put(f"/api/v1/alerts/{alert_id}", json={"filter": {"tags": [tag]}})
        await alert_stack.trigger_failure(tags=[tag])
        await _received(receiver, 1)

        async def delivered() -> str:
            return (await cli_run("alerts", "deliveries", alert_id))[1]

        shown = await eventually(delivered, lambda text: "delivered" in text, WAIT)
        assert "try 1" in shown and " ok " in shown
        code, out, _ = await cli_run("alerts", "list")
        assert code == 0 and alert_id in out
        assert (await cli_run("alerts", "disable", alert_id))[1].split()[1] == "off"
        assert (await cli_run("alerts", "delete", alert_id))[0] == 0
        code, _, err = await cli_run("alerts", "disable", alert_id)
        assert code == 1 and "no alert" in err
        code, _, err = await cli_run(
            "alerts",
            "create",
            "--name",
            "x",
            "--event",
            "run.exploded",
            "--slack",
            "https://h.example",
        )
        assert code == 1 and "--event" in err


async def test_without_a_worker_alerts_and_errors_answer_without_waiting(client: Client) -> None:
    """No worker ever ran: a change is kept (signal-with-start) and reads come from the
    monitor's memo (empty until a worker publishes it): no 5xx, no wait on a worker."""
    settings = new_settings()
    transport = httpx.ASGITransport(app=create_app(settings, client=client))
    headers = {"Authorization": f"Bearer {SECRET_KEY}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://f", headers=headers) as http:
        created = await http.post(
            "/api/v1/alerts",
            json={
                "name": "early",
                "events": ["run.failed"],
                "channel": {"type": "webhook", "url": "https://x.example/h", "secret": SECRET},
            },
        )
        assert created.status_code == 200, created.text
        for path in ("/api/v1/alerts", "/api/v1/errors", "/api/v1/reports/health"):
            response = await http.get(path)
            assert response.status_code == 200, (path, response.text)
        missing = await http.post("/api/v1/errors/error_0000000000000000/resolve", json={})
        assert missing.status_code == 404


async def test_a_backlog_and_a_saturated_limit_are_sent_once_they_last(client: Client) -> None:
    """The monitor probes lasting states while an alert watches them (every second here,
    30 s by default): three 15-second runs on a limit of one make a backlog of two."""
    settings = new_settings()
    prefix = settings.task_queue_prefix
    await client.start_workflow(
        MonitorWorkflow.run,
        MonitorState(probe_every_s=1.0),
        id=monitor_id(prefix),
        task_queue=runs_queue(prefix),
        id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
    )
    registry = TaskRegistry([queue_tasks.one_at_a_time])
    async with (
        running_worker(client, registry, task_queue_prefix=prefix, version="20261128.1"),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(settings, client=client)),
            base_url=settings.api_url,
            headers={"Authorization": f"Bearer {SECRET_KEY}"},
        ) as http,
        http_receiver() as receiver,
    ):
        created = await http.post(
            "/api/v1/alerts",
            json={
                "name": "lasting",
                "events": ["queue.backlog", "limit.saturated"],
                "channel": {"type": "webhook", "url": receiver.url, "secret": SECRET},
                "backlogSize": 1,
                "backlogMinutes": 0.01,
                "limitMinutes": 0.01,
            },
        )
        assert created.status_code == 200, created.text
        for label in range(3):
            response = await http.post(
                "/api/v1/tasks/one-at-a-time/trigger",
                json={"payload": {"seconds": 15, "label": label}},
            )
            assert response.status_code == 200, response.text

        async def events() -> set[str]:
            return {r.json["event"] for r in receiver.received}

        await eventually(events, lambda e: e == {"queue.backlog", "limit.saturated"}, WAIT)
        kinds = {r.json["event"]: r.json["subject"] for r in receiver.received}
        assert kinds["queue.backlog"]["type"] == "queue"
        assert kinds["queue.backlog"]["queued"] >= 2
        assert kinds["limit.saturated"]["type"] == "limit"
        assert kinds["limit.saturated"]["bound"] == 1
        assert len(receiver.received) == 2  # each sent once while it lasts
