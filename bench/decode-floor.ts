// Batch-1 decode of the Qwen2.5-0.5B shape (f32) against this machine's memory-bandwidth floor.
//   npx tsc -p . --outDir /tmp/out-bench && node --expose-gc /tmp/out-bench/bench/decode-floor.js [--tokens 32] [--rounds 3] [--prompt 128]
// Prints the measured read bandwidth (and how), weight bytes per token, the floor tok/s, prefill
// and decode tok/s, and decode as a % of the floor. Figures are medians of interleaved rounds.
import { skinnyGemm } from './lib/skinny-gemm'; // must load before node-mlx
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { MxArray } from '../src/server/mlx';
import { MemoryReclaimer, hasGc } from '../src/server/memory';
import { measureReadBandwidth } from './lib/bandwidth';
import { median, randomTokens, timeDecode, timePrefill, type Sequence } from './lib/decode-loop';
import { QWEN25_05B, Qwen2Stack, randomWeights, weightBytesPerToken } from './lib/qwen2-stack';

const { values: opt } = parseArgs({
  options: {
    tokens: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '3' },
    prompt: { type: 'string', default: '128' },
    'bandwidth-threads': { type: 'string', default: String(os.cpus().length) },
  },
});
const TOKENS = Number(opt.tokens), ROUNDS = Number(opt.rounds), PROMPT = Number(opt.prompt);

function stackSequence(stack: Qwen2Stack): Sequence {
  const cache: Array<[MxArray, MxArray] | undefined> = [];
  let offset = 0;
  return {
    forward(tokens: MxArray): MxArray {
      const out = stack.forward(tokens, cache, offset);
      offset += tokens.shape[1];
      return out;
    },
  };
}

interface Variant { name: string; stack: Qwen2Stack; skinny: boolean }

async function main(): Promise<void> {
  const fmt = (x: number, d = 1): string => x.toFixed(d);
  console.log(`host: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), load average ${os.loadavg().map((x) => fmt(x)).join(' ')}, node ${process.version}, gc exposed: ${hasGc}`);

  const bw = await measureReadBandwidth(Number(opt['bandwidth-threads']));
  console.log(`read bandwidth: ${fmt(bw.gibPerSec)} GiB/s best, ${fmt(bw.medianGibPerSec)} median (${bw.method}; samples ${bw.samples.map((x) => fmt(x)).join(' ')})`);

  const weights = randomWeights(QWEN25_05B);
  const bytes = weightBytesPerToken(weights);
  const floor = (bw.gibPerSec * 2 ** 30) / bytes;
  console.log(`weights read per decode token: ${fmt(bytes / 1e9, 3)} GB (f32, 24 layers + tied lm_head 896x151936)`);
  console.log(`floor: ${fmt(floor)} tok/s (bandwidth / bytes per token); target 50%: ${fmt(floor / 2)} tok/s`);

  const linear = new Qwen2Stack(weights, { layout: 'linear', fuse: false });
  const variants: Variant[] = [{ name: 'nn.Linear layout, MLX sgemm', stack: linear, skinny: false }];
  if (skinnyGemm) variants.push({ name: 'nn.Linear layout, skinny-gemm shim', stack: linear, skinny: true });
  else console.log('skinny-gemm shim: not available (no C compiler, not linux-x64, or MLX_BATCH_SKINNY_GEMM=0)');

  const prompt = randomTokens(PROMPT, QWEN25_05B.vocab);
  const short = randomTokens(16, QWEN25_05B.vocab, 7);
  const reclaim = new MemoryReclaimer();
  const prefill = new Map<string, number[]>(), decode = new Map<string, number[]>(), gcShare = new Map<string, number[]>();
  for (let r = 0; r < ROUNDS; r++) {
    for (const v of variants) {
      skinnyGemm?.setEnabled(v.skinny);
      (prefill.get(v.name) ?? prefill.set(v.name, []).get(v.name))?.push(timePrefill(stackSequence(v.stack), prompt));
      reclaim.collect();
      const d = await timeDecode(stackSequence(v.stack), short, TOKENS, reclaim);
      const total = d.msPerToken.reduce((a, b) => a + b, 0);
      (decode.get(v.name) ?? decode.set(v.name, []).get(v.name))?.push(1000 / median(d.msPerToken));
      (gcShare.get(v.name) ?? gcShare.set(v.name, []).get(v.name))?.push(d.gcMs / total);
      reclaim.collect();
    }
  }
  skinnyGemm?.setEnabled(true);
  for (const v of variants) {
    const p = prefill.get(v.name) ?? [], d = decode.get(v.name) ?? [];
    const dm = median(d);
    console.log(`${v.name}: prefill ${fmt(median(p))} tok/s (${PROMPT}-token prompt); decode ${fmt(dm)} tok/s median, ${fmt(Math.max(...d))} best `
      + `= ${fmt((100 * dm) / floor, 0)}% of floor (${fmt((100 * Math.max(...d)) / floor, 0)}% best); gc ${fmt(100 * median(gcShare.get(v.name) ?? []), 0)}% of decode time`);
  }
  console.log(`load average after: ${os.loadavg().map((x) => fmt(x)).join(' ')}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
