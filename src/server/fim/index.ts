// Server side of fill-in-the-middle, one folder: the FIM tokens per model family and the layout
// (tokens.ts), the prompt ids (prompt.ts), other files' pieces before it (extra-context.ts), fitting prefix and suffix to the context
// (fit-to-context.ts), whitespace healing of typed blanks (typed-blanks.ts), llama.cpp's n_indent stop (indent-stop.ts). The extension's
// side is src/extension/completion/fim-*.ts; training data's is src/training/fim-examples.ts.
export { detectFim, fimLayoutOf, FIM_LAYOUTS, type FimLayout, type FimStyle, type FimTokens } from './tokens';
export { buildFimPrompt, type FimPrompt } from './prompt';
export { encodeExtraContext, extraContextThatFits, joinExtraContext, type ExtraContextTokens } from './extra-context';
export { fitFimPrompt, fitFimText, type FittedFimPrompt, type FittedFimText } from './fit-to-context';
export { dropTypedStart, splitTrailingBlanks } from './typed-blanks';
export { indentCut } from './indent-stop';
