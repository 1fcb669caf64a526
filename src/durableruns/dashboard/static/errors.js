// The errors pages. The list: GET /api/v1/errors (most occurrences in the period first)
// with a sparkline of the last 24 hours per group, refreshed every 5 seconds. A group:
// GET /api/v1/errors/{id}, its resolve / ignore / unresolve buttons (POST …/resolve,
// …/ignore, …/unresolve), and its latest runs (GET /api/v1/runs?filter[errorGroup]=id).

import { api, runsPath } from "./api.js";
import { fill, h, muted, runLink, show, statusBadge, time } from "./dom.js";

const REFRESH_MS = 5000;
const RUNS_SHOWN = 20;
const $ = (id) => document.getElementById(id);
const errorPath = (id) => `/dashboard/errors/${encodeURIComponent(id)}`;

export function startErrorsPage() {
  const form = $("error-filters");
  const params = new URLSearchParams(location.search);
  for (const name of ["status", "period", "task"]) {
    if (params.has(name)) form.elements[name].value = params.get(name);
  }
  form.addEventListener("change", () => {
    const next = new URLSearchParams();
    for (const name of ["status", "period", "task"]) {
      const value = form.elements[name].value.trim();
      if (value || name === "period") next.set(name, value);
    }
    history.replaceState(null, "", `?${next}`);
    refreshList();
  });
  form.addEventListener("submit", (event) => event.preventDefault());
  refreshList();
  setInterval(() => { if (!document.hidden) refreshList(); }, REFRESH_MS);
}

async function refreshList() {
  const form = $("error-filters");
  const query = new URLSearchParams({ "page[size]": "100" });
  const status = form.elements.status.value;
  const period = form.elements.period.value;
  const task = form.elements.task.value.trim();
  if (status) query.set("filter[status]", status);
  if (period) query.set("filter[period]", period);
  if (task) query.set("filter[taskIdentifier]", task);
  try {
    const body = await api(`/api/v1/errors?${query}`);
    const groups = body.data || [];
    fill($("errors-body"), groups.map(groupRow));
    show($("empty"), groups.length === 0);
    show($("list-message"), false);
    $("live").classList.remove("stale");
  } catch (err) {
    fill($("list-message"), `Could not load the errors: ${err.message}`);
    show($("list-message"), true);
    $("live").classList.add("stale");
  }
}

function groupRow(group) {
  return h("tr", { "data-error-id": group.id, "data-status": group.status },
    h("td", {},
      h("a", { class: "error-link", href: errorPath(group.id) }, h("strong", {}, group.errorType)),
      h("div", { class: "small error-message" }, group.errorMessage)),
    h("td", { class: "task" }, group.taskIdentifier),
    h("td", {}, h("span", { class: "error-status", "data-status": group.status }, group.status)),
    h("td", { class: "count" }, String(group.count)),
    h("td", {}, sparkline(group.sparkline || [])),
    h("td", {}, time(group.firstSeen)),
    h("td", {}, time(group.lastSeen)));
}

// An inline SVG bar chart: one bar per hour, scaled to the busiest hour.
function sparkline(counts) {
  const ns = "http://www.w3.org/2000/svg";
  const width = 96, height = 20, bar = width / Math.max(counts.length, 1);
  const max = Math.max(1, ...counts);
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "sparkline");
  svg.setAttribute("width", String(width));
  svg.setAttribute("height", String(height));
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `${counts.reduce((a, b) => a + b, 0)} in the last 24 hours`);
  counts.forEach((n, i) => {
    if (!n) return;
    const rect = document.createElementNS(ns, "rect");
    const tall = Math.max(2, Math.round((n / max) * height));
    rect.setAttribute("x", String(i * bar));
    rect.setAttribute("y", String(height - tall));
    rect.setAttribute("width", String(Math.max(1, bar - 1)));
    rect.setAttribute("height", String(tall));
    svg.append(rect);
  });
  return svg;
}

