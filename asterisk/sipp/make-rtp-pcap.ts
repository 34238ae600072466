/**
 * Writes a libpcap file of RTP packets (Ethernet / IPv4 / UDP / RTP) from raw
 * 8 kHz G.711 audio, for SIPp's `play_pcap_audio`.
 *
 * SIPp replays the UDP payloads of such a file toward the port the peer
 * announced in its SDP, paced by the record timestamps, so the addresses and
 * ports written here only need to be consistent, not real. No Debian tool
 * writes RTP pcaps from raw audio, hence this script.
 *
 * CLI (run with `node --import tsx asterisk/sipp/make-rtp-pcap.ts`):
 *   --in FILE        raw µ-law (or A-law with --pt 8) audio, 8000 Hz mono
 *   --out FILE       pcap to write
 *   --pt N           RTP payload type (default 0 = PCMU)
 *   --ptime MS       packet time in ms (default 20)
 *   --ssrc N         RTP SSRC (default 0x54414e44, "TAND")
 *   --src IP:PORT    source written in the packets (default 127.0.0.1:6000)
 *   --dst IP:PORT    destination written in the packets (default 127.0.0.1:6100)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** µ-law and A-law sample rate; one payload byte per sample. */
export const G711_CLOCK_RATE = 8000;
export const PCAP_MAGIC = 0xa1b2c3d4;
export const LINKTYPE_ETHERNET = 1;
export const PCAP_GLOBAL_HEADER_BYTES = 24;
export const PCAP_RECORD_HEADER_BYTES = 16;
const ETHERNET_HEADER_BYTES = 14;
const IPV4_HEADER_BYTES = 20;
const UDP_HEADER_BYTES = 8;
export const RTP_HEADER_BYTES = 12;
/** Offset of the RTP header inside one captured frame. */
export const RTP_OFFSET_IN_FRAME = ETHERNET_HEADER_BYTES + IPV4_HEADER_BYTES + UDP_HEADER_BYTES;

/** Silence in µ-law (0xff) and A-law (0xd5), used to pad the last frame. */
const SILENCE_BYTE: Readonly<Record<number, number>> = { 0: 0xff, 8: 0xd5 };

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export interface RtpPcapOptions {
  /** RTP payload type; 0 (PCMU) or 8 (PCMA). Default 0. */
  readonly payloadType?: number;
  /** Packet time in ms; a multiple of 10 between 10 and 60. Default 20. */
  readonly ptimeMs?: number;
  readonly ssrc?: number;
  readonly firstSequenceNumber?: number;
  readonly firstTimestamp?: number;
  readonly source?: Endpoint;
  readonly destination?: Endpoint;
  /** Capture time of the first packet, in µs since the epoch. */
  readonly startMicros?: number;
}

export interface RtpPcapResult {
  readonly pcap: Buffer;
  readonly packetCount: number;
  /** Audio length carried by the packets, in ms (padding included). */
  readonly durationMs: number;
}

const DEFAULTS = {
  payloadType: 0,
  ptimeMs: 20,
  ssrc: 0x54414e44,
  firstSequenceNumber: 1000,
  firstTimestamp: 160_000,
  source: { address: '127.0.0.1', port: 6000 },
  destination: { address: '127.0.0.1', port: 6100 },
  startMicros: 1_795_400_000_000_000,
} as const;

function parseIpv4(address: string): Buffer {
  const parts = address.split('.');
  const bytes = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : Number.NaN));
  if (bytes.length !== 4 || bytes.some((b) => !(b >= 0 && b <= 255))) {
    throw new RangeError(`not an IPv4 address: ${address}`);
  }
  return Buffer.from(bytes);
}

function checkPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`${what} port out of range: ${port}`);
  }
}

