// transformers' clean_up_tokenization (" ." -> "." ...), in the same order; every pattern starts
// with a space and is at most 4 characters long, which the streaming decoder relies on.
export function cleanUpTokenization(text: string): string {
  return text
    .replace(/ \./g, '.').replace(/ \?/g, '?').replace(/ !/g, '!').replace(/ ,/g, ',')
    .replace(/ ' /g, "'").replace(/ n't/g, "n't").replace(/ 'm/g, "'m").replace(/ 's/g, "'s")
    .replace(/ 've/g, "'ve").replace(/ 're/g, "'re");
}
