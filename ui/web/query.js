// The query page: PromQL editors with autocomplete and history, and the
// result as a graph (several queries on one chart), a table or JSON.
// Its state lives in the URL: `#/query?q=…&q=…&tab=graph&range=1h`.
import { queryInstant, seriesName, parseValue } from './api.js';
import { attach } from './complete.js';
import { current, onChange, formatTime } from './timerange.js';
import { fetchSeries, drawChart, grid, describe, formatValue } from './chart.js';

const HISTORY_KEY = 'pulsedb.history';
const HISTORY_MAX = 50;

export function pastQueries() {
  try { return JSON.parse(localStorage.getItem(HISTORY_KEY) || '[]'); } catch { return []; }
}

function remember(queries) {
  const kept = pastQueries().filter(q => !queries.includes(q));
  localStorage.setItem(HISTORY_KEY, JSON.stringify([...queries, ...kept].slice(0, HISTORY_MAX)));
}

export function render(root, params) {
  const state = { queries: params.getAll('q'), tab: params.get('tab') || 'graph' };
  if (!state.queries.length) state.queries = [''];
  let controller = null;

  root.replaceChildren();
  const editors = document.createElement('div');
  const actions = el('div', 'form');
  const run = button('Execute', 'Run the queries (Enter; Shift+Enter for a new line)', () => execute());
  run.id = 'execute';
  const add = button('+ query', 'Another query on the same chart', () => { addEditor(''); });
  const historyButton = button('History', 'Queries run before (this browser)', () => toggleHistory());
  const historyBox = el('div');
  historyBox.style.position = 'relative';
  actions.append(run, add, historyButton, historyBox);
  const tabs = el('div', 'tabs');
  for (const t of ['graph', 'table', 'json']) {
    const b = button(t[0].toUpperCase() + t.slice(1), '', () => { state.tab = t; syncUrl(); markTabs(); execute(); });
    b.dataset.tab = t;
    tabs.append(b);
  }
  const errors = el('div', 'error');
  errors.id = 'errors';
  const note = el('p', 'note');
  note.id = 'result-note';
  const result = el('div');
  result.id = 'result';
  root.append(editors, actions, tabs, errors, note, result);

  function markTabs() { for (const b of tabs.children) b.classList.toggle('active', b.dataset.tab === state.tab); }

  function addEditor(text) {
    const row = el('div', 'query-row');
    const wrap = el('div', 'editor');
    const area = document.createElement('textarea');
    area.className = 'expr';
    area.rows = 1;
    area.spellcheck = false;
    area.placeholder = 'PromQL, e.g. rate(http_requests_total[5m])  (Ctrl+Space: suggestions)';
    area.value = text;
    wrap.append(area);
    row.append(wrap);
    attach(area);
    area.addEventListener('keydown', e => {
      if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); execute(); }
    });
    const remove = button('✕', 'Remove this query', () => { if (editors.children.length > 1) { row.remove(); execute(); } });
    row.append(remove);
    editors.append(row);
    area.focus();
    return area;
  }

  function queries() { return [...editors.querySelectorAll('textarea')].map(a => a.value); }

  function syncUrl() {
    const [, query] = location.hash.slice(1).split('?');
    const p = new URLSearchParams(query || '');
    p.delete('q');
    for (const q of queries()) p.append('q', q);
    p.set('tab', state.tab);
    window.history.replaceState(null, '', `#/query?${p}`);
  }

  function toggleHistory() {
    if (historyBox.firstChild) { historyBox.replaceChildren(); return; }
    const list = el('ul', 'history');
    for (const q of pastQueries()) {
      const li = el('li');
      li.textContent = q;
      li.onclick = () => {
        const first = editors.querySelector('textarea');
        first.value = q;
        historyBox.replaceChildren();
        execute();
      };
      list.append(li);
    }
    if (!list.children.length) list.append(Object.assign(el('li'), { textContent: 'No queries yet.' }));
    historyBox.append(list);
  }

  async function execute() {
    const qs = queries().map(q => q.trim()).filter(Boolean);
    syncUrl();
    if (controller) controller.abort();
    controller = new AbortController();
    const signal = controller.signal;
    errors.textContent = '';
    note.textContent = '';
    if (!qs.length) { result.replaceChildren(); return; }
    remember(qs);
    const started = performance.now();
    try {
      if (state.tab === 'graph') await showGraph(qs, signal);
      else await showInstant(qs, signal);
    } catch (e) {
      if (e.name === 'AbortError') return;
      errors.textContent = e.message;
      result.replaceChildren();
    }
    if (!signal.aborted) note.textContent += ` — ${Math.round(performance.now() - started)} ms`;
  }

  async function showGraph(qs, signal) {
    const range = current();
    const width = Math.max(300, result.clientWidth || root.clientWidth || 1000);
    const fetched = await fetchSeries(qs, { start: range.start, end: range.end, width, signal });
    if (signal.aborted) return;
    errors.textContent = fetched.errors.join('\n');
    note.textContent = describe(fetched);
    const lines = fetched.series.map(s => ({ metric: withQuery(s, qs.length), values: s.values, min: s.min, max: s.max }));
    if (!lines.length) {
      result.replaceChildren(el('p', 'note'));
      result.firstChild.textContent = 'No data in this range.';
      result.dataset.drawn = '0';
      return;
    }
    drawChart(result, { xs: grid(fetched), lines, note: fetched.dropped ? `${fetched.dropped} series not drawn: at most ${fetched.series.length} per chart` : '' });
  }

  async function showInstant(qs, signal) {
    const { end } = current();
    const bodies = await Promise.all(qs.map(q => queryInstant(q, end, signal).catch(e => ({ status: 'error', error: e.message }))));
    if (signal.aborted) return;
    result.replaceChildren();
    bodies.forEach((body, i) => {
      if (qs.length > 1) result.append(Object.assign(el('h2'), { textContent: `Query ${i + 1}` }));
      if (body.status !== 'success') { result.append(Object.assign(el('div', 'error'), { textContent: body.error })); return; }
      if (state.tab === 'json') {
        const pre = el('pre', 'json');
        const text = JSON.stringify(body, null, 1);
        pre.textContent = text.length > 2e6 ? text.slice(0, 2e6) + '\n… (cut at 2 MB)' : text;
        result.append(pre);
      } else {
        result.append(table(body.data));
      }
    });
    note.textContent = `instant query at ${formatTime(end)}`;
    result.dataset.rendered = String(qs.length);
  }

  for (const q of state.queries) addEditor(q);
  markTabs();
  const off = onChange(() => execute());
  if (state.queries.some(q => q.trim())) execute();
  return off;
}

