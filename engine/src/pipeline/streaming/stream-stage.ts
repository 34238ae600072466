/**
 * A pipeline stage that streams one direction of a pair to an external
 * recognition/translation service over the Tandem media streaming protocol
 * (docs/media-streaming-protocol.md) and plays back what the service answers.
 *
 * The tick contract, the outbound gate, playback and error counting are
 * ProviderStage's (providers/provider-stage.ts); this module is the protocol:
 * audio as binary s16le at the session rate, `start`/`stop`/`clear`/`speech`
 * and mark acknowledgements as JSON. Everything the network does (connect,
 * reconnect with backoff, keepalive) runs on WsConnection's timers.
 */
import type { RawData, WebSocket } from 'ws';
import { z } from 'zod';
import { Downsampler16to8, Upsampler8to16 } from '../../codec/index.js';
import { logger } from '../../../../common/src/logger.js';
import { parseConfig } from '../../../../common/src/parse-config.js';
import {
  MAX_FRAME_SAMPLES,
  ProviderStage,
  messageBytes,
  writeS16LE,
  type DisconnectInfo,
  type ProviderError,
  type ProviderErrorCode,
  type ProviderStageEvents,
  type ProviderStageStats,
} from '../providers/provider-stage.js';
import { WsConnectionSettingsShape, pickWsConnectionSettings, type WsDownInfo } from '../providers/ws-connection.js';
import type { MediaFrame, StageContext } from '../stage.js';
import type { PlaybackConverter } from './playback-mixer.js';
import { LivenessCheck } from './liveness.js';
import {
  CloseCode,
  FEATURE_PING,
  PROTOCOL_VERSION,
  encodeClientMessage,
  tryParseServiceMessage,
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
    /**
     * Liveness check (protocol §6), only with a service that lists `ping` in `started.features`:
     * a `ping` this often; 0 disables it.
     */
    livenessIntervalMs: z.number().int().nonnegative().default(5000),
    /** No `pong` within this: the service is stalled; the connection is dropped and reopened. */
    livenessTimeoutMs: z.number().int().positive().default(10_000),
    /** connectTimeoutMs, reconnectInitialDelayMs / MaxDelayMs / MaxAttempts, pingIntervalMs, maxMessageBytes. */
    ...WsConnectionSettingsShape,
  })
  .strict();

export type StreamingStageOptions = z.input<typeof StreamingStageOptionsSchema>;
type Settings = z.output<typeof StreamingStageOptionsSchema>;

// This protocol's errors, events and disconnects are every provider stage's.
export type StreamingErrorCode = ProviderErrorCode;
export type StreamingError = ProviderError;
export type { DisconnectInfo };
export type StreamingStageEvents = ProviderStageEvents;

export type { OutboundDropReason } from '../providers/outbound-drops.js';

/** Close codes after which reconnecting would not help. */
type FatalCloseCode = Extract<StreamingErrorCode, 'unauthorized' | 'unsupported_protocol' | 'protocol'>;
const FATAL_CLOSE_CODES: ReadonlyMap<number, FatalCloseCode> = new Map([
  [CloseCode.unauthorized, 'unauthorized'],
  [CloseCode.unsupportedProtocol, 'unsupported_protocol'],
  // Our messages were refused as malformed: reconnecting would send the same again.
  [CloseCode.protocolError, 'protocol'],
]);

export interface StreamingStageStats extends ProviderStageStats {
  marksReceived: number;
  marksAcked: number;
  marksDiscarded: number;
  clearsFromService: number;
  /** Sessions found stalled by the liveness check (each also reported as a `stalled` error). */
  stalls: number;
  pingsSent: number;
  pongsReceived: number;
  /** Pongs with an id never sent or already answered: counted, otherwise ignored. */
  pongsUnmatched: number;
}

export class StreamingStage extends ProviderStage<FatalCloseCode> {
  readonly #settings: Settings;
  readonly #context: StageContext;

  // Outbound work buffers (session rate, then bytes).
  readonly #up = new Upsampler8to16();
  readonly #down = new Downsampler16to8();
  #convBuf = new Int16Array(2 * MAX_FRAME_SAMPLES);
  #sendBuf = Buffer.alloc(4 * MAX_FRAME_SAMPLES);
  #sendView: Buffer = this.#sendBuf.subarray(0, 0);

