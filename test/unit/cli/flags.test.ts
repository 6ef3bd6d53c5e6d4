// Command-line flags: every bad value is refused with the flag's name and what it accepts.
import assert from 'node:assert/strict';
import { deviceFlag, intFlag, numberFlag, oneOf, parseFlags } from '../../../src/cli/command';
import { parseServeOptions } from '../../../src/cli/server/serve-options';
import { benchCommand } from '../../../src/cli/bench';

const refused = (flag: string, text: RegExp) => (err: Error & { type?: string; param?: string }) =>
  err.type === 'validation' && err.param === flag && text.test(err.message);

describe('command-line flags', () => {
  it('parses integers, numbers and choices, and falls back when absent', () => {
    const f = parseFlags(['--steps', '12', '--lr', '0.5', '--fim-layout', 'psm'], {
      steps: { type: 'string' }, lr: { type: 'string' }, 'fim-layout': { type: 'string' }, seed: { type: 'string' },
    }, 'usage');
    assert.equal(intFlag(f.steps, 'steps', 1, 1), 12);
    assert.equal(numberFlag(f.lr, 'lr', 0.1, 0, 1), 0.5);
    assert.equal(oneOf(f['fim-layout']!, ['psm', 'spm'], 'fim-layout'), 'psm');
    assert.equal(intFlag(f.seed, 'seed', 7), 7);
  });

  it('refuses bad values naming the flag', () => {
    assert.throws(() => intFlag('1.5', 'steps', 1, 1), refused('steps', /--steps must be an integer >= 1 \(got "1.5"\)/));
    assert.throws(() => numberFlag('2', 'lr', 0.1, 0, 1), refused('lr', /--lr must be a number in \[0, 1\]/));
    assert.throws(() => oneOf('middle-first', ['psm', 'spm'], 'fim-layout'), refused('fim-layout', /--fim-layout must be one of psm, spm \(got "middle-first"\)/));
  });

  it('--device takes cpu or gpu; absent, the server picks its default', () => {
    assert.equal(parseServeOptions(['--device', 'cpu']).device, 'cpu');
    assert.equal(parseServeOptions(['--device', 'gpu']).device, 'gpu');
    assert.equal(parseServeOptions([]).device, undefined);
    assert.throws(() => parseServeOptions(['--device', 'metal']), refused('device', /--device must be one of cpu, gpu \(got "metal"\)/));
    assert.equal(deviceFlag(undefined), undefined);
  });

  it('--speculative takes ngram (the default) or off', () => {
    assert.equal(parseServeOptions([]).speculative, true);
    assert.equal(parseServeOptions(['--speculative', 'ngram']).speculative, true);
    assert.equal(parseServeOptions(['--speculative', 'off']).speculative, false);
    assert.throws(() => parseServeOptions(['--speculative', 'draft-model']), refused('speculative', /--speculative must be one of ngram, off/));
  });

  it('--cache-reuse takes a run length (0, the default: exact prefixes only)', () => {
    assert.equal(parseServeOptions([]).cacheReuseTokens, 0);
    assert.equal(parseServeOptions(['--cache-reuse', '64']).cacheReuseTokens, 64);
    assert.throws(() => parseServeOptions(['--cache-reuse=-1']), refused('cache-reuse', /--cache-reuse must be an integer >= 0/));
  });

  it('bench refuses an unknown scenario and bad editor-scenario values before loading anything', async () => {
    await assert.rejects(benchCommand.run(['--scenario', 'typing']), refused('scenario', /--scenario must be one of throughput, editor/));
    await assert.rejects(benchCommand.run(['--scenario', 'editor', '--chats', 'two']), refused('chats', /--chats must be an integer/));
    await assert.rejects(benchCommand.run(['--scenario', 'editor', '--typing-ms', '5']), refused('typing-ms', /--typing-ms must be an integer >= 20/));
    await assert.rejects(benchCommand.run(['--scenario', 'editor', '--files', '/no/such/file.ts']), refused('files', /cannot read \/no\/such\/file.ts/));
  });
});
