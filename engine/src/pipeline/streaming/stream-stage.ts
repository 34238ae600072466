/**
 * A pipeline stage that streams one direction of a pair to an external
 * recognition/translation service over the Tandem media streaming protocol
 * (docs/media-streaming-protocol.md) and plays back what the service answers.
 *
 * The 20 ms tick calls `process()`; it never waits on the network. Outbound
 * audio goes to `ws.send()` (a non-blocking write) unless the socket already
 * holds more than `maxBufferedBytes`, in which case the frame is dropped and
 * counted. Inbound audio is parked in a bounded PlaybackQueue by the socket's
 * message handler and drained one frame per tick. Everything the network does
 * (connect, reconnect with backoff, keepalive) runs on its own timers.
 *
 * One instance = one connection = one direction of one pair. After close(),
 * process() returns null and flush() does nothing (like IdentityStage): the tick
 * loop may still call them in the tick the pair closes.
 */
import type { RawData, WebSocket } from 'ws';
import { z } from 'zod';
import { Downsampler16to8, Upsampler8to16 } from '../../codec/index.js';
import { errorMessage } from '../../common/errors.js';
import { logger, type Logger } from '../../common/logger.js';
import { parseConfig } from '../../common/parse-config.js';
import { TypedEmitter } from '../../common/typed-emitter.js';
import { OutboundDrops } from '../providers/outbound-drops.js';
import { WsConnection, WsConnectionSettingsShape, pickWsConnectionSettings, type WsDownInfo } from '../providers/ws-connection.js';
import type { MediaFrame, PipelineStage, StageContext } from '../stage.js';
import { PlaybackMixer, type PlaybackConverter } from './playback-mixer.js';
import { PlaybackQueue } from './playback-queue.js';
import {
  CloseCode,
  PROTOCOL_VERSION,
  encodeClientMessage,
  tryParseServiceMessage,
  type ProtocolErrorCode,
  type TranscriptMessage,
  type TranslationMessage,
} from './protocol.js';

export const StreamingStageOptionsSchema = z
  .object({
    /** ws:// or wss:// URL of the service. */
    url: z.string().regex(/^wss?:\/\/\S+$/, 'must be a ws:// or wss:// URL'),
    /** Sent as `Authorization: Bearer <token>`; never logged. */
    token: z.string().min(1).optional(),
    sourceLanguage: z.string().min(2),
    targetLanguage: z.string().min(2),
    /** Session rate agreed in `start`: what is sent and what the service answers in. */
    sampleRate: z.union([z.literal(8000), z.literal(16000)]).default(16000),
    /** translated-only: the listener hears only the translation; duck: the original under it at duckGain. */
    mode: z.enum(['translated-only', 'duck']).default('translated-only'),
    duckGain: z.number().min(0).max(1).default(0.25),
    /** Rate of frames returned when process() gets null and has never seen a frame. */
    outputSampleRate: z.union([z.literal(8000), z.literal(16000)]).optional(),
    /** Above this many bytes waiting in the socket, outbound frames are dropped (64 KiB ≈ 2 s at 16 kHz). */
    maxBufferedBytes: z.number().int().positive().default(64 * 1024),
    /** Most seconds of service audio queued for playback; beyond it the oldest is dropped. */
    maxQueueSeconds: z.number().positive().max(600).default(30),
    /** connectTimeoutMs, reconnectInitialDelayMs / MaxDelayMs / MaxAttempts, pingIntervalMs, maxMessageBytes. */
    ...WsConnectionSettingsShape,
  })
  .strict();

export type StreamingStageOptions = z.input<typeof StreamingStageOptionsSchema>;
type Settings = z.output<typeof StreamingStageOptionsSchema>;

