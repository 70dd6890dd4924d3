// The official @anthropic-ai/sdk and openai clients as referees for the fake
// backend's agent APIs: Anthropic's Messages API and OpenAI's Responses API,
// with tool calls and structured output. If a client rejects what the fake
// sends, the fake's wire format is wrong, and every gateway test built on it
// proves less than it claims.
//
//   build/bin/sluice-fake-backend --kind ollama &                        # FAKE_URL
//   build/bin/sluice-fake-backend --kind anthropic --token sk-ant-test & # FAKE_ANTHROPIC_URL
//   FAKE_URL=http://127.0.0.1:P1 FAKE_ANTHROPIC_URL=http://127.0.0.1:P2 node --test tests/e2e/fake-apis.test.mjs
//
// FAKE_ANTHROPIC_KEY is the anthropic fake's --token (default sk-ant-test).
// Each group is skipped, saying why, when its URL is unset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { Ollama } from 'ollama';

const trim = (url) => (url ?? '').replace(/\/+$/, '');
const ollamaUrl = trim(process.env.FAKE_URL);
const anthropicUrl = trim(process.env.FAKE_ANTHROPIC_URL);
const anthropicKey = process.env.FAKE_ANTHROPIC_KEY || 'sk-ant-test';
const model = process.env.FAKE_MODEL || 'llama3.2';
const claude = process.env.FAKE_ANTHROPIC_MODEL || 'claude-sonnet-4-5';

const onOllama = { skip: ollamaUrl ? false : 'FAKE_URL is not set (a sluice-fake-backend --kind ollama)' };
const onAnthropic = {
  skip: anthropicUrl ? false : 'FAKE_ANTHROPIC_URL is not set (a sluice-fake-backend --kind anthropic --token sk-ant-test)',
};

const options = { maxRetries: 0, timeout: 30_000 };
const viaOllama = ollamaUrl && new Anthropic({ baseURL: ollamaUrl, apiKey: 'ollama', ...options });
const viaAnthropic = anthropicUrl && new Anthropic({ baseURL: anthropicUrl, apiKey: anthropicKey, ...options });
const openai = ollamaUrl && new OpenAI({ baseURL: `${ollamaUrl}/v1`, apiKey: 'ollama', ...options });

const sentence = /^Hello from \S+\. This is a streamed answer\.$/;
const question = [{ role: 'user', content: 'What is the weather in Lisbon?' }];

// The fake's fill rule: required properties (or all), by type; enums take their first value.
const weatherSchema = {
  type: 'object',
  properties: {
    city: { type: 'string' },
    unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
    days: { type: 'integer' },
  },
  required: ['city', 'unit'],
};
const weatherArgs = { city: 'sluice', unit: 'celsius' };

// ---- Anthropic Messages API, on an Ollama-kind fake and on an Anthropic-kind one.

