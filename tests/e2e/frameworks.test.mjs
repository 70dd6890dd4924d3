// Real client frameworks, unchanged, driven end to end through Sluice: LangChain
// (@langchain/openai, @langchain/ollama), the Vercel AI SDK (ai + @ai-sdk/openai)
// and ollama-ai-provider-v2. Each framework parses what the gateway sends with its
// own code (and, for the AI SDK and the Ollama provider, strict zod schemas), so a
// passing test proves a client works through Sluice with nothing but a new base URL
// and a key: plain chat, streaming, tool calls and their round trip, structured
// output and embeddings, on both routes of the gateway:
// - llama3.2 / nomic-embed-text live on `local`, a fake Ollama that serves every
//   door itself (Chat Completions, Responses, /api/*): the gateway passes through;
// - gpt-4o-mini / text-embedding-3-small live on `cloud`, a fake provider that
//   serves only Chat Completions and embeddings: Sluice translates the Responses
//   API and Ollama's /api/chat and /api/embed to it.
// The fakes answer deterministically (tests/fakes/README.md): the text names the
// backend that answered, a tool call's arguments and a structured answer are built
// from the schema, a tool result comes back as "Tool said: <result>", and an
// embedding is 8 floats of unit length hashed from the text.
//
// Run (starts the fakes and sluiced, then this file):
//   SLUICE_E2E_FILES=frameworks.test.mjs tests/e2e/run.sh build/bin
// It needs SLUICE_URL, SLUICE_API_KEY, FAKE_OLLAMA_URL and FAKE_OPENAI_URL (run.sh sets them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { HumanMessage, ToolMessage } from '@langchain/core/messages';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import { ChatOllama, OllamaEmbeddings } from '@langchain/ollama';
import { generateText, streamText, generateObject, embed, embedMany, tool, Output, stepCountIs } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { createOllama } from 'ollama-ai-provider-v2';

const baseUrl = (process.env.SLUICE_URL ?? '').replace(/\/+$/, '');
const apiKey = process.env.SLUICE_API_KEY;
const fakeOllamaUrl = (process.env.FAKE_OLLAMA_URL ?? '').replace(/\/+$/, '');
const fakeOpenAiUrl = (process.env.FAKE_OPENAI_URL ?? '').replace(/\/+$/, '');
if (!baseUrl || !apiKey || !fakeOllamaUrl || !fakeOpenAiUrl) {
  throw new Error('set SLUICE_URL, SLUICE_API_KEY, FAKE_OLLAMA_URL and FAKE_OPENAI_URL (tests/e2e/run.sh does)');
}
const bearer = { Authorization: `Bearer ${apiKey}` };

// The chat models, each with the fake that serves it (the name in its answers).
const chatModels = [
  { model: 'llama3.2', backend: 'e2e-ollama', route: 'passed through' },
  { model: 'gpt-4o-mini', backend: 'e2e-openai', route: 'translated' },
];
// Embedding models, each with its fake and whether its Ollama-API path is native there.
const embedModels = [
  { model: 'nomic-embed-text', route: 'passed through', fake: fakeOllamaUrl, speaksOllama: true },
  { model: 'text-embedding-3-small', route: 'translated', fake: fakeOpenAiUrl, speaksOllama: false },
];
const sentence = (backend) => `Hello from ${backend}. This is a streamed answer.`;

// One tool; the fake calls it with every required property filled by type.
const weatherDescription = 'Looks up the weather of a city.';
const weatherSchema = z.object({
  city: z.string().describe('the city'),
  days: z.number().int().describe('how many days'),
  unit: z.enum(['celsius', 'fahrenheit']),
});
const weatherArgs = { city: 'sluice', days: 42, unit: 'celsius' };
const toolResult = 'sunny, 21 degrees';

// A structured answer; the fake builds the object from the schema the same way.
const profileSchema = z.object({
  name: z.string(),
  age: z.number().int(),
  admin: z.boolean(),
  tags: z.array(z.string()),
  level: z.enum(['low', 'high']),
});
const profile = { admin: true, age: 42, level: 'low', name: 'sluice', tags: [] };

const question = 'Say hello in one short sentence.';
const weatherQuestion = 'What is the weather in Paris?';
const profileQuestion = 'Describe a user.';
const texts = ['the quick brown fox', 'jumps over the lazy dog'];

// The vectors the fake itself gives for `input` (the hash depends on the text only):
// what the gateway hands to a framework must be exactly these.
async function fakeVectors(input) {
  const response = await fetch(`${fakeOllamaUrl}/api/embed`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'nomic-embed-text', input }),
  });
  assert.equal(response.status, 200);
  return (await response.json()).embeddings;
}

