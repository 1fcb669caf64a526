"""``GET /api/v1/runs`` and ``runs.list``: filters, keyset pages both ways, bad input.

The runs live on an isolated task-queue prefix and carry unique tags, so other tests'
runs never show up; visibility is eventually consistent, so every list assertion waits
with a bounded ``eventually``.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from durableruns import sdk
from durableruns.api.routes.runs_list import decode_cursor, encode_cursor
from durableruns.engine import search_attributes as sa
from durableruns.sdk import runs
from durableruns.sdk.runs import ListedRun
from durableruns.service.run_list import Position, RunFilter, RunLister
from durableruns.status import RunStatus
from durableruns.task_definitions import TaskRegistry
from tests.helpers import SECRET_KEY, STACK_MODULES, Stack, eventually, open_stack

Params = dict[str, str]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def list_runs(stack: Stack, params: Params) -> dict[str, Any]:
    response = await stack.http.get("/api/v1/runs", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def listed(stack: Stack, params: Params) -> list[str]:
    """Ids of the first page (up to 100) matching ``params``, newest first."""
    body = await list_runs(stack, {"page[size]": "100", **params})
    return [item["id"] for item in body["data"]]


async def eventually_listed(stack: Stack, params: Params, expected: set[str]) -> list[str]:
    ids = await eventually(lambda: listed(stack, params), lambda got: set(got) == expected)
    assert len(ids) == len(expected), "no run is listed twice"
    return ids


@pytest.fixture(scope="module")
async def list_stack(client: Client) -> AsyncIterator[Stack]:
    """A worker and facade of their own, so only this module's runs are listed."""
    async with open_stack(client, TaskRegistry.from_modules(STACK_MODULES)) as stack:
        yield stack


@dataclass
class Corpus:
    """Finished runs with known attributes, all tagged ``tag``."""

    tag: str
    key: str
    ids: dict[str, str] = field(default_factory=dict)
    batch_id: str = ""
    batch_runs: list[str] = field(default_factory=list)
    child: str = ""
    items: dict[str, dict[str, Any]] = field(default_factory=dict)

    def all(self) -> set[str]:
        return {*self.ids.values(), *self.batch_runs}


@pytest.fixture(scope="module")
async def corpus(list_stack: Stack) -> Corpus:
    stack = list_stack
    tag = unique("corpus")
    c = Corpus(tag=tag, key=unique("key"))
    c.ids["a"] = await stack.trigger("hello-world", {"name": "a"}, tags=[tag, f"{tag}-a"])
    c.ids["b"] = await stack.trigger(
        "hello-world", {"name": "b"}, tags=[tag, f"{tag}-b"], test=True
    )
    c.ids["c"] = await stack.trigger("always-fails", {}, tags=[tag])
    c.ids["d"] = await stack.trigger("hello-world", {"name": "d"}, tags=[tag], idempotencyKey=c.key)
    c.ids["e"] = await stack.trigger(
        "waits-for-a-sleepy-child", {"task": "hello-world", "child": {"name": "kid"}}, tags=[tag]
    )
    c.batch_id, c.batch_runs = await _batch(stack, tag, 2)
    for run_id in c.all():
        await stack.wait_final(run_id)
    c.child = (await stack.retrieve(c.ids["e"]))["output"]["child"]
    body = await eventually(
        lambda: list_runs(stack, {"filter[tag]": tag, "page[size]": "100"}),
        lambda b: (
            {i["id"] for i in b["data"]} == c.all() and all(i["isCompleted"] for i in b["data"])
        ),
    )
    c.items = {item["id"]: item for item in body["data"]}
    return c


