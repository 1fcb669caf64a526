// Day-2 run operations with the unmodified official client, @trigger.dev/sdk 4.8.3 (issue 23):
// runs.bulk.*, deployments, addTags, idempotencyKeys.reset, getRunResult, getBatchResults, retrieveRunTrace (tree and
// pages), retrieveSpan and listRunEvents against the durableruns facade. Prints one line
// per check and exits non-zero if any fails. TRIGGER_API_URL and TRIGGER_SECRET_KEY configure it.
//
//   TRIGGER_API_URL=http://127.0.0.1:3030 TRIGGER_SECRET_KEY=tr_dev_… node official_run_operations.mjs

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { apiClientManager } from "@trigger.dev/core/v3";
import { batch, configure, deployments, idempotencyKeys, runs, tasks } from "@trigger.dev/sdk";

const baseURL = process.env.TRIGGER_API_URL;
const accessToken = process.env.TRIGGER_SECRET_KEY;
if (!baseURL || !accessToken) {
  console.error("TRIGGER_API_URL and TRIGGER_SECRET_KEY must be set");
  process.exit(2);
}
configure({ baseURL, accessToken });
const api = () => apiClientManager.clientOrThrow();

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Call `get` until `done(value)` holds; fail with the last value after `timeoutMs`. */
async function eventually(get, done, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await get();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`still ${JSON.stringify(value)} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

const finished = (id) => eventually(() => runs.retrieve(id), (r) => r.isCompleted);
const checks = [];
const check = (name, fn) => checks.push({ name, fn });
const tag = `ops-${randomUUID().slice(0, 8)}`;

check("addTags adds to a running run; retrieve shows them; 11 tags are refused", async () => {
  const handle = await tasks.trigger("sleepy", { seconds: 3 }, { tags: ["first"] });
  const answer = await api().addTags(handle.id, { tags: [tag, "first"] });
  assert.equal(typeof answer.message, "string");
  const run = await runs.retrieve(handle.id);
  assert.deepEqual([...run.tags].sort(), [tag, "first"].sort());
  await assert.rejects(
    api().addTags(handle.id, { tags: Array.from({ length: 9 }, (_, n) => `more-${n}`) }),
    (error) => error.status === 400 && /tags/.test(error.message),
  );
  await runs.cancel(handle.id);
});

check("idempotencyKeys.reset: the next trigger with the key makes a new run", async () => {
  const key = await idempotencyKeys.create(`${tag}-key`, { scope: "global" });
  const first = await tasks.trigger("hello-world", { name: "a" }, { idempotencyKey: key });
  const cached = await tasks.trigger("hello-world", { name: "a" }, { idempotencyKey: key });
  assert.equal(cached.id, first.id);
  const reset = await idempotencyKeys.reset("hello-world", key);
  assert.equal(reset.id, key);
  const second = await tasks.trigger("hello-world", { name: "a" }, { idempotencyKey: key });
  assert.notEqual(second.id, first.id);
  await assert.rejects(
    idempotencyKeys.reset("hello-world", "0".repeat(64)),
    (error) => error.status === 404,
  );
});

check("getRunResult: ok with the output of a finished run, undefined while it runs", async () => {
  const done = await tasks.trigger("hello-world", { name: "Ada" });
  await finished(done.id);
  const result = await api().getRunResult(done.id);
  assert.equal(result.ok, true);
  assert.equal(result.id, done.id);
  assert.deepEqual(JSON.parse(result.output), { message: "Hello, Ada!" });
  const failed = await tasks.trigger("always-fails", {});
  await finished(failed.id);
  const failure = await api().getRunResult(failed.id);
  assert.equal(failure.ok, false);
  assert.equal(failure.error.type, "BUILT_IN_ERROR");
  const running = await tasks.trigger("sleepy", { seconds: 2 });
  assert.equal(await api().getRunResult(running.id), undefined);
  await runs.cancel(running.id);
});

check("getBatchResults: the batch's results in item order", async () => {
  const handle = await batch.trigger([
    { id: "hello-world", payload: { name: "x" } },
    { id: "hello-world", payload: { name: "y" } },
  ]);
  const got = await eventually(
    () => runs.list({ batch: handle.batchId }),
    (page) => page.data.length === 2,
  );
  for (const run of got.data) await finished(run.id);
  const results = await api().getBatchResults(handle.batchId);
  assert.equal(results.id, handle.batchId);
  assert.deepEqual(
    results.items.map((item) => JSON.parse(item.output).message),
    ["Hello, x!", "Hello, y!"],
  );
});

check("retrieveRunTrace: a span tree; pages; retrieveSpan; listRunEvents in < 1 s", async () => {
  const handle = await tasks.trigger("always-fails", {});
  await finished(handle.id);
  const { trace } = await api().retrieveRunTrace(handle.id);
  assert.equal(trace.rootSpan.runId, handle.id);
  assert.equal(trace.rootSpan.data.isError, true);
  assert.ok(trace.rootSpan.data.startTime instanceof Date);
  const attempts = trace.rootSpan.children.filter((s) => s.data.message.startsWith("attempt"));
  assert.equal(attempts.length, 2);
  const page = await api().retrieveRunTracePage(handle.id, { limit: 2 });
  assert.equal(page.data.length, 2);
  assert.deepEqual(page.attemptFailures.map((f) => f.attemptNumber), [1, 2]);
  const span = await api().retrieveSpan(handle.id, attempts[0].id);
  assert.equal(span.spanId, attempts[0].id);
  assert.equal(span.isError, true);
  for (const id of [handle.id, (await tasks.trigger("sleepy", { seconds: 3 })).id]) {
    const started = Date.now();
    const { events } = await api().listRunEvents(id);
    assert.ok(Date.now() - started < 1000, `listRunEvents took ${Date.now() - started} ms`);
    assert.equal(events[0].runId, id);
  }
});

check("runs.bulk: replay by ids and by filter, poll, retrieve, list, abort; runs.list by bulkAction", async () => {
  const failed = [];
  for (let n = 0; n < 3; n++) failed.push((await tasks.trigger("always-fails", {}, { tags: [`${tag}-bulk`] })).id);
  for (const id of failed) await finished(id);
  const { id } = await runs.bulk.replay({ runIds: failed, name: "replay failed" });
  assert.match(id, /^bulk_/);
  const done = await runs.bulk.poll(id, { pollIntervalMs: 200 });
  assert.equal(done.status, "COMPLETED");
  assert.equal(done.type, "REPLAY");
  assert.deepEqual(done.counts, { total: 3, success: 3, failure: 0 });
  assert.ok(done.createdAt instanceof Date && done.completedAt instanceof Date);
  const replays = await eventually(
    () => runs.list({ bulkAction: id }),
    (page) => page.data.length === 3,
  );
  assert.ok(replays.data.every((run) => !failed.includes(run.id)));
  await eventually(
    () => runs.list({ tag: `${tag}-bulk`, status: ["FAILED"] }),
    (page) => page.data.length >= 3,
  );
  const byFilter = await runs.bulk.cancel({ filter: { tag: `${tag}-bulk`, status: ["FAILED"] } });
  const canceled = await runs.bulk.poll(byFilter.id, { pollIntervalMs: 200 });
  assert.equal(canceled.type, "CANCEL");
  assert.equal(canceled.counts.success, 0); // finished runs cannot be canceled: failures
  assert.ok(canceled.counts.failure >= 3);
  const aborted = await runs.bulk.abort(id);
  assert.equal(aborted.id, id);
  assert.equal((await runs.bulk.retrieve(id)).status, "COMPLETED");
  const listed = [];
  for await (const action of runs.bulk.list({ limit: 10 })) {
    listed.push(action.id);
    if (listed.length >= 2) break;
  }
  assert.deepEqual(listed, [byFilter.id, id]);
  await assert.rejects(
    runs.bulk.replay({ runIds: failed, filter: { tag } }),
    (error) => error.status === 422 || error.status === 400,
  );
});

check("deployments.retrieveCurrent and deployments.list: the worker's version", async () => {
  const current = await deployments.retrieveCurrent();
  assert.equal(current.version, "20261128.1");
  assert.equal(current.status, "DEPLOYED");
  assert.ok(current.createdAt instanceof Date);
  const listed = [];
  for await (const deployment of deployments.list({ limit: 10 })) listed.push(deployment.version);
  assert.deepEqual(listed, ["20261128.1"]);
});

// --- runner --------------------------------------------------------------------------
let failures = 0;
for (const { name, fn } of checks) {
  const started = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    failures += 1;
    console.log(`FAIL ${name} (${Date.now() - started} ms)`);
    console.log(String(error?.stack ?? error).replace(/^/gm, "     "));
  }
}
console.log(failures ? `${failures} of ${checks.length} checks failed` : `all ${checks.length} checks passed`);
process.exit(failures ? 1 : 0);
