// The anomaly view of one series: its line, the band the model expected
// it in (anomaly_lower/anomaly_upper), the points it scored anomalous
// (anomaly_max above 0.42, the threshold the NAB benchmark chose), and
// the forecast with its band drawn dashed ahead of the range's end.
import { queryRange, post, seriesName, parseValue, formatDuration, parseDuration } from './api.js';
import { current, onChange } from './timerange.js';
import { drawChart, align, stepFor, isSelector, key } from './chart.js';
import { el, button } from './query.js';

const ANOMALOUS = 0.42;
const HORIZON_POINTS = 12;


/** `q` over the last `history` as a range vector; an expression becomes a subquery. */
export function rangeOf(q, history, step) {
  return isSelector(q) ? `${q.trim()}[${history}]` : `(${q})[${history}:${formatDuration(step)}]`;
}

export function render(root, params) {
  const form = el('div', 'form');
  const input = Object.assign(document.createElement('input'), { type: 'text', id: 'anomaly-expr', value: params.get('q') || '', placeholder: 'one series, e.g. node_cpu_busy{host="web-1"}' });
  const historyIn = Object.assign(document.createElement('input'), { type: 'text', id: 'anomaly-history', value: params.get('history') || '7d', size: 5, title: 'What the model learns from, before each point: 7d learns a daily rhythm, 28d a weekly one too' });
  const widthIn = Object.assign(document.createElement('input'), { type: 'number', id: 'anomaly-width', value: params.get('width') || '3', step: '0.5', min: '0.5', title: 'Band width in error scales' });
  const go = button('Show', 'Draw the series, its expected band, anomalies and forecast', () => show());
  form.append(input, label('history', historyIn), label('band width', widthIn), go);
  const errors = el('div', 'error');
  const note = el('p', 'note');
  const chart = el('div');
  chart.id = 'anomaly-chart';
  root.append(form, errors, note, chart);
  input.addEventListener('keydown', e => { if (e.key === 'Enter') show(); });
  let controller = null;

  async function show() {
    const q = input.value.trim();
    const [path, search] = location.hash.slice(1).split('?');
    const p = new URLSearchParams(search || '');
    p.set('q', q); p.set('history', historyIn.value); p.set('width', widthIn.value);
    window.history.replaceState(null, '', `#${path}?${p}`);
    if (!q) return;
    if (!(parseDuration(historyIn.value) > 0)) { errors.textContent = `history: ${JSON.stringify(historyIn.value)} is not a duration such as 1d or 6h`; return; }
    controller?.abort();
    controller = new AbortController();
    const signal = controller.signal;
    errors.textContent = '';
    const r = current();
    const horizon = Math.max(60, Math.round(r.range / 4));
    const step = stepFor(r.range + horizon, Math.max(300, chart.clientWidth || 1000));
    const start = Math.floor(r.start / step) * step, end = Math.floor(r.end / step) * step;
    const n = Math.round((end - start) / step) + 1;
    const w = rangeOf(q, historyIn.value, step);
    const width = +widthIn.value || 3;
    try {
      const [line, lower, upper, marks] = await Promise.all([
        queryRange(q, start, end, step, signal),
        queryRange(`anomaly_lower(${w}, ${width})`, start, end, step, signal),
        queryRange(`anomaly_upper(${w}, ${width})`, start, end, step, signal),
        queryRange(`(${q}) and (anomaly_max(${w}, ${step}) > ${ANOMALOUS})`, start, end, step, signal).catch(() => null),
      ]);
      if (!line.result.length) { errors.textContent = 'No data for this series in the range.'; chart.replaceChildren(); return; }
      const first = line.result[0];
      const k = key(first.metric);
      const pick = res => (res?.result || []).find(s => key(s.metric) === k);
      const horizons = Array.from({ length: HORIZON_POINTS }, (_, i) => Math.round(horizon * (i + 1) / HORIZON_POINTS));
      const fc = await forecasts(w, horizons, width, end, signal);
      const xs = [...Array.from({ length: n }, (_, i) => start + i * step), ...horizons.map(h => end + h)];
      const pad = values => [...values, ...new Array(HORIZON_POINTS).fill(null)];
      const future = fn => [...new Array(n - 1).fill(null), parseValue(first.values.at(-1)?.[1] ?? 'NaN'), ...horizons.map(h => fn(fc.get(k)?.get(h)))];
      const lines = [
        { label: seriesName(first.metric), metric: first.metric, values: pad(align(first.values, start, step, n)),
          min: pad(align(pick(lower)?.values || [], start, step, n)), max: pad(align(pick(upper)?.values || [], start, step, n)), color: '#2563eb' },
        { label: `anomalous (score > ${ANOMALOUS})`, values: pad(align(pick(marks)?.values || [], start, step, n)), points: true, color: '#dc2626' },
        { label: `forecast, ${formatDuration(horizon)} ahead`, values: future(f => f?.value ?? null), dash: [6, 4], color: '#9333ea',
          min: future(f => f?.lower ?? null), max: future(f => f?.upper ?? null) },
      ];
      const marked = lines[1].values.filter(v => v !== null).length;
      note.textContent = `${line.result.length > 1 ? `${line.result.length} series match; showing the first. ` : ''}band: ${width} error scales; learns from ${historyIn.value} before each point; ${marked} anomalous points; step ${formatDuration(step)}`;
      drawChart(chart, { xs, lines, zoom: true });
    } catch (e) {
      if (e.name !== 'AbortError') { errors.textContent = e.message; chart.replaceChildren(); }
    }
  }

  const off = onChange(() => show());
  if (input.value) show();
  return off;
}

/** The forecast and its band at each horizon, from the range's end: key → horizon → {value, lower, upper}. */
async function forecasts(w, horizons, width, time, signal) {
  const union = f => horizons.map(h => `label_replace(${f(h)}, "__horizon", "${h}", "", "")`).join(' or ');
  const [value, lower, upper] = await Promise.all([
    union(h => `forecast(${w}, ${h})`),
    union(h => `forecast_lower(${w}, ${h}, ${width})`),
    union(h => `forecast_upper(${w}, ${h}, ${width})`),
  ].map(q => post('api/v1/query', { query: q, time }, signal).catch(() => null)));
  const out = new Map();
  const put = (body, field) => {
    for (const s of body?.data?.result || []) {
      const { __horizon, ...metric } = s.metric;
      const k = key(metric);
      if (!out.has(k)) out.set(k, new Map());
      const byH = out.get(k);
      const h = +__horizon;
      byH.set(h, { ...byH.get(h), [field]: parseValue(s.value[1]) });
    }
  };
  put(value, 'value'); put(lower, 'lower'); put(upper, 'upper');
  return out;
}

function label(text, input) {
  const l = el('label');
  l.append(document.createTextNode(text + ' '), input);
  return l;
}
