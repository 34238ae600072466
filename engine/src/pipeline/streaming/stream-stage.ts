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
import { WebSocket, type RawData } from 'ws';
import { z } from 'zod';
import { Downsampler16to8, Upsampler8to16 } from '../../codec/index.js';
import { errorMessage } from '../../common/errors.js';
import { logger, type Logger } from '../../common/logger.js';
import { parseConfig } from '../../common/parse-config.js';
import { TypedEmitter } from '../../common/typed-emitter.js';
import type { MediaFrame, PipelineStage, StageContext } from '../stage.js';
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
    /** Connect + WebSocket upgrade must finish within this. */
    connectTimeoutMs: z.number().int().positive().default(5000),
    reconnectInitialDelayMs: z.number().int().nonnegative().default(250),
    reconnectMaxDelayMs: z.number().int().positive().default(5000),
    /** Consecutive failed attempts before giving up (the stage then only plays what is queued). */
    reconnectMaxAttempts: z.number().int().nonnegative().default(20),
    /** WebSocket ping period; a missing pong by the next ping terminates the connection. 0 disables. */
    pingIntervalMs: z.number().int().nonnegative().default(15_000),
    /** Largest binary message accepted from the service. */
    maxMessageBytes: z.number().int().positive().default(4 * 1024 * 1024),
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

export type OutboundDropReason = 'not_connected' | 'backpressure';

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

type ConnState = 'idle' | 'connecting' | 'open' | 'waiting' | 'stopped';

/** Largest frame process() handles without growing a buffer: 60 ms at 16 kHz. */
const MAX_FRAME_SAMPLES = 960;

export class StreamingStage extends TypedEmitter<StreamingStageEvents> implements PipelineStage {
  readonly #settings: Settings;
  readonly #context: StageContext;
  readonly #log: Logger;
  readonly #queue: PlaybackQueue;

  #ws: WebSocket | null = null;
  #state: ConnState = 'idle';
  #closed = false;
  #attempts = 0;
  #reconnectTimer: NodeJS.Timeout | null = null;
  #pingTimer: NodeJS.Timeout | null = null;
  #awaitingPong = false;
  #closeWaiters: Array<() => void> = [];

  // Outbound work buffers (session rate, then bytes).
  readonly #up = new Upsampler8to16();
  readonly #down = new Downsampler16to8();
  #convBuf = new Int16Array(2 * MAX_FRAME_SAMPLES);
  #sendBuf = Buffer.alloc(4 * MAX_FRAME_SAMPLES);
  #sendView: Buffer = this.#sendBuf.subarray(0, 0);

  // Playback work buffers.
  readonly #playUp = new Upsampler8to16();
  readonly #playDown = new Downsampler16to8();
  #playBuf = new Int16Array(2 * MAX_FRAME_SAMPLES);
  readonly #out: MediaFrame;
  #lastRate: number;

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
  // Which drop reasons are in a streak, so a streak is logged once at its start and once at its end.
  #dropStreak: Record<OutboundDropReason, number> = { not_connected: 0, backpressure: 0 };

