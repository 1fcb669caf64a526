// The run page's Steps card: each step a finished run recorded (from its waterfall's
// spans, GET /api/v1/runs/{id}/timeline, which carry the step's journal position), with
// "Rerun from here" (POST /api/v1/runs/{id}/replay with fromStep, through actions.js)
// and the same with an edited payload. The new run's page says where it came from.

import { fill, h, show } from "./dom.js";

const $ = (id) => document.getElementById(id);
let shown = null;

export function startSteps() {
  document.addEventListener("timeline-loaded", ({ detail: { run, spans } }) => render(run, spans));
}

function render(run, spans) {
  const steps = new Map(); // position -> call (a position's first record)
  for (const span of spans) {
    if (span.kind === "step" && Number.isInteger(span.position) && !steps.has(span.position)) {
      steps.set(span.position, span.name);
    }
  }
  const list = [...steps].sort((a, b) => a[0] - b[0]);
  const visible = Boolean(run.isCompleted && list.length);
  show($("steps-card"), visible);
  const key = JSON.stringify([visible, list]);
  if (!visible || key === shown) return;
  shown = key;
  fill($("steps"), h("ol", { class: "steps" }, list.map(([position, call]) => stepForm(position, call))));
}

function stepForm(position, call) {
  const ask = (edit) => document.dispatchEvent(
    new CustomEvent("rerun-from-step", { detail: { position, call, edit } }));
  const form = h("form", { class: "rerun-step", "data-position": position, "data-call": call },
    h("input", { type: "hidden", name: "fromStep", value: position }),
    h("span", { class: "step-position mono" }, `#${position}`),
    h("code", { class: "step-call" }, call),
    h("button", { type: "submit", class: "small rerun-here" }, "Rerun from here"),
    h("button", { type: "button", class: "small secondary rerun-edit", onclick: () => ask(true) },
      "…with a new payload"));
  form.addEventListener("submit", (event) => { event.preventDefault(); ask(false); });
  return h("li", { class: "step-row" }, form);
}
