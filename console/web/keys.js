// Tenants and keys: list them, create them, and change their state.
// A new key's text is put in #new-key for as long as its dialog is open and
// nowhere else: not in a variable, not in the list, not in storage. Closing
// the dialog (Done or Escape) empties it.
// Revoking cannot be undone, so it asks first, in an in-page <dialog>
// (#confirm-dialog: #confirm-yes / #confirm-no) rather than window.confirm().
import {
  api, badge, clearError, el, formatAgo, formatTime, reportFailure, shown, startPage, yesNo, NONE,
} from './common.js';

const $ = (selector) => document.querySelector(selector);
const tenantsBody = $('#tenants-body');
const keysBody = $('#keys-body');
const keyTenant = $('#key-tenant');
const filterTenant = $('#keys-filter-tenant');
const statusLine = $('#keys-status');
const newKeyDialog = $('#new-key-dialog');
const newKey = $('#new-key');
const confirmDialog = $('#confirm-dialog');
const actionsBody = $('#actions-body');

let allKeys = [];

const path = (...parts) => parts.map(encodeURIComponent).join('/');

function say(message) {
  statusLine.textContent = message;
}

function modelsText(models) {
  return models === 'all' ? 'all' : shown(models);
}

// {"rpm": 60, "tpm": null} -> "rpm 60"
function limitsText(limits) {
  if (!limits || typeof limits !== 'object') return NONE;
  const set = Object.entries(limits).filter(([, value]) => value !== null && value !== undefined && value !== 0);
  return set.length ? set.map(([name, value]) => `${name} ${shown(value)}`).join(', ') : NONE;
}

function actionButton(action, label, danger = false) {
  return el('button', { type: 'button', class: `btn btn-sm${danger ? ' btn-danger' : ''}`, 'data-action': action }, label);
}

function tenantRow(tenant) {
  const actions = tenant.state === 'enabled' ? [actionButton('disable', 'Disable')]
    : tenant.state === 'disabled' ? [actionButton('enable', 'Enable')] : [];
  return el('tr', { 'data-tenant': tenant.name },
    el('td', {}, el('strong', {}, shown(tenant.name))),
    el('td', { 'data-field': 'state' }, badge(tenant.state)),
    el('td', {}, yesNo(tenant.admin)),
    el('td', {}, modelsText(tenant.models)),
    el('td', {}, limitsText(tenant.limits)),
    el('td', {}, yesNo(tenant.log_prompts)),
    el('td', { class: 'nowrap' }, formatTime(tenant.created)),
    el('td', { class: 'actions' }, actions));
}

function keyRow(key) {
  const actions = [];
  if (key.state === 'active') actions.push(actionButton('disable', 'Disable'));
  if (key.state === 'disabled') actions.push(actionButton('enable', 'Enable'));
  if (key.state === 'active' || key.state === 'disabled') actions.push(actionButton('revoke', 'Revoke', true));
  return el('tr', { 'data-key-id': key.key_id, 'data-tenant': key.tenant },
    el('td', {}, el('code', {}, shown(key.key_id))),
    el('td', {}, shown(key.tenant)),
    el('td', { 'data-field': 'state' }, badge(key.state)),
    el('td', {}, yesNo(key.admin)),
    el('td', {}, modelsText(key.models)),
    el('td', { class: 'nowrap' }, formatTime(key.created)),
    el('td', { class: 'nowrap' }, key.last_used ? formatAgo(key.last_used) : 'never'),
    el('td', { class: 'nowrap' }, key.expires ? formatTime(key.expires) : 'never'),
    el('td', { class: 'actions' }, actions));
}

function emptyRow(columns, text) {
  return el('tr', {}, el('td', { colspan: columns, class: 'empty' }, text));
}

// Rebuilds a <select> of tenant names, keeping what was chosen.
function fillTenantSelect(select, names, firstOption) {
  const chosen = select.value;
  select.replaceChildren(...(firstOption ? [firstOption] : []), ...names.map((name) => el('option', { value: name }, name)));
  if ([...select.options].some((option) => option.value === chosen)) select.value = chosen;
}

function renderKeys() {
  const wanted = filterTenant.value;
  const shownKeys = allKeys.filter((key) => !wanted || key.tenant === wanted);
  keysBody.replaceChildren(...(shownKeys.length ? shownKeys.map(keyRow) : [emptyRow(9, 'No keys.')]));
}

// One line of the operators' trail.
function actionRow(action) {
  return el('tr', { 'data-action': shown(action.action) },
    el('td', {}, formatTime(action.at)),
    el('td', {}, shown(action.action)),
    el('td', { class: 'mono' }, shown(action.subject)),
    el('td', { class: 'mono' }, shown(action.actor)),
    el('td', {}, shown(action.via)),
    el('td', {}, shown(action.client_address || NONE)));
}

