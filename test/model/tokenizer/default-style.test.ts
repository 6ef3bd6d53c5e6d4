import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { countPieces, trainBpe } from '../../../src/training/bpe-trainer';
import * as files from '../../../src/training/tokenizer-spec';
import { loadTokenizer, type Tokenizer } from '../../../src/server/tokenizer/tokenizer';
import { renderChat } from '../../../src/server/tokenizer/chat-template';
import { buildFimPrompt, encodeExtraContext, joinExtraContext } from '../../../src/server/fim';
import { fimPrompt } from '../../../src/training/fim-examples';
import { TrainingTokenizer } from '../../../src/training/tokens';
import { corpus, stream } from '../helpers/tokenizers';

// The default model's tokenizer is a byte-level BPE written by src/training: a small
// one trained here must load, keep its FIM and chat tokens whole, and stream exactly.
describe('tokenizer: a default-model-style byte-level BPE from src/training', function () {
  this.timeout(60_000);
  const texts = corpus();
  let dir: string;
  let tok: Tokenizer;
  let ids: Record<files.SpecialToken, number>;

  before(async () => {
    const model = trainBpe(countPieces(texts.map((t) => t.text)), 300);
    ids = files.specialIds(model);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlx-batch-tok-default-'));
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(files.tokenizerJson(model)));
    fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(files.tokenizerConfigJson(model, 2048, 'psm')));
    tok = await loadTokenizer(dir);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps special tokens whole and resolves EOS and end-of-turn', () => {
    assert.deepEqual(tok.encode('<|fim_prefix|><|im_end|>'), [ids['<|fim_prefix|>'], ids['<|im_end|>']]);
    assert.deepEqual([...tok.eosIds], [ids['<|endoftext|>']]);
    assert.ok(tok.endOfGenerationIds.has(ids['<|im_end|>']));
    assert.deepEqual(tok.prefixIds, []);
  });

  it('round-trips and streams the corpus exactly, without U+FFFD', () => {
    for (const { name, text } of texts) {
      const encoded = tok.encode(text);
      assert.equal(tok.decode(encoded), text, name);
      const pieces = stream(tok, encoded);
      assert.equal(pieces.join(''), text, name);
      assert.ok(pieces.every((p) => !p.includes('\uFFFD')), name);
    }
  });

  it('builds a Qwen-style FIM prompt with <|fim_pad|> and <|endoftext|> as stops', () => {
    const { ids: prompt, stopIds } = buildFimPrompt(tok, 'const x = ', ';\n');
    assert.equal(prompt[0], ids['<|fim_prefix|>']);
    assert.equal(prompt.at(-1), ids['<|fim_middle|>']);
    assert.equal(tok.decode(prompt), '<|fim_prefix|>const x = <|fim_suffix|>;\n<|fim_middle|>');
    for (const t of ['<|fim_pad|>', '<|endoftext|>', '<|im_end|>'] as const) assert.ok(stopIds.has(ids[t]), t);
  });

  it('heads other files with plain --- name --- lines when the vocabulary has no repository tokens', () => {
    const extra = encodeExtraContext(tok, [{ filename: 'a.py', text: 'A = 1' }], 'b.py');
    const { ids: prompt } = buildFimPrompt(tok, 'x = ', '\n', joinExtraContext(extra, 1));
    assert.equal(tok.decode(prompt), '--- a.py ---\nA = 1\n\n--- b.py ---\n<|fim_prefix|>x = <|fim_suffix|>\n<|fim_middle|>');
  });

  it('builds the FIM paper\'s suffix-prefix-middle prompt when tokenizer_config.json says fim_layout "spm", token for token as training does', async () => {
    const model = trainBpe(countPieces(texts.map((t) => t.text)), 300);
    const spmDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlx-batch-tok-spm-'));
    try {
      fs.writeFileSync(path.join(spmDir, 'tokenizer.json'), JSON.stringify(files.tokenizerJson(model)));
      fs.writeFileSync(path.join(spmDir, 'tokenizer_config.json'), JSON.stringify(files.tokenizerConfigJson(model, 2048, 'spm')));
      const spm = await loadTokenizer(spmDir);
      const c = { prefix: 'function add(a, b) {\n  ', suffix: '\n}\n' };
      const { ids: prompt } = buildFimPrompt(spm, c.prefix, c.suffix);
      assert.equal(spm.decode(prompt), '<|fim_prefix|><|fim_suffix|>\n}\n<|fim_middle|>function add(a, b) {\n  ');
      assert.deepEqual(prompt, new TrainingTokenizer(model).encodeWithSpecials(fimPrompt(c, 'spm')));
      assert.deepEqual(buildFimPrompt(tok, c.prefix, c.suffix).ids, new TrainingTokenizer(model).encodeWithSpecials(fimPrompt(c, 'psm')));

      const config = JSON.parse(fs.readFileSync(path.join(spmDir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
      fs.writeFileSync(path.join(spmDir, 'tokenizer_config.json'), JSON.stringify({ ...config, fim_layout: 'middle-first' }));
      const bad = await loadTokenizer(spmDir);
      assert.throws(() => buildFimPrompt(bad, 'a', 'b'), (err: Error & { type?: string }) =>
        err.type === 'invalid_tokenizer' && /fim_layout "middle-first".*"psm".*"spm"/.test(err.message));
    } finally {
      fs.rmSync(spmDir, { recursive: true, force: true });
    }
  });

  it('renders its chat template as the training code renders chats', () => {
    const msgs = [{ role: 'user' as const, content: 'Reverse a string in TypeScript.' }];
    assert.equal(renderChat(tok, msgs), files.renderChat(msgs, true));
    const withSystem = [{ role: 'system' as const, content: 'Be terse.' }, ...msgs, { role: 'assistant' as const, content: 's.split("").reverse().join("")' }];
    assert.equal(renderChat(tok, withSystem, { addGenerationPrompt: false }), files.renderChat(withSystem, false));
  });
});
