// What every official-client script shares: configuration from the environment, a
// sleep, and the check runner (one line per check, a non-zero exit if any failed).
// Each script registers its checks with `check(name, fn)` and ends with `await runChecks()`.

import { configure } from "@trigger.dev/sdk";

/**
 * Configure the official client from TRIGGER_API_URL and TRIGGER_SECRET_KEY; exit 2 when
 * they (or any of the `extra` variables the script needs) are not set. Returns them all.
 */
export function configureFromEnv(extra = []) {
  const names = ["TRIGGER_API_URL", "TRIGGER_SECRET_KEY", ...extra];
  const missing = names.filter((name) => !process.env[name]);
  if (missing.length) {
    console.error(`${names.join(", ")} must be set (missing: ${missing.join(", ")})`);
    process.exit(2);
  }
  const baseURL = process.env.TRIGGER_API_URL;
  const accessToken = process.env.TRIGGER_SECRET_KEY;
  configure({ baseURL, accessToken });
  return { baseURL, accessToken, ...Object.fromEntries(extra.map((n) => [n, process.env[n]])) };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const checks = [];

/** Register a check; checks run in order, each timed, by `runChecks`. */
export const check = (name, fn) => checks.push({ name, fn });

/** Run the registered checks, print `ok`/`FAIL` per check, exit 1 if any failed. */
export async function runChecks() {
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
}
