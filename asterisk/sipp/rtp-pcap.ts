/**
 * Reads a libpcap capture (tcpdump -w) and summarizes the RTP flows in it;
 * optionally writes each flow's G.711 audio as a WAV file.
 *
 * SIPp 3.6 cannot write the RTP it receives to a file, so run-load.sh records
 * what the callers hear with tcpdump on their media ports and this script
 * turns the capture into per-call numbers (packets, loss, duration) and
 * listenable audio.
 *
 * CLI (run with `node --import tsx asterisk/sipp/rtp-pcap.ts`):
 *   --in FILE          capture to read
 *   --json FILE        write the flow summary here (default: stdout)
 *   --wav-dir DIR      write one WAV per PCMU/PCMA flow into DIR
 *   --dst-ports A-B    only flows whose destination port is in A..B
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** A malformed or unsupported capture, with a code for callers to branch on. */
export class PcapParseError extends Error {
  readonly code: 'PCAP_TRUNCATED' | 'PCAP_BAD_MAGIC' | 'PCAP_UNSUPPORTED_LINKTYPE';
  constructor(code: PcapParseError['code'], message: string) {
    super(message);
    this.name = 'PcapParseError';
    this.code = code;
  }
}

export interface PcapRecord {
  /** Capture time in µs since the epoch. */
  readonly timeMicros: number;
  /** The captured bytes (a view into the file buffer, not a copy). */
  readonly data: Buffer;
}

export interface Pcap {
  readonly linkType: number;
  readonly records: readonly PcapRecord[];
}

export interface UdpDatagram {
  readonly timeMicros: number;
  readonly src: string;
  readonly srcPort: number;
  readonly dst: string;
  readonly dstPort: number;
  readonly payload: Buffer;
}

export interface RtpFlowSummary {
  readonly src: string;
  readonly dst: string;
  readonly ssrc: number;
  readonly payloadTypes: readonly number[];
  readonly packets: number;
  readonly payloadBytes: number;
  /** Sequence numbers expected between the first and the last one seen (unwrapped). */
  readonly expected: number;
  /** expected − distinct sequence numbers received; never negative. */
  readonly lost: number;
  readonly duplicates: number;
  /** Capture time between the first and the last packet, in ms. */
  readonly spanMs: number;
  /** Audio carried, from RTP timestamps at 8 kHz, in ms. */
  readonly audioMs: number;
}

const LINKTYPE_NULL = 0;
const LINKTYPE_ETHERNET = 1;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_LINUX_SLL2 = 276;

export function readPcap(file: Buffer): Pcap {
  if (file.length < 24) throw new PcapParseError('PCAP_TRUNCATED', `file of ${file.length} bytes has no pcap header`);
  const magicLE = file.readUInt32LE(0);
  let le: boolean;
  let nanos: boolean;
  if (magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d) {
    le = true;
    nanos = magicLE === 0xa1b23c4d;
  } else {
    const magicBE = file.readUInt32BE(0);
    if (magicBE !== 0xa1b2c3d4 && magicBE !== 0xa1b23c4d) {
      throw new PcapParseError('PCAP_BAD_MAGIC', `not a libpcap file (magic 0x${magicLE.toString(16)}; pcapng is not read)`);
    }
    le = false;
    nanos = magicBE === 0xa1b23c4d;
  }
  const u32 = (off: number): number => (le ? file.readUInt32LE(off) : file.readUInt32BE(off));
  const linkType = u32(20) & 0x0fffffff;
  const records: PcapRecord[] = [];
  let off = 24;
  while (off < file.length) {
    if (off + 16 > file.length) throw new PcapParseError('PCAP_TRUNCATED', `record header cut at byte ${off}`);
    const sec = u32(off);
    const frac = u32(off + 4);
    const incl = u32(off + 8);
    const start = off + 16;
    // tcpdump killed mid-write leaves a short last record: keep what is whole.
    if (start + incl > file.length) break;
    records.push({ timeMicros: sec * 1e6 + (nanos ? Math.floor(frac / 1000) : frac), data: file.subarray(start, start + incl) });
    off = start + incl;
  }
  return { linkType, records };
}

/** Offset of the IP header in a frame, or null when the frame is not IPv4. */
function ipv4Offset(linkType: number, frame: Buffer): number | null {
  switch (linkType) {
    case LINKTYPE_ETHERNET: {
      if (frame.length < 14) return null;
      let off = 12;
      let type = frame.readUInt16BE(off);
      if (type === 0x8100 && frame.length >= 18) {
        off += 4;
        type = frame.readUInt16BE(off);
      }
      return type === 0x0800 ? off + 2 : null;
    }
    case LINKTYPE_LINUX_SLL:
      return frame.length >= 16 && frame.readUInt16BE(14) === 0x0800 ? 16 : null;
    case LINKTYPE_LINUX_SLL2:
      return frame.length >= 20 && frame.readUInt16BE(0) === 0x0800 ? 20 : null;
    case LINKTYPE_NULL:
      return frame.length >= 4 && (frame.readUInt32LE(0) === 2 || frame.readUInt32BE(0) === 2) ? 4 : null;
    default:
      throw new PcapParseError('PCAP_UNSUPPORTED_LINKTYPE', `link type ${linkType} is not read`);
  }
}

