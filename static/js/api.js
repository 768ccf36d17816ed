// The HTTP client of the Nexus API: adds the bearer token, builds query
// strings, and turns problem+json answers (RFC 9457) into ApiError.
//
// The token arrives once in the page address (#token=…, as the server prints
// it on first start), is kept in sessionStorage for this tab, and is removed
// from the visible address so that it is not bookmarked or shared.

const TOKEN_KEY = 'nexus.token';
let token = null;

/** An error answer from the API, or a network failure (status 0). */
export class ApiError extends Error {
  constructor({ status = 0, title = '', detail = '', errors = [] } = {}) {
    super(detail || title || (status ? `HTTP ${status}` : 'network error'));
    this.name = 'ApiError';
    this.status = status;
    this.title = title;
    this.detail = detail;
    /** Field errors of an invalid record: [{field, message}]. */
    this.errors = errors;
  }
}

/**
 * Reads #token=… from the address (alone or among other hash parameters),
 * stores it for the tab and removes it from the address bar. Call once, first.
 */
export function initToken() {
  const raw = location.hash.replace(/^#/, '');
  if (raw) {
    const parts = raw.split('&');
    const kept = [];
    let found = null;
    for (const part of parts) {
      if (part.startsWith('token=')) found = decodeURIComponent(part.slice(6));
      else if (part) kept.push(part);
    }
    if (found !== null) {
      setToken(found);
      const rest = kept.join('&');
      history.replaceState(history.state, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
    }
  }
  if (token === null) {
    try {
      token = sessionStorage.getItem(TOKEN_KEY);
    } catch {
      token = null;
    }
  }
  return token;
}

/** The current token, or null. */
export function getToken() {
  return token;
}

/** Sets (or with an empty value, forgets) the token for this tab. */
export function setToken(value) {
  token = value ? String(value).trim() : null;
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage may be unavailable (privacy mode); the token then lives in memory.
  }
}

/**
 * Builds "a=1&b=x,y" from an object, skipping empty values; arrays are
 * joined with commas (the API's any-of lists). Commas and slashes stay
 * readable; everything else is percent-encoded.
 */
export function qs(params) {
  const out = [];
  for (const [key, value] of Object.entries(params || {})) {
    if (value === null || value === undefined) continue;
    const v = Array.isArray(value) ? value.join(',') : String(value);
    if (v === '') continue;
    out.push(`${encodeURIComponent(key)}=${encodeURIComponent(v).replace(/%2C/gi, ',').replace(/%2F/gi, '/')}`);
  }
  return out.join('&');
}

/** path + "?" + query, or path alone when the query is empty. */
export function withQuery(path, params) {
  const q = qs(params);
  if (!q) return path;
  return path + (path.includes('?') ? '&' : '?') + q;
}

/** Normalises a problem's field errors to [{field, message}]. */
function fieldErrors(errors) {
  if (!Array.isArray(errors)) return [];
  return errors.map((e) => ({
    field: String(e?.field ?? e?.pointer ?? e?.name ?? ''),
    message: String(e?.message ?? e?.detail ?? e?.title ?? e ?? ''),
  }));
}

/** Reads an error response into an ApiError. */
async function problemOf(res) {
  let body = null;
  const type = res.headers.get('Content-Type') || '';
  try {
    if (type.includes('json')) body = await res.json();
    else {
      const text = await res.text();
      body = { detail: text.trim().slice(0, 500) };
    }
  } catch {
    body = null;
  }
  return new ApiError({
    status: Number(body?.status) || res.status,
    title: String(body?.title || res.statusText || `HTTP ${res.status}`),
    detail: String(body?.detail || ''),
    errors: fieldErrors(body?.errors),
  });
}

/**
 * Sends a request to the API. Options: method, body (an object is sent as
 * JSON with contentType, default application/json), headers, signal,
 * ifMatch (sent as If-Match), raw (return the Response itself on success).
 * Resolves to {status, headers, data} (data: parsed JSON, text, or null for
 * 204); rejects with ApiError, or the AbortError of an aborted request.
 */
export async function request(path, opts = {}) {
  const { method = 'GET', body, signal, ifMatch, raw = false } = opts;
  const headers = new Headers(opts.headers || {});
  if (!headers.has('Accept')) {
    headers.set('Accept', 'application/geo+json, application/json;q=0.9, application/problem+json;q=0.8');
  }
  if (token) headers.set('Authorization', `Bearer ${token}`);
  if (ifMatch !== undefined && ifMatch !== null) headers.set('If-Match', String(ifMatch));
  let payload;
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    headers.set('Content-Type', opts.contentType || 'application/json');
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload, signal, credentials: 'same-origin' });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    throw new ApiError({ status: 0, title: 'Network error', detail: `The server could not be reached (${err?.message || err}).` });
  }
  if (!res.ok) throw await problemOf(res);
  if (raw) return res;
  let data = null;
  if (res.status !== 204) {
    const type = res.headers.get('Content-Type') || '';
    data = type.includes('json') ? await res.json() : await res.text();
  }
  return { status: res.status, headers: res.headers, data };
}

/** GET path and return the parsed JSON body. */
export async function getJSON(path, opts = {}) {
  const { data } = await request(path, opts);
  return data;
}

/** True when err is the rejection of an aborted request. */
export function isAbort(err) {
  return err?.name === 'AbortError';
}

/** A one-line human message for any error thrown by request(). */
export function describeError(err) {
  if (err instanceof ApiError) {
    const head = err.status ? `${err.status} ${err.title}` : err.title;
    return err.detail && err.detail !== err.title ? `${head}: ${err.detail}` : head;
  }
  return String(err?.message || err);
}
