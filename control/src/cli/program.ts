import { Command, CommanderError } from 'commander';
import { registerCallsCommand } from './commands/calls.js';
import { registerEngineCommand } from './commands/engine.js';
import { registerExtensionsCommand } from './commands/extensions.js';
import { registerMigrateCommand } from './commands/migrate.js';
import { registerPairsCommand } from './commands/pairs.js';
import { registerProvisionPairsCommand } from './commands/provision-pairs.js';
import { registerStartCommand } from './commands/start.js';
import { registerSyncExtensionsCommand } from './commands/sync-extensions.js';
import { registerTranscriptsCommand } from './commands/transcripts.js';
import { registerVerifyConfigCommand } from './commands/verify-config.js';

/**
 * `tandem` — one binary for the media node's commands. Each command lives in
 * its own module under commands/ and registers itself here.
 */
/** A command the tools add (loadtest, demo, reference-service); the product knows none of them. */
export type ToolCommand = (program: Command) => void;

export function buildProgram(tools: readonly ToolCommand[] = []): Command {
  const program = new Command()
    .name('tandem')
    .description('RTP media engine and control plane behind Asterisk: every call becomes an isolated two-leg session.')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerStartCommand(program);
  registerEngineCommand(program);
  registerPairsCommand(program);
  registerMigrateCommand(program);
  registerExtensionsCommand(program);
  registerSyncExtensionsCommand(program);
  registerProvisionPairsCommand(program);
  registerVerifyConfigCommand(program);
  registerTranscriptsCommand(program);
  registerCallsCommand(program);
  for (const register of tools) register(program);
  return program;
}

export async function runCli(argv: string[], tools: readonly ToolCommand[] = []): Promise<void> {
  const program = buildProgram(tools);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(`tandem: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
