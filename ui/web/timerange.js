// The page's time range: one picker in the header that every chart
// follows (query page, anomaly view, dashboard panels). The range is kept
// in the URL (`range`, `end`, `tz`), so a link shows the same window.
import { formatDuration, parseDuration } from './api.js';

const CHOICES = ['5m', '15m', '30m', '1h', '3h', '6h', '12h', '1d', '2d', '7d', '14d', '30d'];
const listeners = new Set();
const state = { range: 3600, end: null, tz: 'utc' };

/** The window to draw now: { start, end } in seconds, and the time zone. */
export function current() {
  const end = state.end ?? Date.now() / 1000;
  return { start: end - state.range, end, range: state.range, tz: state.tz, pinned: state.end !== null };
}

/** Calls `fn` whenever the range changes; returns the unsubscribe. */
export function onChange(fn) { listeners.add(fn); return () => listeners.delete(fn); }

function changed() {
  writeToUrl();
  render();
  for (const fn of [...listeners]) fn(current());
}

/** Zoom to [start, end] (seconds), as a drag on a chart asks. */
export function zoomTo(start, end) {
  if (!(end > start)) return;
  state.range = Math.max(1, Math.round(end - start));
  state.end = Math.round(end);
  changed();
}

/** Formats a time (seconds) in the chosen zone, as `2026-11-30 21:05:00`. */
export function formatTime(seconds, withDate = true) {
  const d = new Date(seconds * 1000);
  const utc = state.tz === 'utc';
  const p = n => String(n).padStart(2, '0');
  const date = utc ? `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}`
    : `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  const time = utc ? `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`
    : `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  return withDate ? `${date} ${time}` : time;
}

export function isUtc() { return state.tz === 'utc'; }

/** Reads `range`, `end` and `tz` from the hash's parameters. */
export function readFromUrl(params) {
  const range = parseDuration(params.get('range') || '');
  if (range > 0) state.range = range;
  // `end` is a time (RFC 3339) or seconds since the epoch, as the API's `time`.
  const text = params.get('end') || '';
  const seconds = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Date.parse(text) / 1000;
  state.end = Number.isFinite(seconds) ? seconds : null;
  state.tz = params.get('tz') === 'local' ? 'local' : 'utc';
  render();
}

function writeToUrl() {
  const [path, query] = location.hash.slice(1).split('?');
  const params = new URLSearchParams(query || '');
  params.set('range', formatDuration(state.range));
  if (state.end === null) params.delete('end'); else params.set('end', new Date(state.end * 1000).toISOString());
  params.set('tz', state.tz);
  history.replaceState(null, '', `#${path || '/query'}?${params}`);
}

/** Date input value (`YYYY-MM-DDTHH:MM:SS`) for seconds, in the chosen zone. */
function inputValue(seconds) {
  return formatTime(seconds).replace(' ', 'T');
}

function fromInput(value) {
  if (!value) return null;
  const ms = Date.parse(state.tz === 'utc' ? value + 'Z' : value);
  return Number.isFinite(ms) ? ms / 1000 : null;
}

function render() {
  const root = document.getElementById('timerange');
  if (!root) return;
  root.replaceChildren();
  const range = document.createElement('select');
  range.title = 'Range';
  range.id = 'range';
  const label = formatDuration(state.range);
  const choices = CHOICES.includes(label) ? CHOICES : [...CHOICES, label];
  for (const c of choices) {
    const o = new Option(`last ${c}`, c, false, c === label);
    range.add(o);
  }
  range.onchange = () => { state.range = parseDuration(range.value); changed(); };
  const end = document.createElement('input');
  end.type = 'datetime-local';
  end.step = 1;
  end.title = 'End time (empty: now)';
  end.id = 'range-end';
  if (state.end !== null) end.value = inputValue(state.end);
  end.onchange = () => { state.end = fromInput(end.value); changed(); };
  const now = button('now', 'End at the current time', () => { state.end = null; changed(); });
  const tz = document.createElement('select');
  tz.id = 'tz';
  tz.title = 'Time zone';
  tz.add(new Option('UTC', 'utc', false, state.tz === 'utc'));
  tz.add(new Option('local', 'local', false, state.tz === 'local'));
  tz.onchange = () => { state.tz = tz.value; changed(); };
  const back = button('◀', 'Earlier by half the range', () => shift(-0.5));
  const forward = button('▶', 'Later by half the range', () => shift(0.5));
  const refresh = button('↻', 'Run again', () => changed());
  root.append(back, range, forward, end, now, tz, refresh);
}

function shift(fraction) {
  const { end } = current();
  state.end = Math.min(Date.now() / 1000, end + fraction * state.range);
  changed();
}

function button(text, title, onclick) {
  const b = document.createElement('button');
  b.textContent = text;
  b.title = title;
  b.onclick = onclick;
  return b;
}
