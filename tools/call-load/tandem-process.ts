import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidStateError, TimeoutError } from '../../common/src/errors.js';

/** The line `tandem start` prints once the node is up (control/src/cli/commands/start.ts). */
const READY_LINE = /^tandem running/;
/** Output lines kept for error messages. */
const TAIL_LINES = 40;

export interface TandemProcessOptions {
  /** Arguments after `start` (engine flags such as --workers, --ports). */
  args: readonly string[];
  /** The child's whole environment: nothing of the driver's leaks in unless listed. */
  env: Readonly<Record<string, string>>;
  /** How long `start` may take to print its ready line. */
  readyTimeoutMs: number;
  /** Options for node itself, before the script (e.g. --cpu-prof). */
  nodeArgs?: readonly string[];
  /** Repository root; found from this module when omitted. */
  root?: string;
}

export interface TandemExit {
  code: number | null;
  signal: string | null;
  /** SIGTERM → exit. */
  stop_ms: number;
  /** It outlived the deadline and was killed with SIGKILL. */
  killed: boolean;
}

/** The directory holding package.json above `from`. */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new InvalidStateError(`no package.json above ${from}`);
    dir = up;
  }
  return dir;
}

/**
 * How a user would run `tandem start`: the build when there is one, else the
 * TypeScript source through tsx. A build older than any source file would
 * measure code that is no longer there, so then the source runs too.
 */
export function tandemStartCommand(root: string): { file: string; args: string[] } {
  const built = join(root, 'dist/control/src/cli/main.js');
  if (existsSync(built) && newestSourceMs(root) <= statSync(built).mtimeMs) return { file: process.execPath, args: [join(root, 'bin/tandem.js'), 'start'] };
  return { file: process.execPath, args: ['--import', 'tsx', join(root, 'control/src/cli/main.ts'), 'start'] };
}

/** The latest modification time of the TypeScript a build is made from. */
function newestSourceMs(root: string): number {
  let newest = 0;
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  walk(join(root, 'control/src'));
  walk(join(root, 'engine/src'));
  return newest;
}

/**
 * `tandem start` as a child process, configured through its environment and
 * command line exactly as a user would. Resolves once it printed its ready
 * line; `stop()` sends SIGTERM and waits for the exit, SIGKILL after a
 * deadline. Its output is drained all along (a full pipe would stall it) and
 * the last lines kept for error messages.
 */
export class TandemProcess {
  readonly pid: number;
  /** The command line, for the report. */
  readonly command: string;
  readonly #child: ChildProcess;
  readonly #tail: string[] = [];
  readonly #exited: Promise<{ code: number | null; signal: string | null }>;
  #exit: { code: number | null; signal: string | null } | null = null;
  #warnings = 0;
  #stopping: Promise<TandemExit> | null = null;

  private constructor(child: ChildProcess, command: string) {
    if (child.pid === undefined) throw new InvalidStateError('the child has no pid');
    this.#child = child;
    this.pid = child.pid;
    this.command = command;
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
  }

  static async start(options: TandemProcessOptions): Promise<TandemProcess> {
    const root = options.root ?? packageRoot();
    const cmd = tandemStartCommand(root);
    const args = [...(options.nodeArgs ?? []), ...cmd.args, ...options.args];
    const child = spawn(cmd.file, args, { cwd: root, env: { ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    // spawn reports a missing executable asynchronously, as 'error' before any pid.
    const spawned = await new Promise<Error | null>((resolve) => {
      child.once('spawn', () => resolve(null));
      child.once('error', resolve);
    });
    if (spawned) throw spawned;
    const proc = new TandemProcess(child, ['node', ...args.map((a) => (a.startsWith(root) ? a.slice(root.length + 1) : a))].join(' '));
    try {
      await proc.#untilReady(options.readyTimeoutMs);
    } catch (err) {
      await proc.stop(2000);
      throw err;
    }
    return proc;
  }

  get exited(): boolean {
    return this.#exit !== null;
  }

  /** Output lines the child logged at warn level or above (pino's level ≥ 40), and stderr lines. */
  get warnings(): number {
    return this.#warnings;
  }

  /** The last lines the child wrote (stdout and stderr interleaved). */
  output(): string {
    return this.#tail.join('\n');
  }

  /** SIGTERM, then waits for the exit; SIGKILL once `deadlineMs` passed. Idempotent. */
  stop(deadlineMs: number): Promise<TandemExit> {
    this.#stopping ??= (async () => {
      const started = Date.now();
      if (this.#exit) return { ...this.#exit, stop_ms: 0, killed: false };
      this.#child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), deadlineMs);
      });
      const first = await Promise.race([this.#exited, late]);
      clearTimeout(timer);
      let killed = false;
      if (first === 'late') {
        killed = true;
        this.#child.kill('SIGKILL');
      }
      const exit = await this.#exited;
      return { ...exit, stop_ms: Date.now() - started, killed };
    })();
    return this.#stopping;
  }

  #untilReady(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      const timer = setTimeout(() => {
        if (ready) return;
        ready = true;
        reject(new TimeoutError(`tandem start printed no ready line within ${timeoutMs} ms:\n${this.output()}`));
      }, timeoutMs);
      const onLine = (line: string, fromStderr: boolean): void => {
        this.#tail.push(line);
        if (this.#tail.length > TAIL_LINES) this.#tail.shift();
        if (fromStderr || /"level":(4|5|6)\d\b/.test(line)) this.#warnings++;
        if (!ready && READY_LINE.test(line)) {
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      };
      lines(this.#child.stdout, (line) => onLine(line, false));
      lines(this.#child.stderr, (line) => onLine(line, true));
      void this.#exited.then((exit) => {
        if (ready) return;
        ready = true;
        clearTimeout(timer);
        reject(new InvalidStateError(`tandem start exited (code ${exit.code}, signal ${exit.signal}) before it was ready:\n${this.output()}`));
      });
    });
  }
}

function lines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (!stream) return;
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    for (const part of parts) if (part.length > 0) onLine(part);
  });
  stream.on('end', () => {
    if (rest.length > 0) onLine(rest);
    rest = '';
  });
}
