import { performance } from 'node:perf_hooks';
import { WebSocket, type RawData } from 'ws';
import { errorMessage } from '../../../common/src/errors.js';
import type { Logger } from '../../../common/src/logger.js';
import type { Codec } from '../codec/index.js';
import { JitterBuffer } from '../jitter/index.js';
import type { LegName, LegStats, MediaStartInfo, UdpEndpoint, WebSocketDropReason, WebSocketLegCounters } from '../worker/protocol.js';

export type { WebSocketDropReason } from '../worker/protocol.js';
import { mediaStartInfo, parseControlMessage, rawText } from './chan-websocket.js';
import { EngineError } from './errors.js';
import { mediaStartMismatch, mediaUrl, openMediaWebSocket } from './media-connection.js';
import type { MediaLeg } from './media-leg.js';
import { PcmRateConverter } from './pcm-rate-converter.js';
import { FramePacketizer, WebSocketFrameCutter } from './websocket-frames.js';

/** Frames' worth of unsent bytes in the connection before further frames are dropped (a second of audio). */
const MAX_BUFFERED_FRAMES = 50;
/** How long close() waits for Asterisk's half of the close handshake before dropping the connection. */
const CLOSE_TIMEOUT_MS = 1000;

export interface WebSocketLegOptions {
  pairId: string;
  name: LegName;
  ext: string;
  /** The format on the wire; slin / slin16 little-endian (getCodec(name, 'little')). */
  codec: Codec;
  jitter: { minDepthMs: number; maxDepthMs: number; playoutSlackMs: number };
  /** Connect + upgrade + MEDIA_START must finish within this. */
  connectTimeoutMs: number;
  log: Logger;
  /**
   * Called once when the connection ends without close(): Asterisk hung the channel up or the
   * connection broke. The leg is useless from then on (a chan_websocket connection id admits one
   * connection, and the channel dies with it), so the owner tears the pair down.
   */
  onLost: (leg: WebSocketLeg, reason: string) => void;
}

/**
 * One externalMedia leg over chan_websocket: a client connection to
 * `ws://<asterisk http>/media/<MEDIA_WEBSOCKET_CONNECTION_ID>`.
 *
 * In: Asterisk sends each 20 ms frame the bridge writes to the channel as one
 * binary message (640 bytes of little-endian slin16, 160 of µ-law). TCP loses
 * and reorders nothing, so each frame gets the next sequence number and a
 * timestamp one frame on (websocket-frames.ts), and the jitter buffer sees an
 * RTP-like stream: it absorbs the burstiness (a late read delivers several frames at once) exactly
 * as for packets a busy worker read late, and a silence longer than its idle
 * time starts a new stream. Messages that are not whole frames are cut into
 * frames across message boundaries.
 *
 * Out: one binary message per tick, paced by the direction's 20 ms ticks like
 * RTP. chan_websocket queues what it receives and plays one frame per 20 ms of
 * its own timer (silence when its queue is empty), so sending in real time
 * keeps that queue at zero or one frame; MEDIA_XOFF (its queue reached ~900
 * frames) stops sending until MEDIA_XON. Nothing is sent on an idle tick:
 * Asterisk fills with silence itself.
 */
export class WebSocketLeg implements MediaLeg {
  readonly transport = 'websocket' as const;
  readonly name: LegName;
  readonly ext: string;
  readonly codec: Codec;
  readonly jitter: JitterBuffer;
  lastArrivalMs = Number.NaN;
  onStored: (() => void) | null = null;

  readonly #pairId: string;
  readonly #log: Logger;
  readonly #connectTimeoutMs: number;
  readonly #onLost: (leg: WebSocketLeg, reason: string) => void;
  readonly #rateConverter: PcmRateConverter;
  /** One frame: ws copies what it sends (client frames are masked into a new buffer), so this is reused. */
  readonly #sendBuffer: Buffer;
  readonly #cutter: WebSocketFrameCutter;
  readonly #packetizer: FramePacketizer;
  #ws: WebSocket | null = null;
  #media: MediaStartInfo | null = null;
  #local: UdpEndpoint | null = null;
  #remote: UdpEndpoint | null = null;
  #closed = false;
  #xoff = false;
  #closeTimer: NodeJS.Timeout | null = null;
  #rejectConnect: ((err: Error) => void) | null = null;

