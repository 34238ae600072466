/**
 * Deepgram live streaming (https://developers.deepgram.com/reference/speech-to-text/listen-streaming),
 * spoken directly over `ws` rather than through `@deepgram/sdk`: the protocol
 * is a query string, binary audio and five JSON message types, and our
 * WsConnection already gives the reconnect/backoff/ping and the non-blocking
 * send the tick needs — the SDK would add its own reconnect and event layer on
 * top to unwrap again.
 *
 * Wire: `GET /v1/listen?model=…&language=…&encoding=mulaw&sample_rate=8000`
 * (a 16 kHz leg sends `linear16` at 16000, so nothing is resampled),
 * `interim_results=true`, `endpointing=<ms>`, `utterance_end_ms=<ms>`,
 * `vad_events=true`, with `Authorization: Token <key>`. Audio goes out as
 * binary frames as it arrives; `{"type":"KeepAlive"}` when no audio went for a
 * while (Deepgram closes an idle stream after 10 s); `{"type":"Finalize"}` when
 * Tandem's VAD hears the speaker stop; `{"type":"CloseStream"}` at close.
 * In: `Results` (is_final segments are joined until speech_final, an
 * `UtteranceEnd` or a `from_finalize` result ends the utterance),
 * `SpeechStarted`, `UtteranceEnd`, `Metadata`. Anything else is counted.
 */
import type { RawData } from 'ws';
import { z } from 'zod';
import { errorMessage } from '../../../../common/src/errors.js';
import { logger, type Logger } from '../../../../common/src/logger.js';
import { TypedEmitter } from '../../../../common/src/typed-emitter.js';
import { messageBytes } from '../providers/provider-stage.js';
import { OutboundDrops } from '../providers/outbound-drops.js';
import { WsConnection, pickWsConnectionSettings, type WsConnectionSettings } from '../providers/ws-connection.js';
import type { MediaFrame, StageContext } from '../stage.js';
import { complain, encodeForWire, forwardConnection, wireBytes } from './recognizer-wire.js';
import type { CascadeRecognizer, CascadeRecognizerEvents } from './types.js';

export interface DeepgramOptions extends WsConnectionSettings {
  /** wss://api.deepgram.com/v1/listen, or a double's URL. */
  url: string;
  /** Sent as `Authorization: Token <key>`; never logged. */
  apiKey: string;
  model: string;
  /** Deepgram's endpointing silence (ms). */
  endpointingMs: number;
  /** Gap after the last final word that ends an utterance (ms, ≥ 1000 per Deepgram). */
  utteranceEndMs: number;
  /** Send KeepAlive after this long without audio. */
  keepAliveMs: number;
  /** Above this many bytes waiting in the socket, audio frames are dropped. */
  maxBufferedBytes: number;
}

const Word = z.object({ word: z.string(), start: z.number(), end: z.number(), confidence: z.number().optional() }).passthrough();
const ResultsSchema = z
  .object({
    type: z.literal('Results'),
    start: z.number(),
    duration: z.number(),
    is_final: z.boolean(),
    speech_final: z.boolean().optional(),
    from_finalize: z.boolean().optional(),
    channel: z.object({ alternatives: z.array(z.object({ transcript: z.string(), confidence: z.number().optional(), words: z.array(Word).optional() }).passthrough()) }).passthrough(),
  })
  .passthrough();
const OtherSchema = z.object({ type: z.enum(['UtteranceEnd', 'SpeechStarted', 'Metadata']) }).passthrough();
const ErrorSchema = z.object({ type: z.literal('Error'), description: z.string().optional(), message: z.string().optional(), variant: z.string().optional() }).passthrough();

export interface DeepgramStats {
  connects: number;
  disconnects: number;
  framesSent: number;
  bytesSent: number;
  droppedNotConnected: number;
  droppedBackpressure: number;
  droppedWrongRate: number;
  results: number;
  finals: number;
  badMessages: number;
  serviceErrors: number;
  keepAlives: number;
}

export class DeepgramRecognizer extends TypedEmitter<CascadeRecognizerEvents> implements CascadeRecognizer {
  readonly name = 'deepgram';
  readonly #log: Logger;
  readonly #conn: WsConnection;
  readonly #rate: 8000 | 16000;
  readonly #drops: OutboundDrops;
  readonly #maxBuffered: number;
  #sendBuf: Buffer;
  /** is_final segments of the utterance in progress. */
  #segments: string[] = [];
  #confidence: number[] = [];
  #uttStart: number | null = null;
  #uttEnd = 0;
  #keepAlive: NodeJS.Timeout | null = null;
  #lastAudioAt = 0;
  #closed = false;
  readonly #counts = { connects: 0, disconnects: 0, framesSent: 0, bytesSent: 0, droppedWrongRate: 0, results: 0, finals: 0, badMessages: 0, serviceErrors: 0, keepAlives: 0 };

