// The alerts page: GET /api/v1/alerts and each alert's deliveries (every try, with
// what the receiver said), refreshed every 5 seconds; a form that POSTs a new alert;
// an enable/disable toggle and delete per alert. Secrets are typed, never shown.

import { api } from "./api.js";
import { fill, h, muted, show, time } from "./dom.js";

const REFRESH_MS = 5000;
const DELIVERIES_SHOWN = 5;
const $ = (id) => document.getElementById(id);

export function startAlertsPage() {
  $("alert-form").addEventListener("submit", create);
  refresh();
  setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS);
}

async function create(event) {
  event.preventDefault();
  const form = event.target;
  const field = (name) => form.elements[name].value.trim();
  const list = (name) => field(name).split(",").map((s) => s.trim()).filter(Boolean);
  const type = field("type");
  const channel = { type };
  if (type === "email") channel.to = list("to");
  else channel.url = field("url");
  if (type === "webhook") channel.secret = field("secret");
  const body = {
    name: field("name"),
    events: [...form.querySelectorAll("input[name=events]:checked")].map((i) => i.value),
    channel,
    filter: { tasks: list("tasks") },
  };
  try {
    const alert = await api("/api/v1/alerts", { method: "POST", body });
    form.elements.secret.value = "";
    flash(`Alert ${alert.id} created.`);
    await refresh();
  } catch (err) {
    flash(err.message);
  }
}

async function refresh() {
  try {
    const alerts = (await api("/api/v1/alerts")).data || [];
    const deliveries = await Promise.all(alerts.map((a) =>
      api(`/api/v1/alerts/${encodeURIComponent(a.id)}/deliveries`).then((b) => b.data || [])));
    fill($("alerts-body"), alerts.map((a, i) => alertRow(a, deliveries[i])));
    show($("empty"), alerts.length === 0);
    show($("list-message"), false);
    $("live").classList.remove("stale");
  } catch (err) {
    fill($("list-message"), `Could not load the alerts: ${err.message}`);
    show($("list-message"), true);
    $("live").classList.add("stale");
  }
}

function alertRow(alert, deliveries) {
  const channel = alert.channel;
  const target = channel.type === "email" ? (channel.to || []).join(", ") : channel.url;
  return h("tr", { "data-alert-id": alert.id },
    h("td", {}, h("strong", {}, alert.name), h("div", { class: "mono small muted" }, alert.id)),
    h("td", { class: "small" }, alert.events.join(", "),
      alert.filter.tasks.length ? h("div", { class: "muted" }, `tasks: ${alert.filter.tasks.join(", ")}`) : ""),
    h("td", { class: "small" }, h("strong", {}, channel.type), " ", target,
      channel.secretSet ? h("div", { class: "muted" }, "signed (secret set)") : ""),
    h("td", { class: "small deliveries" }, deliveries.length
      ? h("ol", { class: "plain" }, deliveries.slice(0, DELIVERIES_SHOWN).map(deliveryItem))
      : muted("none yet")),
    h("td", {}, toggle(alert), " ", remove(alert)));
}

function deliveryItem(d) {
  const last = d.attempts[d.attempts.length - 1];
  return h("li", { "data-delivery-id": d.id, "data-status": d.status },
    h("span", { class: "delivery-status" }, d.status), ` ${d.event}`,
    d.count > 1 ? ` ×${d.count}` : "", " · ", `${d.attempts.length} tr${d.attempts.length === 1 ? "y" : "ies"}`,
    last && !last.ok ? h("div", { class: "muted" }, last.detail) : "", " ", time(d.createdAt));
}

function toggle(alert) {
  const action = alert.enabled ? "disable" : "enable";
  return h("button", {
    type: "button", class: alert.enabled ? "secondary small" : "small", "data-action": action,
    onclick: async () => {
      try {
        await api(`/api/v1/alerts/${encodeURIComponent(alert.id)}/${action}`, { method: "POST" });
      } catch (err) {
        flash(err.message);
      }
      await refresh();
    },
  }, alert.enabled ? "On · Disable" : "Off · Enable");
}

function remove(alert) {
  return h("button", {
    type: "button", class: "danger small", "data-action": "delete",
    onclick: async () => {
      try {
        await api(`/api/v1/alerts/${encodeURIComponent(alert.id)}`, { method: "DELETE" });
        flash(`Alert ${alert.id} deleted.`);
      } catch (err) {
        flash(err.message);
      }
      await refresh();
    },
  }, "Delete");
}

function flash(text) {
  fill($("outcome"), text);
  show($("outcome"), true);
}