  #rxPackets = 0;
  #rxBytes = 0;
  readonly #rxDropped: Partial<Record<WebSocketDropReason | 'PAYLOAD_TYPE', number>> = {};
  #txPackets = 0;
  #txBytes = 0;
  #txErrors = 0;
  #txSkippedNotConnected = 0;
  #socketErrors = 0;
  #earlyReaderErrors = 0;
  readonly #counters: WebSocketLegCounters = {
    controlMessages: {},
    txDroppedXoff: 0,
    txDroppedBackpressure: 0,
    partialBytes: 0,
    closeCode: null,
    closeReason: null,
  };

  constructor(options: WebSocketLegOptions) {
    this.name = options.name;
    this.ext = options.ext;
    this.codec = options.codec;
    this.#pairId = options.pairId;
    this.#log = options.log;
    this.#connectTimeoutMs = options.connectTimeoutMs;
    this.#onLost = options.onLost;
    this.jitter = new JitterBuffer(this.codec.decode, {
      clockRate: this.codec.sampleRate,
      frameSamples: this.codec.frameSamples,
      minDepthMs: options.jitter.minDepthMs,
      maxDepthMs: options.jitter.maxDepthMs,
      playoutSlackMs: options.jitter.playoutSlackMs,
    });
    this.#rateConverter = new PcmRateConverter(this.codec.sampleRate, this.codec.frameSamples);
    this.#sendBuffer = Buffer.alloc(this.codec.frameBytes);
    this.#cutter = new WebSocketFrameCutter(this.codec.frameBytes);
    this.#packetizer = new FramePacketizer(this.codec.frameSamples, this.codec.frameBytes, this.#sendBuffer);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** True once MEDIA_START arrived and until the connection ends. */
  get connected(): boolean {
    return this.#media !== null && this.#ws !== null && this.#ws.readyState === WebSocket.OPEN;
  }

  get openTransports(): number {
    const ws = this.#ws;
    return ws !== null && ws.readyState !== WebSocket.CLOSED ? 1 : 0;
  }

  /**
   * Connects to chan_websocket and resolves with its MEDIA_START once that arrived and
   * matches this leg's format. Rejects (EngineError MEDIA_CONNECT_FAILED) on a refused or
   * timed-out connection, a refused upgrade (404: no such connection id; 409: it already
   * has a connection) or a MEDIA_START for another format. One connection per leg.
   */
  connect(url: string): Promise<MediaStartInfo> {
    if (this.#closed) return Promise.reject(new EngineError('MEDIA_CONNECT_FAILED', `leg ${this.name} of ${this.#pairId} is closed`));
    if (this.#ws !== null) return Promise.reject(new EngineError('MEDIA_CONNECT_FAILED', `leg ${this.name} of ${this.#pairId} already has a media connection`));
    const target = mediaUrl(url);
    if (target instanceof TypeError) return Promise.reject(target);
    const ws = openMediaWebSocket(target, this.#connectTimeoutMs);
    this.#ws = ws;
    return new Promise<MediaStartInfo>((resolve, reject) => {
      const fail = (reason: string): void => {
        clearTimeout(deadline);
        this.#rejectConnect = null;
        if (this.#ws === ws) this.#ws = null;
        ws.removeAllListeners();
        ws.on('error', () => undefined);
        ws.terminate();
        reject(new EngineError('MEDIA_CONNECT_FAILED', `leg ${this.name} of ${this.#pairId}: ${reason}`));
      };
      this.#rejectConnect = (err) => fail(err.message);
      const deadline = setTimeout(() => fail(`no MEDIA_START within ${this.#connectTimeoutMs} ms`), this.#connectTimeoutMs);
      ws.on('unexpected-response', (_req, res) => {
        fail(`Asterisk refused the media connection: HTTP ${res.statusCode ?? '?'} (404: unknown or expired connection id; 409: already connected)`);
      });
      ws.on('error', (err) => {
        if (this.#media === null) fail(`connection failed: ${err.message}`);
        else {
          this.#socketErrors++;
          this.#logSocketError(err);
        }
      });
      ws.on('upgrade', (response) => {
        const socket = response.socket;
        if (socket.localAddress !== undefined && socket.localPort !== undefined) this.#local = { address: socket.localAddress, port: socket.localPort };
        if (socket.remoteAddress !== undefined && socket.remotePort !== undefined) this.#remote = { address: socket.remoteAddress, port: socket.remotePort };
      });
      ws.on('close', (code, reason) => {
        if (this.#media === null) {
          fail(`connection closed before MEDIA_START (code ${code})`);
          return;
        }
        this.#onClose(code, reason.toString('utf8'));
      });
      ws.on('message', (data, isBinary) => {
        if (this.#media !== null) {
          this.#onMessage(data, isBinary);
          return;
        }
        if (isBinary) {
          this.#countDrop('BEFORE_MEDIA_START');
          return;
        }
        const text = rawText(data);
        const message = text === null ? null : parseControlMessage(text);
        if (message === null || message.event !== 'MEDIA_START') {
          this.#countDrop('BEFORE_MEDIA_START');
          return;
        }
        this.#countControl(message.event);
        const info = mediaStartInfo(message);
        if (typeof info === 'string') {
          fail(info);
          return;
        }
        const mismatch = mediaStartMismatch(info, this.codec);
        if (mismatch !== null) {
          fail(mismatch);
          return;
        }
        clearTimeout(deadline);
        this.#rejectConnect = null;
        this.#media = info;
        this.#log.info({ pairId: this.#pairId, leg: this.name, channel: info.channel, format: info.format, asterisk: this.#remote }, 'media connection up');
        resolve(info);
      });
    });
  }

  sendPcm(pcm: Int16Array, samples: number, sampleRate: number): void {
    if (this.#closed) return;
    const ws = this.#ws;
    if (this.#media === null || ws === null || ws.readyState !== WebSocket.OPEN) {
      this.#txSkippedNotConnected++;
      return;
    }
    if (this.#xoff) {
      this.#counters.txDroppedXoff++;
      return;
    }
    if (ws.bufferedAmount > MAX_BUFFERED_FRAMES * this.codec.frameBytes) {
      this.#counters.txDroppedBackpressure++;
      return;
    }
    let source = pcm;
    let count = samples;
    if (sampleRate !== this.codec.sampleRate) {
      const converted = this.#rateConverter.convert(pcm, samples, sampleRate);
      if (converted === null) {
        this.#countDrop('PAYLOAD_TYPE');
        return;
      }
      source = converted.pcm;
      count = converted.samples;
    }
    const bytes = this.codec.encode(source, count, this.#sendBuffer, 0);
    try {
      ws.send(bytes === this.#sendBuffer.length ? this.#sendBuffer : this.#sendBuffer.subarray(0, bytes), { binary: true });
      this.#txPackets++;
      this.#txBytes += bytes;
    } catch (err) {
      this.#txErrors++;
      this.#logSocketError(err);
    }
  }

  idleTick(): void {
    // chan_websocket plays silence on every timer tick its queue is empty: nothing to send.
  }

  stats(): LegStats {
    return {
      transport: 'websocket',
      local: this.#local ? { ...this.#local } : null,
      remote: this.#remote ? { ...this.#remote } : null,
      connected: this.connected,
      // TCP from one address: nothing to latch onto or to learn.
      latch: false,
      ssrc: null,
      sourceSwitches: 0,
      rxPackets: this.#rxPackets,
      rxBytes: this.#rxBytes,
      rxDropped: { ...this.#rxDropped },
      txPackets: this.#txPackets,
      txBytes: this.#txBytes,
      txErrors: this.#txErrors,
      txSkippedNotConnected: this.#txSkippedNotConnected,
      jitter: { ...this.jitter.stats },
      latencyFirst: this.jitter.latencyFirst,
      earlyReading: this.jitter.earlyReading,
      earlyReaderErrors: this.#earlyReaderErrors,
      websocket: { ...this.#counters, controlMessages: { ...this.#counters.controlMessages } },
    };
  }

  /** Closes the connection (Asterisk then hangs its channel up). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#rejectConnect?.(new Error('the leg closed while connecting'));
    const ws = this.#ws;
    if (ws !== null && ws.readyState === WebSocket.OPEN) {
      ws.close(1000, 'pair closed');
      // A peer that never answers the close handshake must not keep the socket.
      this.#closeTimer = setTimeout(() => ws.terminate(), CLOSE_TIMEOUT_MS);
      this.#closeTimer.unref();
      ws.once('close', () => {
        if (this.#closeTimer !== null) clearTimeout(this.#closeTimer);
      });
    } else if (ws !== null) {
      ws.terminate();
    }
    this.jitter.reset();
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (!isBinary) {
      this.#onControl(data);
      return;
    }
    const message = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (message.length === 0) {
      this.#countDrop('EMPTY');
      return;
    }
    this.#rxBytes += message.length;
    const now = performance.now();
    this.#counters.partialBytes += this.#cutter.cut(message, (buffer, offset) => this.#pushFrame(buffer, offset, now));
  }

  #pushFrame(buffer: Uint8Array, offset: number, now: number): void {
    const packet = this.#packetizer.packetFor(buffer, offset, now, this.lastArrivalMs);
    this.#rxPackets++;
    this.lastArrivalMs = now;
    this.jitter.push(packet, now);
    if (this.onStored !== null) this.#notifyStored(this.onStored);
  }

  #onControl(data: RawData): void {
    const text = rawText(data);
    if (text === null) {
      this.#countDrop('CONTROL_TOO_LONG');
      return;
    }
    const message = parseControlMessage(text);
    if (message === null) {
      this.#countDrop('CONTROL_UNKNOWN');
      return;
    }
    const n = this.#countControl(message.event);
    switch (message.event) {
      case 'MEDIA_XOFF':
        if (!this.#xoff) this.#log.warn({ pairId: this.#pairId, leg: this.name, count: n }, "Asterisk's media queue is full (MEDIA_XOFF): frames are dropped until MEDIA_XON");
        this.#xoff = true;
        return;
      case 'MEDIA_XON':
        this.#xoff = false;
        return;
      case 'ERROR':
        if ((n & (n - 1)) === 0) this.#log.warn({ pairId: this.#pairId, leg: this.name, error: message.fields['error_text'] ?? text, count: n }, 'Asterisk reported a media channel error');
        return;
      default:
        return;
    }
  }

  #onClose(code: number, reason: string): void {
    this.#counters.closeCode = code;
    this.#counters.closeReason = reason;
    if (this.#closed) return;
    // Asterisk closes with 1000 when the channel was hung up; anything else is a broken connection.
    const why = `media connection of leg ${this.name} closed by Asterisk (code ${code}${reason ? `, ${reason}` : ''})`;
    if (code === 1000) this.#log.info({ pairId: this.#pairId, leg: this.name, code }, 'media connection closed by Asterisk');
    else this.#log.warn({ pairId: this.#pairId, leg: this.name, code, reason }, 'media connection lost');
    this.#onLost(this, why);
  }

  #logSocketError(err: unknown): void {
    // Power-of-two sampling: the first errors are visible, a flood is not a log flood.
    const n = this.#socketErrors + this.#txErrors;
    if ((n & (n - 1)) === 0) this.#log.warn({ pairId: this.#pairId, leg: this.name, err: errorMessage(err), count: n }, 'media connection error');
  }

  #notifyStored(listener: () => void): void {
    try {
      listener();
    } catch (err) {
      const n = ++this.#earlyReaderErrors;
      if ((n & (n - 1)) === 0) this.#log.error({ pairId: this.#pairId, leg: this.name, err: errorMessage(err), count: n }, 'early reader failed');
    }
  }

  #countControl(event: string): number {
    const n = (this.#counters.controlMessages[event] ?? 0) + 1;
    this.#counters.controlMessages[event] = n;
    return n;
  }

  #countDrop(reason: WebSocketDropReason | 'PAYLOAD_TYPE'): void {
    const n = (this.#rxDropped[reason] ?? 0) + 1;
    this.#rxDropped[reason] = n;
    if ((n & (n - 1)) === 0) this.#log.debug({ pairId: this.#pairId, leg: this.name, reason, count: n }, 'media message dropped');
  }
}
