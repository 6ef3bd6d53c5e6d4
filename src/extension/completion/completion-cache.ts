// Typed-ahead cache: when the user types the start of a completion already shown, the rest of
// it is served from memory with no new request (llama.vscode's getCachedCompletion).

interface Entry {
  prefix: string;
  suffix: string;
  completion: string;
}

export class CompletionCache {
  private entries: Entry[] = [];

  constructor(private readonly capacity = 64) {}

  put(prefix: string, suffix: string, completion: string): void {
    if (!completion) return;
    this.entries = this.entries.filter((e) => !(e.prefix === prefix && e.suffix === suffix));
    this.entries.push({ prefix, suffix, completion });
    if (this.entries.length > this.capacity) this.entries.shift();
  }

  /** The rest of a cached completion the typed text is consistent with, newest first. */
  get(prefix: string, suffix: string): string | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i];
      const rest = remainder(e.prefix, e.completion, prefix);
      if (e.suffix === suffix && rest) {
        // Move to the back: recently used entries are kept longest.
        this.entries.splice(i, 1);
        this.entries.push(e);
        return rest;
      }
    }
    return undefined;
  }

  clear(): void {
    this.entries = [];
  }
}

/** What is left of `completion` (predicted after `oldPrefix`) once the prefix became `prefix`; '' if it does not apply. */
export function remainder(oldPrefix: string, completion: string, prefix: string): string {
  if (!prefix.startsWith(oldPrefix)) return '';
  const typed = prefix.slice(oldPrefix.length);
  return completion.startsWith(typed) ? completion.slice(typed.length) : '';
}