/** The UDP/IPv4 datagrams of a capture; other frames and fragments are skipped. */
export function udpDatagrams(pcap: Pcap): UdpDatagram[] {
  const out: UdpDatagram[] = [];
  for (const rec of pcap.records) {
    const ip = ipv4Offset(pcap.linkType, rec.data);
    if (ip === null || rec.data.length < ip + 20) continue;
    const f = rec.data;
    const ihl = (f[ip] ?? 0) & 0x0f;
    if (((f[ip] ?? 0) >> 4) !== 4 || ihl < 5 || f[ip + 9] !== 17) continue;
    if ((f.readUInt16BE(ip + 6) & 0x3fff) !== 0) continue; // fragment
    const udp = ip + ihl * 4;
    if (f.length < udp + 8) continue;
    const udpLen = f.readUInt16BE(udp + 4);
    const end = Math.min(f.length, udp + Math.max(8, udpLen));
    out.push({
      timeMicros: rec.timeMicros,
      src: `${f[ip + 12]}.${f[ip + 13]}.${f[ip + 14]}.${f[ip + 15]}`,
      srcPort: f.readUInt16BE(udp),
      dst: `${f[ip + 16]}.${f[ip + 17]}.${f[ip + 18]}.${f[ip + 19]}`,
      dstPort: f.readUInt16BE(udp + 2),
      payload: f.subarray(udp + 8, end),
    });
  }
  return out;
}

interface ParsedRtp {
  readonly payloadType: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly payload: Buffer;
}

/** RTP version 2 with a sane header, excluding RTCP (PT 72..79 with marker). */
export function parseRtp(b: Buffer): ParsedRtp | null {
  if (b.length < 12 || ((b[0] ?? 0) >> 6) !== 2) return null;
  const secondByte = b[1] ?? 0;
  if (secondByte >= 192 && secondByte <= 223) return null; // RTCP SR/RR/SDES/BYE/APP
  const cc = (b[0] ?? 0) & 0x0f;
  let off = 12 + cc * 4;
  if ((b[0] ?? 0) & 0x10) {
    if (b.length < off + 4) return null;
    off += 4 + b.readUInt16BE(off + 2) * 4;
  }
  let end = b.length;
  if ((b[0] ?? 0) & 0x20) end -= b[b.length - 1] ?? 0;
  if (end < off) return null;
  return {
    payloadType: secondByte & 0x7f,
    sequenceNumber: b.readUInt16BE(2),
    timestamp: b.readUInt32BE(4),
    ssrc: b.readUInt32BE(8),
    payload: b.subarray(off, end),
  };
}

interface FlowState {
  readonly src: string;
  readonly dst: string;
  readonly ssrc: number;
  readonly payloadTypes: Set<number>;
  readonly seen: Set<number>;
  readonly audio: Buffer[];
  packets: number;
  payloadBytes: number;
  duplicates: number;
  firstMicros: number;
  lastMicros: number;
  /** Extended (unwrapped) sequence numbers and timestamps. */
  lastSeq: number;
  minSeq: number;
  maxSeq: number;
  lastTs: number;
  minTs: number;
  maxTs: number;
}

/** Unwraps a 16/32-bit counter against the previous extended value. */
function unwrap(value: number, previous: number, modulus: number): number {
  const base = previous - (((previous % modulus) + modulus) % modulus);
  let candidate = base + value;
  if (candidate - previous > modulus / 2) candidate -= modulus;
  else if (previous - candidate > modulus / 2) candidate += modulus;
  return candidate;
}

export interface RtpFlows {
  readonly flows: readonly RtpFlowSummary[];
  /** G.711 payloads of each flow in arrival order, same index as `flows`. */
  readonly audio: readonly Buffer[];
}

export interface FlowFilter {
  readonly dstPortMin?: number;
  readonly dstPortMax?: number;
}

