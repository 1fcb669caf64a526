// The run page's actions, each through the facade's JSON API: cancel, replay (same or
// edited payload), rerun from a step (same or edited payload; steps.js asks for it with a
// "rerun-from-step" event) and reschedule. Each one reports its outcome, with the server's own
// message when it refuses, and links to the run it created or changed.

import { api, runPath } from "./api.js";
import { fill, h, runLink, show, time } from "./dom.js";

const $ = (id) => document.getElementById(id);
const FLASH_KEY = "durableruns.flash";

export function setupActions({ runId, getRun, reload }) {
  const path = (action, version = "v1") => `/api/${version}/runs/${encodeURIComponent(runId)}/${action}`;
  const actionButtons = () => document.querySelectorAll("#actions button, .panel button[type=submit], .rerun-step button");

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

  // Replay with the same payload, or with the editor's; the editor also reruns from a
  // step with an edited payload (it then holds the step in its dataset).
  let editorStep = null;
  $("replay").addEventListener("click", () => attempt(() => replay(undefined)));
  $("edit-replay").addEventListener("click", () => openEditor(null));
  $("replay-close").addEventListener("click", () => show($("replay-editor"), false));
  $("replay-payload").addEventListener("input", validateEditor);
  $("replay-editor").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("replay-payload").value;
    if (!validateEditor()) return;
    const body = { payload: text, payloadType: "application/json" };
    if (editorStep) body.fromStep = editorStep.position;
    attempt(() => replay(body, editorStep));
  });

  function openEditor(step) {
    editorStep = step;
    const run = getRun();
    fill($("replay-editor-title"), step
      ? `Rerun from step #${step.position} ${step.call} with a new payload`
      : "Replay with a new payload");
    fill($("replay-submit"), step ? "Rerun from this step with this payload" : "Replay with this payload");
    $("replay-payload").value = JSON.stringify(run && run.payload !== undefined ? run.payload : null, null, 2);
    show($("replay-editor"), true);
    validateEditor();
    $("replay-payload").focus();
  }

  // Rerun from a step: the Steps card's buttons ({ position, call, edit }).
  document.addEventListener("rerun-from-step", ({ detail: step }) => {
    if (step.edit) return openEditor(step);
    attempt(() => replay({ fromStep: step.position }, step));
  });

  async function replay(body, step = null) {
    const created = await api(path("replay"), { method: "POST", body });
    outcome("ok", step ? "Rerun started: " : "Replay started: ", runLink(created.id), " (opening it…)");
    const flash = { runId: created.id, replayOf: runId };
    if (step) Object.assign(flash, { fromPosition: step.position, fromCall: step.call });
    sessionStorage.setItem(FLASH_KEY, JSON.stringify(flash));
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
  if (flash && flash.runId === runId && flash.fromPosition !== undefined) {
    outcome("ok", "Rerun of ", runLink(flash.replayOf), " from step #", String(flash.fromPosition), " ",
      h("code", {}, flash.fromCall || ""), " started: this is the new run ", h("span", { class: "mono" }, runId), ".");
  } else if (flash && flash.runId === runId) {
    outcome("ok", "Replay of ", runLink(flash.replayOf), " started: this is the new run ", h("span", { class: "mono" }, runId), ".");
  }
}
