// Extension side of fill-in-the-middle: which servers take a `suffix`. Servers that refuse it
// are remembered and get prefix-only prompts from then on: vLLM's /v1/completions rejects it
// ("suffix is not currently supported"), llama.cpp's server has FIM only on /infill
// ("Unsupported param: suffix" on /v1/completions), and mlx-batch answers 400
// unsupported_feature for a model without FIM tokens.
import { ApiError } from '../client/api-error';

export function rejectsSuffix(e: unknown): boolean {
  if (!(e instanceof ApiError) || ![400, 422, 501].includes(e.status)) return false;
  return e.param === 'suffix' || e.type === 'unsupported_feature' || /suffix|fill-in-the-middle|\bFIM\b/i.test(e.message);
}

export class FimSupport {
  private readonly prefixOnly = new Set<string>();

  /** False once `baseUrl` refused a suffix. */
  supportsSuffix(baseUrl: string): boolean {
    return !this.prefixOnly.has(baseUrl);
  }

  markPrefixOnly(baseUrl: string): void {
    this.prefixOnly.add(baseUrl);
  }

  reset(): void {
    this.prefixOnly.clear();
  }
}
