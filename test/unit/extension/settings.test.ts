import assert from 'node:assert/strict';
import { backendRequestFields, fimRoute, normaliseBaseUrl, needsRestart, sanitizeSettings } from '../../../src/extension/settings';

const from = (o: Record<string, unknown>) => sanitizeSettings((k) => o[k]);

describe('extension settings', () => {
  it('gives defaults for missing values', () => {
    const s = from({});
    assert.equal(s.backend, 'local');
    assert.equal(s.model, '');
    assert.equal(s.server.maxBatch, 8);
    assert.equal(s.completion.debounceMs, 150);
    assert.deepEqual(s.benchmark.concurrency, [1, 2, 4, 8]);
    assert.equal(s.completion.languages['*'], true);
    assert.equal(s.completion.languages.plaintext, false);
    assert.equal(s.chat.repetitionPenalty, 1.1);
    assert.equal(from({ 'chat.repetitionPenalty': 0.5 }).chat.repetitionPenalty, 1, 'below 1 would favour repeats');
  });

  it('clamps numbers, rejects wrong types and cleans lists', () => {
    const s = from({
      backend: 'cloud', 'server.maxBatch': 1000, 'server.kvBudget': -5, 'completion.debounceMs': '40',
      'completion.temperature': 'hot', 'chat.temperature': 5, 'benchmark.concurrency': [8, 2, 2, 0, 1.5, 'x', 100],
      'completion.languages': { python: false, go: 'yes' }, 'server.autoStart': 'no',
    });
    assert.equal(s.backend, 'local');
    assert.equal(s.server.maxBatch, 64);
    assert.equal(s.server.kvBudget, 0);
    assert.equal(s.completion.debounceMs, 40);
    assert.equal(s.completion.temperature, 0);
    assert.equal(s.chat.temperature, 2);
    assert.deepEqual(s.benchmark.concurrency, [2, 8]);
    assert.deepEqual(s.completion.languages, { python: false, '*': true });
    assert.equal(s.server.autoStart, true);
  });

  it('gives the editor benchmark scenario its defaults and clamps them', () => {
    const d = from({}).benchmark;
    assert.deepEqual([d.editorChats, d.editorTypingMs, d.editorDurationS], [2, 150, 60]);
    // The server's bounds (POST /v1/benchmark answers 400 outside them).
    const s = from({ 'benchmark.editorChats': 20, 'benchmark.editorTypingMs': '75.6', 'benchmark.editorDurationS': 10_000 }).benchmark;
    assert.deepEqual([s.editorChats, s.editorTypingMs, s.editorDurationS], [8, 76, 600]);
    assert.equal(from({ 'benchmark.editorChats': -1 }).benchmark.editorChats, 0);
  });

  it('normalises remote URLs', () => {
    assert.equal(normaliseBaseUrl('http://host:8000/v1/'), 'http://host:8000');
    assert.equal(normaliseBaseUrl('https://x.example/api/v1'), 'https://x.example/api');
    assert.equal(normaliseBaseUrl('ftp://x'), '');
    assert.equal(normaliseBaseUrl('not a url'), '');
  });

  it('asks for a restart only when server settings change', () => {
    const a = from({});
    assert.equal(needsRestart(a, from({ 'completion.debounceMs': 10 })), false);
    assert.equal(needsRestart(a, from({ model: '/m' })), true);
    assert.equal(needsRestart(a, from({ 'completion.context.enabled': false })), true, 'the server\'s --cache-reuse follows it');
    assert.equal(needsRestart(a, from({ 'server.device': 'cpu' })), true);
    assert.equal(needsRestart(a, from({ 'server.maxBatch': 4 })), true);
    assert.equal(needsRestart(a, from({ 'remote.model': 'qwen' })), true, 'a remote model name reconnects, so the status shows it');
  });

  it('asks only its own server to fit prompts, and names the model only to a remote one', () => {
    assert.deepEqual(backendRequestFields(from({})), { truncatePrompt: true });
    assert.deepEqual(backendRequestFields(from({ backend: 'remote', 'remote.model': 'qwen' })), { model: 'qwen', truncatePrompt: false });
    assert.deepEqual(backendRequestFields(from({ backend: 'remote' })), { truncatePrompt: false });
    assert.deepEqual(backendRequestFields(from({ backend: 'remote' }), 'listed-first'), { model: 'listed-first', truncatePrompt: false },
      'an empty remote.model sends the first model the remote listed');
    assert.deepEqual(backendRequestFields(from({ backend: 'remote', 'remote.model': 'qwen' }), 'listed-first'), { model: 'qwen', truncatePrompt: false });
    assert.deepEqual(backendRequestFields(from({}), 'listed-first'), { truncatePrompt: true });
  });

  it('gives the completion context its defaults and bounds', () => {
    assert.deepEqual(from({}).completion.context, {
      enabled: true, chunkLines: 64, maxChunks: 16, refreshMs: 1000, maxFileKB: 1024, maxChars: 8000, definitions: true, definitionTimeoutMs: 150,
    });
    const c = from({
      'completion.context.enabled': 'no', 'completion.context.chunkLines': 2, 'completion.context.maxChunks': 1e9,
      'completion.context.refreshMs': '250', 'completion.context.maxChars': -1, 'completion.context.definitionTimeoutMs': 0,
    }).completion.context;
    assert.equal(c.enabled, true, 'a string is not a boolean');
    assert.equal(c.chunkLines, 8);
    assert.equal(c.maxChunks, 128);
    assert.equal(c.refreshMs, 250);
    assert.equal(c.maxChars, 0);
    assert.equal(c.definitionTimeoutMs, 10);
  });

  it('reads remote.api as openai unless it says llama.cpp', () => {
    assert.equal(from({}).remote.api, 'openai');
    assert.equal(from({ 'remote.api': 'llama.cpp' }).remote.api, 'llama.cpp');
    assert.equal(from({ 'remote.api': 'LLAMA' }).remote.api, 'openai');
  });

  it('routes completions: chunks to the local server and a llama.cpp remote (on /infill), none to an OpenAI one', () => {
    assert.deepEqual(fimRoute(from({})), { fimApi: 'completions', extraContext: true });
    assert.deepEqual(fimRoute(from({ 'completion.context.enabled': false })), { fimApi: 'completions', extraContext: false });
    assert.deepEqual(fimRoute(from({ backend: 'remote' })), { fimApi: 'completions', extraContext: false });
    assert.deepEqual(fimRoute(from({ backend: 'remote', 'remote.api': 'llama.cpp' })), { fimApi: 'infill', extraContext: true });
    assert.deepEqual(fimRoute(from({ backend: 'remote', 'remote.api': 'llama.cpp', 'completion.context.enabled': false })), { fimApi: 'infill', extraContext: false });
    assert.deepEqual(fimRoute(from({ 'remote.api': 'llama.cpp' })), { fimApi: 'completions', extraContext: true }, 'remote.api is about remote servers only');
  });
});
