// Drives the durableruns facade with the unmodified official client, @trigger.dev/sdk
// 4.8.3, against the example tasks (hello-world, sleepy). Prints one line per check and
// exits non-zero if any check fails. Configuration comes from the environment:
// TRIGGER_API_URL (the facade) and TRIGGER_SECRET_KEY.
//
//   TRIGGER_API_URL=http://127.0.0.1:3030 TRIGGER_SECRET_KEY=tr_dev_… node official_client.mjs

import assert from "node:assert/strict";
import { batch, NotFoundError, runs, tasks } from "@trigger.dev/sdk";
import { check, configureFromEnv, runChecks, sleep } from "./harness.mjs";

configureFromEnv();

const STATUSES = new Set([
  "PENDING_VERSION", "QUEUED", "DEQUEUED", "EXECUTING", "WAITING", "COMPLETED", "CANCELED",
  "FAILED", "CRASHED", "SYSTEM_FAILURE", "DELAYED", "EXPIRED", "TIMED_OUT",
]);


/** Retrieve the run until `done(run)` holds; fail with the last run after `timeoutMs`. */
async function waitFor(id, done, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await runs.retrieve(id);
    assert.ok(STATUSES.has(run.status), `unknown status ${run.status}`);
    if (done(run)) return run;
    if (Date.now() > deadline) {
      throw new Error(`run ${id} still ${run.status} after ${timeoutMs} ms`);
    }
    await sleep(100);
  }
}

const completed = (id, timeoutMs) => waitFor(id, (run) => run.isCompleted, timeoutMs);

async function triggerHello(name, options) {
  const handle = await tasks.trigger("hello-world", { name }, options);
  assert.match(handle.id, /^run_/);
  assert.equal(typeof handle.publicAccessToken, "string");
  assert.ok(handle.publicAccessToken.length > 0, "empty publicAccessToken");
  return handle;
}

function assertGreeted(run, name) {
  assert.equal(run.status, "COMPLETED", `status of ${run.id}`);
  assert.equal(run.isSuccess, true);
  assert.deepEqual(run.output, { message: `Hello, ${name}!` });
}

// --- the checks ----------------------------------------------------------------------

check("tasks.trigger returns {id, publicAccessToken}; runs.retrieve polls to COMPLETED", async () => {
  const handle = await triggerHello("Node");
  const run = await completed(handle.id);
  assertGreeted(run, "Node");
  assert.deepEqual(run.payload, { name: "Node" });
  assert.equal(run.taskIdentifier, "hello-world");
  assert.ok(run.createdAt instanceof Date && !Number.isNaN(run.createdAt.getTime()));
  assert.ok(run.finishedAt instanceof Date && run.finishedAt >= run.createdAt);
  assert.equal(typeof run.relatedRuns, "object");
});

check("runs.poll waits for the output", async () => {
  const handle = await triggerHello("Poll");
  const run = await runs.poll(handle, { pollIntervalMs: 100 });
  assertGreeted(run, "Poll");
});

check("tasks.batchTrigger of 3 + batch.retrieve lists 3 runs, each completing", async () => {
  const names = ["B0", "B1", "B2"];
  const handle = await tasks.batchTrigger(
    "hello-world",
    names.map((name) => ({ payload: { name } })),
  );
  assert.match(handle.batchId, /^batch_/);
  assert.equal(handle.runCount, 3);
  assert.equal(typeof handle.publicAccessToken, "string");
  const retrieved = await batch.retrieve(handle.batchId);
  assert.equal(retrieved.id, handle.batchId);
  assert.equal(retrieved.runCount, 3);
  assert.equal(retrieved.runs.length, 3);
  assert.equal(new Set(retrieved.runs).size, 3);
  const done = await Promise.all(retrieved.runs.map((id) => completed(id)));
  done.forEach((run, i) => {
    assertGreeted(run, names[i]);
    assert.equal(run.batchId, handle.batchId);
    assert.equal(run.triggerFunction, "batchTrigger");
  });
});

check("tasks.batchTrigger with per-item idempotency keys: every listed run exists", async () => {
  const unique = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const items = ["K0", "K1"].map((name) => ({
    payload: { name },
    options: { idempotencyKey: `${unique}-${name}` },
  }));
  const first = await batch.retrieve((await tasks.batchTrigger("hello-world", items)).batchId);
  assert.equal(first.runs.length, 2);
  const done = await Promise.all(first.runs.map((id) => completed(id)));
  done.forEach((run, i) => {
    assertGreeted(run, `K${i}`);
    assert.equal(run.idempotencyKey, `${unique}-K${i}`);
  });
  // The same keys in another batch reuse the runs.
  const again = await batch.retrieve((await tasks.batchTrigger("hello-world", items)).batchId);
  assert.deepEqual(again.runs, first.runs);
});

