// Entry point: starts the page the server rendered (runs, one run, tasks, schedules, tokens,
// errors, one error group, alerts, concurrency, bulk actions, one bulk action).

import { startAlertsPage } from "./alerts.js";
import { startBulkActionPage, startBulkActionsPage } from "./bulk.js";
import { startConcurrencyPage } from "./concurrency.js";
import { startErrorPage, startErrorsPage } from "./errors.js";
import { startHealth } from "./health.js";
import { startInputSend } from "./input-send.js";
import { startRunPage } from "./run.js";
import { startRunsPage } from "./runs.js";
import { startSchedulesPage } from "./schedules.js";
import { startSteps } from "./steps.js";
import { startTasksPage } from "./tasks.js";
import { startTokenWaits } from "./token-waits.js";
import { startTokensPage } from "./tokens.js";

const page = document.querySelector("[data-page]");
if (page && page.dataset.page === "runs") {
  startRunsPage();
  startHealth();
}
if (page && page.dataset.page === "run") {
  startTokenWaits(); // listens for the run page's renders: start it first
  startInputSend();
  startSteps();
  startRunPage();
}
if (page && page.dataset.page === "schedules") startSchedulesPage();
if (page && page.dataset.page === "tokens") startTokensPage();
if (page && page.dataset.page === "errors") startErrorsPage();
if (page && page.dataset.page === "error") startErrorPage();
if (page && page.dataset.page === "alerts") startAlertsPage();
if (page && page.dataset.page === "tasks") startTasksPage();
if (page && page.dataset.page === "concurrency") startConcurrencyPage();
if (page && page.dataset.page === "bulk-actions") startBulkActionsPage();
if (page && page.dataset.page === "bulk-action") startBulkActionPage();
