// The coding agents' doors through Sluice, with the official clients as
// referees: @anthropic-ai/sdk on Anthropic's Messages API (what Claude Code
// speaks) and the openai SDK on the Responses API (what Codex speaks). Each
// door is tried three ways (run.sh starts the fakes):
// - passed through to a backend that serves the API itself (the fake Ollama,
//   llama3.2; for Messages also the fake of Anthropic's API, claude-sonnet-4-5);
// - translated to Chat Completions for a backend that serves nothing else
//   (the fake OpenAI-compatible provider, gpt-4o-mini);
// - failing: before the first frame (failed over, across dialects) and after
//   it (an in-protocol error the client raises).
// The fakes answer deterministically (tests/fakes/README.md), so every
// assertion names the backend that answered and the exact tool arguments.
//
//   SLUICE_URL, SLUICE_API_KEY: the gateway and a key it accepts;
//   FAKE_OLLAMA_URL, FAKE_OPENAI_URL: the fakes' control APIs, for fault rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

const baseUrl = (process.env.SLUICE_URL ?? '').replace(/\/+$/, '');
const apiKey = process.env.SLUICE_API_KEY || 'sk-test';
const fakeOllama = process.env.FAKE_OLLAMA_URL;
const fakeOpenAi = process.env.FAKE_OPENAI_URL;
if (!baseUrl || !fakeOllama || !fakeOpenAi) throw new Error('run through tests/e2e/run.sh (SLUICE_URL, FAKE_*_URL)');

const options = { maxRetries: 0, timeout: 30_000 };
const anthropic = new Anthropic({ baseURL: baseUrl, apiKey, ...options });
const openai = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey, ...options });

// Where each model is served, and the name its fake puts in every answer.
const passedToOllama = { model: 'llama3.2', backend: 'e2e-ollama', how: 'passed through to Ollama' };
const translated = { model: 'gpt-4o-mini', backend: 'e2e-openai', how: 'translated to Chat Completions' };
const passedToAnthropic = { model: 'claude-sonnet-4-5', backend: 'e2e-claude', how: "passed through to Anthropic's API" };
const sentenceFrom = (backend) => `Hello from ${backend}. This is a streamed answer.`;

const question = [{ role: 'user', content: 'What is the weather in Lisbon?' }];  // 6 words: the fakes' token count
const weatherSchema = {
  type: 'object',
  properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] }, days: { type: 'integer' } },
  required: ['city', 'unit'],
};
const weatherArgs = { city: 'sluice', unit: 'celsius' };  // the fakes' fill rule for weatherSchema

async function setRules(fakeUrl, rules) {
  const answer = await fetch(`${fakeUrl}/_fake/rules`, { method: 'POST', body: JSON.stringify({ rules }) });
  assert.equal(answer.status, 200);
}

async function withRules(fakeUrl, rules, body) {
  await setRules(fakeUrl, rules);
  try {
    return await body();
  } finally {
    await setRules(fakeUrl, []);
  }
}

// ---- Anthropic Messages API

for (const door of [passedToOllama, translated, passedToAnthropic]) {
  const { model, backend, how } = door;
  const tools = [
    { name: 'get_weather', description: 'Weather for a city', input_schema: weatherSchema },
    { name: 'get_time', input_schema: { type: 'object', properties: { zone: { type: 'string' } } } },
  ];

  test(`messages (${how}): create, whole`, async () => {
    const message = await anthropic.messages.create({ model, max_tokens: 256, messages: question });
    assert.equal(message.type, 'message');
    assert.equal(message.role, 'assistant');
    assert.deepEqual(message.content, [{ type: 'text', text: sentenceFrom(backend) }]);
    assert.equal(message.stop_reason, 'end_turn');
    assert.equal(message.usage.input_tokens, 6);
    assert.equal(message.usage.output_tokens, 5);
  });

  test(`messages (${how}): stream to finalMessage()`, async () => {
    const stream = anthropic.messages.stream({ model, max_tokens: 256, system: 'Be terse.', messages: question });
    const deltas = [];
    stream.on('text', (text) => deltas.push(text));
    const message = await stream.finalMessage();
    assert.equal(deltas.length, 5);
    assert.equal(deltas.join(''), sentenceFrom(backend));
    assert.deepEqual(message.content, [{ type: 'text', text: sentenceFrom(backend) }]);
    assert.equal(message.stop_reason, 'end_turn');
    assert.equal(message.usage.output_tokens, 5);
  });

  test(`messages (${how}): a tool-use round trip`, async () => {
    const first = await anthropic.messages.create({ model, max_tokens: 256, tools, messages: question });
    assert.equal(first.stop_reason, 'tool_use');
    const call = first.content.find((block) => block.type === 'tool_use');
    assert.equal(call.name, 'get_weather');
    assert.deepEqual(call.input, weatherArgs);
    const second = await anthropic.messages.create({
      model,
      max_tokens: 256,
      tools,
      messages: [
        ...question,
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: '18C and sunny' }] },
      ],
    });
    assert.equal(second.stop_reason, 'end_turn');
    assert.match(second.content.find((block) => block.type === 'text').text, /Tool said: 18C and sunny/);
  });

  test(`messages (${how}): a streamed tool use, tool_choice naming the tool`, async () => {
    const stream = anthropic.messages.stream({
      model, max_tokens: 256, tools, tool_choice: { type: 'tool', name: 'get_time' }, messages: question,
    });
    const message = await stream.finalMessage();
    assert.equal(message.stop_reason, 'tool_use');
    const call = message.content.find((block) => block.type === 'tool_use');
    assert.equal(call.name, 'get_time');
    assert.deepEqual(call.input, { zone: 'sluice' });
  });
}