// Runs `call` and checks it made at least `count` requests to `path` of the fake at
// `fakeUrl` (at least: other test files may use the fakes at the same time).
async function assertReaches(fakeUrl, path, count, call) {
  const served = async () => (await (await fetch(`${fakeUrl}/_fake/stats`)).json()).by_path[path] ?? 0;
  const before = await served();
  const result = await call();
  const after = await served();
  assert.ok(after - before >= count, `${fakeUrl}${path} served ${after - before} requests, expected ${count}`);
  return result;
}

function assertVector(vector, expected) {
  assert.equal(vector.length, 8);
  assert.ok(Math.abs(Math.hypot(...vector) - 1) < 1e-4, 'unit length');
  expected.forEach((x, i) => assert.ok(Math.abs(vector[i] - x) < 1e-6, `component ${i}: ${vector[i]} vs ${x}`));
}

// The same four checks for every LangChain chat model: `chat` makes a fresh
// one; `backend` is the fake that should answer.
function langChainChatTests(name, chat, backend) {
  test(`${name}: invoke`, async () => {
    const answer = await chat().invoke(question);
    assert.equal(answer.text, sentence(backend));
    assert.ok(answer.usage_metadata.input_tokens > 0, 'input tokens counted');
    assert.ok(answer.usage_metadata.output_tokens > 0, 'output tokens counted');
  });

  test(`${name}: stream`, async () => {
    let text = '';
    let chunks = 0;
    for await (const chunk of await chat().stream(question)) {
      text += chunk.text;
      if (chunk.text) chunks += 1;
    }
    assert.equal(text, sentence(backend));
    assert.ok(chunks > 1, `several chunks (got ${chunks})`);
  });

  test(`${name}: bindTools, then the tool result round trip`, async () => {
    const weather = { name: 'get_weather', description: weatherDescription, schema: weatherSchema };
    const withTools = chat().bindTools([weather]);
    const messages = [new HumanMessage(weatherQuestion)];
    const call = await withTools.invoke(messages);
    assert.equal(call.tool_calls.length, 1);
    assert.equal(call.tool_calls[0].name, 'get_weather');
    assert.deepEqual(call.tool_calls[0].args, weatherArgs);

    const reply = await withTools.invoke([
      ...messages,
      call,
      new ToolMessage({ tool_call_id: call.tool_calls[0].id ?? 'call_0', content: toolResult }),
    ]);
    assert.equal(reply.tool_calls?.length ?? 0, 0);
    assert.equal(reply.text, `Tool said: ${toolResult}`);
  });

  test(`${name}: withStructuredOutput`, async () => {
    const structured = chat().withStructuredOutput(profileSchema, { name: 'profile' });
    assert.deepEqual(await structured.invoke(profileQuestion), profile);
  });
}

// ---------------------------------------------------------------------------
// LangChain: @langchain/openai (Chat Completions and Responses API)

for (const { model, backend, route } of chatModels) {
  for (const useResponsesApi of [false, true]) {
    const api = useResponsesApi ? 'Responses API' : 'Chat Completions';
    const name = `langchain ChatOpenAI ${api}, ${model} (${route})`;
    const chat = () => new ChatOpenAI({
      model,
      apiKey,
      useResponsesApi,
      maxRetries: 0,
      configuration: { baseURL: `${baseUrl}/v1` },
    });

    langChainChatTests(name, chat, backend);
  }
}

for (const { model, route, fake } of embedModels) {
  test(`langchain OpenAIEmbeddings, ${model} (${route}): embedQuery and embedDocuments`, async () => {
    const embeddings = new OpenAIEmbeddings({ model, apiKey, maxRetries: 0, configuration: { baseURL: `${baseUrl}/v1` } });
    const expected = await fakeVectors(texts);
    assertVector(await assertReaches(fake, '/v1/embeddings', 1, () => embeddings.embedQuery(texts[0])), expected[0]);
    const vectors = await assertReaches(fake, '/v1/embeddings', 1, () => embeddings.embedDocuments(texts));
    assert.equal(vectors.length, 2);
    vectors.forEach((vector, i) => assertVector(vector, expected[i]));
  });
}

// ---------------------------------------------------------------------------
// LangChain: @langchain/ollama (Ollama's /api/chat and /api/embed)

for (const { model, backend, route } of chatModels) {
  const name = `langchain ChatOllama, ${model} (${route === 'translated' ? 'Ollama API translated' : 'passed through'})`;
  const chat = () => new ChatOllama({ model, baseUrl, headers: bearer, maxRetries: 0 });

  langChainChatTests(name, chat, backend);
}

