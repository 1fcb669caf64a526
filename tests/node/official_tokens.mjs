// Wait tokens with the unmodified official client, @trigger.dev/sdk 4.8.3: wait.createToken,
// retrieveToken, listTokens and completeToken against the durableruns facade, and the
// `wait-for-approval` example completed through them. Prints one line per check and exits
// non-zero if any fails. TRIGGER_API_URL (the facade) and TRIGGER_SECRET_KEY configure it.
//
//   TRIGGER_API_URL=http://127.0.0.1:3030 TRIGGER_SECRET_KEY=tr_dev_… node official_tokens.mjs

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { runs, tasks, wait, WaitpointTimeoutError } from "@trigger.dev/sdk";
import { check, configureFromEnv, runChecks, sleep } from "./harness.mjs";

const { baseURL, accessToken } = configureFromEnv();


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

async function ids(iterable) {
  const found = [];
  for await (const token of iterable) found.push(token.id);
  return found;
}

const tag = `official-${randomUUID().slice(0, 8)}`;

check("wait.createToken returns {id, url, isCached, publicAccessToken}; a key returns it again", async () => {
  const key = `${tag}-key`;
  const token = await wait.createToken({ timeout: "10m", tags: [tag], idempotencyKey: key });
  assert.match(token.id, /^waitpoint_/);
  assert.equal(token.isCached, false);
  assert.match(token.url, new RegExp(`/api/v1/waitpoints/tokens/${token.id}/callback/`));
  assert.equal(typeof token.publicAccessToken, "string");
  assert.ok(token.publicAccessToken.length > 0);
  const again = await wait.createToken({ timeout: "10m", tags: [tag], idempotencyKey: key });
  assert.equal(again.id, token.id);
  assert.equal(again.isCached, true);
});

check("wait.retrieveToken: WAITING with tags, timeoutAt and createdAt as Dates", async () => {
  const token = await wait.createToken({ timeout: "1h", tags: [tag, "retrieve"] });
  const found = await wait.retrieveToken(token);
  assert.equal(found.id, token.id);
  assert.equal(found.status, "WAITING");
  assert.deepEqual(found.tags, [tag, "retrieve"]);
  assert.ok(found.timeoutAt instanceof Date && found.createdAt instanceof Date);
  assert.ok(found.timeoutAt - found.createdAt > 59 * 60 * 1000);
  assert.equal(found.output, undefined);
  assert.equal(found.url, token.url);
});

check("wait.completeToken completes once; retrieveToken then shows the output", async () => {
  const token = await wait.createToken({ tags: [tag] });
  assert.deepEqual(await wait.completeToken(token, { hello: "world" }), { success: true });
  assert.deepEqual(await wait.completeToken(token.id, { hello: "again" }), { success: true });
  const found = await wait.retrieveToken(token.id);
  assert.equal(found.status, "COMPLETED");
  assert.deepEqual(found.output, { hello: "world" });
  assert.ok(found.completedAt instanceof Date);
  assert.equal(found.error, undefined);
});

check("the token's url completes it with a plain POST, no key", async () => {
  const token = await wait.createToken({ tags: [tag] });
  // The facade's configured public URL is not where this test serves it: same path, our origin.
  const url = new URL(new URL(token.url).pathname, baseURL).toString();
  const forged = url.replace(/callback\/.*$/, "callback/forged");
  assert.equal((await fetch(forged, { method: "POST", body: "{}" })).status, 404);
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ paid: true }),
  });
  assert.equal(response.status, 200);
  assert.deepEqual((await wait.retrieveToken(token)).output, { paid: true });
});

check("a timed-out token: TIMED_OUT with a WaitpointTimeoutError; completing it is refused", async () => {
  const token = await wait.createToken({ timeout: "1s", tags: [tag] });
  const found = await eventually(() => wait.retrieveToken(token), (t) => t.status !== "WAITING");
  assert.equal(found.status, "TIMED_OUT");
  assert.ok(found.error instanceof WaitpointTimeoutError, `${found.error}`);
  assert.match(found.error.message, /timed out/);
  await assert.rejects(wait.completeToken(token, { late: true }), (error) => {
    assert.equal(error.status, 400);
    return true;
  });
});

check("wait.listTokens filters by tag and status and pages newest first", async () => {
  const pageTag = `${tag}-page`;
  const made = [];
  for (let i = 0; i < 3; i += 1) made.push((await wait.createToken({ tags: [pageTag] })).id);
  await wait.completeToken(made[0], { first: true });
  const newestFirst = [...made].reverse();
  await eventually(() => ids(wait.listTokens({ tags: [pageTag], limit: 1 })), (found) =>
    JSON.stringify(found) === JSON.stringify(newestFirst));
  await eventually(
    () => ids(wait.listTokens({ tags: pageTag, status: "COMPLETED", period: "1h" })),
    (found) => JSON.stringify(found) === JSON.stringify([made[0]]),
  );
  const waiting = await ids(wait.listTokens({ tags: [pageTag], status: ["WAITING"] }));
  assert.deepEqual(waiting, newestFirst.slice(0, 2));
  const page = await wait.listTokens({ tags: [pageTag], limit: 2 });
  assert.equal(page.data.length, 2);
  assert.ok(page.hasNextPage());
  const next = await page.getNextPage();
  assert.deepEqual(next.data.map((t) => t.id), [made[0]]);
  const keyed = await ids(wait.listTokens({ idempotencyKey: `${tag}-key` }));
  assert.equal(keyed.length, 1);
});

check("wait-for-approval: runs WAITING with metadata.tokenId; completeToken approves it", async () => {
  const handle = await tasks.trigger("wait-for-approval", {});
  const waiting = await eventually(
    () => runs.retrieve(handle.id),
    (run) => run.status === "WAITING" && run.metadata?.tokenId,
  );
  const token = await wait.retrieveToken(waiting.metadata.tokenId);
  assert.deepEqual(token.tags, ["approval"]);
  await wait.completeToken(waiting.metadata.tokenId, { approved: true });
  const run = await eventually(() => runs.retrieve(handle.id), (r) => r.isCompleted);
  assert.equal(run.status, "COMPLETED");
  assert.deepEqual(run.output, { approved: true });
  assert.equal(run.attemptCount, 1);
});

await runChecks();
