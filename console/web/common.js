// What every console page shares: the API wrapper (session cookie, CSRF
// header, 401 -> login), the top bar, and small DOM and formatting helpers.
// Values from the server only ever go into the page as text (el(), never
// innerHTML), so a tenant or model name cannot inject markup.

export const BASE = '/console';
const API = `${BASE}/api`;

// The five pages of the top bar, in order. login.js also uses this list to
// accept only these pages as where to go back to after logging in.
export const PAGES = [
  { id: 'overview', file: 'index.html', href: `${BASE}/`, label: 'Overview' },
  { id: 'usage', file: 'usage.html', href: `${BASE}/usage.html`, label: 'Usage' },
  { id: 'keys', file: 'keys.html', href: `${BASE}/keys.html`, label: 'Tenants & keys' },
  { id: 'playground', file: 'playground.html', href: `${BASE}/playground.html`, label: 'Playground' },
  { id: 'requests', file: 'requests.html', href: `${BASE}/requests.html`, label: 'Requests' },
];

// The session's CSRF token, from GET /console/api/session; every POST sends it.
let csrfToken = null;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function goToLogin() {
  const here = location.pathname.split('/').pop();
  const comeBack = PAGES.some((page) => page.file === here) && here !== 'index.html';
  location.assign(`${BASE}/login.html${comeBack ? `?next=${here}` : ''}`);
}

// fetch() on the console API: the session cookie goes along, a POST carries
// JSON and the CSRF header, and a 401 (no or an ended session) goes to the
// login page. Returns the Response, whatever its status otherwise.
export async function apiFetch(path, { method = 'GET', body, signal, headers = {}, redirectOn401 = true } = {}) {
  const init = { method, credentials: 'same-origin', signal, headers: { Accept: 'application/json', ...headers } };
  if (method !== 'GET') {
    init.headers['Content-Type'] = 'application/json';
    if (csrfToken) init.headers['X-Sluice-CSRF'] = csrfToken;
    init.body = JSON.stringify(body ?? {});
  }
  const response = await fetch(`${API}${path}`, init);
  if (response.status === 401 && redirectOn401) {
    goToLogin();
    throw new ApiError(401, 'session_ended', 'the session has ended; log in again');
  }
  return response;
}

export async function readJson(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

export function errorFrom(response, data) {
  const error = data && typeof data.error === 'object' ? data.error : {};
  return new ApiError(response.status, error.code ?? '', error.message ?? `the server answered ${response.status}`);
}

// The JSON body of a console API call; a 4xx/5xx becomes an ApiError with the server's message.
export async function api(path, options) {
  const response = await apiFetch(path, options);
  const data = await readJson(response);
  if (!response.ok) throw errorFrom(response, data);
  return data;
}

// Every page but login.html starts here: top bar, then the session (a 401 goes to login).
export async function startPage(current) {
  renderTopBar(current);
  const session = await api('/session');
  csrfToken = session.csrf;
  const who = document.querySelector('#session-who');
  if (who) who.textContent = `${shown(session.tenant)} · ${shown(session.key_id)}`;
  return session;
}

function renderTopBar(current) {
  const bar = document.querySelector('#topbar');
  if (!bar) return;
  const links = PAGES.map((page) =>
    el('a', {
      href: page.href,
      'data-page': page.id,
      class: page.id === current ? 'active' : null,
      'aria-current': page.id === current ? 'page' : null,
    }, page.label));
  const logout = el('button', { type: 'button', id: 'logout', class: 'btn btn-sm btn-bar' }, 'Log out');
  logout.addEventListener('click', logOut);
  bar.replaceChildren(
    el('a', { class: 'brand', href: `${BASE}/` }, 'Sluice'),
    el('nav', { 'aria-label': 'Console pages' }, links),
    el('div', { class: 'session' }, el('span', { id: 'session-who', class: 'who' }), logout));
}

async function logOut() {
  try {
    await apiFetch('/logout', { method: 'POST', redirectOn401: false });
  } finally {
    location.assign(`${BASE}/login.html`);
  }
}

// The page's error line (#page-error): shown until the next success clears it.
export function showError(message) {
  const box = document.querySelector('#page-error');
  if (!box) return;
  box.textContent = message;
  box.hidden = false;
}

export function clearError() {
  const box = document.querySelector('#page-error');
  if (box) box.hidden = true;
}

// For a page's top-level promise: a 401 is already on its way to login.
export function reportFailure(error) {
  if (error instanceof ApiError && error.status === 401) return;
  showError(error.message || String(error));
}

// ---- DOM

// el('td', {class: 'num', 'data-field': 'circuit'}, child, 'text', ...):
// attributes by setAttribute (null/false leave one out), children as nodes
// or text. No style attribute: the CSP refuses them.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// ---- formatting: anything missing shows as an em dash

export const NONE = '—';

export function shown(value) {
  if (value === null || value === undefined || value === '') return NONE;
  if (Array.isArray(value)) return value.length ? value.join(', ') : NONE;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function formatCount(value) {
  return typeof value === 'number' && Number.isFinite(value) ? value.toLocaleString('en-US') : NONE;
}

export function formatMs(value) {
  return typeof value === 'number' && Number.isFinite(value) ? `${value.toLocaleString('en-US')} ms` : NONE;
}

export function yesNo(value) {
  return value === true ? 'yes' : value === false ? 'no' : NONE;
}

// Times come as Unix seconds (/v1/health), Unix milliseconds or date strings.
export function toDate(value) {
  if (typeof value === 'number' && Number.isFinite(value)) return new Date(value < 1e11 ? value * 1000 : value);
  if (typeof value === 'string' && value) {
    // The store writes "2026-12-06 08:00:00Z"; ISO wants a "T" there.
    const ms = Date.parse(value.replace(/^(\d{4}-\d\d-\d\d) /, '$1T'));
    return Number.isNaN(ms) ? null : new Date(ms);
  }
  return null;
}

const pad = (n) => String(n).padStart(2, '0');

// Local time, "2026-12-06 08:00:03".
export function formatTime(value) {
  const date = toDate(value);
  if (!date) return NONE;
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

// "12 s ago", "in 8 s", "3 min ago", "2 h ago", "4 d ago".
export function formatAgo(value, now = Date.now()) {
  const date = toDate(value);
  if (!date) return NONE;
  const seconds = Math.round((date.getTime() - now) / 1000);
  const size = Math.abs(seconds);
  const amount = size < 90 ? `${size} s` : size < 5400 ? `${Math.round(size / 60)} min`
    : size < 172800 ? `${Math.round(size / 3600)} h` : `${Math.round(size / 86400)} d`;
  return seconds > 0 ? `in ${amount}` : `${amount} ago`;
}

// A state as a coloured pill; its text is the state itself, so a test can read it.
const TONES = {
  closed: 'ok', open: 'bad', half_open: 'warn',
  ok: 'ok', ready: 'ok', degraded: 'warn',
  enabled: 'ok', active: 'ok', disabled: 'warn', revoked: 'bad', expired: 'muted',
};

export function badge(state, tone = TONES[state] ?? 'muted') {
  return el('span', { class: `badge badge-${tone}` }, shown(state));
}

export function statusBadge(status) {
  const tone = typeof status !== 'number' ? 'muted' : status < 300 ? 'ok' : status < 500 ? 'warn' : 'bad';
  return badge(status, tone);
}