for (const [where, skip, client, claudeModel] of [
  ['ollama', onOllama, viaOllama, model],
  ['anthropic', onAnthropic, viaAnthropic, claude],
]) {
  const tools = [
    { name: 'get_weather', description: 'Weather for a city', input_schema: weatherSchema },
    { name: 'get_time', input_schema: { type: 'object', properties: { zone: { type: 'string' } } } },
  ];

  test(`anthropic sdk (${where}): messages.create, whole`, skip, async () => {
    const message = await client.messages.create({ model: claudeModel, max_tokens: 64, messages: question });
    assert.equal(message.type, 'message');
    assert.equal(message.role, 'assistant');
    assert.match(message.id, /^msg_/);
    assert.equal(message.content.length, 1);
    assert.equal(message.content[0].type, 'text');
    assert.match(message.content[0].text, sentence);
    assert.equal(message.stop_reason, 'end_turn');
    assert.equal(message.stop_sequence, null);
    assert.equal(message.usage.input_tokens, 6);
    assert.equal(message.usage.output_tokens, 5);
  });

  test(`anthropic sdk (${where}): messages.stream to finalMessage()`, skip, async () => {
    const stream = client.messages.stream({
      model: claudeModel,
      max_tokens: 64,
      system: 'Be brief.',
      messages: question,
    });
    const deltas = [];
    stream.on('text', (text) => deltas.push(text));
    const message = await stream.finalMessage();
    assert.equal(deltas.length, 5, 'one text event per chunk');
    assert.match(message.content[0].text, sentence);
    assert.equal(deltas.join(''), message.content[0].text);
    assert.equal(message.stop_reason, 'end_turn');
    assert.equal(message.usage.input_tokens, 8, 'system words count');
    assert.equal(message.usage.output_tokens, 5);
  });

  test(`anthropic sdk (${where}): a tool-use round trip`, skip, async () => {
    const first = await client.messages.create({ model: claudeModel, max_tokens: 64, tools, messages: question });
    assert.equal(first.stop_reason, 'tool_use');
    const [use] = first.content;
    assert.equal(use.type, 'tool_use');
    assert.equal(use.name, 'get_weather');
    assert.deepEqual(use.input, weatherArgs);

    const second = await client.messages.create({
      model: claudeModel,
      max_tokens: 64,
      tools,
      messages: [
        ...question,
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'Sunny, 21 °C' }] },
      ],
    });
    assert.equal(second.stop_reason, 'end_turn');
    assert.equal(second.content[0].type, 'text');
    assert.equal(second.content[0].text, 'Tool said: Sunny, 21 °C');
  });

  test(`anthropic sdk (${where}): a streamed tool use, tool_choice naming the tool`, skip, async () => {
    const stream = client.messages.stream({
      model: claudeModel,
      max_tokens: 64,
      tools,
      tool_choice: { type: 'tool', name: 'get_time' },
      messages: question,
    });
    const pieces = [];
    stream.on('inputJson', (partial) => pieces.push(partial));
    const message = await stream.finalMessage();
    assert.ok(pieces.length >= 2, 'arguments arrive in pieces');
    assert.equal(message.stop_reason, 'tool_use');
    assert.equal(message.content[0].name, 'get_time');
    assert.deepEqual(message.content[0].input, { zone: 'sluice' });
  });

  test(`anthropic sdk (${where}): a missing max_tokens is a BadRequestError`, skip, async () => {
    await assert.rejects(
      client.messages.create({ model: claudeModel, messages: question }),
      (error) => {
        assert.ok(error instanceof Anthropic.BadRequestError, `got ${error}`);
        assert.equal(error.status, 400);
        assert.equal(error.error.type, 'error');
        assert.equal(error.error.error.type, 'invalid_request_error');
        return true;
      },
    );
  });

  test(`anthropic sdk (${where}): an unknown model is a NotFoundError`, skip, async () => {
    await assert.rejects(
      client.messages.create({ model: 'no-such-model', max_tokens: 8, messages: question }),
      (error) => error instanceof Anthropic.NotFoundError && error.error.error.type === 'not_found_error',
    );
  });
}

test('anthropic sdk (anthropic): models.list and models.retrieve', onAnthropic, async () => {
  const ids = [];
  for await (const entry of viaAnthropic.models.list()) {
    assert.equal(entry.type, 'model');
    assert.ok(!Number.isNaN(new Date(entry.created_at).getTime()), 'created_at is a timestamp');
    ids.push(entry.id);
  }
  assert.ok(ids.includes(claude), `${claude} in ${ids}`);
  const one = await viaAnthropic.models.retrieve(claude);
  assert.equal(one.id, claude);
  assert.equal(typeof one.display_name, 'string');
});

test('anthropic sdk (anthropic): a wrong key is an AuthenticationError', onAnthropic, async () => {
  const wrong = new Anthropic({ baseURL: anthropicUrl, apiKey: 'sk-ant-wrong', ...options });
  await assert.rejects(
    wrong.messages.create({ model: claude, max_tokens: 8, messages: question }),
    (error) => error instanceof Anthropic.AuthenticationError && error.error.error.type === 'authentication_error',
  );
});

