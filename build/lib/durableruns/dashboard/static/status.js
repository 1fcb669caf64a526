// Trigger.dev's 13 run statuses, in lifecycle order, with the dashboard's label and
// colour for each (the colours live in dashboard.css under [data-status]).

export const STATUSES = [
  { name: "PENDING_VERSION", label: "Pending version" },
  { name: "DELAYED", label: "Delayed" },
  { name: "QUEUED", label: "Queued" },
  { name: "DEQUEUED", label: "Dequeued" },
  { name: "EXECUTING", label: "Executing" },
  { name: "WAITING", label: "Waiting" },
  { name: "COMPLETED", label: "Completed" },
  { name: "CANCELED", label: "Canceled" },
  { name: "FAILED", label: "Failed" },
  { name: "CRASHED", label: "Crashed" },
  { name: "SYSTEM_FAILURE", label: "System failure" },
  { name: "EXPIRED", label: "Expired" },
  { name: "TIMED_OUT", label: "Timed out" },
];

const LABELS = new Map(STATUSES.map((s) => [s.name, s.label]));

export const FINAL_STATUSES = new Set([
  "COMPLETED", "CANCELED", "FAILED", "CRASHED", "SYSTEM_FAILURE", "EXPIRED", "TIMED_OUT",
]);

export function statusLabel(name) {
  return LABELS.get(name) || String(name);
}
