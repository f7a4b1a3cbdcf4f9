// Charts: fetches range queries at a step fitted to the chart's width and
// draws them with uPlot. When a point stands for several samples, the
// samples' min and max come too and are drawn as a band around the line,
// so a one-second spike stays visible at any zoom.
import { queryRange, parseValue, seriesName, formatDuration } from './api.js';
import { zoomTo, formatTime, isUtc } from './timerange.js';

const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777',
  '#4f46e5', '#65a30d', '#0d9488', '#b91c1c', '#7c3aed', '#c2410c', '#0369a1', '#a16207'];

/** At most this many series are drawn per chart; the rest are counted in a note. */
export const MAX_SERIES = 200;

export function color(i) { return PALETTE[i % PALETTE.length]; }

/** Pixels of a chart's width the y axis and padding take. */
export const AXIS_PIXELS = 80;

const NICE_STEPS = [1, 2, 5, 10, 15, 20, 30, 60];

/** The step (whole seconds) for `range` seconds over `width` pixels of
 * chart: at most one point per pixel, rounded up to 1, 2, 5, 10, 15, 20,
 * 30 s or a whole number of minutes, so that windows of a minute or more
 * line up with storage's one-minute summaries, which then answer the band
 * (and the line of a selector) without decoding samples. */
export function stepFor(range, width) {
  const raw = range / Math.max(100, width - AXIS_PIXELS);
  if (raw <= 60) return NICE_STEPS.find(s => s >= raw) ?? 60;
  return Math.ceil(raw / 60) * 60;
}

const SELECTOR = /^\s*(?:[A-Za-z_:][\w:]*\s*(?:\{[^{}]*\})?|\{[^{}]*\})\s*$/;

/** Whether `expr` is a plain series selector (`x`, `x{a="b"}`, `{a="b"}`). */
export function isSelector(expr) { return SELECTOR.test(expr); }

/** What a chart asks for `expr` at `step` (> 1 s): the line and the min
 * and max each point stands for. A selector's line is its newest sample in
 * each step (`last_over_time(x[step])`, as VictoriaMetrics draws
 * selectors: a gap where the step has no sample) and its band is exact;
 * any other expression is drawn as written, with a band from a subquery
 * sampling it 8 times per step. */
export function rangeQueries(expr, step) {
  if (SELECTOR.test(expr)) return [`last_over_time(${expr.trim()}[${step}s])`, ...bandQueries(expr, step)];
  return [expr, ...bandQueries(expr, step)];
}

/** The min and max of what each point of `expr` at `step` stands for. */
export function bandQueries(expr, step) {
  if (SELECTOR.test(expr)) return [`min_over_time(${expr.trim()}[${step}s])`, `max_over_time(${expr.trim()}[${step}s])`];
  const res = Math.max(1, Math.floor(step / 8));
  return [`min_over_time((${expr})[${step}s:${res}s])`, `max_over_time((${expr})[${step}s:${res}s])`];
}

/** A series' identity across queries whose results drop the metric name. */
export function key(metric) {
  return seriesName(Object.fromEntries(Object.entries(metric).filter(([k]) => k !== '__name__')));
}

/**
 * Runs `queries` (strings) over [start, end] at a step for `width` pixels.
 * Returns { start, end, step, series: [{ query, metric, values, min, max }], dropped, errors }.
 */
export async function fetchSeries(queries, { start, end, width, band = true, signal }) {
  const step = stepFor(end - start, width);
  const alignedStart = Math.floor(start / step) * step;
  const alignedEnd = Math.ceil(end / step) * step;
  const n = Math.round((alignedEnd - alignedStart) / step) + 1;
  const out = { start: alignedStart, end: alignedEnd, step, n, series: [], dropped: 0, errors: [] };
  await Promise.all(queries.map(async (query, qi) => {
    if (!query.trim()) return;
    const [lineQuery, ...bandParts] = band && step > 1 ? rangeQueries(query, step) : [query];
    const [line, lo, hi] = await Promise.all([
      queryRange(lineQuery, alignedStart, alignedEnd, step, signal),
      ...bandParts.map(q => queryRange(q, alignedStart, alignedEnd, step, signal).catch(() => null)),
    ].map(p => p.catch(e => { if (e.name === 'AbortError') throw e; out.errors.push(`query ${qi + 1}: ${e.message}`); return null; })));
    if (!line) return;
    const lows = new Map((lo?.result || []).map(s => [key(s.metric), s]));
    const highs = new Map((hi?.result || []).map(s => [key(s.metric), s]));
    const result = line.resultType === 'matrix' ? line.result : [];
    if (line.resultType === 'scalar' || line.resultType === 'string') {
      out.errors.push(`query ${qi + 1}: a range query returns a matrix; this expression is a ${line.resultType}`);
    }
    for (const s of result) {
      if (out.series.length >= MAX_SERIES) { out.dropped++; continue; }
      const k = key(s.metric);
      const bandOk = lows.has(k) && highs.has(k);
      out.series.push({
        query: qi, metric: s.metric,
        values: align(s.values, alignedStart, step, n),
        min: bandOk ? align(lows.get(k).values, alignedStart, step, n) : null,
        max: bandOk ? align(highs.get(k).values, alignedStart, step, n) : null,
      });
    }
  }));
  out.series.sort((a, b) => a.query - b.query || seriesName(a.metric).localeCompare(seriesName(b.metric)));
  return out;
}