check("runs.list iterates several pages (limit 2) without duplicates", async () => {
  const handles = await Promise.all([0, 1, 2, 3, 4].map((i) => triggerHello(`L${i}`)));
  await Promise.all(handles.map((h) => completed(h.id)));
  const ours = new Set(handles.map((h) => h.id));
  const params = { taskIdentifier: "hello-world", status: ["COMPLETED"], limit: 2 };

  // The list is served from Temporal visibility, which may lag a moment behind.
  const deadline = Date.now() + 15_000;
  for (;;) {
    const seen = [];
    const ids = new Set();
    for await (const run of runs.list(params)) {
      // A cursor that does not advance shows up as a repeat (and would never end).
      assert.ok(!ids.has(run.id), `${run.id} listed twice, after ${seen.length} runs`);
      ids.add(run.id);
      seen.push(run);
    }
    for (const run of seen) {
      assert.equal(run.taskIdentifier, "hello-world");
      assert.equal(run.status, "COMPLETED");
      assert.equal(typeof run.env?.id, "string");
      assert.ok(run.createdAt instanceof Date);
    }
    for (let i = 1; i < seen.length; i++) {
      assert.ok(seen[i - 1].createdAt >= seen[i].createdAt, "not newest first");
    }
    const found = [...ours].filter((id) => ids.has(id)).length;
    if (seen.length >= 5 && found === ours.size) break;
    if (Date.now() > deadline) {
      throw new Error(`listed ${seen.length} runs, ${found} of the 5 just completed`);
    }
    await sleep(250);
  }

  const first = await runs.list(params);
  assert.equal(first.data.length, 2);
  assert.ok(first.hasNextPage(), "first page says there is no next page");
  const second = await first.getNextPage();
  assert.equal(second.data.length, 2);
  assert.ok(!first.data.some((a) => second.data.some((b) => a.id === b.id)));
});

check("runs.cancel a sleepy 30 s run -> CANCELED, isCancelled", async () => {
  const handle = await tasks.trigger("sleepy", { seconds: 30 });
  await waitFor(handle.id, (run) => run.status === "EXECUTING", 15_000);
  const canceled = await runs.cancel(handle.id);
  assert.equal(canceled.id, handle.id);
  const run = await waitFor(handle.id, (r) => r.status === "CANCELED", 10_000);
  assert.equal(run.isCancelled, true);
  assert.equal(run.isCompleted, true);
  assert.ok(run.finishedAt instanceof Date);
  const again = await runs.cancel(handle.id);
  assert.equal(again.id, handle.id, "cancelling a finished run is a no-op");
});

check("runs.replay without overrides -> a new run with the same output", async () => {
  const source = await triggerHello("Again");
  await completed(source.id);
  const replayed = await runs.replay(source.id);
  assert.match(replayed.id, /^run_/);
  assert.notEqual(replayed.id, source.id);
  assertGreeted(await completed(replayed.id), "Again");
});

check("runs.replay with {payload: {name: 'Replayed'}} -> the new payload's output", async () => {
  const source = await triggerHello("Original");
  await completed(source.id);
  const replayed = await runs.replay(source.id, { payload: { name: "Replayed" } });
  assert.notEqual(replayed.id, source.id);
  const run = await completed(replayed.id);
  assertGreeted(run, "Replayed");
  assert.deepEqual(run.payload, { name: "Replayed" });
});

check("trigger {delay: '1h'} then runs.reschedule {delay: '1s'} -> moved, completes", async () => {
  const handle = await triggerHello("Later", { delay: "1h" });
  const delayed = await waitFor(handle.id, (run) => run.status === "DELAYED", 10_000);
  assert.ok(delayed.delayedUntil instanceof Date);
  assert.ok(delayed.delayedUntil.getTime() > Date.now() + 50 * 60_000, "delay is not ~1h");
  const rescheduled = await runs.reschedule(handle.id, { delay: "1s" });
  assert.equal(rescheduled.id, handle.id);
  assert.ok(rescheduled.delayedUntil instanceof Date);
  assert.ok(rescheduled.delayedUntil < delayed.delayedUntil, "delayedUntil did not move");
  assert.ok(rescheduled.delayedUntil.getTime() < Date.now() + 60_000);
  assertGreeted(await completed(handle.id, 15_000), "Later");
});

check("runs.subscribeToRun over a sleepy 1 s run ends with COMPLETED", async () => {
  const handle = await tasks.trigger("sleepy", { seconds: 1 });
  const statuses = [];
  let last;
  const timer = setTimeout(() => {
    console.error(`subscribeToRun still open after 20 s; statuses ${statuses}`);
    process.exit(1);
  }, 20_000);
  try {
    for await (const run of runs.subscribeToRun(handle.id)) {
      assert.equal(run.id, handle.id);
      assert.ok(STATUSES.has(run.status), `unknown status ${run.status}`);
      statuses.push(run.status);
      last = run;
    }
  } finally {
    clearTimeout(timer);
  }
  assert.ok(statuses.length >= 1, "no update");
  assert.equal(last.status, "COMPLETED", `statuses seen: ${statuses}`);
  assert.equal(last.isCompleted, true);
  assert.deepEqual(last.output, { slept: 1 });
  assert.ok(last.finishedAt instanceof Date);
});

check("runs.retrieve of an unknown run throws NotFoundError, fast", async () => {
  const started = Date.now();
  // A retry would wait 3 s: finishing sooner shows `x-should-retry: false` was obeyed.
  const fastRetry = { retry: { maxAttempts: 2, minTimeoutInMs: 3000, maxTimeoutInMs: 3000 } };
  await assert.rejects(runs.retrieve("run_doesnotexist0000000000", fastRetry), (error) => {
    assert.ok(error instanceof NotFoundError, `${error?.constructor?.name}: ${error}`);
    assert.equal(error.status, 404);
    return true;
  });
  assert.ok(Date.now() - started < 2500, `took ${Date.now() - started} ms (retried?)`);
});

await runChecks();
