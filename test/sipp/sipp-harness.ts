import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SIPP_DIR = join(REPO, 'asterisk/sipp');
export const FIXTURES = join(REPO, 'test/sipp/fixtures');

/** Throws a readable error when a tool the tests drive is not installed. */
export function requireTool(tool: string, hint: string): void {
  const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
  if (found.status !== 0) throw new Error(`'${tool}' is not installed: ${hint}`);
}

export function requireSipp(): void {
  requireTool('sipp', 'these tests run SIPp scenarios; install it with `apt-get install sip-tester`');
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunningProcess {
  readonly child: ChildProcess;
  /** Settles when the process exits (killed by the timer after `killAfterMs` at the latest). */
  readonly done: Promise<RunResult>;
  stop(): void;
}

/**
 * Spawns a process with a kill timer, so a test never waits on a stuck SIPp.
 * stdout/stderr are kept in memory (SIPp's screens are a few KB).
 */
export function start(command: string, args: readonly string[], cwd: string, killAfterMs: number): RunningProcess {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  const done = new Promise<RunResult>((resolveDone) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolveDone({ code, signal, stdout, stderr });
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      resolveDone({ code: null, signal: null, stdout, stderr: `${stderr}\nspawn error: ${err.message}` });
    });
  });
  return {
    child,
    done,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}

export function run(command: string, args: readonly string[], cwd: string, killAfterMs: number): Promise<RunResult> {
  return start(command, args, cwd, killAfterMs).done;
}

/** A scratch directory holding copies of the named scenario files (SIPp writes its traces next to them). */
export function workDir(files: readonly string[]): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-sipp-'));
  for (const f of files) copyFileSync(f, join(dir, f.split('/').pop() ?? f));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Waits until `predicate` holds for the accumulated stderr of a process, or the deadline passes. */
export async function waitForOutput(proc: RunningProcess, predicate: (text: string) => boolean, timeoutMs: number): Promise<boolean> {
  let text = '';
  const onData = (d: Buffer | string): void => { text += d.toString(); };
  proc.child.stderr?.on('data', onData);
  proc.child.stdout?.on('data', onData);
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      if (predicate(text)) return true;
      if (proc.child.exitCode !== null) return predicate(text);
      await new Promise((r) => setTimeout(r, 50));
    }
    return predicate(text);
  } finally {
    proc.child.stderr?.off('data', onData);
    proc.child.stdout?.off('data', onData);
  }
}

/** SIPp exit codes: 0 all calls succeeded, 1 some failed, 97 exit on internal command/timeout, 99 no call, 255/254 fatal. */
export function explain(result: RunResult): string {
  return `exit ${String(result.code)} signal ${String(result.signal)}\n--- stderr ---\n${result.stderr.slice(-3000)}\n--- stdout (tail) ---\n${result.stdout.slice(-1500)}`;
}

/** Text that SIPp prints when it cannot load a scenario or one of its references. */
export const SCENARIO_ERROR = /Unable to|Unsupported|unknown|referenced \d+ times|Invalid|not defined|XML|syntax|Can't|error in|Error:/i;
