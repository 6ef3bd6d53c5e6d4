// Servers that refuse `suffix` (vLLM's /v1/completions answers 400 "suffix is not currently
// supported"; a model without FIM tokens gets 400 unsupported_feature from mlx-batch) are
// remembered, and their completions fall back to prefix-only prompts.
import { ApiError } from '../client/api-error';

export function rejectsSuffix(e: unknown): boolean {
  if (!(e instanceof ApiError) || (e.status !== 400 && e.status !== 422)) return false;
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