async def _batch(stack: Stack, tag: str, count: int) -> tuple[str, list[str]]:
    created = await stack.http.post(
        "/api/v3/batches", json={"runCount": count, "taskIdentifiers": ["hello-world"]}
    )
    batch_id: str = created.json()["id"]
    lines = [
        {
            "index": i,
            "task": "hello-world",
            "payload": json.dumps({"json": {"name": f"batch{i}"}}),
            "options": {"payloadType": "application/super+json", "tags": [tag]},
        }
        for i in range(count)
    ]
    sent = await stack.http.post(
        f"/api/v3/batches/{batch_id}/items",
        content="\n".join(json.dumps(line) for line in lines).encode(),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert sent.status_code == 200, sent.text
    got = (await stack.http.get(f"/api/v2/batches/{batch_id}")).json()
    return batch_id, list(got["runs"])


# --- items -----------------------------------------------------------------------------
async def test_list_items_have_the_common_run_fields_and_the_env(corpus: Corpus) -> None:
    item = corpus.items[corpus.ids["a"]]
    assert item["status"] == "COMPLETED" and item["taskIdentifier"] == "hello-world"
    assert item["env"] == {"id": "dev", "name": "dev"}
    assert item["isCompleted"] and item["isSuccess"] and not item["isFailed"]
    assert item["tags"] == sorted([corpus.tag, f"{corpus.tag}-a"])
    assert item["version"] == "20261128.1" and item["depth"] == 0
    assert item["triggerFunction"] == "trigger" and item["isTest"] is False
    assert item["createdAt"].endswith("Z") and item["createdAt"] <= item["finishedAt"]
    assert {"costInCents", "baseCostInCents", "durationMs", "updatedAt"} <= item.keys()
    assert not {"payload", "output", "error", "relatedRuns", "attempts"} & item.keys()
    assert None not in item.values()


async def test_list_items_name_their_batch_and_parent(corpus: Corpus) -> None:
    batch_item = corpus.items[corpus.batch_runs[0]]
    assert batch_item["batchId"] == corpus.batch_id
    assert batch_item["triggerFunction"] == "batchTrigger"
    failed = corpus.items[corpus.ids["c"]]
    assert failed["status"] == "FAILED" and failed["isFailed"]


async def test_runs_are_listed_newest_first(corpus: Corpus) -> None:
    keys = [(i["createdAt"], i["id"]) for i in corpus.items.values()]
    body_order = list(corpus.items)
    assert [k[1] for k in sorted(keys, reverse=True)] == body_order


# --- filters, one by one ---------------------------------------------------------------
async def test_filter_status_keeps_runs_in_any_of_the_statuses(
    list_stack: Stack, corpus: Corpus
) -> None:
    failed = await listed(list_stack, {"filter[tag]": corpus.tag, "filter[status]": "FAILED"})
    assert failed == [corpus.ids["c"]]
    both = await listed(
        list_stack, {"filter[tag]": corpus.tag, "filter[status]": "COMPLETED,FAILED"}
    )
    assert set(both) == corpus.all()


async def test_filter_task_identifier_takes_several(list_stack: Stack, corpus: Corpus) -> None:
    got = await listed(
        list_stack,
        {
            "filter[tag]": corpus.tag,
            "filter[taskIdentifier]": "always-fails,waits-for-a-sleepy-child",
        },
    )
    assert set(got) == {corpus.ids["c"], corpus.ids["e"]}


async def test_filter_version(list_stack: Stack, corpus: Corpus) -> None:
    same = await listed(list_stack, {"filter[tag]": corpus.tag, "filter[version]": "20261128.1"})
    assert set(same) == corpus.all()
    assert await listed(list_stack, {"filter[tag]": corpus.tag, "filter[version]": "1999.1"}) == []


async def test_filter_tag_matches_runs_with_any_of_the_tags(
    list_stack: Stack, corpus: Corpus
) -> None:
    got = await listed(list_stack, {"filter[tag]": f"{corpus.tag}-a,{corpus.tag}-b"})
    assert set(got) == {corpus.ids["a"], corpus.ids["b"]}


async def test_filter_batch(list_stack: Stack, corpus: Corpus) -> None:
    got = await listed(list_stack, {"filter[batch]": corpus.batch_id})
    assert set(got) == set(corpus.batch_runs)


async def test_filter_schedule_matches_nothing_since_no_run_has_a_schedule(
    list_stack: Stack, corpus: Corpus
) -> None:
    assert (
        await listed(list_stack, {"filter[tag]": corpus.tag, "filter[schedule]": "sched_1"}) == []
    )
    empty = await listed(list_stack, {"filter[tag]": corpus.tag, "filter[schedule]": ""})
    assert set(empty) == corpus.all()


async def test_filter_created_at_from_and_to_split_the_runs(
    list_stack: Stack, corpus: Corpus
) -> None:
    oldest_first = sorted(corpus.items.values(), key=lambda i: (i["createdAt"], i["id"]))
    older, newer = oldest_first[:3], oldest_first[3:]
    last_older = datetime.fromisoformat(older[-1]["createdAt"])
    split = str(int(last_older.timestamp() * 1000) + 1)
    assert datetime.fromisoformat(newer[0]["createdAt"]).timestamp() * 1000 >= int(split)
    got_newer = await listed(
        list_stack, {"filter[tag]": corpus.tag, "filter[createdAt][from]": split}
    )
    got_older = await listed(
        list_stack, {"filter[tag]": corpus.tag, "filter[createdAt][to]": split}
    )
    assert set(got_newer) == {i["id"] for i in newer}
    assert set(got_older) == {i["id"] for i in older}


async def test_filter_created_at_period_counts_back_from_now(
    list_stack: Stack, corpus: Corpus
) -> None:
    day = await listed(list_stack, {"filter[tag]": corpus.tag, "filter[createdAt][period]": "1d"})
    assert set(day) == corpus.all()
    params = {"filter[tag]": corpus.tag, "filter[createdAt][period]": "1s"}
    assert await eventually(lambda: listed(list_stack, params), lambda got: got == []) == []


async def test_filter_is_test(list_stack: Stack, corpus: Corpus) -> None:
    assert await listed(list_stack, {"filter[tag]": corpus.tag, "filter[isTest]": "true"}) == [
        corpus.ids["b"]
    ]
    not_test = await listed(list_stack, {"filter[tag]": corpus.tag, "filter[isTest]": "false"})
    assert set(not_test) == corpus.all() - {corpus.ids["b"]}


async def test_filter_queue(list_stack: Stack, corpus: Corpus) -> None:
    got = await listed(
        list_stack, {"filter[tag]": corpus.tag, "filter[queue]": "task/always-fails"}
    )
    assert got == [corpus.ids["c"]]


async def test_filter_idempotency_key_matches_the_users_key(
    list_stack: Stack, corpus: Corpus
) -> None:
    assert await listed(list_stack, {"filter[idempotencyKey]": corpus.key}) == [corpus.ids["d"]]
    assert corpus.items[corpus.ids["d"]]["idempotencyKey"] == corpus.key


async def test_filter_parent_run_id_lists_the_children(list_stack: Stack, corpus: Corpus) -> None:
    children = await listed(list_stack, {"filter[parentRunId]": corpus.ids["e"]})
    assert children == [corpus.child]
    child = (await list_runs(list_stack, {"filter[parentRunId]": corpus.ids["e"]}))["data"][0]
    assert child["depth"] == 1 and child["triggerFunction"] == "triggerAndWait"


async def test_filters_combine(list_stack: Stack, corpus: Corpus) -> None:
    got = await listed(
        list_stack,
        {
            "filter[tag]": corpus.tag,
            "filter[status]": "COMPLETED",
            "filter[taskIdentifier]": "hello-world",
            "filter[isTest]": "false",
        },
    )
    assert set(got) == {corpus.ids["a"], corpus.ids["d"], *corpus.batch_runs}


# --- pagination ------------------------------------------------------------------------
async def _walk(stack: Stack, params: Params, key: str, cursor: str) -> list[dict[str, Any]]:
    """Pages from ``cursor`` on, following ``next`` (key ``page[after]``) or
    ``previous`` (``page[before]``) until it is absent."""
    follow = "next" if key == "page[after]" else "previous"
    pages = []
    while cursor:
        body = await list_runs(stack, {**params, key: cursor})
        pages.append(body)
        cursor = body["pagination"].get(follow)
    return pages


def _ids(pages: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for page in pages for item in page["data"]]


def _assert_newest_first(items: list[dict[str, Any]]) -> None:
    keys = [(i["createdAt"], i["id"]) for i in items]
    assert keys == sorted(keys, reverse=True)


async def test_pages_walk_both_ways_without_duplicates_or_gaps_while_runs_arrive(
    list_stack: Stack,
) -> None:
    tag = unique("pages")
    original: list[str] = []
    for _ in range(6):
        original += await asyncio.gather(
            *(list_stack.trigger("hello-world", {"name": "p"}, tags=[tag]) for _ in range(10))
        )
    params = {"filter[tag]": tag, "page[size]": "7"}
    await eventually_listed(list_stack, {"filter[tag]": tag}, set(original))

    first = await list_runs(list_stack, params)
    assert len(first["data"]) == 7 and "previous" not in first["pagination"]
    newcomers = await asyncio.gather(
        *(list_stack.trigger("hello-world", {"name": "late"}, tags=[tag]) for _ in range(5))
    )
    await eventually_listed(list_stack, {"filter[tag]": tag}, {*original, *newcomers})

    rest = await _walk(list_stack, params, "page[after]", first["pagination"]["next"])
    forward = [first, *rest]
    assert [len(p["data"]) for p in forward] == [7] * 8 + [4]
    assert all("previous" in p["pagination"] for p in rest)
    assert "next" not in forward[-1]["pagination"]
    assert sorted(_ids(forward)) == sorted(original), "newcomers stay out of a forward walk"
    _assert_newest_first([i for p in forward for i in p["data"]])

    backward = await _walk(
        list_stack, params, "page[before]", forward[-1]["pagination"]["previous"]
    )
    newest_first = [i for p in reversed(backward) for i in p["data"]]
    _assert_newest_first(newest_first)
    expected = {*original, *newcomers} - set(_ids([forward[-1]]))
    assert len(newest_first) == len(expected) and {i["id"] for i in newest_first} == expected
    assert all(len(p["data"]) == 7 for p in backward[:-1])
    assert "previous" not in backward[-1]["pagination"]
    assert all("next" in p["pagination"] for p in backward)


async def test_a_before_page_is_the_runs_just_newer_than_the_cursor(
    list_stack: Stack, corpus: Corpus
) -> None:
    params = {"filter[tag]": corpus.tag, "page[size]": "2"}
    second = await list_runs(
        list_stack,
        {**params, "page[after]": (await list_runs(list_stack, params))["pagination"]["next"]},
    )
    back = await list_runs(list_stack, {**params, "page[before]": second["pagination"]["previous"]})
    assert [i["id"] for i in back["data"]] == list(corpus.items)[:2]


async def test_page_size_defaults_to_25(list_stack: Stack) -> None:
    tag = unique("size")
    ids = await asyncio.gather(
        *(list_stack.trigger("hello-world", {"name": "s"}, tags=[tag]) for _ in range(26))
    )
    await eventually_listed(list_stack, {"filter[tag]": tag}, set(ids))
    body = await list_runs(list_stack, {"filter[tag]": tag})
    assert len(body["data"]) == 25 and "next" in body["pagination"]


# --- the Python SDK --------------------------------------------------------------------
@pytest.fixture
def sdk_on_list_stack(list_stack: Stack) -> Stack:
    transport = list_stack.http._transport
    sdk.configure(base_url=list_stack.settings.api_url, secret_key=SECRET_KEY, transport=transport)  # type: ignore[arg-type]
    return list_stack


async def test_sdk_list_iterates_over_every_page(sdk_on_list_stack: Stack, corpus: Corpus) -> None:
    got = [run async for run in runs.list(tag=corpus.tag, limit=2)]
    assert all(isinstance(run, ListedRun) for run in got)
    assert [run.id for run in got] == list(corpus.items)
    completed = [
        run.id
        async for run in runs.list(
            tag=corpus.tag, status=["COMPLETED"], task_identifier="hello-world"
        )
    ]
    assert set(completed) == {corpus.ids["a"], corpus.ids["b"], corpus.ids["d"], *corpus.batch_runs}


async def test_sdk_list_page_returns_items_and_both_cursors(
    sdk_on_list_stack: Stack, corpus: Corpus
) -> None:
    first = await runs.list_page(tag=corpus.tag, limit=3)
    items, next_cursor, previous = first
    assert [r.id for r in items] == list(corpus.items)[:3] and previous is None
    assert next_cursor is not None and items[0].env.name == "dev"
    second = await runs.list_page(tag=corpus.tag, limit=3, after=next_cursor)
    assert [r.id for r in second.items] == list(corpus.items)[3:6]
    assert second.previous is not None
    back = await runs.list_page(tag=corpus.tag, limit=3, before=second.previous)
    assert [r.id for r in back.items] == [r.id for r in items]


async def test_sdk_list_filters_by_creation_time(sdk_on_list_stack: Stack, corpus: Corpus) -> None:
    future = datetime.now(UTC) + timedelta(hours=1)
    assert [r async for r in runs.list(tag=corpus.tag, from_=future)] == []
    assert len([r async for r in runs.list(tag=corpus.tag, to=future, period="1d")]) == len(
        corpus.all()
    )


# --- bad input -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("filter[status]", "DONE", "filter[status]: unknown status 'DONE'"),
        ("filter[createdAt][from]", "yesterday", "filter[createdAt][from]: expected epoch"),
        ("filter[createdAt][to]", "12.5", "filter[createdAt][to]: expected epoch"),
        ("filter[createdAt][period]", "forever", "filter[createdAt][period]: expected a duration"),
        ("filter[createdAt][period]", "0s", "filter[createdAt][period]: expected a duration"),
        ("filter[isTest]", "yes", "filter[isTest]: expected true or false"),
        ("filter[tag]", 'say "hi"', "filter[tag]: cannot search"),
        ("filter[colour]", "red", "filter[colour]: unknown parameter"),
        ("page[size]", "0", "page[size]: expected a number from 1 to 100"),
        ("page[size]", "101", "page[size]: expected a number from 1 to 100"),
        ("page[size]", "ten", "page[size]: expected a number from 1 to 100"),
        ("page[after]", "not-a-cursor", "page[after]: not a cursor this server issued"),
        ("page[before]", "bm9wZQ.bm9wZQ", "page[before]: not a cursor this server issued"),
    ],
)
async def test_bad_list_parameters_are_refused_naming_the_parameter(
    list_stack: Stack, key: str, value: str, message: str
) -> None:
    response = await list_stack.http.get("/api/v1/runs", params={key: value})
    assert response.status_code == 400
    assert response.json()["error"].startswith(message)


