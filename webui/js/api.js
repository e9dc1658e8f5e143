// The REST API as the UI uses it: same-origin cookies for the session,
// the session's CSRF token on every state change.

let csrf = "";

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.error ? body.error : `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

// Called when the session is gone (401): the app shows the sign-in page.
let onSignedOut = () => {};
export function whenSignedOut(fn) { onSignedOut = fn; }

async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = csrf;
  const res = await fetch(path, {
    method, headers, credentials: "same-origin", cache: "no-store",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (res.status === 401 && path !== "/api/v1/login") onSignedOut();
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const get = (path) => call("GET", path);
export const post = (path, body = {}) => call("POST", path, body);

export async function session() {
  const s = await get("/api/v1/session");
  csrf = s.csrf || "";
  return s;
}

export async function login(user, password) {
  const s = await post("/api/v1/login", { user, password });
  csrf = s.csrf;
  return s;
}

export async function logout() {
  try { await post("/api/v1/logout"); } finally { csrf = ""; }
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== "" && v !== undefined && v !== null) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}