test('messages: bad requests get 400 invalid_request_error, and the next request is served', async () => {
  const bad = [
    [{ model: 'llama3.2', messages: question }, /max_tokens/],  // max_tokens is required
    [{ model: 'llama3.2', max_tokens: 'many', messages: question }, /max_tokens/],
    [{ model: 'gpt-4o-mini', max_tokens: 64, messages: [{ role: 'user', content: [{ type: 'hologram', text: 'x' }] }] }, /hologram/],
    [{ model: 'gpt-4o-mini', max_tokens: 64, temperature: 'warm', messages: question }, /temperature/],
  ];
  for (const [body, mentions] of bad) {
    const error = await anthropic.messages.create(body).then(() => null, (e) => e);
    assert.ok(error instanceof Anthropic.BadRequestError, `${JSON.stringify(body)} -> ${error}`);
    assert.equal(error.error.type, 'error');
    assert.equal(error.error.error.type, 'invalid_request_error');
    assert.match(error.error.error.message, mentions);
  }
  const message = await anthropic.messages.create({ model: 'llama3.2', max_tokens: 64, messages: question });
  assert.equal(message.content[0].text, sentenceFrom('e2e-ollama'));
});

test('messages: a wrong key is an AuthenticationError; x-api-key and a bearer token both work', async () => {
  const stranger = new Anthropic({ baseURL: baseUrl, apiKey: 'sk-not-a-key', ...options });
  const error = await stranger.messages.create({ model: 'llama3.2', max_tokens: 64, messages: question }).then(() => null, (e) => e);
  assert.ok(error instanceof Anthropic.AuthenticationError, String(error));
  assert.equal(error.error.error.type, 'authentication_error');
  // Claude Code sends ANTHROPIC_API_KEY as x-api-key and ANTHROPIC_AUTH_TOKEN as a bearer token.
  for (const headers of [{ 'x-api-key': apiKey }, { authorization: `Bearer ${apiKey}` }]) {
    const answer = await fetch(`${baseUrl}/v1/messages?beta=true`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'llama3.2', max_tokens: 64, messages: question }),
    });
    assert.equal(answer.status, 200);
    assert.equal((await answer.json()).content[0].text, sentenceFrom('e2e-ollama'));
  }
});

test("messages: models.list in Anthropic's shape, and an unknown model is refused as any other door refuses it", async () => {
  const ids = [];
  for await (const entry of anthropic.models.list()) {
    assert.equal(entry.type, 'model');
    ids.push(entry.id);
  }
  for (const id of ['llama3.2:latest', 'gpt-4o-mini', 'claude-sonnet-4-5']) assert.ok(ids.includes(id), `${id} in ${ids}`);
  const error = await anthropic.messages.create({ model: 'no-such-model', max_tokens: 64, messages: question }).then(() => null, (e) => e);
  // The same 403 as a model the key may not use, so callers cannot probe (docs/troubleshooting.md).
  assert.ok(error instanceof Anthropic.PermissionDeniedError, String(error));
  assert.equal(error.error.error.type, 'permission_error');
});

test('messages: a backend that fails before the first frame is failed over, to a translating backend', async () => {
  // agents-chain = local/qwen2.5:0.5b, then cloud/gpt-4o-mini (run.sh).
  // Persistent: a single 500 would be retried on the same backend (docs/routing.md, "Retries").
  await withRules(fakeOllama, [{ model: 'qwen2.5:0.5b', path: '/v1/messages', status: 500 }], async () => {
    const message = await anthropic.messages.stream({ model: 'agents-chain', max_tokens: 64, messages: question }).finalMessage();
    assert.equal(message.content[0].text, sentenceFrom('e2e-openai'));
  });
});

for (const [how, fakeUrl, path, model] of [
  ['passed through', fakeOllama, '/v1/messages', 'qwen2.5:0.5b'],
  ['translated', fakeOpenAi, '/v1/chat/completions', 'gpt-4o-mini'],
]) {
  test(`messages (${how}): a stream that breaks after its first frame ends with an error event the client raises`, async () => {
    await withRules(fakeUrl, [{ model, path, die_after_chunks: 2, times: 1 }], async () => {
      const stream = anthropic.messages.stream({ model, max_tokens: 64, messages: question });
      const deltas = [];
      stream.on('text', (text) => deltas.push(text));
      const error = await stream.finalMessage().then(() => null, (e) => e);
      assert.ok(error, 'the stream must not end as a success');
      assert.match(String(error.message ?? error), /backend|stream/i);
      assert.equal(deltas.length, 2);
    });
  });
}

