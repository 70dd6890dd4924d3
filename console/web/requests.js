// Recent requests: the audit trail, newest first, from GET /console/api/requests.
// Records never carry prompt or answer text. Field names are the audit
// record's (sdk/include/sluice/AuditJson.h: time, latency_ms); the contract's
// draft names (at, duration_ms) are read too.
import {
  api, clearError, el, formatCount, formatMs, formatTime, reportFailure, shown, startPage, statusBadge,
} from './common.js';

const $ = (selector) => document.querySelector(selector);
const body = $('#requests-body');
const count = $('#requests-count');

function modelText(record) {
  const requested = record.requested_model;
  const served = record.served_model;
  const model = !served || served === requested ? shown(requested) : `${shown(requested)} → ${served}`;
  return record.alias && record.alias !== requested ? `${model} (alias ${record.alias})` : model;
}

function tokensText(record) {
  const tokensIn = formatCount(record.prompt_tokens);
  const tokensOut = formatCount(record.completion_tokens);
  return `${tokensIn} / ${tokensOut}${record.tokens_estimated === true ? ' (est.)' : ''}`;
}

function requestRow(record) {
  return el('tr', { 'data-request-id': record.request_id },
    el('td', { class: 'nowrap' }, formatTime(record.at ?? record.time ?? record.at_ms)),
    el('td', {}, shown(record.tenant)),
    el('td', {}, el('code', {}, shown(record.key_id))),
    el('td', { class: 'nowrap' }, shown(record.route)),
    el('td', {}, modelText(record)),
    el('td', { 'data-field': 'served_backend' }, shown(record.served_backend)),
    el('td', { 'data-field': 'status' }, statusBadge(record.status),
      record.outcome && record.outcome !== 'ok' ? el('div', { class: 'muted small' }, record.outcome) : null),
    el('td', { class: 'num' }, tokensText(record)),
    el('td', { class: 'num' }, formatMs(record.latency_ms ?? record.duration_ms)),
    el('td', { class: 'num' }, formatMs(record.first_byte_ms)),
    el('td', { class: 'num' }, formatMs(record.queue_ms)),
    el('td', {}, el('code', { class: 'small' }, shown(record.request_id))));
}

async function load(event) {
  event?.preventDefault();
  const query = new URLSearchParams({ limit: $('#filter-limit').value });
  for (const [name, selector] of [['tenant', '#filter-tenant'], ['model', '#filter-model'], ['status', '#filter-status']]) {
    const value = $(selector).value.trim();
    if (value) query.set(name, value);
  }
  const answer = await api(`/requests?${query}`);
  const records = (Array.isArray(answer?.requests) ? answer.requests : []).filter((record) => record && typeof record === 'object');
  body.replaceChildren(...(records.length
    ? records.map(requestRow)
    : [el('tr', {}, el('td', { colspan: 12, class: 'empty' }, 'No requests match.'))]));
  count.textContent = `${records.length} shown, newest first`;
  clearError();
}

$('#requests-form').addEventListener('submit', (event) => load(event).catch(reportFailure));
$('#filter-status').addEventListener('change', () => load().catch(reportFailure));
$('#filter-limit').addEventListener('change', () => load().catch(reportFailure));

startPage('requests').then(() => load()).catch(reportFailure);
