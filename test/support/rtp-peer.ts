import dgram from 'node:dgram';
import { RtpPacketView, writeRtpHeader } from '../../engine/src/rtp/index.js';

export interface ReceivedRtp {
  atMs: number;
  from: { address: string; port: number };
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  payload: Buffer;
}

/**
 * Plays Asterisk's side of one externalMedia leg in tests: a UDP socket on
 * 127.0.0.1 that sends RTP to an engine leg and records what comes back.
 */
export class RtpPeer {
  readonly received: ReceivedRtp[] = [];
  readonly #socket: dgram.Socket;
  readonly #view = new RtpPacketView();
  #seq: number;
  #ts: number;
  readonly ssrc: number;

  private constructor(socket: dgram.Socket, ssrc: number) {
    this.#socket = socket;
    this.ssrc = ssrc;
    this.#seq = Math.floor(Math.random() * 65536);
    this.#ts = Math.floor(Math.random() * 2 ** 32);
    socket.on('message', (msg, rinfo) => {
      if (this.#view.tryParse(msg) !== null) return;
      const v = this.#view;
      this.received.push({
        atMs: performance.now(),
        from: { address: rinfo.address, port: rinfo.port },
        marker: v.marker,
        payloadType: v.payloadType,
        sequenceNumber: v.sequenceNumber,
        timestamp: v.timestamp,
        ssrc: v.ssrc,
        payload: Buffer.from(v.payload),
      });
    });
  }

  static async open(ssrc = 0x1000 + Math.floor(Math.random() * 0xffff)): Promise<RtpPeer> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new RtpPeer(socket, ssrc);
  }

  get port(): number {
    return this.#socket.address().port;
  }

  get endpoint(): { address: string; port: number } {
    return { address: '127.0.0.1', port: this.port };
  }

  /** Sends one RTP packet with the next sequence number and timestamp. */
  sendRtp(to: { address: string; port: number }, payload: Uint8Array, payloadType = 0, samples = 160): Promise<void> {
    const packet = Buffer.alloc(12 + payload.length);
    writeRtpHeader(packet, 0, false, payloadType, this.#seq, this.#ts, this.ssrc);
    packet.set(payload, 12);
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#ts = (this.#ts + samples) >>> 0;
    return this.sendRaw(to, packet);
  }

  /** A packet lost on the way: its sequence number and timestamp are used up, nothing is sent. */
  skip(samples = 160): void {
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#ts = (this.#ts + samples) >>> 0;
  }

  sendRaw(to: { address: string; port: number }, bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.#socket.send(bytes, to.port, to.address, (err) => (err ? reject(err) : resolve())));
  }

  close(): void {
    this.#socket.close();
  }
}

/** A 160-byte µ-law payload whose bytes identify `index` and survive decode→encode (never 0x7F/0xFF). */
export function taggedUlawFrame(index: number, length = 160): Buffer {
  const frame = Buffer.alloc(length);
  for (let i = 0; i < length; i++) frame[i] = 0x80 | ((index * 7 + i) & 0x3f);
  frame[0] = 0x80 | (index & 0x3f);
  frame[1] = 0x80 | ((index >> 6) & 0x3f);
  return frame;
}

export function frameIndex(payload: Buffer): number {
  return ((payload[0] ?? 0) & 0x3f) | (((payload[1] ?? 0) & 0x3f) << 6);
}

/**
 * Waits for `predicate`. The deadline only ends a stuck test (a busy CI box may be
 * seconds slow); callers wait for the event they need, never for a speed.
 */
export async function waitFor(predicate: () => boolean, timeoutMs = 30_000, stepMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Local UDP ports currently bound on 127.0.0.1, from the kernel's own table. */
export async function boundUdpPorts(): Promise<Set<number>> {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile('/proc/net/udp', 'utf8');
  const ports = new Set<number>();
  for (const line of text.split('\n').slice(1)) {
    const local = line.trim().split(/\s+/)[1];
    if (!local) continue;
    const [addressHex, portHex] = local.split(':');
    if (addressHex === '0100007F' && portHex) ports.add(parseInt(portHex, 16));
  }
  return ports;
}

/**
 * The indexes of received frames that are exact copies of taggedUlawFrame(k) —
 * real relayed audio — skipping the jitter buffer's concealment (faded
 * repeats) and silence, which are not copies of anything that was sent.
 */
export function exactFrameIndexes(received: readonly { payload: Buffer }[]): number[] {
  const out: number[] = [];
  for (const packet of received) {
    const index = frameIndex(packet.payload);
    if (packet.payload.equals(taggedUlawFrame(index, packet.payload.length))) out.push(index);
  }
  return out;
}

/** Sends `count` frames at 50 packets/s on absolute deadlines (no drift), calling `send(i)` for each. */
export async function paced(count: number, send: (i: number) => Promise<void>): Promise<void> {
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    await send(i);
    await sleep(Math.max(0, start + (i + 1) * 20 - performance.now()));
  }
}
