/**
 * Runs tandem CLI commands in-process, as `tandem <args>` would, with what they
 * write to stdout/stderr captured instead of printed and the exit code they
 * set (or exited with) returned.
 */
import { Command } from 'commander';
import { vi } from 'vitest';

export interface CliRun {
  out: string;
  err: string;
  code: number;
}

/** A program with the commands `register` adds, run on `args`. */
export async function runCli(register: (program: Command) => void, args: string[]): Promise<CliRun> {
  const program = new Command().name('tandem').exitOverride();
  program.configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  register(program);
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err += String(s);
    return true;
  });
  process.exitCode = undefined;
  let code = 0;
  try {
    await program.parseAsync(['node', 'tandem', ...args]);
    code = Number(process.exitCode ?? 0);
  } catch (x) {
    code = (x as { exitCode?: number }).exitCode ?? 99;
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.exitCode = undefined;
  }
  return { out, err, code };
}
