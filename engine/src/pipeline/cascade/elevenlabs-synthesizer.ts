/**
 * ElevenLabs text-to-speech over its input-streaming WebSocket
 * (https://elevenlabs.io/docs/api-reference/websocket), spoken directly over
 * `ws`: `@elevenlabs/elevenlabs-js` offers this socket only as a thin wrapper
 * and we need the raw audio chunks as they arrive, a deadline and an abort,
 * which the plain protocol gives with less code.
 *
 * Wire: `GET <url>/v1/text-to-speech/<voice>/stream-input?model_id=…&output_format=ulaw_8000`
 * (`pcm_16000` for a 16 kHz leg, so Tandem does not resample) with the
 * `xi-api-key` header. Client: `{"text":" ","voice_settings":{…}}` to begin,
 * then the sentence with `"flush":true` (generate now, do not wait for more
 * text), then `{"text":""}` (end of input). Server: `{"audio":"<base64>",
 * "isFinal":null|false, "normalizedAlignment":…}` chunks, then
 * `{"isFinal":true}`; an error is a JSON message with `error`/`message`, or a
 * close with 1008 (policy: bad key, bad voice) and a reason.
 *
 * One socket per utterance: the cascade translates whole finals, so every
 * sentence is complete when synthesis starts, and a fresh socket per sentence
 * means an abort (barge-in) just drops it. The cost is a TLS+upgrade per
 * sentence (documented in docs/cascade.md); a kept-warm socket is future work.
 */
import WebSocket, { type RawData } from 'ws';
import { errorMessage } from '../../../../common/src/errors.js';
import { decodeUlaw } from '../../codec/index.js';
import { messageBytes } from '../providers/provider-stage.js';
import { ProviderError } from '../providers/types.js';
import type { CascadeSynthesizer, SpeakRequest } from './types.js';

export interface ElevenLabsOptions {
  /** Base, e.g. wss://api.elevenlabs.io. */
  url: string;
  apiKey: string;
  voiceId: string;
  modelId: string;
  stability: number;
  similarityBoost: number;
  connectTimeoutMs: number;
  maxMessageBytes: number;
}

export class ElevenLabsSynthesizer implements CascadeSynthesizer {
  readonly name = 'elevenlabs';
  readonly sampleRate: 8000 | 16000;
  readonly #o: ElevenLabsOptions;
  readonly #sockets = new Set<WebSocket>();
  readonly counts = { calls: 0, succeeded: 0, failures: 0, chunks: 0, badMessages: 0 };
  #closed = false;

  constructor(legRate: 8000 | 16000, options: ElevenLabsOptions) {
    this.sampleRate = legRate;
    this.#o = options;
  }

