// Entry point: starts the page the server rendered (runs, one run, tasks, schedules, tokens).

import { startInputSend } from "./input-send.js";
import { startRunPage } from "./run.js";
import { startRunsPage } from "./runs.js";
import { startSchedulesPage } from "./schedules.js";
import { startTasksPage } from "./tasks.js";
import { startTokenWaits } from "./token-waits.js";
import { startTokensPage } from "./tokens.js";

const page = document.querySelector("[data-page]");
if (page && page.dataset.page === "runs") startRunsPage();
if (page && page.dataset.page === "run") {
  startTokenWaits(); // listens for the run page's renders: start it first
  startInputSend();
  startRunPage();
}
if (page && page.dataset.page === "schedules") startSchedulesPage();
if (page && page.dataset.page === "tokens") startTokensPage();
if (page && page.dataset.page === "tasks") startTasksPage();
