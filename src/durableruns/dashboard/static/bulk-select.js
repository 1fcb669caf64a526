// The runs page's bulk actions: a checkbox on each row (and one for the whole page), and
// a form that replays or cancels the selected runs, or every run matching the page's
// filters, through POST /api/v1/bulk-actions — the same call the official client's
// runs.bulk.* makes. After an inline confirmation the browser opens the new bulk
// action's page, which follows it to the end.

import { api } from "./api.js";
import { fill, h, show } from "./dom.js";

const $ = (id) => document.getElementById(id);
const selected = new Set(); // run ids, kept across refreshes and pages
let pending = null; // the request the confirmation is about
let filterOf = () => ({});

export const bulkActionPath = (id) => `/dashboard/bulk-actions/${encodeURIComponent(id)}`;

export function setupBulkSelection({ currentFilter }) {
  filterOf = currentFilter;
  $("select-page").addEventListener("change", (event) => {
    for (const box of pageBoxes()) {
      box.checked = event.target.checked;
      toggle(box.value, box.checked);
    }
    update();
  });
  $("bulk-clear").addEventListener("click", () => {
    selected.clear();
    for (const box of pageBoxes()) box.checked = false;
    update();
  });
  $("bulk-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const button = event.submitter;
    if (!button) return;
    ask(button.value, button.dataset.scope);
  });
  $("bulk-no").addEventListener("click", () => { pending = null; show($("bulk-confirm"), false); });
  $("bulk-yes").addEventListener("click", () => start());
  update();
}

// The selection cell of a run's row.
export function selectCell(runId) {
  const box = h("input", { type: "checkbox", class: "select-run", value: runId,
    "aria-label": `Select ${runId}` });
  box.checked = selected.has(runId);
  box.addEventListener("change", () => { toggle(runId, box.checked); update(); });
  return h("td", { class: "select" }, box);
}

// After each render: the page's checkbox says whether every row shown is selected.
export function syncSelection() {
  const boxes = pageBoxes();
  const on = boxes.filter((b) => b.checked).length;
  $("select-page").checked = boxes.length > 0 && on === boxes.length;
  $("select-page").indeterminate = on > 0 && on < boxes.length;
}

function pageBoxes() {
  return [...document.querySelectorAll("#runs-body input.select-run")];
}

function toggle(runId, on) {
  if (on) selected.add(runId);
  else selected.delete(runId);
}

function update() {
  const n = selected.size;
  fill($("bulk-count"), n ? `${n} run${n === 1 ? "" : "s"} selected` : "No runs selected");
  for (const id of ["bulk-replay", "bulk-cancel"]) $(id).disabled = n === 0;
  show($("bulk-clear"), n > 0);
  syncSelection();
}

function ask(action, scope) {
  show($("bulk-message"), false);
  const verb = action === "replay" ? "Replay" : "Cancel";
  let body;
  let question;
  if (scope === "selected") {
    if (!selected.size) return;
    body = { action, runIds: [...selected] };
    question = `${verb} the ${selected.size} selected run${selected.size === 1 ? "" : "s"}?`;
  } else {
    const filter = filterOf();
    if (!Object.keys(filter).length) {
      fill($("bulk-message"), "Set at least one filter first: with none, \"all matching\" would be every run.");
      show($("bulk-message"), true);
      return;
    }
    body = { action, filter };
    const window = filter.from ? "" : " created in the last 7 days";
    question = `${verb} every run matching these filters${window}?`;
  }
  pending = body;
  fill($("bulk-confirm-text"), question);
  $("bulk-yes").className = action === "cancel" ? "danger" : "";
  show($("bulk-confirm"), true);
  $("bulk-yes").focus();
}

async function start() {
  if (!pending) return;
  const body = pending;
  pending = null;
  const buttons = document.querySelectorAll("#bulk-form button");
  for (const button of buttons) button.disabled = true;
  try {
    const created = await api("/api/v1/bulk-actions", { method: "POST", body });
    location.assign(bulkActionPath(created.id));
  } catch (err) {
    fill($("bulk-message"), `The bulk action was refused: ${err.message}`);
    show($("bulk-message"), true);
    show($("bulk-confirm"), false);
    for (const button of buttons) button.disabled = false;
    update();
  }
}
