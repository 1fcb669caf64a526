// The home page's health line: GET /api/v1/reports/health?format=json (the last hour),
// its headline and its one next action, refreshed every 30 seconds.

import { api } from "./api.js";
import { fill, show } from "./dom.js";

const REFRESH_MS = 30000;
const $ = (id) => document.getElementById(id);

export function startHealth() {
  refresh();
  setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS);
}

async function refresh() {
  try {
    const view = await api("/api/v1/reports/health?format=json&period=1h");
    const box = $("health");
    box.dataset.severity = view.summary.severity;
    fill($("health-headline"), view.headline);
    fill($("health-action"), `→ ${view.nextAction}`);
    show(box, true);
  } catch {
    show($("health"), false); // the runs list says when the facade is unreachable
  }
}
