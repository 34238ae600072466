import { Option, type Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { parseInteger, parsePortRange } from '../../control/src/cli/commands/engine-options.js';
import { renderHtmlReport } from '../soak/html-report.js';
import { runSoak, type SoakReport } from '../soak/soak.js';

interface SoakFlags {
  calls: number;
  rate: number;
  concurrency: number;
  holdMin: number;
  holdMax: number;
  setupTimeout: number;
  maxSeconds: number;
  faults: boolean;
  drain: boolean;
  ports?: { min: number; max: number };
  seed: number;
  json?: string;
  html?: string;
  databaseUrl?: string;
  faultMs: number;
  workers: number;
  translate?: boolean;
}

/** `tandem soak`: churn and faults through `tandem start` against the simulator, with a report and a verdict. */
export function registerSoakCommand(program: Command): void {
  program
    .command('soak')
    .description('churn calls through tandem start against the Asterisk simulator, inject faults, report leaks and drops (exit 1 on a failing verdict)')
    .addOption(new Option('--calls <n>', 'calls in all (half churn, half shared by the fault phases)').default(10_000).argParser(parseInteger))
    .addOption(new Option('--rate <n>', 'new calls per second').default(20).argParser(parseInteger))
    .addOption(new Option('--concurrency <n>', 'calls up at once at most').default(40).argParser(parseInteger))
    .addOption(new Option('--hold-min <ms>', 'shortest mid-call hold').default(200).argParser(parseInteger))
    .addOption(new Option('--hold-max <ms>', 'longest mid-call hold').default(3000).argParser(parseInteger))
    .addOption(new Option('--setup-timeout <ms>', 'a call without audio both ways this long after it was placed counts as failed').default(10_000).argParser(parseInteger))
    .addOption(new Option('--max-seconds <n>', 'stop placing calls after this long').default(3600).argParser(parseInteger))
    .addOption(new Option('--no-faults', 'churn only'))
    .addOption(new Option('--no-drain', 'skip the final drain (SIGTERM with calls in flight)'))
    .addOption(new Option('--ports <min-max>', "engine leg ports of tandem start (default 29000-30999)").argParser(parsePortRange))
    .addOption(new Option('--seed <n>', 'random holds, sides and moments, repeatable').default(1).argParser(parseInteger))
    .addOption(new Option('--workers <n>', "tandem start's engine worker threads (worker-kill terminates worker 0)").default(1).argParser(parseInteger))
    .addOption(new Option('--fault-ms <ms>', 'how long Redis is paused, PostgreSQL cut, the HTTP server stalled').default(3000).argParser(parseInteger))
    .addOption(
      new Option('--database-url <url>', 'a PostgreSQL server (a role that may create databases): the soak makes its own database there, adds call records, AMI presence and their faults').env(
        'SOAK_DATABASE_URL',
      ),
    )
    .addOption(new Option('--translate', 'translate every call (duck mode) through the reference service the soak starts on 127.0.0.1, and add the provider-stall fault'))
    .addOption(new Option('--json <file>', 'write the whole report (phases, samples over time, verdict) as JSON'))
    .addOption(new Option('--html <file>', 'write the report as one self-contained HTML page with plots over time'))
    .action(async (flags: SoakFlags) => {
      const redisUrl = process.env['REDIS_URL'] || undefined;
      const report: SoakReport = await runSoak({
        calls: flags.calls,
        ratePerSecond: flags.rate,
        maxConcurrent: flags.concurrency,
        holdMs: [flags.holdMin, Math.max(flags.holdMin, flags.holdMax)],
        setupTimeoutMs: flags.setupTimeout,
        maxSeconds: flags.maxSeconds,
        faults: flags.faults,
        drain: flags.drain,
        seed: flags.seed,
        faultMs: flags.faultMs,
        workers: flags.workers,
        ...(flags.databaseUrl ? { databaseUrl: flags.databaseUrl } : {}),
        ...(flags.translate ? { translate: true } : {}),
        ...(flags.ports ? { portRange: flags.ports } : {}),
        ...(redisUrl ? { redisUrl } : {}),
        onProgress: (line) => process.stderr.write(`${line}\n`),
      });
      if (flags.json) await writeFile(flags.json, `${JSON.stringify(report, null, 2)}\n`);
      if (flags.html) await writeFile(flags.html, renderHtmlReport(report));
      const last = report.samples.at(-1);
      process.stdout.write(
        `soak: ${report.phases.reduce((a, p) => a + p.attempted, 0)} calls in ${report.duration_s} s (${report.store} store${report.translate ? ', translated' : ''}), ` +
          `${report.phases.length} phases${report.drain ? ' + drain' : ''}; RSS ${report.samples[0]?.rss_mb ?? '?'} → ${last?.rss_mb ?? '?'} MB, ` +
          `heap ${report.samples[0]?.heap_used_mb ?? '?'} → ${last?.heap_used_mb ?? '?'} MB; verdict ${report.verdict.toUpperCase()}\n`,
      );
      for (const failure of report.failures) process.stdout.write(`  ✗ ${failure}\n`);
      if (report.verdict !== 'pass') process.exitCode = 1;
    });
}
