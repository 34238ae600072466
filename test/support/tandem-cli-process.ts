import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './rtp-peer.js';

const cli = fileURLToPath(new URL('../../tools/cli/main.ts', import.meta.url));

/** A `tandem <command>` in its own process, everything it writes collected in `output()`. */
export interface TandemCliProcess {
  child: ChildProcess;
  output: () => string;
  /** The exit code (null when ended by a signal). */
  exited: Promise<number | null>;
  /** Resolves once the output contains `text`; rejects with the output if the process exits first. */
  says: (text: string) => Promise<void>;
  kill: (signal: NodeJS.Signals) => void;
}

export function tandemCli(args: string[], env: NodeJS.ProcessEnv): TandemCliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
    env: { ...process.env, TANDEM_LOG_LEVEL: 'info', REDIS_URL: '', DATABASE_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  return {
    child,
    output: () => out,
    exited,
    // The deadline only ends a stuck test: starting tsx and the engine takes a while on a busy machine.
    says: async (text) => {
      await waitFor(() => out.includes(text) || gone, 120_000, 50);
      if (!out.includes(text)) throw new Error(`tandem ${args[0] ?? ''} exited before saying ${JSON.stringify(text)}:\n${out}`);
    },
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}
