// The run page: GET /api/v3/runs/{id} once, then, while the run is unfinished, the
// server-sent events of /api/v1/runs/{id}/events/stream (polling the retrieve endpoint if the
// stream is unavailable). Sections are re-rendered only when their data changed, so an
// expanded payload or an open editor survives live updates.

import { api, runsPath } from "./api.js";
import { setupActions, showFlash } from "./actions.js";
import { between, fill, formatDuration, h, jsonBlock, muted, runLink, show, statusBadge,
  tagList, time } from "./dom.js";
import { FINAL_STATUSES, statusLabel } from "./status.js";
import { renderObservability } from "./observe.js";

const POLL_MS = 1500;
const $ = (id) => document.getElementById(id);
const runId = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop());
const rendered = new Map(); // section id -> JSON of what it shows
let current = null;
let source = null;
let poller = null;
let refetchTimer = null;

export async function startRunPage() {
  fill($("crumb-id"), runId);
  setupActions({ runId, getRun: () => current, reload });
  showFlash(runId);
  await reload();
}

async function reload() {
  let run;
  try {
    run = await api(`/api/v3/runs/${encodeURIComponent(runId)}`);
  } catch (err) {
    if (!current) showLoadError(err);
    return;
  }
  render(run);
  follow(run);
}

function showLoadError(err) {
  if (err.status === 404) {
    show($("run-loading"), false);
    fill($("not-found-message"), `There is no run with the id ${runId}.`);
    show($("run-not-found"), true);
    document.title = "Run not found · durableruns";
  } else {
    fill($("run-loading"), `Could not load the run: ${err.message}`);
    $("run-loading").classList.add("error");
  }
}

// --- live updates --------------------------------------------------------------------
function follow(run) {
  if (run.isCompleted) return stopFollowing();
  if (source || poller) return;
  if (!window.EventSource) return startPolling();
  source = new EventSource(`/api/v1/runs/${encodeURIComponent(runId)}/events/stream`);
  source.addEventListener("run", (event) => onLiveRun(JSON.parse(event.data)));
  source.addEventListener("error", () => {
    // The stream is gone (or never came): poll the retrieve endpoint instead.
    if (source) source.close();
    source = null;
    if (current && !current.isCompleted) startPolling();
  });
}

function onLiveRun(run) {
  const before = current;
  // Events carry the run without its related runs; keep the ones we know.
  render({
    ...run,
    relatedRuns: before ? before.relatedRuns : run.relatedRuns,
    schedule: before ? before.schedule : run.schedule,
  });
  const attempts = (r) => (r.attempts || []).length;
  if (!before || before.status !== run.status || attempts(before) !== attempts(run)) {
    clearTimeout(refetchTimer);
    refetchTimer = setTimeout(reload, 250); // children and parent may have changed too
  }
  if (run.isCompleted) stopFollowing();
}

function startPolling() {
  if (!poller) poller = setInterval(() => { if (!document.hidden) reload(); }, POLL_MS);
}

function stopFollowing() {
  if (source) source.close();
  source = null;
  clearInterval(poller);
  poller = null;
}

// --- rendering -----------------------------------------------------------------------
function render(run) {
  current = run;
  show($("run-loading"), false);
  show($("run-view"), true);
  document.title = `${run.id} · ${statusLabel(run.status)} · durableruns`;
  fill($("run-id"), run.id);
  fill($("run-task"), run.taskIdentifier);
  fill($("run-status"), statusBadge(run.status));
  show($("run-live"), !run.isCompleted);
  $("main").dataset.status = run.status;
  renderTemporalLink(run);
  section("timeline", timeline(run), run);
  section("details", details(run), run);
  section("related", related(run.relatedRuns || {}), run.relatedRuns);
  section("run-error", errorView(run.error), run.error);
  show($("error-card"), Boolean(run.error));
  section("payload", jsonBlock(run.payload, "No payload"), run.payload);
  section("output", outputView(run), [run.status, run.output]);
  section("metadata", jsonBlock(run.metadata ?? undefined, "No metadata"), run.metadata);
  section("attempts", attempts(run.attempts || [], run.status), [run.status, run.attempts]);
  renderObservability(run); // waiting reason, waterfall, logs (observe.js)
  document.dispatchEvent(new CustomEvent("run-rendered", { detail: run }));
}

// Re-render a section only when what it shows changed (keeps "Show all" expansions).
function section(id, node, data) {
  const key = JSON.stringify(data ?? null);
  if (rendered.get(id) === key) return;
  rendered.set(id, key);
  fill($(id), node);
}

