// PromQL autocomplete for a textarea: functions, aggregations and
// keywords (functions.json), metric names with their type and help
// (/api/v1/metadata), label names and label values of the metric being
// written (/api/v1/labels, /api/v1/label/<name>/values), fetched once and cached.
import { get } from './api.js';

const cache = new Map();

function once(key, load) {
  if (!cache.has(key)) cache.set(key, load().catch(e => { cache.delete(key); throw e; }));
  return cache.get(key);
}

const vocabulary = () => once('functions', async () => (await fetch('functions.json')).json());
const metricNames = () => once('metrics', async () => (await get('api/v1/label/__name__/values')).data);
const metadata = () => once('metadata', async () => (await get('api/v1/metadata')).data).catch(() => ({}));
const labelNames = metric => once(`labels:${metric}`, async () =>
  (await get('api/v1/labels', metric ? { 'match[]': metric } : {})).data.filter(n => n !== '__name__'));
const labelValues = (metric, label) => once(`values:${metric}:${label}`, async () =>
  (await get(`api/v1/label/${encodeURIComponent(label)}/values`, metric ? { 'match[]': metric } : {})).data);

/** What the text before the cursor is asking for: { kind, prefix, metric?, label? } or null. */
export function context(before) {
  // Inside a string that is a label value: {job="api
  const brace = openBrace(before);
  if (brace >= 0) {
    const inside = before.slice(brace + 1);
    const metric = (/([A-Za-z_:][\w:]*)\s*$/.exec(before.slice(0, brace)) || [])[1] || '';
    const value = /([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)$/.exec(inside);
    if (value) return { kind: 'value', prefix: value[3], metric, label: value[1] };
    const name = /(?:^|,)\s*([A-Za-z_]\w*)?$/.exec(inside);
    if (name) return { kind: 'label', prefix: name[1] || '', metric };
    return null;
  }
  const grouping = /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^()]*?)([A-Za-z_]\w*)?$/.exec(before);
  if (grouping) return { kind: 'label', prefix: grouping[2] || '', metric: firstMetric(before.slice(0, grouping.index)) };
  if (/"[^"]*$/.test(before.replace(/"(?:[^"\\]|\\.)*"/g, ''))) return null; // in a string
  const word = /([A-Za-z_:][\w:]*)$/.exec(before);
  if (word) return { kind: 'name', prefix: word[1] };
  return null;
}

/** Where the `{` the cursor is inside starts, or -1 (strings skipped). */
function openBrace(before) {
  const open = [];
  let quote = '';
  for (let i = 0; i < before.length; i++) {
    const c = before[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '{') open.push(i);
    else if (c === '}') open.pop();
  }
  return open.length ? open[open.length - 1] : -1;
}

