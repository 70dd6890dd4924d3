// Overview: the gateway's /v1/health as the console API relays it, polled
// every 2 s. Field names are /v1/health's (docs/troubleshooting.md); any
// field missing from an answer shows as a dash, never as an error.
import {
  api, badge, clearError, el, formatAgo, formatCount, formatTime, reportFailure, shown, showError, startPage, yesNo, NONE,
} from './common.js';

const POLL_MS = 2000;

const summary = document.querySelector('#overview-summary');
const backendsBody = document.querySelector('#backends-body');
const modelPanel = document.querySelector('#model-circuits-panel');
const modelBody = document.querySelector('#model-circuits-body');
const updated = document.querySelector('#overview-updated');

// /v1/health names the circuit "state"; the console contract's draft said "circuit".
const circuitOf = (backend) => backend.state ?? backend.circuit;
// A count, or a list of names (counted).
const countOf = (value) => (Array.isArray(value) ? value.length : typeof value === 'number' ? value : null);

function card(label, value, detail) {
  return el('div', { class: 'card' },
    el('div', { class: 'label' }, label),
    el('div', { class: 'value' }, value),
    detail ? el('div', { class: 'detail' }, detail) : null);
}

function renderSummary(overview, health, backends) {
  const available = backends.filter((backend) => backend.available === true).length;
  const open = backends.filter((backend) => circuitOf(backend) === 'open').length;
  const queue = health.queue ?? {};
  const config = overview.config ?? {};
  const generation = config.generation ?? health.config_generation;
  const loadedAt = config.loaded_at ?? health.config_loaded_at;
  summary.replaceChildren(
    card('Status', badge(health.status)),
    card('Backends available', `${available} of ${backends.length}`,
      open ? `${open} circuit${open === 1 ? '' : 's'} open` : 'no circuit open'),
    card('Queue', `${formatCount(queue.depth)} / ${formatCount(queue.max_depth)}`,
      `max wait ${formatCount(queue.max_wait_ms)} ms${queue.shared === true ? ', shared across instances' : ''}`),
    card('Configuration', `generation ${shown(generation)}`, `loaded ${formatTime(loadedAt)}`),
    el('div', { class: 'card wide' },
      el('div', { class: 'label' }, 'Pipeline'),
      el('div', { class: 'detail mono' }, shown(health.pipeline))));
}

// The console's overview adds the names behind the counts (hosted_models, loaded_models).
function modelNames(backend) {
  const names = (list) => (Array.isArray(list) && list.length ? list.join(', ') : null);
  const hosted = names(backend.hosted_models);
  const loaded = names(backend.loaded_models);
  if (!hosted && !loaded) return null;
  return `hosted: ${hosted ?? NONE}\nloaded: ${loaded ?? NONE}`;
}

function slotsText(slots) {
  if (!slots || typeof slots !== 'object') return NONE;
  let text = `${formatCount(slots.in_use_here)} of ${slots.limit == null ? 'no limit' : formatCount(slots.limit)}`;
  if (typeof slots.in_use_fleet === 'number') text += `, fleet ${formatCount(slots.in_use_fleet)}`;
  if (typeof slots.saturated_for_ms === 'number') text += `, saturated ${formatCount(slots.saturated_for_ms)} ms`;
  return text;
}

function lastErrorCell(message, at) {
  if (!message) return el('td', { 'data-field': 'last_error' }, NONE);
  return el('td', { class: 'error-text', 'data-field': 'last_error' },
    message, at == null ? null : el('div', { class: 'muted small' }, formatAgo(at)));
}

function backendRow(backend, now) {
  const circuit = circuitOf(backend);
  const firstByte = typeof backend.first_byte_ms_avg === 'number' ? `${backend.first_byte_ms_avg} ms` : NONE;
  return el('tr', { 'data-backend': backend.name },
    el('td', { 'data-field': 'name' },
      el('strong', {}, shown(backend.name)), backend.kind ? el('div', { class: 'muted small' }, backend.kind) : null),
    el('td', { 'data-field': 'circuit' }, badge(circuit)),
    el('td', { 'data-field': 'available' }, yesNo(backend.available)),
    el('td', { class: 'num', 'data-field': 'in_flight' }, formatCount(backend.in_flight)),
    el('td', { class: 'num', 'data-field': 'consecutive_failures' }, formatCount(backend.consecutive_failures)),
    el('td', { class: 'num', 'data-field': 'failovers' }, formatCount(backend.failovers)),
    el('td', { class: 'nowrap', 'data-field': 'unhealthy_until' }, circuit === 'closed' ? NONE : formatAgo(backend.unhealthy_until, now)),
    el('td', { class: 'num', 'data-field': 'first_byte_ms_avg' }, firstByte),
    el('td', { class: 'num', 'data-field': 'models', title: modelNames(backend) },
      `${formatCount(countOf(backend.models))} / ${formatCount(countOf(backend.loaded))}`),
    el('td', { class: 'nowrap', 'data-field': 'slots' }, slotsText(backend.slots)),
    el('td', { class: 'nowrap', 'data-field': 'last_poll' }, formatAgo(backend.last_poll, now)),
    lastErrorCell(backend.last_error, backend.last_error_at));
}

function modelCircuitRows(backends, now) {
  const rows = [];
  for (const backend of backends) {
    for (const model of Array.isArray(backend.model_circuits) ? backend.model_circuits : []) {
      rows.push(el('tr', { 'data-model-backend': backend.name, 'data-model': model.model },
        el('td', {}, shown(backend.name)),
        el('td', {}, shown(model.model)),
        el('td', { 'data-field': 'circuit' }, badge(model.state)),
        el('td', { class: 'num' }, formatCount(model.consecutive_failures)),
        el('td', { class: 'nowrap' }, model.state === 'closed' ? NONE : formatAgo(model.unhealthy_until, now)),
        lastErrorCell(model.last_error, model.last_error_at)));
    }
  }
  return rows;
}

function render(overview) {
  const health = overview?.health ?? {};
  const backends = (Array.isArray(health.backends) ? health.backends : []).filter((backend) => backend && typeof backend === 'object');
  const now = Date.now();
  renderSummary(overview ?? {}, health, backends);
  backendsBody.replaceChildren(...(backends.length
    ? backends.map((backend) => backendRow(backend, now))
    : [el('tr', {}, el('td', { colspan: 12, class: 'empty' }, 'No backends configured.'))]));
  const modelRows = modelCircuitRows(backends, now);
  modelBody.replaceChildren(...modelRows);
  modelPanel.hidden = modelRows.length === 0;
  updated.textContent = `updated ${formatTime(now)}, every ${POLL_MS / 1000} s`;
}

async function refresh() {
  try {
    render(await api('/overview'));
    clearError();
  } catch (error) {
    if (error.status === 401) return;  // on its way to the login page
    showError(`Could not refresh: ${error.message}. The figures below may be stale.`);
  }
  setTimeout(refresh, POLL_MS);
}

startPage('overview').then(refresh, reportFailure);
