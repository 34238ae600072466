/**
 * Turns the files a SIPp load run leaves behind (-trace_stat CSV, -trace_rtt
 * CSV, the rtp-pcap.ts report, Tandem API samples) into one JSON summary,
 * shaped like `tandem loadtest --json` output so both can be read side by side.
 *
 * CLI (run-load.sh calls it; run with `node --import tsx`):
 *   --caller-stats FILE   the caller's -trace_stat CSV (required)
 *   --uas-stats FILE      the pair-extension UAS's -trace_stat CSV
 *   --rtt FILE            the caller's -trace_rtt CSV (call setup times)
 *   --rtp FILE            rtp-pcap.ts JSON of what the callers heard
 *   --tandem FILE         JSONL of Tandem API samples ({t, pairs} per line)
 *   --meta JSON           run parameters to embed as "run"
 *   --out FILE            where to write (default stdout)
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export class StatsParseError extends Error {
  readonly code: 'STATS_EMPTY' | 'STATS_MISSING_COLUMN' | 'STATS_BAD_ROW';
  constructor(code: StatsParseError['code'], message: string) {
    super(message);
    this.name = 'StatsParseError';
    this.code = code;
  }
}

/** The last row of a SIPp -trace_stat CSV, by column name. */
export function lastStatRow(csv: string): ReadonlyMap<string, string> {
  const lines = csv.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = lines[0];
  const last = lines[lines.length - 1];
  if (header === undefined || last === undefined || lines.length < 2) {
    throw new StatsParseError('STATS_EMPTY', 'the statistics file has no data row');
  }
  const names = header.split(';');
  const values = last.split(';');
  if (values.length < names.length - 1) {
    throw new StatsParseError('STATS_BAD_ROW', `last row has ${values.length} fields, header ${names.length}`);
  }
  const row = new Map<string, string>();
  names.forEach((n, i) => {
    if (n !== '') row.set(n, values[i] ?? '');
  });
  return row;
}

/** SIPp durations are written "HH:MM:SS:uuuuuu" (or "HH:MM:SS"). */
export function sippDurationMs(value: string): number {
  const parts = value.trim().split(':').map(Number);
  if (parts.length < 3 || parts.some((p) => !Number.isFinite(p))) {
    throw new StatsParseError('STATS_BAD_ROW', `not a SIPp duration: "${value}"`);
  }
  const [h = 0, m = 0, s = 0, us = 0] = parts;
  return ((h * 60 + m) * 60 + s) * 1000 + us / 1000;
}

export interface SippCallStats {
  readonly created: number;
  readonly successful: number;
  readonly failed: number;
  /** Failed*(C) columns that are not zero, e.g. FailedUnexpectedMessage. */
  readonly failures: Readonly<Record<string, number>>;
  readonly retransmissions: number;
  readonly deadCallMessages: number;
  readonly meanCallLengthMs: number | null;
  readonly meanResponseTimeMs: Readonly<Record<string, number>>;
}

function intColumn(row: ReadonlyMap<string, string>, name: string): number {
  const v = row.get(name);
  if (v === undefined) throw new StatsParseError('STATS_MISSING_COLUMN', `no column ${name}`);
  const n = Number(v);
  if (!Number.isFinite(n)) throw new StatsParseError('STATS_BAD_ROW', `${name} is "${v}"`);
  return n;
}

export function summarizeSippStats(csv: string): SippCallStats {
  const row = lastStatRow(csv);
  const failures: Record<string, number> = {};
  const meanResponseTimeMs: Record<string, number> = {};
  for (const [name, value] of row) {
    const failed = /^Failed(\w+)\(C\)$/.exec(name);
    // FailedCall(C) is the total; the other Failed*(C) columns are its reasons.
    if (failed?.[1] !== undefined && failed[1] !== 'Call' && Number(value) > 0) failures[failed[1]] = Number(value);
    const rt = /^ResponseTime(\w+?)\(C\)$/.exec(name);
    if (rt?.[1] !== undefined && !rt[1].endsWith('StDev')) meanResponseTimeMs[rt[1]] = sippDurationMs(value);
  }
  const callLength = row.get('CallLength(C)');
  return {
    created: intColumn(row, 'TotalCallCreated'),
    successful: intColumn(row, 'SuccessfulCall(C)'),
    failed: intColumn(row, 'FailedCall(C)'),
    failures,
    retransmissions: intColumn(row, 'Retransmissions(C)'),
    deadCallMessages: intColumn(row, 'DeadCallMsgs(C)'),
    meanCallLengthMs: callLength === undefined ? null : sippDurationMs(callLength),
    meanResponseTimeMs,
  };
}

export interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** Nearest-rank percentiles; null when there are no samples. */
export function percentiles(samples: readonly number[]): Percentiles | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
  return { count: sorted.length, p50: rank(50), p90: rank(90), p99: rank(99), max: sorted[sorted.length - 1] ?? 0 };
}

/** Setup times per named RTD from a -trace_rtt CSV ("Date_ms;response_time_ms;rtd_no"). */
export function rttPercentiles(csv: string): Record<string, Percentiles> {
  const byRtd = new Map<string, number[]>();
  for (const line of csv.split(/\r?\n/)) {
    const [date, ms, rtd] = line.split(';');
    if (date === undefined || ms === undefined || rtd === undefined || date === 'Date_ms') continue;
    const value = Number(ms);
    if (!Number.isFinite(value)) continue;
    const list = byRtd.get(rtd) ?? [];
    list.push(value);
    byRtd.set(rtd, list);
  }
  const out: Record<string, Percentiles> = {};
  for (const [rtd, values] of byRtd) {
    const p = percentiles(values);
    if (p !== null) out[rtd] = p;
  }
  return out;
}

interface TandemSample {
  readonly t: number;
  readonly pairs: number;
}

/** Lines of `{"t":ms,"pairs":n}`; lines that do not parse are skipped (a failed poll). */
export function tandemSamples(jsonl: string): TandemSample[] {
  const out: TandemSample[] = [];
  for (const line of jsonl.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    try {
      const v: unknown = JSON.parse(line);
      if (typeof v === 'object' && v !== null && 't' in v && 'pairs' in v && typeof v.t === 'number' && typeof v.pairs === 'number') {
        out.push({ t: v.t, pairs: v.pairs });
      }
    } catch {
      // A poll that failed mid-run leaves a partial line; the summary counts only good samples.
    }
  }
  return out;
}

function readIf(path: string | undefined): string | null {
  return path !== undefined && existsSync(path) ? readFileSync(path, 'utf8') : null;
}

function main(argv: readonly string[]): number {
  try {
    const args = new Map<string, string>();
    for (let i = 0; i < argv.length; i += 2) {
      const flag = argv[i];
      const value = argv[i + 1];
      if (flag === undefined || value === undefined || !flag.startsWith('--')) throw new RangeError(`bad argument near ${flag ?? '(end)'}`);
      args.set(flag.slice(2), value);
    }
    const callerCsv = readIf(args.get('caller-stats'));
    if (callerCsv === null) throw new RangeError('--caller-stats FILE is required and must exist');
    const uasCsv = readIf(args.get('uas-stats'));
    const rtt = readIf(args.get('rtt'));
    const rtp = readIf(args.get('rtp'));
    const tandem = readIf(args.get('tandem'));
    const meta = args.get('meta');
    const samples = tandem === null ? [] : tandemSamples(tandem);
    const summary = {
      run: meta === undefined ? null : (JSON.parse(meta) as unknown),
      caller: summarizeSippStats(callerCsv),
      pairExtensions: uasCsv === null ? null : summarizeSippStats(uasCsv),
      callSetupMs: rtt === null ? null : rttPercentiles(rtt),
      heardByCallers: rtp === null ? null : ((JSON.parse(rtp) as { totals?: unknown }).totals ?? null),
      tandem: samples.length === 0 ? null : { samples: samples.length, peakPairs: Math.max(...samples.map((s) => s.pairs)) },
    };
    const text = `${JSON.stringify(summary, null, 2)}\n`;
    const out = args.get('out');
    if (out === undefined) process.stdout.write(text);
    else writeFileSync(out, text);
    return 0;
  } catch (err) {
    process.stderr.write(`load-summary: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  process.exitCode = main(process.argv.slice(2));
}
