// Server side of fill-in-the-middle: pieces of other files (llama.cpp's `input_extra`) as tokens
// that go before the FIM prompt. With repository-level tokens the layout is the one Qwen2.5-Coder
// and StarCoder were trained on:
//   <|repo_name|>project\n <|file_sep|>a.ts\n…text… <|file_sep|>b.ts\n…text… <|file_sep|>current.ts\n <FIM prompt>
// Without them, each piece is headed by a plain `--- filename ---` line. Every piece is encoded on
// its own, so its tokens do not depend on its neighbours: a prompt that keeps the first k pieces
// starts with exactly the tokens of any other prompt that keeps them, and the prefix store serves
// them from one request to the next.
import type { ExtraContextChunk } from '../../shared/protocol';
import type { Tokenizer } from '../tokenizer/tokenizer';
import { detectFim } from './tokens';

/** The repository name the layout with repository tokens starts with (the pieces carry no name of their own). */
const REPO_NAME = 'project';
/** The current file's name when the request gives none (llama.cpp's server writes a placeholder too). */
const CURRENT_FILE = 'current';

/** Tokens of the extra context: `open` and `close` go around whichever leading pieces are kept. */
export interface ExtraContextTokens {
  open: number[];
  chunks: number[][];
  close: number[];
}

export function encodeExtraContext(tokenizer: Tokenizer, chunks: readonly ExtraContextChunk[], currentFile = CURRENT_FILE): ExtraContextTokens {
  const encode = (text: string) => tokenizer.encode(text, { addSpecialTokens: false });
  const line = (text: string) => (text.endsWith('\n') ? text : `${text}\n`);
  const repo = detectFim(tokenizer)?.repo;
  if (repo) {
    return {
      open: [repo.repoNameId, ...encode(`${REPO_NAME}\n`)],
      chunks: chunks.map((c) => [repo.fileSepId, ...encode(`${c.filename}\n${line(c.text)}`)]),
      close: [repo.fileSepId, ...encode(`${currentFile}\n`)],
    };
  }
  return {
    open: [],
    chunks: chunks.map((c) => encode(`--- ${c.filename} ---\n${line(c.text)}\n`)),
    close: encode(`--- ${currentFile} ---\n`),
  };
}

/** The first `keep` pieces with what goes around them; nothing when none is kept. */
export function joinExtraContext(extra: ExtraContextTokens, keep: number): number[] {
  if (keep <= 0) return [];
  return [...extra.open, ...extra.chunks.slice(0, keep).flat(), ...extra.close];
}

/** How many leading pieces fit in `room` tokens, with what goes around them. */
export function extraContextThatFits(extra: ExtraContextTokens, room: number): number {
  let left = room - extra.open.length - extra.close.length;
  let keep = 0;
  while (keep < extra.chunks.length && extra.chunks[keep].length <= left) {
    left -= extra.chunks[keep].length;
    keep++;
  }
  return keep;
}
