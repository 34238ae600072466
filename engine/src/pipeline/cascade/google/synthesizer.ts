/**
 * Google Cloud Text-to-Speech, v1 `TextToSpeech.SynthesizeSpeech` over gRPC
 * (https://cloud.google.com/text-to-speech/docs/reference/rpc/google.cloud.texttospeech.v1).
 *
 * Asked for the leg's format so Tandem does not resample: `audioEncoding:
 * MULAW, sampleRateHertz: 8000` on an 8 kHz leg, `LINEAR16` at 16000 on a
 * 16 kHz one; the answer's `audioContent` is that audio inside a WAV header
 * (as the docs say for both encodings), which is stripped here.
 *
 * The unary call rather than StreamingSynthesize: streaming synthesis is
 * offered only for the Chirp 3 HD voices, and the cascade hands the
 * synthesizer whole translated sentences, so the unary call's one answer is
 * the same audio without the restriction; its cost is that a sentence's first
 * sample waits for its last (docs/cascade.md). Deadline per call, cancelled on
 * abort (barge-in), one retry of UNAVAILABLE / RESOURCE_EXHAUSTED.
 */
import type * as grpc from '@grpc/grpc-js';
import { ProviderError } from '../../providers/types.js';
import type { Lease } from '../shared.js';
import type { CascadeSynthesizer, SpeakRequest } from '../types.js';
import { acquireGoogleClient, googleMetadata, unaryCall, type GoogleEndpoint } from './grpc.js';
import { WavReadError } from '../../../codec/wav-read.js';
import { wavSamples } from './wav-data.js';

export interface GoogleSynthesizerOptions extends GoogleEndpoint {
  /** Language tag → voice name (e.g. "es-US" → "es-US-Neural2-A"); without one the service picks a voice for the language. */
  voices: Record<string, string>;
  speakingRate: number;
  timeoutMs: number;
  maxRetries: number;
}

interface SynthesizeSpeechResponse {
  audioContent: Buffer;
}

type TtsClient = grpc.Client & {
  synthesizeSpeech: (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: SynthesizeSpeechResponse) => void) => grpc.ClientUnaryCall;
};

export class GoogleSynthesizer implements CascadeSynthesizer {
  readonly name = 'google-tts';
  readonly sampleRate: 8000 | 16000;
  readonly #o: GoogleSynthesizerOptions;
  readonly #client: Lease<grpc.Client>;
  readonly #inFlight = new Set<AbortController>();
  readonly counts = { calls: 0, succeeded: 0, failures: 0, samples: 0 };
  #closed = false;

  constructor(legRate: 8000 | 16000, options: GoogleSynthesizerOptions) {
    this.sampleRate = legRate;
    this.#o = options;
    this.#client = acquireGoogleClient('tts', options);
  }

  async speak(text: string, request: SpeakRequest): Promise<void> {
    this.counts.calls++;
    if (this.#closed) throw new ProviderError('closed', 'synthesizer closed');
    if (text.trim() === '') return;
    const o = this.#o;
    const client = this.#client.value as TtsClient;
    const voiceName = o.voices[request.language] ?? o.voices[request.language.split('-')[0]!];
    const body = {
      input: { text },
      voice: { languageCode: request.language, ...(voiceName !== undefined ? { name: voiceName } : {}) },
      audioConfig: { audioEncoding: this.sampleRate === 8000 ? 'MULAW' : 'LINEAR16', sampleRateHertz: this.sampleRate, speakingRate: o.speakingRate },
    };
    // close() cancels what is in flight, so one controller joins the caller's abort and ours.
    const own = new AbortController();
    const onAbort = (): void => own.abort();
    request.signal.addEventListener('abort', onAbort, { once: true });
    if (request.signal.aborted) own.abort();
    this.#inFlight.add(own);
    try {
      const res = await unaryCall(client.synthesizeSpeech.bind(client), body, googleMetadata(o), {
        signal: own.signal,
        timeoutMs: o.timeoutMs,
        maxRetries: o.maxRetries,
        retryDelayMs: 100,
        service: 'google-tts',
      });
      let pcm: Int16Array;
      try {
        pcm = wavSamples(res.audioContent, this.sampleRate);
      } catch (err) {
        if (err instanceof WavReadError) throw new ProviderError('failed', `google-tts: ${err.message}`);
        throw err;
      }
      this.counts.succeeded++;
      this.counts.samples += pcm.length;
      if (pcm.length > 0) request.onAudio(pcm);
    } catch (err) {
      this.counts.failures++;
      if (this.#closed) throw new ProviderError('closed', 'synthesizer closed');
      throw err;
    } finally {
      request.signal.removeEventListener('abort', onAbort);
      this.#inFlight.delete(own);
    }
  }

  /** Cancels calls in flight and releases the shared channel. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of this.#inFlight) c.abort();
    this.#inFlight.clear();
    this.#client.release();
  }
}
