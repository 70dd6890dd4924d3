// Usage: requests and tokens per time bucket, one line per tenant, key or
// model, from GET /console/api/usage. The server leaves out empty buckets;
// the charts put zeros there so a quiet hour reads as zero, not as a gap.
import { api, clearError, el, formatCount, reportFailure, startPage } from './common.js';

const HOUR = 3600 * 1000;
// Range -> [length, bucket]: 60 to 170 buckets each, enough to see a shape.
const RANGES = {
  '1h': [HOUR, 60 * 1000],
  '6h': [6 * HOUR, 5 * 60 * 1000],
  '24h': [24 * HOUR, 15 * 60 * 1000],
  '7d': [7 * 24 * HOUR, HOUR],
};
const CHART_HEIGHT = 220;
const PALETTE_SIZE = 10;  // --series-0 … --series-9 in console.css

const form = document.querySelector('#usage-form');
const rangeSelect = document.querySelector('#usage-range');
const bySelect = document.querySelector('#usage-by');
const stepNote = document.querySelector('#usage-step');
const requestsBox = document.querySelector('#requests-chart');
const tokensBox = document.querySelector('#tokens-chart');
const totalsHead = document.querySelector('#usage-series-head');
const totalsBody = document.querySelector('#usage-totals-body');
const totalsFoot = document.querySelector('#usage-totals-foot');

let charts = [];

const colorOf = (index) => getComputedStyle(document.documentElement)
  .getPropertyValue(`--series-${index % PALETTE_SIZE}`).trim() || '#2456c4';
const labelOf = (name) => (name === '' ? '(none)' : String(name));

// Points are [bucket_start_ms, requests, prompt_tokens, completion_tokens].
const requestsOf = (point) => Number(point[1]) || 0;
const promptOf = (point) => Number(point[2]) || 0;
const completionOf = (point) => Number(point[3]) || 0;
const tokensOf = (point) => promptOf(point) + completionOf(point);

function bucketStarts(fromMs, toMs, stepMs) {
  const starts = [];
  for (let start = Math.floor(fromMs / stepMs) * stepMs; start < toMs; start += stepMs) starts.push(start);
  return starts;
}

// One value per bucket, zero where the server sent none.
function perBucket(starts, stepMs, points, valueOf) {
  const values = new Array(starts.length).fill(0);
  for (const point of points) {
    const index = Math.floor((point[0] - starts[0]) / stepMs);
    if (index >= 0 && index < values.length) values[index] += valueOf(point);
  }
  return values;
}

// 1-2-5 steps only, so a handful of requests never gets a tick at 0.5.
const WHOLE_STEPS = [1, 2, 5].flatMap((base) => [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8].map((power) => base * power))
  .sort((a, b) => a - b);

function compact(value) {
  if (value >= 1e6) return `${+(value / 1e6).toFixed(1)}M`;
  if (value >= 1e3) return `${+(value / 1e3).toFixed(1)}k`;
  return String(value);
}

function drawChart(box, starts, stepMs, series, valueOf) {
  box.replaceChildren();
  const data = [starts.map((start) => start / 1000), ...series.map((one) => perBucket(starts, stepMs, one.points, valueOf))];
  const options = {
    width: Math.max(box.clientWidth, 320),
    height: CHART_HEIGHT,
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (chart, min, max) => [0, Math.max(4, Math.ceil(max * 1.15))] } },
    axes: [
      { stroke: '#5e6a7a', grid: { stroke: '#eef0f3' } },
      { stroke: '#5e6a7a', grid: { stroke: '#eef0f3' }, incrs: WHOLE_STEPS, size: 56,
        values: (chart, ticks) => ticks.map(compact) },
    ],
    series: [
      { label: 'time' },
      ...series.map((one, index) => ({
        label: labelOf(one.name),
        stroke: colorOf(index),
        width: 1.5,
        points: { size: 4 },
        value: (chart, value) => (value == null ? '—' : formatCount(value)),
      })),
    ],
  };
  return new globalThis.uPlot(options, data, box);  // the vendor script's global
}

