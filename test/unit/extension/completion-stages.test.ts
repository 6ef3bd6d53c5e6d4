import assert from 'node:assert/strict';
import { trimCompletion } from '../../../src/extension/completion/block-end';
import { CompletionCache, remainder } from '../../../src/extension/completion/completion-cache';
import { completionMode, stopStrings } from '../../../src/extension/completion/completion-mode';
import { LatestWinsDebouncer } from '../../../src/extension/completion/debouncer';
import { buildFimContext } from '../../../src/shared/fim-context';
import { isLanguageEnabled } from '../../../src/extension/completion/languages';
import { FimSupport, rejectsSuffix } from '../../../src/extension/completion/fim-support';
import { ApiError } from '../../../src/extension/client/api-error';
import { ManualClock, settle } from './helpers/manual-clock';

describe('extension completion: FIM context', () => {
  it('keeps everything when within bounds and reports the cursor line', () => {
    const c = buildFimContext('a\nfunction f(', ') {}\nrest', 100, 100);
    assert.equal(c.prefix, 'a\nfunction f(');
    assert.equal(c.suffix, ') {}\nrest');
    assert.equal(c.lineBefore, 'function f(');
    assert.equal(c.lineAfter, ') {}');
  });

  it('cuts both sides at line boundaries within the budget', () => {
    const before = 'line one\nline two\nline three\ncur';
    const after = 'sor\nnext one\nnext two\n';
    const c = buildFimContext(before, after, 20, 14);
    assert.ok(c.prefix.length <= 20);
    assert.equal(c.prefix, 'line three\ncur');
    assert.equal(c.suffix, 'sor\nnext one\n');
  });

  it('keeps a cursor line longer than the budget', () => {
    const c = buildFimContext('x'.repeat(50), '', 10, 10);
    assert.equal(c.prefix, 'x'.repeat(10));
    assert.equal(c.suffix, '');
  });
});

describe('extension completion: mode and block end', () => {
  it('chooses single-line mid-line and multi-line on empty or block-opening lines', () => {
    assert.equal(completionMode('const x = foo(', 'bar)'), 'single-line');
    assert.equal(completionMode('    ', ''), 'multi-line');
    assert.equal(completionMode('function f() {', ''), 'multi-line');
    assert.equal(completionMode('def f(x):', ''), 'multi-line');
    assert.equal(completionMode('const x = 1', ''), 'single-line');
    assert.equal(completionMode('call(', ');'), 'multi-line');
    assert.deepEqual(stopStrings('single-line'), ['\n']);
  });

  it('cuts a single-line completion at the newline and drops text already after the cursor', () => {
    assert.deepEqual(trimCompletion('a, b)\nmore', { mode: 'single-line', lineBefore: 'f(', lineAfter: ')' }), { text: 'a, b', complete: true });
    assert.deepEqual(trimCompletion('a, b', { mode: 'single-line', lineBefore: 'f(', lineAfter: '' }), { text: 'a, b', complete: false });
  });

  it('ends a multi-line completion with the closing line of the block it opened', () => {
    const raw = '\n  return 1;\n}\n\nfunction g() {\n';
    const t = trimCompletion(raw, { mode: 'multi-line', lineBefore: 'function f() {', lineAfter: '' });
    assert.deepEqual(t, { text: '\n  return 1;\n}', complete: true });
  });

  it('ends at a dedent below the cursor line and before a line the document already has', () => {
    const t = trimCompletion('x = 1\n    y = 2\nz = 3\n', { mode: 'multi-line', lineBefore: '    ', lineAfter: '' });
    assert.deepEqual(t, { text: 'x = 1\n    y = 2', complete: true });
    const u = trimCompletion('  a();\n  b();\n  c();\n', { mode: 'multi-line', lineBefore: '  ', lineAfter: '', nextLine: '  b();' });
    assert.deepEqual(u, { text: '  a();', complete: true });
  });

  it('does not judge a last line that is still streaming, but does once the stream ended', () => {
    const input = { mode: 'multi-line' as const, lineBefore: '  ', lineAfter: '' };
    assert.deepEqual(trimCompletion('a\n  b\nc', input), { text: 'a\n  b\nc', complete: false });
    assert.deepEqual(trimCompletion('a\n  b\nc', input, true), { text: 'a\n  b', complete: true });
  });
});

describe('extension completion: debounce, cache, languages, FIM support', () => {
  it('latest wins: an older wait resolves false as soon as a newer one starts; the newer one fires once, after its own delay', async () => {
    const clock = new ManualClock();
    const d = new LatestWinsDebouncer(clock);
    const settled: string[] = [];
    void d.wait(200).then((v) => settled.push(`first ${v}`));
    void d.wait(30).then((v) => settled.push(`second ${v}`));
    await settle();
    assert.deepEqual(settled, ['first false'], 'the superseded wait returns with no time passed');
    assert.equal(clock.pending, 1, "the superseded wait's timer is cleared");
    clock.advance(29);
    await settle();
    assert.deepEqual(settled, ['first false'], 'the newer wait lasts its whole delay');
    clock.advance(1);
    await settle();
    assert.deepEqual(settled, ['first false', 'second true']);
    clock.advance(1000);
    await settle();
    assert.deepEqual(settled, ['first false', 'second true'], 'nothing fires later');
  });

  it('serves the rest of a completion while the user types what it predicted', () => {
    const c = new CompletionCache(2);
    c.put('let x = ', '\n', 'compute(1);');
    assert.equal(c.get('let x = ', '\n'), 'compute(1);');
    assert.equal(c.get('let x = comp', '\n'), 'ute(1);');
    assert.equal(c.get('let x = cab', '\n'), undefined);
    assert.equal(c.get('let x = comp', 'other'), undefined);
    assert.equal(c.get('let x = compute(1);', '\n'), undefined, 'nothing left');
    c.put('a', '', '1');
    c.put('b', '', '2');
    assert.equal(c.get('let x = ', '\n'), undefined, 'evicted past capacity');
    assert.equal(remainder('ab', 'cdef', 'abcd'), 'ef');
  });

  it('enables languages by id, with * as the default', () => {
    assert.equal(isLanguageEnabled({ '*': true, markdown: false }, 'markdown'), false);
    assert.equal(isLanguageEnabled({ '*': true, markdown: false }, 'typescript'), true);
    assert.equal(isLanguageEnabled({ '*': false, python: true }, 'python'), true);
    assert.equal(isLanguageEnabled({ '*': false, python: true }, 'go'), false);
  });

  it('recognises servers that refuse suffix and remembers them', () => {
    assert.equal(rejectsSuffix(new ApiError('suffix is not currently supported', 400, 'BadRequestError')), true);
    assert.equal(rejectsSuffix(new ApiError('model has no FIM tokens', 400, 'unsupported_feature', 'suffix')), true);
    assert.equal(rejectsSuffix(new ApiError('max_tokens too big', 400, 'validation', 'max_tokens')), false);
    assert.equal(rejectsSuffix(new ApiError('suffix', 500, 'internal')), false);
    const f = new FimSupport();
    assert.equal(f.supportsSuffix('http://a'), true);
    f.markPrefixOnly('http://a');
    assert.equal(f.supportsSuffix('http://a'), false);
    assert.equal(f.supportsSuffix('http://b'), true);
  });
});
