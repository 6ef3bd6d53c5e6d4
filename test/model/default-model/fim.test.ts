import assert from 'node:assert/strict';
import path from 'node:path';
import { loadModel, type LoadedModel } from '../../../src/server/loader';
import { MemoryReclaimer } from '../../../src/server/memory';
import { loadTokenizer, type Tokenizer } from '../../../src/server/tokenizer/tokenizer';
import { collectCorpus } from '../../../src/training/corpus';
import { BatchKVCache } from '../../../src/server/cache/batch-kv-cache';
import { mx } from '../../../src/server/mlx';
import { buildFimPrompt } from '../../../src/server/fim';
import { completeFim, heldOutFimCases } from '../../../src/training/evaluate';
import { firstLineBeams } from '../../../src/training/first-line-beam';
import { firstLine, scoreFim } from '../../../src/training/fim-examples';

const MODEL_DIR = process.env.MLX_BATCH_DEFAULT_MODEL_DIR ?? path.join(process.cwd(), 'models', 'default');

describe('the default model fills in the middle of held-out code', function () {
  this.timeout(180_000);
  let loaded: LoadedModel;
  let tokenizer: Tokenizer;
  before(async () => {
    loaded = await loadModel(MODEL_DIR);
    tokenizer = await loadTokenizer(loaded.dir);
  });

  it('continues the prefix with code at the right indentation, with the context the editor sends', async () => {
    const corpus = collectCorpus({ root: path.join(process.cwd(), 'node_modules'), maxBytes: 24_000_000, heldOutShare: 0.04 });
    // The extension's default context (4,000 + 1,500 characters), fitted to the model's 1,024 tokens
    // the way the server fits it.
    const cases = heldOutFimCases(corpus.heldOut, 16, 2024, { prefixChars: 4000, suffixChars: 1500 });
    assert.equal(cases.length, 16);
    const completions = await completeFim(loaded.model, tokenizer, cases, 32, new MemoryReclaimer(4));
    completions.forEach((c, i) => {
      assert.ok(c.trim().length > 0, `empty completion for ${cases[i].file}`);
      assert.doesNotMatch(c, /<\|(fim_|endoftext|im_)/);
    });
    // On the 200 eval cases the shipped model opens the first line at the real middle's
    // indentation 92% of the time (docs/DEFAULT_MODEL.md), above the rule "indent like the
    // line above"; a model that lost FIM, or a prompt in the wrong layout, rarely does. Exact
    // first lines are measured by `mlx-batch eval-model`.
    const score = scoreFim(cases.map((c, i) => ({ ...c, completion: completions[i] })));
    assert.ok(score.indentation >= 10 && score.indentation > score.indentationBaseline,
      `${score.indentation}/16 completions start at the expected indentation (the line above: ${score.indentationBaseline}/16): ` +
      completions.map((c) => JSON.stringify(firstLine(c))).join(', '));
  });

  it('beam search over the first line: one beam is greedy, and each line carries its own log-probability', async () => {
    const corpus = collectCorpus({ root: path.join(process.cwd(), 'node_modules'), maxBytes: 24_000_000, heldOutShare: 0.04 });
    const cases = heldOutFimCases(corpus.heldOut, 6, 99);
    const reclaim = new MemoryReclaimer(4);
    const greedy = await completeFim(loaded.model, tokenizer, cases, 48, reclaim);
    for (const [i, c] of cases.entries()) {
      const prompt = buildFimPrompt(tokenizer, c.prefix, c.suffix);
      const one = await firstLineBeams(loaded.model, tokenizer, prompt.ids, prompt.stopIds, 1, 48, reclaim);
      assert.equal(one[0].line, firstLine(greedy[i]), `case ${i}`);
      const four = await firstLineBeams(loaded.model, tokenizer, prompt.ids, prompt.stopIds, 4, 48, reclaim);
      assert.ok(four.length >= 1);
      four.slice(1).forEach((l, j) => assert.ok(l.logprob <= four[j].logprob, 'most likely first'));
      // The most likely line's score, recomputed by one teacher-forced pass over prompt + line.
      const best = four[0];
      const all = [...prompt.ids, ...best.ids];
      const cache = BatchKVCache.forPrompts(loaded.model.args.numHiddenLayers, [all.length]);
      const logits = loaded.model.forward(mx.array(all, mx.int32).reshape([1, all.length]), cache).astype(mx.float32);
      const lp = mx.subtract(logits, mx.logsumexp(logits, -1, true)).reshape([all.length, -1]);
      const rows = lp.index(mx.Slice(prompt.ids.length - 1, all.length - 1));
      const picked = mx.takeAlongAxis(rows, mx.array(best.ids, mx.int32).reshape([-1, 1]), -1);
      const total = mx.sum(picked).item() as number;
      assert.ok(Math.abs(total - best.logprob) < 1e-3 * Math.max(1, Math.abs(total)), `${total} vs ${best.logprob}`);
    }
  });
});
