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
 * One socket per utterance, pre-opened: the single-voice stream ends an
 * utterance with `{"text":""}` (end of sequence), after which ElevenLabs
 * closes the socket, so a socket cannot carry two utterances. With `warm`
 * set, the next socket is opened (and its opening message sent) ahead of the
 * next utterance — at start, and again whenever one is taken — so the first
 * audio never waits for TLS and the upgrade. ElevenLabs closes a socket that
 * received no text for `inactivity_timeout` seconds (a query parameter,
 * default 20, at most 180), so an idle spare sends the documented keep-alive,
 * a single space `{"text":" "}`, every third of it (a late timer still lands
 * in time). A spare for another language, or one that closed, is replaced
 * by a cold connect; a spare that fails as it is taken is retried once cold. An abort (barge-in) just drops the utterance's socket.
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
  /** Keep a pre-opened socket for the next utterance (language: the one it is opened for, usually the direction's target). */
  warm?: { language: string; inactivityTimeoutS: number } | undefined;
}

interface Spare {
  ws: WebSocket;
  language: string;
  /** Removes the spare's own listeners and keep-alive timer (when it is taken or lost). */
  release: () => void;
}

const primaryLanguage = (tag: string): string => tag.split('-')[0]!.toLowerCase();

export class ElevenLabsSynthesizer implements CascadeSynthesizer {
  readonly name = 'elevenlabs';
  readonly sampleRate: 8000 | 16000;
  readonly #o: ElevenLabsOptions;
  readonly #sockets = new Set<WebSocket>();
  readonly counts = { calls: 0, succeeded: 0, failures: 0, chunks: 0, badMessages: 0, connects: 0, warmStarts: 0, keepAlives: 0, sparesLost: 0 };
  #spare: Spare | null = null;
  #closed = false;

  constructor(legRate: 8000 | 16000, options: ElevenLabsOptions) {
    this.sampleRate = legRate;
    this.#o = options;
    if (options.warm !== undefined) this.#prepareSpare(primaryLanguage(options.warm.language));
  }

  stats(): object {
    return { ...this.counts };
  }

