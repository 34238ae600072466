import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

/** One connection id served at /media/<id>: what the engine leg sent, and a way to talk back. */
export class MediaChannel {
  readonly frames: Buffer[] = [];
  readonly texts: string[] = [];
  ws: WebSocket | null = null;
  closeCode: number | null = null;
  constructor(
    readonly connectionId: string,
    readonly format: string,
    readonly optimalFrameSize: number,
    /** The MEDIA_START line sent on connect; null sends none (a server that never starts). */
    readonly mediaStart: string | null,
  ) {}

  get connected(): boolean {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  send(data: Buffer | string): void {
    if (!this.ws) throw new Error(`nobody connected to ${this.connectionId}`);
    this.ws.send(data, { binary: typeof data !== 'string' });
  }
}

/**
 * Plays chan_websocket's side of WebSocket externalMedia legs in engine tests:
 * an HTTP server on 127.0.0.1 that accepts `/media/<connection id>` for the ids
 * it was told about (404 otherwise, 409 for a second connection), sends
 * MEDIA_START, and records every message the leg sends.
 */
export class ChanWebSocketPeer {
  readonly #server: Server;
  readonly #wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  readonly #channels = new Map<string, MediaChannel>();

  private constructor(server: Server) {
    this.#server = server;
    server.on('upgrade', (req, socket, head) => {
      const id = (req.url ?? '').replace(/^\/media\//, '');
      const channel = this.#channels.get(id);
      const refuse = (status: number, text: string): void => {
        socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      };
      if (!channel) return refuse(404, 'Not found');
      if (channel.ws) return refuse(409, 'Conflict');
      this.#wss.handleUpgrade(req, socket, head, (ws) => {
        channel.ws = ws;
        ws.on('message', (data, isBinary) => {
          if (isBinary) channel.frames.push(Buffer.from(data as Buffer));
          else channel.texts.push((data as Buffer).toString('utf8'));
        });
        ws.on('close', (code) => (channel.closeCode = code));
        if (channel.mediaStart !== null) ws.send(channel.mediaStart);
      });
    });
  }

  static async start(): Promise<ChanWebSocketPeer> {
    const server = createServer((_req, res) => res.writeHead(426).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new ChanWebSocketPeer(server);
  }

  /** A channel awaiting its connection; `mediaStart` overrides the MEDIA_START line (null: never sent). */
  channel(format = 'slin16', optimalFrameSize = format === 'slin16' ? 640 : 160, mediaStart?: string | null): MediaChannel {
    const id = randomUUID();
    const line = mediaStart === undefined ? `MEDIA_START connection_id:${id} channel:WebSocket/INCOMING/0x7f${id.slice(0, 8)} channel_id:em_${id.slice(0, 4)} format:${format} optimal_frame_size:${optimalFrameSize} ptime:20` : mediaStart;
    const channel = new MediaChannel(id, format, optimalFrameSize, line);
    this.#channels.set(id, channel);
    return channel;
  }

  url(channel: MediaChannel | string): string {
    const port = (this.#server.address() as AddressInfo).port;
    return `ws://127.0.0.1:${port}/media/${typeof channel === 'string' ? channel : channel.connectionId}`;
  }

  async close(): Promise<void> {
    for (const c of this.#channels.values()) c.ws?.terminate();
    this.#wss.close();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** `count` samples of a sine at `hz`, as little-endian 16-bit PCM frames of `frameSamples`. */
export function sineFramesLE(hz: number, sampleRate: number, frameSamples: number, count: number, amplitude = 8000): Buffer[] {
  const frames: Buffer[] = [];
  let n = 0;
  for (let f = 0; f < count; f++) {
    const frame = Buffer.alloc(frameSamples * 2);
    for (let i = 0; i < frameSamples; i++, n++) frame.writeInt16LE(Math.round(amplitude * Math.sin((2 * Math.PI * hz * n) / sampleRate)), i * 2);
    frames.push(frame);
  }
  return frames;
}

/** Zero-crossing frequency of little-endian 16-bit PCM frames. */
export function frequencyLE(frames: readonly Buffer[], sampleRate: number): number {
  let crossings = 0;
  let total = 0;
  let prev = 0;
  for (const f of frames) {
    for (let i = 0; i + 1 < f.length; i += 2) {
      const s = f.readInt16LE(i);
      if ((prev < 0 && s >= 0) || (prev >= 0 && s < 0)) crossings++;
      prev = s;
      total++;
    }
  }
  return total === 0 ? 0 : (crossings / 2) * (sampleRate / total);
}
