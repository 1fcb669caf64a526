// Entry point: starts the page the server rendered (runs list, one run, schedules).

import { startRunPage } from "./run.js";
import { startRunsPage } from "./runs.js";
import { startSchedulesPage } from "./schedules.js";

const page = document.querySelector("[data-page]");
if (page && page.dataset.page === "runs") startRunsPage();
if (page && page.dataset.page === "run") startRunPage();
if (page && page.dataset.page === "schedules") startSchedulesPage();
