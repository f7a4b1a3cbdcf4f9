// Explore: the metrics there are (with type and help), the cardinality
// view (series per metric, per label name, per label pair, from
// /api/v1/status/tsdb) and the storage's own status (/api/v1/status/storage).
import { get } from './api.js';
import { formatValue } from './chart.js';
import { formatTime } from './timerange.js';
import { el } from './query.js';

export function render(root) {
  const filter = Object.assign(document.createElement('input'), { type: 'text', placeholder: 'filter metrics', id: 'metric-filter' });
  const form = el('div', 'form');
  form.append(filter);
  const cols = el('div', 'cols');
  const metrics = el('div');
  metrics.id = 'metrics';
  const cardinality = el('div');
  cardinality.id = 'cardinality';
  const storage = el('div');
  storage.id = 'storage';
  cols.append(metrics, cardinality, storage);
  root.append(form, cols);
  let names = [], meta = {}, counts = new Map();

  const showMetrics = () => {
    const f = filter.value.toLowerCase();
    const rows = names.filter(n => n.toLowerCase().includes(f));
    const t = tableOf(['Metric', 'Type', 'Series', 'Help'], rows.slice(0, 500).map(n => {
      const md = (meta[n] || [])[0] || {};
      const link = el('a');
      link.href = `#/query?q=${encodeURIComponent(n)}`;
      link.textContent = n;
      return [link, md.type || '', counts.has(n) ? String(counts.get(n)) : '', md.help || ''];
    }));
    metrics.replaceChildren(heading(`Metrics (${rows.length})`), t);
    if (rows.length > 500) metrics.append(Object.assign(el('p', 'note'), { textContent: `${rows.length - 500} more; filter to see them` }));
  };
  filter.oninput = showMetrics;

  (async () => {
    const [n, m, tsdb, st] = await Promise.all([
      get('api/v1/label/__name__/values'),
      get('api/v1/metadata').catch(() => ({ data: {} })),
      get('api/v1/status/tsdb', { limit: 20 }),
      get('api/v1/status/storage'),
    ]);
    names = n.data;
    meta = m.data;
    counts = new Map(tsdb.data.seriesCountByMetricName.map(x => [x.name, x.value]));
    showMetrics();
    showCardinality(cardinality, tsdb.data);
    showStorage(storage, st.data);
    root.dataset.rendered = '1';
  })().catch(e => root.prepend(Object.assign(el('div', 'error'), { textContent: e.message })));
}

function showCardinality(box, d) {
  const h = d.headStats;
  box.append(heading('Cardinality'),
    Object.assign(el('p', 'note'), { textContent: `${h.numSeries} series, ${h.numLabelPairs} label pairs, ${h.chunkCount} head chunks, ${formatTime(h.minTime / 1000)} … ${formatTime(h.maxTime / 1000)}` }),
    tableOf(['Metric', 'Series'], d.seriesCountByMetricName.map(x => [x.name, String(x.value)])),
    tableOf(['Label name', 'Values'], d.labelValueCountByLabelName.map(x => [x.name, String(x.value)])),
    tableOf(['Label pair', 'Series'], d.seriesCountByLabelValuePair.map(x => [x.name, String(x.value)])),
    tableOf(['Label name', 'Bytes of values'], d.memoryInBytesByLabelName.map(x => [x.name, formatValue(x.value, 'bytes')])));
}

function showStorage(box, s) {
  const show = (k, v) => {
    if (v === null || v === undefined) return '—';
    if (/Time$/.test(k)) return formatTime(v / 1000);
    if (/bytes/i.test(k) && !/PerSample/.test(k)) return formatValue(v, 'bytes');
    if (/Seconds/.test(k)) return formatValue(v, 'seconds');
    return typeof v === 'number' ? String(+v.toFixed(3)) : JSON.stringify(v);
  };
  const rate = el('p', 'note');
  rate.id = 'ingest-rate';
  rate.textContent = 'ingest rate: measuring…';
  box.append(heading('Storage'), rate, tableOf(['', ''], Object.entries(s).map(([k, v]) => [k, show(k, v)])));
  // The ingest rate: appended samples counted again a few seconds later.
  const first = { at: performance.now(), n: s.samplesAppended };
  setTimeout(async () => {
    try {
      const again = (await get('api/v1/status/storage')).data;
      const seconds = (performance.now() - first.at) / 1000;
      rate.textContent = `ingest rate: ${formatValue((again.samplesAppended - first.n) / seconds)} samples/s`;
    } catch (e) {
      rate.textContent = `ingest rate: ${e.message}`;
    }
  }, 5000);
}

function heading(text) { return Object.assign(el('h2'), { textContent: text }); }

export function tableOf(headers, rows) {
  const t = el('table', 'data');
  const head = t.createTHead().insertRow();
  for (const h of headers) head.append(Object.assign(document.createElement('th'), { textContent: h }));
  const body = t.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    for (const c of r) {
      const td = tr.insertCell();
      if (c instanceof Node) td.append(c); else td.textContent = c;
    }
  }
  return t;
}