export function startErrorPage() {
  const id = document.querySelector("[data-page=error]").dataset.errorId;
  $("all-runs").href = runsPath({ errorGroup: id });
  refreshGroup(id);
  setInterval(() => { if (!document.hidden) refreshGroup(id); }, REFRESH_MS);
}

async function refreshGroup(id) {
  try {
    const group = await api(`/api/v1/errors/${encodeURIComponent(id)}`);
    renderGroup(group);
    show($("message"), false);
    const runs = await api(`/api/v1/runs?page[size]=${RUNS_SHOWN}&filter[errorGroup]=${encodeURIComponent(id)}`);
    fill($("error-runs"), (runs.data || []).map((run) =>
      h("tr", { "data-run-id": run.id },
        h("td", {}, runLink(run.id)), h("td", {}, statusBadge(run.status)),
        h("td", {}, run.version || muted("—")), h("td", {}, time(run.createdAt)))));
    $("live").classList.remove("stale");
  } catch (err) {
    fill($("message"), err.status === 404 ? "There is no such error group." : err.message);
    show($("message"), true);
    $("live").classList.add("stale");
  }
}

function renderGroup(group) {
  fill($("error-title"), `${group.errorType}: ${group.errorMessage}`);
  const fields = [
    ["Status", h("span", { class: "error-status", id: "error-status", "data-status": group.status }, group.status)],
    ["Task", group.taskIdentifier],
    ["Example", group.sampleMessage || muted("—")],
    ["Where", group.frame || muted("—")],
    ["Occurrences", h("span", { id: "error-count" }, String(group.count))],
    ["Last 24 h", sparkline(group.sparkline || [])],
    ["First seen", time(group.firstSeen)],
    ["Last seen", time(group.lastSeen)],
    ["Versions", (group.affectedVersions || []).join(", ") || muted("—")],
    ["Sample run", group.sampleRunId ? runLink(group.sampleRunId) : muted("—")],
  ];
  if (group.regressions) fields.push(["Regressions", `${group.regressions} (last ${new Date(group.regressedAt).toISOString()})`]);
  if (group.resolvedAt) fields.push(["Resolved", [time(group.resolvedAt), group.resolvedInVersion ? ` in ${group.resolvedInVersion}` : ""]]);
  if (group.status === "ignored") fields.push(["Ignored", ignoredText(group)]);
  fill($("error-fields"), fields.map(([name, value]) => [h("dt", {}, name), h("dd", {}, value)]));
  fill($("error-actions"), actions(group));
}

function ignoredText(group) {
  const bounds = [];
  if (group.ignoredUntil) bounds.push(`until ${new Date(group.ignoredUntil).toISOString()}`);
  if (group.ignoredUntilTotalOccurrences) bounds.push(`${group.ignoredUntilTotalOccurrences} more occurrences`);
  if (group.ignoredUntilOccurrenceRate) bounds.push(`more than ${group.ignoredUntilOccurrenceRate}/min`);
  return bounds.length ? bounds.join(" or ") : "for good";
}

function actions(group) {
  const button = (label, action, body) => {
    const el = h("button", { type: "button", class: "small", "data-action": action }, label);
    el.addEventListener("click", async () => {
      el.disabled = true;
      try {
        renderGroup(await api(`/api/v1/errors/${encodeURIComponent(group.id)}/${action}`, { method: "POST", body }));
        flash(`${label}: done.`);
      } catch (err) {
        flash(err.message);
      }
    });
    return el;
  };
  const list = [];
  if (group.status !== "resolved") list.push(button("Resolve", "resolve", {}));
  if (group.status !== "ignored") {
    list.push(button("Ignore", "ignore", {}));
    list.push(button("Ignore for 24 h", "ignore", { duration: 86_400_000 }));
    list.push(button("Ignore for 100 more", "ignore", { totalOccurrences: 100 }));
  }
  if (group.status !== "unresolved") list.push(button("Unresolve", "unresolve", {}));
  return list;
}

function flash(text) {
  fill($("outcome"), text);
  show($("outcome"), true);
}
