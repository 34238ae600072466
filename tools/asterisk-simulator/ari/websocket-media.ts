/**
 * The chan_websocket side of the simulated Asterisk (externalMedia with
 * `transport=websocket&encapsulation=none&connection_type=server`), as Asterisk
 * 22's channels/chan_websocket.c does it (docs/wideband-media.md) and as
 * observed with Tandem (docs/asterisk-facts.md):
 * - the client connects to `/media/<MEDIA_WEBSOCKET_CONNECTION_ID>` on the HTTP
 *   server, without ARI credentials; an unknown id is refused 404, a second
 *   connection for an id 409;
 * - the first message is TEXT `MEDIA_START connection_id:… channel:… channel_id:…
 *   format:… optimal_frame_size:… ptime:20`, then the channel is answered;
 * - Asterisk → client: one BINARY message per 20 ms frame the bridge writes
 *   (slin16 640 bytes little-endian, µ-law / A-law 160);
 * - client → Asterisk: BINARY messages cut into frames of optimal_frame_size
 *   (a remainder is dropped unless START_MEDIA_BUFFERING is on), queued (at most
 *   1000 frames; MEDIA_XOFF at 900, MEDIA_XON below 800) and played one per
 *   20 ms tick; an empty queue plays silence;
 * - control commands (TEXT, case-sensitive, at most 128 bytes): ANSWER, HANGUP,
 *   START/STOP_MEDIA_BUFFERING, MARK_MEDIA, FLUSH_MEDIA, PAUSE/CONTINUE_MEDIA,
 *   GET_STATUS, REPORT_QUEUE_DRAINED; unknown ones are ignored;
 * - the client closing (or the connection breaking) hangs the channel up;
 *   hanging the channel up closes the connection with code 1000.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { logger } from '../../../common/src/logger.js';
import { FORMATS, decodePayload, encodeFrame, frameOf, type LegTopology, type MediaLegStats } from './media.js';
import type { MediaFormat } from './model.js';

const log = logger('simulator.ari.ws-media');

const QUEUE_LENGTH_MAX = 1000;
const QUEUE_LENGTH_XOFF_LEVEL = 900;
const QUEUE_LENGTH_XON_LEVEL = 800;
const MAX_TEXT_MESSAGE_LEN = 128;
/** Asterisk's websocket layer accepts at most this much per message (AST_WEBSOCKET_MAX_RX_PAYLOAD_SIZE). */
const MAX_PAYLOAD_BYTES = 65500;
const PTIME_MS = 20;

type Queued = { readonly kind: 'frame'; readonly data: Buffer } | { readonly kind: 'text'; readonly text: string };

class WebSocketMediaLeg {
  ws: WebSocket | null = null;
  readonly queue: Queued[] = [];
  queuedFrames = 0;
  queueFull = false;
  buffering = false;
  paused = false;
  reportDrained = false;
  readonly leftover: Buffer;
  leftoverLength = 0;
  sent = 0;
  received = 0;
  dropped = 0;
  connectTimer: NodeJS.Timeout | undefined;
  readonly frameBytes: number;

  constructor(
    readonly channelId: string,
    readonly channelName: string,
    readonly connectionId: string,
    readonly format: MediaFormat,
  ) {
    this.frameBytes = optimalFrameSize(format);
    this.leftover = Buffer.alloc(this.frameBytes);
  }
}

/** Bytes per 20 ms frame of a format (MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE). */
export function optimalFrameSize(format: MediaFormat): number {
  const info = FORMATS[format];
  return format === 'slin16' ? info.samplesPerFrame * 2 : info.samplesPerFrame;
}

export interface WebSocketMediaOptions {
  readonly topology: (channelId: string) => LegTopology;
  /** The client connected and got MEDIA_START: Asterisk answers the channel (it then enters Stasis). */
  readonly onConnected: (channelId: string) => void;
  /** The client closed (cause 16) or the connection broke (cause 38): Asterisk hangs the channel up. */
  readonly onDisconnected: (channelId: string, cause: number) => void;
  /** Nobody connected in time: the dial gives up (as an unanswered originate). */
  readonly onConnectTimeout: (channelId: string) => void;
  /** The client sent HANGUP. */
  readonly onHangupCommand: (channelId: string) => void;
  readonly connectTimeoutMs: number;
}

/** Why an upgrade to /media/<id> was refused, as Asterisk answers it. */
export interface MediaRefusal {
  readonly status: number;
  readonly reason: string;
  readonly text: string;
}

