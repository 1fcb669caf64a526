// The run page's wait tokens: when the run is WAITING on tokens, a card shows each one
// (GET /api/v1/waitpoints/tokens/{id}: its status, timeout and tags) with a "complete
// with JSON" form (POST …/complete). The run page itself re-renders when the run moves on.

import { api } from "./api.js";
import { fill, h, muted, show, statusBadge, tagList, time } from "./dom.js";

const $ = (id) => document.getElementById(id);
let shown = ""; // the token ids the card shows, so live updates keep an open form

export function startTokenWaits() {
  document.addEventListener("run-rendered", (event) => render(event.detail));
}

async function render(run) {
  const ids = (run.waits || []).filter((w) => w.kind === "token" && w.tokenId).map((w) => w.tokenId);
  const key = ids.join(",");
  if (key === shown) return;
  shown = key;
  show($("token-card"), ids.length > 0);
  if (!ids.length) return fill($("token-waits"));
  const tokens = await Promise.all(ids.map((id) => api(`/api/v1/waitpoints/tokens/${encodeURIComponent(id)}`)
    .catch((err) => ({ id, loadError: err.message }))));
  if (key !== shown) return; // the run moved on meanwhile
  fill($("token-waits"), tokens.map(tokenView));
}

function tokenView(token) {
  if (token.loadError) {
    return h("div", { class: "token", "data-token": token.id },
      h("p", { class: "mono" }, token.id), h("p", { class: "message error" }, token.loadError));
  }
  const textarea = h("textarea", { rows: 4, spellcheck: "false", "aria-label": "Completion (JSON)" },
    '{\n  "approved": true\n}');
  const message = h("p", { class: "message", role: "status", hidden: true });
  const submit = h("button", { type: "submit" }, "Complete token");
  const form = h("form", { class: "complete-token" },
    h("label", {}, "Complete with JSON"), textarea, h("div", { class: "row" }, submit), message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let data;
    try {
      data = JSON.parse(textarea.value);
    } catch (err) {
      return report(message, "error", `Not valid JSON: ${err.message}`);
    }
    submit.disabled = true;
    try {
      const answer = await api(`/api/v1/waitpoints/tokens/${encodeURIComponent(token.id)}/complete`,
        { method: "POST", body: { data } });
      report(message, "ok", answer.alreadyCompleted
        ? "This token was completed already: the first completion stays."
        : "Token completed: the run resumes.");
    } catch (err) {
      report(message, "error", err.message);
    } finally {
      submit.disabled = false;
    }
  });
  return h("div", { class: "token", "data-token": token.id },
    h("dl", { class: "details" },
      h("dt", {}, "Token"), h("dd", { class: "mono" }, token.id),
      h("dt", {}, "Status"), h("dd", {}, statusBadge(token.status)),
      h("dt", {}, "Times out"), h("dd", {}, time(token.timeoutAt)),
      h("dt", {}, "Tags"), h("dd", {}, tagList(token.tags, (tag) => `/dashboard/tokens?tag=${encodeURIComponent(tag)}`)),
      h("dt", {}, "Callback URL"), h("dd", {}, h("code", { class: "url" }, token.url || muted("—")))),
    token.status === "WAITING" ? form : null);
}

function report(el, kind, text) {
  el.className = `message ${kind}`;
  fill(el, text);
  show(el, true);
}