test('anthropic (anthropic): no anthropic-version header is a 400', onAnthropic, async () => {
  const answer = await fetch(`${anthropicUrl}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': anthropicKey, 'content-type': 'application/json' },
    body: JSON.stringify({ model: claude, max_tokens: 8, messages: question }),
  });
  assert.equal(answer.status, 400);
  const body = await answer.json();
  assert.equal(body.error.type, 'invalid_request_error');
});

// ---- OpenAI Responses API on an Ollama-kind fake.

const functionTool = { type: 'function', name: 'get_weather', description: 'Weather', parameters: weatherSchema, strict: false };

test('openai sdk: responses.create, whole', onOllama, async () => {
  const response = await openai.responses.create({ model, input: 'Say hello.', instructions: 'Be brief.' });
  assert.equal(response.object, 'response');
  assert.equal(response.status, 'completed');
  assert.match(response.id, /^resp_/);
  assert.equal(response.output.length, 1);
  assert.equal(response.output[0].type, 'message');
  assert.match(response.output_text, sentence);
  assert.equal(response.usage.input_tokens, 4);
  assert.equal(response.usage.output_tokens, 5);
  assert.equal(response.usage.total_tokens, 9);
});

test('openai sdk: responses.stream to finalResponse()', onOllama, async () => {
  const stream = openai.responses.stream({ model, input: question });
  const deltas = [];
  stream.on('response.output_text.delta', (event) => deltas.push(event.delta));
  const response = await stream.finalResponse();
  assert.equal(deltas.length, 5);
  assert.match(response.output_text, sentence);
  assert.equal(deltas.join(''), response.output_text);
  assert.equal(response.usage.output_tokens, 5);
});

test('openai sdk: responses.create with stream:true, the event sequence', onOllama, async () => {
  const stream = await openai.responses.create({ model, input: 'Say hello.', stream: true });
  const types = [];
  let last = -1;
  let completed;
  for await (const event of stream) {
    assert.ok(event.sequence_number > last, 'sequence_number increases');
    last = event.sequence_number;
    if (types.at(-1) !== event.type) types.push(event.type);
    if (event.type === 'response.completed') completed = event.response;
  }
  assert.deepEqual(types, [
    'response.created',
    'response.in_progress',
    'response.output_item.added',
    'response.content_part.added',
    'response.output_text.delta',
    'response.output_text.done',
    'response.content_part.done',
    'response.output_item.done',
    'response.completed',
  ]);
  assert.equal(completed.status, 'completed');
  assert.match(completed.output[0].content[0].text, sentence);
  assert.equal(completed.usage.output_tokens, 5);
});

test('openai sdk: a function-call round trip', onOllama, async () => {
  const input = [{ role: 'user', content: 'Weather in Lisbon?' }];
  const first = await openai.responses.create({ model, input, tools: [functionTool] });
  const [call] = first.output;
  assert.equal(call.type, 'function_call');
  assert.equal(call.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.arguments), weatherArgs);
  assert.ok(call.call_id, 'has a call_id');

  const second = await openai.responses.create({
    model,
    tools: [functionTool],
    input: [...input, call, { type: 'function_call_output', call_id: call.call_id, output: 'Sunny, 21 °C' }],
  });
  assert.equal(second.output[0].type, 'message');
  assert.equal(second.output_text, 'Tool said: Sunny, 21 °C');
});

test('openai sdk: a streamed function call', onOllama, async () => {
  const stream = openai.responses.stream({ model, input: 'Weather?', tools: [functionTool] });
  const pieces = [];
  stream.on('response.function_call_arguments.delta', (event) => pieces.push(event.delta));
  const response = await stream.finalResponse();
  assert.ok(pieces.length >= 2, 'arguments arrive in pieces');
  const [call] = response.output;
  assert.equal(call.type, 'function_call');
  assert.equal(pieces.join(''), call.arguments);
  assert.deepEqual(JSON.parse(call.arguments), weatherArgs);
});

test('openai sdk: structured output via text.format json_schema', onOllama, async () => {
  const schema = {
    type: 'object',
    properties: { name: { type: 'string' }, age: { type: 'integer' }, member: { type: 'boolean' }, tags: { type: 'array', items: { type: 'string' } } },
    required: ['name', 'age', 'member', 'tags'],
    additionalProperties: false,
  };
  const response = await openai.responses.create({
    model,
    input: 'Describe a person.',
    text: { format: { type: 'json_schema', name: 'person', schema, strict: true } },
  });
  assert.deepEqual(JSON.parse(response.output_text), { name: 'sluice', age: 42, member: true, tags: [] });
  assert.equal(response.text.format.type, 'json_schema');

  const streamed = await openai.responses.stream({ model, input: 'Describe a person.', text: { format: { type: 'json_object' } } }).finalResponse();
  const parsed = JSON.parse(streamed.output_text);
  assert.deepEqual(Object.keys(parsed), ['answer']);
  assert.match(parsed.answer, /^Hello from \S+$/);
});

test('openai sdk: previous_response_id is ignored, as Ollama does', onOllama, async () => {
  const response = await openai.responses.create({ model, input: 'Again.', previous_response_id: 'resp_unknown' });
  assert.equal(response.status, 'completed');
  assert.equal(response.previous_response_id, null);
});

test('openai sdk: an unknown model on /v1/responses is a NotFoundError', onOllama, async () => {
  await assert.rejects(openai.responses.create({ model: 'no-such-model', input: 'x' }), OpenAI.NotFoundError);
});

// ---- The same rules on the two older chat APIs.

test('openai sdk: chat completions, a streamed tool call and its round trip', onOllama, async () => {
  const tools = [{ type: 'function', function: { name: 'get_weather', parameters: weatherSchema } }];
  const completion = await openai.chat.completions.stream({ model, messages: question, tools }).finalChatCompletion();
  const [choice] = completion.choices;
  assert.equal(choice.finish_reason, 'tool_calls');
  const [call] = choice.message.tool_calls;
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.function.arguments), weatherArgs);

  const answer = await openai.chat.completions.create({
    model,
    tools,
    messages: [...question, choice.message, { role: 'tool', tool_call_id: call.id, content: 'Sunny' }],
  });
  assert.equal(answer.choices[0].finish_reason, 'stop');
  assert.equal(answer.choices[0].message.content, 'Tool said: Sunny');
});

test('ollama client: chat with tools, and with a format schema', onOllama, async () => {
  const ollama = new Ollama({ host: ollamaUrl });
  const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: weatherSchema } }];
  const called = await ollama.chat({ model, messages: question, tools, stream: false });
  assert.equal(called.message.tool_calls.length, 1);
  assert.equal(called.message.tool_calls[0].function.name, 'get_weather');
  assert.deepEqual(called.message.tool_calls[0].function.arguments, weatherArgs);

  let text = '';
  for await (const part of await ollama.chat({
    model,
    messages: [...question, called.message, { role: 'tool', content: 'Sunny' }],
    tools,
    stream: true,
  }))
    text += part.message.content;
  assert.equal(text, 'Tool said: Sunny');

  const shaped = await ollama.chat({ model, messages: question, format: weatherSchema, stream: false });
  assert.deepEqual(JSON.parse(shaped.message.content), weatherArgs);
});

// ---- Fault rules act on these streams as on the others (control API of the ollama fake).

async function setRules(rules) {
  const answer = await fetch(`${ollamaUrl}/_fake/rules`, { method: 'POST', body: JSON.stringify({ rules }) });
  assert.equal(answer.status, 200);
}

test('faults: a messages stream that dies after 2 chunks fails in the client after 2 deltas', onOllama, async () => {
  await setRules([{ path: '/v1/messages', die_after_chunks: 2, sse_comments: 1, times: 1 }]);
  try {
    const stream = viaOllama.messages.stream({ model, max_tokens: 64, messages: question });
    const deltas = [];
    stream.on('text', (text) => deltas.push(text));
    await assert.rejects(stream.finalMessage());
    assert.equal(deltas.length, 2);
  } finally {
    await setRules([]);
  }
});

test('faults: a responses stream cut after 1 chunk never completes', onOllama, async () => {
  await setRules([{ path: '/v1/responses', cut_after_chunks: 1, times: 1 }]);
  try {
    const stream = openai.responses.stream({ model, input: 'Say hello.' });
    const deltas = [];
    stream.on('response.output_text.delta', (event) => deltas.push(event.delta));
    await assert.rejects(stream.finalResponse());
    assert.equal(deltas.length, 1);
  } finally {
    await setRules([]);
  }
});