/** Query number as a pseudo-label when several queries share the chart. */
function withQuery(s, n) {
  return n > 1 ? { ...s.metric, '#': String(s.query + 1) } : s.metric;
}

function table(data) {
  const t = el('table', 'data');
  const head = t.createTHead().insertRow();
  for (const h of ['Series', 'Value']) head.append(Object.assign(document.createElement('th'), { textContent: h }));
  const body = t.createTBody();
  const row = (name, value) => {
    const r = body.insertRow();
    r.insertCell().textContent = name;
    const c = r.insertCell();
    c.className = 'num';
    c.textContent = value;
  };
  if (data.resultType === 'scalar' || data.resultType === 'string') row('scalar', data.result[1]);
  else if (data.resultType === 'vector') for (const s of data.result) row(seriesName(s.metric), s.value[1]);
  else if (data.resultType === 'matrix') {
    for (const s of data.result) row(seriesName(s.metric), s.values.map(([t, v]) => `${v} @${t}`).join('\n'));
  }
  if (!body.rows.length) row('no data', '');
  return t;
}

function el(tag, className) { const e = document.createElement(tag); if (className) e.className = className; return e; }
function button(text, title, onclick) { const b = el('button'); b.textContent = text; b.title = title; b.onclick = onclick; return b; }

export { el, button, formatValue, parseValue };
