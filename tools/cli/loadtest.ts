import { parseInteger, parsePortRange } from '../../control/src/cli/commands/engine-options.js';
import { DATAGRAM_IO_CHOICES, type DatagramIoChoice } from '../../engine/src/transport/datagram/open-datagram-port.js';
import { registerViaAriOptions, runViaAriCommand, type ViaAriFlags } from '../call-load/index.js';
import { writeReportFile } from '../../common/src/report-file.js';
import { Option, type Command } from 'commander';
import {
  LOAD_CODECS,
  LoadTestError,
  formatReport,
  mainPlotSvg,
  renderHtmlReport,
  renderPng,
  reportToJson,
  runLoadTest,
  type LoadCodecName,
  type LoadTestOptions,
  type LoadTestProgress,
} from '../media-load/index.js';
import { DEFAULT_ANSWER_WAIT_MS, runTranslationLoadTest, TALK_MODES, type TalkMode, type TranslationServiceSpec } from '../media-load/translation-load.js';
import { formatTranslationReport } from '../media-load/translation-report.js';
import { DEFAULT_CASCADE, formatCascadeParts, LOAD_RECOGNIZER_ENDPOINTING_MS, parseCascadeParts, type CascadeDelays, type CascadeParts } from '../media-load/cascade-doubles.js';
import { DEFAULT_DELAY_SEED, DELAY_PROFILE_NAMES, type DelayProfileName } from '../doubles/answer-delays.js';

interface LoadtestFlags {
  generator?: 'native' | 'node';
  pairs: number;
  seconds: number;
  alignMargin?: number;
  workerNice?: number;
  io: DatagramIoChoice;
  jitterMin?: number;
  json?: string;
  workers?: number;
  codec: LoadCodecName;
  warmup?: number;
  jitter: number;
  loss: number;
  reorder: number;
  ramp?: number | true;
  rampLossPct: number;
  rampLatencyMs: number;
  html?: string;
  png?: string;
  generatorThreads?: number;
  ports?: string;
  tone: boolean;
  heap: boolean;
  cpuProfDir?: string;
  translate?: boolean;
  translateUrl?: string;
  provider?: 'tandem' | 'cascade';
  cascade?: string;
  cascadeEndpointing?: number;
  cascadeDelays?: DelayProfileName;
  cascadeDelaySeed?: number;
  between?: 'silence' | 'nothing';
  talk?: TalkMode;
  answerWait?: number;
  background?: number;
  vadGate?: 'adaptive' | 'absolute';
}

function dbfs(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < -90 || n > -10) throw new Error(`expected a level in dBFS from -90 to -10, got ${JSON.stringify(value)}`);
  return n;
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

