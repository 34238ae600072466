import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { CallRecords, RecentCallRecords, formatCallTable, formatDuration, parseSince, qualityOf } from '../../../control/src/records/index.js';
import type { PgCallRecordStore } from '../../../control/src/records/index.js';
import { legFixture, recordFixture } from './support.js';

function capturingLogger(): { log: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

const at = (s: number): string => new Date(Date.UTC(2026, 11, 7, 10, 0, s)).toISOString();

describe('RecentCallRecords (memory)', () => {
  it('keeps the newest `capacity` records; lists by end time, since, pair, order and limit', async () => {
    const ring = new RecentCallRecords(3);
    const r1 = recordFixture({ endedAt: at(1) });
    const r2 = recordFixture({ endedAt: at(3), pairId: 'pair_002' });
    const r3 = recordFixture({ endedAt: at(2) }); // a slower teardown: added after r2, ended before it
    const r4 = recordFixture({ endedAt: at(4) });
    for (const r of [r1, r2, r3, r4]) ring.add(r);
    expect(ring.size).toBe(3);
    expect(await ring.get(r1.id)).toBeNull(); // the oldest went
    expect((await ring.list()).map((r) => r.endedAt)).toEqual([at(4), at(3), at(2)]);
    expect((await ring.list({ order: 'asc' })).map((r) => r.endedAt)).toEqual([at(2), at(3), at(4)]);
    expect((await ring.list({ since: new Date(at(3)) })).map((r) => r.id)).toEqual([r4.id, r2.id]);
    expect((await ring.list({ pairId: 'pair_002' })).map((r) => r.id)).toEqual([r2.id]);
    expect((await ring.list({ limit: 1 })).map((r) => r.id)).toEqual([r4.id]);
    expect(await ring.get(r3.id)).toBe(r3);
    expect(() => ring.list({ limit: 0 })).toThrow(RangeError);
    expect(() => new RecentCallRecords(0)).toThrow(RangeError);
  });
});

describe('CallRecords', () => {
  it('logs exactly one `call record` line per call with every field, and no secrets', async () => {
    const { log, lines } = capturingLogger();
    const records = new CallRecords({ log });
    const record = recordFixture();
    records.add(record);
    const logged = lines.filter((l) => l['msg'] === 'call record');
    expect(logged).toHaveLength(1);
    const line = logged[0]!;
    for (const key of Object.keys(record)) expect(line, key).toHaveProperty(key);
    expect(line).toMatchObject({ id: record.id, pairId: 'pair_001', hangupBy: 'caller', teardownReason: 'caller-hangup', mosA: 4.29 });
    expect((line['legs'] as { A: { dropped: unknown } }).A.dropped).toEqual({ FOREIGN_SOURCE: 2 });
    expect(JSON.stringify(line)).not.toMatch(/token|password|secret/i);
    expect(await records.list()).toEqual({ calls: [record], source: 'memory' });
    expect(await records.get(record.id)).toEqual({ call: record, source: 'memory' });
    expect(records.stats()).toMatchObject({ recorded: 1, recent: 1, store: null });
  });

  it('answers from memory, and says so, when the database does not answer', async () => {
    const { log, lines } = capturingLogger();
    const saved: string[] = [];
    const failing = {
      closed: false,
      save: (r: { id: string }) => saved.push(r.id) > 0,
      list: () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })),
      get: () => Promise.reject(new Error('Connection terminated unexpectedly')),
      stats: () => ({ queued: 0, written: 0, dropped: { queue_full: 0, db_error: 0, closed: 0 } }),
      flush: () => Promise.resolve(),
      close: () => Promise.resolve(),
    } as unknown as PgCallRecordStore;
    const records = new CallRecords({ store: failing, log });
    const record = recordFixture();
    records.add(record);
    expect(saved).toEqual([record.id]);
    expect(await records.list()).toEqual({ calls: [record], source: 'memory' });
    expect(await records.get(record.id)).toEqual({ call: record, source: 'memory' });
    expect(records.stats().readFallbacks).toBe(2);
    // One warning for the outage, not one per read.
    expect(lines.filter((l) => l['level'] === 40)).toHaveLength(1);
  });
});