  /** Validates options (ConfigError naming the bad key) and starts connecting at once. */
  constructor(context: StageContext, options: StreamingStageOptions) {
    super();
    this.#settings = parseConfig(StreamingStageOptionsSchema, options, 'streaming');
    this.#context = { ...context };
    this.#log = logger('pipeline.streaming', { pairId: context.pairId, direction: context.direction });
    this.#queue = new PlaybackQueue(Math.ceil(this.#settings.maxQueueSeconds * this.#settings.sampleRate));
    this.#lastRate = this.#settings.outputSampleRate ?? this.#settings.sampleRate;
    this.#out = {
      pcm: new Int16Array(MAX_FRAME_SAMPLES),
      samples: 0,
      sampleRate: this.#lastRate,
      pairId: context.pairId,
      srcExt: context.srcExt,
      direction: context.direction,
      rtpTimestamp: 0,
      status: 'audio',
    };
    this.#connect();
  }

  get closed(): boolean {
    return this.#closed;
  }

  get connected(): boolean {
    return this.#state === 'open';
  }

  /** A snapshot of the counters. */
  stats(): StreamingStageStats {
    return { ...this.#stats, connected: this.#state === 'open', queuedSamples: this.#queue.length, queueDroppedSamples: this.#queue.droppedOverflow, clearedSamples: this.#queue.droppedCleared };
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
      if (frame !== null && frame.samples > 0) {
        if (frame.sampleRate !== 8000 && frame.sampleRate !== 16000) {
          throw new RangeError(`unsupported frame sample rate ${frame.sampleRate}`);
        }
        this.#lastRate = frame.sampleRate;
        if (frame.status === 'audio' || frame.status === 'concealed') this.#send(frame);
      }
      return this.#play(frame);
    } catch (err) {
      // A bug (or a frame we cannot handle) must cost this frame, not the worker's tick loop;
      // logged on the first occurrence only, counted always.
      if (this.#stats.processErrors++ === 0) this.#log.error({ err: errorMessage(err) }, 'streaming stage frame failed');
      return null;
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
    this.#clearTimers();
    const ws = this.#ws;
    this.#state = 'stopped';
    if (ws) {
      if (ws.readyState === WebSocket.OPEN) {
        try {
          ws.send(encodeClientMessage({ event: 'stop', reason: 'closed' }));
        } catch {
          // Best effort: the socket may have failed in the meantime; closing follows regardless.
        }
        ws.close(CloseCode.normal, 'stop');
        // A service that never answers the close handshake must not hold the socket for ws's 30 s default.
        const kill = setTimeout(() => ws.terminate(), 2000);
        kill.unref();
        ws.once('close', () => clearTimeout(kill));
      } else {
        ws.terminate();
      }
    } else {
      this.#resolveCloseWaiters();
    }
    this.#log.info({ stats: this.stats() }, 'streaming stage closed');
  }

  /** Resolves once close() was called and the socket is fully closed. */
  whenClosed(): Promise<void> {
    if (this.#closed && this.#ws === null) return Promise.resolve();
    return new Promise((resolve) => this.#closeWaiters.push(resolve));
  }

  // ---- outbound ----

  #send(frame: MediaFrame): void {
    if (this.#state !== 'open' || this.#ws === null) {
      this.#countDrop('not_connected');
      return;
    }
    const ws = this.#ws;
    if (ws.bufferedAmount > this.#settings.maxBufferedBytes) {
      this.#countDrop('backpressure');
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
    this.#endDropStreaks();
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

  #countDrop(reason: OutboundDropReason): void {
    if (reason === 'backpressure') this.#stats.droppedBackpressure++;
    else this.#stats.droppedNotConnected++;
    if (this.#dropStreak[reason]++ === 0) this.#log.warn({ reason }, 'outbound audio dropping');
  }

  #endDropStreaks(): void {
    for (const reason of ['not_connected', 'backpressure'] as const) {
      const n = this.#dropStreak[reason];
      if (n > 0) {
        this.#log.warn({ reason, frames: n }, 'outbound audio flowing again');
        this.#dropStreak[reason] = 0;
      }
    }
  }

  #sendJson(text: string): void {
    const ws = this.#ws;
    if (this.#state !== 'open' || ws === null) return;
    ws.send(text);
  }

  // ---- playback ----

  #play(frame: MediaFrame | null): MediaFrame | null {
    const outRate = frame !== null && frame.samples > 0 ? frame.sampleRate : this.#lastRate;
    const outSamples = frame !== null && frame.samples > 0 ? frame.samples : outRate / 50;
    const duckInput = this.#settings.mode === 'duck' && frame !== null && frame.samples > 0 && frame.status !== 'silence';
    if (this.#queue.length === 0) {
      this.#ackReachedMarks();
      return duckInput ? this.#fillOut(frame, outRate, outSamples, 0) : null;
    }
    const sessionRate = this.#settings.sampleRate;
    const need = outRate === sessionRate ? outSamples : outRate > sessionRate ? outSamples >> 1 : outSamples * 2;
    if (this.#playBuf.length < need) this.#playBuf = new Int16Array(need);
    const got = this.#queue.read(this.#playBuf, 0, need);
    // The tail of the last frame of an utterance is padded with silence.
    if (got < need) this.#playBuf.fill(0, got, need);
    this.#stats.framesPlayed++;
    this.#ackReachedMarks();
    return this.#fillOut(duckInput ? frame : null, outRate, outSamples, need);
  }

  /** Writes `translated` (need samples in #playBuf at the session rate, converted to outRate) plus the ducked original. */
  #fillOut(original: MediaFrame | null, outRate: number, outSamples: number, need: number): MediaFrame {
    const out = this.#out;
    if (out.pcm.length < outSamples) out.pcm = new Int16Array(outSamples);
    const pcm = out.pcm;
    if (need === 0) {
      pcm.fill(0, 0, outSamples);
    } else if (outRate === this.#settings.sampleRate) {
      for (let i = 0; i < outSamples; i++) pcm[i] = this.#playBuf[i]!;
    } else if (outRate < this.#settings.sampleRate) {
      this.#playDown.process(this.#playBuf, need, pcm);
    } else {
      this.#playUp.process(this.#playBuf, need, pcm);
    }
    if (original !== null) {
      const gain = this.#settings.duckGain;
      const src = original.pcm;
      for (let i = 0; i < outSamples; i++) {
        const v = pcm[i]! + Math.round(src[i]! * gain);
        pcm[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
      }
      out.rtpTimestamp = original.rtpTimestamp;
    }
    out.samples = outSamples;
    out.sampleRate = outRate;
    out.status = 'audio';
    return out;
  }

  #ackReachedMarks(): void {
    for (let name = this.#queue.takeReachedMark(); name !== undefined; name = this.#queue.takeReachedMark()) {
      this.#sendJson(encodeClientMessage({ event: 'mark', name }));
      this.#stats.marksAcked++;
      this.safeEmit('mark', name);
    }
  }

  // ---- connection ----

  #connect(): void {
    if (this.#closed) return;
    this.#state = 'connecting';
    const headers: Record<string, string> = {};
    if (this.#settings.token !== undefined) headers['Authorization'] = `Bearer ${this.#settings.token}`;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.#settings.url, {
        headers,
        perMessageDeflate: false,
        handshakeTimeout: this.#settings.connectTimeoutMs,
        maxPayload: this.#settings.maxMessageBytes,
        followRedirects: false,
      });
    } catch (err) {
      // Only a malformed URL throws synchronously; retrying would not fix it.
      this.#state = 'stopped';
      this.#reportError({ code: 'connect_failed', message: errorMessage(err) });
      return;
    }
    ws.binaryType = 'nodebuffer';
    this.#ws = ws;
    let opened = false;
    let fatal: StreamingErrorCode | null = null;
    let handshakeRefused = false; // already reported; the abort error that follows is not news

    ws.on('open', () => {
      opened = true;
      if (this.#closed) return;
      this.#state = 'open';
      this.#attempts = 0;
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
      this.#startPing(ws);
      this.#log.info({ url: redactUrl(this.#settings.url) }, 'streaming connected');
      this.safeEmit('connected');
    });

    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      if (status === 401 || status === 403) fatal = 'unauthorized';
      this.#reportError({
        code: fatal ?? 'connect_failed',
        message: `service answered the upgrade with HTTP ${status}`,
      });
      handshakeRefused = true;
      res.resume();
      // terminate() (not req.destroy()) so ws emits 'close' and the usual path decides on reconnecting.
      ws.terminate();
    });

    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (ws !== this.#ws || this.#closed) return;
      if (isBinary) this.#onAudio(data);
      else this.#onText(data);
    });

    ws.on('pong', () => {
      this.#awaitingPong = false;
    });

    ws.on('error', (err) => {
      // 'close' always follows; reconnection is decided there.
      if (this.#closed || fatal !== null || handshakeRefused) return;
      this.#reportError({ code: opened ? 'socket' : 'connect_failed', message: errorMessage(err) });
    });

    ws.on('close', (code: number, reasonBuf: Buffer) => {
      if (ws !== this.#ws) return;
      this.#ws = null;
      this.#stopPing();
      const reason = reasonBuf.toString('utf8').slice(0, 123);
      if (this.#closed) {
        this.#resolveCloseWaiters();
        return;
      }
      if (code === CloseCode.unauthorized) fatal = 'unauthorized';
      if (code === CloseCode.unsupportedProtocol) fatal = 'unsupported_protocol';
      // Our messages were refused as malformed: reconnecting would send the same again.
      if (code === CloseCode.protocolError) fatal = 'protocol';
      if (fatal !== null && opened) {
        this.#reportError({ code: fatal, message: `service closed with ${code} ${reason}` });
      }
      if (!opened) this.#stats.failedConnects++;
      // Marks of the lost session mean nothing to the next one; its audio is still worth playing.
      this.#stats.marksDiscarded += this.#queue.discardMarks();
      const willReconnect = fatal === null && this.#attempts < this.#settings.reconnectMaxAttempts;
      if (opened) {
        this.#stats.disconnects++;
        this.#log.warn({ code, reason, willReconnect }, 'streaming disconnected');
        this.safeEmit('disconnected', { code, reason, willReconnect });
      }
      if (willReconnect) {
        this.#scheduleReconnect();
      } else {
        this.#state = 'stopped';
        if (fatal === null) {
          this.#reportError({ code: 'gave_up', message: `no connection after ${this.#attempts} attempts` });
        }
      }
    });
  }

  #scheduleReconnect(): void {
    this.#state = 'waiting';
    const base = Math.min(this.#settings.reconnectMaxDelayMs, this.#settings.reconnectInitialDelayMs * 2 ** this.#attempts);
    // ±20 % jitter so pairs cut off by one service outage do not reconnect in lockstep.
    const delay = Math.round(base * (0.8 + 0.4 * Math.random()));
    this.#attempts++;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      this.#connect();
    }, delay);
  }

  #startPing(ws: WebSocket): void {
    if (this.#settings.pingIntervalMs === 0) return;
    this.#awaitingPong = false;
    this.#pingTimer = setInterval(() => {
      if (this.#awaitingPong) {
        this.#log.warn('no pong from streaming service; terminating');
        ws.terminate();
        return;
      }
      this.#awaitingPong = true;
      ws.ping();
    }, this.#settings.pingIntervalMs);
  }

  #stopPing(): void {
    if (this.#pingTimer !== null) clearInterval(this.#pingTimer);
    this.#pingTimer = null;
  }

  #clearTimers(): void {
    this.#stopPing();
    if (this.#reconnectTimer !== null) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
  }

  #resolveCloseWaiters(): void {
    const waiters = this.#closeWaiters;
    this.#closeWaiters = [];
    for (const w of waiters) w();
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

/** The URL without user-info or query (tokens sometimes travel there). */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '[invalid url]';
  }
}

/** A StageFactory-shaped helper: one streaming stage per direction of a pair. */
export function streamingStageFactory(options: StreamingStageOptions): (context: StageContext) => StreamingStage {
  // Validate once, so a bad setting fails where it is configured rather than at the first call.
  parseConfig(StreamingStageOptionsSchema, options, 'streaming');
  return (context) => new StreamingStage(context, options);
}
