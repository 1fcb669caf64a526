// Calls the facade's own JSON API. The session cookie authenticates every call; writes
// also carry the header the facade's CSRF check asks for. Errors become ApiError with
// the server's own message ({"error": ...}).

const CSRF_HEADERS = { "X-Requested-With": "durableruns-dashboard" };

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function api(path, { method = "GET", body } = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (method !== "GET") {
    Object.assign(init.headers, CSRF_HEADERS, { "Content-Type": "application/json" });
    if (body !== undefined) init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, `The facade cannot be reached (${err.message}).`);
  }
  if (response.status === 401) {
    toLogin();
    throw new ApiError(401, "Your session has ended: log in again.");
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, errorMessage(response, data, text));
  return data;
}

function errorMessage(response, data, text) {
  const error = data && data.error;
  if (typeof error === "string") return error;
  if (error && typeof error.message === "string") return error.message;
  const head = `${response.status} ${response.statusText || ""}`.trim();
  return text && data === null ? `${head}: ${text.slice(0, 300)}` : head;
}

export function toLogin() {
  const here = location.pathname + location.search;
  location.assign(`/dashboard/login?next=${encodeURIComponent(here)}`);
}

export function runPath(id) {
  return `/dashboard/runs/${encodeURIComponent(id)}`;
}

export function runsPath(filters) {
  const query = new URLSearchParams(filters).toString();
  return query ? `/dashboard?${query}` : "/dashboard";
}