  readonly #marks = { marksReceived: 0, marksAcked: 0, marksDiscarded: 0, clearsFromService: 0 };
  readonly #live = { stalls: 0, pingsSent: 0, pongsReceived: 0, pongsUnmatched: 0 };
  /** The current session's liveness check (null: disabled, or no session). */
  #liveness: LivenessCheck | null = null;
  /** The last session's `started` listed `ping`: the next session must confirm within the timeout. */
  #servicePings = false;
  /** A stall was reported and no session has been confirmed since (its log line is written once). */
  #stalled = false;
  /**
   * A final translation came and neither audio nor a mark has since: its spoken answer is on its way (the
   * reference service synthesizes after sending the text). The protocol does not tie audio to an utterance,
   * so the next audio or mark is taken as that answer's.
   */
  #answerDue = false;

  /** Validates options (ConfigError naming the bad key) and starts connecting at once. */
  constructor(context: StageContext, options: StreamingStageOptions) {
    const s = parseConfig(StreamingStageOptionsSchema, options, 'streaming');
    super({
      context,
      log: logger('pipeline.streaming', { pairId: context.pairId, direction: context.direction }),
      name: 'streaming',
      queueSamples: Math.ceil(s.maxQueueSeconds * s.sampleRate),
      converter: sessionRateConverter(s.sampleRate),
      initialRate: s.outputSampleRate ?? s.sampleRate,
      mode: s.mode,
      duckGain: s.duckGain,
      maxBufferedBytes: s.maxBufferedBytes,
      connection: {
        url: s.url,
        token: s.token,
        ...pickWsConnectionSettings(s),
        fatalCloseCodes: FATAL_CLOSE_CODES,
        attemptGoal: 'connection',
      },
    });
    this.#settings = s;
    this.#context = { ...context };
    this.startConnecting();
  }

