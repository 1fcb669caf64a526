"""Rerun from a step (issue 23, a durableruns extension): ``POST /api/v1/runs/{id}/replay``
with ``fromStep`` starts a run that answers the source run's recorded calls before that
step from their records (counted: the code inside them is not called again) and runs the
code live from it; the new run records where it came from. A ``fromStep`` outside the
journal is a 422 naming the last position."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from durableruns import runs
from tests.helpers import Stack


def _counts(path: Path) -> Counter[str]:
    return Counter(path.read_text().split())


async def _checkout(stack: Stack, tmp_path: Path) -> tuple[str, Path]:
    counter = tmp_path / "counts"
    run_id = await stack.trigger("checkout", {"counter": str(counter), "seconds": 0.6})
    run = await stack.wait_final(run_id)
    assert run["status"] == "COMPLETED", run
    assert _counts(counter) == Counter(outside=2, charge=1, receipt=1)  # resumed once
    return run_id, counter


async def _rerun(stack: Stack, run_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await stack.http.post(f"/api/v1/runs/{run_id}/replay", json=body)
    assert response.status_code == 200, response.text
    return await stack.wait_final(response.json()["id"])


async def test_a_rerun_from_a_step_reuses_the_steps_before_it(stack: Stack, tmp_path: Path) -> None:
    run_id, counter = await _checkout(stack, tmp_path)
    rerun = await _rerun(stack, run_id, {"fromStep": "send-receipt"})
    assert rerun["status"] == "COMPLETED", rerun
    assert rerun["replayedFrom"] == run_id and rerun["replayedFromStep"] == 2
    counts = _counts(counter)
    assert counts["charge"] == 1, counts  # before the cut: its record, not called again
    assert counts["receipt"] == 2, counts  # from the cut: live
    assert rerun["output"]["charge"] == {"id": "ch_1", "amount": 5}


async def test_a_rerun_with_an_edited_payload_keeps_the_records_before_the_cut(
    sdk_stack: Stack, tmp_path: Path
) -> None:
    run_id, counter = await _checkout(sdk_stack, tmp_path)
    payload = {"counter": str(counter), "seconds": 0.6, "amount": 9}
    handle = await runs.replay(run_id, payload=payload, from_step=1)
    rerun = await runs.poll(handle)
    assert rerun.status == "COMPLETED"
    assert rerun.output["charge"]["amount"] == 5  # the recorded charge, not a new one
    assert _counts(counter)["charge"] == 1
    from_start = await _rerun(sdk_stack, run_id, {"fromStep": 0})
    assert from_start["output"]["charge"]["amount"] == 5
    assert _counts(counter)["charge"] == 2  # from position 0 everything runs live


async def test_a_from_step_outside_the_journal_is_422_naming_the_last_position(
    stack: Stack, tmp_path: Path
) -> None:
    run_id, _ = await _checkout(stack, tmp_path)
    for from_step, expected in (
        (7, "fromStep: position 7 is not in the run's journal (its last position is 2)"),
        ("nope", "fromStep: the run's journal has no step 'nope' (its last position is 2)"),
    ):
        response = await stack.http.post(
            f"/api/v1/runs/{run_id}/replay", json={"fromStep": from_step}
        )
        assert response.status_code == 422, response.text
        assert response.json()["error"] == expected
