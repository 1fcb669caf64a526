// Realtime and public tokens through the unmodified official client, @trigger.dev/sdk
// 4.8.3: runs.subscribeToRunsWithTag, runs.subscribeToBatch, and tokens minted by
// auth.createPublicToken (scoped to a tag, a run, a batch; expired; the wrong scope)
// used on retrieve and on every realtime subscription. One line per check; exits
// non-zero if any fails. TRIGGER_API_URL (the facade) and TRIGGER_SECRET_KEY configure it.
//
//   TRIGGER_API_URL=http://127.0.0.1:3030 TRIGGER_SECRET_KEY=tr_dev_… node official_realtime.mjs

import assert from "node:assert/strict";
import { auth, batch, runs, tasks } from "@trigger.dev/sdk";
import { check, configureFromEnv, runChecks, sleep } from "./harness.mjs";

const { baseURL, accessToken } = configureFromEnv();

const unique = (prefix) => `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
const NO_RETRY = { retry: { maxAttempts: 1 } };

/** Iterate `subscription` until `done(latestById)` holds; fail after `timeoutMs`. */
async function follow(subscription, done, timeoutMs = 25_000) {
  const latest = new Map();
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => {
      const seen = [...latest.values()].map((r) => `${r.id}:${r.status}`);
      reject(new Error(`subscription still open after ${timeoutMs} ms; seen ${seen}`));
    }, timeoutMs);
  });
  const reading = (async () => {
    for await (const run of subscription) {
      latest.set(run.id, run);
      if (done(latest)) break;
    }
  })();
  try {
    await Promise.race([reading, timeout]);
  } finally {
    clearTimeout(timer);
    subscription.unsubscribe?.();
  }
  return latest;
}

const allCompleted = (ids) => (latest) =>
  ids.every((id) => latest.get(id)?.status === "COMPLETED");

/** The error a call throws (fails if it does not throw). */
async function errorOf(call) {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error, got none");
}

// The official client does not throw into the `for await` when a subscription is
// refused (a 4xx): it stops the stream, silently. So the statuses of realtime responses
// are read where they arrive, in `fetch` (which the client looks up at each request).
const realFetch = globalThis.fetch;
let onRealtimeRefusal = null;
globalThis.fetch = async (input, init) => {
  const response = await realFetch(input, init);
  const url = typeof input === "string" ? input : (input.url ?? String(input));
  if (url.includes("/realtime/") && response.status >= 400 && onRealtimeRefusal) {
    onRealtimeRefusal(response.status);
  }
  return response;
};

/** The HTTP status the subscription `subscribe()` opens is refused with. */
async function refusal(subscribe, timeoutMs = 10_000) {
  let timer;
  let subscription;
  try {
    return await new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error("the subscription was not refused")), timeoutMs);
      onRealtimeRefusal = resolve;
      subscription = subscribe();
      (async () => {
        for await (const run of subscription) {
          reject(new Error(`the subscription yielded ${run.id}`));
        }
      })().catch(() => {});
    });
  } finally {
    onRealtimeRefusal = null;
    clearTimeout(timer);
    subscription?.unsubscribe?.();
  }
}

// --- the checks ----------------------------------------------------------------------

const tag = unique("rt-tag");
let tagged = [];
let untagged;

check("runs.subscribeToRunsWithTag sees the tagged runs to COMPLETED, not the others", async () => {
  tagged = [];
  for (const name of ["T0", "T1"]) {
    tagged.push((await tasks.trigger("hello-world", { name }, { tags: [tag] })).id);
  }
  untagged = (await tasks.trigger("hello-world", { name: "U" }, { tags: [unique("other")] })).id;
  const latest = await follow(runs.subscribeToRunsWithTag(tag), allCompleted(tagged));
  assert.ok(!latest.has(untagged), "the untagged run was sent");
  for (const id of tagged) {
    const run = latest.get(id);
    assert.deepEqual(run.output, { message: `Hello, ${run.payload.name}!` });
    assert.deepEqual(run.tags, [tag]);
    assert.ok(run.finishedAt instanceof Date);
  }
});

let batchId;
let batchRuns = [];

check("runs.subscribeToBatch sees every run of the batch to COMPLETED", async () => {
  const handle = await tasks.batchTrigger("hello-world", [
    { payload: { name: "B0" } },
    { payload: { name: "B1" } },
    { payload: { name: "B2" } },
  ]);
  batchId = handle.batchId;
  batchRuns = (await batch.retrieve(batchId)).runs;
  assert.equal(batchRuns.length, 3);
  const latest = await follow(runs.subscribeToBatch(batchId), allCompleted(batchRuns));
  assert.deepEqual([...latest.keys()].sort(), [...batchRuns].sort());
});

check("a tag-scoped token reads that tag's runs and nothing else", async () => {
  const token = await auth.createPublicToken({ scopes: { read: { tags: [tag] } } });
  await auth.withAuth({ accessToken: token }, async () => {
    const run = await runs.retrieve(tagged[0]);
    assert.equal(run.id, tagged[0]);
    const latest = await follow(runs.subscribeToRunsWithTag(tag), allCompleted(tagged));
    assert.ok(!latest.has(untagged));
    const subscribed = await follow(runs.subscribeToRun(tagged[1]), (l) => l.size > 0);
    assert.equal(subscribed.get(tagged[1]).status, "COMPLETED");
    assert.equal((await errorOf(() => runs.retrieve(untagged, NO_RETRY))).status, 403);
    assert.equal(await refusal(() => runs.subscribeToRunsWithTag(unique("nope"))), 403);
    assert.equal(await refusal(() => runs.subscribeToRun(untagged)), 403);
    assert.equal(await refusal(() => runs.subscribeToBatch(batchId)), 403);
  });
});

check("a run-scoped token reads its run only", async () => {
  const token = await auth.createPublicToken({ scopes: { read: { runs: [tagged[0]] } } });
  await auth.withAuth({ accessToken: token }, async () => {
    assert.equal((await runs.retrieve(tagged[0])).id, tagged[0]);
    const latest = await follow(runs.subscribeToRun(tagged[0]), (l) => l.size > 0);
    assert.equal(latest.get(tagged[0]).status, "COMPLETED");
    assert.equal((await errorOf(() => runs.retrieve(tagged[1], NO_RETRY))).status, 403);
    assert.equal(await refusal(() => runs.subscribeToRunsWithTag(tag)), 403);
  });
});

check("a batch-scoped token reads the batch and its runs only", async () => {
  const token = await auth.createPublicToken({ scopes: { read: { batch: [batchId] } } });
  await auth.withAuth({ accessToken: token }, async () => {
    const latest = await follow(runs.subscribeToBatch(batchId), allCompleted(batchRuns));
    assert.equal(latest.size, 3);
    assert.equal((await runs.retrieve(batchRuns[0])).id, batchRuns[0]);
    assert.equal((await batch.retrieve(batchId)).id, batchId);
    assert.equal((await errorOf(() => runs.retrieve(tagged[0], NO_RETRY))).status, 403);
  });
});

check("a token never reaches the rest of the API (403), an expired one nothing (401)", async () => {
  const token = await auth.createPublicToken({ scopes: { read: { runs: true } } });
  await auth.withAuth({ accessToken: token }, async () => {
    assert.equal((await runs.retrieve(tagged[0])).id, tagged[0]); // read:runs: every run
    assert.equal((await errorOf(() => runs.cancel(tagged[0], NO_RETRY))).status, 403);
    const trigger = () => tasks.trigger("hello-world", { name: "no" }, {}, NO_RETRY);
    assert.equal((await errorOf(trigger)).status, 403);
  });
  const expiring = await auth.createPublicToken({
    scopes: { read: { runs: [tagged[0]] } },
    expirationTime: "1s",
  });
  await sleep(2100);
  await auth.withAuth({ accessToken: expiring }, async () => {
    assert.equal((await errorOf(() => runs.retrieve(tagged[0], NO_RETRY))).status, 401);
    assert.equal(await refusal(() => runs.subscribeToRun(tagged[0])), 401);
  });
});

await runChecks();
