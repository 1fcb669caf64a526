// The run page's observability: why it is not running (retrieve's waitingReason), the
// waterfall of its attempts, executions, waits, child runs and steps (from
// GET /api/v1/runs/{id}/timeline, read from the run's own history: no collector
// needed), and its log lines inline (GET /api/v1/runs/{id}/logs; if that route is not
// there, the logs card stays hidden). All data reaches the page as text nodes; bar
// positions are set through the CSSOM (the CSP allows no inline style attributes).

import { api, runPath } from "./api.js";
import { fill, formatDuration, formatTime, h, muted, show } from "./dom.js";

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 1000;
const MAX_LOG_LINES = 500;
let lastKey = null;
let pending = null;
let logsGone = false;
let reasonOf = { status: null, reason: null };

export function renderObservability(run) {
  // Live events carry the run without the facade's waitingReason: keep the last one
  // while the status is the same (a status change reloads the run, with its reason).
  if ("waitingReason" in run || run.status !== reasonOf.status) {
    reasonOf = { status: run.status, reason: run.waitingReason || null };
  }
  renderWaitingReason(reasonOf.reason);
  const key = JSON.stringify([run.status, run.updatedAt, (run.attempts || []).length, run.waits]);
  if (key === lastKey) return;
  lastKey = key;
  clearTimeout(pending);
  // Coalesce bursts of live updates into one read of the timeline and logs.
  pending = setTimeout(() => refresh(run), 150);
}

async function refresh(run) {
  await Promise.all([loadTimeline(run), loadLogs(run)]);
  if (!run.isCompleted) {
    clearTimeout(pending);
    pending = setTimeout(() => refresh(run), REFRESH_MS * 3);
  }
}

// --- why isn't it running? ------------------------------------------------------------
function renderWaitingReason(reason) {
  const box = $("waiting-reason");
  if (!box) return;
  show(box, Boolean(reason));
  if (!reason) return;
  box.dataset.code = reason.code;
  const facts = [];
  if (reason.taskQueue) facts.push(["Task queue", reason.taskQueue]);
  if (reason.pollers !== undefined) facts.push(["Pollers", String(reason.pollers)]);
  if (reason.servingVersions) facts.push(["Versions with workers", reason.servingVersions.join(", ")]);
  if (reason.limit !== undefined) facts.push(["Slots", `${reason.running}/${reason.limit}`]);
  if (reason.position !== undefined) facts.push(["Position", String(reason.position)]);
  if (reason.childRuns !== undefined) facts.push(["Child runs done", `${reason.childRunsDone}/${reason.childRuns}`]);
  if (reason.tokenId) facts.push(["Token", reason.tokenId]);
  if (reason.until) facts.push([reason.code === "TOKEN" ? "Times out" : "Until", formatTime(reason.until)]);
  fill(box,
    h("strong", {}, "Why isn't it running? "),
    h("span", { class: "waiting-message" }, reason.message),
    h("span", { class: "waiting-code mono" }, reason.code),
    facts.length ? h("span", { class: "waiting-facts" },
      facts.map(([k, v]) => h("span", { class: "fact" }, `${k}: `, h("span", { class: "mono" }, v)))) : null);
}

// --- the waterfall ----------------------------------------------------------------------
async function loadTimeline(run) {
  let body;
  try {
    body = await api(`/api/v1/runs/${encodeURIComponent(run.id)}/timeline`);
  } catch (err) {
    fill($("waterfall"), muted(`The waterfall is unavailable: ${err.message}`));
    return;
  }
  fill($("waterfall"), waterfall(body.data || [], run, body.truncated));
  document.dispatchEvent(new CustomEvent("timeline-loaded", { detail: { run, spans: body.data || [] } }));
}