export function rtpFlows(datagrams: readonly UdpDatagram[], filter: FlowFilter = {}): RtpFlows {
  const byKey = new Map<string, FlowState>();
  for (const d of datagrams) {
    if (filter.dstPortMin !== undefined && d.dstPort < filter.dstPortMin) continue;
    if (filter.dstPortMax !== undefined && d.dstPort > filter.dstPortMax) continue;
    const rtp = parseRtp(d.payload);
    if (rtp === null) continue;
    const src = `${d.src}:${d.srcPort}`;
    const dst = `${d.dst}:${d.dstPort}`;
    const key = `${src}>${dst}#${rtp.ssrc}`;
    let f = byKey.get(key);
    if (f === undefined) {
      f = {
        src, dst, ssrc: rtp.ssrc, payloadTypes: new Set(), seen: new Set(), audio: [],
        packets: 0, payloadBytes: 0, duplicates: 0, firstMicros: d.timeMicros, lastMicros: d.timeMicros,
        lastSeq: rtp.sequenceNumber, minSeq: rtp.sequenceNumber, maxSeq: rtp.sequenceNumber,
        lastTs: rtp.timestamp, minTs: rtp.timestamp, maxTs: rtp.timestamp,
      };
      byKey.set(key, f);
    }
    const seq = unwrap(rtp.sequenceNumber, f.lastSeq, 65536);
    const ts = unwrap(rtp.timestamp, f.lastTs, 2 ** 32);
    f.lastSeq = seq;
    f.lastTs = ts;
    if (f.seen.has(seq)) {
      f.duplicates++;
      continue;
    }
    f.seen.add(seq);
    f.packets++;
    f.payloadBytes += rtp.payload.length;
    f.payloadTypes.add(rtp.payloadType);
    f.minSeq = Math.min(f.minSeq, seq);
    f.maxSeq = Math.max(f.maxSeq, seq);
    f.minTs = Math.min(f.minTs, ts);
    f.maxTs = Math.max(f.maxTs, ts + rtp.payload.length);
    f.lastMicros = Math.max(f.lastMicros, d.timeMicros);
    if (rtp.payloadType === 0 || rtp.payloadType === 8) f.audio.push(rtp.payload);
  }
  const states = [...byKey.values()];
  return {
    flows: states.map((f) => {
      const expected = f.maxSeq - f.minSeq + 1;
      return {
        src: f.src,
        dst: f.dst,
        ssrc: f.ssrc,
        payloadTypes: [...f.payloadTypes].sort((a, b) => a - b),
        packets: f.packets,
        payloadBytes: f.payloadBytes,
        expected,
        lost: Math.max(0, expected - f.packets),
        duplicates: f.duplicates,
        spanMs: (f.lastMicros - f.firstMicros) / 1000,
        audioMs: ((f.maxTs - f.minTs) / 8000) * 1000,
      };
    }),
    audio: states.map((f) => Buffer.concat(f.audio)),
  };
}

/** A WAV file holding G.711 as-is (format 7 = µ-law, 6 = A-law), 8 kHz mono. */
export function g711Wav(samples: Buffer, payloadType: 0 | 8): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + samples.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(payloadType === 0 ? 7 : 6, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(8000, 24);
  header.writeUInt32LE(8000, 28);
  header.writeUInt16LE(1, 32);
  header.writeUInt16LE(8, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(samples.length, 40);
  return Buffer.concat([header, samples]);
}

function parsePortRange(value: string): { min: number; max: number } {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(value);
  const min = Number(m?.[1]);
  const max = Number(m?.[2]);
  if (m === null || !(min >= 1 && max <= 65535 && min <= max)) throw new RangeError(`--dst-ports wants A-B, got ${value}`);
  return { min, max };
}

function main(argv: readonly string[]): number {
  try {
    let input: string | undefined;
    let json: string | undefined;
    let wavDir: string | undefined;
    let filter: FlowFilter = {};
    for (let i = 0; i < argv.length; i += 2) {
      const value = argv[i + 1];
      if (value === undefined) throw new RangeError(`missing value after ${argv[i] ?? '(end)'}`);
      if (argv[i] === '--in') input = value;
      else if (argv[i] === '--json') json = value;
      else if (argv[i] === '--wav-dir') wavDir = value;
      else if (argv[i] === '--dst-ports') {
        const r = parsePortRange(value);
        filter = { dstPortMin: r.min, dstPortMax: r.max };
      } else throw new RangeError(`unknown option ${argv[i] ?? ''}`);
    }
    if (input === undefined) throw new RangeError('--in FILE is required');
    const { flows, audio } = rtpFlows(udpDatagrams(readPcap(readFileSync(input))), filter);
    if (wavDir !== undefined) {
      mkdirSync(wavDir, { recursive: true });
      flows.forEach((f, i) => {
        const samples = audio[i];
        const pt = f.payloadTypes[0];
        if (samples === undefined || samples.length === 0 || (pt !== 0 && pt !== 8)) return;
        const name = `${f.src}_to_${f.dst}_${f.ssrc.toString(16)}.wav`.replace(/[:]/g, '-');
        writeFileSync(join(wavDir, name), g711Wav(samples, pt));
      });
    }
    const totals = {
      flows: flows.length,
      packets: flows.reduce((n, f) => n + f.packets, 0),
      lost: flows.reduce((n, f) => n + f.lost, 0),
      expected: flows.reduce((n, f) => n + f.expected, 0),
    };
    const text = `${JSON.stringify({ totals, flows }, null, 2)}\n`;
    if (json === undefined) process.stdout.write(text);
    else writeFileSync(json, text);
    return 0;
  } catch (err) {
    process.stderr.write(`rtp-pcap: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  process.exitCode = main(process.argv.slice(2));
}