for (const { model, route, fake, speaksOllama } of embedModels) {
  test(`langchain OllamaEmbeddings, ${model} (${route === 'translated' ? 'Ollama API translated' : 'passed through'}): embedQuery and embedDocuments`, async () => {
    const embeddings = new OllamaEmbeddings({ model, baseUrl, headers: bearer, maxRetries: 0 });
    const expected = await fakeVectors(texts);
    const path = speaksOllama ? '/api/embed' : '/v1/embeddings';
    assertVector(await assertReaches(fake, path, 1, () => embeddings.embedQuery(texts[0])), expected[0]);
    const vectors = await assertReaches(fake, path, 1, () => embeddings.embedDocuments(texts));
    assert.equal(vectors.length, 2);
    vectors.forEach((vector, i) => assertVector(vector, expected[i]));
  });
}

// ---------------------------------------------------------------------------
// Vercel AI SDK: @ai-sdk/openai, openai(model) = Responses API, openai.chat(model) = Chat Completions

const openai = createOpenAI({ baseURL: `${baseUrl}/v1`, apiKey });
const aiTools = {
  get_weather: tool({ description: weatherDescription, inputSchema: weatherSchema, execute: async () => toolResult }),
};

for (const { model, backend, route } of chatModels) {
  for (const [api, languageModel] of [['Responses API', () => openai(model)], ['Chat Completions', () => openai.chat(model)]]) {
    const name = `ai-sdk openai ${api}, ${model} (${route})`;
    // store: false. With store left at its default (true), @ai-sdk/openai's
    // Responses model sends an earlier assistant message (and reasoning or
    // provider-run tool items) back as `{"type":"item_reference","id":"msg_…"}`,
    // an id of an answer OpenAI stored, instead of its text. Sluice stores no
    // answers, so a multi-turn conversation through it needs store: false to
    // send the history in full (the provider options are ignored by openai.chat).
    const providerOptions = { openai: { store: false } };

    test(`${name}: generateText`, async () => {
      const result = await generateText({ model: languageModel(), prompt: question, maxRetries: 0 });
      assert.equal(result.text, sentence(backend));
      assert.equal(result.finishReason, 'stop');
      assert.ok(result.usage.inputTokens > 0 && result.usage.outputTokens > 0, 'tokens counted');
    });

    test(`${name}: streamText`, async () => {
      const result = streamText({ model: languageModel(), prompt: question, maxRetries: 0 });
      let text = '';
      let parts = 0;
      for await (const delta of result.textStream) {
        text += delta;
        parts += 1;
      }
      assert.equal(text, sentence(backend));
      assert.ok(parts > 1, `several parts (got ${parts})`);
      assert.equal(await result.finishReason, 'stop');
      const usage = await result.usage;
      assert.ok(usage.inputTokens > 0 && usage.outputTokens > 0, 'tokens counted');
    });

    test(`${name}: a second turn carries the first answer`, async () => {
      const first = await generateText({ model: languageModel(), prompt: question, providerOptions, maxRetries: 0 });
      assert.equal(first.text, sentence(backend));
      const second = await generateText({
        model: languageModel(),
        messages: [{ role: 'user', content: question }, ...first.response.messages, { role: 'user', content: 'And again.' }],
        providerOptions,
        maxRetries: 0,
      });
      assert.equal(second.text, sentence(backend));
      // The fake counts the words of every message: 6 + 8 (the first answer, sent back in full) + 2.
      assert.equal(second.usage.inputTokens, 16);
    });

    test(`${name}: a tool call, executed, then the answer to its result`, async () => {
      const result = await generateText({
        model: languageModel(),
        prompt: weatherQuestion,
        tools: aiTools,
        stopWhen: stepCountIs(3),
        providerOptions,
        maxRetries: 0,
      });
      assert.equal(result.steps.length, 2);
      const [first] = result.steps;
      assert.equal(first.finishReason, 'tool-calls');
      assert.equal(first.toolCalls.length, 1);
      assert.equal(first.toolCalls[0].toolName, 'get_weather');
      assert.deepEqual(first.toolCalls[0].input, weatherArgs);
      assert.equal(first.toolResults[0].output, toolResult);
      assert.equal(result.text, `Tool said: ${toolResult}`);
      assert.equal(result.finishReason, 'stop');
    });

    test(`${name}: a streamed tool call`, async () => {
      const result = streamText({ model: languageModel(), prompt: weatherQuestion, tools: aiTools, toolChoice: 'required', maxRetries: 0 });
      const calls = [];
      for await (const part of result.fullStream) {
        if (part.type === 'error') throw part.error;
        if (part.type === 'tool-call') calls.push(part);
      }
      assert.equal(calls.length, 1);
      assert.equal(calls[0].toolName, 'get_weather');
      assert.deepEqual(calls[0].input, weatherArgs);
      assert.equal(await result.finishReason, 'tool-calls');
    });

    test(`${name}: generateObject and Output.object`, async () => {
      const object = await generateObject({ model: languageModel(), schema: profileSchema, prompt: profileQuestion, maxRetries: 0 });
      assert.deepEqual(object.object, profile);
      const text = await generateText({
        model: languageModel(),
        output: Output.object({ schema: profileSchema }),
        prompt: profileQuestion,
        maxRetries: 0,
      });
      assert.deepEqual(text.output, profile);
    });
  }
}