/** Internet checksum (RFC 1071) over the given buffers, as if concatenated. */
function internetChecksum(parts: readonly Buffer[]): number {
  let sum = 0;
  let odd: number | null = null;
  for (const part of parts) {
    for (const byte of part) {
      if (odd === null) {
        odd = byte;
      } else {
        sum += (odd << 8) | byte;
        odd = null;
      }
    }
  }
  if (odd !== null) sum += odd << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function validate(o: Required<RtpPcapOptions>): void {
  if (!Number.isInteger(o.payloadType) || o.payloadType < 0 || o.payloadType > 127) {
    throw new RangeError(`payload type out of range: ${o.payloadType}`);
  }
  if (!Number.isInteger(o.ptimeMs) || o.ptimeMs < 10 || o.ptimeMs > 60 || o.ptimeMs % 10 !== 0) {
    throw new RangeError(`ptime must be 10..60 ms in steps of 10: ${o.ptimeMs}`);
  }
  checkPort(o.source.port, 'source');
  checkPort(o.destination.port, 'destination');
}

/**
 * Packetizes `audio` (raw G.711, one byte per sample) into RTP, one packet per
 * ptime, and returns a complete pcap file. The first packet carries the
 * marker bit (start of a talkspurt); a short last frame is padded with silence.
 */
export function buildRtpPcap(audio: Buffer, options: RtpPcapOptions = {}): RtpPcapResult {
  const o: Required<RtpPcapOptions> = { ...DEFAULTS, ...options };
  validate(o);
  if (audio.length === 0) throw new RangeError('no audio samples');

  const samplesPerPacket = (G711_CLOCK_RATE * o.ptimeMs) / 1000;
  const packetCount = Math.ceil(audio.length / samplesPerPacket);
  const udpLength = UDP_HEADER_BYTES + RTP_HEADER_BYTES + samplesPerPacket;
  const ipLength = IPV4_HEADER_BYTES + udpLength;
  const frameLength = ETHERNET_HEADER_BYTES + ipLength;
  const pcap = Buffer.alloc(PCAP_GLOBAL_HEADER_BYTES + packetCount * (PCAP_RECORD_HEADER_BYTES + frameLength));
  const srcIp = parseIpv4(o.source.address);
  const dstIp = parseIpv4(o.destination.address);
  const silence = SILENCE_BYTE[o.payloadType] ?? 0;

  // Global header, little-endian (readers detect byte order from the magic).
  pcap.writeUInt32LE(PCAP_MAGIC, 0);
  pcap.writeUInt16LE(2, 4);
  pcap.writeUInt16LE(4, 6);
  pcap.writeInt32LE(0, 8);
  pcap.writeUInt32LE(0, 12);
  pcap.writeUInt32LE(65535, 16);
  pcap.writeUInt32LE(LINKTYPE_ETHERNET, 20);

  let off = PCAP_GLOBAL_HEADER_BYTES;
  for (let i = 0; i < packetCount; i++) {
    const micros = o.startMicros + i * o.ptimeMs * 1000;
    pcap.writeUInt32LE(Math.floor(micros / 1e6), off);
    pcap.writeUInt32LE(micros % 1e6, off + 4);
    pcap.writeUInt32LE(frameLength, off + 8);
    pcap.writeUInt32LE(frameLength, off + 12);
    off += PCAP_RECORD_HEADER_BYTES;

    // Ethernet: locally administered MACs, EtherType IPv4.
    const eth = off;
    pcap.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01], eth);
    pcap.writeUInt16BE(0x0800, eth + 12);

    const ip = eth + ETHERNET_HEADER_BYTES;
    pcap[ip] = 0x45;
    pcap.writeUInt16BE(ipLength, ip + 2);
    pcap.writeUInt16BE(i & 0xffff, ip + 4);
    pcap.writeUInt16BE(0x4000, ip + 6); // don't fragment
    pcap[ip + 8] = 64;
    pcap[ip + 9] = 17; // UDP
    srcIp.copy(pcap, ip + 12);
    dstIp.copy(pcap, ip + 16);
    pcap.writeUInt16BE(internetChecksum([pcap.subarray(ip, ip + IPV4_HEADER_BYTES)]), ip + 10);

    const udp = ip + IPV4_HEADER_BYTES;
    pcap.writeUInt16BE(o.source.port, udp);
    pcap.writeUInt16BE(o.destination.port, udp + 2);
    pcap.writeUInt16BE(udpLength, udp + 4);

    const rtp = udp + UDP_HEADER_BYTES;
    pcap[rtp] = 0x80;
    pcap[rtp + 1] = (i === 0 ? 0x80 : 0) | o.payloadType;
    pcap.writeUInt16BE((o.firstSequenceNumber + i) & 0xffff, rtp + 2);
    pcap.writeUInt32BE((o.firstTimestamp + i * samplesPerPacket) >>> 0, rtp + 4);
    pcap.writeUInt32BE(o.ssrc >>> 0, rtp + 8);
    const payload = rtp + RTP_HEADER_BYTES;
    const copied = audio.copy(pcap, payload, i * samplesPerPacket, (i + 1) * samplesPerPacket);
    pcap.fill(silence, payload + copied, payload + samplesPerPacket);

    // UDP checksum over the IPv4 pseudo-header; 0 is sent as 0xffff (RFC 768).
    const pseudo = Buffer.alloc(12);
    srcIp.copy(pseudo, 0);
    dstIp.copy(pseudo, 4);
    pseudo[9] = 17;
    pseudo.writeUInt16BE(udpLength, 10);
    const sum = internetChecksum([pseudo, pcap.subarray(udp, udp + udpLength)]);
    pcap.writeUInt16BE(sum === 0 ? 0xffff : sum, udp + 6);

    off += frameLength;
  }
  return { pcap, packetCount, durationMs: packetCount * o.ptimeMs };
}

function parseEndpoint(value: string, flag: string): Endpoint {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(value);
  if (m === null || m[1] === undefined || m[2] === undefined) {
    throw new RangeError(`${flag} wants IPv4:PORT, got ${value}`);
  }
  return { address: m[1], port: Number(m[2]) };
}

function parseInteger(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${flag} wants a non-negative integer, got ${value}`);
  return n;
}

interface CliArgs {
  readonly input: string;
  readonly output: string;
  readonly options: RtpPcapOptions;
}

export function parseCliArgs(argv: readonly string[]): CliArgs {
  let input: string | undefined;
  let output: string | undefined;
  const options: { -readonly [K in keyof RtpPcapOptions]: RtpPcapOptions[K] } = {};
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new RangeError(`missing value after ${flag ?? '(end)'}`);
    switch (flag) {
      case '--in': input = value; break;
      case '--out': output = value; break;
      case '--pt': options.payloadType = parseInteger(value, flag); break;
      case '--ptime': options.ptimeMs = parseInteger(value, flag); break;
      case '--ssrc': options.ssrc = parseInteger(value, flag); break;
      case '--src': options.source = parseEndpoint(value, flag); break;
      case '--dst': options.destination = parseEndpoint(value, flag); break;
      default: throw new RangeError(`unknown option ${flag ?? ''}`);
    }
  }
  if (input === undefined || output === undefined) throw new RangeError('--in FILE and --out FILE are required');
  return { input, output, options };
}

function main(argv: readonly string[]): number {
  try {
    const args = parseCliArgs(argv);
    const { pcap, packetCount, durationMs } = buildRtpPcap(readFileSync(args.input), args.options);
    writeFileSync(args.output, pcap);
    process.stdout.write(`${args.output}: ${packetCount} RTP packets, ${durationMs} ms, ${pcap.length} bytes\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`make-rtp-pcap: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  process.exitCode = main(process.argv.slice(2));
}
