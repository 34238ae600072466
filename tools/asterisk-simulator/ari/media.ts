/**
 * The externalMedia (UnicastRTP) side of the simulated Asterisk: one UDP socket
 * per externalMedia channel, bound on 127.0.0.1 (its UNICASTRTP_LOCAL_PORT).
 * As observed in s1/s4/s5: Asterisk sends to `external_host` from that socket,
 * 20 ms frames (ulaw PT 0 / 160 B, alaw PT 8 / 160 B, slin16 PT 118 / 640 B
 * big-endian), random SSRC and sequence, marker 0, and only while the channel
 * shares a bridge with a phone that produces audio; while nothing is sent the
 * sequence and timestamp keep advancing (the s4 mute gap resumed at seq +101).
 * What the socket receives is decoded and handed to the phones of its bridge,
 * for static payload types only: chan_rtp gives its RTP instance no payload
 * mapping, and main/rtp_engine.c falls back to the static table on receive only
 * up to PT 34, so Asterisk sends slin16 (PT 118) but plays none of what it gets
 * back (observed with Tandem, docs/asterisk-facts.md; docs/wideband-media.md).
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { logger } from '../../../common/src/logger.js';
import type { MediaFormat } from './model.js';

const log = logger('simulator.ari.media');

/** Produces the next `samples` samples of 16-bit PCM at `sampleRate`. */
export type AudioSource = (sampleRate: number, samples: number) => Int16Array;

/**
 * A sine tone source; keeps its phase between calls so frames join without clicks.
 * An integer frequency repeats exactly every sampleRate / gcd(frequency, sampleRate)
 * samples, so that one period is computed once per rate and then read back:
 * hundreds of phones at 50 frames a second cost no trigonometry.
 */
