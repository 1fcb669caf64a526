// The runs page: GET /api/v1/runs with Trigger.dev's filter[...] and page[...]
// parameters, newest first, refreshed every 2 seconds so statuses change in place.
// The filters, the page cursor and the page size (?size=, default 25) live in the
// page's own query string, so a filtered view can be bookmarked or shared.

import { api, ApiError, runPath, runsPath } from "./api.js";
import { fill, formatDuration, h, muted, runLink, show, statusBadge, tagList, time }
  from "./dom.js";
import { FINAL_STATUSES, STATUSES } from "./status.js";
import { selectCell, setupBulkSelection, syncSelection } from "./bulk-select.js";

const PAGE_SIZE = 25;
const REFRESH_MS = 2000;
const RUN_ID = /^run_[0-9a-z]{26}$/;
const TEXT_FILTERS = ["task", "tag", "batch", "schedule", "bulkAction", "from", "to"];

const $ = (id) => document.getElementById(id);
const rows = new Map(); // run id -> { tr, signature }
let latest = 0; // sequence number of the newest request, so older answers are dropped
let loading = false;
let taskIds = []; // every deployed task id, for the task filter's partial matches

export function startRunsPage() {
  buildStatusOptions();
  readFilters();
  const form = $("filters");
  form.addEventListener("change", () => applyFilters());
  form.addEventListener("input", debounce(() => applyFilters(), 400));
  form.addEventListener("submit", (event) => { event.preventDefault(); applyFilters(); });
  $("clear-filters").addEventListener("click", () => { form.reset(); applyFilters(); });
  $("older").addEventListener("click", () => page("after", $("older").dataset.cursor));
  $("newer").addEventListener("click", () => page("before", $("newer").dataset.cursor));
  $("search").addEventListener("submit", search);
  setupBulkSelection({ currentFilter: bulkFilter });
  loadTaskIds();
  refresh();
  setInterval(() => { if (!document.hidden && !loading) refresh(); }, REFRESH_MS);
}

function buildStatusOptions() {
  const box = $("status-options");
  for (const { name, label } of STATUSES) {
    const input = h("input", { type: "checkbox", name: "status", value: name });
    box.append(h("label", { class: "status-option" }, input, h("span",
      { class: "status", "data-status": name }, label)));
  }
}

// The page's query string -> the form.
function readFilters() {
  const params = new URLSearchParams(location.search);
  const wanted = new Set(params.getAll("status"));
  for (const box of document.querySelectorAll("input[name=status]")) box.checked = wanted.has(box.value);
  for (const name of TEXT_FILTERS) $("filters").elements[name].value = params.get(name) || "";
  $("filters").elements.root.checked = params.get("root") === "1";
  updateStatusCount();
}

// The form -> the page's query string (back to the first page), then a refresh.
function applyFilters() {
  const params = new URLSearchParams();
  const size = new URLSearchParams(location.search).get("size");
  if (size) params.set("size", size);
  for (const box of document.querySelectorAll("input[name=status]:checked")) params.append("status", box.value);
  for (const name of TEXT_FILTERS) {
    const value = $("filters").elements[name].value.trim();
    if (value) params.set(name, value);
  }
  if ($("filters").elements.root.checked) params.set("root", "1");
  updateStatusCount();
  if (params.toString() === withoutCursor().toString()) return;
  history.replaceState(null, "", runsPath(params));
  refresh();
}

function page(direction, cursor) {
  const params = withoutCursor();
  if (cursor) params.set(direction, cursor);
  history.pushState(null, "", runsPath(params));
  refresh();
}

function withoutCursor() {
  const params = new URLSearchParams(location.search);
  params.delete("after");
  params.delete("before");
  return params;
}

function updateStatusCount() {
  const n = document.querySelectorAll("input[name=status]:checked").length;
  $("status-count").textContent = n ? `(${n})` : "";
}

// The page's query string -> the API's query.
function listQuery() {
  const params = new URLSearchParams(location.search);
  const size = Number(params.get("size")) || PAGE_SIZE;
  const query = new URLSearchParams({ "page[size]": String(Math.min(Math.max(size, 1), 100)) });
  const statuses = params.getAll("status");
  if (statuses.length) query.set("filter[status]", statuses.join(","));
  const keys = { tag: "filter[tag]", batch: "filter[batch]", schedule: "filter[schedule]",
    errorGroup: "filter[errorGroup]", bulkAction: "filter[bulkAction]" };
  if (params.get("task")) query.set("filter[taskIdentifier]", matchingTasks(params.get("task")));
  if (params.get("root") === "1") query.set("filter[rootOnly]", "true");
  for (const [name, key] of Object.entries(keys)) if (params.get(name)) query.set(key, params.get(name));
  for (const [name, key] of [["from", "filter[createdAt][from]"], ["to", "filter[createdAt][to]"]]) {
    const ms = params.get(name) ? new Date(params.get(name)).getTime() : NaN;
    if (!Number.isNaN(ms)) query.set(key, String(ms));
  }
  if (params.get("after")) query.set("page[after]", params.get("after"));
  else if (params.get("before")) query.set("page[before]", params.get("before"));
  return query;
}

