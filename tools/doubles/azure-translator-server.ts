/**
 * A local double of Azure AI Translator's text API v3
 * (https://learn.microsoft.com/azure/ai-services/translator/reference/v3-0-translate):
 * `POST /translate?api-version=3.0&from=…&to=…` with
 * `Ocp-Apim-Subscription-Key` (and `Ocp-Apim-Subscription-Region` when the
 * double is regional), a JSON array of `{"Text"}`, answering
 * `[{"translations":[{"text","to"}]}]`; errors as the service gives them:
 * `{"error":{"code":<status><3 digits>,"message"}}` (401000 key or region,
 * 400021 api-version, 400036 target, 400074 body, 429001 with
 * Retry-After, 500000).
 *
 * It translates by a dictionary the test gives (unknown text comes back as
 * `[<to>] <text>`). Faults (HttpDoubleServer): `ratelimit` (429 +
 * Retry-After), `servererror` (500), `stall` (never answers), `drop` (ends
 * the connection mid-answer), `malformed` (a 200 whose body is not the
 * documented JSON).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpDoubleServer } from './http-double-server.js';

export interface AzureTranslatorRequestRecord {
  from: string | null;
  to: string | null;
  category: string | null;
  region: string | undefined;
  traceId: string | undefined;
  texts: string[];
}

const sameSecret = (given: string | undefined, expected: string): boolean => {
  const a = Buffer.from(given ?? '');
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
};

export class AzureTranslatorDouble extends HttpDoubleServer {
  readonly requests: AzureTranslatorRequestRecord[] = [];
  readonly #key: string;
  readonly #region: string | undefined;
  readonly #dictionary: Record<string, string>;

  private constructor(key: string, region: string | undefined, dictionary: Record<string, string>) {
    super();
    this.#key = key;
    this.#region = region;
    this.#dictionary = dictionary;
  }

  static async start(options: { key: string; region?: string; dictionary?: Record<string, string> }): Promise<AzureTranslatorDouble> {
    const d = new AzureTranslatorDouble(options.key, options.region, options.dictionary ?? {});
    await d.listen();
    return d;
  }

  protected handle(req: IncomingMessage, body: string, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method !== 'POST' || url.pathname !== '/translate') {
      this.json(res, 404, { error: { code: 404001, message: 'The requested resource was not found.' } });
      return;
    }
    const header = (name: string): string | undefined => {
      const v = req.headers[name];
      return typeof v === 'string' ? v : undefined;
    };
    if (!sameSecret(header('ocp-apim-subscription-key'), this.#key)) {
      this.rejected++;
      this.json(res, 401, { error: { code: 401000, message: 'The request is not authorized because credentials are missing or invalid.' } });
      return;
    }
    if (this.#region !== undefined && header('ocp-apim-subscription-region') !== this.#region) {
      this.rejected++;
      this.json(res, 401, { error: { code: 401000, message: 'The request is not authorized because credentials are missing or invalid.' } });
      return;
    }
    if (url.searchParams.get('api-version') !== '3.0') {
      this.json(res, 400, { error: { code: 400021, message: 'The API version parameter is missing or invalid.' } });
      return;
    }
    const to = url.searchParams.get('to');
    if (to === null || to === '') {
      this.json(res, 400, { error: { code: 400036, message: 'The target language ("To" field) is missing or invalid.' } });
      return;
    }
    let texts: string[];
    try {
      const parsed = JSON.parse(body) as unknown;
      if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((e) => typeof (e as { Text?: unknown }).Text === 'string')) throw new Error('shape');
      texts = parsed.map((e) => (e as { Text: string }).Text);
    } catch {
      this.json(res, 400, { error: { code: 400074, message: 'The body of the request is not valid JSON.' } });
      return;
    }
    this.requests.push({ from: url.searchParams.get('from'), to, category: url.searchParams.get('category'), region: header('ocp-apim-subscription-region'), traceId: header('x-clienttraceid'), texts });
    switch (this.takeFault()) {
      case 'stall':
        return;
      case 'drop':
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        // Destroyed once the head and the first bytes are on the wire, so the client sees a body break off.
        res.write('[{"translations":[{"text":"', () => res.socket?.destroy());
        return;
      case 'ratelimit':
        this.json(res, 429, { error: { code: 429001, message: 'The server rejected the request because the client has exceeded request limits.' } }, { 'retry-after': String(this.retryAfterSeconds) });
        return;
      case 'servererror':
        this.json(res, 500, { error: { code: 500000, message: 'An unexpected error occurred.' } });
        return;
      case 'malformed':
        this.json(res, 200, { translations: 'nope' });
        return;
      case 'none':
        break;
    }
    this.json(res, 200, texts.map((t) => ({ translations: [{ text: this.#dictionary[t] ?? `[${to}] ${t}`, to }] })));
  }
}
