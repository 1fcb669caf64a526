"""Retry delays as Trigger.dev computes them (``calculateNextRetryDelay`` in
``@trigger.dev/core``): randomized first, then capped at ``max_timeout_ms``, rounded half
up. A table worked out by hand from that formula, and the same table checked against the
official package's own function with ``Math.random`` fixed to each row's number."""

from __future__ import annotations

import json
import subprocess

import pytest

from durableruns import RetryOptions
from durableruns.models import RETRY_DELAY_PATCH
from tests.helpers.processes import OFFICIAL_CLIENT_DIR, node_binary

ISSUE_26 = RetryOptions(min_timeout_ms=500, max_timeout_ms=2000, factor=2)

# (options, failed attempt, random number in [0, 1), delay in ms); each expected value is
# min(max, (1 + random if randomize else 1) * min * factor ** (attempt - 1)), rounded.
TABLE: list[tuple[RetryOptions, int, float, int]] = [
    (RetryOptions(randomize=False), 1, 0.9, 1000),
    (RetryOptions(randomize=False), 2, 0.9, 2000),
    (RetryOptions(randomize=False), 3, 0.9, 4000),
    (RetryOptions(randomize=False), 10, 0.9, 60_000),
    (RetryOptions(), 1, 0.0, 1000),
    (RetryOptions(), 1, 0.5, 1500),
    (RetryOptions(), 2, 0.25, 2500),
    (RetryOptions(), 6, 0.9, 60_000),  # 1.9 * 32 s = 60.8 s, capped
    # The issue's case: the third delay was 3.42 s with max 2 s; it is now the cap.
    (ISSUE_26, 1, 0.99, 995),
    (ISSUE_26, 2, 0.58, 1580),
    (ISSUE_26, 3, 0.71, 2000),
    (ISSUE_26, 3, 0.0, 2000),
    (ISSUE_26, 2, 0.9999, 2000),  # 1999.9 is below the cap, and rounds to it
    (RetryOptions(min_timeout_ms=50, factor=3, randomize=False), 3, 0.0, 450),
    (RetryOptions(min_timeout_ms=0), 4, 0.7, 0),
    (RetryOptions(min_timeout_ms=1, factor=1), 1, 0.5, 2),  # 1.5 rounds half up, as in JS
    (RetryOptions(min_timeout_ms=3, factor=1), 1, 0.5, 5),  # 4.5 rounds half up too
    (RetryOptions(min_timeout_ms=1000, max_timeout_ms=0), 2, 0.3, 0),
]


@pytest.mark.parametrize(("options", "attempt", "rand", "expected_ms"), TABLE)
def test_retry_delay_table(
    options: RetryOptions, attempt: int, rand: float, expected_ms: int
) -> None:
    assert options.delay_ms(attempt, rand) == expected_ms


def test_max_timeout_is_a_ceiling_whatever_the_random_number() -> None:
    for attempt in range(1, 12):
        for step in range(100):
            assert ISSUE_26.delay_ms(attempt, step / 100) <= ISSUE_26.max_timeout_ms


def test_runs_from_before_the_patch_keep_their_delays() -> None:
    # Their histories hold timers of the old formula (capped, then randomized).
    assert RETRY_DELAY_PATCH == "retry-delay-randomize-then-cap"
    assert ISSUE_26.delay_ms_capped_before_random(3, 0.71) == 3420


NODE_CHECK = """
const { calculateNextRetryDelay } = require("@trigger.dev/core/v3");
const rows = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = rows.map(([options, attempt, rand]) => {
  Math.random = () => rand;
  return calculateNextRetryDelay({ ...options, maxAttempts: 1000 }, attempt);
});
process.stdout.write(JSON.stringify(out));
"""


def test_the_table_agrees_with_the_official_package() -> None:
    node = node_binary()
    if not (OFFICIAL_CLIENT_DIR / "node_modules" / "@trigger.dev" / "core").is_dir():
        pytest.fail("@trigger.dev/core is not installed: run `npm ci --prefix tests/node`")
    rows = [
        [
            {
                "factor": options.factor,
                "minTimeoutInMs": options.min_timeout_ms,
                "maxTimeoutInMs": options.max_timeout_ms,
                "randomize": options.randomize,
            },
            attempt,
            rand,
        ]
        for options, attempt, rand, _ in TABLE
    ]
    done = subprocess.run(
        [node, "-e", NODE_CHECK],
        cwd=OFFICIAL_CLIENT_DIR,
        input=json.dumps(rows),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    official = json.loads(done.stdout)
    ours = [options.delay_ms(attempt, rand) for options, attempt, rand, _ in TABLE]
    assert ours == official == [expected for *_, expected in TABLE]