async function reload() {
  const [tenantList, keyList, actionList] = await Promise.all([api('/tenants'), api('/keys'), api('/actions?limit=20')]);
  const actions = (actionList?.actions ?? []).filter((action) => action && action.action);
  actionsBody.replaceChildren(...(actions.length ? actions.map(actionRow) : [emptyRow(6, 'No changes yet.')]));
  const tenants = (tenantList?.tenants ?? []).filter((tenant) => tenant && tenant.name);
  allKeys = (keyList?.keys ?? []).filter((key) => key && key.key_id);
  tenantsBody.replaceChildren(...(tenants.length ? tenants.map(tenantRow) : [emptyRow(8, 'No tenants yet.')]));
  fillTenantSelect(keyTenant, tenants.filter((tenant) => tenant.state !== 'expired').map((tenant) => tenant.name));
  fillTenantSelect(filterTenant, tenants.map((tenant) => tenant.name), el('option', { value: '' }, 'all'));
  renderKeys();
  clearError();
}

// Runs a change, then shows the lists as they now are.
async function change(button, work, done) {
  say('');
  button.disabled = true;
  try {
    await work();
    say(done);
    await reload();
  } catch (error) {
    reportFailure(error);
  } finally {
    button.disabled = false;
  }
}

function confirmInPage(message, actionLabel) {
  $('#confirm-text').textContent = message;
  $('#confirm-yes').textContent = actionLabel;
  confirmDialog.returnValue = '';
  confirmDialog.showModal();
  return new Promise((resolve) => {
    confirmDialog.addEventListener('close', () => resolve(confirmDialog.returnValue === 'yes'), { once: true });
  });
}

async function onTenantAction(event) {
  const button = event.target.closest('button[data-action]');
  if (!button) return;
  const name = button.closest('tr').dataset.tenant;
  const action = button.dataset.action;
  await change(button, () => api(`/tenants/${path(name, action)}`, { method: 'POST' }), `Tenant ${name}: ${action}d.`);
}

async function onKeyAction(event) {
  const button = event.target.closest('button[data-action]');
  if (!button) return;
  const keyId = button.closest('tr').dataset.keyId;
  const action = button.dataset.action;
  if (action === 'revoke' &&
      !await confirmInPage(`Revoke key ${keyId}? Every client using it is refused from now on; this cannot be undone.`, 'Revoke')) {
    return;
  }
  await change(button, () => api(`/keys/${path(keyId, action)}`, { method: 'POST' }),
    `Key ${keyId}: ${action === 'revoke' ? 'revoked' : `${action}d`}.`);
}

async function createTenant(event) {
  event.preventDefault();
  const nameInput = $('#tenant-name');
  const name = nameInput.value.trim();
  if (!name) return;
  await change($('#tenant-create'), async () => {
    await api('/tenants', { method: 'POST', body: { name, all_models: $('#tenant-all-models').checked } });
    nameInput.value = '';
  }, `Tenant ${name} created.`);
  // The next key is most likely for the tenant just made.
  if ([...keyTenant.options].some((option) => option.value === name)) keyTenant.value = name;
}

async function createKey(event) {
  event.preventDefault();
  const tenant = keyTenant.value;
  if (!tenant) return;
  await change($('#key-create'), async () => {
    const created = await api('/keys', { method: 'POST', body: { tenant, admin: $('#key-admin').checked } });
    $('#new-key-tenant').textContent = shown(created.tenant ?? tenant);
    $('#new-key-id').textContent = shown(created.key_id);
    $('#copy-status').textContent = '';
    newKey.textContent = created.key ?? '';
    newKeyDialog.showModal();
  }, `Key created for ${tenant}.`);
}

async function copyKey() {
  const copyStatus = $('#copy-status');
  try {
    await navigator.clipboard.writeText(newKey.textContent);
    copyStatus.textContent = '· copied';
  } catch {
    // No clipboard (plain http on another host, or refused): select it for Ctrl+C.
    getSelection().selectAllChildren(newKey);
    copyStatus.textContent = '· selected: press Ctrl+C to copy';
  }
}

$('#tenant-form').addEventListener('submit', createTenant);
$('#key-form').addEventListener('submit', createKey);
tenantsBody.addEventListener('click', onTenantAction);
keysBody.addEventListener('click', onKeyAction);
filterTenant.addEventListener('change', renderKeys);
$('#copy-key').addEventListener('click', copyKey);
$('#new-key-close').addEventListener('click', () => newKeyDialog.close());
newKeyDialog.addEventListener('close', () => {
  newKey.textContent = '';
  getSelection().removeAllRanges();
});
$('#confirm-yes').addEventListener('click', () => confirmDialog.close('yes'));
$('#confirm-no').addEventListener('click', () => confirmDialog.close('no'));

startPage('keys').then(reload).catch(reportFailure);
