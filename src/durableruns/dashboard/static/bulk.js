// The bulk action pages. The list: GET /api/v1/bulk-actions (newest first, 25 a page),
// refreshed every 3 seconds on its first page. One action: GET /api/v1/bulk-actions/{id}
// every 2 seconds while it is PENDING — status, counts (total, succeeded, failed) — its
// Abort button (POST …/abort) meanwhile, and the runs it made
// (GET /api/v1/runs?filter[bulkAction]=id: a replay's new runs).

import { api, runsPath } from "./api.js";
import { bulkActionPath } from "./bulk-select.js";
import { fill, h, muted, runLink, show, statusBadge, time } from "./dom.js";

const $ = (id) => document.getElementById(id);
const LIST_MS = 3000;
const ACTION_MS = 2000;
const PAGE_SIZE = 25;
const RUNS_SHOWN = 25;
const RUN_TRIES = 15;

// --- the list ------------------------------------------------------------------------
export function startBulkActionsPage() {
  const after = () => new URLSearchParams(location.search).get("after");
  $("older").addEventListener("click", () => {
    history.pushState(null, "", `?after=${encodeURIComponent($("older").dataset.cursor)}`);
    refreshList();
  });
  $("first").addEventListener("click", () => {
    history.pushState(null, "", location.pathname);
    refreshList();
  });
  refreshList();
  setInterval(() => { if (!document.hidden && !after()) refreshList(); }, LIST_MS);
}

async function refreshList() {
  const query = new URLSearchParams({ "page[size]": String(PAGE_SIZE) });
  const after = new URLSearchParams(location.search).get("after");
  if (after) query.set("page[after]", after);
  try {
    const body = await api(`/api/v1/bulk-actions?${query}`);
    const actions = body.data || [];
    fill($("bulk-body"), actions.map(actionRow));
    show($("empty"), actions.length === 0);
    const next = body.pagination && body.pagination.next;
    $("older").disabled = !next;
    $("older").dataset.cursor = next || "";
    $("first").disabled = !after;
    show($("list-message"), false);
    $("live").classList.remove("stale");
  } catch (err) {
    fill($("list-message"), `Could not load the bulk actions: ${err.message}`);
    show($("list-message"), true);
    $("live").classList.add("stale");
  }
}

function actionRow(action) {
  const counts = action.counts || {};
  return h("tr", { "data-bulk-id": action.id, "data-status": action.status },
    h("td", {}, h("a", { class: "mono", href: bulkActionPath(action.id) }, action.id),
      action.name ? h("div", { class: "small muted" }, action.name) : null),
    h("td", { class: "bulk-type" }, verb(action.type)),
    h("td", {}, bulkBadge(action.status)),
    h("td", { class: "count total" }, String(counts.total ?? 0)),
    h("td", { class: "count success" }, String(counts.success ?? 0)),
    h("td", { class: "count failure" }, String(counts.failure ?? 0)),
    h("td", {}, time(action.createdAt)),
    h("td", {}, time(action.completedAt)));
}

const BULK_LABELS = { PENDING: "In progress", COMPLETED: "Completed", ABORTED: "Aborted" };

function bulkBadge(status) {
  return h("span", { class: "status", "data-status": status, title: status },
    BULK_LABELS[status] || String(status));
}

function verb(type) {
  return type === "REPLAY" ? "Replay" : type === "CANCEL" ? "Cancel" : String(type);
}

// --- one action ----------------------------------------------------------------------
export function startBulkActionPage() {
  const id = document.querySelector("[data-page=bulk-action]").dataset.bulkId;
  const path = `/api/v1/bulk-actions/${encodeURIComponent(id)}`;
  let action = null;
  let timer = null;
  let runTries = 0;

  async function refresh() {
    if (!action || action.status === "PENDING") {
      try {
        action = await api(path);
      } catch (err) {
        fill($("message"), err.status === 404
          ? `There is no bulk action with the id ${id}.` : `Could not load the bulk action: ${err.message}`);
        show($("message"), true);
        return;
      }
      show($("message"), false);
      render(id, action);
    }
    // Its runs show up in the list a moment after it made them (visibility): once it
    // has finished, keep reading them for a while until all it made are listed.
    const listed = await loadRuns(id, action);
    if (action.status !== "PENDING" && (listed || ++runTries > RUN_TRIES) && timer) {
      clearInterval(timer);
      timer = null;
    }
  }

  $("abort-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("abort").disabled = true;
    try {
      await api(`${path}/abort`, { method: "POST" });
      outcome("ok", "Abort requested: the action stops after the runs in flight.");
    } catch (err) {
      outcome("error", `Could not abort: ${err.message}`);
    } finally {
      $("abort").disabled = false;
    }
    action = null;
    await refresh();
  });
  refresh();
  timer = setInterval(() => { if (!document.hidden) refresh(); }, ACTION_MS);
}

function render(id, action) {
  const counts = action.counts || {};
  document.title = `${id} · ${action.status} · durableruns`;
  $("main").dataset.status = action.status;
  fill($("bulk-status"), bulkBadge(action.status));
  show($("live"), action.status === "PENDING");
  show($("abort-form"), action.status === "PENDING");
  const items = [
    ["Action", verb(action.type), "bulk-type"],
    ["Status", action.status, "bulk-status-text"],
    ["Total", String(counts.total ?? 0), "count-total"],
    ["Succeeded", String(counts.success ?? 0), "count-success"],
    ["Failed", String(counts.failure ?? 0), "count-failure"],
    ["Created", time(action.createdAt), null],
    ["Finished", time(action.completedAt), null],
  ];
  if (action.name) items.splice(1, 0, ["Name", action.name, "bulk-name"]);
  fill($("bulk-fields"), items.map(([term, value, key]) => [
    h("dt", {}, term), h("dd", { id: key || undefined }, value)]));
}

// The runs it made; true once the list shows every one it made (or a full page).
async function loadRuns(id, action) {
  $("bulk-all-runs").href = runsPath({ bulkAction: id });
  if (action.type !== "REPLAY") {
    fill($("bulk-runs-title"), "Runs");
    fill($("bulk-runs"));
    fill($("bulk-runs-empty"), "A cancel makes no new runs: the runs it canceled keep their ids.");
    show($("bulk-runs-empty"), true);
    show($("bulk-all-runs"), false);
    return true;
  }
  const query = new URLSearchParams({ "filter[bulkAction]": id, "page[size]": String(RUNS_SHOWN) });
  try {
    const body = await api(`/api/v1/runs?${query}`);
    const runs = body.data || [];
    fill($("bulk-runs"), runs.map((run) => h("tr", { "data-run-id": run.id, "data-status": run.status },
      h("td", {}, runLink(run.id)),
      h("td", { class: "task" }, run.taskIdentifier),
      h("td", {}, statusBadge(run.status)),
      h("td", {}, time(run.createdAt)))));
    fill($("bulk-runs-empty"), "No replays yet.");
    show($("bulk-runs-empty"), runs.length === 0);
    const made = (action.counts && action.counts.success) || 0;
    return runs.length >= Math.min(made, RUNS_SHOWN);
  } catch (err) {
    fill($("bulk-runs"));
    fill($("bulk-runs-empty"), muted(`Could not list its runs: ${err.message}`));
    show($("bulk-runs-empty"), true);
    return false;
  }
}

function outcome(kind, text) {
  const el = $("outcome");
  el.className = `outcome ${kind}`;
  fill(el, text);
  show(el, true);
}
