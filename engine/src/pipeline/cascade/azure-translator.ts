/**
 * Azure AI Translator, text translation REST v3
 * (https://learn.microsoft.com/azure/ai-services/translator/reference/v3-0-translate),
 * over Node's fetch: one POST and a JSON array each way, so an SDK
 * (`@azure-rest/ai-translation-text`) would only wrap what is written here
 * and bring its own retry policy on top of ours.
 *
 * Wire: `POST <url>/translate?api-version=3.0&from=en&to=es[&category=…]`,
 * `Ocp-Apim-Subscription-Key: <key>`, `Ocp-Apim-Subscription-Region: <region>`
 * (required for regional and multi-service resources), `Content-Type:
 * application/json`, `X-ClientTraceId`, body `[{"Text":"…"}]`; answer
 * `[{"translations":[{"text":"…","to":"es"}]}]`. Errors are
 * `{"error":{"code":401000,"message":"…"}}` with the HTTP status; 429 (with
 * Retry-After) and 5xx are retried by fetchWithRetry within the call's
 * deadline.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ProviderError } from '../providers/types.js';
import { fetchWithRetry, type RetryPolicy } from './http-retry.js';
import type { TranslateRequest } from './types.js';

export interface AzureTranslatorOptions {
  /** https://api.cognitive.microsofttranslator.com, a custom endpoint, or a double's URL. */
  url: string;
  /** `Ocp-Apim-Subscription-Key`; never logged. */
  key: string;
  /** `Ocp-Apim-Subscription-Region`; omitted for a global resource. */
  region?: string | undefined;
  /** A Custom Translator category id. */
  category?: string | undefined;
  retry: RetryPolicy;
}

const Answer = z.array(z.object({ translations: z.array(z.object({ text: z.string(), to: z.string().optional() }).passthrough()).min(1) }).passthrough()).min(1);

/**
 * Translator's language codes from BCP 47 tags: mostly the bare language
 * ("en-US" → "en"); Chinese names its script (zh-Hans, zh-Hant), and a few
 * regional variants exist as codes of their own (pt-pt, fr-ca).
 */
export function azureTranslatorLanguage(tag: string): string {
  const parts = tag.split('-');
  const lang = parts[0]!.toLowerCase();
  const rest = parts.slice(1).map((p) => p.toLowerCase());
  if (lang === 'zh') return rest.some((p) => p === 'hant' || p === 'tw' || p === 'hk' || p === 'mo') ? 'zh-Hant' : 'zh-Hans';
  if (lang === 'pt' && rest.includes('pt')) return 'pt-pt';
  if (lang === 'fr' && rest.includes('ca')) return 'fr-ca';
  return lang;
}

export class AzureTranslator {
  readonly name = 'azure-translator';
  readonly #o: AzureTranslatorOptions;
  readonly counts = { calls: 0, succeeded: 0, failures: 0, retries: 0 };

  constructor(options: AzureTranslatorOptions) {
    this.#o = options;
  }

  async translate(text: string, request: TranslateRequest): Promise<string> {
    this.counts.calls++;
    if (request.signal.aborted) throw new ProviderError('aborted', 'translation aborted');
    if (text.trim() === '') return '';
    const o = this.#o;
    const url = new URL(`${o.url.replace(/\/+$/, '')}/translate`);
    url.searchParams.set('api-version', '3.0');
    url.searchParams.set('from', azureTranslatorLanguage(request.sourceLanguage));
    url.searchParams.set('to', azureTranslatorLanguage(request.targetLanguage));
    if (o.category !== undefined) url.searchParams.set('category', o.category);
    const headers: Record<string, string> = { 'Ocp-Apim-Subscription-Key': o.key, 'Content-Type': 'application/json; charset=UTF-8' };
    if (o.region !== undefined) headers['Ocp-Apim-Subscription-Region'] = o.region;
    const body = JSON.stringify([{ Text: text }]);
    try {
      const res = await fetchWithRetry(
        'azure translator',
        () => ({ url: url.toString(), init: { method: 'POST', headers: { ...headers, 'X-ClientTraceId': randomUUID() }, body } }),
        request.signal,
        o.retry,
        this.counts,
      );
      let json: unknown;
      try {
        json = await res.json();
      } catch {
        throw new ProviderError('failed', 'azure translator answered a body that is not JSON');
      }
      const answer = Answer.safeParse(json);
      if (!answer.success) throw new ProviderError('failed', 'azure translator answered JSON without translations[0].text');
      this.counts.succeeded++;
      return answer.data[0]!.translations[0]!.text;
    } catch (err) {
      this.counts.failures++;
      if (err instanceof ProviderError) throw err;
      throw new ProviderError(request.signal.aborted ? 'aborted' : 'failed', `azure translator: ${(err as Error).message}`);
    }
  }
}