for (const { model, route, fake } of embedModels) {
  test(`ai-sdk openai embed and embedMany, ${model} (${route})`, async () => {
    const expected = await fakeVectors(texts);
    const one = await assertReaches(fake, '/v1/embeddings', 1,
      () => embed({ model: openai.embedding(model), value: texts[0], maxRetries: 0 }));
    assertVector(one.embedding, expected[0]);
    const many = await assertReaches(fake, '/v1/embeddings', 1,
      () => embedMany({ model: openai.embedding(model), values: texts, maxRetries: 0 }));
    assert.equal(many.embeddings.length, 2);
    many.embeddings.forEach((vector, i) => assertVector(vector, expected[i]));
  });
}

// ---------------------------------------------------------------------------
// ollama-ai-provider-v2 (Ollama's /api/chat and /api/embed, checked by its zod schemas)

const ollama = createOllama({ baseURL: `${baseUrl}/api`, headers: bearer });

for (const { model, backend, route } of chatModels) {
  const name = `ollama-ai-provider-v2, ${model} (${route === 'translated' ? 'Ollama API translated' : 'passed through'})`;

  test(`${name}: generateText`, async () => {
    const result = await generateText({ model: ollama(model), prompt: question, maxRetries: 0 });
    assert.equal(result.text, sentence(backend));
    assert.equal(result.finishReason, 'stop');
    assert.ok(result.usage.inputTokens > 0 && result.usage.outputTokens > 0, 'tokens counted');
  });

  test(`${name}: streamText`, async () => {
    const result = streamText({ model: ollama(model), prompt: question, maxRetries: 0 });
    let text = '';
    let parts = 0;
    for await (const delta of result.textStream) {
      text += delta;
      parts += 1;
    }
    assert.equal(text, sentence(backend));
    assert.ok(parts > 1, `several parts (got ${parts})`);
    assert.equal(await result.finishReason, 'stop');
  });

  test(`${name}: a tool call, executed, then the answer to its result`, async () => {
    const result = await generateText({
      model: ollama(model),
      prompt: weatherQuestion,
      tools: aiTools,
      stopWhen: stepCountIs(3),
      maxRetries: 0,
    });
    assert.equal(result.steps.length, 2);
    const [first] = result.steps;
    assert.equal(first.toolCalls.length, 1);
    assert.equal(first.toolCalls[0].toolName, 'get_weather');
    assert.deepEqual(first.toolCalls[0].input, weatherArgs);
    assert.equal(first.toolResults[0].output, toolResult);
    assert.equal(result.text, `Tool said: ${toolResult}`);
  });
}

for (const { model, route, fake, speaksOllama } of embedModels) {
  test(`ollama-ai-provider-v2 embed and embedMany, ${model} (${route === 'translated' ? 'Ollama API translated' : 'passed through'})`, async () => {
    // The provider's schema requires total_duration, load_duration and
    // prompt_eval_count on /api/embed answers: a translated answer must carry them.
    const expected = await fakeVectors(texts);
    const path = speaksOllama ? '/api/embed' : '/v1/embeddings';
    const one = await assertReaches(fake, path, 1,
      () => embed({ model: ollama.embedding(model), value: texts[0], maxRetries: 0 }));
    assertVector(one.embedding, expected[0]);
    assert.equal(one.usage.tokens, 4, 'prompt_eval_count: the words of the input');
    const many = await assertReaches(fake, path, 1,
      () => embedMany({ model: ollama.embedding(model), values: texts, maxRetries: 0 }));
    assert.equal(many.embeddings.length, 2);
    many.embeddings.forEach((vector, i) => assertVector(vector, expected[i]));
  });
}
