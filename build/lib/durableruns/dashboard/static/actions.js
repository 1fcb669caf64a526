// The run page's actions, each through the facade's JSON API: cancel, replay (same or
// edited payload) and reschedule. Each one reports its outcome, with the server's own
// message when it refuses, and links to the run it created or changed.

import { api, runPath } from "./api.js";
import { fill, h, runLink, show, time } from "./dom.js";

const $ = (id) => document.getElementById(id);
const FLASH_KEY = "durableruns.flash";

export function setupActions({ runId, getRun, reload }) {
  const path = (action, version = "v1") => `/api/${version}/runs/${encodeURIComponent(runId)}/${action}`;
  const actionButtons = () => document.querySelectorAll("#actions button, .panel button[type=submit]");

  async function attempt(fn) {
    for (const button of actionButtons()) button.disabled = true;
    try {
      await fn();
    } catch (err) {
      outcome("error", err.message);
    } finally {
      for (const button of actionButtons()) button.disabled = false;
      validateEditor();
    }
  }

  // Cancel, behind an inline confirmation.
  $("cancel").addEventListener("click", () => { show($("cancel"), false); show($("cancel-confirm"), true); });
  $("cancel-no").addEventListener("click", () => { show($("cancel-confirm"), false); show($("cancel"), true); });
  $("cancel-yes").addEventListener("click", () => attempt(async () => {
    await api(path("cancel", "v2"), { method: "POST" });
    show($("cancel-confirm"), false);
    await reload();
    const run = getRun();
    outcome("ok", "Cancel requested: ", runLink(runId), ` is ${run ? run.status : "being canceled"}.`);
  }));

  // Replay with the same payload, or with the editor's.
  $("replay").addEventListener("click", () => attempt(() => replay(undefined)));
  $("edit-replay").addEventListener("click", () => {
    const run = getRun();
    $("replay-payload").value = JSON.stringify(run && run.payload !== undefined ? run.payload : null, null, 2);
    show($("replay-editor"), true);
    validateEditor();
    $("replay-payload").focus();
  });
  $("replay-close").addEventListener("click", () => show($("replay-editor"), false));
  $("replay-payload").addEventListener("input", validateEditor);
  $("replay-editor").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("replay-payload").value;
    if (!validateEditor()) return;
    attempt(() => replay({ payload: text, payloadType: "application/json" }));
  });

  async function replay(body) {
    const created = await api(path("replay"), { method: "POST", body });
    outcome("ok", "Replay started: ", runLink(created.id), " (opening it…)");
    sessionStorage.setItem(FLASH_KEY, JSON.stringify({ runId: created.id, replayOf: runId }));
    location.assign(runPath(created.id));
  }

  // Reschedule a DELAYED run.
  $("reschedule-open").addEventListener("click", () => { show($("reschedule-form"), true); $("reschedule-delay").focus(); });
  $("reschedule-close").addEventListener("click", () => show($("reschedule-form"), false));
  $("reschedule-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const delay = $("reschedule-delay").value.trim();
    if (!delay) return outcome("error", "Give a delay such as 30s, 5m or an ISO date.");
    attempt(async () => {
      const run = await api(path("reschedule"), { method: "POST", body: { delay } });
      show($("reschedule-form"), false);
      await reload();
      outcome("ok", "Rescheduled: ", runLink(runId), " now starts at ", time(run.delayedUntil), ".");
    });
  });

  document.addEventListener("run-rendered", ({ detail: run }) => {
    const unfinished = !run.isCompleted;
    show($("cancel"), unfinished && $("cancel-confirm").hidden);
    if (!unfinished) show($("cancel-confirm"), false);
    show($("reschedule-open"), run.status === "DELAYED");
    if (run.status !== "DELAYED") show($("reschedule-form"), false);
  });
}

// The editor refuses text that is not JSON before anything is sent.
function validateEditor() {
  const text = $("replay-payload").value;
  let problem = null;
  try {
    JSON.parse(text);
  } catch (err) {
    problem = `Not valid JSON: ${err.message}`;
  }
  fill($("replay-json-error"), problem || "");
  show($("replay-json-error"), Boolean(problem));
  $("replay-submit").disabled = Boolean(problem);
  return !problem;
}

export function outcome(kind, ...parts) {
  const el = $("outcome");
  el.className = `outcome ${kind}`;
  fill(el, ...parts);
  show(el, true);
}

// A replay lands on its new run; this page then says where it came from.
export function showFlash(runId) {
  let flash = null;
  try {
    flash = JSON.parse(sessionStorage.getItem(FLASH_KEY) || "null");
  } catch {
    flash = null;
  }
  sessionStorage.removeItem(FLASH_KEY);
  if (flash && flash.runId === runId) {
    outcome("ok", "Replay of ", runLink(flash.replayOf), " started: this is the new run ", h("span", { class: "mono" }, runId), ".");
  }
}
