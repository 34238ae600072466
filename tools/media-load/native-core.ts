import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { ensureLoadgenBuild } from '../bench/native/native-build.js';
import { errorMessage } from '../../common/src/errors.js';
import { TypedEmitter } from '../../common/src/typed-emitter.js';
import { fromCoreSchema, parseMessage, type FromCore, type GeneratorPairSpec, type ToCore } from './generator-protocol.js';
import type { SchedTimes } from './system-counters.js';

/**
 * A generator core as a C process (native-bench/loadgen.c) instead of a
 * worker thread: the same job as GeneratorCore (paced tagged sends, receive,
 * latency/pacing histograms, windows, impairment) at a fraction of the CPU, so
 * the generator stops competing with the engine it measures. It speaks the
 * worker's messages (ToCore in, FromCore out, parsed with the same zod
 * schemas), so GeneratorProcess, the merge and the report do not change.
 * One difference, on purpose: arrival times are the kernel's receive
 * timestamps (SO_TIMESTAMPNS), so the core reads its sockets once per 1 ms
 * tick instead of waking per datagram, and its own scheduling delays do not
 * count as the engine's latency or pacing jitter.
 *
 * Protocol. stdin: one command per line, ASCII, fields separated by spaces,
 * every line at most 4096 bytes:
 *   setup CODEC CAPACITY_PAIRS SOCKET_BUFFER_BYTES JITTER_MS LOSS_PCT REORDER_PCT AUDIO_PATH [TAG_FRAMES]
 *                                   once; AUDIO_PATH holds the payload bytes (whole frames in CODEC);
 *                                   TAG_FRAMES 0: no frame tags (a conversation), default 1
 *   pair INDEX IPV4_A PORT_A IPV4_B PORT_B [START_FRAME_A START_FRAME_B]
 *                                   queues a pair for the next open/add; the legs start at those audio
 *                                   frames (a conversation), default spread by stream id
 * The result carries streamFrames, [global stream id, frames scheduled] per stream.
 *   open                            opens the queued pairs → {"type":"ready","ports":[…]}
 *   add                             opens the queued pairs while running → {"type":"pairsAdded",…}
 *   start START_NS WARMUP_MS MEASURE_MS DRAIN_MS
 *                                   START_NS on CLOCK_MONOTONIC (process.hrtime.bigint()'s clock)
 *   finish | progress | close       endMeasurement() | {"type":"progress",…} | exit 0
 * stdout: one JSON FromCore message per line; the result comes by itself
 * after the drain. A malformed command is answered with {"type":"error",…}
 * and otherwise ignored. stderr: diagnostics for humans.
 *
 * The process stops by itself when stdin closes, on `close`, at the end of
 * the schedule plus a margin (default 60 s), or when no `start` came within
 * the idle limit (default 600 s).
 */
export type GeneratorCoreKind = 'native' | 'node';

/** Set in the generator's environment to choose its cores; unset: native when it can be built, else node. */
export const GENERATOR_CORE_ENV = 'TANDEM_LOADTEST_GENERATOR_CORE';

/** What GeneratorProcess needs of a core: a worker thread (Worker) and a NativeCore both fit. */
export interface CoreWorker {
  postMessage(message: ToCore): void;
  on(event: 'message', listener: (raw: unknown) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'exit', listener: (code: number) => void): this;
  terminate(): Promise<unknown>;
  /** Run and run-queue wait time of the core's own process; absent for a thread of ours. */
  schedTimes?(): SchedTimes | null;
}

export interface NativeCoreOptions {
  /** Seconds the process stays after the schedule's end (or after its result) without a `close`. Default 60. */
  marginSeconds?: number;
  /** Seconds the process waits for `start` after launch. Default 600. */
  idleSeconds?: number;
}

type NativeCoreEvents = {
  message: [FromCore];
  error: [Error];
  exit: [number];
};

const TERMINATE_GRACE_MS = 2000;

function line(fields: ReadonlyArray<string | number | bigint>): string {
  return `${fields.join(' ')}\n`;
}

function pairLine(pair: GeneratorPairSpec): string {
  for (const leg of [pair.legA, pair.legB]) {
    // The C side takes dotted IPv4 only, and a space would split the field.
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(leg.address)) throw new TypeError(`the native core needs IPv4 addresses, got ${JSON.stringify(leg.address)}`);
  }
  return line(['pair', pair.index, pair.legA.address, pair.legA.port, pair.legB.address, pair.legB.port, ...(pair.startFrames ?? [])]);
}

export class NativeCore extends TypedEmitter<NativeCoreEvents> implements CoreWorker {
  readonly #child: ChildProcessByStdio<Writable, Readable, null>;
  readonly #exited: Promise<number>;
  #exitCode: number | null = null;
  #audioDir: string | null = null;
  #terminating: Promise<number> | null = null;

