// Copies of held-out files inside the training files. Packages bundle their own modules
// (`lib/msal-browser.cjs` holds `dist/crypto/BrowserCrypto.mjs`) and vendor each other's
// (`@typespec/ts-http-runtime` and `@azure/core-rest-pipeline` ship the same policies), so a
// split by module still lets a held-out file's text into training. A held-out file counts as
// copied when one training file holds most of its distinct long lines.

/** Lines longer than this (trimmed) say something about the file; short ones (`}`, `return;`) are everywhere. */
const LONG_LINE = 20;

/** Share of a held-out file's long lines that one training file must hold to count as its copy. */
export const COPY_SHARE = 0.8;

function longLines(text: string): Set<string> {
  return new Set(text.split('\n').filter((l) => l.trim().length > LONG_LINE));
}

/** The share of `of`'s distinct long lines that `inside` holds (0 when `of` has none). */
export function longLineShare(of: string, inside: string): number {
  const mine = longLines(of);
  if (mine.size === 0) return 0;
  const theirs = longLines(inside);
  let n = 0;
  for (const l of mine) if (theirs.has(l)) n++;
  return n / mine.size;
}

export interface CopyScan {
  /** Per held-out file: the largest share of its long lines found in a single training file (0 when it has none). */
  heldOutShare: number[];
  /** Per held-out file: the training file holding that share. */
  heldOutSource: (number | undefined)[];
  /** Training files that hold at least `COPY_SHARE` of some held-out file. */
  copies: Set<number>;
}

/** Compares every training file with every held-out file through an index of the held-out files' long lines. */
export function scanHeldOutCopies(train: readonly { text: string }[], heldOut: readonly { text: string }[]): CopyScan {
  const index = new Map<string, number[]>();
  const sizes = heldOut.map((h, i) => {
    const lines = longLines(h.text);
    for (const l of lines) {
      const at = index.get(l);
      if (at) at.push(i);
      else index.set(l, [i]);
    }
    return lines.size;
  });
  const scan: CopyScan = { heldOutShare: heldOut.map(() => 0), heldOutSource: heldOut.map(() => undefined), copies: new Set() };
  train.forEach((t, ti) => {
    const shared = new Map<number, number>();
    for (const l of longLines(t.text)) {
      for (const hi of index.get(l) ?? []) shared.set(hi, (shared.get(hi) ?? 0) + 1);
    }
    for (const [hi, n] of shared) {
      const share = n / sizes[hi];
      if (share > scan.heldOutShare[hi]) {
        scan.heldOutShare[hi] = share;
        scan.heldOutSource[hi] = ti;
      }
      if (share >= COPY_SHARE) scan.copies.add(ti);
    }
  });
  return scan;
}
