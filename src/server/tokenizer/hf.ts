// The Hugging Face tokenizer and Jinja libraries ship ESM typings with CommonJS builds, so we
// take their types with resolution-mode 'import' and load the CommonJS build with require.
import type * as HfTokenizers from '@huggingface/tokenizers' with { 'resolution-mode': 'import' };
import type * as HfJinja from '@huggingface/jinja' with { 'resolution-mode': 'import' };

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const hfTokenizers = require('@huggingface/tokenizers') as typeof HfTokenizers;
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const hfJinja = require('@huggingface/jinja') as typeof HfJinja;

export type HfTokenizer = HfTokenizers.Tokenizer;
export type HfTemplate = HfJinja.Template;