export type StreamingErrorCode =
  /** The service sent something that is not protocol; `protocolCode` says what. */
  | 'protocol'
  /** The service sent an `error` event; `serviceCode` is its code. */
  | 'service'
  /** The upgrade was refused with 401/403, or the service closed with 4003: no reconnect. */
  | 'unauthorized'
  /** The service does not speak our protocol version (close 4000): no reconnect. */
  | 'unsupported_protocol'
  /** Connecting failed (refused, timed out, non-101 answer). */
  | 'connect_failed'
  /** The socket failed after it was open. */
  | 'socket'
  /** reconnectMaxAttempts consecutive failures: the stage stopped trying. */
  | 'gave_up';

export interface StreamingError {
  code: StreamingErrorCode;
  message: string;
  protocolCode?: ProtocolErrorCode;
  serviceCode?: string;
}

export interface DisconnectInfo {
  code: number;
  reason: string;
  /** Whether the stage will try again. */
  willReconnect: boolean;
}

export type StreamingStageEvents = {
  connected: [];
  started: [sessionId: string | undefined];
  transcript: [message: TranscriptMessage];
  translation: [message: TranslationMessage];
  /** A service mark whose audio has been played (or cleared/dropped); already acknowledged to the service. */
  mark: [name: string];
  /** Audio from the service was queued for playback (samples at the session rate). */
  audio: [samples: number];
  error: [error: StreamingError];
  disconnected: [info: DisconnectInfo];
  listenererror: [event: string, error: unknown];
};

export type { OutboundDropReason } from '../providers/outbound-drops.js';

/** Close codes after which reconnecting would not help. */
type FatalCloseCode = Extract<StreamingErrorCode, 'unauthorized' | 'unsupported_protocol' | 'protocol'>;
const FATAL_CLOSE_CODES: ReadonlyMap<number, FatalCloseCode> = new Map([
  [CloseCode.unauthorized, 'unauthorized'],
  [CloseCode.unsupportedProtocol, 'unsupported_protocol'],
  // Our messages were refused as malformed: reconnecting would send the same again.
  [CloseCode.protocolError, 'protocol'],
]);

export interface StreamingStageStats {
  connected: boolean;
  connects: number;
  disconnects: number;
  failedConnects: number;
  framesSent: number;
  bytesSent: number;
  droppedNotConnected: number;
  droppedBackpressure: number;
  audioMessagesReceived: number;
  samplesReceived: number;
  queuedSamples: number;
  queueDroppedSamples: number;
  clearedSamples: number;
  framesPlayed: number;
  marksReceived: number;
  marksAcked: number;
  marksDiscarded: number;
  clearsFromService: number;
  badMessages: number;
  serviceErrors: number;
  /** Frames process() could not handle (e.g. an unsupported sample rate); each cost one tick's output. */
  processErrors: number;
}

/** Largest frame process() handles without growing a buffer: 60 ms at 16 kHz. */
const MAX_FRAME_SAMPLES = 960;

export class StreamingStage extends TypedEmitter<StreamingStageEvents> implements PipelineStage {
  readonly #settings: Settings;
  readonly #context: StageContext;
  readonly #log: Logger;
  readonly #queue: PlaybackQueue;
  readonly #conn: WsConnection<FatalCloseCode>;
  readonly #drops: OutboundDrops;
  readonly #mixer: PlaybackMixer;
  #closed = false;

  // Outbound work buffers (session rate, then bytes).
  readonly #up = new Upsampler8to16();
  readonly #down = new Downsampler16to8();
  #convBuf = new Int16Array(2 * MAX_FRAME_SAMPLES);
  #sendBuf = Buffer.alloc(4 * MAX_FRAME_SAMPLES);
  #sendView: Buffer = this.#sendBuf.subarray(0, 0);

