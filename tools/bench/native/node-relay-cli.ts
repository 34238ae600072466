import { isIPv4 } from 'node:net';
import { RELAY_DROP_REASONS, type LegSide, type RelayCounters } from './node-relay-protocol.js';

/**
 * The Node relay's text interface, copied from native-bench/relay.c so that
 * RelayProcess drives both alike: the command line, the stdin commands and
 * the JSON lines on stdout (same fields, same order, same messages).
 */
export const NODE_RELAY_MODE = 'node';
/** The same relay on one batch datagram port per thread (relay.c's mmsg shape): `--io native|dgram`, `--batch N`. */
export const NODE_BATCH_RELAY_MODE = 'node-batch';
const MAX_PAIRS = 30_000;
const MAX_THREADS = 64;

export interface NodeRelayArgs {
  pairs: number;
  threads: number;
  basePort: number;
  seconds: number;
  bindAddress: string;
  socketBufferBytes: number;
  ignoreStdin: boolean;
  /** Set in mode node-batch only: the port implementation and the datagrams per call. */
  batch?: { io: 'native' | 'dgram'; size: number };
}

/** A command line the relay refuses: print `message` on stderr and exit with `exitCode` (2, as relay.c). */
export class RelayUsageError extends Error {
  override readonly name = 'RelayUsageError';
  readonly exitCode = 2;
}

export const USAGE =
  'usage: node-relay [--mode node] [--pairs N] [--threads N] [--base-port P] [--seconds S]\n' +
  '                  [--bind IPV4] [--socket-buffer BYTES] [--ignore-stdin]\n' +
  '       node-relay --mode node-batch [--io native|dgram] [--batch N] [the options above]';

function integer(name: string, value: string, min: number, max: number): number {
  const n = /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new RelayUsageError(`relay: ${name} must be an integer in ${min}..${max}, got '${value}'`);
  return n;
}

/**
 * relay.c's parse_args with the modes `node` (a socket per leg; no `--batch`,
 * dgram has no batches) and `node-batch` (a batch port per thread, with
 * `--io` and `--batch`).
 */
export function parseRelayArgs(argv: readonly string[]): NodeRelayArgs {
  const args: NodeRelayArgs = { pairs: 1, threads: 1, basePort: 20_000, seconds: 60, bindAddress: '127.0.0.1', socketBufferBytes: 2 * 1024 * 1024, ignoreStdin: false };
  let mode: string = NODE_RELAY_MODE;
  let io: 'native' | 'dgram' | null = null;
  let batch: number | null = null;
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i] as string;
    if (name === '--ignore-stdin') {
      args.ignoreStdin = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new RelayUsageError(USAGE);
    switch (name) {
      case '--mode':
        if (value !== NODE_RELAY_MODE && value !== NODE_BATCH_RELAY_MODE) throw new RelayUsageError(USAGE);
        mode = value;
        break;
      case '--io':
        if (value !== 'native' && value !== 'dgram') throw new RelayUsageError(USAGE);
        io = value;
        break;
      case '--batch':
        batch = integer(name, value, 1, 1024);
        break;
      case '--pairs':
        args.pairs = integer(name, value, 1, MAX_PAIRS);
        break;
      case '--threads':
        args.threads = integer(name, value, 1, MAX_THREADS);
        break;
      case '--base-port':
        // 0: every socket gets a kernel-chosen port (tests); the ready line says which.
        args.basePort = integer(name, value, 0, 65_535);
        if (args.basePort > 0 && args.basePort < 1024) throw new RelayUsageError('relay: --base-port must be 0 or at least 1024');
        break;
      case '--seconds':
        args.seconds = integer(name, value, 1, 86_400);
        break;
      case '--bind':
        if (!isIPv4(value)) throw new RelayUsageError(`relay: --bind ${value} is not an IPv4 address`);
        args.bindAddress = value;
        break;
      case '--socket-buffer':
        args.socketBufferBytes = integer(name, value, 4096, 2 ** 30);
        break;
      default:
        throw new RelayUsageError(USAGE);
    }
  }
  if (mode === NODE_BATCH_RELAY_MODE) args.batch = { io: io ?? 'native', size: batch ?? 64 };
  else if (io !== null || batch !== null) throw new RelayUsageError(USAGE);
  args.threads = Math.min(args.threads, args.pairs);
  if (args.basePort + 2 * args.pairs - 1 > 65_535) throw new RelayUsageError(`relay: ${2 * args.pairs} ports from ${args.basePort} run past 65535`);
  return args;
}

export type RelayCommand =
  | { type: 'none' }
  | { type: 'stats' }
  | { type: 'remote'; pair: number; side: LegSide; address: string; port: number }
  | { type: 'bad'; line: string };

const REMOTE = /^remote (\d+) ([AB]) (\S+) (\d+)$/;

/** One stdin line: `stats`, `remote PAIR A|B IPV4 PORT`, blank (ignored) or anything else (a bad command). */
export function parseRelayCommand(rawLine: string, pairs: number): RelayCommand {
  const line = rawLine.replace(/\r$/, '');
  if (line === '') return { type: 'none' };
  if (line === 'stats') return { type: 'stats' };
  const m = REMOTE.exec(line);
  if (m !== null) {
    const pair = Number(m[1]);
    const port = Number(m[4]);
    const address = m[3] as string;
    if (pair < pairs && port > 0 && port < 65_536 && isIPv4(address)) return { type: 'remote', pair, side: m[2] as LegSide, address, port };
  }
  return { type: 'bad', line };
}

export function readyLine(args: NodeRelayArgs, legs: ReadonlyArray<readonly [number, number]>): string {
  return JSON.stringify({ type: 'ready', mode: relayMode(args), address: args.bindAddress, pairs: args.pairs, threads: args.threads, legs });
}

export interface RelaySample {
  wallS: number;
  cpu: NodeJS.CpuUsage;
  counters: RelayCounters;
  /** Commands refused by the main thread (unparseable); the threads' refused peers are added. */
  badCommands: number;
}

function relayMode(args: NodeRelayArgs): string {
  return args.batch === undefined ? NODE_RELAY_MODE : NODE_BATCH_RELAY_MODE;
}

/** A `stats` or `final` line with relay.c's fields in relay.c's order (batches: 0 in mode node). */
export function statsLine(type: 'stats' | 'final', reason: string | null, args: NodeRelayArgs, s: RelaySample): string {
  const user = s.cpu.user / 1e6;
  const sys = s.cpu.system / 1e6;
  const c = s.counters;
  const dropped = Object.fromEntries(RELAY_DROP_REASONS.map((r) => [r, c.dropped[r]]));
  return JSON.stringify({
    type,
    ...(reason === null ? {} : { reason }),
    mode: relayMode(args),
    pairs: args.pairs,
    threads: args.threads,
    wall_s: s.wallS,
    cpu_user_s: user,
    cpu_sys_s: sys,
    cpu_s: user + sys,
    rx_packets: c.rx_packets,
    tx_packets: c.tx_packets,
    tx_errors: c.tx_errors,
    tx_no_peer: c.tx_no_peer,
    socket_errors: c.socket_errors,
    rx_batches: c.rx_batches,
    tx_batches: c.tx_batches,
    bad_commands: s.badCommands + c.refused_peers,
    dropped,
  });
}
