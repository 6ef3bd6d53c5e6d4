// Markdown for the webviews: marked with highlight.js code blocks; raw HTML from the model is
// shown as text, never as markup. Runs in the webview (no vscode, no node).
import hljs from 'highlight.js/lib/common';
import { Marked, type Tokens } from 'marked';

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    html({ text }: Tokens.HTML | Tokens.Tag): string {
      return escapeHtml(text);
    },
    code({ text, lang }: Tokens.Code): string {
      const language = (lang ?? '').trim().split(/\s+/)[0];
      let body: string;
      try {
        body = language && hljs.getLanguage(language) ? hljs.highlight(text, { language, ignoreIllegals: true }).value : hljs.highlightAuto(text).value;
      } catch {
        body = escapeHtml(text);
      }
      const label = language ? escapeHtml(language) : 'code';
      return `<div class="code-block" data-lang="${label}"><div class="code-actions">` +
        `<span class="code-lang">${label}</span>` +
        `<button class="code-copy" type="button" aria-label="Copy code" title="Copy">Copy</button>` +
        `<button class="code-insert" type="button" aria-label="Insert code at cursor" title="Insert at cursor">Insert</button>` +
        `</div><pre><code class="hljs">${body}</code></pre></div>`;
    },
    link({ href, text }: Tokens.Link): string {
      // Links are shown, not followed: the webview has no business navigating.
      return `<span class="link" title="${escapeHtml(href)}">${escapeHtml(text)}</span>`;
    },
    image({ text }: Tokens.Image): string {
      return escapeHtml(text);
    },
  },
});

export function renderMarkdown(md: string): string {
  return marked.parse(md, { async: false });
}