  speak(text: string, request: SpeakRequest): Promise<void> {
    this.counts.calls++;
    if (this.#closed) return Promise.reject(new ProviderError('closed', 'synthesizer closed'));
    if (request.signal.aborted) return Promise.reject(new ProviderError('aborted', 'synthesis aborted'));
    if (text.trim() === '') return Promise.resolve();
    const o = this.#o;
    const base = o.url.replace(/\/+$/, '');
    const url = new URL(`${base}/v1/text-to-speech/${encodeURIComponent(o.voiceId)}/stream-input`);
    url.searchParams.set('model_id', o.modelId);
    url.searchParams.set('output_format', this.sampleRate === 8000 ? 'ulaw_8000' : 'pcm_16000');
    url.searchParams.set('language_code', request.language.split('-')[0]!.toLowerCase());
    return new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(url, {
        headers: { 'xi-api-key': o.apiKey },
        perMessageDeflate: false,
        handshakeTimeout: o.connectTimeoutMs,
        maxPayload: o.maxMessageBytes,
        followRedirects: false,
      });
      this.#sockets.add(ws);
      let settled = false;
      let ended = false; // isFinal seen
      const finish = (err: ProviderError | null): void => {
        if (settled) return;
        settled = true;
        request.signal.removeEventListener('abort', onAbort);
        if (err === null) this.counts.succeeded++;
        else this.counts.failures++;
        if (ws.readyState === WebSocket.OPEN) ws.close(1000);
        else ws.terminate();
        if (err === null) resolve();
        else reject(err);
      };
      const onAbort = (): void => finish(new ProviderError('aborted', 'synthesis aborted'));
      request.signal.addEventListener('abort', onAbort, { once: true });

      ws.on('unexpected-response', (_req, res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        const code = status === 401 || status === 403 ? 'unauthorized' : status === 429 ? 'overloaded' : 'unavailable';
        finish(new ProviderError(code, `elevenlabs answered the upgrade with HTTP ${status}`));
      });
      ws.on('open', () => {
        ws.send(JSON.stringify({ text: ' ', voice_settings: { stability: o.stability, similarity_boost: o.similarityBoost } }));
        ws.send(JSON.stringify({ text: `${text.trim()} `, flush: true }));
        ws.send(JSON.stringify({ text: '' }));
      });
      ws.on('message', (data: RawData, isBinary: boolean) => {
        if (settled) return;
        const err = this.#onMessage(data, isBinary, request);
        if (err === 'final') {
          ended = true;
          finish(null);
        } else if (err !== null) finish(err);
      });
      ws.on('error', (e) => finish(new ProviderError('unavailable', `elevenlabs: ${errorMessage(e)}`)));
      ws.on('close', (code, reason) => {
        this.#sockets.delete(ws);
        if (settled) return;
        const why = reason.toString('utf8').slice(0, 200);
        if (code === 1000 && ended) finish(null);
        else if (code === 1008) finish(new ProviderError('unauthorized', `elevenlabs closed with 1008 ${why}`));
        else finish(new ProviderError('failed', `elevenlabs closed with ${code} ${why} before the end of the audio`));
      });
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const ws of this.#sockets) ws.terminate();
    this.#sockets.clear();
  }

  /** null: keep going; 'final': the audio is complete; a ProviderError: this utterance failed. */
  #onMessage(data: RawData, isBinary: boolean, request: SpeakRequest): ProviderError | 'final' | null {
    if (isBinary) return this.#bad();
    let msg: unknown;
    try {
      msg = JSON.parse(messageBytes(data).toString('utf8'));
    } catch {
      return this.#bad();
    }
    if (typeof msg !== 'object' || msg === null) return this.#bad();
    const m = msg as { audio?: unknown; isFinal?: unknown; error?: unknown; message?: unknown };
    if (typeof m.error === 'string' || (typeof m.message === 'string' && m.audio === undefined)) {
      const detail = typeof m.message === 'string' ? m.message : String(m.error);
      return new ProviderError(/auth|key/i.test(detail) ? 'unauthorized' : 'failed', `elevenlabs: ${detail.slice(0, 200)}`);
    }
    if (typeof m.audio === 'string' && m.audio !== '') {
      const bytes = Buffer.from(m.audio, 'base64');
      let pcm: Int16Array;
      if (this.sampleRate === 8000) {
        pcm = new Int16Array(bytes.length);
        decodeUlaw(bytes, 0, bytes.length, pcm);
      } else {
        if (bytes.length % 2 !== 0) return this.#bad();
        pcm = new Int16Array(bytes.length >> 1);
        for (let i = 0; i < pcm.length; i++) pcm[i] = bytes.readInt16LE(2 * i);
      }
      this.counts.chunks++;
      request.onAudio(pcm);
    } else if (m.audio !== undefined && m.audio !== null && typeof m.audio !== 'string') {
      return this.#bad();
    }
    return m.isFinal === true ? 'final' : null;
  }

  #bad(): null {
    // A malformed message costs itself, not the utterance: the audio around it still plays.
    this.counts.badMessages++;
    return null;
  }
}