  readonly #stats: StreamingStageStats = {
    connected: false,
    connects: 0,
    disconnects: 0,
    failedConnects: 0,
    framesSent: 0,
    bytesSent: 0,
    droppedNotConnected: 0,
    droppedBackpressure: 0,
    audioMessagesReceived: 0,
    samplesReceived: 0,
    queuedSamples: 0,
    queueDroppedSamples: 0,
    clearedSamples: 0,
    framesPlayed: 0,
    marksReceived: 0,
    marksAcked: 0,
    marksDiscarded: 0,
    clearsFromService: 0,
    badMessages: 0,
    serviceErrors: 0,
    processErrors: 0,
  };

  /** Validates options (ConfigError naming the bad key) and starts connecting at once. */
  constructor(context: StageContext, options: StreamingStageOptions) {
    super();
    this.#settings = parseConfig(StreamingStageOptionsSchema, options, 'streaming');
    this.#context = { ...context };
    this.#log = logger('pipeline.streaming', { pairId: context.pairId, direction: context.direction });
    this.#queue = new PlaybackQueue(Math.ceil(this.#settings.maxQueueSeconds * this.#settings.sampleRate));
    this.#drops = new OutboundDrops(this.#log);
    this.#mixer = new PlaybackMixer({
      queue: this.#queue,
      converter: sessionRateConverter(this.#settings.sampleRate),
      context,
      initialRate: this.#settings.outputSampleRate ?? this.#settings.sampleRate,
      mode: this.#settings.mode,
      duckGain: this.#settings.duckGain,
    });
    const s = this.#settings;
    this.#conn = new WsConnection<FatalCloseCode>({
      url: s.url,
      token: s.token,
      ...pickWsConnectionSettings(s),
      fatalCloseCodes: FATAL_CLOSE_CODES,
      name: 'streaming',
      attemptGoal: 'connection',
      log: this.#log,
    });
    this.#conn
      .on('open', (ws) => this.#onOpen(ws))
      .on('message', (data, isBinary) => (isBinary ? this.#onAudio(data) : this.#onText(data)))
      .on('failure', (failure) => this.#reportError(failure))
      .on('down', (info) => this.#onDown(info))
      .on('listenererror', (event, err) => this.safeEmit('listenererror', event, err));
    this.#conn.start();
  }

  get closed(): boolean {
    return this.#closed;
  }

  get connected(): boolean {
    return this.#conn.open;
  }

  /** A snapshot of the counters. */
  stats(): StreamingStageStats {
    return {
      ...this.#stats,
      connected: this.#conn.open,
      droppedNotConnected: this.#drops.notConnected,
      droppedBackpressure: this.#drops.backpressure,
      queuedSamples: this.#queue.length,
      queueDroppedSamples: this.#queue.droppedOverflow,
      clearedSamples: this.#queue.droppedCleared,
      framesPlayed: this.#mixer.framesPlayed,
    };
  }

  /**
   * Sends this tick's audio and returns this tick's playback: the next frame of
   * the service's audio (duck mode: over the attenuated original), or null when
   * nothing is queued (translated-only) / no input either (duck). The returned
   * frame is reused on the next call. Never throws, never waits.
   */
  process(frame: MediaFrame | null): MediaFrame | null {
    if (this.#closed) return null;
    try {
      if (frame !== null && frame.heard !== true) this.#sendInput(frame);
      const out = this.#mixer.mix(frame);
      this.#ackReachedMarks();
      return out;
    } catch (err) {
      // A bug (or a frame we cannot handle) must cost this frame, not the worker's tick loop;
      // logged on the first occurrence only, counted always.
      if (this.#stats.processErrors++ === 0) this.#log.error({ err: errorMessage(err) }, 'streaming stage frame failed');
      return null;
    }
  }

  /** Sends one frame of the speaker's audio ahead of its tick (see PipelineStage.hear). Never throws. */
  hear(frame: MediaFrame): void {
    if (this.#closed) return;
    try {
      this.#sendInput(frame);
    } catch (err) {
      if (this.#stats.processErrors++ === 0) this.#log.error({ err: errorMessage(err) }, 'streaming stage frame failed');
    }
  }

  /** Drops queued playback and tells the service to cancel what it is still producing. */
  flush(): void {
    if (this.#closed) return;
    this.#queue.clear();
    this.#ackReachedMarks();
    this.#sendJson(encodeClientMessage({ event: 'clear' }));
  }

  /** Tandem's VAD heard the speaker start (`atMs` on the session's audio timeline): sent as a `speech` hint. */
  speechStarted(atMs: number): void {
    if (!this.#closed) this.#sendJson(encodeClientMessage({ event: 'speech', state: 'start', atMs }));
  }

  /** Tandem's VAD heard the speaker stop: the service may answer now instead of waiting for its own endpointing. */
  speechEnded(atMs: number): void {
    if (!this.#closed) this.#sendJson(encodeClientMessage({ event: 'speech', state: 'end', atMs }));
  }

  /** Sends `stop`, closes the socket, cancels timers. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#conn.close(CloseCode.normal, 'stop', encodeClientMessage({ event: 'stop', reason: 'closed' }));
    this.#log.info({ stats: this.stats() }, 'streaming stage closed');
  }

  /** Resolves once close() was called and the socket is fully closed. */
  whenClosed(): Promise<void> {
    return this.#conn.whenClosed();
  }

  // ---- outbound ----

  #sendInput(frame: MediaFrame): void {
    if (frame.samples <= 0) return;
    if (frame.sampleRate !== 8000 && frame.sampleRate !== 16000) throw new RangeError(`unsupported frame sample rate ${frame.sampleRate}`);
    if (frame.status === 'audio' || frame.status === 'concealed') this.#send(frame);
  }

  #send(frame: MediaFrame): void {
    const ws = this.#conn.socket;
    if (ws === null) {
      this.#drops.drop('not_connected');
      return;
    }
    if (ws.bufferedAmount > this.#settings.maxBufferedBytes) {
      this.#drops.drop('backpressure');
      return;
    }
    const samples = this.#toSessionRate(frame);
    const bytes = samples * 2;
    if (this.#sendBuf.length < bytes) this.#sendBuf = Buffer.alloc(bytes);
    const buf = this.#sendBuf;
    const src = this.#convBuf;
    for (let i = 0, p = 0; i < samples; i++, p += 2) {
      const s = src[i]!;
      buf[p] = s;
      buf[p + 1] = s >> 8;
    }
    if (this.#sendView.length !== bytes || this.#sendView.buffer !== buf.buffer) this.#sendView = buf.subarray(0, bytes);
    // Safe to reuse sendBuf: a client socket masks into a fresh buffer synchronously
    // (perMessageDeflate is off, so nothing keeps a reference to ours).
    ws.send(this.#sendView, { binary: true });
    this.#stats.framesSent++;
    this.#stats.bytesSent += bytes;
    this.#drops.sent();
  }

  /** Converts the frame into #convBuf at the session rate; returns the sample count. */
  #toSessionRate(frame: MediaFrame): number {
    const rate = this.#settings.sampleRate;
    const n = frame.samples;
    if (frame.sampleRate === rate) {
      if (this.#convBuf.length < n) this.#convBuf = new Int16Array(n);
      const dst = this.#convBuf;
      const src = frame.pcm;
      for (let i = 0; i < n; i++) dst[i] = src[i]!;
      return n;
    }
    if (frame.sampleRate === 8000 && rate === 16000) {
      if (this.#convBuf.length < 2 * n) this.#convBuf = new Int16Array(2 * n);
      return this.#up.process(frame.pcm, n, this.#convBuf);
    }
    if (frame.sampleRate === 16000 && rate === 8000) {
      if (this.#convBuf.length < n) this.#convBuf = new Int16Array(n);
      return this.#down.process(frame.pcm, n - (n % 2), this.#convBuf);
    }
    throw new RangeError(`unsupported frame sample rate ${frame.sampleRate}`);
  }

  #sendJson(text: string): void {
    this.#conn.socket?.send(text);
  }

  // ---- playback ----

  #ackReachedMarks(): void {
    for (let name = this.#queue.takeReachedMark(); name !== undefined; name = this.#queue.takeReachedMark()) {
      this.#sendJson(encodeClientMessage({ event: 'mark', name }));
      this.#stats.marksAcked++;
      this.safeEmit('mark', name);
    }
  }

  // ---- connection ----

  #onOpen(ws: WebSocket): void {
    this.#conn.resetBackoff();
    this.#stats.connects++;
    ws.send(
      encodeClientMessage({
        event: 'start',
        protocol: PROTOCOL_VERSION,
        pairId: this.#context.pairId,
        srcExt: this.#context.srcExt,
        dstExt: this.#context.dstExt,
        direction: this.#context.direction,
        sampleRate: this.#settings.sampleRate,
        encoding: 'pcm_s16le',
        sourceLanguage: this.#settings.sourceLanguage,
        targetLanguage: this.#settings.targetLanguage,
      }),
    );
    this.safeEmit('connected');
  }

  #onDown({ code, reason, opened, willReconnect }: WsDownInfo): void {
    if (!opened) this.#stats.failedConnects++;
    // Marks of the lost session mean nothing to the next one; its audio is still worth playing.
    this.#stats.marksDiscarded += this.#queue.discardMarks();
    if (opened) {
      this.#stats.disconnects++;
      this.#log.warn({ code, reason, willReconnect }, 'streaming disconnected');
      this.safeEmit('disconnected', { code, reason, willReconnect });
    }
  }

  // ---- inbound ----

  #onAudio(data: RawData): void {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (buf.length % 2 !== 0) {
      this.#protocolError('odd_length_audio', `audio message of ${buf.length} bytes (not whole s16 samples)`);
      return;
    }
    this.#stats.audioMessagesReceived++;
    const samples = this.#queue.pushS16LE(buf, 0, buf.length);
    this.#stats.samplesReceived += samples;
    this.safeEmit('audio', samples);
  }

  #onText(data: RawData): void {
    const parsed = tryParseServiceMessage(data);
    if (!parsed.ok) {
      this.#protocolError(parsed.error.code, parsed.error.message);
      return;
    }
    const msg = parsed.message;
    switch (msg.event) {
      case 'started':
        this.safeEmit('started', msg.sessionId);
        break;
      case 'transcript':
        this.safeEmit('transcript', msg);
        break;
      case 'translation':
        this.safeEmit('translation', msg);
        break;
      case 'mark':
        this.#stats.marksReceived++;
        this.#queue.addMark(msg.name);
        break;
      case 'clear':
        this.#stats.clearsFromService++;
        this.#queue.clear();
        this.#ackReachedMarks();
        break;
      case 'error':
        this.#stats.serviceErrors++;
        this.#reportError({ code: 'service', serviceCode: msg.code, message: msg.message });
        break;
    }
  }

  #protocolError(code: ProtocolErrorCode, message: string): void {
    this.#stats.badMessages++;
    this.#reportError({ code: 'protocol', protocolCode: code, message });
  }

  #reportError(error: StreamingError): void {
    // Logged only at the first few: a garbage-spewing service must not flood the log.
    if (this.#stats.badMessages <= 10 || error.code !== 'protocol') {
      this.#log.warn({ code: error.code, protocolCode: error.protocolCode, serviceCode: error.serviceCode, detail: error.message }, 'streaming error');
    }
    this.safeEmit('error', error);
  }
}

/** Playback from the session rate to the leg's: a copy, or the 2:1 half-band filters. */
function sessionRateConverter(sessionRate: number): PlaybackConverter {
  const up = new Upsampler8to16();
  const down = new Downsampler16to8();
  return {
    inputFor: (outRate, outSamples) => (outRate === sessionRate ? outSamples : outRate > sessionRate ? outSamples >> 1 : outSamples * 2),
    convert: (src, count, dst, outRate) => {
      if (outRate === sessionRate) for (let i = 0; i < count; i++) dst[i] = src[i]!;
      else if (outRate < sessionRate) down.process(src, count, dst);
      else up.process(src, count, dst);
    },
  };
}

/** A StageFactory-shaped helper: one streaming stage per direction of a pair. */
export function streamingStageFactory(options: StreamingStageOptions): (context: StageContext) => StreamingStage {
  // Validate once, so a bad setting fails where it is configured rather than at the first call.
  parseConfig(StreamingStageOptionsSchema, options, 'streaming');
  return (context) => new StreamingStage(context, options);
}
