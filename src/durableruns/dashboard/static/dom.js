// DOM helpers. Every piece of run data reaches the page as a text node or an attribute
// value set through the DOM, never as markup: tags and payloads are shown, not parsed.

import { runPath } from "./api.js";
import { statusLabel } from "./status.js";

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function show(el, visible) {
  el.hidden = !visible;
}

export function statusBadge(status) {
  return h("span", { class: "status", "data-status": status, title: status }, statusLabel(status));
}

export function runLink(id) {
  return h("a", { class: "mono", href: runPath(id) }, id);
}

export function muted(text) {
  return h("span", { class: "muted" }, text);
}

const pad = (n) => String(n).padStart(2, "0");

// Local time with its zone spelled out ("UTC", "UTC+01:00"), so a time read off the page
// is never ambiguous.
export function formatTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return `${day} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${zone(d)}`;
}

function zone(d) {
  const offset = -d.getTimezoneOffset();
  if (offset === 0) return "UTC";
  const sign = offset > 0 ? "+" : "-";
  const abs = Math.abs(offset);
  return `UTC${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

export function time(iso) {
  return iso ? h("time", { datetime: iso, title: iso }, formatTime(iso)) : muted("—");
}

export function formatDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "";
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.floor(s % 60)}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

export function between(startIso, endIso) {
  if (!startIso) return null;
  const end = endIso ? new Date(endIso) : new Date();
  return end.getTime() - new Date(startIso).getTime();
}

export function tagList(tags, href) {
  if (!tags || tags.length === 0) return muted("—");
  return h("span", { class: "tags" },
    tags.map((tag) => href
      ? h("a", { class: "tag", href: href(tag), title: tag }, tag)
      : h("span", { class: "tag", title: tag }, tag)));
}

const JSON_PREVIEW_CHARS = 20000;

// Pretty JSON in a <pre>; a long document shows its first 20,000 characters and a
// button that reveals the rest.
export function jsonBlock(value, empty = "None") {
  if (value === undefined) return muted(empty);
  const text = JSON.stringify(value, null, 2) ?? String(value);
  const pre = h("pre", { class: "json" });
  if (text.length <= JSON_PREVIEW_CHARS) return fill(pre, text);
  pre.textContent = text.slice(0, JSON_PREVIEW_CHARS) + "\n…";
  const size = `${(new Blob([text]).size / 1024).toFixed(1)} KiB`;
  const more = h("button", { type: "button", class: "secondary small show-all" }, `Show all (${size})`);
  more.addEventListener("click", () => {
    pre.textContent = text;
    more.remove();
  });
  return h("div", { class: "json-wrap truncated" }, pre, more);
}
