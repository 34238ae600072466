import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { errorMessage } from '../../common/src/errors.js';
import { logger } from '../../common/src/logger.js';

/**
 * A translation service run as a child process for a load run, so its CPU is
 * not counted as the engine's: `tandem reference-service`, or any command
 * that prints `listening ws://HOST:PORT/` as a line on stdout once it accepts
 * connections, stops on SIGTERM and may print `stats {json}` before it exits.
 */
export interface ServiceProcessOptions {
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** How long the child may take to print its URL. Default 20 s. */
  startTimeoutMs?: number;
}

/** The child did not start, or said something we cannot use. */
export class ServiceProcessError extends Error {
  override readonly name = 'ServiceProcessError';
}

const LISTENING = /^listening (wss?:\/\/\S+)\s*$/;
const STATS_PREFIX = 'stats ';
const MAX_PREAMBLE_LINES = 100;
/** Kernel clock ticks per second (USER_HZ): 100 on every Linux ABI Node runs on. */
const USER_HZ = 100;

const log = logger('loadtest.service-process');

export class ServiceProcess {
  readonly url: string;
  /** Lines the child printed before its URL (e.g. `tandem cascade-doubles`' `doubles {json}`). */
  readonly preamble: readonly string[];
  readonly #child: ChildProcessByStdio<null, Readable, null>;
  readonly #exited: Promise<void>;
  #stats: Record<string, unknown> | null = null;
  #stopping: Promise<Record<string, unknown> | null> | null = null;

  private constructor(child: ChildProcessByStdio<null, Readable, null>, url: string, preamble: readonly string[], exited: Promise<void>, onLine: (handler: (line: string) => void) => void) {
    this.#child = child;
    this.url = url;
    this.preamble = preamble;
    this.#exited = exited;
    onLine((line) => {
      if (!line.startsWith(STATS_PREFIX)) return;
      try {
        const parsed: unknown = JSON.parse(line.slice(STATS_PREFIX.length));
        if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) this.#stats = parsed as Record<string, unknown>;
      } catch (err) {
        log.warn({ err: errorMessage(err) }, 'service stats line is not JSON');
      }
    });
  }

  /** Spawns the command and resolves once it printed its URL; kills it and rejects if it exits or takes too long first. */
  static async start(options: ServiceProcessOptions): Promise<ServiceProcess> {
    const child = spawn(options.command, [...options.args], {
      env: options.env ?? process.env,
      // Its logs go to our stderr, never into a report on stdout.
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    let handler: (line: string) => void = () => {};
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        handler(line);
      }
      // A runaway line without a newline must not grow without bound.
      if (pending.length > 1_000_000) pending = '';
    });
    const timeoutMs = options.startTimeoutMs ?? 20_000;
    let timer: NodeJS.Timeout | undefined;
    const preamble: string[] = [];
    try {
      const url = await new Promise<string>((resolve, reject) => {
        handler = (line) => {
          const m = LISTENING.exec(line);
          if (m) resolve(m[1]!);
          else if (preamble.length < MAX_PREAMBLE_LINES) preamble.push(line);
        };
        child.once('error', (err) => reject(new ServiceProcessError(`${options.command}: ${err.message}`)));
        void exited.then(() => reject(new ServiceProcessError(`${options.command} exited (${child.exitCode ?? child.signalCode}) before printing its URL`)));
        timer = setTimeout(() => reject(new ServiceProcessError(`${options.command} printed no URL within ${timeoutMs} ms`)), timeoutMs);
      });
      const service = new ServiceProcess(child, url, preamble, exited, (h) => (handler = h));
      log.info({ url, pid: child.pid }, 'translation service started');
      return service;
    } catch (err) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /**
   * User + system CPU of the process so far, with its exited children's (the
   * reference service's espeak-ng and sox runs): ms, clock-tick resolution;
   * null once it is gone or without /proc.
   */
  cpuMs(): number | null {
    const pid = this.#child.pid;
    if (pid === undefined) return null;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // The command name is in parentheses and may hold spaces: fields count from the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // stat(5) fields 14–17 (utime, stime, cutime, cstime) are the 12th to 15th after the name.
      const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
      return Number.isFinite(ticks) ? (ticks * 1000) / USER_HZ : null;
    } catch {
      return null;
    }
  }

  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves to the child's last `stats` line (null if none). Idempotent. */
  stop(timeoutMs = 5000): Promise<Record<string, unknown> | null> {
    this.#stopping ??= (async () => {
      const child = this.#child;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => {
          log.warn({ pid: child.pid }, 'translation service ignored SIGTERM; killing it');
          child.kill('SIGKILL');
        }, timeoutMs);
        await this.#exited;
        clearTimeout(timer);
      }
      await this.#exited;
      return this.#stats;
    })();
    return this.#stopping;
  }
}