/** Points [[t, "v"], …] on the grid start + k·step, as an array with nulls for gaps. */
export function align(points, start, step, n) {
  const values = new Array(n).fill(null);
  for (const [t, v] of points) {
    const i = Math.round((t - start) / step);
    if (i >= 0 && i < n) {
      const x = parseValue(v);
      values[i] = Number.isFinite(x) ? x : null;
    }
  }
  return values;
}

/** Labels every series has with the same value (hidden in the legend, shown once). */
export function commonLabels(metrics) {
  if (metrics.length < 2) return {};
  const common = { ...metrics[0] };
  for (const m of metrics.slice(1)) for (const k of Object.keys(common)) if (m[k] !== common[k]) delete common[k];
  return common;
}

const SI = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
const BYTES = [[2 ** 40, 'TiB'], [2 ** 30, 'GiB'], [2 ** 20, 'MiB'], [2 ** 10, 'KiB']];

/** A value with its unit: bytes, seconds, percent (0–100), percentunit (0–1), or a plain SI number. */
export function formatValue(v, unit = '') {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  const abs = Math.abs(v);
  const num = x => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : +x.toPrecision(3)).toString();
  switch (unit) {
    case 'bytes': for (const [n, s] of BYTES) if (abs >= n) return num(v / n) + ' ' + s; return num(v) + ' B';
    case 'seconds': return abs >= 1 || abs === 0 ? num(v) + ' s' : abs >= 1e-3 ? num(v * 1e3) + ' ms' : num(v * 1e6) + ' µs';
    case 'percent': return num(v) + ' %';
    case 'percentunit': return num(v * 100) + ' %';
    default:
      for (const [n, s] of SI) if (abs >= n) return num(v / n) + s + (unit ? ' ' + unit : '');
      return (abs !== 0 && abs < 1e-3 ? v.toExponential(2) : num(v)) + (unit ? ' ' + unit : '');
  }
}

/**
 * Draws `lines` into `container`: each { label, metric, values, min, max, color, dash, points }.
 * `xs` are the shared times (seconds). Builds a legend that toggles series
 * and hides the labels all share, a tooltip with exact values, and drag-to-zoom.
 * Sets `data-drawn` on the container once drawn (what the browser tests wait for).
 */
export function drawChart(container, { xs, lines, unit = '', note = '', height = 320, zoom = true }) {
  container.replaceChildren();
  container.classList.add('chart-wrap');
  if (note) {
    const p = document.createElement('p');
    p.className = 'note chart-note';
    p.textContent = note;
    container.append(p);
  }
  const plotBox = document.createElement('div');
  plotBox.className = 'chart';
  container.append(plotBox);
  const tooltip = document.createElement('div');
  tooltip.className = 'tooltip';
  container.append(tooltip);
  const width = Math.max(300, container.clientWidth || 800);
  const common = commonLabels(lines.map(l => l.metric || {}));
  const omit = new Set(Object.keys(common));

  const series = [{ value: (u, t) => t == null ? '' : formatTime(t) }];
  const data = [xs];
  const bands = [];
  const owner = []; // uPlot series index → line index
  lines.forEach((l, i) => {
    const c = l.color || color(i);
    l.label = l.label || seriesName(l.metric || {}, omit);
    series.push({
      label: l.label, stroke: c, width: l.points ? 0 : 1.25, dash: l.dash,
      paths: l.points ? () => null : undefined,
      points: l.points ? { show: true, size: 7, fill: c, stroke: c } : { show: false },
      fill: l.fill ? c + '33' : undefined,
      spanGaps: false,
    });
    data.push(l.values);
    owner.push(i);
    l.index = series.length - 1;
    if (l.min && l.max) {
      series.push({ label: l.label + ' max', stroke: c + '00', width: 0, points: { show: false } });
      data.push(l.max);
      owner.push(i);
      series.push({ label: l.label + ' min', stroke: c + '00', width: 0, points: { show: false } });
      data.push(l.min);
      owner.push(i);
      bands.push({ series: [series.length - 2, series.length - 1], fill: c + '2e' });
      l.bandIndex = [series.length - 2, series.length - 1];
    }
  });

  const opts = {
    width, height,
    series, bands,
    legend: { show: false },
    tzDate: ts => isUtc() ? uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC') : new Date(ts * 1e3),
    // The select is ours to read (setScale off): a drag zooms the page's range, not just this chart.
    cursor: { drag: { x: zoom, y: false, setScale: false }, points: { show: false } },
    scales: { x: { time: true } },
    axes: [{}, { values: (u, vals) => vals.map(v => formatValue(v, unit)), size: 70 }],
    hooks: {
      setSelect: [u => {
        if (u.select.width > 2) {
          const a = u.posToVal(u.select.left, 'x'), b = u.posToVal(u.select.left + u.select.width, 'x');
          u.setSelect({ width: 0, height: 0 }, false);
          zoomTo(a, b);
        }
      }],
      setCursor: [u => showTooltip(u, tooltip, lines, unit)],
    },
  };
  const plot = new uPlot(opts, data, plotBox);
  container.append(legend(plot, lines, common));
  container.dataset.drawn = String(lines.length);
  // When the page first showed a chart, for the speed benchmark (ms since navigation).
  if (!document.body.dataset.firstDrawMs) document.body.dataset.firstDrawMs = String(Math.round(performance.now()));
  document.body.dataset.draws = String(+(document.body.dataset.draws || 0) + 1);
  const resize = new ResizeObserver(() => {
    const w = Math.max(300, container.clientWidth);
    if (Math.abs(w - plot.width) > 4) plot.setSize({ width: w, height });
  });
  resize.observe(container);
  return plot;
}

