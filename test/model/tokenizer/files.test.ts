import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MlxBatchError } from '../../../src/shared/errors';
import { loadTokenizer } from '../../../src/server/tokenizer/tokenizer';
import { renderChat } from '../../../src/server/tokenizer/chat-template';
import { LLAMA2_DIR, smallSentencePieceJson, stream } from '../helpers/tokenizers';

const BASE_CONFIG = JSON.parse(fs.readFileSync(path.join(LLAMA2_DIR, 'tokenizer_config.json'), 'utf8'));
const SMALL_JSON = JSON.stringify(smallSentencePieceJson());

/** A model folder holding a small Llama-2-style tokenizer.json and the given JSON files. */
function folder(files: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlx-batch-tok-'));
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), SMALL_JSON);
  for (const [name, content] of Object.entries(files)) {
    fs.writeFileSync(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

function withoutEos(): Record<string, unknown> {
  const { eos_token: _eos, ...rest } = BASE_CONFIG;
  return rest;
}

function isError(type: string, pattern: RegExp) {
  return (err: unknown) => err instanceof MlxBatchError && err.type === type && pattern.test(err.message);
}

describe('tokenizer files: errors, EOS resolution, config options', function () {
  this.timeout(60_000);
  const dirs: string[] = [];
  const make = (files: Record<string, unknown>) => { const d = folder(files); dirs.push(d); return d; };
  after(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

  it('names the folder when tokenizer.json is missing', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlx-batch-tok-'));
    dirs.push(dir);
    await assert.rejects(loadTokenizer(dir), isError('tokenizer_missing', new RegExp(`No tokenizer.json in ${dir}`)));
  });

  it('rejects unreadable JSON and a tokenizer.json the library cannot build', async () => {
    const bad = fs.mkdtempSync(path.join(os.tmpdir(), 'mlx-batch-tok-'));
    dirs.push(bad);
    fs.writeFileSync(path.join(bad, 'tokenizer.json'), '{"model": {"type": "BPE"');
    await assert.rejects(loadTokenizer(bad), isError('invalid_tokenizer', /tokenizer.json is not valid JSON/));
    fs.writeFileSync(path.join(bad, 'tokenizer.json'), JSON.stringify({ version: '1.0', added_tokens: [], normalizer: null,
      pre_tokenizer: null, post_processor: null, decoder: null, model: { type: 'Nonsense' } }));
    await assert.rejects(loadTokenizer(bad), isError('invalid_tokenizer', /could not be loaded: .*Nonsense/));
    const badConfig = make({ 'tokenizer_config.json': '{oops' });
    await assert.rejects(loadTokenizer(badConfig), isError('invalid_tokenizer', /tokenizer_config.json is not valid JSON/));
  });

  it('takes EOS from config.json eos_token_id, a number or a list', async () => {
    const one = await loadTokenizer(make({ 'tokenizer_config.json': withoutEos(), 'config.json': { eos_token_id: 7 } }));
    assert.deepEqual([...one.eosIds], [7]);
    const list = await loadTokenizer(make({ 'tokenizer_config.json': withoutEos(), 'config.json': { eos_token_id: [2, 9] } }));
    assert.deepEqual([...list.eosIds], [2, 9]);
  });

  it('takes EOS from generation_config.json, and from options instead of files when given', async () => {
    const dir = make({ 'tokenizer_config.json': withoutEos(), 'generation_config.json': { eos_token_id: [11, 12] } });
    assert.deepEqual([...(await loadTokenizer(dir)).eosIds], [11, 12]);
    const passed = await loadTokenizer(dir, { config: { eos_token_id: 5 }, generationConfig: { eos_token_id: 6 } });
    assert.deepEqual([...passed.eosIds], [5, 6]);
  });

  it('takes EOS from tokenizer_config.json eos_token, a string or an AddedToken object', async () => {
    const str = await loadTokenizer(make({ 'tokenizer_config.json': { ...withoutEos(), eos_token: '<unk>' } }));
    assert.deepEqual([...str.eosIds], [0]);
    const obj = await loadTokenizer(make({ 'tokenizer_config.json': { ...withoutEos(), eos_token: { content: '<unk>', __type: 'AddedToken' } } }));
    assert.deepEqual([...obj.eosIds], [0]);
  });

  it('unites all three files, and falls back to a special </s> when none names one', async () => {
    const all = await loadTokenizer(make({ 'tokenizer_config.json': BASE_CONFIG, 'config.json': { eos_token_id: 7 },
      'generation_config.json': { eos_token_id: [7, 8] } }));
    assert.deepEqual([...all.eosIds].sort((a, b) => a - b), [2, 7, 8]);
    const none = await loadTokenizer(make({ 'tokenizer_config.json': withoutEos() }));
    assert.deepEqual([...none.eosIds], [2]);
  });

  it('honours add_bos_token false over the post-processor', async () => {
    const tok = await loadTokenizer(make({ 'tokenizer_config.json': { ...BASE_CONFIG, add_bos_token: false } }));
    const bare = tok.encode('Hello world', { addSpecialTokens: false });
    assert.deepEqual(tok.prefixIds, []);
    assert.deepEqual(tok.encode('Hello world'), bare);
    const eos = await loadTokenizer(make({ 'tokenizer_config.json': { ...BASE_CONFIG, add_eos_token: true } }));
    assert.deepEqual(eos.encode('Hello world'), [1, ...bare, 2]);
  });

  it('reads chat_template.jinja when tokenizer_config.json has no template, with bos_token', async () => {
    const jinja = "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}";
    const tok = await loadTokenizer(make({ 'tokenizer_config.json': BASE_CONFIG, 'chat_template.jinja': jinja }));
    assert.equal(renderChat(tok, [{ role: 'user', content: 'hi' }]), '<s>[user] hi\n[assistant] ');
    assert.equal(renderChat(tok, [{ role: 'user', content: 'hi' }], { addGenerationPrompt: false }), '<s>[user] hi\n');
  });

  it('reports a template that raises, or does not parse', async () => {
    const raising = "{% if messages[0].role != 'user' %}{{ raise_exception('Conversation must start with user') }}{% endif %}ok";
    const tok = await loadTokenizer(make({ 'tokenizer_config.json': { ...BASE_CONFIG, chat_template: raising } }));
    assert.throws(() => renderChat(tok, [{ role: 'assistant', content: 'x' }]),
      (err: unknown) => isError('validation', /Conversation must start with user/)(err) && (err as MlxBatchError).param === 'messages');
    const broken = await loadTokenizer(make({ 'tokenizer_config.json': { ...BASE_CONFIG, chat_template: '{% for m in messages %}' } }));
    assert.throws(() => renderChat(broken, [{ role: 'user', content: 'x' }]), isError('invalid_tokenizer', /chat template/));
  });

  it('applies clean_up_tokenization_spaces when the config asks, streaming included', async () => {
    const tok = await loadTokenizer(make({ 'tokenizer_config.json': { ...BASE_CONFIG, clean_up_tokenization_spaces: true } }));
    const text = "Hello , world . It 's fine ! Do n't stop ? They 're here ' quoted ' and  spaced .";
    const ids = tok.encode(text, { addSpecialTokens: false });
    assert.equal(tok.decode(ids), "Hello, world. It's fine! Don't stop? They're here'quoted'and  spaced.");
    assert.equal(tok.decode(ids, { cleanUpTokenizationSpaces: false }), text);
    assert.equal(stream(tok, ids).join(''), tok.decode(ids));
  });
});
