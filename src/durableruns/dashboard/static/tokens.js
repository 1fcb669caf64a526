// The tokens page: GET /api/v1/waitpoints/tokens with Trigger.dev's filter[...] and
// page[...] parameters, newest first, refreshed every 2 seconds. The filters and the
// page cursor live in the page's own query string.

import { api } from "./api.js";
import { fill, h, muted, show, statusBadge, tagList, time } from "./dom.js";

const REFRESH_MS = 2000;
const $ = (id) => document.getElementById(id);
let latest = 0;

export function startTokensPage() {
  const params = new URLSearchParams(location.search);
  const form = $("token-filters");
  form.elements.status.value = params.get("status") || "";
  form.elements.tag.value = params.get("tag") || "";
  form.addEventListener("change", () => apply());
  form.addEventListener("submit", (event) => { event.preventDefault(); apply(); });
  $("tokens-older").addEventListener("click", () => apply({ after: $("tokens-older").dataset.cursor }));
  $("tokens-newer").addEventListener("click", () => apply({ before: $("tokens-newer").dataset.cursor }));
  refresh();
  setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS);
}

function apply(cursor = {}) {
  const form = $("token-filters");
  const params = new URLSearchParams();
  if (form.elements.status.value) params.set("status", form.elements.status.value);
  if (form.elements.tag.value.trim()) params.set("tag", form.elements.tag.value.trim());
  for (const [name, value] of Object.entries(cursor)) if (value) params.set(name, value);
  history.replaceState(null, "", params.toString() ? `?${params}` : location.pathname);
  refresh();
}

async function refresh() {
  const params = new URLSearchParams(location.search);
  const query = new URLSearchParams({ "page[size]": "25" });
  if (params.get("status")) query.set("filter[status]", params.get("status"));
  if (params.get("tag")) query.set("filter[tags]", params.get("tag"));
  if (params.get("after")) query.set("page[after]", params.get("after"));
  if (params.get("before")) query.set("page[before]", params.get("before"));
  const sequence = ++latest;
  let page;
  try {
    page = await api(`/api/v1/waitpoints/tokens?${query}`);
  } catch (err) {
    fill($("tokens-message"), err.message);
    return show($("tokens-message"), true);
  }
  if (sequence !== latest) return;
  show($("tokens-message"), false);
  fill($("tokens-body"), page.data.map((token) => h("tr", { "data-token": token.id },
    h("td", { class: "mono" }, token.id),
    h("td", {}, statusBadge(token.status)),
    h("td", {}, tagList(token.tags)),
    h("td", {}, time(token.createdAt)),
    h("td", {}, time(token.timeoutAt)),
    h("td", {}, token.completedAt ? time(token.completedAt) : muted("—")))));
  show($("tokens-empty"), page.data.length === 0);
  for (const [id, cursor] of [["tokens-older", page.pagination.next], ["tokens-newer", page.pagination.previous]]) {
    $(id).disabled = !cursor;
    $(id).dataset.cursor = cursor || "";
  }
}
