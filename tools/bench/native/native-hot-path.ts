import { execFile } from 'node:child_process';
import { z } from 'zod';
import type { NativePaths } from './native-build.js';

/**
 * Runs native-bench/build/hot_path in its three modes and parses what it
 * prints into typed values (a malformed answer is an error, never a guess).
 */
const RUN_TIMEOUT_MS = 60_000;

const benchSchema = z.object({
  results: z.array(
    z.object({
      name: z.string(),
      ns_per_op: z.number().positive(),
      ns_per_op_mean: z.number().positive(),
      ns_per_op_min: z.number().positive(),
      batches: z.number().int().positive(),
      iterations_per_batch: z.number().int().positive(),
    }),
  ),
});
export type NativeBenchResult = z.infer<typeof benchSchema>['results'][number];

const codecSchema = z.object({
  ulaw_decode: z.array(z.number().int()).length(256),
  alaw_decode: z.array(z.number().int()).length(256),
  ulaw_encode_hex: z.string().regex(/^[0-9a-f]{131072}$/),
  alaw_encode_hex: z.string().regex(/^[0-9a-f]{131072}$/),
  checksum: z.number().int().nonnegative(),
});

/** The C G.711 tables: decoders per code, encoders per int16 input (index = sample + 32768). */
export interface NativeCodecDump {
  ulawDecode: Int16Array;
  alawDecode: Int16Array;
  ulawEncode: Uint8Array;
  alawEncode: Uint8Array;
  checksum: number;
}

function run(binary: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(binary, args, { timeout: RUN_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${binary} ${args.join(' ')} failed: ${err.message}${stderr ? `: ${stderr.trim()}` : ''}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Median-of-batches ns/op for each operation, measured for about `ms` each. */
export async function runNativeHotPath(paths: NativePaths, ms = 300): Promise<NativeBenchResult[]> {
  const out = await run(paths.hotPath, ['bench', '--ms', String(Math.round(ms))]);
  return benchSchema.parse(JSON.parse(out)).results;
}

export async function runNativeCodecDump(paths: NativePaths): Promise<NativeCodecDump> {
  const dump = codecSchema.parse(JSON.parse(await run(paths.hotPath, ['codec'])));
  return {
    ulawDecode: Int16Array.from(dump.ulaw_decode),
    alawDecode: Int16Array.from(dump.alaw_decode),
    ulawEncode: Uint8Array.from(Buffer.from(dump.ulaw_encode_hex, 'hex')),
    alawEncode: Uint8Array.from(Buffer.from(dump.alaw_encode_hex, 'hex')),
    checksum: dump.checksum,
  };
}

/**
 * FNV-1a over the same bytes the C `codec` mode hashes: both decode tables as
 * little-endian int16, then both encoders over every int16 input.
 */
export function codecChecksum(dump: Omit<NativeCodecDump, 'checksum'>): number {
  let h = 0x811c9dc5;
  const feed = (bytes: Uint8Array): void => {
    for (const b of bytes) h = Math.imul(h ^ b, 16777619) >>> 0;
  };
  const le = (table: Int16Array): Uint8Array => {
    const out = new Uint8Array(table.length * 2);
    const view = new DataView(out.buffer);
    table.forEach((v, i) => view.setInt16(2 * i, v, true));
    return out;
  };
  feed(le(dump.ulawDecode));
  feed(le(dump.alawDecode));
  feed(dump.ulawEncode);
  feed(dump.alawEncode);
  return h;
}

/** What the C parser says about one datagram: the error code, or the fields it read. */
export type NativeParseResult =
  | { ok: true; payloadType: number; sequenceNumber: number; timestamp: number; ssrc: number; payloadOffset: number; payloadLength: number; paddingLength: number }
  | { ok: false; code: string };

/** Parses each datagram with the C parser (one process for the whole list). */
export async function runNativeParse(paths: NativePaths, datagrams: readonly Uint8Array[]): Promise<NativeParseResult[]> {
  const input = datagrams.map((d) => Buffer.from(d).toString('hex')).join('\n') + '\n';
  const lines = (await run(paths.hotPath, ['parse'], input)).trimEnd().split('\n');
  if (lines.length !== datagrams.length) throw new Error(`hot_path parse answered ${lines.length} lines for ${datagrams.length} datagrams`);
  return lines.map((line): NativeParseResult => {
    const f = line.split(' ');
    if (f[0] !== 'OK') return { ok: false, code: line };
    const n = f.slice(1).map(Number);
    if (n.length !== 7 || n.some((x) => !Number.isInteger(x))) throw new Error(`hot_path parse printed a malformed line: ${line}`);
    const [payloadType, sequenceNumber, timestamp, ssrc, payloadOffset, payloadLength, paddingLength] = n as [number, number, number, number, number, number, number];
    return { ok: true, payloadType, sequenceNumber, timestamp, ssrc, payloadOffset, payloadLength, paddingLength };
  });
}