function renderTemporalLink(run) {
  const topbar = document.querySelector(".topbar");
  const ui = (topbar && topbar.dataset.temporalUi) || "";
  const link = $("temporal-link");
  if (!/^https?:\/\//i.test(ui)) return show(link, false);
  const namespace = encodeURIComponent(topbar.dataset.namespace || "default");
  link.href = `${ui}/namespaces/${namespace}/workflows/${encodeURIComponent(run.id)}`;
}

function timeline(run) {
  const status = run.status;
  const final = FINAL_STATUSES.has(status);
  const started = run.startedAt || (run.attempts && run.attempts[0] && run.attempts[0].startedAt);
  const steps = [{ label: "Created", at: run.createdAt, state: "done" }];
  if (run.delayedUntil || status === "DELAYED") {
    const state = status === "DELAYED" ? "current" : "done";
    steps.push({ label: "Delayed", at: run.delayedUntil, state, prefix: "until " });
  }
  const queuedNow = ["PENDING_VERSION", "QUEUED", "DEQUEUED"].includes(status);
  steps.push({
    label: queuedNow ? statusLabel(status) : "Queued",
    at: status === "DELAYED" ? null : run.delayedUntil || run.createdAt,
    state: status === "DELAYED" ? "pending" : queuedNow ? "current" : "done",
  });
  steps.push({
    label: "Executing", at: started,
    state: status === "EXECUTING" ? "current" : started ? "done" : final ? "skipped" : "pending",
  });
  if (status === "WAITING") steps.push({ label: "Waiting", at: run.updatedAt, state: "current", prefix: "since " });
  steps.push(final
    ? { label: statusLabel(status), at: run.finishedAt || run.expiredAt || run.updatedAt, state: "final", status }
    : { label: "Finished", at: null, state: "pending" });
  return steps.map((step) => h("li", { class: `step ${step.state}`, "data-status": step.status },
    h("span", { class: "dot", "aria-hidden": "true" }),
    h("span", { class: "label" }, step.label),
    step.at ? h("span", { class: "when" }, step.prefix || "", time(step.at)) : null));
}

function details(run) {
  const items = [
    ["Task", h("a", { href: runsPath({ task: run.taskIdentifier }) }, run.taskIdentifier)],
    ["Version", run.version || muted("—")],
    ["Created", time(run.createdAt)],
    ["Started", time(run.startedAt)],
    ["Finished", time(run.finishedAt)],
    // Two durations, each with one meaning for every status: wall time from the first
    // start to the end (or now), and compute time (attempts running, waits excluded).
    ["Wall time", run.startedAt ? h("span", { title: "from the first attempt's start to the end" },
      formatDuration(between(run.startedAt, run.finishedAt || (run.isCompleted ? run.updatedAt : null))))
      : muted("—")],
    ["Compute time", run.isCompleted || run.durationMs
      ? h("span", { title: "attempts running; waits excluded" }, formatDuration(run.durationMs || 0))
      : muted("—")],
    ["Tags", tagList(run.tags, (tag) => runsPath({ tag }))],
    ["Idempotency key", run.idempotencyKey ? h("code", {}, run.idempotencyKey) : muted("—")],
    ["TTL", run.ttl || muted("—")],
    ["Delayed until", time(run.delayedUntil)],
    ["Batch", run.batchId ? h("a", { class: "mono", href: runsPath({ batch: run.batchId }) }, run.batchId) : muted("—")],
    ["Replayed from", run.replayedFrom ? runLink(run.replayedFrom) : muted("—")],
    ...(run.replayedFromStep !== undefined && run.replayedFromStep !== null
      ? [["Rerun from step", h("span", { class: "rerun-from" }, `#${run.replayedFromStep} of `,
        runLink(run.replayedFrom))]] : []),
    ["Schedule", scheduleView(run.schedule)],
    ["Triggered by", `${run.triggerFunction || "trigger"} · depth ${run.depth || 0}`],
    ["Test run", run.isTest ? "yes" : "no"],
  ];
  if (run.expiredAt) items.push(["Expired", time(run.expiredAt)]);
  return items.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]);
}

function scheduleView(schedule) {
  if (!schedule) return muted("—");
  return h("span", { class: "run-schedule" },
    h("a", { class: "mono", href: "/dashboard/schedules" }, schedule.id), " · ",
    schedule.generator.description, " ", h("code", { class: "small" }, schedule.generator.expression));
}

