/**
 * Azure AI Speech text-to-speech over its REST API
 * (https://learn.microsoft.com/azure/ai-services/speech-service/rest-text-to-speech),
 * with Node's fetch: the answer is the audio itself, sent chunked as it is
 * synthesized, so reading the body as a stream gives the first bytes as soon
 * as the service has them. The Speech SDK's synthesizer speaks a WebSocket
 * protocol of its own for the same thing; the REST door is documented in full
 * and needs no more than fetch.
 *
 * Wire: `POST <url>/cognitiveservices/v1`, `Ocp-Apim-Subscription-Key`,
 * `Content-Type: application/ssml+xml`, `X-Microsoft-OutputFormat:
 * raw-8khz-8bit-mono-mulaw` for an 8 kHz leg (`raw-16khz-16bit-mono-pcm` for
 * 16 kHz: nothing is resampled), `User-Agent`; body `<speak version='1.0'
 * xml:lang='…'><voice name='…'>text</voice></speak>`. 429 (Retry-After) and
 * 5xx are retried before any audio arrived (fetchWithRetry); a body that
 * breaks off fails the utterance after the audio that did arrive.
 */
import { decodeUlaw } from '../../codec/index.js';
import { ProviderError } from '../providers/types.js';
import { fetchWithRetry, type RetryPolicy } from './http-retry.js';
import type { CascadeSynthesizer, SpeakRequest } from './types.js';

export interface AzureTtsOptions {
  /** https://<region>.tts.speech.microsoft.com, or a double's URL. */
  url: string;
  /** `Ocp-Apim-Subscription-Key`; never logged. */
  key: string;
  /** Language tag (or bare language) → voice name, before the built-in table. */
  voices: Readonly<Record<string, string>>;
  retry: RetryPolicy;
}

/** A neural voice per common language, for configurations that name none. */
const DEFAULT_VOICES: Readonly<Record<string, string>> = {
  en: 'en-US-JennyNeural',
  'en-gb': 'en-GB-SoniaNeural',
  es: 'es-ES-ElviraNeural',
  'es-mx': 'es-MX-DaliaNeural',
  fr: 'fr-FR-DeniseNeural',
  de: 'de-DE-KatjaNeural',
  it: 'it-IT-ElsaNeural',
  pt: 'pt-BR-FranciscaNeural',
  'pt-pt': 'pt-PT-RaquelNeural',
  nl: 'nl-NL-ColetteNeural',
  ja: 'ja-JP-NanamiNeural',
  zh: 'zh-CN-XiaoxiaoNeural',
};

/** The voice for a language: exact tag, then bare language, in the configured voices and then the built-in ones. */
export function azureVoiceFor(language: string, voices: Readonly<Record<string, string>>): string | undefined {
  const tag = language.toLowerCase();
  const primary = tag.split('-')[0]!;
  const configured = Object.fromEntries(Object.entries(voices).map(([k, v]) => [k.toLowerCase(), v]));
  return configured[tag] ?? configured[primary] ?? DEFAULT_VOICES[tag] ?? DEFAULT_VOICES[primary];
}

const escapeXml = (s: string): string => s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);

export function ssml(text: string, language: string, voice: string): string {
  return `<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' xml:lang='${escapeXml(language)}'><voice name='${escapeXml(voice)}'>${escapeXml(text)}</voice></speak>`;
}

export class AzureTtsSynthesizer implements CascadeSynthesizer {
  readonly name = 'azure-tts';
  readonly sampleRate: 8000 | 16000;
  readonly #o: AzureTtsOptions;
  /** Aborts every call in flight at close(). */
  readonly #closing = new AbortController();
  readonly counts = { calls: 0, succeeded: 0, failures: 0, retries: 0, chunks: 0, bytes: 0 };

  constructor(legRate: 8000 | 16000, options: AzureTtsOptions) {
    this.sampleRate = legRate;
    this.#o = options;
  }

  async speak(text: string, request: SpeakRequest): Promise<void> {
    this.counts.calls++;
    if (this.#closing.signal.aborted) throw new ProviderError('closed', 'synthesizer closed');
    if (request.signal.aborted) throw new ProviderError('aborted', 'synthesis aborted');
    if (text.trim() === '') return;
    const voice = azureVoiceFor(request.language, this.#o.voices);
    if (voice === undefined) throw new ProviderError('unsupported_language', `no Azure voice configured for ${request.language}`);
    const signal = AbortSignal.any([request.signal, this.#closing.signal]);
    const o = this.#o;
    const body = ssml(text.trim(), request.language, voice);
    const headers = {
      'Ocp-Apim-Subscription-Key': o.key,
      'Content-Type': 'application/ssml+xml',
      'X-Microsoft-OutputFormat': this.sampleRate === 8000 ? 'raw-8khz-8bit-mono-mulaw' : 'raw-16khz-16bit-mono-pcm',
      'User-Agent': 'tandem',
    };
    let bytes = 0;
    try {
      const res = await fetchWithRetry('azure tts', () => ({ url: `${o.url.replace(/\/+$/, '')}/cognitiveservices/v1`, init: { method: 'POST', headers, body } }), signal, o.retry, this.counts);
      if (res.body === null) throw new ProviderError('failed', 'azure tts answered without a body');
      // An error page or JSON under a 200 is not audio: playing it would be noise.
      const type = res.headers.get('content-type') ?? '';
      if (/json|^text\//i.test(type)) {
        await res.body.cancel();
        throw new ProviderError('failed', `azure tts answered ${type.slice(0, 60)}, not audio`);
      }
      let carry: number | null = null; // a PCM sample split across chunks
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        bytes += chunk.length;
        const pcm = this.#decode(chunk, carry);
        carry = pcm.carry;
        if (pcm.samples.length > 0) {
          this.counts.chunks++;
          request.onAudio(pcm.samples);
        }
      }
      this.counts.bytes += bytes;
      this.counts.succeeded++;
    } catch (err) {
      this.counts.failures++;
      if (this.#closing.signal.aborted) throw new ProviderError('closed', 'synthesizer closed');
      if (request.signal.aborted) throw new ProviderError('aborted', 'synthesis aborted');
      if (err instanceof ProviderError) throw err;
      throw new ProviderError('failed', `azure tts broke off after ${bytes} bytes of audio: ${(err as Error).message}`);
    }
  }

  close(): void {
    this.#closing.abort();
  }

  #decode(chunk: Uint8Array, carry: number | null): { samples: Int16Array; carry: number | null } {
    if (this.sampleRate === 8000) {
      const samples = new Int16Array(chunk.length);
      decodeUlaw(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length), 0, chunk.length, samples);
      return { samples, carry: null };
    }
    const start = carry === null ? 0 : 1;
    const total = (carry === null ? 0 : 1) + chunk.length;
    const samples = new Int16Array(total >> 1);
    let i = 0;
    if (carry !== null && chunk.length > 0) samples[i++] = ((chunk[0]! << 8) | carry) << 16 >> 16;
    for (let p = start; p + 1 < chunk.length; p += 2) samples[i++] = ((chunk[p + 1]! << 8) | chunk[p]!) << 16 >> 16;
    const left = (chunk.length - start) % 2 === 1 ? chunk[chunk.length - 1]! : null;
    return { samples, carry: carry !== null && chunk.length === 0 ? carry : left };
  }
}
