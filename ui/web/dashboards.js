// Dashboards: the list (`#/dashboards`) and one dashboard's panels
// (`#/dashboards/<name>`), each drawn for the page's time range. The
// server loads and checks the files (`--dashboards DIR`) and serves them
// at /api/v1/dashboards.
import { get, queryInstant, parseValue, seriesName } from './api.js';
import { current, onChange } from './timerange.js';
import { fetchSeries, drawChart, grid, formatValue } from './chart.js';
import { el } from './query.js';
import { tableOf } from './explore.js';

export function render(root, params, rest) {
  const name = rest.join('/');
  if (!name) { list(root); return null; }
  return show(root, decodeURIComponent(name));
}

async function list(root) {
  try {
    const { data } = await get('api/v1/dashboards');
    const rows = data.map(d => {
      const a = el('a');
      a.href = `#/dashboards/${encodeURIComponent(d.name)}`;
      a.textContent = d.title;
      return [a, d.description || '', String(d.panels.length), d.file];
    });
    root.append(Object.assign(el('h2'), { textContent: `Dashboards (${data.length})` }), tableOf(['Dashboard', 'About', 'Panels', 'File'], rows));
    if (!data.length) root.append(Object.assign(el('p', 'note'), { textContent: 'None loaded: start pulsedb serve with --dashboards DIR.' }));
    root.dataset.rendered = '1';
  } catch (e) {
    root.append(Object.assign(el('div', 'error'), { textContent: e.message }));
  }
}

function show(root, name) {
  let dashboard = null, controller = null;
  const title = el('h2');
  const about = el('p', 'note');
  const grid_ = el('div', 'panels');
  grid_.id = 'panels';
  root.append(title, about, grid_);

  async function draw() {
    controller?.abort();
    controller = new AbortController();
    const signal = controller.signal;
    const r = current();
    await Promise.all(dashboard.panels.map(async (p, i) => {
      const box = grid_.children[i].querySelector('.panel-body');
      const err = grid_.children[i].querySelector('.error');
      err.textContent = '';
      try {
        if (p.type === 'stat' || p.type === 'table') {
          const body = await queryInstant(p.query, r.end, signal);
          box.replaceChildren(p.type === 'stat' ? stat(body.data, p.unit) : tableOf(['Series', 'Value'], vector(body.data).map(s => [seriesName(s.metric), formatValue(parseValue(s.value[1]), p.unit)])));
          box.dataset.drawn = '1';
          return;
        }
        const width = Math.max(300, box.clientWidth || 500);
        const fetched = await fetchSeries([p.query], { start: r.start, end: r.end, width, signal });
        if (signal.aborted) return;
        err.textContent = fetched.errors.join('\n');
        const lines = fetched.series.map(s => ({ metric: s.metric, values: s.values, min: s.min, max: s.max, fill: p.type === 'area' }));
        if (!lines.length) { box.replaceChildren(Object.assign(el('p', 'note'), { textContent: 'No data in this range.' })); box.dataset.drawn = '0'; return; }
        drawChart(box, { xs: grid(fetched), lines, unit: p.unit, height: 220, note: fetched.dropped ? `${fetched.dropped} series not drawn` : '' });
      } catch (e) {
        if (e.name !== 'AbortError') err.textContent = e.message;
      }
    }));
    root.dataset.rendered = '1';
  }

  (async () => {
    const { data } = await get('api/v1/dashboards');
    dashboard = data.find(d => d.name === name);
    if (!dashboard) { title.textContent = `No dashboard named ${JSON.stringify(name)}`; return; }
    title.textContent = dashboard.title;
    about.textContent = dashboard.description || '';
    for (const p of dashboard.panels) {
      const panel = el('div', 'panel');
      const h = el('h3');
      h.textContent = p.title;
      const q = el('a', 'note');
      q.textContent = p.query;
      q.href = `#/query?q=${encodeURIComponent(p.query)}`;
      q.style.display = 'block';
      q.style.fontSize = '11px';
      panel.append(h, q, el('div', 'error'), el('div', 'panel-body'));
      grid_.append(panel);
    }
    await draw();
  })().catch(e => root.append(Object.assign(el('div', 'error'), { textContent: e.message })));
  return onChange(() => dashboard && draw());
}

function vector(data) {
  if (data.resultType === 'vector') return data.result;
  if (data.resultType === 'scalar') return [{ metric: {}, value: data.result }];
  return [];
}

function stat(data, unit) {
  const box = el('div');
  for (const s of vector(data).slice(0, 12)) {
    const line = el('div');
    line.style.fontSize = '22px';
    line.textContent = formatValue(parseValue(s.value[1]), unit);
    const label = el('span', 'note');
    label.style.fontSize = '12px';
    label.textContent = '  ' + seriesName(s.metric);
    line.append(label);
    box.append(line);
  }
  if (!box.children.length) box.append(Object.assign(el('p', 'note'), { textContent: 'No data.' }));
  return box;
}