export class WebSocketMediaPlane {
  readonly #legs = new Map<string, WebSocketMediaLeg>();
  readonly #byConnection = new Map<string, WebSocketMediaLeg>();
  readonly #wss = new WebSocketServer({ noServer: true, clientTracking: false, perMessageDeflate: false, maxPayload: MAX_PAYLOAD_BYTES });
  readonly #opts: WebSocketMediaOptions;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: WebSocketMediaOptions) {
    this.#opts = opts;
  }

  get legCount(): number {
    return this.#legs.size;
  }

  openLeg(channelId: string, channelName: string, connectionId: string, format: MediaFormat): void {
    const leg = new WebSocketMediaLeg(channelId, channelName, connectionId, format);
    leg.connectTimer = setTimeout(() => {
      leg.connectTimer = undefined;
      if (leg.ws === null && this.#legs.get(channelId) === leg) this.#opts.onConnectTimeout(channelId);
    }, this.#opts.connectTimeoutMs);
    this.#legs.set(channelId, leg);
    this.#byConnection.set(connectionId, leg);
    this.#timer ??= setInterval(() => this.#tick(), PTIME_MS);
  }

  /** An upgrade for `/media/<connectionId>`: refused as Asterisk refuses it, or accepted. */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, connectionId: string): MediaRefusal | null {
    const leg = this.#byConnection.get(connectionId);
    if (leg === undefined) return { status: 404, reason: 'Not found', text: 'WebSocket instance not found' };
    if (leg.ws !== null) return { status: 409, reason: 'Conflict', text: 'Another websocket connection exists for this connection id' };
    // Claimed now: a second upgrade racing this one is a conflict. An upgrade that fails frees the id again.
    leg.ws = PENDING;
    socket.once('close', () => {
      if (leg.ws === PENDING) leg.ws = null;
    });
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      if (this.#closed || this.#legs.get(leg.channelId) !== leg) {
        ws.terminate();
        return;
      }
      this.#connected(leg, ws);
    });
    return null;
  }

  stats(channelId: string): MediaLegStats | undefined {
    const leg = this.#legs.get(channelId);
    return leg ? { sent: leg.sent, received: leg.received, dropped: leg.dropped } : undefined;
  }

  /** The channel is gone: its connection is closed with `code` (1000 after a hangup). */
  closeLeg(channelId: string, code = 1000): void {
    const leg = this.#legs.get(channelId);
    if (!leg) return;
    this.#legs.delete(channelId);
    this.#byConnection.delete(leg.connectionId);
    if (leg.connectTimer) clearTimeout(leg.connectTimer);
    const ws = leg.ws;
    leg.ws = null;
    if (ws !== null && ws !== PENDING) {
      ws.removeAllListeners('close');
      if (ws.readyState === WebSocket.OPEN) ws.close(code);
      else ws.terminate();
    }
    if (this.#legs.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of [...this.#legs.keys()]) this.closeLeg(id, 1001);
    this.#wss.close();
  }

  #connected(leg: WebSocketMediaLeg, ws: WebSocket): void {
    leg.ws = ws;
    if (leg.connectTimer) clearTimeout(leg.connectTimer);
    leg.connectTimer = undefined;
    ws.on('error', (err) => log.debug({ channelId: leg.channelId, err: err.message }, 'media websocket error'));
    ws.on('message', (data, isBinary) => this.#onMessage(leg, data, isBinary));
    ws.on('close', (code) => {
      if (this.#legs.get(leg.channelId) !== leg) return;
      // A close frame is a hangup with NORMAL_CLEARING; a broken connection is a read error (NETWORK_OUT_OF_ORDER).
      this.#opts.onDisconnected(leg.channelId, code === 1006 ? 38 : 16);
    });
    ws.send(
      `MEDIA_START connection_id:${leg.connectionId} channel:${leg.channelName} channel_id:${leg.channelId} ` +
        `format:${leg.format} optimal_frame_size:${leg.frameBytes} ptime:${PTIME_MS}`,
    );
    this.#opts.onConnected(leg.channelId);
  }

  #onMessage(leg: WebSocketMediaLeg, data: RawData, isBinary: boolean): void {
    const payload = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (!isBinary) {
      this.#onCommand(leg, payload);
      return;
    }
    if (leg.queuedFrames >= QUEUE_LENGTH_MAX) {
      // "WebSocket queue is full. Ignoring incoming binary message."
      leg.dropped++;
      return;
    }
    let offset = 0;
    if (leg.buffering && leg.leftoverLength > 0) {
      const take = Math.min(leg.frameBytes - leg.leftoverLength, payload.length);
      payload.copy(leg.leftover, leg.leftoverLength, 0, take);
      leg.leftoverLength += take;
      offset = take;
      if (leg.leftoverLength < leg.frameBytes) return;
      this.#enqueue(leg, Buffer.from(leg.leftover));
      leg.leftoverLength = 0;
    }
    if (!leg.buffering) leg.leftoverLength = 0;
    while (payload.length - offset >= leg.frameBytes) {
      this.#enqueue(leg, Buffer.from(payload.subarray(offset, offset + leg.frameBytes)));
      offset += leg.frameBytes;
    }
    const rest = payload.length - offset;
    if (rest === 0) return;
    if (leg.buffering) {
      payload.copy(leg.leftover, 0, offset);
      leg.leftoverLength = rest;
    } else {
      // Without START_MEDIA_BUFFERING the part that does not fill a frame is dropped.
      leg.dropped++;
    }
  }

  #enqueue(leg: WebSocketMediaLeg, frame: Buffer): void {
    leg.queue.push({ kind: 'frame', data: frame });
    leg.queuedFrames++;
    leg.received++;
    if (!leg.queueFull && leg.queuedFrames >= QUEUE_LENGTH_XOFF_LEVEL) {
      leg.queueFull = true;
      this.#sendText(leg, 'MEDIA_XOFF');
    }
  }

  #onCommand(leg: WebSocketMediaLeg, payload: Buffer): void {
    // Empty or longer than 128 bytes: ignored with a warning.
    if (payload.length === 0 || payload.length > MAX_TEXT_MESSAGE_LEN) return;
    const text = payload.toString('utf8').trim();
    const space = text.indexOf(' ');
    const command = space < 0 ? text : text.slice(0, space);
    const data = space < 0 ? '' : text.slice(space + 1);
    switch (command) {
      case 'ANSWER':
        return; // answered when the connection came up (no `n` option on externalMedia)
      case 'HANGUP':
        this.#opts.onHangupCommand(leg.channelId);
        return;
      case 'START_MEDIA_BUFFERING':
        leg.buffering = true;
        return;
      case 'STOP_MEDIA_BUFFERING':
        leg.buffering = false;
        if (leg.leftoverLength > 0) {
          // The rest becomes a short frame, padded with silence when it is played.
          const frame = Buffer.alloc(leg.frameBytes, leg.format === 'slin16' ? 0 : silenceByte(leg.format));
          leg.leftover.copy(frame, 0, 0, leg.leftoverLength);
          this.#enqueue(leg, frame);
        }
        leg.leftoverLength = 0;
        leg.queue.push({ kind: 'text', text: data ? `MEDIA_BUFFERING_COMPLETED ${data}` : 'MEDIA_BUFFERING_COMPLETED' });
        return;
      case 'MARK_MEDIA':
        leg.queue.push({ kind: 'text', text: data ? `MEDIA_MARK_PROCESSED ${data}` : 'MEDIA_MARK_PROCESSED' });
        return;
      case 'FLUSH_MEDIA':
        leg.queue.length = 0;
        leg.queuedFrames = 0;
        leg.buffering = false;
        leg.leftoverLength = 0;
        return;
      case 'REPORT_QUEUE_DRAINED':
        leg.reportDrained = true;
        return;
      case 'GET_STATUS':
        this.#sendText(
          leg,
          `STATUS channel_id:${leg.channelId} queue_length:${leg.queuedFrames} xon_level:${QUEUE_LENGTH_XON_LEVEL} ` +
            `xoff_level:${QUEUE_LENGTH_XOFF_LEVEL} queue_full:${leg.queueFull} bulk_media:${leg.buffering} media_paused:${leg.paused}`,
        );
        return;
      case 'PAUSE_MEDIA':
        leg.paused = true;
        return;
      case 'CONTINUE_MEDIA':
        leg.paused = false;
        return;
      default:
        return; // "WebSocket %s command unknown"
    }
  }

  #tick(): void {
    for (const leg of this.#legs.values()) {
      const ws = leg.ws;
      if (ws === null || ws === PENDING || ws.readyState !== WebSocket.OPEN) continue;
      const { sources, sinks } = this.#opts.topology(leg.channelId);
      const info = FORMATS[leg.format];
      // What the bridge writes to the channel goes to the client, one message per frame.
      if (sources.length > 0) {
        const out = Buffer.alloc(leg.frameBytes);
        encodeFrame(leg.format, frameOf(sources, info), out, true);
        ws.send(out, { binary: true });
        leg.sent++;
      }
      // The channel's timer reads one frame of the queue (silence when there is none) into the bridge.
      const frame = this.#dequeue(leg);
      if (sinks.length === 0) continue;
      const pcm = frame === null ? new Int16Array(info.samplesPerFrame) : decodePayload(leg.format, frame, true);
      for (const sink of sinks) sink.hear(pcm, info.sampleRate);
    }
  }

  #dequeue(leg: WebSocketMediaLeg): Buffer | null {
    if (leg.paused) return null;
    if (leg.queueFull && leg.queuedFrames < QUEUE_LENGTH_XON_LEVEL) {
      leg.queueFull = false;
      this.#sendText(leg, 'MEDIA_XON');
    }
    for (;;) {
      const item = leg.queue.shift();
      if (item === undefined) {
        if (leg.reportDrained) {
          leg.reportDrained = false;
          this.#sendText(leg, 'QUEUE_DRAINED');
        }
        return null;
      }
      if (item.kind === 'text') {
        // Marks and buffering notices go out when the frames queued before them have been played.
        this.#sendText(leg, item.text);
        continue;
      }
      leg.queuedFrames--;
      return item.data;
    }
  }

  #sendText(leg: WebSocketMediaLeg, text: string): void {
    const ws = leg.ws;
    if (ws !== null && ws !== PENDING && ws.readyState === WebSocket.OPEN) ws.send(text);
  }
}

/** A placeholder while an upgrade is in progress (the id is taken). */
const PENDING = Object.freeze({ readyState: WebSocket.CONNECTING }) as unknown as WebSocket;

function silenceByte(format: MediaFormat): number {
  return format === 'ulaw' ? 0xff : 0xd5;
}
