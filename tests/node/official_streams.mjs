// Streams from task code through the unmodified official client, @trigger.dev/sdk 4.8.3:
// streams.read (live, late from the start, from a startIndex), runs.subscribeToRun(id)
// .withStreams() (the chunks of the run's streams, next to the run), and a public token
// scoped to the run reading its stream. The task is the example `streams-tokens`
// (200 chunks "token-0" … "token-199" on the stream "llm"). One line per check; exits
// non-zero if any fails. TRIGGER_API_URL (the facade) and TRIGGER_SECRET_KEY configure it.
//
//   TRIGGER_API_URL=http://127.0.0.1:3030 TRIGGER_SECRET_KEY=tr_dev_… node official_streams.mjs

import assert from "node:assert/strict";
import { auth, runs, streams, tasks } from "@trigger.dev/sdk";
import { check, configureFromEnv, runChecks } from "./harness.mjs";

const { baseURL, accessToken } = configureFromEnv();

const TOKENS = Array.from({ length: 200 }, (_, i) => `token-${i}`);
const NO_RETRY = { retry: { maxAttempts: 1 } };

/** Every chunk of a stream `streams.read` returns, to its end; fail after `timeoutMs`. */
async function readAll(stream, timeoutMs = 25_000) {
  const chunks = [];
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`stream still open after ${timeoutMs} ms; ${chunks.length} chunks`)),
      timeoutMs,
    );
  });
  const reading = (async () => {
    for await (const chunk of stream) chunks.push(chunk);
  })();
  try {
    await Promise.race([reading, timeout]);
  } finally {
    clearTimeout(timer);
  }
  return chunks;
}

async function finished(runId, timeoutMs = 25_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const run = await runs.retrieve(runId);
    if (run.isCompleted) return run;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`run ${runId} did not finish within ${timeoutMs} ms`);
}

// --- the checks ----------------------------------------------------------------------

let finishedRun;

check("streams.read follows a live stream: 200 chunks, in order, then the end", async () => {
  const handle = await tasks.trigger("streams-tokens", {}, {}, NO_RETRY);
  const chunks = await readAll(await streams.read(handle.id, "llm"));
  assert.deepEqual(chunks, TOKENS);
  const run = await finished(handle.id);
  assert.equal(run.status, "COMPLETED");
  assert.equal(run.output, 200);
  finishedRun = handle.id;
});

check("streams.read after the run: every chunk from the start, and from a startIndex", async () => {
  assert.deepEqual(await readAll(await streams.read(finishedRun, "llm")), TOKENS);
  const tail = await readAll(await streams.read(finishedRun, "llm", { startIndex: 150 }));
  assert.deepEqual(tail, TOKENS.slice(150));
});

check("runs.subscribeToRun(id).withStreams() delivers the run and its 200 chunks", async () => {
  const handle = await tasks.trigger("streams-tokens", {}, {}, NO_RETRY);
  const chunks = [];
  let completed = false;
  let timer;
  const subscription = runs.subscribeToRun(handle.id);
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`withStreams: ${chunks.length} chunks, completed=${completed}`)),
      25_000,
    );
  });
  const reading = (async () => {
    for await (const part of subscription.withStreams()) {
      if (part.type === "run") completed ||= part.run.status === "COMPLETED";
      else if (part.type === "llm") chunks.push(part.chunk);
      if (completed && chunks.length >= TOKENS.length) break;
    }
  })();
  try {
    await Promise.race([reading, timeout]);
  } finally {
    clearTimeout(timer);
    subscription.unsubscribe();
  }
  assert.deepEqual(chunks, TOKENS);
});

check("a public token scoped to the run reads its stream", async () => {
  const token = await auth.createPublicToken({ scopes: { read: { runs: [finishedRun] } } });
  await auth.withAuth({ accessToken: token }, async () => {
    const chunks = await readAll(await streams.read(finishedRun, "llm", { startIndex: 195 }));
    assert.deepEqual(chunks, TOKENS.slice(195));
  });
});

await runChecks();
