import { Command, CommanderError } from 'commander';
import { registerCallsCommand } from './commands/calls.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerEngineCommand } from './commands/engine.js';
import { registerExtensionsCommand } from './commands/extensions.js';
import { registerLoadtestCommand } from './commands/loadtest.js';
import { registerMigrateCommand } from './commands/migrate.js';
import { registerPairsCommand } from './commands/pairs.js';
import { registerProvisionPairsCommand } from './commands/provision-pairs.js';
import { registerReferenceServiceCommand } from './commands/reference-service.js';
import { registerStartCommand } from './commands/start.js';
import { registerSyncExtensionsCommand } from './commands/sync-extensions.js';
import { registerTranscriptsCommand } from './commands/transcripts.js';
import { registerVerifyConfigCommand } from './commands/verify-config.js';

/**
 * `tandem` — one binary for the media node's commands. Each command lives in
 * its own module under commands/ and registers itself here.
 */
export function buildProgram(): Command {
  const program = new Command()
    .name('tandem')
    .description('RTP media engine and control plane behind Asterisk: every call becomes an isolated two-leg session.')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerStartCommand(program);
  registerEngineCommand(program);
  registerDemoCommand(program);
  registerLoadtestCommand(program);
  registerPairsCommand(program);
  registerMigrateCommand(program);
  registerExtensionsCommand(program);
  registerSyncExtensionsCommand(program);
  registerProvisionPairsCommand(program);
  registerVerifyConfigCommand(program);
  registerTranscriptsCommand(program);
  registerCallsCommand(program);
  registerReferenceServiceCommand(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
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

await main(process.argv);
