// The concurrency page: GET /api/v1/concurrency-limits and GET /api/v1/queues, refreshed
// every 3 seconds, with live running/queued counts; pause/resume either, and override or
// reset a limit's bounds (POST …/pause, …/override, …/reset).

import { api } from "./api.js";
import { fill, h, muted, show } from "./dom.js";

const REFRESH_MS = 3000;
const $ = (id) => document.getElementById(id);
let loading = false;
let editing = false; // no refresh while an override is being typed

export function startConcurrencyPage() {
  refresh();
  setInterval(() => { if (!document.hidden && !loading && !editing) refresh(); }, REFRESH_MS);
}

async function refresh() {
  loading = true;
  try {
    const [limits, queues] = await Promise.all([
      api("/api/v1/concurrency-limits?perPage=100"),
      api("/api/v1/queues?perPage=100"),
    ]);
    show($("list-message"), false);
    $("live").classList.remove("stale");
    fill($("limits-body"), limits.data.map(limitRow));
    show($("limits-empty"), limits.data.length === 0);
    fill($("queues-body"), queues.data.map(queueRow));
  } catch (err) {
    fill($("list-message"), `Could not load the limits: ${err.message}`);
    show($("list-message"), true);
    $("live").classList.add("stale");
  } finally {
    loading = false;
  }
}

function bound(b) {
  if (b.current === null) return muted("—");
  const overridden = b.override !== null;
  return h("span", { class: overridden ? "overridden" : "", title: overridden ? `declared ${b.base}` : "declared" },
    String(b.current), overridden ? h("span", { class: "muted small" }, ` (was ${b.base})`) : "");
}

function limitPath(name, action) {
  return `/api/v1/concurrency-limits/${encodeURIComponent(name)}/${action}`;
}

function limitRow(limit) {
  return h("tr", { "data-limit": limit.name, "data-paused": String(limit.paused) },
    h("td", {}, h("span", { class: "mono" }, limit.name)),
    h("td", { class: "per-key" }, bound(limit.perKey)),
    h("td", { class: "total" }, bound(limit.total)),
    h("td", { class: "running" }, String(limit.running)),
    h("td", { class: "queued" }, String(limit.queued)),
    h("td", {}, pauseButton(limit.paused, limitPath(limit.name, "pause"), limit.name)),
    h("td", {}, overrideForm(limit)));
}

function overrideForm(limit) {
  if (limit.total.base === null && limit.perKey.base === null) return muted("no bounds to override");
  const field = limit.total.base !== null ? "total" : "perKey";
  const input = h("input", { type: "number", min: "0", class: "override-value", size: "4",
    "aria-label": `${field} override of ${limit.name}`, placeholder: field });
  input.addEventListener("focus", () => { editing = true; });
  input.addEventListener("blur", () => { editing = false; });
  const apply = h("button", { type: "button", class: "small override" }, "Override");
  apply.addEventListener("click", () => act(limitPath(limit.name, "override"),
    { [field]: Number(input.value) }, `${limit.name}: ${field} overridden to ${input.value}.`));
  const reset = h("button", { type: "button", class: "secondary small reset" }, "Reset");
  reset.addEventListener("click", () => act(limitPath(limit.name, "reset"), {},
    `${limit.name}: back to its declared bounds.`));
  return h("span", { class: "override-form" }, input, " ", apply, " ", reset);
}

function queueRow(queue) {
  const limit = queue.version === "V1" ? String(queue.concurrencyLimit) : muted("—");
  const path = `/api/v1/queues/${encodeURIComponent(queue.id)}/pause`;
  return h("tr", { "data-queue": queue.name, "data-paused": String(queue.paused) },
    h("td", {}, h("span", { class: "mono" }, queue.name)),
    h("td", {}, queue.type),
    h("td", {}, limit),
    h("td", { class: "running" }, String(queue.running)),
    h("td", { class: "queued" }, String(queue.queued)),
    h("td", {}, pauseButton(queue.paused, path, queue.name)));
}

function pauseButton(paused, path, name) {
  const button = h("button", {
    type: "button",
    class: paused ? "small toggle" : "secondary small toggle",
    "aria-pressed": String(paused),
    title: paused ? "Let its runs start again" : "Start nothing new (running runs finish)",
  }, paused ? "Paused · Resume" : "Running · Pause");
  button.addEventListener("click", () => act(path, { action: paused ? "resume" : "pause" },
    `${name} ${paused ? "resumed" : "paused"}.`, button));
  return button;
}

async function act(path, body, done, button) {
  if (button) button.disabled = true;
  editing = false;
  try {
    await api(path, { method: "POST", body });
    flash(done, "ok");
  } catch (err) {
    flash(err.message, "error");
  }
  await refresh();
}

function flash(text, kind) {
  const box = $("outcome");
  box.className = `outcome ${kind}`;
  fill(box, text);
  show(box, true);
}
