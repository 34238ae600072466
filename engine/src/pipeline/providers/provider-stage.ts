/**
 * What every provider stage (StreamingStage, OpenAiRealtimeStage) does the
 * same way, whatever protocol it speaks: the tick contract, the connection's
 * hooks, the outbound gate, playback and error counting.
 *
 * The 20 ms tick calls process(), which never waits on the network: outbound
 * audio goes to ws.send() (a non-blocking write) unless the socket is not open
 * or already holds more than `maxBufferedBytes`, in which case the frame is
 * dropped and counted. Inbound audio is parked in a bounded PlaybackQueue by
 * the socket's message handler and drained one frame per tick by the
 * PlaybackMixer. A bug, or a frame the stage cannot handle, costs that frame,
 * never the worker's tick loop.
 *
 * A subclass supplies the protocol: what goes out for a frame (sendFrame), the
 * session start on a new socket (onOpen), what a message means (onText,
 * onBinary), what a lost connection costs (connectionLost) and what happens
 * when playback reaches a mark (playbackAdvanced). It calls startConnecting()
 * at the end of its constructor, once its own fields are set.
 *
 * One instance = one connection = one direction of one pair. After close(),
 * process() returns null and hear() does nothing: the tick loop may still call
 * them in the tick the pair closes.
 */
import { WebSocket, type RawData } from 'ws';
import { errorMessage } from '../../../../common/src/errors.js';
import type { Logger } from '../../../../common/src/logger.js';
import { TypedEmitter } from '../../../../common/src/typed-emitter.js';
import type { MediaFrame, PipelineStage, StageContext } from '../stage.js';
import { PlaybackMixer, type PlaybackConverter } from '../streaming/playback-mixer.js';
import { PlaybackQueue } from '../streaming/playback-queue.js';
import type { ParseResult, ProtocolErrorCode, TranscriptMessage, TranslationMessage } from '../streaming/protocol.js';
import { OutboundDrops } from './outbound-drops.js';
import { WsConnection, type WsConnectionOptions, type WsDownInfo } from './ws-connection.js';

export type ProviderErrorCode =
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
  | 'gave_up'
  /** The service stopped answering the liveness check (connection kept, logic stuck): dropped and reconnected. */
  | 'stalled';

export interface ProviderError {
  code: ProviderErrorCode;
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

/** The events of every provider stage, with the same payloads whatever the protocol. */
export type ProviderStageEvents = {
  connected: [];
  /** The service confirmed the session; its session id, if it gave one. */
  started: [sessionId: string | undefined];
  /** What the speaker said (source language). */
  transcript: [message: TranscriptMessage];
  /** The translation's text, same utteranceId as its transcript. */
  translation: [message: TranslationMessage];
  /** A mark whose audio has been played (or cleared/dropped). */
  mark: [name: string];
  /** Audio from the service was queued for playback (samples at the service's rate). */
  audio: [samples: number];
  error: [error: ProviderError];
  disconnected: [info: DisconnectInfo];
  listenererror: [event: string, error: unknown];
};

/** Counters every provider stage keeps the same way. */
export interface ProviderStageCounters {
  connects: number;
  disconnects: number;
  failedConnects: number;
  framesSent: number;
  /** PCM bytes sent (before any text encoding). */
  bytesSent: number;
  audioMessagesReceived: number;
  /** Samples received, at the service's rate. */
  samplesReceived: number;
  badMessages: number;
  serviceErrors: number;
  /** Frames process() could not handle (e.g. an unsupported sample rate); each cost one tick's output. */
  processErrors: number;
}

export interface ProviderStageStats extends ProviderStageCounters {
  connected: boolean;
  droppedNotConnected: number;
  droppedBackpressure: number;
  queuedSamples: number;
  queueDroppedSamples: number;
  clearedSamples: number;
  framesPlayed: number;
}

export interface ProviderStageSetup<F extends ProviderErrorCode> {
  context: StageContext;
  log: Logger;
  /** The stage in log lines: `<name> error`, `<name> disconnected`. */
  name: string;
  /** Most samples (at the service's rate) queued for playback. */
  queueSamples: number;
  /** Playback from the service's rate to the leg's. */
  converter: PlaybackConverter;
  /** Rate of frames returned when process() gets null and has never seen a frame. */
  initialRate: number;
  mode: 'translated-only' | 'duck';
  duckGain: number;
  /** Above this many bytes waiting in the socket, outbound frames are dropped. */
  maxBufferedBytes: number;
  connection: Omit<WsConnectionOptions<F>, 'name' | 'log'>;
}

/** Largest frame process() handles without growing a buffer: 60 ms at 16 kHz. */
export const MAX_FRAME_SAMPLES = 960;

export abstract class ProviderStage<F extends ProviderErrorCode = never> extends TypedEmitter<ProviderStageEvents> implements PipelineStage {
  protected readonly log: Logger;
  protected readonly queue: PlaybackQueue;
  protected readonly conn: WsConnection<F>;
  protected readonly counts: ProviderStageCounters = {
    connects: 0,
    disconnects: 0,
    failedConnects: 0,
    framesSent: 0,
    bytesSent: 0,
    audioMessagesReceived: 0,
    samplesReceived: 0,
    badMessages: 0,
    serviceErrors: 0,
    processErrors: 0,
  };
  readonly #name: string;
  readonly #drops: OutboundDrops;
  readonly #mixer: PlaybackMixer;
  readonly #maxBufferedBytes: number;
  #closed = false;