function waterfall(spans, run, truncated) {
  if (!spans.length) return muted("Nothing has happened yet.");
  // An open span lasts until now; in a finished run nothing lasts past its end.
  const now = run.isCompleted && (run.finishedAt || run.updatedAt)
    ? new Date(run.finishedAt || run.updatedAt).getTime() : Date.now();
  const t = (iso) => (iso ? new Date(iso).getTime() : now);
  const start = Math.min(...spans.map((s) => t(s.queuedAt || s.start)));
  const end = Math.max(...spans.map((s) => t(s.end)), start + 1);
  const total = end - start;
  const depth = new Map();
  const children = new Map();
  for (const span of spans) {
    depth.set(span.id, span.parent ? (depth.get(span.parent) ?? 0) + 1 : 0);
    if (span.parent) children.set(span.parent, [...(children.get(span.parent) || []), span]);
  }
  const ordered = [];
  const visit = (span) => {
    ordered.push(span);
    for (const child of children.get(span.id) || []) visit(child);
  };
  spans.filter((s) => !s.parent || !depth.has(s.parent)).forEach(visit);
  const rows = ordered.map((span) => {
    const left = ((t(span.start) - start) / total) * 100;
    const width = Math.max(((t(span.end) - t(span.start)) / total) * 100, 0);
    const bar = h("span", { class: "wf-bar", title: barTitle(span) });
    bar.style.left = `${left}%`;
    bar.style.width = span.kind === "step" ? "" : `${width}%`;
    const track = h("div", { class: "wf-track" }, bar);
    if (span.queuedAt) {
      const wait = h("span", { class: "wf-queued", title: "dispatched, waiting for a worker" });
      wait.style.left = `${((t(span.queuedAt) - start) / total) * 100}%`;
      wait.style.width = `${((t(span.start) - t(span.queuedAt)) / total) * 100}%`;
      track.prepend(wait);
    }
    const label = h("div", { class: "wf-label" },
      span.runId ? h("a", { class: "mono", href: runPath(span.runId) }, span.name)
        : span.tokenId ? h("a", { class: "mono", href: "#token-card", "data-token": span.tokenId }, span.name)
        : span.name,
      span.status ? h("span", { class: "wf-status" }, span.status.toLowerCase()) : null);
    label.style.paddingLeft = `${(depth.get(span.id) || 0) * 14}px`;
    return h("div", {
      class: `wf-row wf-${span.kind}${span.end ? "" : " wf-open"}`,
      "data-kind": span.kind,
      "data-status": span.status || "",
    }, label, track, h("div", { class: "wf-duration" },
      span.kind === "step" ? "" : formatDuration(t(span.end) - t(span.start))));
  });
  return h("div", { class: "waterfall", role: "table", "aria-label": "Waterfall" },
    h("div", { class: "wf-row wf-head" }, h("div", { class: "wf-label" }, "Span"),
      h("div", { class: "wf-track wf-scale" }, h("span", {}, formatTime(new Date(start).toISOString())),
        h("span", {}, formatTime(new Date(end).toISOString()))),
      h("div", { class: "wf-duration" }, "Wall time")),
    rows,
    truncated ? muted("The history is too long: the waterfall shows its beginning.") : null);
}

function barTitle(span) {
  const parts = [span.name, formatTime(span.start)];
  if (span.end) parts.push(`→ ${formatTime(span.end)}`);
  if (span.status) parts.push(span.status);
  return parts.join(" ");
}

// --- logs ---------------------------------------------------------------------------------
async function loadLogs(run) {
  const card = $("logs-card");
  if (!card || logsGone) return;
  const lines = [];
  let cursor = null;
  try {
    do {
      const query = cursor ? `?cursor=${encodeURIComponent(cursor)}` : "";
      const page = await api(`/api/v1/runs/${encodeURIComponent(run.id)}/logs${query}`);
      lines.push(...((page && page.data) || []));
      cursor = page && page.pagination ? page.pagination.next : null;
    } while (cursor && lines.length < MAX_LOG_LINES);
  } catch (err) {
    if (err.status === 404 || err.status === 405) {
      logsGone = true; // no logs route on this facade: show nothing
      show(card, false);
    }
    return;
  }
  show(card, true);
  fill($("logs"), lines.length ? h("ol", { class: "log-lines" }, lines.map(logLine))
    : muted("No log lines."));
}

function logLine(line) {
  const attributes = line.attributes && Object.keys(line.attributes).length
    ? h("span", { class: "log-attributes mono" }, JSON.stringify(line.attributes)) : null;
  return h("li", { class: "log-line", "data-level": line.level || "" },
    h("time", { datetime: line.timestamp || "" }, formatTime(line.timestamp)),
    h("span", { class: "log-level" }, line.level || ""),
    line.attempt !== undefined ? h("span", { class: "log-attempt" }, `#${line.attempt}`) : null,
    h("span", { class: "log-message" }, line.message ?? ""),
    attributes);
}
