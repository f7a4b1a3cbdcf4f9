// Calls to pulsedb's HTTP API (Prometheus' JSON shape): one place that
// knows URLs, encodings and how errors come back.

/** Thrown for an API error: the server's message, and its type and status. */
export class ApiError extends Error {
  constructor(message, status, type) { super(message); this.status = status; this.type = type; }
}

const base = new URL('..', document.baseURI);

/** Bytes received so far (decoded body sizes), for the page's own note. */
export const traffic = { requests: 0 };

async function decode(response, path) {
  let body;
  try {
    body = await response.json();
  } catch (e) {
    throw new ApiError(`${path}: HTTP ${response.status} (not JSON)`, response.status, 'http');
  }
  if (body.status !== 'success') {
    throw new ApiError(body.error || `${path}: HTTP ${response.status}`, response.status, body.errorType || 'http');
  }
  return body;
}

/** GET `path` (e.g. `api/v1/labels`) with `params` (object; arrays repeat the key). */
export async function get(path, params = {}, signal) {
  const url = new URL(path, base);
  for (const [k, v] of Object.entries(params)) {
    for (const one of Array.isArray(v) ? v : [v]) if (one !== undefined && one !== null) url.searchParams.append(k, one);
  }
  traffic.requests++;
  const response = await fetch(url, { signal, headers: { Accept: 'application/json' } });
  return decode(response, path);
}

/** POST `params` form-encoded to `path`: queries too long for a URL fit. */
export async function post(path, params = {}, signal) {
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    for (const one of Array.isArray(v) ? v : [v]) if (one !== undefined && one !== null) form.append(k, one);
  }
  traffic.requests++;
  const response = await fetch(new URL(path, base), { method: 'POST', body: form, signal, headers: { Accept: 'application/json' } });
  return decode(response, path);
}

/** A range query: { resultType, result } with numbers parsed. */
export async function queryRange(query, start, end, step, signal) {
  const body = await post('api/v1/query_range', { query, start, end, step }, signal);
  return body.data;
}

/** An instant query at `time` (seconds); the whole response body is kept for the JSON view. */
export async function queryInstant(query, time, signal) {
  return post('api/v1/query', { query, time }, signal);
}

/** Values as Prometheus writes them: strings, with NaN and ±Inf spelled out. */
export function parseValue(s) {
  if (s === 'NaN') return NaN;
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return parseFloat(s);
}

/** `{a="b", c="d"}` from a label object, `__name__` first as the metric name. */
export function seriesName(metric, omit = new Set()) {
  const name = omit.has('__name__') ? '' : (metric.__name__ || '');
  const pairs = Object.keys(metric).filter(k => k !== '__name__' && !omit.has(k)).sort()
    .map(k => `${k}=${JSON.stringify(metric[k])}`);
  if (!pairs.length) return name || '{}';
  return `${name}{${pairs.join(', ')}}`;
}

/** Seconds as a short duration: 90 → 1m30s. */
export function formatDuration(seconds) {
  const units = [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]];
  let rest = Math.round(seconds), out = '';
  for (const [u, n] of units) if (rest >= n) { out += Math.floor(rest / n) + u; rest %= n; }
  return out || '0s';
}

/** `5m`, `1h30m`, `2d` → seconds; NaN when it is none of these. */
export function parseDuration(text) {
  const m = /^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text.trim());
  if (!m || !text.trim()) return NaN;
  const [w, d, h, mi, s] = m.slice(1).map(x => +(x || 0));
  return w * 604800 + d * 86400 + h * 3600 + mi * 60 + s;
}
