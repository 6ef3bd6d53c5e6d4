// Server side of fill-in-the-middle, one folder: the FIM tokens per model family and the layout
// (tokens.ts), the prompt ids (prompt.ts), fitting prefix and suffix to the context
// (fit-to-context.ts), whitespace healing of typed blanks (typed-blanks.ts). The extension's
// side is src/extension/completion/fim-*.ts; training data's is src/training/fim-examples.ts.
export { detectFim, fimLayoutOf, FIM_LAYOUTS, type FimLayout, type FimStyle, type FimTokens } from './tokens';
export { buildFimPrompt, type FimPrompt } from './prompt';
export { fitFimText, type FittedFimText } from './fit-to-context';
export { dropTypedStart, splitTrailingBlanks } from './typed-blanks';
