// The tasks page: GET /api/v1/tasks (every deployed version's tasks) grouped by task id,
// with each task's latest runs (one GET /api/v1/runs), and a Test form: a JSON payload
// prefilled from the task's payload schema and a few trigger options, sent to
// POST /api/v1/tasks/{id}/trigger as a test run; the new run's page opens.

import { api, runPath, runsPath } from "./api.js";
import { fill, h, muted, show, statusBadge } from "./dom.js";

const $ = (id) => document.getElementById(id);
const LATEST_RUNS = 5;
let tasks = new Map(); // task id -> its descriptors, newest version first
let testing = null;

export async function startTasksPage() {
  $("test-form").addEventListener("submit", (event) => { event.preventDefault(); submitTest(); });
  $("test-close").addEventListener("click", () => closeTest());
  await load();
  const wanted = new URLSearchParams(location.search).get("test");
  if (wanted && tasks.has(wanted)) openTest(wanted);
}

async function load() {
  let descriptors;
  let runs = [];
  try {
    [descriptors, runs] = await Promise.all([
      api("/api/v1/tasks"),
      api("/api/v1/runs?page%5Bsize%5D=100").then((page) => page.data || []).catch(() => []),
    ]);
  } catch (err) {
    fill($("tasks-message"), `Could not load the tasks: ${err.message}`);
    return show($("tasks-message"), true);
  }
  tasks = new Map();
  for (const task of descriptors) tasks.set(task.id, [...(tasks.get(task.id) || []), task]);
  for (const versions of tasks.values()) versions.sort((a, b) => b.version.localeCompare(a.version));
  const latest = new Map();
  for (const run of runs) {
    const list = latest.get(run.taskIdentifier) || [];
    if (list.length < LATEST_RUNS) latest.set(run.taskIdentifier, [...list, run]);
  }
  const ids = [...tasks.keys()].sort();
  fill($("tasks-body"), ids.map((id) => row(id, tasks.get(id), latest.get(id) || [])));
  show($("tasks-empty"), ids.length === 0);
}

function row(id, versions, runs) {
  const newest = versions[0];
  const limit = newest.concurrency_limit ? ` · limit ${newest.concurrency_limit}` : "";
  const retry = newest.retry || {};
  return h("tr", { "data-task": id },
    h("td", {}, h("a", { class: "task", href: runsPath({ task: id }) }, id),
      newest.definition ? h("div", { class: "muted small mono" }, newest.definition) : null),
    h("td", { class: "mono small" }, versions.map((v) => v.version).join(", ")),
    h("td", { class: "small" }, h("span", { class: "mono" }, newest.queue), limit),
    h("td", { class: "small" }, `${retry.max_attempts ?? "—"} attempts`),
    h("td", { class: "small" }, newest.schedule
      ? h("span", {}, h("code", {}, newest.schedule.cron), ` ${newest.schedule.timezone}`)
      : newest.scheduled ? "scheduled" : muted("—")),
    h("td", { class: "latest-runs" }, runs.length
      ? runs.map((run) => h("a", { href: runPath(run.id), title: run.id }, statusBadge(run.status)))
      : muted("none yet")),
    h("td", {}, h("button", { type: "button", class: "secondary small test-button",
      onclick: () => openTest(id) }, "Test")));
}

// --- the Test form ---------------------------------------------------------------------
function openTest(id) {
  testing = id;
  const versions = tasks.get(id);
  fill($("test-task"), id);
  fill($("test-version"),
    h("option", { value: "" }, "latest"),
    versions.map((v) => h("option", { value: v.version }, v.version)));
  const schema = versions[0].payload_schema;
  $("test-payload").value = JSON.stringify(schema ? example(schema, schema) : {}, null, 2);
  for (const field of ["test-tags", "test-delay", "test-idempotency-key", "test-max-attempts"]) $(field).value = "";
  show($("test-error"), false);
  show($("test-form"), true);
  history.replaceState(null, "", `?test=${encodeURIComponent(id)}`);
  $("test-payload").focus();
}

function closeTest() {
  testing = null;
  show($("test-form"), false);
  history.replaceState(null, "", location.pathname);
}

async function submitTest() {
  show($("test-error"), false);
  let payload;
  try {
    payload = JSON.parse($("test-payload").value || "null");
  } catch (err) {
    return testError(`The payload is not JSON: ${err.message}`);
  }
  const options = { test: true };
  const tags = $("test-tags").value.split(",").map((t) => t.trim()).filter(Boolean);
  if (tags.length) options.tags = tags;
  if ($("test-delay").value.trim()) options.delay = $("test-delay").value.trim();
  if ($("test-idempotency-key").value.trim()) options.idempotencyKey = $("test-idempotency-key").value.trim();
  if ($("test-max-attempts").value) options.maxAttempts = Number($("test-max-attempts").value);
  if ($("test-version").value) options.lockToVersion = $("test-version").value;
  $("test-submit").disabled = true;
  try {
    const run = await api(`/api/v1/tasks/${encodeURIComponent(testing)}/trigger`,
      { method: "POST", body: { payload, options } });
    location.assign(runPath(run.id));
  } catch (err) {
    testError(err.message);
  } finally {
    $("test-submit").disabled = false;
  }
}

function testError(message) {
  fill($("test-error"), message);
  show($("test-error"), true);
}

// A value that fits ``schema`` (JSON Schema as pydantic writes it): defaults and
// examples first, else the simplest value of the type; objects list every property.
function example(schema, root, depth = 0) {
  if (!schema || depth > 8) return null;
  if (schema.$ref) return example(resolve(schema.$ref, root), root, depth + 1);
  if ("default" in schema) return schema.default;
  if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  const choice = schema.anyOf || schema.oneOf || schema.allOf;
  if (Array.isArray(choice) && choice.length) {
    const first = choice.find((s) => s.type !== "null") || choice[0];
    return example(first, root, depth + 1);
  }
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  switch (type) {
    case "object": {
      const value = {};
      for (const [name, property] of Object.entries(schema.properties || {})) {
        value[name] = example(property, root, depth + 1);
      }
      return value;
    }
    case "array": return [];
    case "string": return "";
    case "integer": case "number": return 0;
    case "boolean": return false;
    case "null": return null;
    default: return schema.properties ? example({ ...schema, type: "object" }, root, depth) : null;
  }
}

function resolve(ref, root) {
  if (!ref.startsWith("#/")) return null;
  return ref.slice(2).split("/").reduce((node, key) => (node ? node[key] : null), root);
}
