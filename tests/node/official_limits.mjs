// Drives the durableruns facade's queues and concurrency limits with the unmodified
// official client, @trigger.dev/sdk 4.8.3: queues.list/retrieve/pause/resume/
// overrideConcurrencyLimit/resetConcurrencyLimit and concurrencyLimits.list/retrieve/
// override/reset/pause/resume (also for one concurrencyKey). Prints one line per check
// and exits non-zero if any check fails. From the environment: TRIGGER_API_URL and
// TRIGGER_SECRET_KEY. The worker serves tests/helpers/tasks/limit_tasks.py and the
// examples (whose `limited` task has a V1 queue with a limit of 2).

import assert from "node:assert/strict";
import { concurrencyLimits, configure, queues, tasks } from "@trigger.dev/sdk";

const baseURL = process.env.TRIGGER_API_URL;
const accessToken = process.env.TRIGGER_SECRET_KEY;
if (!baseURL || !accessToken) {
  console.error("TRIGGER_API_URL and TRIGGER_SECRET_KEY must be set");
  process.exit(2);
}
configure({ baseURL, accessToken });
const fastRetry = { retry: { maxAttempts: 1 } };

const checks = [];
const check = (name, fn) => checks.push({ name, fn });

check("queues.list pages every queue, V1 with its limit and V2 without", async () => {
  const page = await queues.list({ page: 1, perPage: 100 });
  const names = page.data.map((q) => q.name);
  assert.ok(names.includes("keyed"), names.join(","));
  const limited = page.data.find((q) => q.name === "limited");
  assert.equal(limited.type, "custom");
  assert.equal(limited.version, "V1");
  assert.equal(limited.concurrencyLimit, 2);
  assert.equal(limited.concurrency.base, 2);
  const keyed = page.data.find((q) => q.name === "keyed");
  assert.equal(keyed.type, "task");
  assert.equal(keyed.version, "V2");
  assert.equal(keyed.concurrencyLimit, null);
});

check("queues.retrieve by type and name, and by id", async () => {
  const byName = await queues.retrieve({ type: "task", name: "keyed" });
  assert.match(byName.id, /^queue_/);
  const byId = await queues.retrieve(byName.id);
  assert.equal(byId.name, "keyed");
  assert.equal(typeof byId.running, "number");
  assert.equal(byId.paused, false);
});

check("queues.pause then resume a V2 queue", async () => {
  const paused = await queues.pause({ type: "task", name: "unlimited" });
  assert.equal(paused.paused, true);
  const resumed = await queues.resume({ type: "task", name: "unlimited" });
  assert.equal(resumed.paused, false);
});

check("queues.overrideConcurrencyLimit and resetConcurrencyLimit on a V1 queue", async () => {
  const raised = await queues.overrideConcurrencyLimit({ type: "custom", name: "limited" }, 5);
  assert.equal(raised.concurrencyLimit, 5);
  assert.equal(raised.concurrency.override, 5);
  assert.ok(raised.concurrency.overriddenAt instanceof Date);
  const reset = await queues.resetConcurrencyLimit({ type: "custom", name: "limited" });
  assert.equal(reset.concurrencyLimit, 2);
  assert.equal(reset.concurrency.override, null);
});

check("concurrencyLimits.list shows named and inline limits with bounds", async () => {
  const page = await concurrencyLimits.list({ perPage: 100 });
  const byName = Object.fromEntries(page.data.map((l) => [l.name, l]));
  assert.equal(byName["shared-one"].total.base, 1);
  assert.equal(byName["shared-one"].perKey.base, null);
  assert.equal(byName["task/keyed"].perKey.current, 1);
  assert.equal(byName["task/keyed"].total.current, 2);
  assert.match(byName["task/keyed"].id, /^climit_/);
});

check("concurrencyLimits.override, retrieve and reset a limit", async () => {
  const raised = await concurrencyLimits.override("alt-three", { total: 7 });
  assert.equal(raised.total.current, 7);
  assert.equal(raised.total.base, 3);
  assert.ok(raised.total.overriddenAt instanceof Date);
  const read = await concurrencyLimits.retrieve("alt-three");
  assert.equal(read.total.override, 7);
  const reset = await concurrencyLimits.reset("alt-three");
  assert.equal(reset.total.current, 3);
  assert.equal(reset.total.override, null);
});

check("concurrencyLimits per-key override with a TTL, read back with expiresAt, reset", async () => {
  const set = await concurrencyLimits.override("tenant", {
    concurrencyKey: "session-1",
    perKey: 5,
    ttl: "2d",
  });
  assert.equal(set.concurrencyKey, "session-1");
  assert.equal(set.perKey.current, 5);
  assert.equal(set.perKey.base, 2);
  const view = await concurrencyLimits.retrieve("tenant", { concurrencyKey: "session-1" });
  assert.equal(view.perKey.override, 5);
  const hours = (view.perKey.expiresAt.getTime() - Date.now()) / 3_600_000;
  assert.ok(hours > 47 && hours <= 48, `expires in ${hours} h`);
  const cleared = await concurrencyLimits.reset("tenant", { concurrencyKey: "session-1" });
  assert.equal(cleared.perKey.override, null);
  assert.equal(cleared.perKey.current, 2);
});

check("concurrencyLimits.pause and resume an inline limit", async () => {
  const paused = await concurrencyLimits.pause("task/one-slot");
  assert.equal(paused.paused, true);
  const resumed = await concurrencyLimits.resume("task/one-slot");
  assert.equal(resumed.paused, false);
});

check("a run triggered with trigger-time concurrency completes; an unknown limit is refused", async () => {
  const handle = await tasks.trigger("alt-user", { seconds: 0 }, { concurrency: ["shared-one"] });
  assert.match(handle.id, /^run_/);
  await assert.rejects(
    tasks.trigger("alt-user", {}, { concurrency: ["no-such-limit"] }, fastRetry),
    (error) => {
      assert.equal(error.status, 422, String(error));
      return true;
    }
  );
});

check("an unknown limit is a 404", async () => {
  await assert.rejects(concurrencyLimits.retrieve("no-such-limit", fastRetry), (error) => {
    assert.equal(error.status, 404, String(error));
    return true;
  });
});

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
