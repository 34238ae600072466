import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { InvalidStateError } from '../../../common/src/errors.js';

/**
 * A relay as a child process: native-bench/build/relay (modes socket, mmsg)
 * or the Node relay (node-relay.ts, modes node and node-batch), which speak
 * the same protocol.
 * It is started, told its legs' peers over stdin, asked for counters, and
 * stopped by closing stdin (it also stops itself after `maxSeconds`, and is
 * killed if it does not answer).
 */
export type RelayMode = 'socket' | 'mmsg' | 'node' | 'node-batch';
const RELAY_MODES = ['socket', 'mmsg', 'node', 'node-batch'] as const satisfies readonly RelayMode[];

export interface RelayOptions {
  /** The program: the C relay, or the Node binary for the Node relay (nodeRelayLaunch()). */
  binary: string;
  /** Arguments before the relay's own: for the Node relay, node's flags and the script. */
  binaryArgs?: readonly string[];
  mode: RelayMode;
  pairs: number;
  threads: number;
  basePort: number;
  /** Hard limit the relay enforces on itself. */
  maxSeconds: number;
  socketBufferBytes?: number;
  bindAddress?: string;
}

const statsSchema = z.object({
  type: z.enum(['stats', 'final']),
  reason: z.string().optional(),
  mode: z.enum(RELAY_MODES),
  pairs: z.number().int(),
  threads: z.number().int(),
  wall_s: z.number(),
  cpu_user_s: z.number(),
  cpu_sys_s: z.number(),
  cpu_s: z.number(),
  rx_packets: z.number().int(),
  tx_packets: z.number().int(),
  tx_errors: z.number().int(),
  tx_no_peer: z.number().int(),
  socket_errors: z.number().int(),
  rx_batches: z.number().int(),
  tx_batches: z.number().int(),
  bad_commands: z.number().int(),
  dropped: z.record(z.string(), z.number().int()),
});
export type RelayStats = z.infer<typeof statsSchema>;

const readySchema = z.object({
  type: z.literal('ready'),
  mode: z.enum(RELAY_MODES),
  address: z.string(),
  pairs: z.number().int(),
  threads: z.number().int(),
  legs: z.array(z.tuple([z.number().int(), z.number().int()])),
});

export interface RelayEndpoint {
  address: string;
  port: number;
}

const STEP_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;

export class RelayProcess {
  readonly legs: ReadonlyArray<{ legA: RelayEndpoint; legB: RelayEndpoint }>;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #waiters: Array<{ resolve: (s: RelayStats) => void; reject: (e: Error) => void }> = [];
  #final: RelayStats | null = null;
  readonly #exit: Promise<void>;
  readonly #stderr: { text: string };
  #closed = false;

  private constructor(
    child: ChildProcessWithoutNullStreams,
    legs: Array<{ legA: RelayEndpoint; legB: RelayEndpoint }>,
    exit: Promise<void>,
    stderr: { text: string },
  ) {
    this.#child = child;
    this.legs = legs;
    this.#exit = exit;
    this.#stderr = stderr;
  }

  /** Spawns the relay and resolves once every socket is bound. */
  static async start(o: RelayOptions): Promise<RelayProcess> {
    const args = [...(o.binaryArgs ?? []), '--mode', o.mode, '--pairs', String(o.pairs), '--threads', String(o.threads), '--base-port', String(o.basePort), '--seconds', String(Math.ceil(o.maxSeconds))];
    if (o.socketBufferBytes !== undefined) args.push('--socket-buffer', String(o.socketBufferBytes));
    if (o.bindAddress !== undefined) args.push('--bind', o.bindAddress);
    const child = spawn(o.binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const exit = new Promise<void>((resolve) => child.once('close', () => resolve()));
    // The relay's last words, for error messages: kept short.
    const stderr = { text: '' };
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (stderr.text = (stderr.text + d).slice(-4000)));
    // Writing to a relay that already exited must not become an uncaught error.
    child.stdin.on('error', () => undefined);
    const lines = createInterface({ input: child.stdout });
    const first = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`relay not ready within ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
      const done = (f: () => void): void => {
        clearTimeout(timer);
        lines.off('line', onLine);
        child.off('close', onClose);
        child.off('error', onError);
        f();
      };
      const onLine = (line: string): void => done(() => resolve(line));
      const onClose = (code: number | null): void => done(() => reject(new Error(`relay exited (code ${code}) before ready: ${stderr.text.trim()}`)));
      const onError = (err: Error): void => done(() => reject(err));
      lines.on('line', onLine);
      child.on('close', onClose);
      child.on('error', onError);
    }).catch((err: unknown) => {
      child.kill('SIGKILL');
      throw err;
    });
    const ready = readySchema.parse(JSON.parse(first));
    const legs = ready.legs.map(([a, b]) => ({ legA: { address: ready.address, port: a }, legB: { address: ready.address, port: b } }));
    const relay = new RelayProcess(child, legs, exit, stderr);
    lines.on('line', (line) => relay.#onLine(line));
    child.once('close', () => relay.#onClose());
    return relay;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Tells the relay where a leg's peer is (Tandem: setRemote). */
  setRemote(pair: number, leg: 'A' | 'B', remote: RelayEndpoint): void {
    this.#assertOpen();
    if (!/^[0-9.]+$/.test(remote.address)) throw new TypeError(`relay peers are IPv4 addresses, got ${remote.address}`);
    this.#child.stdin.write(`remote ${pair} ${leg} ${remote.address} ${remote.port}\n`);
  }

  /** Current counters and CPU time; commands are handled in order, so earlier `setRemote`s are in effect. */
  stats(): Promise<RelayStats> {
    this.#assertOpen();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`relay sent no stats within ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
      this.#waiters.push({
        resolve: (s) => {
          clearTimeout(timer);
          resolve(s);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.#child.stdin.write('stats\n');
    });
  }

  /** Closes stdin and waits for the final counters; kills the relay if it does not leave. Idempotent. */
  async close(): Promise<RelayStats | null> {
    if (!this.#closed) {
      this.#closed = true;
      this.#child.stdin.end();
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), STOP_GRACE_MS)));
      if ((await Promise.race([this.#exit, grace])) === 'timeout') this.#child.kill('SIGKILL');
      clearTimeout(timer);
    }
    await this.#exit;
    return this.#final;
  }

  /** Waits until the relay has exited by itself (e.g. its time limit) and returns its final counters. */
  async exited(): Promise<RelayStats | null> {
    await this.#exit;
    return this.#final;
  }

  #onLine(line: string): void {
    let stats: RelayStats;
    try {
      stats = statsSchema.parse(JSON.parse(line));
    } catch {
      this.#rejectAll(new Error(`relay printed an unexpected line: ${line.slice(0, 200)}`));
      return;
    }
    if (stats.type === 'final') this.#final = stats;
    else this.#waiters.shift()?.resolve(stats);
  }

  #onClose(): void {
    this.#closed = true;
    this.#rejectAll(new Error(`relay exited${this.#stderr.text ? `: ${this.#stderr.text.trim()}` : ''}`));
  }

  #rejectAll(err: Error): void {
    for (const w of this.#waiters.splice(0)) w.reject(err);
  }

  #assertOpen(): void {
    if (this.#closed) throw new InvalidStateError('the relay process is closed');
  }
}
