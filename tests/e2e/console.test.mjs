// The operator console in a real browser (headless Chromium through
// playwright-core) against a real sluiced: log in, watch a backend's
// circuit open, make and revoke a key, use the playground, read usage and
// the audit trail. One browser for the whole file; the flows run in order
// and build on each other (flow 2 kills backend b, later flows see it gone).
// Every flow also fails on a Content-Security-Policy violation or an
// uncaught error in a page: the console must run under its strict CSP.
//
// The runner sets:
//   SLUICE_URL                the gateway, e.g. http://127.0.0.1:PORT (console.enabled = true)
//   SLUICE_ADMIN_KEY          a key of an admin tenant
//   SLUICE_USER_KEY           an ordinary key (not admin)
//   SLUICE_KILL_BACKEND_CMD   a shell command that kills fake backend "b"
//   SLUICE_SCREENSHOTS        a folder for overview.png, keys.png, playground.png, usage.png, requests.png
// Backends "a" and "b" both host llama3.2; tenant "team-a" exists and may use it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { exec } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const baseUrl = (process.env.SLUICE_URL ?? '').replace(/\/+$/, '');
const adminKey = process.env.SLUICE_ADMIN_KEY;
const userKey = process.env.SLUICE_USER_KEY;
const killBackendCommand = process.env.SLUICE_KILL_BACKEND_CMD;
const screenshots = process.env.SLUICE_SCREENSHOTS;
if (!baseUrl || !adminKey || !userKey || !killBackendCommand || !screenshots) {
  throw new Error('run through the console runner (SLUICE_URL, SLUICE_ADMIN_KEY, SLUICE_USER_KEY, SLUICE_KILL_BACKEND_CMD, SLUICE_SCREENSHOTS)');
}
const model = 'llama3.2';
const consolePage = (file = '') => `${baseUrl}/console/${file}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let profile;
let context;
let page;
// CSP violations and page errors seen during the running flow.
const problems = [];

before(async () => {
  profile = await mkdtemp(path.join(tmpdir(), 'sluice-console-'));
  await mkdir(screenshots, { recursive: true });
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1360, height: 860 },
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-first-run', '--disable-gpu'],
  });
  // Each page reports its CSP violations to the test as they happen, so
  // one on a page that is navigated away from at once still counts.
  await context.exposeBinding('__sluiceCspViolation', ({ frame }, text) => problems.push(`CSP on ${frame.url()}: ${text}`));
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      window.__sluiceCspViolation(`${event.violatedDirective} refused ${event.blockedURI || 'inline code'}` +
        ` (${event.sourceFile || 'the page'}:${event.lineNumber})`);
    });
  });
  page = context.pages()[0] ?? await context.newPage();
  page.on('pageerror', (error) => problems.push(`error on ${page.url()}: ${error.message}`));
  page.on('console', (message) => {
    if (/Content[ -]Security[ -]Policy/i.test(message.text())) problems.push(`console on ${page.url()}: ${message.text()}`);
  });
});

after(async () => {
  await context?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
});

// A browser flow: it fails on its own assertions, and on any CSP violation
// or page error seen while it ran.
function flow(name, body) {
  test(name, async () => {
    problems.length = 0;
    try {
      await body();
    } catch (error) {
      if (problems.length) error.message += `\nalso seen:\n${problems.join('\n')}`;
      throw error;
    }
    assert.deepEqual(problems, [], 'no CSP violation and no page error');
  });
}

async function chat(key) {
  const response = await fetch(`${baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'ping' }] }),
  });
  await response.arrayBuffer();
  return response.status;
}

// Polls `probe` until `done(value)`, failing with the last value after `timeoutMs`.
async function eventually(what, timeoutMs, probe, done, pauseMs = 300) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what} within ${timeoutMs} ms; last seen: ${JSON.stringify(value)}`);
    await sleep(pauseMs);
  }
}

const textOf = async (selector) => ((await page.locator(selector).first().textContent({ timeout: 1000 }).catch(() => null)) ?? '').trim();
const circuitOf = (backend) => textOf(`#backends-body tr[data-backend="${backend}"] [data-field="circuit"]`);
const shoot = (file) => page.screenshot({ path: path.join(screenshots, file), fullPage: true });

async function openFromNav(pageId, file) {
  await page.click(`#topbar a[data-page="${pageId}"]`);
  await page.waitForURL(`**/console/${file}`);
}

test('the console API refuses an ordinary key and a missing session', async () => {
  const login = await fetch(`${baseUrl}/console/api/login`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${userKey}`, 'Content-Type': 'application/json' },
    body: '{}',
  });
  assert.equal(login.status, 403);
  assert.equal((await login.json()).error?.code, 'console_forbidden');
  assert.equal(login.headers.get('set-cookie'), null);

  const withBearer = await fetch(`${baseUrl}/console/api/overview`, { headers: { Authorization: `Bearer ${userKey}` } });
  assert.equal(withBearer.status, 401, 'an API key is no console session');
  await withBearer.arrayBuffer();

  const noCookie = await fetch(`${baseUrl}/console/api/keys`);
  assert.equal(noCookie.status, 401);
  await noCookie.arrayBuffer();
});

flow('1 log in with the admin key; the overview shows backends a and b', async () => {
  await page.goto(consolePage());
  await page.waitForURL('**/console/login.html*');

  await page.fill('#login-key', userKey);
  await page.click('#login-submit');
  await page.locator('#login-error').waitFor({ state: 'visible' });
  assert.match(await textOf('#login-error'), /not an admin key/);

  await page.fill('#login-key', adminKey);
  await page.click('#login-submit');
  await page.waitForURL((url) => url.pathname === '/console/' || url.pathname === '/console/index.html');
  for (const backend of ['a', 'b']) {
    await page.locator(`#backends-body tr[data-backend="${backend}"] [data-field="circuit"]`).waitFor();
    assert.match(await circuitOf(backend), /^(closed|open|half_open)$/);
  }
  await shoot('overview.png');
});

