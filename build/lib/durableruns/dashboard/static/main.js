// Entry point: starts the page the server rendered (runs list or one run).

import { startRunPage } from "./run.js";
import { startRunsPage } from "./runs.js";

const page = document.querySelector("[data-page]");
if (page && page.dataset.page === "runs") startRunsPage();
if (page && page.dataset.page === "run") startRunPage();
