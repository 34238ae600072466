import { Option, type Command } from 'commander';
import { ConfigError } from '../../common/src/errors.js';
import { setLogLevel } from '../../common/src/logger.js';
import { ReferenceService } from '../reference-service/reference-service.js';
import { parseInteger } from '../../control/src/cli/commands/engine-options.js';
import { untilSignal } from '../../control/src/cli/commands/signals.js';

interface ReferenceServiceFlags {
  host: string;
  port: number;
  tokenEnv?: string;
  cacheEntries: number;
}

/** The first line on stdout; whoever started the command reads the URL from it. */
export const LISTENING_PREFIX = 'listening ';
/** The last line on stdout, after a signal: the service's counters as JSON. */
export const STATS_PREFIX = 'stats ';

/**
 * `tandem reference-service`: the Tandem protocol's reference service
 * (docs/media-streaming-protocol.md §9) on its own, e.g. as the provider of a
 * translation load run in a process of its own, so its CPU is not counted as
 * the engine's. Prints `listening ws://HOST:PORT/` first; SIGINT/SIGTERM close
 * it, after which it prints `stats {...}` and exits 0.
 */
export function registerReferenceServiceCommand(program: Command): void {
  program
    .command('reference-service')
    .description('run the reference translation service (recognizes nothing; answers each utterance with espeak-ng speech)')
    .addOption(new Option('--host <address>', 'address to listen on').default('127.0.0.1'))
    .addOption(new Option('--port <n>', 'port to listen on (0: any free port)').default(0).argParser(parseInteger))
    .addOption(new Option('--token-env <VAR>', 'require `Authorization: Bearer <token>`, the token read from this environment variable'))
    .addOption(new Option('--cache-entries <n>', 'synthesized answers kept in the LRU cache (0: none)').default(256).argParser(parseInteger))
    .action(async (flags: ReferenceServiceFlags) => {
      let token: string | undefined;
      if (flags.tokenEnv !== undefined) {
        token = process.env[flags.tokenEnv];
        if (token === undefined || token === '') throw new ConfigError('token-env', `environment variable ${flags.tokenEnv} is not set`);
      }
      // Nothing may reach stdout before the URL line; per-session logs stay quiet unless asked for.
      setLogLevel('silent');
      const service = await ReferenceService.start({
        host: flags.host,
        port: flags.port,
        cacheEntries: flags.cacheEntries,
        ...(token !== undefined ? { token } : {}),
      });
      try {
        // Listen for signals before announcing the URL: a caller may stop us the moment it reads it.
        const stopped = untilSignal();
        process.stdout.write(`${LISTENING_PREFIX}${service.url}\n`);
        setLogLevel(process.env['TANDEM_LOG_LEVEL'] ?? 'warn');
        await stopped;
      } finally {
        await service.close();
      }
      process.stdout.write(`${STATS_PREFIX}${JSON.stringify({ ...service.stats(), cpuUsage: process.cpuUsage() })}\n`);
    });
}