describe('the `tandem calls` table', () => {
  it('one aligned line per call: start, pair, caller → ext, duration, who ended it, reason, MOS and loss per leg, quality', () => {
    const good = recordFixture({ startedAt: '2026-12-07T10:00:00.123Z', durationMs: 62_000 });
    const busy = recordFixture({
      pairId: 'pair_002',
      extB: '7003',
      caller: null,
      durationMs: 850,
      hangupBy: 'legb',
      hangupCause: 17,
      teardownReason: 'legb-busy',
      mosA: null,
      mosB: null,
      legs: { A: legFixture({ mos: null, r: null, lossPct: 0 }), B: legFixture({ mos: null, r: null, lossPct: 0 }) },
    });
    const lossy = recordFixture({ legs: { A: legFixture({ lossPct: 12.5, r: 62.1, mos: 3.21 }), B: legFixture() }, mosA: 3.21 });
    const crashed = recordFixture({ legs: null, mosA: null, mosB: null, hangupBy: 'tandem', teardownReason: 'engine-error' });
    const recorded = { ...good, recording: { path: '/var/rec/pair_001-x.opus', format: 'opus' as const, bytes: 38_400, durationMs: 62_000 } };
    const lines = formatCallTable([recorded, busy, lossy, crashed]).split('\n');
    expect(lines.at(-1)).toBe('');
    expect(lines[0]).toMatch(/^STARTED \(UTC\)\s+PAIR\s+CALLER → EXT\s+DURATION\s+ENDED BY\s+REASON\s+MOS A\/B\s+LOSS A\/B\s+QUALITY\s+RECORDING$/);
    expect(lines[1]).toMatch(/^2026-12-07 10:00:00\s+pair_001\s+5551234 → 7001\s+1m02s\s+caller\s+caller-hangup\s+4\.29\/4\.38\s+1\.0\/0\.0%\s+good\s+opus 1m02s 38 KiB$/);
    expect(lines[2]).toMatch(/pair_002\s+\? → 7003\s+0\.9s\s+legb \(17\)\s+legb-busy\s+-\/-\s+0\.0\/0\.0%\s+-\s+-$/);
    expect(lines[3]).toMatch(/3\.21\/4\.38\s+13\/1\.0%\s+poor\s+-$/);
    expect(lines[4]).toMatch(/tandem\s+engine-error\s+-\/-\s+-\s+-\s+-$/);
    // Columns line up: every row puts REASON at the same offset.
    const reasonAt = lines[0]!.indexOf('REASON');
    expect(lines.slice(1, 5).map((l) => l.slice(reasonAt).split(' ')[0])).toEqual(['caller-hangup', 'legb-busy', 'caller-hangup', 'engine-error']);
  });

  it('never prints control characters from a caller id', () => {
    expect(formatCallTable([recordFixture({ caller: 'evil\u001b[2Jx' })])).not.toContain('\u001b');
  });

  it('quality by the worse leg (G.109 categories) and durations', () => {
    expect(qualityOf(recordFixture())).toBe('good');
    expect(qualityOf(recordFixture({ legs: { A: legFixture({ r: 75 }), B: legFixture({ r: 90 }) } }))).toBe('fair');
    expect(qualityOf(recordFixture({ legs: { A: legFixture({ r: 90 }), B: legFixture({ r: 69.9 }) } }))).toBe('poor');
    expect(formatDuration(850)).toBe('0.9s');
    expect(formatDuration(62_000)).toBe('1m02s');
    expect(formatDuration(3_723_000)).toBe('1h02m03s');
  });

  it('--since: durations back from now, or an ISO date-time; anything else is refused', () => {
    const now = Date.UTC(2026, 11, 7, 12, 0, 0);
    expect(parseSince('90s', now).toISOString()).toBe('2026-12-07T11:58:30.000Z');
    expect(parseSince('10m', now).toISOString()).toBe('2026-12-07T11:50:00.000Z');
    expect(parseSince('2h', now).toISOString()).toBe('2026-12-07T10:00:00.000Z');
    expect(parseSince('7d', now).toISOString()).toBe('2026-11-30T12:00:00.000Z');
    expect(parseSince('2026-12-01T08:30:00+01:00').toISOString()).toBe('2026-12-01T07:30:00.000Z');
    for (const bad of ['', '10', '10x', 'yesterday', '2026-12-01', '2026-12-01T08:30:00', '2026-13-01T00:00:00Z']) {
      expect(() => parseSince(bad, now), bad).toThrow(RangeError);
    }
  });
});
