"""The cron format (parse, words, Temporal calendars) without a server."""

from __future__ import annotations

import pytest

from durableruns.cron import describe, parse_cron
from durableruns.errors import InvalidScheduleError, TaskDefinitionError
from durableruns.scheduling import task
from durableruns.service.schedule_spec import calendars
from durableruns.task_definitions import task as plain_task


@pytest.mark.parametrize(
    ("cron", "words"),
    [
        ("* * * * *", "Every minute"),
        ("*/5 * * * *", "Every 5 minutes"),
        ("0 * * * *", "Every hour"),
        ("0 */2 * * *", "Every 2 hours"),
        ("0 2 * * *", "At 02:00, every day"),
        ("0 2 * * 1-5", "At 02:00, on Monday through Friday"),
        ("30 4 * JAN-MAR *", "At 04:30, every day, in January through March"),
        ("0 9 1,15 * SUN", "At 09:00, on day 1 and 15 of the month or on Sunday"),
    ],
)
def test_crons_in_words(cron: str, words: str) -> None:
    assert describe(parse_cron(cron)) == words


def test_sunday_is_0_or_7_and_both_day_fields_are_ored() -> None:
    expr = parse_cron("0 0 13 * 5,7")
    assert expr.days_of_week == (0, 5)
    specs = calendars(expr)
    assert len(specs) == 2, "day of month OR day of week: one calendar each"
    assert [(r.start, r.end) for r in specs[0].day_of_month] == [(13, 13)]
    assert [(r.start, r.end) for r in specs[1].day_of_week] == [(0, 0), (5, 5)]
    assert [(r.start, r.end) for r in calendars(parse_cron("0-4,9 * * * *"))[0].minute] == [
        (0, 4),
        (9, 9),
    ]


@pytest.mark.parametrize("cron", ["* * * *", "* * * * * *", "60 * * * *", "*/0 * * * *", "x"])
def test_bad_crons_name_the_field(cron: str) -> None:
    with pytest.raises(InvalidScheduleError) as caught:
        parse_cron(cron)
    assert caught.value.field == "cron"


def test_task_definitions_check_their_schedule() -> None:
    with pytest.raises(TaskDefinitionError, match="cron"):
        plain_task("t", cron="1 2 3")
    with pytest.raises(TaskDefinitionError, match="timezone"):
        task("t", cron="* * * * *", timezone="Nowhere/Land")
    made = task("t2")(lambda payload: None)
    assert made.scheduled and made.schedule is None
