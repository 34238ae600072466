/**
 * DeepL text translation through its official SDK, `deepl-node`
 * (https://developers.deepl.com/docs/api-reference/translate): it is well
 * kept, takes another base URL (`serverUrl`, which the tests point at the
 * local double), and already maps DeepL's statuses (403 auth, 429 too many
 * requests, 456 quota) to typed errors and retries transient ones with backoff.
 * On the wire: `POST /v2/translate` with `Authorization: DeepL-Auth-Key <key>`,
 * form-encoded `text`, `source_lang`, `target_lang`, `formality`, `glossary_id`.
 *
 * The SDK takes no AbortSignal: an aborted or timed-out call is abandoned (the
 * cascade stops waiting; its answer is dropped) and the SDK's own connection
 * timeout (`minTimeout`) bounds how long the request itself can live.
 */
import * as deepl from 'deepl-node';
import { errorMessage } from '../../../../common/src/errors.js';
import { ProviderError } from '../providers/types.js';
import type { TranslateRequest } from './types.js';

export interface DeeplOptions {
  serverUrl?: string | undefined;
  authKey: string;
  formality?: deepl.Formality | undefined;
  glossaryId?: string | undefined;
  /** Per HTTP attempt. */
  timeoutMs: number;
  /** Retries of transient failures (429, 5xx, connection) inside one call. */
  maxRetries: number;
}

/** DeepL's source codes are bare languages ("EN"); targets name the variant for English and Portuguese ("EN-US", "PT-BR"). */
export function deeplLanguages(source: string, target: string): { source: deepl.SourceLanguageCode; target: deepl.TargetLanguageCode } {
  const primary = (tag: string): string => tag.split('-')[0]!.toLowerCase();
  const src = primary(source);
  const t = primary(target);
  const region = target.split('-')[1]?.toUpperCase();
  let tgt: string = t;
  if (t === 'en') tgt = region === 'GB' ? 'en-GB' : 'en-US';
  else if (t === 'pt') tgt = region === 'PT' ? 'pt-PT' : 'pt-BR';
  return { source: src as deepl.SourceLanguageCode, target: tgt as deepl.TargetLanguageCode };
}

export class DeeplTranslator {
  readonly name = 'deepl';
  readonly #client: deepl.Translator;
  readonly #options: DeeplOptions;
  readonly counts = { calls: 0, succeeded: 0, failures: 0 };

  constructor(options: DeeplOptions) {
    this.#options = options;
    this.#client = new deepl.Translator(options.authKey, {
      ...(options.serverUrl !== undefined ? { serverUrl: options.serverUrl } : {}),
      maxRetries: options.maxRetries,
      minTimeout: options.timeoutMs,
      sendPlatformInfo: false,
      appInfo: { appName: 'tandem', appVersion: '1' },
    });
  }

  async translate(text: string, request: TranslateRequest): Promise<string> {
    this.counts.calls++;
    if (request.signal.aborted) throw new ProviderError('aborted', 'translation aborted');
    if (text.trim() === '') return '';
    const { source, target } = deeplLanguages(request.sourceLanguage, request.targetLanguage);
    const aborted = new Promise<never>((_resolve, reject) => {
      request.signal.addEventListener('abort', () => reject(new ProviderError('aborted', 'translation aborted')), { once: true });
    });
    aborted.catch(() => undefined);
    try {
      const result = await Promise.race([
        this.#client.translateText(text, source, target, {
          ...(this.#options.formality !== undefined ? { formality: this.#options.formality } : {}),
          ...(this.#options.glossaryId !== undefined ? { glossary: this.#options.glossaryId } : {}),
        }),
        aborted,
      ]);
      this.counts.succeeded++;
      return result.text;
    } catch (err) {
      this.counts.failures++;
      throw toProviderError(err);
    }
  }
}

function toProviderError(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  // The SDK's messages carry DeepL's `message` field, never the key.
  const message = `deepl: ${errorMessage(err)}`;
  if (err instanceof deepl.AuthorizationError) return new ProviderError('unauthorized', message);
  if (err instanceof deepl.TooManyRequestsError || err instanceof deepl.QuotaExceededError) return new ProviderError('overloaded', message);
  if (err instanceof deepl.ConnectionError) return new ProviderError('unavailable', message);
  return new ProviderError('failed', message);
}