flow('2 with backend b killed, chats fail over to a and the overview shows b\'s circuit open', async () => {
  await promisify(exec)(killBackendCommand);
  for (let i = 0; i < 3; i++) assert.equal(await chat(adminKey), 200, 'failed over to a');
  // A router that tries a first never meets b: keep asking until b's failures
  // (its requests or its probes) open the circuit, as the page shows it.
  await eventually('backend b\'s circuit open on the overview', 20_000, async () => {
    const circuit = await circuitOf('b');
    if (circuit !== 'open') assert.equal(await chat(adminKey), 200, 'failed over to a');
    return circuit;
  }, (circuit) => circuit === 'open', 500);
  assert.equal(await circuitOf('a'), 'closed');
  // The failovers away from b show on its row once the page refreshes.
  await eventually('b\'s failovers on the overview', 10_000,
    async () => Number((await page.locator('#backends-body tr[data-backend="b"] [data-field="failovers"]').textContent()).trim()),
    (count) => count >= 1, 500);
  await shoot('overview.png');  // the fleet with one circuit open: the docs' picture
});

flow('3 a key made on the keys page works until it is revoked there', async () => {
  await openFromNav('keys', 'keys.html');
  await page.locator('#key-tenant option[value="team-a"]').waitFor({ state: 'attached' });
  await page.selectOption('#key-tenant', 'team-a');
  await page.setChecked('#key-admin', false);
  await page.click('#key-create');
  await page.locator('#new-key').waitFor({ state: 'visible' });
  const key = await textOf('#new-key');
  const keyId = await textOf('#new-key-id');
  assert.ok(key.length >= 16, 'the new key is shown');
  assert.ok(keyId && keyId !== '—', 'with its key id');

  assert.equal(await chat(key), 200, 'the new key is accepted');

  await page.click('#new-key-close');
  await page.locator('#new-key-dialog').waitFor({ state: 'hidden' });
  assert.ok(!(await page.content()).includes(key), 'the key text is gone from the page once its box is closed');

  const row = page.locator(`#keys-body tr[data-key-id=${JSON.stringify(keyId)}]`);
  await row.waitFor();
  assert.equal((await row.locator('[data-field="state"]').textContent()).trim(), 'active');
  await row.locator('button[data-action="revoke"]').click();
  await page.locator('#confirm-dialog').waitFor({ state: 'visible' });
  await page.click('#confirm-yes');
  await eventually('the key\'s row to read revoked', 10_000,
    async () => (await row.locator('[data-field="state"]').textContent()).trim(), (state) => state === 'revoked');

  await eventually('the revoked key to be refused', 10_000, () => chat(key), (status) => status === 401, 500);
  // The trail on the page names the change and who made it.
  const revokeLine = page.locator(`#actions-body tr[data-action="key.revoke"]`).first();
  await revokeLine.waitFor();
  assert.match(await revokeLine.textContent(), new RegExp(`key:${keyId}`));
  assert.ok(!(await page.content()).includes(key), 'no key text in the page for the screenshot');
  await shoot('keys.png');
});

flow('4 the playground streams an answer and names the backend that served it', async () => {
  await openFromNav('playground', 'playground.html');
  // The list names models as /v1/models does ("llama3.2:latest").
  const option = page.locator(`#playground-model option[value^="${model}"]`).first();
  await option.waitFor({ state: 'attached' });
  await page.selectOption('#playground-model', await option.getAttribute('value'));
  await page.fill('#playground-prompt', 'hello');
  await page.click('#playground-send');
  await page.waitForFunction(() =>
    document.querySelector('#playground-output').textContent.trim() !== '' &&
    /^served by \S+ \/ \S+/.test(document.querySelector('#served-by').textContent.trim()) &&
    !document.querySelector('#playground-send').disabled, null, { timeout: 30_000 });
  assert.equal(await page.locator('#playground-error').isVisible(), false, await textOf('#playground-error'));
  assert.match(await textOf('#served-by'), /^served by (a|b) \//);
  await shoot('playground.png');
});

flow('5 usage charts and totals, and the recent requests, show the requests made', async () => {
  await openFromNav('usage', 'usage.html');
  await page.locator('#requests-chart canvas').waitFor();
  await page.locator('#tokens-chart canvas').waitFor();
  // The audit trail is written behind the requests: refresh until they are counted.
  await eventually('a usage series with requests', 15_000, async () => {
    const counts = await page.locator('#usage-totals-body tr[data-series] [data-field="requests"]').allTextContents();
    if (!counts.some((count) => Number(count.replace(/,/g, '')) > 0)) await page.click('#usage-refresh');
    return counts;
  }, (counts) => counts.some((count) => Number(count.replace(/,/g, '')) > 0), 1000);
  await shoot('usage.png');

  await openFromNav('requests', 'requests.html');
  await eventually('rows of recent requests', 15_000, async () => {
    const rows = await page.locator('#requests-body tr[data-request-id]').count();
    if (rows === 0) await page.click('#requests-refresh');
    return rows;
  }, (rows) => rows > 0, 1000);
  await shoot('requests.png');
});

flow('6 logging out ends the session', async () => {
  await page.click('#logout');
  await page.waitForURL('**/console/login.html*');
  await page.goto(consolePage('keys.html'));
  await page.waitForURL('**/console/login.html*');
});