// The page's query string -> a bulk action's filter (POST /api/v1/bulk-actions): the
// same runs the list shows, on every page.
function bulkFilter() {
  const params = new URLSearchParams(location.search);
  const filter = {};
  const list = (value) => value.split(",").map((v) => v.trim()).filter(Boolean);
  const statuses = params.getAll("status");
  if (statuses.length) filter.status = statuses;
  if (params.get("task")) filter.taskIdentifier = list(matchingTasks(params.get("task")));
  const keys = { tag: "tag", batch: "batch", schedule: "schedule", errorGroup: "errorGroup",
    bulkAction: "bulkAction" };
  for (const [name, key] of Object.entries(keys)) if (params.get(name)) filter[key] = params.get(name);
  for (const name of ["from", "to"]) {
    const ms = params.get(name) ? new Date(params.get(name)).getTime() : NaN;
    if (!Number.isNaN(ms)) filter[name] = ms;
  }
  if (params.get("root") === "1") filter.rootOnly = true;
  return filter;
}

async function refresh() {
  const sequence = ++latest;
  loading = true;
  try {
    const body = await api(`/api/v1/runs?${listQuery()}`);
    if (sequence !== latest) return;
    render(body.data || [], body.pagination || {});
    show($("list-message"), false);
    $("live").classList.remove("stale");
  } catch (err) {
    if (sequence !== latest) return;
    fill($("list-message"), err instanceof ApiError ? err.message : String(err));
    show($("list-message"), true);
    $("live").classList.add("stale");
  } finally {
    if (sequence === latest) loading = false;
  }
}

function render(items, pagination) {
  const seen = new Set();
  const trs = items.map((item) => {
    seen.add(item.id);
    const signature = JSON.stringify(item);
    let entry = rows.get(item.id);
    if (!entry || entry.signature !== signature) {
      entry = { tr: buildRow(item), signature, item };
      rows.set(item.id, entry);
    }
    updateDuration(entry);
    return entry.tr;
  });
  for (const id of [...rows.keys()]) if (!seen.has(id)) rows.delete(id);
  $("runs-body").replaceChildren(...trs);
  syncSelection();
  show($("empty"), items.length === 0);
  setCursor($("older"), pagination.next);
  setCursor($("newer"), pagination.previous);
}

function setCursor(button, cursor) {
  button.disabled = !cursor;
  button.dataset.cursor = cursor || "";
}

function buildRow(run) {
  const tr = h("tr", { "data-run-id": run.id, "data-status": run.status, class: "run-row" },
    selectCell(run.id),
    h("td", {}, runLink(run.id)),
    h("td", { class: "task" }, run.taskIdentifier),
    h("td", {}, statusBadge(run.status)),
    h("td", {}, time(run.createdAt)),
    h("td", { class: "duration" }),
    h("td", { class: "parent" }, run.parentRunId ? runLink(run.parentRunId) : muted("—")),
    h("td", {}, tagList(run.tags, (tag) => runsPath({ tag }))),
    h("td", { class: "mono small" }, run.version || muted("—")));
  tr.addEventListener("click", (event) => {
    if (!event.target.closest("a, td.select")) location.assign(runPath(run.id));
  });
  return tr;
}

// One meaning everywhere: execution time (waits excluded), as the run page shows it.
// Finished runs carry it; an unfinished run shows "…" until it finishes.
function updateDuration({ tr, item }) {
  const done = FINAL_STATUSES.has(item.status);
  const cell = tr.querySelector(".duration");
  cell.textContent = done ? formatDuration(item.durationMs || 0) : "…";
  cell.classList.toggle("running", !done);
}

function search(event) {
  event.preventDefault();
  const id = new FormData(event.target).get("q").trim();
  if (RUN_ID.test(id)) {
    location.assign(runPath(id));
    return;
  }
  fill($("list-message"), id
    ? `"${id}" is not a run id: run ids are run_ followed by 26 letters and digits.`
    : "Type a run id (run_…) to open that run.");
  show($("list-message"), true);
}

// The task filter matches part of an id ("hello" finds hello-world): the known task
// ids that contain it, sent as the API's comma-separated list; an exact id, or text
// that matches no known id, is sent as it is.
function matchingTasks(text) {
  if (taskIds.includes(text)) return text;
  const matches = taskIds.filter((id) => id.toLowerCase().includes(text.toLowerCase()));
  return matches.length ? matches.join(",") : text;
}

async function loadTaskIds() {
  try {
    const tasks = await api("/api/v1/tasks");
    const ids = [...new Set(tasks.map((t) => t.id || t.taskIdentifier).filter(Boolean))].sort();
    taskIds = ids;
    fill($("task-ids"), ids.map((id) => h("option", { value: id })));
    if (new URLSearchParams(location.search).get("task")) refresh();
  } catch {
    // Only a convenience for the task filter: typing the id still works.
  }
}

function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