function related(relatedRuns) {
  const row = (role, run) => h("tr", { "data-role": role },
    h("th", { scope: "row" }, role),
    h("td", {}, runLink(run.id)),
    h("td", { class: "task" }, run.taskIdentifier),
    h("td", {}, statusBadge(run.status)));
  const rows = [];
  if (relatedRuns.parent) rows.push(row("Parent", relatedRuns.parent));
  if (relatedRuns.root) rows.push(row("Root", relatedRuns.root));
  for (const child of relatedRuns.children || []) rows.push(row("Child", child));
  return rows.length ? h("table", { class: "related" }, h("tbody", {}, rows))
    : muted("No parent, root or child runs.");
}

function errorView(error) {
  if (!error) return null;
  return h("div", { class: "error-box" },
    h("p", { class: "error-message" }, error.name ? h("strong", {}, `${error.name}: `) : null, error.message),
    error.stackTrace ? stackView(error.stackTrace) : null);
}

// Python, library and engine frames: folded, so the task's own code shows first.
const NOT_USER_CODE = /\/(site-packages|dist-packages)\/|\/lib\/python3\.\d+\/|<frozen |\/src\/durableruns\/|\/durableruns\/(engine|worker|service|api|sdk|cli|dashboard)\//;

// A Python stack trace with the user's frames first (each "File …, line …" and its
// code), then the whole trace, library and engine frames included, folded.
function stackView(trace) {
  const lines = trace.split("\n");
  const frames = [];
  for (let i = 0; i < lines.length; i++) {
    const match = /^\s*File "([^"]+)", line \d+/.exec(lines[i]);
    if (!match) continue;
    const frame = [lines[i]];
    while (i + 1 < lines.length && /^\s{4,}\S/.test(lines[i + 1]) && !/^\s*File "/.test(lines[i + 1])) {
      frame.push(lines[++i]);
    }
    frames.push({ path: match[1], text: frame.join("\n") });
  }
  const own = frames.filter((f) => !NOT_USER_CODE.test(f.path));
  if (!frames.length || !own.length) return h("pre", { class: "stack" }, trace);
  const folded = frames.length - own.length;
  return h("div", { class: "stack-view" },
    h("pre", { class: "stack user-frames" }, own.map((f) => f.text).join("\n")),
    h("details", { class: "full-stack" },
      h("summary", {}, `Full stack trace (${folded} library and engine frame${folded === 1 ? "" : "s"} more)`),
      h("pre", { class: "stack" }, trace)));
}

function outputView(run) {
  if (!run.isCompleted) return muted("Not finished yet.");
  if (run.status !== "COMPLETED") return muted(`No output: this run ended with status ${statusLabel(run.status)}.`);
  return jsonBlock(run.output === undefined ? null : run.output);
}

// An attempt still EXECUTING while its run waits (or is queued to resume) holds no
// process: it is suspended, not running.
const SUSPENDED_WHILE = new Set(["WAITING", "QUEUED"]);

function attempts(list, runStatus) {
  if (!list.length) return muted("No attempt has started yet.");
  const badge = (a) => a.status === "EXECUTING" && SUSPENDED_WHILE.has(runStatus)
    ? h("span", { class: "status", "data-status": "SUSPENDED", title: "suspended at a wait" }, "Suspended")
    : statusBadge(a.status);
  const rows = list.map((a) => h("tr", { "data-attempt": a.number },
    h("td", {}, `#${a.number}`),
    h("td", {}, badge(a)),
    h("td", {}, time(a.startedAt)),
    h("td", {}, time(a.completedAt)),
    // Execution time, as the run's Duration: the time it was suspended at waits left out.
    h("td", {}, a.startedAt ? formatDuration(Math.max(0,
      between(a.startedAt, a.completedAt) - (a.suspendedS || 0) * 1000)) : ""),
    h("td", { class: "attempt-error" }, a.error ? [
      h("span", {}, a.error.name ? `${a.error.name}: ` : "", a.error.message),
      a.error.stackTrace ? h("details", {}, h("summary", {}, "Stack trace"),
        h("pre", { class: "stack" }, a.error.stackTrace)) : null,
    ] : muted("—"))));
  return h("table", { class: "attempts" },
    h("thead", {}, h("tr", {}, ["Attempt", "Status", "Started", "Finished", "Compute time", "Error"]
      .map((t) => h("th", {}, t)))),
    h("tbody", {}, rows));
}