async def test_a_tampered_cursor_is_refused(list_stack: Stack, corpus: Corpus) -> None:
    params = {"filter[tag]": corpus.tag, "page[size]": "2"}
    cursor = (await list_runs(list_stack, params))["pagination"]["next"]
    signature = cursor.split(".")[1]
    position = decode_cursor(cursor, SECRET_KEY)
    forged = encode_cursor(Position(position.created_at, "run_zzzz"), SECRET_KEY).split(".")[0]
    for bad in (f"{forged}.{signature}", encode_cursor(position, "another-environments-key")):
        response = await list_stack.http.get("/api/v1/runs", params={**params, "page[after]": bad})
        assert response.status_code == 400
        assert response.json()["error"].startswith("page[after]: ")


async def test_both_cursors_the_later_issued_one_wins(list_stack: Stack, corpus: Corpus) -> None:
    """The official client's CursorPage.getPreviousPage()/getNextPage() merge the new cursor
    into the params the page was fetched with, so stepping back after a step forward sends
    page[after] and page[before] together (and the other way round)."""
    params = {"filter[tag]": corpus.tag, "page[size]": "2"}
    first = await list_runs(list_stack, params)
    after = first["pagination"]["next"]
    second = await list_runs(list_stack, {**params, "page[after]": after})
    before = second["pagination"]["previous"]
    back = await list_runs(list_stack, {**params, "page[after]": after, "page[before]": before})
    assert back["data"] == first["data"]
    forth = {**params, "page[before]": before, "page[after]": back["pagination"]["next"]}
    assert (await list_runs(list_stack, forth))["data"] == second["data"]


