// Playground: one streamed chat completion through POST /console/api/playground,
// which answers exactly as /v1/chat/completions does (SSE "data:" lines, then
// "data: [DONE]"; X-Sluice-Backend and X-Sluice-Model name who served it).
import { api, apiFetch, el, errorFrom, readJson, reportFailure, startPage } from './common.js';

const $ = (selector) => document.querySelector(selector);
const form = $('#playground-form');
const modelSelect = $('#playground-model');
const promptInput = $('#playground-prompt');
const sendButton = $('#playground-send');
const stopButton = $('#playground-stop');
const output = $('#playground-output');
const errorBox = $('#playground-error');
const servedBy = $('#served-by');
const stats = $('#playground-stats');

let running = null;  // the AbortController of the answer streaming now

function showAnswerError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
}

function showServedBy(backend, model) {
  servedBy.replaceChildren('served by ', el('strong', {}, backend || '—'), ' / ', el('strong', {}, model || '—'));
}

// Calls onData with each event's data until [DONE] or the end of the body.
async function readEvents(body, onData) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let pending = '';
  for (;;) {
    const { value, done } = await reader.read();
    pending += decoder.decode(value, { stream: !done });
    const lines = pending.split(/\r?\n/);
    pending = done ? '' : lines.pop();
    for (const line of lines) {
      if (!line.startsWith('data:')) continue;  // comments, event names, blank separators
      const data = line.slice(5).trim();
      if (data === '[DONE]') return;
      if (data) onData(data);
    }
    if (done) return;
  }
}

// One chunk of the stream: its text goes on the page; an error frame
// (a failure after the first byte) ends the answer with its message.
function onChunk(data, answer) {
  const chunk = JSON.parse(data);
  if (chunk.error) throw new Error(chunk.error.message ?? 'the stream ended with an error');
  answer.model = answer.model || chunk.model;
  const text = chunk.choices?.[0]?.delta?.content;
  if (typeof text === 'string' && text) {
    answer.firstTextAt = answer.firstTextAt ?? performance.now();
    output.append(text);
  }
}

async function send(event) {
  event?.preventDefault();
  const model = modelSelect.value;
  const prompt = promptInput.value.trim();
  if (!model || !prompt || running) return;
  output.replaceChildren();
  servedBy.replaceChildren();
  stats.textContent = '';
  errorBox.hidden = true;
  running = new AbortController();
  sendButton.disabled = true;
  stopButton.disabled = false;
  const answer = { startedAt: performance.now(), firstTextAt: null, model: null };
  try {
    const response = await apiFetch('/playground', {
      method: 'POST',
      signal: running.signal,
      headers: { Accept: 'text/event-stream, application/json' },
      body: { model, stream: true, messages: [{ role: 'user', content: prompt }] },
    });
    if (!response.ok) throw errorFrom(response, await readJson(response));
    const backend = response.headers.get('X-Sluice-Backend');
    const servedModel = response.headers.get('X-Sluice-Model');
    showServedBy(backend, servedModel);
    if ((response.headers.get('Content-Type') ?? '').includes('text/event-stream')) {
      await readEvents(response.body, (data) => onChunk(data, answer));
    } else {
      // A whole answer after all: show it the same way.
      const whole = await response.json();
      answer.model = whole.model;
      output.append(whole.choices?.[0]?.message?.content ?? '');
    }
    if (!servedModel) showServedBy(backend, answer.model);  // known only from the chunks
    const total = Math.round(performance.now() - answer.startedAt);
    const firstText = answer.firstTextAt === null ? null : Math.round(answer.firstTextAt - answer.startedAt);
    stats.textContent = `${firstText === null ? 'no text' : `first text after ${firstText} ms`}, done after ${total} ms`;
  } catch (error) {
    if (error.name === 'AbortError') {
      stats.textContent = 'Stopped.';
    } else if (error.status !== 401) {
      showAnswerError(error.message || String(error));
    }
  } finally {
    running = null;
    sendButton.disabled = false;
    stopButton.disabled = true;
  }
}

async function loadModels() {
  const list = await api('/models');
  const names = (Array.isArray(list?.models) ? list.models : []).filter((name) => typeof name === 'string' && name);
  modelSelect.replaceChildren(...names.map((name) => el('option', { value: name }, name)));
  if (!names.length) showAnswerError('No model is available to the console\'s tenant.');
}

form.addEventListener('submit', send);
stopButton.addEventListener('click', () => running?.abort());
promptInput.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) send(event);
});

startPage('playground').then(loadModels).catch(reportFailure);
