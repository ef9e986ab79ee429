// The manager's REST API: one fetch wrapper, every failure turned into a sentence and a way forward.
import { set, state } from "./state.js";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const SESSION_KEY = "inferix.session";

export function savedSession(address) {
  try {
    const saved = JSON.parse(localStorage.getItem(SESSION_KEY) || "null");
    if (saved && saved.address.toLowerCase() === address.toLowerCase() && Date.parse(saved.expires_at) > Date.now())
      return saved;
  } catch {
    /* a corrupt entry is no session */
  }
  return null;
}

export function saveSession(session) {
  if (session) localStorage.setItem(SESSION_KEY, JSON.stringify(session));
  else localStorage.removeItem(SESSION_KEY);
  set({ session });
}

/** The words for an HTTP failure: what happened and what to do. */
export function explainStatus(status, detail, headers) {
  const why = detail ? `: ${detail}` : "";
  if (status === 401) return `Your sign-in is missing or expired${why}. Sign in again (nothing was lost).`;
  if (status === 403) return `Not allowed${why}.`;
  if (status === 404) return `Not found${why}.`;
  if (status === 413) return `Too large for this manager${why}. Use a smaller file or another manager.`;
  if (status === 415) return `Not a scene this manager takes${why}. Upload a .blend, .glb or .gltf file.`;
  if (status === 422) return `The manager could not use that${why}.`;
  if (status === 429) {
    const wait = headers && headers.get && headers.get("Retry-After");
    return `Too many requests to this manager${why}. ${wait ? `Try again in ${wait} s.` : "Wait a minute and try again."}`;
  }
  if (status === 502 || status === 503 || status === 507)
    return `The manager's storage or chain connection is unavailable${why}. Your data is safe; try again later, or choose another manager.`;
  return `The manager answered ${status}${why}.`;
}

function detailOf(body) {
  if (!body) return "";
  if (typeof body.detail === "string") {
    const errors = (body.errors || []).map((e) => `${(e.loc || []).slice(1).join(".")}: ${e.msg}`);
    return errors.length ? `${body.detail} (${errors.join("; ")})` : body.detail;
  }
  return JSON.stringify(body.detail || body);
}

export async function api(path, { method = "GET", body, auth = false, timeout = 0 } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth) {
    if (!state.session) throw new ApiError(401, "Sign in first: connect your wallet and sign the message.");
    headers.Authorization = `Bearer ${state.session.token}`;
  }
  let reply;
  try {
    reply = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                                signal: timeout ? AbortSignal.timeout(timeout) : undefined });
  } catch (exc) {
    if (exc.name === "TimeoutError")
      throw new ApiError(0, `The manager did not answer within ${timeout / 1000} s (busy?); nothing was lost.`);
    throw new ApiError(0, `Cannot reach the manager (${exc.message}). Check your connection and retry; nothing was lost.`);
  }
  const text = await reply.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text.slice(0, 200) };
  }
  if (!reply.ok) {
    if (reply.status === 401 && auth) saveSession(null);
    throw new ApiError(reply.status, explainStatus(reply.status, detailOf(data), reply.headers));
  }
  return data;
}

/** Upload a file as multipart form data, reporting progress (0..1); resolves with the JSON reply. */
export function upload(path, file, onProgress) {
  return new Promise((resolve, reject) => {
    if (!state.session) return reject(new ApiError(401, "Sign in first: connect your wallet and sign the message."));
    const form = new FormData();
    form.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("Authorization", `Bearer ${state.session.token}`);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress && onProgress(e.loaded / e.total);
    xhr.onerror = () => reject(new ApiError(0, "The upload was cut off. Check your connection and upload again."));
    xhr.onload = () => {
      let data = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        data = { detail: xhr.responseText.slice(0, 200) };
      }
      if (xhr.status >= 200 && xhr.status < 300) return resolve(data);
      if (xhr.status === 401) saveSession(null);
      const headers = { get: (name) => xhr.getResponseHeader(name) };
      reject(new ApiError(xhr.status, explainStatus(xhr.status, detailOf(data), headers)));
    };
    xhr.send(form);
  });
}
