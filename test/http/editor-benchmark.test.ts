// The editor scenario behind POST /v1/benchmark, over the real runner and HTTP layer with the
// deterministic engine: the three modes replay one trace,
// sequential runs one request at a time and the batched modes several, batched-priority sends
// completions as interactive and chats as normal while batched sends everything as normal,
// cancelled completions are counted, and bad fields are clear 400s.
import assert from 'node:assert/strict';
import type { GenerateParams } from '../../src/batching/request-types';
import type { EditorBenchmarkReport } from '../../src/shared/protocol';
import { post, readSse, startTestServer, type TestServer } from './helpers/harness';

describe('server: the editor benchmark scenario', function () {
  this.timeout(120_000);
  let s: TestServer;
  before(async () => {
    // One token per character: a context that holds the extension's 4,000 + 1,500 characters.
    s = await startTestServer({ engine: { stepMs: 3, contextLength: 8192 }, runner: { maxBatch: 8 } });
  });
  after(async () => { await s.close(); });

  it('replays one trace in three modes and reports each', async () => {
    const res = await post(`${s.url}/v1/benchmark`, { scenario: 'editor', duration: 5, chats: 2, typing_ms: 120, seed: 3 });
    assert.equal(res.status, 200);
    const events = (await readSse(res)).filter((f) => f !== '[DONE]').map((f) => JSON.parse(f));
    assert.ok(events.some((e) => e.type === 'editor-progress' && e.mode === 'batched-priority'));
    const report = events.find((e) => e.type === 'result').report as EditorBenchmarkReport;
    assert.equal(report.scenario, 'editor');
    assert.deepEqual(report.modes.map((m) => m.mode), ['sequential', 'batched', 'batched-priority']);
    assert.equal(report.trace.seed, 3);
    for (const m of report.modes) {
      // A keystroke that asks is answered by the request still running when its text agrees, else by a new one.
      assert.ok(m.completionsSent > 0 && m.completionsSent <= report.trace.completions, `${m.mode}: ${m.completionsSent} of ${report.trace.completions} asks sent`);
      assert.equal(m.completionsServed + m.completionsCancelled, m.completionsSent);
      assert.equal(m.completionTtftSamplesMs.length, m.completionsServed);
      assert.deepEqual(m.completionTtftSamplesMs, [...m.completionTtftSamplesMs].sort((a, b) => a - b));
      assert.ok(m.chatTokens > 0 && m.chatTokensPerSecond > 0, `${m.mode}: chats streamed`);
      assert.ok(m.wallMs <= 5000 + 50);
    }
    const [seq, bat, pri] = report.modes;
    assert.equal(seq.peakBatch, 1, 'sequential runs one request at a time');
    assert.ok(bat.peakBatch >= 2 && pri.peakBatch >= 2, 'the batched modes run chats and completions together');
    assert.ok(pri.completionsServed > seq.completionsServed);
    assert.ok(report.verdict.text.startsWith('with batching and priorities, completions arrive'));
    // The priorities sent: batched sends everything as normal, batched-priority completions as interactive.
    const fim = (p: GenerateParams) => p.stop?.includes('\n') === true;
    const priorities = new Set(s.submitted.map((p) => `${fim(p) ? 'completion' : 'chat'}:${p.priority}`));
    assert.deepEqual([...priorities].sort(), ['chat:normal', 'completion:interactive', 'completion:normal']);
    assert.ok(s.runner.stats().batching, 'batching is on again after the benchmark');
  });

  it('answers bad editor fields with clear 400s', async () => {
    for (const [fields, param] of [[{ scenario: 'typing' }, 'scenario'], [{ scenario: 'editor', chats: 9 }, 'chats'], [{ scenario: 'editor', typing_ms: 5 }, 'typing_ms'],
      [{ scenario: 'editor', duration: 0 }, 'duration'], [{ scenario: 'editor', seed: -1 }, 'seed'], [{ scenario: 'editor', files: [] }, 'files'],
      [{ scenario: 'editor', files: [{ path: 'a.ts' }] }, 'files']] as const) {
      const res = await post(`${s.url}/v1/benchmark`, fields);
      assert.equal(res.status, 400, JSON.stringify(fields));
      assert.equal((await res.json()).error.param, param);
    }
  });
});
