import { parsePortRange } from '../../control/src/cli/commands/engine-options.js';
import { Option, type Command } from 'commander';
import { ConfigError } from '../../common/src/errors.js';
import { writeReportFile } from '../../common/src/report-file.js';
import { setLogLevel } from '../../common/src/logger.js';
import { formatViaAriReport, viaAriReportToJson } from './via-ari-report.js';
import { runViaAriLoadTest, type ViaAriProgress, type ViaAriRunOptions } from './via-ari.js';

/** The flags `tandem loadtest --via-ari` reads (commander's camelCase names). */
export interface ViaAriFlags {
  viaAri?: boolean;
  calls?: number;
  rate?: number;
  hold?: number;
  holdFrom?: 'stasis-start' | 'set-up';
  ringMs?: number;
  maxConcurrent?: number;
  pool?: number;
  sessionLimit?: number;
  ariConcurrency?: number;
  inProcess?: boolean;
  nodeProcess?: boolean;
  redisUrl?: string;
  deleteDelayMs?: number | [number, number];
  deleteDrop?: number;
  ariTimeoutMs?: number;
  teardownTimeoutMs?: number;
  /** Shared with the plain load test: here, `tandem start`'s CPU profile (node-process). */
  cpuProfDir?: string;
  /** Shared with the plain load test. */
  workers?: number;
  /** Shared with the plain load test (`min-max`). */
  ports?: string;
  /** Shared with the plain load test. */
  json?: string;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`expected a positive number, got ${JSON.stringify(value)}`);
  return n;
}

function nonNegativeInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected an integer ≥ 0, got ${JSON.stringify(value)}`);
  return n;
}

function fraction(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new Error(`expected a fraction 0..1, got ${JSON.stringify(value)}`);
  return n;
}

/** `ms` or `min-max`. */
function delayRange(value: string): number | [number, number] {
  const m = /^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?$/.exec(value);
  if (!m) throw new Error(`expected ms or min-max, got ${JSON.stringify(value)}`);
  const min = Number(m[1]);
  return m[2] === undefined ? min : [min, Number(m[2])];
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`expected a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

/**
 * Adds the via-ARI flags to the `loadtest` command. `--workers`, `--ports`,
 * `--json` and `--cpu-prof-dir` are the plain load test's own flags and are
 * reused, not redefined.
 * No defaults here: unset flags fall back to parseViaAriConfig's documented defaults.
 */
export function registerViaAriOptions(command: Command): Command {
  return command
    .addOption(new Option('--via-ari', 'place calls through the Asterisk simulator and the whole control plane; measures call setup'))
    .addOption(new Option('--calls <n>', '[via-ari] calls in total (default 100)').argParser(positiveInteger))
    .addOption(new Option('--rate <r>', '[via-ari] new calls per second (default 50)').argParser(positiveNumber))
    .addOption(new Option('--hold <s>', '[via-ari] seconds each caller stays before hanging up (default 2)').argParser(positiveNumber))
    .addOption(new Option('--hold-from <when>', '[via-ari] the hold counts from StasisStart (a slower setup fails) or from set-up (a slow setup is measured, not failed; default stasis-start)').choices(['stasis-start', 'set-up']))
    .addOption(new Option('--ring-ms <ms>', '[via-ari] leg B answers after this long (default 0)').argParser(nonNegativeInteger))
    .addOption(new Option('--max-concurrent <n>', '[via-ari] calls up at once (default min(calls, rate·hold + 10))').argParser(positiveInteger))
    .addOption(new Option('--pool <n>', '[via-ari] pairs in the pool (default: 2 × max concurrent)').argParser(positiveInteger))
    .addOption(new Option('--session-limit <n>', "[via-ari] the simulated http.conf sessionlimit (default 100, Asterisk's)").argParser(positiveInteger))
    .addOption(new Option('--ari-concurrency <n>', "[via-ari] Tandem's bound on concurrent ARI requests (--in-process only; default min(40, sessionlimit − 3))").argParser(positiveInteger))
    .addOption(new Option('--node-process', '[via-ari] run Tandem as `tandem start` in its own process (the default)').conflicts('inProcess'))
    .addOption(new Option('--in-process', '[via-ari] run Tandem on the driver\'s event loop, next to the simulator'))
    .addOption(new Option('--redis-url <url>', '[via-ari] keep pairs in this Redis (a fresh key prefix per run) instead of memory'))
    .addOption(new Option('--delete-delay-ms <ms>', '[via-ari] the simulator answers hangups and bridge destroys after this long (ms or min-max)').argParser(delayRange))
    .addOption(new Option('--delete-drop <rate>', '[via-ari] fraction 0..1 of hangups and bridge destroys the simulator never answers').argParser(fraction))
    .addOption(new Option('--teardown-timeout-ms <ms>', '[via-ari] how long the end waits for everything to be released (default 10000)').argParser(positiveInteger))
    .addOption(new Option('--ari-timeout-ms <ms>', "[via-ari] Tandem's ARI request deadline (--in-process only; default 10000)").argParser(positiveInteger));
}