function legend(plot, lines, common) {
  const box = document.createElement('div');
  box.className = 'legend';
  const shared = seriesName(common);
  if (Object.keys(common).length) {
    const c = document.createElement('span');
    c.className = 'note common';
    c.textContent = `all series: ${shared}`;
    box.append(c);
  }
  lines.forEach((l, i) => {
    if (l.legend === false) return;
    const e = document.createElement('span');
    e.className = 'entry';
    const sw = document.createElement('span');
    sw.className = 'swatch';
    sw.style.background = plot.series[l.index].stroke();
    e.append(sw, document.createTextNode(l.label));
    e.title = 'Click: hide or show this series';
    e.onclick = () => {
      const show = !plot.series[l.index].show;
      plot.setSeries(l.index, { show });
      for (const b of l.bandIndex || []) plot.setSeries(b, { show });
      e.classList.toggle('off', !show);
    };
    box.append(e);
  });
  return box;
}

function showTooltip(u, tooltip, lines, unit) {
  const idx = u.cursor.idx;
  if (idx == null || u.cursor.left < 0) { tooltip.style.display = 'none'; return; }
  const rows = [];
  for (const l of lines) {
    if (!u.series[l.index].show) continue;
    const v = u.data[l.index][idx];
    if (v == null) continue;
    let text = formatValue(v, unit);
    if (l.bandIndex) {
      const hi = u.data[l.bandIndex[0]][idx], lo = u.data[l.bandIndex[1]][idx];
      if (hi != null && lo != null && (hi !== v || lo !== v)) text += `  [${formatValue(lo, unit)} … ${formatValue(hi, unit)}]`;
    }
    rows.push([v, l, text]);
  }
  rows.sort((a, b) => b[0] - a[0]);
  tooltip.replaceChildren();
  const head = document.createElement('div');
  head.textContent = formatTime(u.data[0][idx]);
  tooltip.append(head);
  for (const [, l, text] of rows.slice(0, 20)) {
    const line = document.createElement('div');
    const sw = document.createElement('span');
    sw.className = 'swatch';
    sw.style.background = u.series[l.index].stroke();
    line.append(sw, document.createTextNode(`${text}  ${l.label}`));
    tooltip.append(line);
  }
  if (rows.length > 20) tooltip.append(document.createTextNode(`… ${rows.length - 20} more`));
  tooltip.style.display = rows.length ? 'block' : 'none';
  const left = u.cursor.left + u.over.offsetLeft + 16;
  tooltip.style.left = Math.min(left, u.width - 260) + 'px';
  tooltip.style.top = (u.cursor.top + u.over.offsetTop + 16) + 'px';
}

/** The times of a fetched result's grid. */
export function grid(result) {
  return Array.from({ length: result.n }, (_, i) => result.start + i * result.step);
}

/** A one-line note: step, points, and what was left out. */
export function describe(result) {
  let s = `step ${formatDuration(result.step)}, ${result.series.length} series`;
  if (result.series.some(x => x.min)) s += ', min–max band per point';
  if (result.dropped) s += `; ${result.dropped} more series not drawn (at most ${MAX_SERIES} per chart)`;
  return s;
}
