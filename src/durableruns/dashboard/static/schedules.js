// The schedules page: GET /api/v1/schedules a page at a time (offset pages, newest
// first), refreshed every 5 seconds; each row shows the cron in words, the next runs,
// the last run with its status (GET /api/v3/runs/{id}), and an active toggle
// (POST /api/v1/schedules/{id}/activate or /deactivate).

import { api, runsPath } from "./api.js";
import { fill, h, muted, runLink, show, statusBadge, time } from "./dom.js";

const PER_PAGE = 20;
const REFRESH_MS = 5000;
const NEXT_SHOWN = 3;
const $ = (id) => document.getElementById(id);
const lastRunStatus = new Map(); // run id -> status, once final it never changes
let page = Number(new URLSearchParams(location.search).get("page")) || 1;
let loading = false;

export function startSchedulesPage() {
  $("previous").addEventListener("click", () => go(page - 1));
  $("next").addEventListener("click", () => go(page + 1));
  refresh();
  setInterval(() => { if (!document.hidden && !loading) refresh(); }, REFRESH_MS);
}

function go(to) {
  page = Math.max(1, to);
  history.replaceState(null, "", page > 1 ? `?page=${page}` : location.pathname);
  refresh();
}

async function refresh() {
  loading = true;
  try {
    const body = await api(`/api/v1/schedules?page=${page}&perPage=${PER_PAGE}`);
    show($("list-message"), false);
    $("live").classList.remove("stale");
    await render(body);
  } catch (err) {
    fill($("list-message"), `Could not load the schedules: ${err.message}`);
    show($("list-message"), true);
    $("live").classList.add("stale");
  } finally {
    loading = false;
  }
}

async function render(body) {
  const schedules = body.data || [];
  await Promise.all(schedules.map((s) => s.lastRun && lastStatus(s.lastRun.id)));
  fill($("schedules-body"), schedules.map(scheduleRow));
  show($("empty"), schedules.length === 0);
  const { currentPage, totalPages } = body.pagination;
  $("previous").disabled = currentPage <= 1;
  $("next").disabled = currentPage >= totalPages;
  fill($("page-info"), totalPages > 1 ? `Page ${currentPage} of ${totalPages}` : "");
}

async function lastStatus(runId) {
  const known = lastRunStatus.get(runId);
  if (known && known.final) return;
  try {
    const run = await api(`/api/v3/runs/${encodeURIComponent(runId)}`);
    lastRunStatus.set(runId, { status: run.status, final: run.isCompleted });
  } catch {
    lastRunStatus.set(runId, { status: null, final: true }); // gone (retention)
  }
}

function scheduleRow(schedule) {
  return h("tr", { "data-schedule-id": schedule.id, "data-active": String(schedule.active) },
    h("td", {}, h("span", { class: "mono" }, schedule.id),
      h("div", { class: "muted small" }, schedule.type.toLowerCase(),
        schedule.externalId ? ` · ${schedule.externalId}` : "", " · ",
        h("a", { class: "schedule-runs", href: runsPath({ schedule: schedule.id }) }, "runs"))),
    h("td", { class: "task" }, schedule.task),
    h("td", {}, h("div", { class: "cron-words" }, schedule.generator.description),
      h("code", { class: "small" }, schedule.generator.expression)),
    h("td", {}, schedule.timezone),
    h("td", { class: "next-runs" }, nextRuns(schedule)),
    h("td", { class: "last-run" }, lastRun(schedule.lastRun)),
    h("td", {}, toggle(schedule)));
}

function nextRuns(schedule) {
  const upcoming = (schedule.upcoming || []).slice(0, NEXT_SHOWN);
  if (!schedule.active) return muted("paused");
  if (upcoming.length === 0) return muted("—");
  return h("ol", { class: "plain" }, upcoming.map((at) => h("li", {}, time(at))));
}

function lastRun(last) {
  if (!last) return muted("not yet");
  const known = lastRunStatus.get(last.id);
  return h("div", {}, runLink(last.id),
    h("div", { class: "small" }, time(last.timestamp), " ",
      known && known.status ? statusBadge(known.status) : muted("(gone)")));
}

function toggle(schedule) {
  const action = schedule.active ? "deactivate" : "activate";
  const button = h("button", {
    type: "button",
    class: schedule.active ? "secondary small toggle" : "small toggle",
    "aria-pressed": String(schedule.active),
    title: schedule.active ? "Stop ticking until activated" : "Resume ticking",
  }, schedule.active ? "Active · Deactivate" : "Inactive · Activate");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api(`/api/v1/schedules/${encodeURIComponent(schedule.id)}/${action}`, { method: "POST" });
      flash(`${schedule.id} ${schedule.active ? "deactivated" : "activated"}.`, "ok");
    } catch (err) {
      flash(err.message, "error");
    }
    await refresh();
  });
  return button;
}

function flash(text, kind) {
  const box = $("outcome");
  box.className = `outcome ${kind}`;
  fill(box, text);
  show(box, true);
}