  speak(text: string, request: SpeakRequest): Promise<void> {
    this.counts.calls++;
    if (this.#closed) return Promise.reject(new ProviderError('closed', 'synthesizer closed'));
    if (request.signal.aborted) return Promise.reject(new ProviderError('aborted', 'synthesis aborted'));
    if (text.trim() === '') return Promise.resolve();
    const language = primaryLanguage(request.language);
    const spare = this.#takeSpare(language);
    const ws = spare ?? this.#connect(language);
    // The next utterance's socket opens while this one speaks.
    this.#prepareSpare(language);
    return this.#speakOn(ws, spare !== null, text, request);
  }

  /** One utterance on one socket; a pre-opened socket that fails before any answer is retried once on a fresh one. */
  #speakOn(ws: WebSocket, warm: boolean, text: string, request: SpeakRequest): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let answered = false;
      let ended = false; // isFinal seen
      const finish = (err: ProviderError | null): void => {
        if (settled) return;
        settled = true;
        request.signal.removeEventListener('abort', onAbort);
        if (ws.readyState === WebSocket.OPEN) ws.close(1000);
        else ws.terminate();
        if (err === null) {
          this.counts.succeeded++;
          resolve();
        } else if (warm && !answered && err.code !== 'aborted' && !this.#closed) {
          // The spare died as it was taken (e.g. closed by the service a moment before): not the utterance's fault.
          this.counts.sparesLost++;
          resolve(this.#speakOn(this.#connect(primaryLanguage(request.language)), false, text, request));
        } else {
          this.counts.failures++;
          reject(err);
        }
      };
      const onAbort = (): void => finish(new ProviderError('aborted', 'synthesis aborted'));
      request.signal.addEventListener('abort', onAbort, { once: true });

      ws.on('unexpected-response', (_req, res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        const code = status === 401 || status === 403 ? 'unauthorized' : status === 429 ? 'overloaded' : 'unavailable';
        finish(new ProviderError(code, `elevenlabs answered the upgrade with HTTP ${status}`));
      });
      const sendText = (): void => {
        ws.send(JSON.stringify({ text: `${text.trim()} `, flush: true }));
        ws.send(JSON.stringify({ text: '' }));
      };
      // The opening message went (or goes, at open, first) from #connect.
      if (ws.readyState === WebSocket.OPEN) sendText();
      else ws.once('open', sendText);
      ws.on('message', (data: RawData, isBinary: boolean) => {
        if (settled) return;
        answered = true;
        const err = this.#onMessage(data, isBinary, request);
        if (err === 'final') {
          ended = true;
          finish(null);
        } else if (err !== null) finish(err);
      });
      ws.on('error', (e) => finish(new ProviderError('unavailable', `elevenlabs: ${errorMessage(e)}`)));
      ws.on('close', (code, reason) => {
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
    this.#spare?.release();
    this.#spare = null;
    for (const ws of this.#sockets) ws.terminate();
    this.#sockets.clear();
  }

  /** Opens a socket for `language` and sends the stream's opening message as soon as it is open. */
  #connect(language: string): WebSocket {
    const o = this.#o;
    const url = new URL(`${o.url.replace(/\/+$/, '')}/v1/text-to-speech/${encodeURIComponent(o.voiceId)}/stream-input`);
    url.searchParams.set('model_id', o.modelId);
    url.searchParams.set('output_format', this.sampleRate === 8000 ? 'ulaw_8000' : 'pcm_16000');
    url.searchParams.set('language_code', language);
    if (o.warm !== undefined) url.searchParams.set('inactivity_timeout', String(o.warm.inactivityTimeoutS));
    const ws = new WebSocket(url, {
      headers: { 'xi-api-key': o.apiKey },
      perMessageDeflate: false,
      handshakeTimeout: o.connectTimeoutMs,
      maxPayload: o.maxMessageBytes,
      followRedirects: false,
    });
    this.counts.connects++;
    this.#sockets.add(ws);
    ws.on('open', () => ws.send(JSON.stringify({ text: ' ', voice_settings: { stability: o.stability, similarity_boost: o.similarityBoost } })));
    ws.on('close', () => this.#sockets.delete(ws));
    // Terminating a socket still connecting (close, a replaced spare) emits an error; whoever uses the socket listens too.
    ws.on('error', () => undefined);
    return ws;
  }

  /** The pre-opened socket, when it is for this language and still usable (open or opening). */
  #takeSpare(language: string): WebSocket | null {
    const spare = this.#spare;
    if (spare === null) return null;
    this.#spare = null;
    spare.release();
    const usable = spare.ws.readyState === WebSocket.OPEN || spare.ws.readyState === WebSocket.CONNECTING;
    if (spare.language !== language || !usable) {
      spare.ws.terminate();
      return null;
    }
    this.counts.warmStarts++;
    return spare.ws;
  }

  #prepareSpare(language: string): void {
    const warm = this.#o.warm;
    if (this.#closed || warm === undefined || this.#spare !== null) return;
    const ws = this.#connect(language);
    let keepAlive: NodeJS.Timeout | null = null;
    const onOpen = (): void => {
      keepAlive = setInterval(() => {
        if (ws.readyState !== WebSocket.OPEN) return;
        ws.send('{"text":" "}');
        this.counts.keepAlives++;
      }, (warm.inactivityTimeoutS * 1000) / 3);
      keepAlive.unref();
    };
    const onGone = (): void => {
      if (this.#spare?.ws !== ws) return;
      // Lost while idle (network, the service's own limits): the next utterance connects cold and makes a new one.
      this.#spare.release();
      this.#spare = null;
      this.counts.sparesLost++;
    };
    const onRefused = (_req: unknown, res: { resume(): void }): void => {
      res.resume();
      ws.terminate();
    };
    const onError = (): void => undefined; // the close that follows does the work
    const onMessage = (): void => undefined; // nothing is due before text is sent; an error message is followed by a close
    ws.on('open', onOpen);
    ws.on('close', onGone);
    ws.on('error', onError);
    ws.on('unexpected-response', onRefused);
    ws.on('message', onMessage);
    this.#spare = {
      ws,
      language,
      release: () => {
        if (keepAlive !== null) clearInterval(keepAlive);
        ws.off('open', onOpen);
        ws.off('close', onGone);
        ws.off('error', onError);
        ws.off('unexpected-response', onRefused);
        ws.off('message', onMessage);
      },
    };
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