function totalOf(one, index) {
  const sum = (valueOf) => one.points.reduce((total, point) => total + valueOf(point), 0);
  return { name: one.name, index, requests: sum(requestsOf), prompt: sum(promptOf), completion: sum(completionOf) };
}

function totalsRow(total) {
  return el('tr', { 'data-series': total.name },
    el('td', {}, el('span', { class: `swatch swatch-${total.index % PALETTE_SIZE}` }), labelOf(total.name)),
    el('td', { class: 'num', 'data-field': 'requests' }, formatCount(total.requests)),
    el('td', { class: 'num', 'data-field': 'prompt_tokens' }, formatCount(total.prompt)),
    el('td', { class: 'num', 'data-field': 'completion_tokens' }, formatCount(total.completion)),
    el('td', { class: 'num', 'data-field': 'total_tokens' }, formatCount(total.prompt + total.completion)));
}

function renderTotals(series) {
  totalsHead.textContent = { tenant: 'Tenant', key: 'Key', model: 'Model' }[bySelect.value] ?? 'Series';
  const totals = series.map(totalOf).sort((a, b) => b.requests - a.requests);
  totalsBody.replaceChildren(...(totals.length
    ? totals.map(totalsRow)
    : [el('tr', {}, el('td', { colspan: 5, class: 'empty' }, 'No requests in this range.'))]));
  if (totals.length < 2) {
    totalsFoot.replaceChildren();
    return;
  }
  const all = totals.reduce((sum, total) => ({
    requests: sum.requests + total.requests, prompt: sum.prompt + total.prompt, completion: sum.completion + total.completion,
  }), { requests: 0, prompt: 0, completion: 0 });
  totalsFoot.replaceChildren(el('tr', {},
    el('td', {}, 'All'),
    el('td', { class: 'num' }, formatCount(all.requests)),
    el('td', { class: 'num' }, formatCount(all.prompt)),
    el('td', { class: 'num' }, formatCount(all.completion)),
    el('td', { class: 'num' }, formatCount(all.prompt + all.completion))));
}

async function load() {
  const [rangeMs, wantedStepMs] = RANGES[rangeSelect.value] ?? RANGES['24h'];
  const toMs = Math.ceil(Date.now() / wantedStepMs) * wantedStepMs;
  const query = new URLSearchParams({ from_ms: toMs - rangeMs, to_ms: toMs, step_ms: wantedStepMs, by: bySelect.value });
  const usage = await api(`/usage?${query}`);
  const stepMs = usage?.step_ms > 0 ? usage.step_ms : wantedStepMs;
  const starts = bucketStarts(usage?.from_ms ?? toMs - rangeMs, usage?.to_ms ?? toMs, stepMs);
  const series = (Array.isArray(usage?.series) ? usage.series : [])
    .filter((one) => one && typeof one === 'object')
    .map((one) => ({ name: one.name == null ? '' : String(one.name), points: Array.isArray(one.points) ? one.points : [] }));
  charts.forEach((chart) => chart.destroy());
  charts = [
    drawChart(requestsBox, starts, stepMs, series, requestsOf),
    drawChart(tokensBox, starts, stepMs, series, tokensOf),
  ];
  stepNote.textContent = `per ${stepMs >= HOUR ? `${stepMs / HOUR} h` : `${stepMs / 60000} min`}`;
  renderTotals(series);
  clearError();
}

function reload(event) {
  event?.preventDefault();
  load().catch(reportFailure);
}

let resizeQueued = false;
function fitCharts() {
  if (resizeQueued) return;
  resizeQueued = true;
  requestAnimationFrame(() => {
    resizeQueued = false;
    charts.forEach((chart) => chart.setSize({ width: Math.max(chart.root.parentElement.clientWidth, 320), height: CHART_HEIGHT }));
  });
}

form.addEventListener('submit', reload);
rangeSelect.addEventListener('change', reload);
bySelect.addEventListener('change', reload);
window.addEventListener('resize', fitCharts);
startPage('usage').then(() => load()).catch(reportFailure);