  /** A snapshot of the counters. */
  stats(): StreamingStageStats {
    return { ...this.baseStats(), ...this.#marks, ...this.#live };
  }

  /** A final translation's audio (or mark) has not come yet (SpeechStage.answering). */
  answering(): boolean {
    return this.#answerDue && !this.closed;
  }

  /** Drops queued playback and tells the service to cancel what it is still producing. */
  flush(): void {
    if (this.closed) return;
    this.#answerDue = false;
    this.queue.clear();
    this.playbackAdvanced();
    this.#sendJson(encodeClientMessage({ event: 'clear' }));
  }

  /** Tandem's VAD heard the speaker start (`atMs` on the session's audio timeline): sent as a `speech` hint. */
  speechStarted(atMs: number): void {
    if (!this.closed) this.#sendJson(encodeClientMessage({ event: 'speech', state: 'start', atMs }));
  }

  /** Tandem's VAD heard the speaker stop: the service may answer now instead of waiting for its own endpointing. */
  speechEnded(atMs: number): void {
    if (!this.closed) this.#sendJson(encodeClientMessage({ event: 'speech', state: 'end', atMs }));
  }

  /** Sends `stop`, closes the socket, cancels timers. Idempotent. */
  close(): void {
    if (!this.beginClose()) return;
    this.#stopLiveness();
    this.conn.close(CloseCode.normal, 'stop', encodeClientMessage({ event: 'stop', reason: 'closed' }));
    this.log.info({ stats: this.stats() }, 'streaming stage closed');
  }

  // ---- outbound ----

  protected sendFrame(frame: MediaFrame): void {
    if (frame.status !== 'audio' && frame.status !== 'concealed') return;
    const ws = this.writableSocket();
    if (ws === null) return;
    const samples = this.#toSessionRate(frame);
    const bytes = samples * 2;
    if (this.#sendBuf.length < bytes) this.#sendBuf = Buffer.alloc(bytes);
    const buf = this.#sendBuf;
    writeS16LE(this.#convBuf, samples, buf);
    if (this.#sendView.length !== bytes || this.#sendView.buffer !== buf.buffer) this.#sendView = buf.subarray(0, bytes);
    // Safe to reuse sendBuf: a client socket masks into a fresh buffer synchronously
    // (perMessageDeflate is off, so nothing keeps a reference to ours).
    ws.send(this.#sendView, { binary: true });
    this.frameSent(bytes);
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
    this.conn.socket?.send(text);
  }

  // ---- playback ----

  /** Acknowledges to the service every mark whose audio has been played. */
  protected playbackAdvanced(): void {
    for (let name = this.queue.takeReachedMark(); name !== undefined; name = this.queue.takeReachedMark()) {
      this.#sendJson(encodeClientMessage({ event: 'mark', name }));
      this.#marks.marksAcked++;
      this.safeEmit('mark', name);
    }
  }

  // ---- connection ----

  protected onOpen(ws: WebSocket): void {
    this.conn.resetBackoff();
    this.counts.connects++;
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
    this.#startLiveness(ws);
    this.safeEmit('connected');
  }

  protected connectionLost({ opened }: WsDownInfo): boolean {
    this.#stopLiveness();
    // Marks of the lost session mean nothing to the next one; its audio is still worth playing.
    this.#marks.marksDiscarded += this.queue.discardMarks();
    // Nor will its answer in progress come over the next one.
    this.#answerDue = false;
    return !opened;
  }

  // ---- inbound ----

  protected onBinary(data: RawData): void {
    const buf = messageBytes(data);
    if (buf.length % 2 !== 0) {
      this.protocolError('odd_length_audio', `audio message of ${buf.length} bytes (not whole s16 samples)`);
      return;
    }
    this.counts.audioMessagesReceived++;
    this.#answerDue = false;
    this.playAudio(buf);
  }

  protected onText(data: RawData): void {
    const msg = this.accepted(tryParseServiceMessage(data));
    if (msg === undefined) return;
    switch (msg.event) {
      case 'started':
        this.#onStarted(msg.features ?? []);
        this.safeEmit('started', msg.sessionId);
        break;
      case 'pong':
        this.#onPong(msg.id);
        break;
      case 'transcript':
        this.safeEmit('transcript', msg);
        break;
      case 'translation':
        if (msg.final) this.#answerDue = true;
        this.safeEmit('translation', msg);
        break;
      case 'mark':
        this.#answerDue = false;
        this.#marks.marksReceived++;
        this.queue.addMark(msg.name);
        break;
      case 'clear':
        this.#answerDue = false;
        this.#marks.clearsFromService++;
        this.queue.clear();
        this.playbackAdvanced();
        break;
      case 'error':
        this.counts.serviceErrors++;
        this.reportError({ code: 'service', serviceCode: msg.code, message: msg.message });
        break;
    }
  }

  // ---- liveness (protocol §6) ----

  #startLiveness(ws: WebSocket): void {
    this.#stopLiveness();
    if (this.#settings.livenessIntervalMs === 0) return;
    const check = new LivenessCheck({
      intervalMs: this.#settings.livenessIntervalMs,
      timeoutMs: this.#settings.livenessTimeoutMs,
      sendPing: (id) => {
        if (this.conn.socket !== ws) return;
        ws.send(encodeClientMessage({ event: 'ping', id }));
        this.#live.pingsSent++;
      },
      onStall: (detail) => this.#onStall(ws, detail),
    });
    this.#liveness = check;
    // A service that listed `ping` before is checked from the start: one that hangs before its
    // `started` is stalled too, and one whose `started` went missing but that answers is not.
    if (this.#servicePings) check.begin();
  }

  #stopLiveness(): void {
    this.#liveness?.stop();
    this.#liveness = null;
  }

  #onStarted(features: readonly string[]): void {
    this.#servicePings = features.includes(FEATURE_PING);
    this.#liveness?.started(this.#servicePings);
    this.#answering();
  }

  /** The service answered this session: a stall reported before is over (logged once). */
  #answering(): void {
    if (!this.#stalled) return;
    this.#stalled = false;
    this.log.info({ stalls: this.#live.stalls }, 'streaming service answers again after a stall');
  }

  #onPong(id: number): void {
    this.#live.pongsReceived++;
    if (this.#liveness?.pong(id) === 'matched') {
      this.#answering();
      return;
    }
    // Logged at the first only: a service that sends junk ids must not flood the log.
    if (this.#live.pongsUnmatched++ === 0) this.log.warn({ id }, 'pong for no outstanding ping (counted in pongsUnmatched)');
  }

  /** The session is stalled: counted, reported as `stalled`, dropped; WsConnection reconnects with its backoff. */
  #onStall(ws: WebSocket, detail: string): void {
    this.#live.stalls++;
    // One line per stall, not per failed session inside it: the counter and the error event carry those.
    if (!this.#stalled) this.log.warn({ detail }, 'streaming service stalled; reconnecting');
    this.#stalled = true;
    this.#liveness = null;
    this.safeEmit('error', { code: 'stalled', message: `service stalled: ${detail}` });
    if (this.conn.socket === ws) ws.terminate();
  }
}

/** Playback from the session rate to the leg's: a copy, or the 2:1 half-band filters. */
export function sessionRateConverter(sessionRate: number): PlaybackConverter {
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
