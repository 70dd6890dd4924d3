// The official openai and ollama JavaScript clients as referees: if either
// client rejects what Sluice (or the fake backend) sends, the wire format is
// wrong. Point SLUICE_URL at a gateway, or at tests/fakes' sluice-fake-backend
// started with --kind ollama (it speaks both APIs). SLUICE_OPENAI_ONLY_MODEL
// names a model the gateway serves only from an OpenAI-compatible backend:
// the ollama client's calls for it go through Sluice's translation (skipped
// when unset).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { Ollama } from 'ollama';

const baseUrl = (process.env.SLUICE_URL ?? '').replace(/\/+$/, '');
const apiKey = process.env.SLUICE_API_KEY || 'sk-test';
const model = process.env.SLUICE_MODEL || 'llama3.2';
const embedModel = process.env.SLUICE_EMBED_MODEL || 'nomic-embed-text';
const openAiOnlyModel = process.env.SLUICE_OPENAI_ONLY_MODEL;
const translated = { skip: openAiOnlyModel ? false : 'SLUICE_OPENAI_ONLY_MODEL is not set' };

if (!baseUrl) throw new Error('set SLUICE_URL, e.g. http://127.0.0.1:8080');

const openai = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey, maxRetries: 0, timeout: 30_000 });
const ollama = new Ollama({ host: baseUrl, headers: { Authorization: `Bearer ${apiKey}` } });

const messages = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Say hello in one short sentence.' },
];

// Reads an ollama stream to its end: the concatenated text, how many parts, the last part.
async function drain(stream, textOf, check = () => {}) {
  let text = '';
  let parts = 0;
  let last;
  for await (const part of stream) {
    check(part);
    text += textOf(part);
    parts += 1;
    last = part;
  }
  return { text, parts, last };
}

// A whole (non-stream) Ollama chat answer, as the client hands it over.
function assertWholeOllamaChat(response) {
  assert.equal(response.done, true);
  assert.equal(response.done_reason, 'stop');
  assert.equal(response.message.role, 'assistant');
  assert.ok(response.message.content.trim().length > 0, 'non-empty content');
  assert.ok(response.prompt_eval_count > 0, 'prompt_eval_count');
  assert.ok(response.eval_count > 0, 'eval_count');
  // Typed as a Date but delivered as the wire's RFC 3339 string.
  assert.ok(!Number.isNaN(new Date(response.created_at).getTime()), 'created_at is a timestamp');
}

// Ollama names without a tag mean ':latest'.
const sameModel = (a, b) => a === b || withTag(a) === withTag(b);
const withTag = (name) => (/:[^/]*$/.test(name) ? name : `${name}:latest`);

test('openai: chat completion, non-stream', async () => {
  const completion = await openai.chat.completions.create({ model, messages });
  assert.equal(completion.object, 'chat.completion');
  assert.ok(completion.id, 'has an id');
  assert.equal(completion.choices.length, 1);
  const [choice] = completion.choices;
  assert.equal(choice.message.role, 'assistant');
  assert.equal(typeof choice.message.content, 'string');
  assert.ok(choice.message.content.trim().length > 0, 'non-empty content');
  assert.equal(choice.finish_reason, 'stop');
  const { usage } = completion;
  assert.ok(usage.prompt_tokens > 0, 'prompt_tokens counted');
  assert.ok(usage.completion_tokens > 0, 'completion_tokens counted');
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
});

