// Big payloads through the unmodified official client, @trigger.dev/sdk 4.8.3: it
// offloads any payload of 128 KiB or more itself (PUT /api/v2/packets, an upload, then
// a trigger with payloadType "application/store"). Tasks: payload-echo and
// payload-sized-output (tests/helpers/tasks/payload_tasks.py). Exits non-zero if a check fails.
//
//   TRIGGER_API_URL=http://127.0.0.1:3030 TRIGGER_SECRET_KEY=tr_dev_… node official_payloads.mjs

import assert from "node:assert/strict";
import { ApiError, batch, runs, tasks } from "@trigger.dev/sdk";
import { check, configureFromEnv, runChecks, sleep } from "./harness.mjs";

configureFromEnv();

const MiB = 1024 * 1024;

async function completed(id, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await runs.retrieve(id);
    if (run.isCompleted) return run;
    if (Date.now() > deadline) throw new Error(`run ${id} still ${run.status}`);
    await sleep(200);
  }
}

check("a 2.9 MiB payload is offloaded by the client, runs and comes back", async () => {
  const payload = { blob: "a".repeat(Math.floor(2.9 * MiB)) };
  const handle = await tasks.trigger("payload-echo", payload);
  const run = await completed(handle.id);
  assert.equal(run.status, "COMPLETED");
  assert.deepEqual(run.payload, payload);
  assert.deepEqual(run.output, payload);
});

check("a 9.9 MiB output comes back through runs.retrieve", async () => {
  const bytes = Math.floor(9.9 * MiB);
  const run = await completed((await tasks.trigger("payload-sized-output", { bytes })).id);
  assert.equal(run.status, "COMPLETED");
  assert.equal(run.output.length, bytes);
});

check("batch items over 128 KiB are offloaded and run", async () => {
  const items = [0, 1].map((i) => ({ payload: { blob: String(i).repeat(200 * 1024) } }));
  const handle = await tasks.batchTrigger("payload-echo", items);
  const { runs: ids } = await batch.retrieve(handle.batchId);
  assert.equal(ids.length, 2);
  for (const [i, id] of ids.entries()) {
    const run = await completed(id);
    assert.deepEqual(run.output, items[i].payload);
  }
});

check("a 3.1 MiB payload is refused with 413 naming the limit", async () => {
  const payload = { blob: "x".repeat(Math.floor(3.1 * MiB)) };
  await assert.rejects(tasks.trigger("payload-echo", payload), (error) => {
    assert.ok(error instanceof ApiError, `not an ApiError: ${error}`);
    assert.equal(error.status, 413);
    assert.match(error.message, /payload: \d+ bytes exceeds the limit of 3145728 bytes \(3 MiB\)/);
    return true;
  });
});

await runChecks();