  constructor(context: StageContext, language: string, legRate: 8000 | 16000, options: DeepgramOptions) {
    super();
    this.#log = logger('pipeline.deepgram', { pairId: context.pairId, direction: context.direction });
    this.#rate = legRate;
    this.#maxBuffered = options.maxBufferedBytes;
    this.#drops = new OutboundDrops(this.#log);
    this.#sendBuf = Buffer.alloc(legRate === 8000 ? 480 : 1920);
    const url = new URL(options.url);
    const q = url.searchParams;
    q.set('model', options.model);
    q.set('language', language);
    q.set('encoding', legRate === 8000 ? 'mulaw' : 'linear16');
    q.set('sample_rate', String(legRate));
    q.set('channels', '1');
    q.set('interim_results', 'true');
    q.set('endpointing', String(options.endpointingMs));
    q.set('utterance_end_ms', String(options.utteranceEndMs));
    q.set('vad_events', 'true');
    this.#conn = new WsConnection({
      url: url.toString(),
      authorization: `Token ${options.apiKey}`,
      ...pickWsConnectionSettings(options),
      attemptGoal: 'connection',
      name: 'deepgram',
      log: this.#log,
    });
    this.#conn
      .on('open', () => {
        this.#conn.resetBackoff();
        this.#counts.connects++;
        this.safeEmit('connection', 'connected', '');
      })
      .on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    // What the lost stream had half-recognized is gone with it: finish it rather than lose the words.
    forwardConnection(this.#conn, this, this.#counts, () => this.#finish());
    this.#conn.start();
    this.#keepAlive = setInterval(() => this.#maybeKeepAlive(options.keepAliveMs), Math.max(250, options.keepAliveMs / 2));
    this.#keepAlive.unref();
  }

  pushAudio(frame: MediaFrame): void {
    if (this.#closed) return;
    if (frame.sampleRate !== this.#rate) {
      this.#counts.droppedWrongRate++;
      return;
    }
    const ws = this.#conn.socket;
    if (ws === null || ws.readyState !== ws.OPEN) {
      this.#drops.drop('not_connected');
      return;
    }
    if (ws.bufferedAmount > this.#maxBuffered) {
      this.#drops.drop('backpressure');
      return;
    }
    const n = frame.samples;
    if (this.#sendBuf.length < wireBytes(n, this.#rate)) this.#sendBuf = Buffer.alloc(wireBytes(n, this.#rate));
    const bytes = encodeForWire(frame.pcm, n, this.#rate, this.#sendBuf);
    // A client socket masks into a fresh buffer synchronously, so the send buffer is reused safely.
    ws.send(this.#sendBuf.subarray(0, bytes), { binary: true });
    this.#drops.sent();
    this.#counts.framesSent++;
    this.#counts.bytesSent += bytes;
    this.#lastAudioAt = performance.now();
  }

  endOfSpeech(): void {
    this.#sendJson('{"type":"Finalize"}');
  }

  stats(): DeepgramStats {
    return { ...this.#counts, droppedNotConnected: this.#drops.notConnected, droppedBackpressure: this.#drops.backpressure };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#keepAlive !== null) clearInterval(this.#keepAlive);
    this.#conn.close(1000, 'done', '{"type":"CloseStream"}');
  }

  whenClosed(): Promise<void> {
    return this.#conn.whenClosed();
  }

  #maybeKeepAlive(idleMs: number): void {
    if (this.#closed || !this.#conn.open) return;
    if (performance.now() - this.#lastAudioAt < idleMs) return;
    this.#lastAudioAt = performance.now();
    this.#counts.keepAlives++;
    this.#sendJson('{"type":"KeepAlive"}');
  }

  #sendJson(text: string): void {
    const ws = this.#conn.socket;
    if (ws !== null && ws.readyState === ws.OPEN) ws.send(text);
  }

  #bad(message: string): void {
    complain(this.#log, 'deepgram', this.#counts, this, message);
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#closed) return;
    if (isBinary) {
      this.#bad('binary message from the recognizer');
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(messageBytes(data).toString('utf8'));
    } catch (err) {
      this.#bad(`not JSON: ${errorMessage(err)}`);
      return;
    }
    const results = ResultsSchema.safeParse(json);
    if (results.success) {
      this.#onResults(results.data);
      return;
    }
    const other = OtherSchema.safeParse(json);
    if (other.success) {
      if (other.data.type === 'UtteranceEnd') this.#finish();
      return;
    }
    const error = ErrorSchema.safeParse(json);
    if (error.success) {
      this.#counts.serviceErrors++;
      this.safeEmit('error', 'service', error.data.description ?? error.data.message ?? 'error');
      return;
    }
    this.#bad(`unexpected message: ${results.error.issues[0]?.message ?? 'unknown shape'}`);
  }

  #onResults(r: z.output<typeof ResultsSchema>): void {
    this.#counts.results++;
    const alt = r.channel.alternatives[0];
    const text = alt?.transcript.trim() ?? '';
    const startMs = r.start * 1000;
    const endMs = (r.start + r.duration) * 1000;
    if (text !== '') {
      this.#uttStart ??= startMs;
      this.#uttEnd = endMs;
    }
    if (r.is_final) {
      if (text !== '') {
        this.#segments.push(text);
        if (alt?.confidence !== undefined) this.#confidence.push(alt.confidence);
      }
      if (r.speech_final === true || r.from_finalize === true) this.#finish();
      else if (text !== '') this.#emit(this.#segments.join(' '), false, null);
      return;
    }
    if (text !== '') this.#emit([...this.#segments, text].join(' '), false, alt?.confidence ?? null);
  }

  /** Ends the utterance in progress with a final transcript (nothing when it holds no words). */
  #finish(): void {
    if (this.#segments.length === 0) {
      this.#uttStart = null;
      return;
    }
    const text = this.#segments.join(' ');
    const c = this.#confidence;
    const confidence = c.length === 0 ? null : c.reduce((a, b) => a + b, 0) / c.length;
    this.#segments = [];
    this.#confidence = [];
    this.#counts.finals++;
    this.#emit(text, true, confidence);
    this.#uttStart = null;
  }

  #emit(text: string, final: boolean, confidence: number | null): void {
    this.safeEmit('transcript', { text, final, startMs: this.#uttStart ?? this.#uttEnd, endMs: this.#uttEnd, confidence });
  }
}
