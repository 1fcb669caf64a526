// The run page's input-stream form: while the run is unfinished, send a JSON value to
// one of its input streams (POST /realtime/v1/streams/{runId}/input/{streamId}, the
// official client's path). The stream a WAITING run waits on is filled in.

import { api } from "./api.js";
import { fill, show } from "./dom.js";

const $ = (id) => document.getElementById(id);
let wired = false;

export function startInputSend() {
  document.addEventListener("run-rendered", (event) => render(event.detail));
}

function render(run) {
  show($("input-card"), !run.isCompleted);
  if (run.isCompleted) return;
  const waiting = (run.waits || []).find((w) => w.kind === "input" && w.streamId);
  const streamInput = $("input-stream");
  if (waiting && document.activeElement !== streamInput) streamInput.value = waiting.streamId;
  fill($("input-waiting"), waiting ? `The run waits for a value on "${waiting.streamId}".` : "");
  if (wired) return;
  wired = true;
  $("input-form").addEventListener("submit", (event) => send(event, run.id));
}

async function send(event, runId) {
  event.preventDefault();
  const message = $("input-message");
  let data;
  try {
    data = JSON.parse($("input-data").value);
  } catch (err) {
    return report(message, "error", `Not valid JSON: ${err.message}`);
  }
  const streamId = $("input-stream").value.trim();
  const submit = $("input-submit");
  submit.disabled = true;
  try {
    await api(`/realtime/v1/streams/${encodeURIComponent(runId)}/input/${encodeURIComponent(streamId)}`,
      { method: "POST", body: { data } });
    report(message, "ok", `Sent to "${streamId}".`);
  } catch (err) {
    report(message, "error", err.message);
  } finally {
    submit.disabled = false;
  }
}

function report(el, kind, text) {
  el.className = `message ${kind}`;
  fill(el, text);
  show(el, true);
}