def test_a_cursor_round_trips_its_position_to_the_microsecond() -> None:
    position = Position(datetime(2026, 11, 28, 15, 51, 20, 666507, tzinfo=UTC), "run_abc")
    assert decode_cursor(encode_cursor(position, SECRET_KEY), SECRET_KEY) == position


# --- paging logic against an in-memory visibility ----------------------------------------
class FakeExecutions:
    """``list_workflows``' iterator over rows already filtered and ordered."""

    def __init__(self, rows: list[Any], page_size: int) -> None:
        self._rows, self._size, self._offset = rows, page_size, 0
        self.current_page: list[Any] | None = None
        self.next_page_token: bytes | None = None

    async def fetch_next_page(self) -> None:
        self.current_page = self._rows[self._offset : self._offset + self._size]
        self._offset += self._size
        self.next_page_token = b"more" if len(self.current_page) == self._size else None

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._all()

    async def _all(self) -> AsyncIterator[Any]:
        while self.current_page is None or self.next_page_token:
            await self.fetch_next_page()
            for row in self.current_page or []:
                yield row


class FakeVisibility:
    """Answers the StartTime bounds of a query from memory, in SQL visibility's order
    (running first, then by close time, newest first) or shuffled."""

    BOUND = re.compile(r"StartTime (>=|<=|<) '([^']+)'")

    def __init__(self, executions: list[Any], *, shuffled: bool = False) -> None:
        self.executions, self.shuffled, self.calls = executions, shuffled, 0

    def list_workflows(self, query: str, *, page_size: int = 1000) -> FakeExecutions:
        self.calls += 1
        rows = list(self.executions)
        for op, text in self.BOUND.findall(query):
            bound = datetime.fromisoformat(text)
            test = {">=": bound.__le__, "<=": bound.__ge__, "<": bound.__gt__}[op]
            rows = [r for r in rows if test(r.start_time)]
        end = datetime.max.replace(tzinfo=UTC)
        rows.sort(key=lambda r: (r.close_time or end, r.start_time), reverse=True)
        if self.shuffled:
            random.Random(7).shuffle(rows)
        return FakeExecutions(rows, page_size)


