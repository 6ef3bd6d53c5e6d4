// Short chat examples (question -> code answer) cut from the corpus: a declaration found in a
// file becomes "Write the declaration of interface X" -> a fenced code block holding it.
import type { Rng } from '../shared/rng';
import type { ChatMessage } from './tokenizer-spec';

export interface Declaration {
  kind: 'interface' | 'class' | 'function' | 'type' | 'enum' | 'namespace';
  name: string;
  code: string;
  language: 'typescript' | 'javascript';
}

const HEAD = /^(\s*)(?:export\s+)?(?:default\s+)?(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(interface|class|function|type|enum|namespace)\s+([A-Za-z_$][\w$]*)/;

/** Declarations of at most `maxLines` lines / `maxChars` characters, dedented. */
export function findDeclarations(text: string, language: Declaration['language'], maxLines = 24, maxChars = 900): Declaration[] {
  const lines = text.split('\n');
  const out: Declaration[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = HEAD.exec(lines[i]);
    if (!m) continue;
    const indent = m[1];
    let end = -1;
    if (/[;}]\s*$/.test(lines[i]) && !/\{\s*$/.test(lines[i])) end = i;
    else {
      for (let j = i + 1; j < lines.length && j < i + maxLines; j++) {
        if (lines[j].startsWith(`${indent}}`) || (m[2] === 'type' && /;\s*$/.test(lines[j]) && lines[j].startsWith(indent) && !lines[j].startsWith(`${indent} `))) { end = j; break; }
      }
    }
    if (end < 0) continue;
    const code = lines.slice(i, end + 1).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l)).join('\n');
    if (code.length > maxChars) continue;
    out.push({ kind: m[2] as Declaration['kind'], name: m[3], code, language });
  }
  return out;
}

const QUESTIONS: Record<Declaration['kind'], string[]> = {
  interface: ['Write the TypeScript declaration of interface {name}.', 'What does the interface `{name}` contain?', 'Show me the `{name}` interface.'],
  class: ['Write the class `{name}`.', 'Show me the declaration of class {name}.'],
  function: ['Write the function `{name}`.', 'What is the signature of `{name}`?', 'Write a {lang} function named {name}.'],
  type: ['How is the type `{name}` defined?', 'Write the type alias {name}.'],
  enum: ['Write the enum `{name}`.', 'What values does the enum {name} have?'],
  namespace: ['Show me the namespace `{name}`.'],
};

const INTROS = ['Here is `{name}`:', 'Here is the {kind} `{name}`:', '`{name}` is declared like this:', ''];

/** A user question and the assistant's fenced-code answer for one declaration. */
export function chatForDeclaration(d: Declaration, rng: Rng): ChatMessage[] {
  const fill = (s: string) => s.replace(/\{name\}/g, d.name).replace(/\{kind\}/g, d.kind)
    .replace(/\{lang\}/g, d.language === 'typescript' ? 'TypeScript' : 'JavaScript');
  const qs = QUESTIONS[d.kind];
  const question = fill(qs[rng.int(0, qs.length)]);
  const intro = fill(INTROS[rng.int(0, INTROS.length)]);
  const fence = `\`\`\`${d.language}\n${d.code}\n\`\`\``;
  return [{ role: 'user', content: question }, { role: 'assistant', content: intro ? `${intro}\n\n${fence}` : fence }];
}
