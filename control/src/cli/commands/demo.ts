import { Option, type Command } from 'commander';
import { formatReport, runLoadTest } from '../../../../engine/src/loadtest/index.js';
import { setLogLevel } from '../../../../engine/src/common/logger.js';
import { parseInteger } from './engine-options.js';

/**
 * `tandem demo` (what `npm start` runs): the engine with its embedded
 * defaults, fed for a few seconds by a stand-in for Asterisk that speaks real
 * speech into leg A and leg B of a few pairs, then a report of what passed
 * through: every frame of A's speech should come out of leg B, and B's of A.
 */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('a short built-in demonstration: a few pairs of real speech through the engine, and what came out')
    .addOption(new Option('--pairs <n>', 'pairs to run').default(4).argParser(parseInteger))
    .addOption(new Option('--seconds <n>', 'seconds of audio').default(3).argParser(parseInteger))
    .action(async (flags: { pairs: number; seconds: number }) => {
      // The report is the output; logs only when something is wrong (workers read the env at start).
      process.env['TANDEM_LOG_LEVEL'] ??= 'warn';
      setLogLevel(process.env['TANDEM_LOG_LEVEL']);
      process.stdout.write(
        `Tandem demo: ${flags.pairs} pairs, ${flags.seconds} s. A stand-in for Asterisk sends speech into leg A and leg B of each pair;\n` +
          `the engine mirrors A's audio into leg B and B's into leg A, paced every 20 ms.\n\n`,
      );
      const report = await runLoadTest({
        pairs: flags.pairs,
        seconds: flags.seconds,
        warmupSeconds: 2,
        // The heap probe's full GCs stall the workers; a demonstration has no use for it.
        heapProbe: false,
        onProgress: (p) => process.stderr.write(`  ${p.phase} ${p.elapsedSeconds.toFixed(0)} s: ${p.ppsOut} packets/s in, ${p.ppsIn} packets/s out\n`),
      });
      process.stdout.write(`${formatReport(report)}\n`);
      const ab = report.directions.a_to_b;
      const ba = report.directions.b_to_a;
      process.stdout.write(
        `\nWhat passed through: A→B ${ab.received}/${ab.sent} frames, B→A ${ba.received}/${ba.sent} frames, ` +
          `loss ${report.loss_pct}%, median engine latency ${report.latency_p50_ms} ms.\n`,
      );
      if (report.loss_pct >= 1) process.exitCode = 1;
    });
}
