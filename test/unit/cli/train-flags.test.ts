// `mlx-batch train` flags: checked like every other command's, each bad value refused naming its flag.
import assert from 'node:assert/strict';
import path from 'node:path';
import { trainOptions } from '../../../src/cli/train-flags';
import { DEFAULT_TRAIN_OPTIONS } from '../../../src/training/train-options';

const refused = (flag: string, text: RegExp) => (err: Error & { type?: string; param?: string }) =>
  err.type === 'validation' && err.param === flag && text.test(err.message);
const options = (...flags: string[]) => trainOptions(['--out', 'run', ...flags]);

describe('train flags', () => {
  it('takes the defaults when only --out is given', () => {
    const o = options();
    assert.equal(o.out, path.resolve('run'));
    assert.equal(o.dtype, DEFAULT_TRAIN_OPTIONS.dtype);
    assert.deepEqual(o.shape, DEFAULT_TRAIN_OPTIONS.shape);
    assert.deepEqual(o.mix, DEFAULT_TRAIN_OPTIONS.mix);
  });

  it('reads every kind of flag', () => {
    const o = options('--dtype', 'f32', '--steps', '10', '--lr', '0.01', '--fim-layout', 'psm', '--hidden', '64', '--heads', '4', '--resume');
    assert.equal(o.dtype, 'float32');
    assert.equal(options('--dtype', 'bf16').dtype, 'bfloat16');
    assert.equal(o.steps, 10);
    assert.equal(o.lr, 0.01);
    assert.equal(o.mix.fimLayout, 'psm');
    assert.deepEqual([o.shape.hiddenSize, o.shape.heads, o.shape.kvHeads], [64, 4, 4]);
    assert.equal(o.resume, true);
  });

  it('refuses a --dtype it does not know instead of taking it as bf16', () => {
    assert.throws(() => options('--dtype', 'fp32'), refused('dtype', /--dtype must be one of f32, bf16 \(got "fp32"\)/));
    assert.throws(() => options('--dtype', 'float32'), refused('dtype', /--dtype must be one of f32, bf16/));
  });

  it('refuses a model shape no decoder takes, before any training work', () => {
    assert.throws(() => options('--hidden', '64', '--heads', '3'), refused('heads', /--hidden \(64\) must be a multiple of --heads \(3\)/));
    assert.throws(() => options('--hidden', '96', '--heads', '32'), refused('heads', /head size --hidden \/ --heads \(3\) must be even/));
  });

  it('refuses bad values of every other kind naming the flag', () => {
    assert.throws(() => options('--steps', '0'), refused('steps', /--steps must be an integer >= 1/));
    assert.throws(() => options('--lr', '2'), refused('lr', /--lr must be a number in \[0, 1\]/));
    assert.throws(() => options('--fim-layout', 'middle-first'), refused('fim-layout', /must be one of psm, spm/));
    assert.throws(() => options('--fim-share', '0.7', '--chat-share', '0.5'), refused('fim-share', /at most 1/));
    assert.throws(() => options('--stop-after', 'soon'), refused('stop-after', /--stop-after must be an integer >= 1/));
    assert.throws(() => trainOptions([]), refused('out', /--out is required/));
    assert.throws(() => options('--dtyp', 'f32'), (err: Error & { type?: string }) => err.type === 'validation' && /--dtyp/.test(err.message));
  });
});