  protected constructor(setup: ProviderStageSetup<F>) {
    super();
    this.log = setup.log;
    this.#name = setup.name;
    this.#maxBufferedBytes = setup.maxBufferedBytes;
    this.queue = new PlaybackQueue(setup.queueSamples);
    this.#drops = new OutboundDrops(this.log);
    this.#mixer = new PlaybackMixer({
      queue: this.queue,
      converter: setup.converter,
      context: setup.context,
      initialRate: setup.initialRate,
      mode: setup.mode,
      duckGain: setup.duckGain,
    });
    this.conn = new WsConnection<F>({ ...setup.connection, name: setup.name, log: this.log });
    this.conn
      .on('open', (ws) => this.onOpen(ws))
      .on('message', (data, isBinary) => (isBinary ? this.onBinary(data) : this.onText(data)))
      .on('failure', (failure) => this.reportError(failure))
      .on('down', (info) => this.#onDown(info))
      .on('listenererror', (event, err) => this.safeEmit('listenererror', event, err));
  }

  get closed(): boolean {
    return this.#closed;
  }

  get connected(): boolean {
    return this.conn.open;
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
      this.playbackAdvanced();
      return out;
    } catch (err) {
      this.#frameFailed(err);
      return null;
    }
  }

  /** Sends one frame of the speaker's audio ahead of its tick (see PipelineStage.hear). Never throws. */
  hear(frame: MediaFrame): void {
    if (this.#closed) return;
    try {
      this.#sendInput(frame);
    } catch (err) {
      this.#frameFailed(err);
    }
  }

  /** Service audio is queued for playback, or a mark waits for the audio before it to play. */
  playing(): boolean {
    return !this.#closed && (this.queue.length > 0 || this.queue.pendingMarks > 0);
  }

  /** Resolves once close() was called and the socket is fully closed. */
  whenClosed(): Promise<void> {
    return this.conn.whenClosed();
  }

  /** Drops queued playback and cancels what the service is still producing for it. */
  abstract flush(): void;

  abstract close(): void;

  // ---- for the protocol ----

  /** Connects; called once by the subclass at the end of its constructor. */
  protected startConnecting(): void {
    this.conn.start();
  }

  /** Marks the stage closed; false if it already was (close() is idempotent). */
  protected beginClose(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    return true;
  }

  /** The shared counters and the queue's, the mixer's and the drops' levels. */
  protected baseStats(): ProviderStageStats {
    return {
      ...this.counts,
      connected: this.conn.open,
      droppedNotConnected: this.#drops.notConnected,
      droppedBackpressure: this.#drops.backpressure,
      queuedSamples: this.queue.length,
      queueDroppedSamples: this.queue.droppedOverflow,
      clearedSamples: this.queue.droppedCleared,
      framesPlayed: this.#mixer.framesPlayed,
    };
  }

  /**
   * The socket to send a frame on, or null (the frame dropped and counted)
   * when it is not open or already holds more than maxBufferedBytes.
   */
  protected writableSocket(): WebSocket | null {
    // readyState too: between the peer's close frame and our 'close' event the socket is CLOSING.
    const ws = this.conn.socket;
    if (ws === null || ws.readyState !== WebSocket.OPEN) {
      this.#drops.drop('not_connected');
      return null;
    }
    if (ws.bufferedAmount > this.#maxBufferedBytes) {
      this.#drops.drop('backpressure');
      return null;
    }
    return ws;
  }

  /** Counts one frame of `bytes` PCM bytes as sent. */
  protected frameSent(bytes: number): void {
    this.counts.framesSent++;
    this.counts.bytesSent += bytes;
    this.#drops.sent();
  }

  /** Queues s16le audio from the service for playback. */
  protected playAudio(bytes: Buffer): void {
    const samples = this.queue.pushS16LE(bytes, 0, bytes.length);
    this.counts.samplesReceived += samples;
    this.safeEmit('audio', samples);
  }

  /** A parsed message, or undefined once a message that is not protocol has been counted and reported. */
  protected accepted<T>(parsed: ParseResult<T>): T | undefined {
    if (parsed.ok) return parsed.message;
    this.protocolError(parsed.error.code, parsed.error.message);
    return undefined;
  }

  protected protocolError(code: ProtocolErrorCode, message: string): void {
    this.counts.badMessages++;
    this.reportError({ code: 'protocol', protocolCode: code, message });
  }

  protected reportError(error: ProviderError): void {
    // Logged only at the first few: a garbage-spewing service must not flood the log.
    if (this.counts.badMessages <= 10 || error.code !== 'protocol') {
      this.log.warn({ code: error.code, protocolCode: error.protocolCode, serviceCode: error.serviceCode, detail: error.message }, `${this.#name} error`);
    }
    this.safeEmit('error', error);
  }

  /** Sends one frame (8 or 16 kHz, at least one sample) of the speaker's audio. */
  protected abstract sendFrame(frame: MediaFrame): void;
  /** After each tick's playback: report the marks it reached. */
  protected abstract playbackAdvanced(): void;
  /** A new socket is open: start the session on it. */
  protected abstract onOpen(ws: WebSocket): void;
  protected abstract onText(data: RawData): void;
  protected abstract onBinary(data: RawData): void;
  /** The connection went down: drop what the lost session meant; returns whether the attempt counts as failed. */
  protected abstract connectionLost(info: WsDownInfo): boolean;

  #sendInput(frame: MediaFrame): void {
    if (frame.samples <= 0) return;
    if (frame.sampleRate !== 8000 && frame.sampleRate !== 16000) throw new RangeError(`unsupported frame sample rate ${frame.sampleRate}`);
    this.sendFrame(frame);
  }

  #frameFailed(err: unknown): void {
    // Logged on the first occurrence only, counted always.
    if (this.counts.processErrors++ === 0) this.log.error({ err: errorMessage(err) }, `${this.#name} stage frame failed`);
  }

  #onDown(info: WsDownInfo): void {
    if (this.connectionLost(info)) this.counts.failedConnects++;
    if (info.opened) {
      this.counts.disconnects++;
      this.log.warn({ code: info.code, reason: info.reason, willReconnect: info.willReconnect }, `${this.#name} disconnected`);
      this.safeEmit('disconnected', { code: info.code, reason: info.reason, willReconnect: info.willReconnect });
    }
  }
}

/** Writes `samples` samples of `src` into `dst` as little-endian s16; `dst` must hold 2 × samples bytes. */
export function writeS16LE(src: Int16Array, samples: number, dst: Buffer): void {
  for (let i = 0, p = 0; i < samples; i++, p += 2) {
    const s = src[i]!;
    dst[p] = s;
    dst[p + 1] = s >> 8;
  }
}

/** A whole message's bytes, whatever shape ws delivered them in. */
export function messageBytes(data: RawData): Buffer {
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
}
