// Drives the durableruns facade's schedules with the unmodified official client,
// @trigger.dev/sdk 4.8.3: schedules.create/retrieve/list/update/del/activate/deactivate/
// timezones, a run's `schedule` and runs.list({schedule}). Prints one line per check and
// exits non-zero if any check fails. From the environment: TRIGGER_API_URL,
// TRIGGER_SECRET_KEY, and SCHEDULED_RUN_ID / SCHEDULE_ID (a run a tick made, by the driver).

import assert from "node:assert/strict";
import { NotFoundError, runs, schedules } from "@trigger.dev/sdk";
import { check, configureFromEnv, runChecks, sleep } from "./harness.mjs";

const env = configureFromEnv(["SCHEDULED_RUN_ID", "SCHEDULE_ID"]);
const scheduledRunId = env.SCHEDULED_RUN_ID;
const tickedScheduleId = env.SCHEDULE_ID;


/** Call `get` until `ok(value)` holds (the schedule list reads visibility, which lags). */
async function eventually(get, ok, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await get();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await sleep(100);
  }
}

let created;

check("schedules.create returns the ScheduleObject; a deduplicationKey makes it idempotent", async () => {
  created = await schedules.create({
    task: "every-minute",
    cron: "0 9 * * 1",
    timezone: "Europe/Paris",
    externalId: "user-42",
    deduplicationKey: "official-weekly",
  });
  assert.match(created.id, /^sched_/);
  assert.equal(created.type, "IMPERATIVE");
  assert.equal(created.task, "every-minute");
  assert.equal(created.active, true);
  assert.equal(created.externalId, "user-42");
  assert.equal(created.deduplicationKey, "official-weekly");
  assert.deepEqual(created.generator, {
    type: "CRON",
    expression: "0 9 * * 1",
    description: "At 09:00, on Monday",
  });
  assert.equal(created.timezone, "Europe/Paris");
  assert.ok(created.nextRun instanceof Date && created.nextRun > new Date());
  assert.equal(created.environments[0].type, "DEVELOPMENT");
  const again = await schedules.create({
    task: "every-minute",
    cron: "0 10 * * 1",
    deduplicationKey: "official-weekly",
  });
  assert.equal(again.id, created.id);
  assert.equal(again.generator.expression, "0 10 * * 1");
});

check("schedules.retrieve", async () => {
  const got = await schedules.retrieve(created.id);
  assert.equal(got.id, created.id);
  assert.equal(got.generator.expression, "0 10 * * 1");
});

check("schedules.update replaces cron and time zone", async () => {
  const updated = await schedules.update(created.id, {
    task: "every-minute",
    cron: "30 6 * * *",
    timezone: "Asia/Tokyo",
    externalId: "user-43",
  });
  assert.equal(updated.generator.expression, "30 6 * * *");
  assert.equal(updated.timezone, "Asia/Tokyo");
  assert.equal(updated.externalId, "user-43");
  assert.equal(updated.nextRun.getUTCHours(), 21);
  assert.equal(updated.nextRun.getUTCMinutes(), 30);
});

check("schedules.deactivate and schedules.activate", async () => {
  const off = await schedules.deactivate(created.id);
  assert.equal(off.active, false);
  assert.equal(off.nextRun ?? null, null);
  const on = await schedules.activate(created.id);
  assert.equal(on.active, true);
  assert.ok(on.nextRun instanceof Date);
});

check("schedules.list pages (offset) and shows the declarative every-minute", async () => {
  const page = await eventually(
    () => schedules.list({ perPage: 100 }),
    (p) => p.data.some((s) => s.id === created.id) && p.data.some((s) => s.type === "DECLARATIVE"),
  );
  const declarative = page.data.find((s) => s.type === "DECLARATIVE");
  assert.equal(declarative.task, "every-minute");
  assert.equal(declarative.generator.description, "Every minute");
  assert.equal(page.pagination.currentPage, 1);
  const small = await schedules.list({ perPage: 1 });
  assert.equal(small.data.length, 1);
  assert.ok(small.pagination.totalPages >= 2);
  assert.equal(small.hasNextPage(), true);
  const next = await small.getNextPage();
  assert.equal(next.pagination.currentPage, 2);
  assert.notEqual(next.data[0].id, small.data[0].id);
  const seen = [];
  for await (const s of schedules.list({ perPage: 1 })) seen.push(s.id);
  assert.ok(seen.includes(created.id), "the async iterator walks every page");
});

check("schedules.timezones (no key needed), with and without UTC", async () => {
  const { timezones } = await schedules.timezones();
  assert.equal(timezones[0], "UTC");
  assert.ok(timezones.includes("America/New_York"));
  const without = await schedules.timezones({ excludeUtc: true });
  assert.ok(!without.timezones.includes("UTC"));
});

check("a bad cron or time zone is refused naming the field", async () => {
  await assert.rejects(
    schedules.create({ task: "every-minute", cron: "61 * * * *", deduplicationKey: "bad" }),
    (error) => error.status === 422 && /cron: minute field/.test(error.message),
  );
  await assert.rejects(
    schedules.create({ task: "every-minute", cron: "* * * * *", timezone: "Mars/Base", deduplicationKey: "bad" }),
    (error) => error.status === 422 && /timezone: unknown time zone/.test(error.message),
  );
});

check("a scheduled run carries its schedule; runs.list filters by it", async () => {
  const run = await runs.retrieve(scheduledRunId);
  assert.equal(run.schedule.id, tickedScheduleId);
  assert.equal(run.schedule.generator.type, "CRON");
  assert.equal(run.payload.scheduleId, tickedScheduleId);
  assert.equal(run.payload.type, "IMPERATIVE");
  const listed = [];
  for await (const r of runs.list({ schedule: tickedScheduleId })) listed.push(r.id);
  assert.deepEqual(listed, [scheduledRunId]);
});

check("schedules.del removes it; retrieve then throws NotFoundError", async () => {
  const deleted = await schedules.del(created.id);
  assert.equal(deleted.id, created.id);
  const fastRetry = { retry: { maxAttempts: 1 } };
  await assert.rejects(schedules.retrieve(created.id, fastRetry), (error) => {
    assert.ok(error instanceof NotFoundError, `${error?.constructor?.name}: ${error}`);
    return true;
  });
});

await runChecks();
