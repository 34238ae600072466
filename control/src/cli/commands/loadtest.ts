import { writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import {
  LoadTestError,
  formatReport,
  reportToJson,
  runLoadTest,
  type LoadTestOptions,
  type LoadTestProgress,
} from '../../../../engine/src/loadtest/index.js';

interface LoadtestFlags {
  pairs: number;
  seconds: number;
  json?: string;
  workers?: number;
  codec: 'ulaw';
  warmup: number;
  generatorThreads?: number;
  ports?: string;
  tone: boolean;
  heap: boolean;
  cpuProfDir?: string;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`expected a positive number, got ${JSON.stringify(value)}`);
  return n;
}

function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`expected a number ≥ 0, got ${JSON.stringify(value)}`);
  return n;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`expected a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

function progressLine(p: LoadTestProgress): string {
  return (
    `[${p.elapsedSeconds.toFixed(1).padStart(6)} s] ${p.phase.padEnd(9)} pairs ${p.pairs}  ` +
    `out ${p.ppsOut} pps  in ${p.ppsIn} pps  loss so far ${p.lossSoFarPct} %  generator late max ${p.generatorMaxSendLateMs} ms\n`
  );
}

/**
 * `tandem loadtest`: runs the engine here and a generator process that plays
 * Asterisk for N pairs, then prints the summary (and writes JSON with --json).
 * Exits non-zero when the run fails or overruns its deadline; missed targets
 * are reported, not turned into a failure.
 */
export function registerLoadtestCommand(program: Command): void {
  program
    .command('loadtest')
    .description('drive the engine with N pairs of real-time µ-law RTP from a generator process and report loss, latency, pacing, CPU and memory')
    .addOption(new Option('--pairs <n>', 'pairs to open (each: two RTP streams into the engine, two injected streams back)').default(100).argParser(positiveInteger))
    .addOption(new Option('--seconds <s>', 'measured seconds').default(20).argParser(positiveNumber))
    .addOption(new Option('--json <file>', 'also write the report as JSON to this file'))
    .addOption(new Option('--workers <n>', 'engine worker threads (default: one per core)').argParser(positiveInteger))
    .addOption(new Option('--codec <name>', 'leg format (the generator sends 172-byte µ-law)').choices(['ulaw']).default('ulaw'))
    .addOption(new Option('--warmup <seconds>', 'unmeasured seconds before the measured window').default(5).argParser(nonNegativeNumber))
    .addOption(new Option('--generator-threads <n>', 'generator core threads (default: one per 250 pairs, at most 2)').argParser(positiveInteger))
    .addOption(new Option('--ports <min-max>', 'engine leg port range (default 10000-19999)'))
    .addOption(new Option('--tone', 'play a tone sweep instead of espeak-ng speech').default(false))
    .addOption(new Option('--cpu-prof-dir <dir>', 'profile every engine thread over the measured window into .cpuprofile files'))
    .addOption(new Option('--no-heap', 'skip the heap probe (full GC of every engine thread at both ends of the window)'))
    .action(async (flags: LoadtestFlags) => {
      const options: LoadTestOptions = {
        pairs: flags.pairs,
        seconds: flags.seconds,
        codec: flags.codec,
        warmupSeconds: flags.warmup,
        preferTone: flags.tone,
        heapProbe: flags.heap,
        onProgress: (p) => process.stderr.write(progressLine(p)),
      };
      if (flags.workers !== undefined) options.workers = flags.workers;
      if (flags.cpuProfDir !== undefined) options.cpuProfileDir = flags.cpuProfDir;
      if (flags.generatorThreads !== undefined) options.generatorThreads = flags.generatorThreads;
      if (flags.ports !== undefined) {
        const match = /^(\d+)-(\d+)$/.exec(flags.ports);
        if (!match) throw new Error(`--ports must look like 10000-19999, got ${JSON.stringify(flags.ports)}`);
        options.portRange = { min: Number(match[1]), max: Number(match[2]) };
      }
      try {
        const report = await runLoadTest(options);
        process.stdout.write(formatReport(report));
        if (flags.json !== undefined) {
          await writeFile(flags.json, reportToJson(report));
          process.stderr.write(`report written to ${flags.json}\n`);
        }
      } catch (err) {
        if (err instanceof LoadTestError) {
          process.stderr.write(`tandem loadtest failed [${err.code}]: ${err.message}\n`);
          process.exitCode = 1;
          return;
        }
        throw err;
      }
    });
}