// ---- OpenAI Responses API

for (const { model, backend, how } of [passedToOllama, translated]) {
  const tools = [{ type: 'function', name: 'get_weather', description: 'Weather for a city', parameters: weatherSchema }];

  test(`responses (${how}): create, whole`, async () => {
    const response = await openai.responses.create({ model, input: question });
    assert.equal(response.object, 'response');
    assert.equal(response.status, 'completed');
    assert.equal(response.output_text, sentenceFrom(backend));
    assert.equal(response.usage.output_tokens, 5);
    assert.equal(response.usage.input_tokens, 6);
  });

  test(`responses (${how}): a stream, its events in order, to finalResponse()`, async () => {
    const stream = openai.responses.stream({ model, instructions: 'Be terse.', input: 'What is the weather in Lisbon?' });
    const types = [];
    let sequence = -1;
    stream.on('event', (event) => {
      types.push(event.type);
      assert.ok(event.sequence_number > sequence, 'sequence numbers increase');
      sequence = event.sequence_number;
    });
    const response = await stream.finalResponse();
    assert.equal(response.output_text, sentenceFrom(backend));
    assert.deepEqual(types.slice(0, 4), ['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
    assert.equal(types.filter((type) => type === 'response.output_text.delta').length, 5);
    assert.deepEqual(types.slice(-4), ['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
  });

  test(`responses (${how}): a function-call round trip`, async () => {
    const first = await openai.responses.create({ model, input: question, tools });
    const call = first.output.find((item) => item.type === 'function_call');
    assert.equal(call.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.arguments), weatherArgs);
    const second = await openai.responses.create({
      model,
      tools,
      input: [...question, call, { type: 'function_call_output', call_id: call.call_id, output: '18C and sunny' }],
    });
    assert.match(second.output_text, /Tool said: 18C and sunny/);
  });

  test(`responses (${how}): a streamed function call`, async () => {
    const stream = openai.responses.stream({ model, input: question, tools, tool_choice: 'required' });
    const pieces = [];
    stream.on('response.function_call_arguments.delta', (event) => pieces.push(event.delta));
    const response = await stream.finalResponse();
    const call = response.output.find((item) => item.type === 'function_call');
    assert.ok(pieces.length >= 1);
    assert.equal(pieces.join(''), call.arguments);
    assert.deepEqual(JSON.parse(call.arguments), weatherArgs);
  });

  test(`responses (${how}): structured output with text.format json_schema`, async () => {
    const response = await openai.responses.create({
      model,
      input: question,
      text: { format: { type: 'json_schema', name: 'weather', schema: weatherSchema, strict: false } },
    });
    assert.deepEqual(JSON.parse(response.output_text), weatherArgs);
  });
}

test('responses: previous_response_id and bad input get 400 in OpenAI\'s shape, and the next request is served', async () => {
  const bad = [
    [{ model: 'llama3.2', input: 'Hi', previous_response_id: 'resp_123' }, /send the whole conversation/],
    [{ model: 'gpt-4o-mini', input: [{ type: 'hologram' }] }, /hologram/],
    [{ model: 'gpt-4o-mini', input: 42 }, /input/],
    [{ model: 'gpt-4o-mini', input: 'Hi', max_output_tokens: 'lots' }, /max_output_tokens/],
  ];
  for (const [body, mentions] of bad) {
    const error = await openai.responses.create(body).then(() => null, (e) => e);
    assert.ok(error instanceof OpenAI.BadRequestError, `${JSON.stringify(body)} -> ${error}`);
    assert.equal(error.error.type, 'invalid_request_error');
    assert.match(error.error.message, mentions);
  }
  const response = await openai.responses.create({ model: 'gpt-4o-mini', input: 'Hi' });
  assert.equal(response.output_text, sentenceFrom('e2e-openai'));
});

test('responses: a backend that fails before the first frame is failed over, to a translating backend', async () => {
  await withRules(fakeOllama, [{ model: 'qwen2.5:0.5b', path: '/v1/responses', status: 503 }], async () => {
    const response = await openai.responses.stream({ model: 'agents-chain', input: question }).finalResponse();
    assert.equal(response.output_text, sentenceFrom('e2e-openai'));
  });
});

for (const [how, fakeUrl, path, model] of [
  ['passed through', fakeOllama, '/v1/responses', 'qwen2.5:0.5b'],
  ['translated', fakeOpenAi, '/v1/chat/completions', 'gpt-4o-mini'],
]) {
  test(`responses (${how}): a stream that breaks after its first frame ends with an error the client raises`, async () => {
    await withRules(fakeUrl, [{ model, path, die_after_chunks: 2, times: 1 }], async () => {
      const stream = openai.responses.stream({ model, input: question });
      const deltas = [];
      stream.on('response.output_text.delta', (event) => deltas.push(event.delta));
      const error = await stream.finalResponse().then(() => null, (e) => e);
      assert.ok(error, 'the stream must not end as a success');
      assert.equal(deltas.length, 2);
    });
  });
}
