"""The health verdict without a server: healthy, a limit at bound, no worker, a failing
task, a rise over baseline; deterministic (same numbers, same report)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from durableruns.health_report import (
    HealthInputs,
    SaturatedQueue,
    TopGroup,
    render_text,
    view_model,
)

AT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
GROUP = TopGroup("error_0123456789abcdef", "charge", "CardDeclined", "card <id> declined", 9)

CASES = [
    ("healthy", HealthInputs(60, workers=2, started=50, completed=48, failed=1),
     "ok", "liveness", "healthy"),
    (
        "a limit at bound",
        HealthInputs(60, workers=1, queued=40, started=10, completed=10,
                     saturated=(SaturatedQueue("task/export", 2, 2, 38),)),
        "warn", "flow", "limit_saturated",
    ),
    ("no worker", HealthInputs(60, workers=0, queued=5, tasks_without_worker={"export": 5}),
     "crit", "liveness", "no_worker_polling"),
    (
        "no worker for one task",
        HealthInputs(60, workers=1, queued=7, tasks_without_worker={"resize": 7}, completed=3),
        "crit", "flow", "no_worker_for_task",
    ),
    (
        "a failing task",
        HealthInputs(60, workers=1, started=12, completed=3, failed=9, top_groups=(GROUP,)),
        "crit", "execution", "runs_failing",
    ),
    (
        "failures above baseline",
        HealthInputs(60, workers=1, completed=80, failed=20, baseline_completed=600,
                     baseline_failed=6),
        "warn", "execution", "failure_rate_up",
    ),
    (
        "failures at baseline",
        HealthInputs(60, workers=1, completed=80, failed=20, baseline_completed=400,
                     baseline_failed=100),
        "ok", "liveness", "healthy",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("why", "inputs", "severity", "lead", "reason"), CASES, ids=[c[0] for c in CASES]
)
def test_verdicts(why: str, inputs: HealthInputs, severity: str, lead: str, reason: str) -> None:
    view = view_model(inputs, scope="prod", period="last 1h", generated_at=AT)
    assert view["summary"]["severity"] == severity
    first = view["summary"]["statements"][0]
    assert (first["findingType"], first["reason"]) == (lead, reason)
    assert {s["findingType"] for s in view["summary"]["statements"]} == {
        "liveness",
        "flow",
        "execution",
    }
    assert view["nextAction"]


def test_a_failing_task_names_its_error_group_and_the_action() -> None:
    inputs = HealthInputs(60, workers=1, completed=3, failed=9, top_groups=(GROUP,))
    view = view_model(inputs, scope="prod", period="last 1h", generated_at=AT)
    assert GROUP.id in view["nextAction"]
    assert view["findings"][0]["attribution"]["key"] == GROUP.id
    text = render_text(view)
    assert text.splitlines()[2].startswith("✕ EXECUTION: Runs are failing: 'charge'")
    assert "✓ LIVENESS" in text and "→ Open error group error_0123456789abcdef" in text


def test_the_same_numbers_give_the_same_report() -> None:
    inputs = CASES[1][1]
    first = view_model(inputs, scope="prod", period="last 1h", generated_at=AT)
    assert first == view_model(inputs, scope="prod", period="last 1h", generated_at=AT)
    assert render_text(first) == render_text(
        view_model(inputs, scope="prod", period="last 1h", generated_at=AT)
    )
