import { printable } from '../transcripts/format.js';
import type { CallRecord } from './call-record.js';

/**
 * Quality at a glance from the worse leg's rating, by ITU-T G.109's
 * categories: R ≥ 80 users satisfied ("good"), 70–80 some dissatisfied
 * ("fair"), below 70 many or nearly all dissatisfied ("poor").
 */
export function qualityOf(record: CallRecord): 'good' | 'fair' | 'poor' | '-' {
  const ratings = [record.legs?.A.r, record.legs?.B.r].filter((r): r is number => typeof r === 'number');
  if (ratings.length === 0) return '-';
  const worst = Math.min(...ratings);
  return worst >= 80 ? 'good' : worst >= 70 ? 'fair' : 'poor';
}

const COLUMNS = ['STARTED (UTC)', 'PAIR', 'CALLER → EXT', 'DURATION', 'ENDED BY', 'REASON', 'MOS A/B', 'LOSS A/B', 'QUALITY', 'RECORDING'] as const;

/** The `tandem calls` table: one line per call, columns padded to their widest cell. */
export function formatCallTable(records: readonly CallRecord[]): string {
  const rows: string[][] = [
    [...COLUMNS],
    ...records.map((r) => [
      r.startedAt.slice(0, 19).replace('T', ' '),
      printable(r.pairId),
      `${r.caller === null ? '?' : printable(r.caller)} → ${printable(r.extB)}`,
      formatDuration(r.durationMs),
      r.hangupCause === null ? r.hangupBy : `${r.hangupBy} (${r.hangupCause})`,
      printable(r.teardownReason),
      `${formatMos(r.mosA)}/${formatMos(r.mosB)}`,
      r.legs === null ? '-' : `${formatLoss(r.legs.A.lossPct)}/${formatLoss(r.legs.B.lossPct)}%`,
      qualityOf(r),
      r.recording === null ? '-' : `${r.recording.format} ${formatDuration(r.recording.durationMs)} ${formatBytes(r.recording.bytes)}`,
    ]),
  ];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((row) => [...(row[i] ?? '')].length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n') + '\n';
}

/** 4.41, or '-' when the leg played no audio. */
function formatMos(mos: number | null): string {
  return mos === null ? '-' : mos.toFixed(2);
}

function formatLoss(pct: number): string {
  return pct < 10 ? pct.toFixed(1) : pct.toFixed(0);
}

/** 812 B, 37 KiB, 4.2 MiB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** 850 ms → 0.9s, 62 s → 1m02s, 3723 s → 1h02m03s. */
export function formatDuration(ms: number): string {
  const tenths = Math.round(Math.max(0, ms) / 100);
  if (tenths < 600) return `${Math.floor(tenths / 10)}.${tenths % 10}s`;
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m${s}s` : `${m}m${s}s`;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * `--since`: a duration back from `now` (`90s`, `10m`, `2h`, `7d`) or an ISO
 * 8601 date-time with a time zone. Throws RangeError naming the accepted forms.
 */
export function parseSince(text: string, now = Date.now()): Date {
  const relative = /^(\d{1,6})([smhd])$/.exec(text.trim());
  if (relative) return new Date(now - Number(relative[1]) * (UNIT_MS[relative[2] ?? 's'] ?? 1000));
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$/.test(text.trim())) {
    const at = new Date(text.trim());
    if (!Number.isNaN(at.getTime())) return at;
  }
  throw new RangeError(`--since must be a duration like 90s, 10m, 2h, 7d or an ISO date-time like 2026-11-23T01:00:00Z, got ${JSON.stringify(text)}`);
}
