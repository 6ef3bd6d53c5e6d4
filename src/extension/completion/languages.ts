// Per-language enablement: the language's own entry, else the '*' entry.
export function isLanguageEnabled(languages: Record<string, boolean>, languageId: string): boolean {
  if (languageId in languages) return languages[languageId];
  return languages['*'] ?? true;
}