function firstMetric(text) {
  const words = text.match(/[A-Za-z_:][\w:]*(?=\s*(?:\{|\[|\)|$))/g) || [];
  return words.find(w => !/^(by|without|on|ignoring|sum|avg|min|max|count|rate|irate|increase)$/.test(w)) || '';
}

/** Candidates for a context: [{ text, insert, kind, help }] best first. */
export async function candidates(ctx) {
  const p = ctx.prefix.toLowerCase();
  const match = s => s.toLowerCase().startsWith(p);
  const contains = s => !match(s) && s.toLowerCase().includes(p);
  const ranked = (items, key) => [...items.filter(i => match(key(i))), ...items.filter(i => contains(key(i)))];
  if (ctx.kind === 'value') {
    const values = await labelValues(ctx.metric, ctx.label);
    return ranked(values, v => v).slice(0, 200).map(v => ({ text: v, insert: escapeValue(v) + '"', kind: 'value' }));
  }
  if (ctx.kind === 'label') {
    const names = await labelNames(ctx.metric);
    return ranked(names, n => n).slice(0, 200).map(n => ({ text: n, insert: n, kind: 'label' }));
  }
  const [vocab, metrics, meta] = await Promise.all([vocabulary(), metricNames(), metadata()]);
  const words = [
    ...vocab.functions.map(f => ({ text: f.name, insert: f.name + '(', kind: 'function', help: `${f.signature}: ${f.help}` })),
    ...vocab.aggregations.map(f => ({ text: f.name, insert: f.name + ' ', kind: 'aggregation', help: `${f.signature}: ${f.help}` })),
    ...vocab.keywords.map(f => ({ text: f.name, insert: f.name + ' ', kind: 'keyword', help: `${f.signature}: ${f.help}` })),
    ...metrics.map(m => {
      const md = (meta[m] || [])[0];
      return { text: m, insert: m, kind: md ? `metric, ${md.type}${md.unit ? ', ' + md.unit : ''}` : 'metric', help: md?.help };
    }),
  ];
  return ranked(words, w => w.text).slice(0, 200);
}

function escapeValue(v) { return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"'); }

/** Attaches autocomplete to `textarea` (inside a positioned parent). */
export function attach(textarea) {
  const list = document.createElement('ul');
  list.className = 'complete';
  list.hidden = true;
  textarea.parentElement.append(list);
  let items = [], selected = 0, ctx = null, seq = 0;

  const close = () => { list.hidden = true; items = []; };
  const accept = i => {
    const item = items[i];
    if (!item) return;
    const pos = textarea.selectionStart;
    const before = textarea.value.slice(0, pos - ctx.prefix.length);
    let after = textarea.value.slice(pos);
    if (item.insert.endsWith('"') && after.startsWith('"')) after = after.slice(1);
    textarea.value = before + item.insert + after;
    const caret = before.length + item.insert.length;
    textarea.setSelectionRange(caret, caret);
    close();
    textarea.dispatchEvent(new Event('input', { bubbles: true }));
    textarea.focus();
  };
  const render = () => {
    list.replaceChildren();
    items.forEach((item, i) => {
      const li = document.createElement('li');
      if (i === selected) li.className = 'selected';
      li.append(document.createTextNode(item.text));
      const kind = document.createElement('span');
      kind.className = 'kind';
      kind.textContent = item.kind;
      li.append(kind);
      if (item.help && i === selected) {
        const help = document.createElement('span');
        help.className = 'help';
        help.textContent = item.help;
        li.append(help);
      }
      li.onmousedown = e => { e.preventDefault(); accept(i); };
      list.append(li);
    });
    list.hidden = items.length === 0;
    list.querySelector('.selected')?.scrollIntoView({ block: 'nearest' });
  };
  const update = async (force = false) => {
    const mine = ++seq;
    ctx = context(textarea.value.slice(0, textarea.selectionStart));
    if (!ctx || (!force && ctx.kind === 'name' && ctx.prefix.length < 1)) { close(); return; }
    try {
      const found = await candidates(ctx);
      if (mine !== seq) return;
      items = found.filter(i => !(i.text === ctx.prefix && ctx.kind !== 'value')).slice(0, 50);
      selected = 0;
      render();
    } catch (e) {
      close();
    }
  };
  textarea.addEventListener('input', () => update());
  textarea.addEventListener('blur', () => setTimeout(close, 150));
  textarea.addEventListener('keydown', e => {
    if (e.key === ' ' && e.ctrlKey) { e.preventDefault(); update(true); return; }
    if (list.hidden) return;
    if (e.key === 'ArrowDown') { selected = (selected + 1) % items.length; render(); e.preventDefault(); }
    else if (e.key === 'ArrowUp') { selected = (selected - 1 + items.length) % items.length; render(); e.preventDefault(); }
    else if (e.key === 'Enter' || e.key === 'Tab') { accept(selected); e.preventDefault(); e.stopImmediatePropagation(); }
    else if (e.key === 'Escape') { close(); e.preventDefault(); }
  });
  return { update, close, list };
}
