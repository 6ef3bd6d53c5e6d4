// Training data's side of fill-in-the-middle: cases cut from a source file the way an editor
// asks (the cursor at a line start, sometimes inside a line; the middle one or a few lines;
// bounded prefix and suffix), their training text, and how a model's answers score.
import type { FimLayout } from '../server/fim';
import type { Rng } from '../shared/rng';

export interface FimCase {
  prefix: string;
  suffix: string;
  middle: string;
}

export interface FimOptions {
  maxPrefixChars: number;
  maxSuffixChars: number;
  /** Probability that the cursor sits inside the line rather than at its start. */
  midLineShare: number;
}

/** A prompt in Qwen2.5-Coder's FIM tokens, in either order (server's buildFimPrompt); the model answers with the middle then `<|endoftext|>`. */
export function fimPrompt(c: Pick<FimCase, 'prefix' | 'suffix'>, layout: FimLayout): string {
  return layout === 'spm'
    ? `<|fim_prefix|><|fim_suffix|>${c.suffix}<|fim_middle|>${c.prefix}`
    : `<|fim_prefix|>${c.prefix}<|fim_suffix|>${c.suffix}<|fim_middle|>`;
}

/** A line worth asking for: it has a letter or digit (not just `}` or blank). */
export function isContentLine(line: string): boolean {
  return /[\p{L}\p{N}]/u.test(line);
}

function middleLineCount(rng: Rng): number {
  const r = rng.next();
  return r < 0.6 ? 1 : r < 0.85 ? 2 : 3;
}

/** One case from `text`, or undefined when the file has no usable line. */
export function cutFimCase(text: string, rng: Rng, opts: FimOptions): FimCase | undefined {
  const lines = text.split('\n');
  const starts: number[] = [];
  let pos = 0;
  for (const l of lines) { starts.push(pos); pos += l.length + 1; }
  for (let attempt = 0; attempt < 20; attempt++) {
    const i = rng.int(0, lines.length);
    if (!isContentLine(lines[i])) continue;
    const k = Math.min(middleLineCount(rng), lines.length - i);
    let from = starts[i];
    if (rng.next() < opts.midLineShare) {
      const indent = lines[i].length - lines[i].trimStart().length;
      if (lines[i].length - indent > 2) from += rng.int(indent + 1, lines[i].length - 1);
    }
    const to = Math.min(text.length, starts[i + k - 1] + lines[i + k - 1].length + 1);
    let prefixStart = Math.max(0, from - opts.maxPrefixChars);
    if (prefixStart > 0) {
      const nl = text.indexOf('\n', prefixStart);
      prefixStart = nl < 0 || nl >= from ? from - (from - starts[i]) : nl + 1;
    }
    let suffixEnd = Math.min(text.length, to + opts.maxSuffixChars);
    if (suffixEnd < text.length) {
      const nl = text.lastIndexOf('\n', suffixEnd);
      suffixEnd = nl < to ? to : nl + 1;
    }
    return { prefix: text.slice(prefixStart, from), middle: text.slice(from, to), suffix: text.slice(to, suffixEnd) };
  }
  return undefined;
}

/** The first line of a completion or middle (what the first-line exact-match metric compares). */
export function firstLine(text: string): string {
  const nl = text.indexOf('\n');
  return nl < 0 ? text : text.slice(0, nl);
}

function indentation(line: string): string {
  return /^[ \t]*/.exec(line)?.[0] ?? '';
}

/** How close greedy infills came, beyond the exact first line, and what a one-line rule gets. */
export interface FimScore {
  cases: number;
  /** First line of the completion equals the middle's first line. */
  exact: number;
  /** First line opens with the middle's indentation. */
  indentation: number;
  /** The first 8 characters of the first line are right. */
  first8: number;
  /** The rule "indent like the last non-blank prefix line" would open the line right. */
  indentationBaseline: number;
}

export function scoreFim(results: { prefix: string; middle: string; completion: string }[]): FimScore {
  const score: FimScore = { cases: results.length, exact: 0, indentation: 0, first8: 0, indentationBaseline: 0 };
  for (const r of results) {
    const want = firstLine(r.middle);
    const got = firstLine(r.completion);
    if (got === want) score.exact++;
    if (indentation(got) === indentation(want)) score.indentation++;
    if (got.slice(0, 8) === want.slice(0, 8)) score.first8++;
    const lastLine = r.prefix.split('\n').reverse().find((l) => l.trim().length > 0) ?? '';
    if (indentation(lastLine) === indentation(want)) score.indentationBaseline++;
  }
  return score;
}
