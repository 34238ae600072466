import { Option, type Command } from 'commander';
import { setLogLevel } from '../../common/src/logger.js';
import { runProductDemo } from '../demo/product-demo.js';
import { parseInteger } from '../../control/src/cli/commands/engine-options.js';

/**
 * `tandem demo` (what `npm start` runs): the product, not a packet count —
 * Tandem behind the Asterisk simulator with a few translated calls of
 * espeak-ng speech, and the console's address to watch them. The packet
 * demonstration is `tandem loadtest`.
 */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Tandem with a few translated calls behind a simulated Asterisk, and the console to watch them; runs until Ctrl-C')
    .addOption(new Option('--calls <n>', 'calls up at once').default(3).argParser(parseInteger))
    .addOption(new Option('--seconds <n>', 'stop after this many seconds (default: until Ctrl-C)').argParser(parseInteger))
    .addOption(new Option('--port <n>', 'port of the console and API on 127.0.0.1 (default: any free port)').argParser(parseInteger))
    .action(async (flags: { calls: number; seconds?: number; port?: number }) => {
      // The console is the output; logs only when something is wrong (workers read the env at start).
      process.env['TANDEM_LOG_LEVEL'] ??= 'warn';
      setLogLevel(process.env['TANDEM_LOG_LEVEL']);
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const summary = await runProductDemo({
          calls: flags.calls,
          ...(flags.seconds !== undefined ? { seconds: flags.seconds } : {}),
          ...(flags.port !== undefined ? { port: flags.port } : {}),
          signal: stop.signal,
          print: (line) => process.stdout.write(`${line}\n`),
        });
        process.stdout.write(
          `\nSummary: ${summary.placed} calls placed, ${summary.ended} ended, ${summary.transcripts} utterances recognised and translated` +
            `${summary.latencyMedianMs === null ? '' : `, median end of speech → translated audio ${summary.latencyMedianMs} ms`}` +
            `${summary.mosMean === null ? '' : `, mean MOS estimate ${summary.mosMean}`}.\n`,
        );
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
