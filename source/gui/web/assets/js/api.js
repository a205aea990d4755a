// The REST API client: every call of the GUI goes through here. Only Kuma's public REST API is
// used, so the GUI works against kuma-cpp and Kuma alike (docs/gui.md).

/** The API's root: the GUI is served by the API server, so the API is at this origin's root. */
export const API_ROOT = '';

/** An API answer other than 2xx, with Kuma's error body (title, details, invalid parameters). */
export class ApiError extends Error {
  constructor(path, status, body) {
    const title = body && typeof body === 'object' ? body.title || body.detail : null;
    super(title || `HTTP ${status}`);
    this.path = path;
    this.status = status;
    this.body = body;
  }

  /** The details Kuma's error body carries (`details` or `detail`, plus each invalid parameter). */
  get details() {
    const b = this.body;
    if (!b || typeof b !== 'object') return typeof b === 'string' ? b : '';
    const parts = [];
    if (b.details) parts.push(b.details);
    else if (b.detail && b.detail !== b.title) parts.push(b.detail);
    for (const c of b.causes || b.invalid_parameters || []) {
      parts.push(`${c.field || ''}: ${c.message || c.reason || ''}`);
    }
    return parts.join('\n');
  }

  /** The endpoint is not there (this control plane does not implement it, or the thing is gone). */
  get missing() {
    return this.status === 404 || this.status === 405 || this.status === 501;
  }
}

async function request(path, { signal, text = false } = {}) {
  let res;
  try {
    res = await fetch(API_ROOT + path, {
      signal,
      headers: { Accept: text ? 'text/plain, application/json' : 'application/json' },
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(path, 0, { title: 'The control plane did not answer', details: String(e.message || e) });
  }
  const raw = await res.text();
  if (!res.ok) {
    let body = raw;
    try { body = JSON.parse(raw); } catch { /* plain text error */ }
    throw new ApiError(path, res.status, body);
  }
  if (text) return raw;
  try {
    return JSON.parse(raw);
  } catch {
    throw new ApiError(path, res.status, { title: 'The answer is not JSON', details: raw.slice(0, 300) });
  }
}

export const getJson = (path, opts) => request(path, opts);
export const getText = (path, opts) => request(path, { ...opts, text: true });

/** A path segment, escaped. */
export const seg = (s) => encodeURIComponent(s);

/** A query string from an object; empty values are left out. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    q.append(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * One page of a list endpoint: `{total, items, next}` as Kuma answers, with the offset of the
 * next page parsed from `next` (null on the last page).
 */
export async function getPage(path, { size = 50, offset = 0, params = {}, signal } = {}) {
  const page = await getJson(path + query({ ...params, size, offset: offset || undefined }), { signal });
  let nextOffset = null;
  if (page.next) {
    try {
      const o = new URL(page.next, location.href).searchParams.get('offset');
      nextOffset = o === null ? offset + size : Number(o);
    } catch {
      nextOffset = offset + size;
    }
  }
  return { total: page.total ?? (page.items || []).length, items: page.items || [], nextOffset };
}
