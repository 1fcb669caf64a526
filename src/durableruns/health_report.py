"""The project health verdict: numbers in, one deterministic verdict out (the same
numbers always give the same report), in Trigger.dev's ``ReportViewModel`` shape
(``GET /api/v1/reports/health?format=json``) and as text (markdown, the default).

Three findings, each ``ok`` / ``warn`` / ``crit``; the worst leads (ties: liveness,
then flow, then execution, since a stack with no worker explains the rest):

- **Liveness** (are workers polling?): ``crit`` when no worker polls the runs queue.
- **Flow** (is work starting?): ``crit`` when runs are queued for a task no worker
  serves; ``warn`` when a concurrency limit is at its bound with runs waiting.
- **Execution** (are started runs succeeding?): over the window, ``crit`` when at
  least :data:`MIN_FAILURES` runs failed and half or more of the finished ones did;
  ``warn`` when any failed and the failure rate is above both 10 % and twice its
  baseline (the same length of time before the window, six times over); the top error
  groups are the evidence.

Pure: no clock, no I/O (``service/health_report.py`` gathers the numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Severity = Literal["ok", "warn", "crit"]
ORDER: dict[Severity, int] = {"ok": 0, "warn": 1, "crit": 2}
GLYPH: dict[Severity, str] = {"ok": "✓", "warn": "⚠", "crit": "✕"}
MIN_FAILURES = 3
BASELINE_WINDOWS = 6


@dataclass(frozen=True)
class TopGroup:
    """An error group's share of the window's failures."""

    id: str
    task_id: str
    error_type: str
    message: str
    count: int


@dataclass(frozen=True)
class SaturatedQueue:
    """A concurrency limit (or a queue's own) at its bound with runs waiting."""

    name: str
    limit: int
    running: int
    waiting: int


@dataclass(frozen=True)
class HealthInputs:
    """What the verdict is computed from (gathered from Temporal)."""

    window_minutes: int
    workers: int
    queued: int = 0
    tasks_without_worker: dict[str, int] = field(default_factory=dict)
    """Task id → runs queued for it, for tasks no live worker polls."""
    saturated: tuple[SaturatedQueue, ...] = ()
    started: int = 0
    completed: int = 0
    failed: int = 0
    baseline_completed: int = 0
    baseline_failed: int = 0
    top_groups: tuple[TopGroup, ...] = ()


@dataclass(frozen=True)
class Finding:
    """One dimension's verdict."""

    type: Literal["liveness", "flow", "execution"]
    severity: Severity
    reason: str
    headline: str
    evidence: tuple[str, ...] = ()
    action: str = ""
    metric_ids: tuple[str, ...] = ()
    attribution: dict[str, Any] | None = None


def failure_rate(failed: int, completed: int) -> float:
    """Failed share of the finished runs (0 when none finished)."""
    finished = failed + completed
    return failed / finished if finished else 0.0


def liveness(i: HealthInputs) -> Finding:
    """Are workers polling?"""
    if i.workers == 0:
        return Finding(
            "liveness",
            "crit",
            "no_worker_polling",
            "No worker is polling: nothing can run",
            (f"{i.queued} run(s) queued",),
            "Start a worker: durableruns worker --tasks <your tasks module>",
            ("workers",),
        )
    return Finding(
        "liveness", "ok", "healthy", f"{i.workers} worker(s) polling", metric_ids=("workers",)
    )


def flow(i: HealthInputs) -> Finding:
    """Is work starting?"""
    if i.tasks_without_worker:
        task, waiting = sorted(i.tasks_without_worker.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        return Finding(
            "flow",
            "crit",
            "no_worker_for_task",
            f"Runs are queued for {task!r}, which no running worker serves",
            tuple(
                f"{t}: {n} run(s) queued, no worker"
                for t, n in sorted(i.tasks_without_worker.items())
            ),
            f"Deploy or start a worker that serves {task!r}",
            ("queued",),
            {"dim": "task", "key": task, "share": waiting, "of": "queued runs"},
        )
    if i.saturated:
        worst = sorted(i.saturated, key=lambda q: (-q.waiting, q.name))[0]
        return Finding(
            "flow",
            "warn",
            "limit_saturated",
            f"Concurrency limit {worst.name!r} is at its bound ({worst.running}/{worst.limit})",
            tuple(
                f"{q.name}: {q.running}/{q.limit} running, {q.waiting} waiting"
                for q in sorted(i.saturated, key=lambda q: q.name)
            ),
            f"Raise limit {worst.name!r} (durableruns limits override), "
            "or wait: the backlog drains as runs finish",
            ("queued", "saturated_queues"),
            {"dim": "queue", "key": worst.name, "share": worst.waiting, "of": "waiting runs"},
        )
    return Finding(
        "flow",
        "ok",
        "healthy",
        f"Work is starting: {i.started} run(s) started, {i.queued} queued",
        metric_ids=("started", "queued"),
    )


def execution(i: HealthInputs) -> Finding:
    """Are started runs succeeding?"""
    rate = failure_rate(i.failed, i.completed)
    base = failure_rate(i.baseline_failed, i.baseline_completed)
    evidence = tuple(
        f"{g.id} {g.task_id}: {g.error_type}: {g.message} ({g.count} in the window)"
        for g in i.top_groups
    )
    evidence = (
        f"{i.failed} of {i.failed + i.completed} finished runs failed ({rate:.0%}; "
        f"baseline {base:.0%})",
        *evidence,
    )
    top = i.top_groups[0] if i.top_groups else None
    action = (
        f"Open error group {top.id} ({top.task_id}: {top.error_type}) and fix the task"
        if top
        else "Look at the failed runs: GET /api/v1/runs?filter[status]=FAILED"
    )
    attribution = (
        {"dim": "errorGroup", "key": top.id, "share": top.count, "of": "failed attempts"}
        if top
        else None
    )
    metrics = ("failure_rate", "failed", "completed")
    if i.failed >= MIN_FAILURES and rate >= 0.5:
        what = f"{top.task_id!r} " if top else ""
        return Finding(
            "execution",
            "crit",
            "runs_failing",
            f"Runs are failing: {what}{i.failed} of {i.failed + i.completed} failed ({rate:.0%})",
            evidence,
            action,
            metrics,
            attribution,
        )
    if i.failed and rate > 0.1 and rate > 2 * base:
        return Finding(
            "execution",
            "warn",
            "failure_rate_up",
            f"More runs fail than usual: {rate:.0%} against {base:.0%}",
            evidence,
            action,
            metrics,
            attribution,
        )
    return Finding(
        "execution",
        "ok",
        "healthy",
        f"Runs are succeeding: {i.completed} completed, {i.failed} failed",
        metric_ids=metrics,
    )


def findings(i: HealthInputs) -> list[Finding]:
    """The three findings, the headline first."""
    found = [liveness(i), flow(i), execution(i)]
    return sorted(found, key=lambda f: -ORDER[f.severity])  # stable: ties keep this order


def view_model(
    i: HealthInputs, *, scope: str, period: str, generated_at: datetime
) -> dict[str, Any]:
    """Trigger.dev's ``ReportViewModel`` (plus ``headline`` and ``nextAction``)."""
    found = findings(i)
    lead = found[0]
    rate = failure_rate(i.failed, i.completed)
    base = failure_rate(i.baseline_failed, i.baseline_completed)
    metrics = [
        _metric("workers", i.workers, "count", "crit" if not i.workers else "ok"),
        _metric("queued", i.queued, "count", flow(i).severity),
        _metric("started", i.started, "count", "ok"),
        _metric("saturated_queues", len(i.saturated), "count", "warn" if i.saturated else "ok"),
        _metric("completed", i.completed, "count", "ok"),
        _metric("failed", i.failed, "count", execution(i).severity),
        {
            **_metric("failure_rate", round(rate, 4), "ratio", execution(i).severity),
            "normal": round(base, 4),
        },
    ]
    return {
        "title": "health",
        "scope": scope,
        "period": period,
        "baselineLabel": f"vs the {BASELINE_WINDOWS} windows before",
        "generatedAt": generated_at.isoformat().replace("+00:00", "Z"),
        "windowMinutes": i.window_minutes,
        "summary": {
            "severity": lead.severity,
            "statements": [
                {"findingType": f.type, "severity": f.severity, "reason": f.reason} for f in found
            ],
        },
        "findings": [
            {
                "type": f.type,
                "severity": f.severity,
                "reason": f.reason,
                "metricIds": list(f.metric_ids),
                **({"recommendation": {"code": f.action}} if f.action else {}),
                **({"attribution": f.attribution} if f.attribution else {}),
                "observations": [{"code": e} for e in f.evidence],
            }
            for f in found
        ],
        "metrics": metrics,
        "facts": {
            "tasksWithoutWorker": dict(sorted(i.tasks_without_worker.items())),
            "topErrorGroups": [g.__dict__ for g in i.top_groups],
        },
        "links": [],
        "footer": [{"code": lead.action}] if lead.action else [{"code": "nothing_to_do"}],
        "headline": f"{GLYPH[lead.severity]} {lead.type.upper()}: {lead.headline}",
        "nextAction": lead.action or "Nothing to do",
    }


def render_text(view: dict[str, Any]) -> str:
    """The report as plain text (valid markdown): headline, evidence, siblings, action."""
    lines = [
        f"/report health        {view['scope']} · {view['period']} · {view['baselineLabel']}",
        "",
    ]
    by_type = {f["type"]: f for f in view["findings"]}
    statements = view["summary"]["statements"]
    lead = statements[0]
    lines.append(view["headline"])
    lines += [f"  {o['code']}" for o in by_type[lead["findingType"]]["observations"]]
    lines.append("")
    for statement in statements[1:]:
        finding = by_type[statement["findingType"]]
        glyph = GLYPH[statement["severity"]]
        first = finding["observations"][0]["code"] if finding["observations"] else ""
        lines.append(f"{glyph} {statement['findingType'].upper():<10} {statement['reason']}"
                     + (f" — {first}" if first else ""))  # fmt: skip
    lines += ["", f"→ {view['nextAction']}"]
    return "\n".join(lines) + "\n"


def _metric(name: str, value: float, unit: str, severity: Severity) -> dict[str, Any]:
    return {"id": name, "value": value, "unit": unit, "severity": severity}