export function viaAriOptionsFromFlags(flags: ViaAriFlags): ViaAriRunOptions {
  const options: ViaAriRunOptions = {};
  if (flags.calls !== undefined) options.calls = flags.calls;
  if (flags.rate !== undefined) options.ratePerSecond = flags.rate;
  if (flags.hold !== undefined) options.holdSeconds = flags.hold;
  if (flags.holdFrom !== undefined) options.holdFrom = flags.holdFrom;
  if (flags.ringMs !== undefined) options.ringMs = flags.ringMs;
  if (flags.maxConcurrent !== undefined) options.maxConcurrent = flags.maxConcurrent;
  if (flags.pool !== undefined) options.poolSize = flags.pool;
  if (flags.sessionLimit !== undefined) options.sessionLimit = flags.sessionLimit;
  if (flags.ariConcurrency !== undefined) options.ariMaxConcurrentRequests = flags.ariConcurrency;
  if (flags.inProcess) options.processMode = 'in-process';
  if (flags.nodeProcess) options.processMode = 'node-process';
  if (flags.redisUrl !== undefined) options.redisUrl = flags.redisUrl;
  if (flags.deleteDelayMs !== undefined) options.deleteDelayMs = flags.deleteDelayMs;
  if (flags.deleteDrop !== undefined) options.deleteDropRate = flags.deleteDrop;
  if (flags.ariTimeoutMs !== undefined) options.ariRequestTimeoutMs = flags.ariTimeoutMs;
  if (flags.teardownTimeoutMs !== undefined) options.teardownTimeoutMs = flags.teardownTimeoutMs;
  if (flags.cpuProfDir !== undefined) options.cpuProfileDir = flags.cpuProfDir;
  if (flags.workers !== undefined) options.workers = flags.workers;
  if (flags.ports !== undefined) options.portRange = parsePortRange(flags.ports);
  return options;
}

const progressLine = (p: ViaAriProgress): string =>
  `[${p.elapsedSeconds.toFixed(1).padStart(6)} s] placed ${p.placed}  set up ${p.setUp}  failed ${p.failed}  rejected ${p.rejected}  up ${p.inProgress}\n`;

/**
 * The `--via-ari` action: runs, prints the summary, writes JSON with --json.
 * Bad settings exit 1 with the key named; missed targets are reported, not failures.
 */
export async function runViaAriCommand(flags: ViaAriFlags): Promise<void> {
  // Per-call info logs would cost the main thread the very time being measured.
  // Engine worker threads read the level from the environment when they start.
  if (process.env['TANDEM_LOG_LEVEL'] === undefined) {
    process.env['TANDEM_LOG_LEVEL'] = 'warn';
    setLogLevel('warn');
  }
  let options: ViaAriRunOptions;
  try {
    options = viaAriOptionsFromFlags(flags);
    options.onProgress = (p) => process.stderr.write(progressLine(p));
    const report = await runViaAriLoadTest(options);
    process.stdout.write(formatViaAriReport(report));
    if (flags.json !== undefined) {
      writeReportFile(flags.json, viaAriReportToJson(report));
      process.stderr.write(`report written to ${flags.json}\n`);
    }
    if (!report.teardown_complete || report.stopped_by_deadline) process.exitCode = 1;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tandem loadtest --via-ari: ${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
}