COMPLETED = WorkflowExecutionStatus.COMPLETED


def fake_runs(count: int, seed: int) -> list[Any]:
    """Runs started over a minute (some at the very same microsecond), closing after
    a random lag (some a long while later), a few still running."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 28, 12, tzinfo=UTC)
    runs_made = []
    for i in range(count):
        started = start + timedelta(milliseconds=rng.randrange(60_000) // 7 * 7)
        lag = timedelta(seconds=rng.choice([0.03, 0.2, 5, 40, 600]))
        running = rng.random() < 0.05
        runs_made.append(
            SimpleNamespace(
                id=f"run_{i:04d}{rng.randrange(10**6):06d}",
                start_time=started,
                close_time=None if running else started + lag,
                status=WorkflowExecutionStatus.RUNNING if running else COMPLETED,
                typed_search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(sa.TRIGGER_STATUS, "COMPLETED")]
                ),
            )
        )
    return runs_made


@pytest.mark.parametrize("shuffled", [False, True], ids=["sql-order", "any-order"])
@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_pages_are_exact_whatever_the_close_times_and_server_order(
    shuffled: bool, seed: int
) -> None:
    executions = fake_runs(300, seed)
    truth = [e.id for e in sorted(executions, key=lambda e: (e.start_time, e.id), reverse=True)]
    lister = RunLister(FakeVisibility(executions, shuffled=shuffled), task_queue_prefix="p")  # type: ignore[arg-type]
    forward, page = [], await lister.page(RunFilter(), 7)
    while True:
        forward.append(page)
        if not page.has_more:
            break
        page = await lister.page(RunFilter(), 7, after=page.rows[-1].position)
    assert [r.run_id for p in forward for r in p.rows] == truth
    backward, page = [], forward[-1]
    while True:
        page = await lister.page(RunFilter(), 7, before=page.rows[0].position)
        backward.append(page)
        if not page.has_more:
            break
    newest_first = [r.run_id for p in reversed(backward) for r in p.rows]
    assert newest_first == truth[: len(truth) - len(forward[-1].rows)]


async def test_a_page_of_recent_runs_costs_one_visibility_call() -> None:
    executions = [e for e in fake_runs(300, 4) if e.close_time]
    for e in executions:  # runs that closed 30 ms after starting, as hello-world does
        e.close_time = e.start_time + timedelta(milliseconds=30)
    visibility = FakeVisibility(executions)
    lister = RunLister(visibility, task_queue_prefix="p")  # type: ignore[arg-type]
    page = await lister.page(RunFilter(), 25)
    assert len(page.rows) == 25 and visibility.calls == 1
    await lister.page(RunFilter(), 25, after=page.rows[-1].position)
    assert visibility.calls == 2


def test_the_visibility_query_names_every_filter() -> None:
    lister = RunLister(None, task_queue_prefix="pre")  # type: ignore[arg-type]
    query = lister.query(
        RunFilter(
            statuses=(RunStatus.COMPLETED, RunStatus.FAILED),
            tags=("it's",),
            is_test=False,
            parent_run_id="run_p",
            created_from=datetime(2026, 1, 1, tzinfo=UTC),
        )
    )
    assert query == (
        "WorkflowType = 'durableruns.run' AND TaskQueue = 'pre:runs'"
        " AND TriggerStatus IN ('COMPLETED', 'FAILED') AND TriggerTags IN ('it''s')"
        " AND TriggerParentRunId IN ('run_p') AND StartTime >= '2026-01-01T00:00:00.000000Z'"
        " AND TriggerIsTest = false"
    )
