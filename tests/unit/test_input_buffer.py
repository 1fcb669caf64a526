"""The run workflow's buffer of input-stream values (``durableruns.input_models``): order,
the cursor, and the bounds, with no server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from durableruns.errors import InvalidInputError
from durableruns.input_models import (
    MAX_BUFFERED_BYTES,
    MAX_BUFFERED_VALUES,
    InputBuffer,
    InputQuery,
    InputSent,
    check_stream_id,
)

NOW = datetime(2026, 12, 4, tzinfo=UTC)


def _sent(value: object, stream: str = "s", size: int = 1) -> InputSent:
    return InputSent(stream_id=stream, value=value, size=size, sent_at=NOW)


def test_values_are_numbered_per_stream_in_arrival_order() -> None:
    buffer = InputBuffer()
    for value in ("a", "b"):
        buffer.add(_sent(value))
    buffer.add(_sent("x", stream="t"))
    assert [buffer.value("s", i) for i in (0, 1)] == ["a", "b"]
    assert buffer.value("t", 0) == "x" and not buffer.has("t", 1)


def test_consuming_moves_the_cursor_and_frees_what_is_behind_it() -> None:
    buffer = InputBuffer()
    for value in ("a", "b", "c"):
        buffer.add(_sent(value))
    buffer.consume("s", 1)
    assert buffer.cursors() == {"s": 2}
    assert buffer.buffered == 1
    answer = buffer.answer(InputQuery(stream_id="s", start=0))
    assert (answer.first, answer.values, answer.last, answer.received) == (2, ("c",), "c", 3)
    assert buffer.answer(InputQuery(stream_id="nope")).values == ()


@pytest.mark.parametrize(
    ("count", "size"), [(MAX_BUFFERED_VALUES, 1), (2, MAX_BUFFERED_BYTES // 2)]
)
def test_past_the_bound_values_are_dropped_and_counted(count: int, size: int) -> None:
    buffer = InputBuffer()
    for n in range(count):
        assert buffer.add(_sent(n, size=size))
    assert not buffer.add(_sent("one too many", size=size))
    assert buffer.dropped == 1
    buffer.consume("s", 0)  # consuming makes room again
    assert buffer.add(_sent("fits", size=size))


@pytest.mark.parametrize("bad", ["", "a.b", "a/b", "x" * 129, "é"])
def test_stream_ids_are_letters_digits_underscores_and_dashes(bad: str) -> None:
    check_stream_id("approval_2-b")
    with pytest.raises(InvalidInputError, match="streamId"):
        check_stream_id(bad)