test('openai: chat completion, streaming with usage', async () => {
  const stream = await openai.chat.completions.create({
    model,
    messages,
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let chunks = 0;
  let role;
  let finishReason;
  let usage;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    for (const choice of chunk.choices) {
      if (choice.delta?.role) role ??= choice.delta.role;
      if (choice.delta?.content) {
        text += choice.delta.content;
        chunks += 1;
      }
      if (choice.finish_reason) finishReason = choice.finish_reason;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  // Reaching this line means the iteration ended normally (on [DONE]).
  assert.equal(role, 'assistant');
  assert.ok(chunks > 1, `content arrived in several chunks (got ${chunks})`);
  assert.ok(text.trim().length > 0, 'non-empty concatenated text');
  assert.equal(finishReason, 'stop');
  assert.ok(usage, 'a usage chunk arrived');
  assert.ok(usage.prompt_tokens > 0 && usage.completion_tokens > 0);
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
});

test('openai: embeddings', async () => {
  const input = ['the quick brown fox', 'jumps over the lazy dog'];
  const result = await openai.embeddings.create({ model: embedModel, input });
  assert.equal(result.object, 'list');
  assert.equal(result.data.length, input.length);
  const dimension = result.data[0].embedding.length;
  assert.ok(dimension > 0, 'non-empty vectors');
  result.data.forEach((item, i) => {
    assert.equal(item.object, 'embedding');
    assert.equal(item.index, i);
    assert.equal(item.embedding.length, dimension);
    assert.ok(item.embedding.every(Number.isFinite), 'finite floats');
  });
  assert.notDeepEqual(result.data[0].embedding, result.data[1].embedding);
  assert.ok(result.usage.prompt_tokens > 0);
});

test('openai: models.list contains the model', async () => {
  const ids = [];
  for await (const entry of openai.models.list()) {
    assert.equal(entry.object, 'model');
    ids.push(entry.id);
  }
  assert.ok(ids.some((id) => sameModel(id, model)), `${model} in ${ids.join(', ')}`);
});

test('ollama: chat, non-stream', async () => {
  assertWholeOllamaChat(await ollama.chat({ model, messages, stream: false }));
});

test('ollama: chat, streaming', async () => {
  const stream = await ollama.chat({ model, messages, stream: true });
  const { text, parts, last } = await drain(stream, (part) => part.message.content);
  assert.ok(parts > 2, `several parts (got ${parts})`);
  assert.equal(last.done, true);
  assert.equal(last.done_reason, 'stop');
  assert.ok(text.trim().length > 0, 'non-empty concatenated content');
  assert.ok(last.prompt_eval_count > 0 && last.eval_count > 0, 'token counts on the last part');
});

test('ollama: embed', async () => {
  const input = ['the quick brown fox', 'jumps over the lazy dog'];
  const response = await ollama.embed({ model: embedModel, input });
  assert.equal(response.embeddings.length, input.length);
  const dimension = response.embeddings[0].length;
  assert.ok(dimension > 0, 'non-empty vectors');
  for (const vector of response.embeddings) {
    assert.equal(vector.length, dimension);
    assert.ok(vector.every(Number.isFinite));
  }
  assert.notDeepEqual(response.embeddings[0], response.embeddings[1]);
});

test('ollama: list contains the model', async () => {
  const { models } = await ollama.list();
  assert.ok(Array.isArray(models) && models.length > 0);
  const entry = models.find((m) => sameModel(m.name, model));
  assert.ok(entry, `${model} in ${models.map((m) => m.name).join(', ')}`);
  assert.ok(entry.size > 0);
  assert.match(entry.digest, /^[0-9a-f]+$/);
  assert.ok(entry.details.family);
});

test('ollama: generate, streaming', async () => {
  const stream = await ollama.generate({ model, prompt: 'Why is the sky blue?', stream: true });
  const { text, parts, last } = await drain(stream, (part) => part.response);
  assert.ok(parts > 2, `several parts (got ${parts})`);
  assert.equal(last.done, true);
  assert.ok(text.trim().length > 0, 'non-empty concatenated response');
  assert.ok(Array.isArray(last.context), 'context on the final part');
  assert.ok(last.prompt_eval_count > 0 && last.eval_count > 0);
});

test('ollama → openai-kind backend: chat, non-stream', translated, async () => {
  const response = await ollama.chat({ model: openAiOnlyModel, messages, stream: false });
  assert.equal(response.model, openAiOnlyModel);
  assertWholeOllamaChat(response);
});

test('ollama → openai-kind backend: chat, streaming', translated, async () => {
  const stream = await ollama.chat({ model: openAiOnlyModel, messages, stream: true });
  const { text, parts, last } = await drain(stream, (part) => part.message.content, (part) => {
    assert.equal(part.model, openAiOnlyModel);
  });
  assert.ok(parts > 2, `several parts (got ${parts})`);
  assert.equal(last.done, true);
  assert.equal(last.done_reason, 'stop');
  assert.ok(text.trim().length > 0, 'non-empty concatenated content');
  assert.ok(last.prompt_eval_count > 0 && last.eval_count > 0, 'token counts on the last part');
});

test('ollama → openai-kind backend: generate, non-stream', translated, async () => {
  const response = await ollama.generate({ model: openAiOnlyModel, prompt: 'Why is the sky blue?', system: 'Be brief.', stream: false });
  assert.equal(response.done, true);
  assert.ok(response.response.trim().length > 0, 'non-empty response');
  assert.ok(response.prompt_eval_count > 0 && response.eval_count > 0);
});

test('ollama → openai-kind backend: generate, streaming', translated, async () => {
  const stream = await ollama.generate({ model: openAiOnlyModel, prompt: 'Why is the sky blue?', stream: true });
  const { text, parts, last } = await drain(stream, (part) => part.response);
  assert.ok(parts > 2, `several parts (got ${parts})`);
  assert.equal(last.done, true);
  assert.ok(text.trim().length > 0, 'non-empty concatenated response');
  assert.ok(last.prompt_eval_count > 0 && last.eval_count > 0);
});

test('openai: a wrong key is an AuthenticationError', async () => {
  const wrong = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: 'slk_AAAAAAAAAAAA_' + 'x'.repeat(43), maxRetries: 0 });
  await assert.rejects(wrong.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }),
    (error) => error instanceof OpenAI.AuthenticationError && error.status === 401 && error.code === 'invalid_api_key');
});

test('ollama: a missing key is a 401 ResponseError', async () => {
  const keyless = new Ollama({ host: baseUrl });
  await assert.rejects(keyless.list(), (error) => error.status_code === 401 && /invalid or missing API key/.test(error.error));
});
