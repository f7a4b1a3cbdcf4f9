// Unit tests of the UI's own logic, run by `node --test` (ui/tests/js.rs
// runs them under cargo test): autocomplete contexts, steps and bands,
// alignment of points, common labels, number and duration formats.
import { test } from 'node:test';
import assert from 'node:assert/strict';

// The modules read `document.baseURI` when loaded; nothing else of the DOM.
globalThis.document = { baseURI: 'http://127.0.0.1:9201/ui/' };
const { context } = await import('../web/complete.js');
const { stepFor, bandQueries, rangeQueries, align, commonLabels, formatValue, MAX_SERIES, AXIS_PIXELS } = await import('../web/chart.js');
const { parseDuration, formatDuration, seriesName, parseValue } = await import('../web/api.js');
const { rangeOf } = await import('../web/anomaly.js');

test('autocomplete knows what is being written', () => {
  assert.deepEqual(context('node_lo'), { kind: 'name', prefix: 'node_lo' });
  assert.deepEqual(context('rate(http_req'), { kind: 'name', prefix: 'http_req' });
  assert.deepEqual(context('node_load1{host="'), { kind: 'value', prefix: '', metric: 'node_load1', label: 'host' });
  assert.deepEqual(context('up{job=~"ap'), { kind: 'value', prefix: 'ap', metric: 'up', label: 'job' });
  assert.deepEqual(context('x{a="}{",b!="w'), { kind: 'value', prefix: 'w', metric: 'x', label: 'b' });
  assert.deepEqual(context('x{a="b\\"c", d'), { kind: 'label', prefix: 'd', metric: 'x' });
  assert.deepEqual(context('{'), { kind: 'label', prefix: '', metric: '' });
  assert.deepEqual(context('rate(x{a="b"}[5m]) + y{'), { kind: 'label', prefix: '', metric: 'y' });
  assert.deepEqual(context('sum by (ho'), { kind: 'label', prefix: 'ho', metric: '' });
  assert.deepEqual(context('sum(rate(http_requests_total[5m])) by (co'), { kind: 'label', prefix: 'co', metric: 'http_requests_total' });
  assert.equal(context('label_replace(up, "dst", "x'), null, 'inside a plain string: nothing');
  assert.equal(context('x + 1'), null);
});

test('the step gives at most one point per pixel, on steps that line up with minutes', () => {
  assert.equal(stepFor(86400, 1000), 120, '24 h over 920 px of plot: 94 s, rounded up to 2 min');
  assert.equal(stepFor(3600, 1200), 5);
  assert.equal(stepFor(60, 1000), 1);
  assert.equal(stepFor(1800, 1000), 2);
  assert.equal(stepFor(30 * 86400, 1500), 1860);
  assert.equal(stepFor(86400, 10), 900, 'a tiny chart counts as 100 pixels');
  for (const [range, width] of [[300, 800], [3600, 700], [7 * 86400, 1500], [30 * 86400, 640]]) {
    const step = stepFor(range, width);
    assert.ok(range / step <= width - AXIS_PIXELS, `${range} s over ${width} px: step ${step}`);
    assert.ok(step < 60 ? 60 % step === 0 : step % 60 === 0, `step ${step} lines up with minutes`);
  }
});

test('a selector is drawn by its newest sample per step, other expressions as written', () => {
  assert.deepEqual(rangeQueries('up{job="a"}', 60), ['last_over_time(up{job="a"}[60s])', 'min_over_time(up{job="a"}[60s])', 'max_over_time(up{job="a"}[60s])']);
  assert.equal(rangeQueries('rate(x[5m])', 60)[0], 'rate(x[5m])');
});

test('the band is exact for selectors and sampled for expressions', () => {
  assert.deepEqual(bandQueries('node_load1{host="a"}', 60), ['min_over_time(node_load1{host="a"}[60s])', 'max_over_time(node_load1{host="a"}[60s])']);
  assert.deepEqual(bandQueries(' up ', 30), ['min_over_time(up[30s])', 'max_over_time(up[30s])']);
  assert.deepEqual(bandQueries('rate(x[5m])', 80), ['min_over_time((rate(x[5m]))[80s:10s])', 'max_over_time((rate(x[5m]))[80s:10s])']);
  assert.deepEqual(rangeOf('x{a="b"}', '1d', 60), 'x{a="b"}[1d]');
  assert.deepEqual(rangeOf('sum(x)', '6h', 120), '(sum(x))[6h:2m]');
});

test('points land on the grid, gaps and non-finite values are null', () => {
  assert.deepEqual(align([[100, '1'], [120, '2'], [130, 'NaN'], [140, '+Inf'], [999, '5']], 100, 10, 5), [1, null, 2, null, null]);
  assert.deepEqual(align([], 0, 1, 3), [null, null, null]);
});

test('labels all series share are found, and names hide them', () => {
  const metrics = [{ __name__: 'up', job: 'a', host: 'x' }, { __name__: 'up', job: 'a', host: 'y' }];
  const common = commonLabels(metrics);
  assert.deepEqual(common, { __name__: 'up', job: 'a' });
  assert.equal(seriesName(metrics[0], new Set(Object.keys(common))), '{host="x"}');
  assert.equal(seriesName(metrics[0]), 'up{host="x", job="a"}');
  assert.deepEqual(commonLabels([{ a: '1' }]), {}, 'one series: nothing is hidden');
  assert.equal(seriesName({}), '{}');
  assert.ok(MAX_SERIES >= 100);
});

test('values are written with their unit', () => {
  assert.equal(formatValue(1536, 'bytes'), '1.5 KiB');
  assert.equal(formatValue(0.0042, 'seconds'), '4.2 ms');
  assert.equal(formatValue(0.25, 'percentunit'), '25.0 %');
  assert.equal(formatValue(1234567), '1.23M');
  assert.equal(formatValue(null), '—');
  assert.equal(formatValue(NaN), '—');
  assert.equal(parseValue('+Inf'), Infinity);
  assert.ok(Number.isNaN(parseValue('NaN')));
});

test('durations read and write as Prometheus spells them', () => {
  assert.equal(parseDuration('1h30m'), 5400);
  assert.equal(parseDuration('2d'), 172800);
  assert.equal(parseDuration('1w'), 604800);
  assert.ok(Number.isNaN(parseDuration('')));
  assert.ok(Number.isNaN(parseDuration('5 minutes')));
  assert.equal(formatDuration(90), '1m30s');
  assert.equal(formatDuration(86400), '1d');
  assert.equal(formatDuration(0), '0s');
});
