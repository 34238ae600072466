/**
 * A local double of Azure AI Speech text-to-speech's REST API
 * (https://learn.microsoft.com/azure/ai-services/speech-service/rest-text-to-speech):
 * `POST /cognitiveservices/v1` with `Ocp-Apim-Subscription-Key` (401
 * otherwise), `Content-Type: application/ssml+xml`, `X-Microsoft-OutputFormat`
 * (400 for a format it does not know) and an SSML body naming a voice it has
 * (400 otherwise); the answer is the raw audio, written in 100 ms chunks as
 * a streaming service would. `GET /cognitiveservices/voices/list` lists its
 * voices (what `tandem verify-config` asks).
 *
 * It synthesizes a tone, 60 ms of it per character of text, in the asked
 * format (µ-law 8 kHz or s16le 16 kHz), so a test can check the audio
 * arrived, in pieces, at the right rate. Faults (HttpDoubleServer):
 * `ratelimit` (429 + Retry-After), `servererror` (503), `stall` (never
 * answers), `drop` (ends the connection after the first chunk), `malformed`
 * (a 200 with a JSON body instead of audio).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { encodeUlaw } from '../../engine/src/codec/index.js';
import { HttpDoubleServer } from './http-double-server.js';

export interface AzureTtsRequestRecord {
  outputFormat: string | undefined;
  contentType: string | undefined;
  language: string | undefined;
  voice: string | undefined;
  text: string;
}

const FORMATS: Readonly<Record<string, { rate: number; encoding: 'mulaw' | 'pcm' }>> = {
  'raw-8khz-8bit-mono-mulaw': { rate: 8000, encoding: 'mulaw' },
  'raw-16khz-16bit-mono-pcm': { rate: 16000, encoding: 'pcm' },
  'raw-24khz-16bit-mono-pcm': { rate: 24000, encoding: 'pcm' },
};

const unescapeXml = (s: string): string => s.replace(/&(lt|gt|amp|apos|quot);/g, (_m, e: string) => ({ lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' })[e]!);

export class AzureTtsDouble extends HttpDoubleServer {
  readonly requests: AzureTtsRequestRecord[] = [];
  readonly #key: string;
  readonly #voices: ReadonlyArray<{ ShortName: string; Locale: string }>;

  private constructor(key: string, voices: string[]) {
    super();
    this.#key = key;
    this.#voices = voices.map((v) => ({ ShortName: v, Locale: v.split('-').slice(0, 2).join('-') }));
  }

  static async start(options: { key: string; voices?: string[] }): Promise<AzureTtsDouble> {
    const d = new AzureTtsDouble(options.key, options.voices ?? ['en-US-JennyNeural', 'es-MX-DaliaNeural', 'es-ES-ElviraNeural']);
    await d.listen();
    return d;
  }

  protected handle(req: IncomingMessage, body: string, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const given = Buffer.from(typeof req.headers['ocp-apim-subscription-key'] === 'string' ? req.headers['ocp-apim-subscription-key'] : '');
    const expected = Buffer.from(this.#key);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      this.rejected++;
      res.writeHead(401).end();
      return;
    }
    if (req.method === 'GET' && url.pathname === '/cognitiveservices/voices/list') {
      this.json(res, 200, this.#voices);
      return;
    }
    if (req.method !== 'POST' || url.pathname !== '/cognitiveservices/v1') {
      res.writeHead(404).end();
      return;
    }
    const outputFormat = req.headers['x-microsoft-outputformat'] as string | undefined;
    const language = /xml:lang=['"]([^'"]+)['"]/.exec(body)?.[1];
    const voice = /<voice[^>]*\sname=['"]([^'"]+)['"]/.exec(body)?.[1];
    const text = unescapeXml((/<voice[^>]*>([\s\S]*?)<\/voice>/.exec(body)?.[1] ?? '').replace(/<[^>]+>/g, ''));
    this.requests.push({ outputFormat, contentType: req.headers['content-type'], language, voice, text });
    const format = outputFormat === undefined ? undefined : FORMATS[outputFormat];
    if (format === undefined || req.headers['content-type'] !== 'application/ssml+xml' || !body.trimStart().startsWith('<speak')) {
      res.writeHead(400).end();
      return;
    }
    if (voice === undefined || !this.#voices.some((v) => v.ShortName === voice)) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`Unsupported voice ${voice ?? ''}.`);
      return;
    }
    const fault = this.takeFault();
    switch (fault) {
      case 'stall':
        return;
      case 'ratelimit':
        res.writeHead(429, { 'retry-after': String(this.retryAfterSeconds) }).end();
        return;
      case 'servererror':
        res.writeHead(503).end();
        return;
      case 'malformed':
        this.json(res, 200, { error: 'not audio' });
        return;
      case 'drop':
      case 'none':
        break;
    }
    this.#stream(res, this.#audio(text, format), (format.rate / 10) * (format.encoding === 'pcm' ? 2 : 1), fault === 'drop');
  }

  /** The tone for `text` in the asked encoding. */
  #audio(text: string, format: { rate: number; encoding: 'mulaw' | 'pcm' }): Buffer {
    const samples = Math.round((Math.max(1, text.length) * 60 * format.rate) / 1000);
    const pcm = new Int16Array(samples);
    for (let i = 0; i < samples; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 330 * i) / format.rate));
    if (format.encoding === 'mulaw') {
      const out = Buffer.alloc(samples);
      encodeUlaw(pcm, samples, out, 0);
      return out;
    }
    const out = Buffer.alloc(samples * 2);
    for (let i = 0; i < samples; i++) out.writeInt16LE(pcm[i]!, 2 * i);
    return out;
  }

  #stream(res: ServerResponse, audio: Buffer, chunkBytes: number, drop: boolean): void {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' });
    let at = 0;
    const next = (): void => {
      if (res.destroyed) return;
      if (at >= audio.length) {
        res.end();
        return;
      }
      at += chunkBytes;
      // Each chunk is on the wire before the next; a drop comes right after the first.
      res.write(audio.subarray(at - chunkBytes, at), () => (drop ? res.socket?.destroy() : setImmediate(next)));
    };
    next();
  }
}