function percent(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 100) throw new Error(`expected a percentage in [0, 100], got ${JSON.stringify(value)}`);
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
  registerViaAriOptions(program.command('loadtest'))
    .description('drive the engine with N pairs of real-time RTP from a generator process and report loss, latency, pacing, CPU and memory')
    .addOption(new Option('--pairs <n>', 'pairs to open (each: two RTP streams into the engine, two injected streams back); with --ramp, the cap').default(100).argParser(positiveInteger))
    .addOption(new Option('--seconds <s>', 'measured seconds (with --ramp: the most the ramp may take)').default(20).argParser(positiveNumber))
    .addOption(new Option('--json <file>', 'also write the report as JSON to this file'))
    .addOption(new Option('--html <file>', 'also write a self-contained HTML report with plots to this file'))
    .addOption(new Option('--png <file>', 'also write the main plot as PNG (ramp: CPU against pairs; otherwise loss and CPU over time)'))
    .addOption(new Option('--workers <n>', 'engine worker threads (default: one per core)').argParser(positiveInteger))
    .addOption(new Option('--codec <name>', 'leg format: ulaw (PT 0), alaw (PT 8) or slin16 (PT 118, 16 kHz)').choices([...LOAD_CODECS]).default('ulaw'))
    .addOption(new Option('--jitter <ms>', 'delay each sent packet by a random 0..ms (reorders naturally)').default(0).argParser(nonNegativeNumber))
    .addOption(new Option('--loss <pct>', 'drop this percentage of packets before sending').default(0).argParser(percent))
    .addOption(new Option('--reorder <pct>', 'swap this percentage of packets with the next packet of their stream').default(0).argParser(percent))
    .addOption(new Option('--ramp [pairsPerSecond]', 'add pairs every second (default 10/s) until a threshold is passed or --pairs is reached; reports the knee').argParser(positiveInteger))
    .addOption(new Option('--ramp-loss-pct <pct>', 'ramp stops when a 1 s window loses more than this').default(0.1).argParser(percent))
    .addOption(new Option('--ramp-latency-ms <ms>', 'ramp stops when a 1 s window\'s p99 latency exceeds this').default(100).argParser(positiveNumber))
    .addOption(new Option('--warmup <seconds>', 'unmeasured seconds before the measured window (default 5, ramps 2)').argParser(nonNegativeNumber))
    .addOption(new Option('--generator-threads <n>', 'generator core threads (default: one per 250 pairs, at most 2)').argParser(positiveInteger))
    .addOption(new Option('--ports <min-max>', 'engine leg port range (default 10000-19999)'))
    .addOption(new Option('--tone', 'play a tone sweep instead of espeak-ng speech').default(false))
    .addOption(new Option('--generator <kind>', 'generator cores: native (C processes, default when they build) or node (worker threads)').choices(['native', 'node']))
    .addOption(new Option('--cpu-prof-dir <dir>', 'profile every engine thread over the measured window into .cpuprofile files'))
    .addOption(new Option('--align-margin <ms>', 'engine: how long after a stream\'s arrival phase its tick comes (default 6)').argParser(nonNegativeNumber))
    .addOption(new Option('--worker-nice <n>', 'engine: nice value of the worker threads (default -5; 0 = the ordinary priority)').argParser(parseInteger))
    .addOption(new Option('--io <path>', 'engine: socket I/O of the RTP legs: native (a batched port per worker), dgram (a socket per leg), auto').choices(DATAGRAM_IO_CHOICES).default('auto'))
    .addOption(new Option('--jitter-min <ms>', 'engine: minimum jitter-buffer depth (default 20)').argParser(positiveInteger))
    .addOption(new Option('--no-heap', 'skip the heap probe (full GC of every engine thread at both ends of the window)'))
    .addOption(new Option('--translate', 'translate every pair (en↔es, VAD on) through the reference service, started as a child process; reports utterance latency instead of relay loss'))
    .addOption(new Option('--translate-url <url>', 'with --translate: use this Tandem-protocol service instead of starting the reference service'))
    .addOption(new Option('--provider <kind>', 'with --translate: tandem (default: the reference service over the Tandem protocol) or cascade (recognizer → translator → synthesizer against the local doubles, started as a child process)').choices(['tandem', 'cascade']))
    .addOption(new Option('--cascade <parts>', `with --provider cascade: recognizer,translator,synthesizer — deepgram,deepl|apertium,elevenlabs|espeak-ng (default ${formatCascadeParts(DEFAULT_CASCADE)})`))
    .addOption(new Option('--cascade-endpointing <ms>', `with --provider cascade: the recognizer's own endpointing (default ${LOAD_RECOGNIZER_ENDPOINTING_MS}, above the VAD's 300 ms, so Tandem's VAD ends every utterance and each answer is timed)`).argParser(positiveInteger))
    .addOption(new Option('--cascade-delays <profile>', 'with --provider cascade: how long the doubles take to answer — none (default: at once, as the earlier figures) or realistic (about as long as the real services; docs/cascade.md)').choices(DELAY_PROFILE_NAMES))
    .addOption(new Option('--cascade-delay-seed <n>', `with --cascade-delays: seed of the delays' random spread (default ${DEFAULT_DELAY_SEED}; same seed, same delays)`).argParser(parseInteger))
    .addOption(new Option('--between <what>', 'with --translate: what the listener hears between answers: a continuous silence stream, or nothing (each answer starts a talkspurt at once)').choices(['silence', 'nothing']))
    .addOption(new Option('--talk <mode>', 'with --translate: turns (default: the parties of a pair speak in turns, every utterance counted sent vs detected) or overlap (both legs talk all the time, the earlier mode)').choices(TALK_MODES))
    .addOption(new Option('--answer-wait <ms>', `with --talk turns: silence after each utterance before the other party speaks (default ${DEFAULT_ANSWER_WAIT_MS})`).argParser(nonNegativeNumber))
    .addOption(new Option('--background <dbfs>', 'with --talk turns: white noise at this level in the pauses (a line\'s hiss) instead of digital silence').argParser(dbfs))
    .addOption(new Option('--vad-gate <gate>', 'engine: the VAD\'s energy gate: adaptive (default: the learnt noise floor and the -60 dBFS floor) or absolute (the -60 dBFS floor only, as before the adaptive gate)').choices(['adaptive', 'absolute']))
    .action(async (flags: LoadtestFlags & ViaAriFlags) => {
      // --via-ari: calls through the Asterisk simulator and the whole control plane.
      if (flags.viaAri) return await runViaAriCommand(flags);
      const options: LoadTestOptions = {
        pairs: flags.pairs,
        seconds: flags.seconds,
        codec: flags.codec,
        impairment: { jitterMs: flags.jitter, lossPct: flags.loss, reorderPct: flags.reorder },
        preferTone: flags.tone,
        heapProbe: flags.heap,
        onProgress: (p) => process.stderr.write(progressLine(p)),
      };
      if (flags.warmup !== undefined) options.warmupSeconds = flags.warmup;
      if (flags.ramp !== undefined) {
        options.ramp = { lossPct: flags.rampLossPct, latencyMs: flags.rampLatencyMs };
        if (flags.ramp !== true) options.ramp.pairsPerSecond = flags.ramp;
      }
      if (flags.workers !== undefined) options.workers = flags.workers;
      options.engine = {
        ...(flags.alignMargin !== undefined ? { alignMarginMs: flags.alignMargin } : {}),
        ...(flags.workerNice !== undefined ? { workerNice: flags.workerNice } : {}),
        io: flags.io,
        ...(flags.vadGate === 'absolute' ? { vad: { adaptiveGate: { enabled: false } } } : {}),
        ...(flags.jitterMin !== undefined ? { jitter: { minDepthMs: flags.jitterMin, maxDepthMs: Math.max(200, flags.jitterMin) } } : {}),
      };
      if (flags.cpuProfDir !== undefined) options.cpuProfileDir = flags.cpuProfDir;
      if (flags.generatorThreads !== undefined) options.generatorThreads = flags.generatorThreads;
      if (flags.generator !== undefined) options.generatorCore = flags.generator;
      if (flags.ports !== undefined) options.portRange = parsePortRange(flags.ports);
      if (flags.translate === true || flags.translateUrl !== undefined) return await runTranslateCommand(options, flags);
      if (flags.provider !== undefined || flags.cascade !== undefined || flags.cascadeEndpointing !== undefined || flags.cascadeDelays !== undefined || flags.cascadeDelaySeed !== undefined || flags.between !== undefined || flags.talk !== undefined || flags.answerWait !== undefined || flags.background !== undefined || flags.vadGate !== undefined) {
        process.stderr.write('tandem loadtest: --provider, --cascade, --cascade-endpointing, --cascade-delays, --cascade-delay-seed, --between, --talk, --answer-wait, --background and --vad-gate need --translate\n');
        process.exitCode = 1;
        return;
      }
      try {
        const report = await runLoadTest(options);
        process.stdout.write(formatReport(report));
        if (flags.json !== undefined) {
          writeReportFile(flags.json, reportToJson(report));
          process.stderr.write(`report written to ${flags.json}\n`);
        }
        if (flags.html !== undefined) {
          writeReportFile(flags.html, renderHtmlReport(report, { command: `tandem ${process.argv.slice(2).join(' ')}` }));
          process.stderr.write(`HTML report written to ${flags.html}\n`);
        }
        if (flags.png !== undefined) {
          writeReportFile(flags.png, renderPng(mainPlotSvg(report)));
          process.stderr.write(`plot written to ${flags.png}\n`);
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

/**
 * `tandem loadtest --translate`: every pair translated. The reference service
 * runs as `tandem reference-service` in a child process (this same CLI), so
 * its CPU is not the engine's. Options that only make sense for the relay
 * (ramp, tone, HTML/PNG plots of relay loss) are refused.
 */
async function runTranslateCommand(options: LoadTestOptions, flags: LoadtestFlags): Promise<void> {
  const refused = [
    flags.ramp !== undefined ? '--ramp' : null,
    flags.tone ? '--tone' : null,
    flags.html !== undefined ? '--html' : null,
    flags.png !== undefined ? '--png' : null,
    flags.talk === 'overlap' && flags.answerWait !== undefined ? '--answer-wait with --talk overlap' : null,
    flags.talk === 'overlap' && flags.background !== undefined ? '--background with --talk overlap' : null,
    flags.provider === 'cascade' && flags.translateUrl !== undefined ? '--translate-url with --provider cascade' : null,
    flags.provider !== 'cascade' && flags.cascade !== undefined ? '--cascade without --provider cascade' : null,
    flags.provider !== 'cascade' && flags.cascadeEndpointing !== undefined ? '--cascade-endpointing without --provider cascade' : null,
    flags.provider !== 'cascade' && flags.cascadeDelays !== undefined ? '--cascade-delays without --provider cascade' : null,
    flags.provider !== 'cascade' && flags.cascadeDelaySeed !== undefined ? '--cascade-delay-seed without --provider cascade' : null,
  ].filter((f) => f !== null);
  if (refused.length > 0) {
    process.stderr.write(`tandem loadtest: ${refused.join(', ')} cannot be used with --translate\n`);
    process.exitCode = 1;
    return;
  }
  const { ramp: _ramp, preferTone: _tone, onProgress: _relayProgress, ...rest } = options;
  let service: TranslationServiceSpec;
  // This same CLI, run the way this process was (node, its flags such as --import tsx, the script).
  const self = (command: string[]): { command: string; args: string[] } => {
    const script = process.argv[1];
    if (script === undefined) throw new Error(`cannot tell which script is running, to start \`tandem ${command[0]}\``);
    return { command: process.execPath, args: [...process.execArgv, script, ...command] };
  };
  if (flags.provider === 'cascade') {
    let parts: CascadeParts;
    try {
      parts = flags.cascade === undefined ? DEFAULT_CASCADE : parseCascadeParts(flags.cascade);
    } catch (err) {
      process.stderr.write(`tandem loadtest: --cascade: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
      return;
    }
    const delays: CascadeDelays = { profile: flags.cascadeDelays ?? 'none', seed: flags.cascadeDelaySeed ?? DEFAULT_DELAY_SEED };
    service = {
      kind: 'cascade',
      parts,
      process: self(['cascade-doubles', '--cascade', formatCascadeParts(parts), '--delays', delays.profile, '--delay-seed', String(delays.seed)]),
      delays,
      ...(flags.cascadeEndpointing !== undefined ? { recognizerEndpointingMs: flags.cascadeEndpointing } : {}),
    };
  } else if (flags.translateUrl !== undefined) {
    service = { kind: 'url', url: flags.translateUrl };
  } else {
    service = { kind: 'process', ...self(['reference-service', '--port', '0']) };
  }
  try {
    const report = await runTranslationLoadTest({
      ...rest,
      service,
      ...(flags.between !== undefined ? { between: flags.between } : {}),
      ...(flags.talk !== undefined ? { talk: flags.talk } : {}),
      ...(flags.answerWait !== undefined || flags.background !== undefined
        ? {
            conversation: {
              answerWaitMs: Math.round(flags.answerWait ?? DEFAULT_ANSWER_WAIT_MS),
              ...(flags.background !== undefined ? { backgroundDbfs: flags.background } : {}),
            },
          }
        : {}),
      onProgress: (p) =>
        process.stderr.write(`[${p.elapsedSeconds.toFixed(1).padStart(6)} s] ${p.phase.padEnd(9)} pairs ${p.pairs}  out ${p.ppsOut} pps  in ${p.ppsIn} pps  generator late max ${p.generatorMaxSendLateMs} ms\n`),
    });
    process.stdout.write(formatTranslationReport(report));
    if (flags.json !== undefined) {
      writeReportFile(flags.json, reportToJson(report));
      process.stderr.write(`report written to ${flags.json}\n`);
    }
  } catch (err) {
    if (err instanceof LoadTestError) {
      process.stderr.write(`tandem loadtest --translate failed [${err.code}]: ${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
}
