// Input streams with the unmodified official client, @trigger.dev/sdk 4.8.3:
// streams.input({id}).send(runId, data) against the durableruns facade (POST
// /realtime/v1/streams/{runId}/input/{streamId}), driving the `chat-agent` example: a
// message resumes the suspended run, its reply is read with streams.read, the run's own
// public access token (the trigger's x-trigger-jwt) sends the next one, and sends that
// cannot be taken throw. Prints one line per check and exits non-zero if any fails.
//
//   TRIGGER_API_URL=http://127.0.0.1:3030 TRIGGER_SECRET_KEY=tr_dev_… node official_input_streams.mjs

import assert from "node:assert/strict";
import { auth, configure, runs, streams, tasks } from "@trigger.dev/sdk";

const baseURL = process.env.TRIGGER_API_URL;
const accessToken = process.env.TRIGGER_SECRET_KEY;
if (!baseURL || !accessToken) {
  console.error("TRIGGER_API_URL and TRIGGER_SECRET_KEY must be set");
  process.exit(2);
}
configure({ baseURL, accessToken });

const message = streams.input({ id: "message" });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually(get, done, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await get();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`still ${JSON.stringify(value)} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

async function readAll(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

async function refused(send) {
  try {
    await send();
  } catch (error) {
    return error;
  }
  throw new Error("the send was accepted");
}

const checks = [];
const check = (name, fn) => checks.push({ name, fn });
let finishedRun;

check("send resumes a run WAITING on an input stream; its reply streams out", async () => {
  const handle = await tasks.trigger("chat-agent", { word_delay_s: 0 });
  await eventually(() => runs.retrieve(handle.id), (run) => run.status === "WAITING");
  await message.send(handle.id, { text: "hello there" });
  const reply = await readAll(await streams.read(handle.id, "reply-0"));
  assert.equal(reply.join(""), "Turn 0: you said 'hello there', which has 2 words. ");
  await eventually(() => runs.retrieve(handle.id), (run) => run.status === "WAITING");
  await auth.withAuth({ accessToken: handle.publicAccessToken }, () =>
    message.send(handle.id, { text: "/bye" }),
  );
  const run = await eventually(() => runs.retrieve(handle.id), (r) => r.isCompleted);
  assert.equal(run.status, "COMPLETED");
  assert.equal(run.output.ended, "bye");
  assert.equal(run.output.turns.length, 1);
  finishedRun = handle.id;
});

check("a send to a finished run, an unknown run or a bad stream id throws", async () => {
  const finished = await refused(() => message.send(finishedRun, { text: "late" }));
  assert.equal(finished.status, 400);
  assert.match(String(finished.message), /finished/);
  const unknown = await refused(() => message.send("run_doesnotexist00000000000", { text: "?" }));
  assert.equal(unknown.status, 404);
  const bad = await refused(() => streams.input({ id: "not/ok.id" }).send(finishedRun, 1));
  assert.ok([404, 422].includes(bad.status), `status ${bad.status}`);
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
