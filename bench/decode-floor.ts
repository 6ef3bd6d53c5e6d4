// Batch-1 decode of the Qwen2.5-0.5B shape (f32) against this machine's memory-bandwidth floor.
//   npx tsc -p . && node --expose-gc out/bench/decode-floor.js [--tokens 32] [--rounds 3] [--prompt 128] [--stack]
// Loads the `qwen2 0.5b` random fixture (made on first use under .cache/models) through the real
// loader and model, or with --stack a bare decoder of the same shape (bench/lib/qwen2-stack.ts).
// Prints the measured read bandwidth (and how), weight bytes per token, the floor tok/s, prefill
// and decode tok/s, and decode as a % of the floor. Figures are medians of interleaved rounds.
import os from 'node:os';
import { parseArgs } from 'node:util';
import { MemoryReclaimer, hasGc } from '../src/server/memory';
import { BatchKVCache } from '../src/server/cache/batch-kv-cache';
import { ensureFixtureModel } from '../src/server/fixtures';
import { loadModel } from '../src/server/loader';
import { blasShim } from '../src/server/mlx';
import type { LanguageModel } from '../src/server/model';
import { measureReadBandwidth } from './lib/bandwidth';
import { median, randomTokens, timeDecode, timePrefill, type Sequence } from './lib/decode-loop';
import { QWEN25_05B, Qwen2Stack, randomWeights, stackSequence, weightBytesPerToken } from './lib/qwen2-stack';
import { benchMain } from './lib/run';

const { values: opt } = parseArgs({
  options: {
    tokens: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '3' },
    prompt: { type: 'string', default: '128' },
    'bandwidth-threads': { type: 'string', default: String(os.cpus().length) },
    stack: { type: 'boolean', default: false },
  },
});
const TOKENS = Number(opt.tokens), ROUNDS = Number(opt.rounds), PROMPT = Number(opt.prompt);


function modelSequence(model: LanguageModel): Sequence {
  const cache = new BatchKVCache(model.args.numHiddenLayers);
  return { forward: (tokens) => model.forward(tokens, cache, { lastOnly: true }) };
}

interface Subject { label: string; bytesPerToken: number; vocab: number; sequence(): Sequence }

async function subject(): Promise<Subject> {
  if (opt.stack) {
    const weights = randomWeights(QWEN25_05B);
    const stack = new Qwen2Stack(weights, { layout: 'linear', fuse: false });
    return { label: 'bare qwen2 stack (bench/lib/qwen2-stack.ts), random f32', bytesPerToken: weightBytesPerToken(weights), vocab: QWEN25_05B.vocab, sequence: () => stackSequence(stack) };
  }
  const dir = await ensureFixtureModel('qwen2', '0.5b');
  const loaded = await loadModel(dir);
  const { args } = loaded;
  // Every parameter is read once per token (the tied embedding as lm_head), plus one embedding row.
  const bytes = loaded.weightBytes + args.hiddenSize * 4;
  return { label: `${dir} via loadModel + createModel (what users run), ${loaded.loadMs.toFixed(0)} ms to load`, bytesPerToken: bytes, vocab: args.vocabSize, sequence: () => modelSequence(loaded.model) };
}

interface Variant { name: string; shim: boolean }

async function main(): Promise<void> {
  const fmt = (x: number, d = 1): string => x.toFixed(d);
  console.log(`host: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), load average ${os.loadavg().map((x) => fmt(x)).join(' ')}, node ${process.version}, gc exposed: ${hasGc}`);

  const bw = await measureReadBandwidth(Number(opt['bandwidth-threads']));
  console.log(`read bandwidth: ${fmt(bw.gibPerSec)} GiB/s best, ${fmt(bw.medianGibPerSec)} median (${bw.method}; samples ${bw.samples.map((x) => fmt(x)).join(' ')})`);

  const subj = await subject();
  const bytes = subj.bytesPerToken;
  const floor = (bw.gibPerSec * 2 ** 30) / bytes;
  console.log(`model: ${subj.label}`);
  console.log(`weights read per decode token: ${fmt(bytes / 1e9, 3)} GB (f32 parameters, tied lm_head counted once, + one embedding row)`);
  console.log(`floor: ${fmt(floor)} tok/s (bandwidth / bytes per token); target 50%: ${fmt(floor / 2)} tok/s`);

  const variants: Variant[] = [{ name: 'MLX sgemm (as shipped)', shim: false }];
  if (blasShim) variants.push({ name: 'BLAS shim (small-M kernel, one-row sgemv route)', shim: true });
  else console.log('BLAS shim: not available (no C compiler, not linux-x64, or MLX_BATCH_SKINNY_GEMM=0)');

  const prompt = randomTokens(PROMPT, subj.vocab);
  const short = randomTokens(16, subj.vocab, 7);
  const reclaim = new MemoryReclaimer();
  const prefill = new Map<string, number[]>(), decode = new Map<string, number[]>(), gcShare = new Map<string, number[]>();
  for (let r = 0; r < ROUNDS; r++) {
    for (const v of variants) {
      blasShim?.setEnabled(v.shim);
      (prefill.get(v.name) ?? prefill.set(v.name, []).get(v.name))?.push(timePrefill(subj.sequence(), prompt));
      reclaim.collect();
      const d = await timeDecode(subj.sequence(), short, TOKENS, reclaim);
      const total = d.msPerToken.reduce((a, b) => a + b, 0);
      (decode.get(v.name) ?? decode.set(v.name, []).get(v.name))?.push(1000 / median(d.msPerToken));
      (gcShare.get(v.name) ?? gcShare.set(v.name, []).get(v.name))?.push(d.gcMs / total);
      reclaim.collect();
    }
  }
  blasShim?.setEnabled(true);
  for (const v of variants) {
    const p = prefill.get(v.name) ?? [], d = decode.get(v.name) ?? [];
    const dm = median(d);
    console.log(`${v.name}: prefill ${fmt(median(p))} tok/s (${PROMPT}-token prompt); decode ${fmt(dm)} tok/s median, ${fmt(Math.max(...d))} best `
      + `= ${fmt((100 * dm) / floor, 0)}% of floor (${fmt((100 * Math.max(...d)) / floor, 0)}% best); gc ${fmt(100 * median(gcShare.get(v.name) ?? []), 0)}% of decode time`);
  }
  console.log(`load average after: ${os.loadavg().map((x) => fmt(x)).join(' ')}`);
}

benchMain(main);
