// Log in: the admin key goes once, as a Bearer header, to POST
// /console/api/login, which answers with the session cookie. The key is
// never stored: the field is cleared as soon as the server has accepted it.
import { BASE, PAGES, apiFetch, readJson } from './common.js';

const form = document.querySelector('#login-form');
const keyInput = document.querySelector('#login-key');
const submit = document.querySelector('#login-submit');
const errorBox = document.querySelector('#login-error');

// Only a page of the console, never an address from the query string.
function nextPage() {
  const next = new URLSearchParams(location.search).get('next');
  const page = PAGES.find((candidate) => candidate.file === next);
  return page ? page.href : `${BASE}/`;
}

function showLoginError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
}

const MESSAGES = {
  401: 'This key is not valid: unknown, revoked, expired, or of a disabled tenant.',
  403: 'This key is valid but not an admin key; the console needs an admin key.',
  429: 'Too many failed attempts from this address; wait a minute and try again.',
};

async function logIn(event) {
  event.preventDefault();
  const key = keyInput.value.trim();
  if (!key) return;
  errorBox.hidden = true;
  submit.disabled = true;
  try {
    const response = await apiFetch('/login', {
      method: 'POST', body: {}, headers: { Authorization: `Bearer ${key}` }, redirectOn401: false,
    });
    if (response.ok) {
      keyInput.value = '';
      location.assign(nextPage());
      return;
    }
    const data = await readJson(response);
    showLoginError(MESSAGES[response.status] ?? data?.error?.message ?? `The server answered ${response.status}.`);
    keyInput.select();
  } catch (error) {
    showLoginError(`Cannot reach the gateway: ${error.message}`);
  } finally {
    submit.disabled = false;
  }
}

// Someone with a live session has nothing to do here.
async function skipIfLoggedIn() {
  try {
    const response = await apiFetch('/session', { redirectOn401: false });
    if (response.ok) location.replace(nextPage());
  } catch {
    // No gateway answer: the form stays; logging in will say why.
  }
}

form.addEventListener('submit', logIn);
keyInput.focus();
skipIfLoggedIn();