  constructor(binary: string, options: NativeCoreOptions = {}) {
    super();
    const args = ['--margin-s', String(options.marginSeconds ?? 60), '--idle-s', String(options.idleSeconds ?? 600)];
    this.#child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    // A write after the process died fails with EPIPE: the exit event reports that, not this.
    this.#child.stdin.on('error', () => undefined);
    this.#exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.#exitCode = code ?? (signal !== null ? 128 : 1);
        this.#removeAudio();
        resolve(this.#exitCode);
        this.safeEmit('exit', this.#exitCode);
      });
    });
    this.#child.on('error', (err) => {
      this.#removeAudio();
      this.safeEmit('error', err);
    });
    createInterface({ input: this.#child.stdout, crlfDelay: Infinity }).on('line', (text) => this.#onLine(text));
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** The exit code once the process has exited, else null. */
  get exitCode(): number | null {
    return this.#exitCode;
  }

  postMessage(message: ToCore): void {
    if (this.#exitCode !== null || this.#terminating !== null) return;
    let text: string;
    try {
      text = this.#encode(message);
    } catch (err) {
      // Reported like a core's own error, so the caller's single error path handles it.
      queueMicrotask(() => this.safeEmit('message', { type: 'error', message: errorMessage(err) }));
      return;
    }
    this.#child.stdin.write(text);
  }

  /**
   * Closes stdin (the process exits by itself), then kills it if it has not
   * gone within a grace period. Resolves with its exit code. Idempotent.
   */
  terminate(): Promise<number> {
    this.#terminating ??= (async () => {
      if (this.#exitCode !== null) return this.#exitCode;
      this.#child.stdin.end();
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), TERMINATE_GRACE_MS)));
      const code = await Promise.race([this.#exited, grace]);
      clearTimeout(timer);
      if (code !== null) return code;
      this.#child.kill('SIGKILL');
      return await this.#exited;
    })();
    return this.#terminating;
  }

  /** Alias of terminate(), for the usual lifecycle name. */
  close(): Promise<number> {
    return this.terminate();
  }

  /** The process's run and run-queue wait time (it is single-threaded), or null once gone or without /proc. */
  schedTimes(): SchedTimes | null {
    const pid = this.#child.pid;
    if (pid === undefined || this.#exitCode !== null) return null;
    try {
      const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
      if (run === undefined || wait === undefined || !Number.isFinite(run) || !Number.isFinite(wait)) return null;
      return { runNs: run, waitNs: wait };
    } catch {
      return null;
    }
  }

  #encode(message: ToCore): string {
    switch (message.type) {
      case 'setup': {
        const { jitterMs, lossPct, reorderPct } = message.impairment;
        const audioPath = this.#writeAudio(message.audio);
        return (
          line(['setup', message.codec, message.capacityPairs, message.socketBufferBytes, jitterMs, lossPct, reorderPct, audioPath, ...(message.tagFrames === false ? [0] : [])]) +
          message.pairs.map(pairLine).join('') +
          'open\n'
        );
      }
      case 'addPairs':
        return message.pairs.map(pairLine).join('') + 'add\n';
      case 'start': {
        // The shared timeline (timeOrigin + now) to CLOCK_MONOTONIC, read at one instant: hrtime is that clock.
        const aheadMs = message.startAtEpochMs - (performance.timeOrigin + performance.now());
        const startNs = process.hrtime.bigint() + BigInt(Math.round(aheadMs * 1e6));
        const { warmupMs, measureMs, drainMs } = message.schedule;
        return line(['start', startNs > 0n ? startNs : 0n, warmupMs, measureMs, drainMs]);
      }
      case 'finish':
      case 'progress':
      case 'close':
        return `${message.type}\n`;
    }
  }

  #writeAudio(audio: Uint8Array): string {
    this.#removeAudio();
    const dir = mkdtempSync(join(tmpdir(), 'tandem-loadgen-'));
    this.#audioDir = dir;
    const path = join(dir, 'audio.bin');
    if (/\s/.test(path)) throw new TypeError(`the temporary audio path must not contain spaces: ${path}`);
    writeFileSync(path, audio);
    return path;
  }

  #removeAudio(): void {
    if (this.#audioDir === null) return;
    rmSync(this.#audioDir, { recursive: true, force: true });
    this.#audioDir = null;
  }

  #onLine(text: string): void {
    if (text === '') return;
    let message: FromCore;
    try {
      message = parseMessage(fromCoreSchema, JSON.parse(text) as unknown, 'native core');
    } catch (err) {
      message = { type: 'error', message: `native core sent an unreadable line (${errorMessage(err)}): ${text.slice(0, 120)}` };
    }
    // The payload was read at setup: the copy on disk is not needed any more.
    if (message.type === 'ready' || message.type === 'error') this.#removeAudio();
    this.safeEmit('message', message);
  }
}

/**
 * The native core's binary, built from native-bench/ with the system compiler
 * when missing or stale (a second or two); rejects when it cannot be built.
 */
export function nativeCoreBinary(): Promise<string> {
  return ensureLoadgenBuild();
}

/** The core kind asked for in the environment, or undefined (choose by availability). */
export function requestedCoreKind(env: NodeJS.ProcessEnv = process.env): GeneratorCoreKind | undefined {
  const value = env[GENERATOR_CORE_ENV];
  if (value === undefined || value === '') return undefined;
  if (value === 'native' || value === 'node') return value;
  throw new TypeError(`${GENERATOR_CORE_ENV} must be 'native' or 'node', got ${JSON.stringify(value)}`);
}

/** Each core's own process times (null for a thread core, whose CPU process.cpuUsage() already counts). */
export function coreProcessTimes(cores: readonly CoreWorker[]): Array<SchedTimes | null> {
  return cores.map((core) => core.schedTimes?.() ?? null);
}

/** Run and wait time the core processes added between two coreProcessTimes() readings. */
export function coreProcessDelta(start: ReadonlyArray<SchedTimes | null>, end: ReadonlyArray<SchedTimes | null>): SchedTimes {
  let runNs = 0;
  let waitNs = 0;
  start.forEach((s, i) => {
    const e = end[i];
    if (s === null || e === null || e === undefined) return;
    runNs += e.runNs - s.runNs;
    waitNs += e.waitNs - s.waitNs;
  });
  return { runNs, waitNs };
}