export function tone(frequencyHz: number, amplitude = 8000): AudioSource {
  const periodic = Number.isInteger(frequencyHz) && frequencyHz > 0;
  const periods = new Map<number, Int16Array>();
  let index = 0;
  let phase = 0;
  return (sampleRate, samples) => {
    const out = new Int16Array(samples);
    if (periodic && Number.isInteger(sampleRate)) {
      let period = periods.get(sampleRate);
      if (!period) {
        period = new Int16Array(sampleRate / gcd(frequencyHz, sampleRate));
        for (let i = 0; i < period.length; i++) period[i] = Math.round(amplitude * Math.sin((2 * Math.PI * frequencyHz * i) / sampleRate));
        periods.set(sampleRate, period);
      }
      let at = index % period.length;
      for (let i = 0; i < samples; i++) {
        out[i] = period[at] ?? 0;
        if (++at === period.length) at = 0;
      }
      index = at;
      return out;
    }
    const step = (2 * Math.PI * frequencyHz) / sampleRate;
    for (let i = 0; i < samples; i++) {
      out[i] = Math.round(amplitude * Math.sin(phase));
      phase += step;
    }
    phase %= 2 * Math.PI;
    return out;
  };
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

export interface FormatInfo {
  readonly payloadType: number;
  readonly sampleRate: number;
  readonly samplesPerFrame: number;
}

export const FORMATS: Readonly<Record<MediaFormat, FormatInfo>> = {
  ulaw: { payloadType: 0, sampleRate: 8000, samplesPerFrame: 160 },
  alaw: { payloadType: 8, sampleRate: 8000, samplesPerFrame: 160 },
  slin16: { payloadType: 118, sampleRate: 16000, samplesPerFrame: 320 },
};

export function isMediaFormat(name: string): name is MediaFormat {
  return Object.hasOwn(FORMATS, name);
}

/** The last payload type Asterisk maps from its static table when an RTP instance has no mapping of its own (AST_RTP_PT_LAST_STATIC). */
const LAST_STATIC_PAYLOAD_TYPE = 34;

/** Whether a UnicastRTP channel of this format plays what it receives (only static payload types do). */
export function rtpPlaysReceived(format: MediaFormat): boolean {
  return FORMATS[format].payloadType <= LAST_STATIC_PAYLOAD_TYPE;
}

// --- G.711 (ITU-T reference algorithm) -------------------------------------

export function linearToUlaw(sample: number): number {
  const BIAS = 0x84;
  let s = sample;
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  if (s > 32635) s = 32635;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

export function ulawToLinear(byte: number): number {
  const u = ~byte & 0xff;
  const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  return u & 0x80 ? 0x84 - t : t - 0x84;
}

export function linearToAlaw(sample: number): number {
  let s = sample;
  const sign = s >= 0 ? 0xd5 : 0x55;
  if (s < 0) s = -s - 1;
  if (s > 32767) s = 32767;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = exponent === 0 ? (s >> 4) & 0x0f : (s >> (exponent + 3)) & 0x0f;
  return ((exponent << 4) | mantissa) ^ sign;
}

export function alawToLinear(byte: number): number {
  const a = byte ^ 0x55;
  const exponent = (a & 0x70) >> 4;
  let t = (a & 0x0f) << 4;
  t = exponent === 0 ? t + 8 : (t + 0x108) << (exponent - 1);
  return a & 0x80 ? t : -t;
}

/** G.711 by table: every 16-bit sample's code, and every code's sample, computed once from the reference functions above. */
let ulawEncode: Uint8Array | null = null;
let alawEncode: Uint8Array | null = null;
let ulawDecode: Int16Array | null = null;
let alawDecode: Int16Array | null = null;

function encodeTable(format: 'ulaw' | 'alaw'): Uint8Array {
  const existing = format === 'ulaw' ? ulawEncode : alawEncode;
  if (existing) return existing;
  const enc = format === 'ulaw' ? linearToUlaw : linearToAlaw;
  const table = new Uint8Array(65536);
  // Indexed by the sample's 16-bit two's complement pattern.
  for (let i = 0; i < 65536; i++) table[i] = enc(i < 32768 ? i : i - 65536);
  if (format === 'ulaw') ulawEncode = table;
  else alawEncode = table;
  return table;
}

function decodeTable(format: 'ulaw' | 'alaw'): Int16Array {
  const existing = format === 'ulaw' ? ulawDecode : alawDecode;
  if (existing) return existing;
  const dec = format === 'ulaw' ? ulawToLinear : alawToLinear;
  const table = new Int16Array(256);
  for (let i = 0; i < 256; i++) table[i] = dec(i);
  if (format === 'ulaw') ulawDecode = table;
  else alawDecode = table;
  return table;
}

/** Encodes one frame; slin16 big-endian as on RTP, or little-endian as on chan_websocket. */
export function encodeFrame(format: MediaFormat, pcm: Int16Array, out: Buffer, littleEndian = false): number {
  if (format === 'slin16') {
    for (let i = 0; i < pcm.length; i++) {
      if (littleEndian) out.writeInt16LE(pcm[i] ?? 0, i * 2);
      else out.writeInt16BE(pcm[i] ?? 0, i * 2);
    }
    return pcm.length * 2;
  }
  const table = encodeTable(format);
  for (let i = 0; i < pcm.length; i++) out[i] = table[(pcm[i] ?? 0) & 0xffff] ?? 0;
  return pcm.length;
}

export function decodePayload(format: MediaFormat, payload: Buffer, littleEndian = false): Int16Array {
  if (format === 'slin16') {
    const out = new Int16Array(payload.length >> 1);
    for (let i = 0; i < out.length; i++) out[i] = littleEndian ? payload.readInt16LE(i * 2) : payload.readInt16BE(i * 2);
    return out;
  }
  const table = decodeTable(format);
  const out = new Int16Array(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = table[payload[i] ?? 0] ?? 0;
  return out;
}

/** The RTP payload of a datagram, or null when it is not RTP version 2 or is truncated. */
export function rtpPayload(packet: Buffer): Buffer | null {
  if (packet.length < 12 || packet[0] === undefined || packet[0] >> 6 !== 2) return null;
  const first = packet[0];
  const csrcCount = first & 0x0f;
  let offset = 12 + csrcCount * 4;
  if (first & 0x10) {
    if (packet.length < offset + 4) return null;
    offset += 4 + packet.readUInt16BE(offset + 2) * 4;
  }
  let end = packet.length;
  if (first & 0x20) end -= packet[packet.length - 1] ?? 0;
  if (offset > end) return null;
  return packet.subarray(offset, end);
}

// --- legs ---------------------------------------------------------------------

const NOTHING = new Int16Array(0);

/** A phone that hears what a leg delivers. */
export interface AudioSink {
  hear(pcm: Int16Array, sampleRate: number): void;
  /** It records nothing more (its recording is full): no need to decode for it. */
  readonly full?: boolean;
}

/** Where a leg's audio comes from and goes to, resolved by the owner on each frame. */
export interface LegTopology {
  /** Audio sources of the phones in the same bridge that are not muted `in`. */
  readonly sources: readonly AudioSource[];
  /** Phones in the same bridge that are not muted `out`. */
  readonly sinks: readonly AudioSink[];
}

export interface MediaLegStats {
  readonly sent: number;
  readonly received: number;
  readonly dropped: number;
}

class MediaLeg {
  readonly ssrc = randomInt(0, 0x1_0000_0000);
  seq = randomInt(0, 0x1_0000);
  timestamp = randomInt(1, 8) * 160;
  started = false;
  sent = 0;
  received = 0;
  dropped = 0;
  readonly frame: Buffer;

  constructor(
    readonly channelId: string,
    readonly socket: Socket,
    readonly host: string,
    readonly port: number,
    readonly format: MediaFormat,
  ) {
    this.frame = Buffer.alloc(12 + FORMATS[format].samplesPerFrame * 2);
  }
}

/** One frame of what a bridge's phones say: one phone's as it is (the usual case), several summed and clipped to 16 bits. */
export function frameOf(sources: readonly AudioSource[], info: FormatInfo): Int16Array {
  const only = sources.length === 1 ? sources[0] : undefined;
  if (only) {
    const pcm = only(info.sampleRate, info.samplesPerFrame);
    if (pcm.length === info.samplesPerFrame) return pcm;
    const frame = new Int16Array(info.samplesPerFrame);
    frame.set(pcm.subarray(0, info.samplesPerFrame));
    return frame;
  }
  const mix = new Int16Array(info.samplesPerFrame);
  for (const source of sources) {
    const pcm = source(info.sampleRate, info.samplesPerFrame);
    for (let i = 0; i < mix.length; i++) mix[i] = Math.max(-32768, Math.min(32767, (mix[i] ?? 0) + (pcm[i] ?? 0)));
  }
  return mix;
}

export const isLoopback = (host: string): boolean => /^127\.\d+\.\d+\.\d+$/.test(host) || host === 'localhost';

export class MediaPlane {
  readonly #legs = new Map<string, MediaLeg>();
  readonly #topology: (channelId: string) => LegTopology;
  readonly #bindAddress: string;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: { bindAddress: string; topology: (channelId: string) => LegTopology }) {
    this.#bindAddress = opts.bindAddress;
    this.#topology = opts.topology;
  }

  get legCount(): number {
    return this.#legs.size;
  }

  /** Binds the leg's socket; resolves to its local port (UNICASTRTP_LOCAL_PORT). */
  async openLeg(channelId: string, host: string, port: number, format: MediaFormat): Promise<number> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, this.#bindAddress, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    if (this.#closed) {
      socket.close();
      return 0;
    }
    const leg = new MediaLeg(channelId, socket, host, port, format);
    socket.on('error', (err) => log.debug({ channelId, err: err.message }, 'media socket error'));
    socket.on('message', (msg) => this.#onPacket(leg, msg));
    this.#legs.set(channelId, leg);
    if (!this.#timer) this.#timer = setInterval(() => this.#tick(), 20);
    return socket.address().port;
  }

  stats(channelId: string): MediaLegStats | undefined {
    const leg = this.#legs.get(channelId);
    return leg ? { sent: leg.sent, received: leg.received, dropped: leg.dropped } : undefined;
  }

  closeLeg(channelId: string): void {
    const leg = this.#legs.get(channelId);
    if (!leg) return;
    this.#legs.delete(channelId);
    leg.socket.close();
    if (this.#legs.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of [...this.#legs.keys()]) this.closeLeg(id);
  }

  #onPacket(leg: MediaLeg, msg: Buffer): void {
    const payload = rtpPayload(msg);
    if (!payload) {
      leg.dropped++;
      return;
    }
    leg.received++;
    if (!rtpPlaysReceived(leg.format)) {
      // Asterisk logs "Got RTP packet ... type 118" and drops it: no payload mapping for a dynamic type.
      leg.dropped++;
      return;
    }
    const { sinks } = this.#topology(leg.channelId);
    // Phones whose recording is full only count the frame: it need not be decoded for them.
    const pcm = sinks.every((sink) => sink.full === true) ? NOTHING : decodePayload(leg.format, payload);
    for (const sink of sinks) sink.hear(pcm, FORMATS[leg.format].sampleRate);
  }

  #tick(): void {
    for (const leg of this.#legs.values()) {
      const { sources } = this.#topology(leg.channelId);
      const info = FORMATS[leg.format];
      if (sources.length === 0) {
        // Before the first packet nothing advances; after it, the clock runs on through gaps.
        if (leg.started) {
          leg.seq = (leg.seq + 1) & 0xffff;
          leg.timestamp = (leg.timestamp + info.samplesPerFrame) >>> 0;
        }
        continue;
      }
      const mix = frameOf(sources, info);
      const buf = leg.frame;
      buf[0] = 0x80;
      buf[1] = info.payloadType & 0x7f; // marker 0, also on the first packet (observed)
      buf.writeUInt16BE(leg.seq, 2);
      buf.writeUInt32BE(leg.timestamp, 4);
      buf.writeUInt32BE(leg.ssrc, 8);
      const len = 12 + encodeFrame(leg.format, mix, buf.subarray(12));
      leg.started = true;
      leg.seq = (leg.seq + 1) & 0xffff;
      leg.timestamp = (leg.timestamp + info.samplesPerFrame) >>> 0;
      if (!isLoopback(leg.host)) {
        // The simulator is test support: it never sends to a non-loopback address.
        leg.dropped++;
        continue;
      }
      leg.socket.send(buf, 0, len, leg.port, leg.host);
      leg.sent++;
    }
  }
}
