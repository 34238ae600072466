import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BurstLog, type WarnSink } from '../../../common/src/burst-log.js';

interface Line {
  fields: Record<string, unknown>;
  message: string;
}

function recorder(): { log: WarnSink; lines: Line[] } {
  const lines: Line[] = [];
  return { lines, log: { warn: (fields, message) => void lines.push({ fields, message }) } };
}

type Cause = 'pool-exhausted' | 'store-down';

describe('BurstLog', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const make = (intervalMs = 5000) => {
    const { log, lines } = recorder();
    const burst = new BurstLog<Cause>(log, { what: 'calls rejected', reasons: ['pool-exhausted', 'store-down'], labels: { 'pool-exhausted': 'pool exhausted' }, intervalMs });
    return { burst, lines };
  };

  it('logs the first of a burst at once with its details, then one summary per window', () => {
    const { burst, lines } = make();
    burst.add('pool-exhausted', { callerChannelId: 'c1' });
    expect(lines).toEqual([{ fields: { callerChannelId: 'c1', reason: 'pool-exhausted', total: 1 }, message: 'calls rejected: pool exhausted' }]);
    for (let i = 2; i <= 1392; i++) burst.add('pool-exhausted', { callerChannelId: `c${i}` });
    expect(lines).toHaveLength(1);
    vi.advanceTimersByTime(5000);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toEqual({
      fields: { reason: 'pool-exhausted', count: 1391, total: 1392, windowMs: 5000 },
      message: 'calls rejected: 1391 more in the last 5 s (pool exhausted)',
    });
    // A quiet window closes the burst without a line; the next occurrence opens a new one at once.
    vi.advanceTimersByTime(5000);
    expect(lines).toHaveLength(2);
    burst.add('pool-exhausted');
    expect(lines).toHaveLength(3);
    expect(lines[2]?.message).toBe('calls rejected: pool exhausted');
    expect(burst.counts()).toEqual({ 'pool-exhausted': 1393, 'store-down': 0 });
  });

  it('a sustained flood costs one line per window', () => {
    const { burst, lines } = make(1000);
    for (let second = 0; second < 30; second++) {
      for (let i = 0; i < 100; i++) burst.add('pool-exhausted');
      vi.advanceTimersByTime(1000);
    }
    expect(lines).toHaveLength(31);
    expect(lines.slice(1).every((l) => l.fields['count'] === 100 || l.fields['count'] === 99)).toBe(true);
    expect(lines.slice(1).reduce((n, l) => n + Number(l.fields['count']), 0)).toBe(2999);
  });

  it('keeps reasons apart, and says an unlabelled reason as it is', () => {
    const { burst, lines } = make();
    burst.add('pool-exhausted');
    burst.add('store-down', { err: 'connection refused' });
    burst.add('store-down');
    expect(lines.map((l) => l.message)).toEqual(['calls rejected: pool exhausted', 'calls rejected: store-down']);
    vi.advanceTimersByTime(5000);
    expect(lines.map((l) => l.message).slice(2)).toEqual(['calls rejected: 1 more in the last 5 s (store-down)']);
  });

  it('close reports what is pending, stops its timers and keeps counting silently', () => {
    const { burst, lines } = make();
    burst.add('pool-exhausted');
    burst.add('pool-exhausted');
    burst.close();
    burst.close();
    expect(lines.map((l) => l.fields['count'] ?? null)).toEqual([null, 1]);
    expect(vi.getTimerCount()).toBe(0);
    burst.add('pool-exhausted');
    expect(lines).toHaveLength(2);
    expect(burst.counts()['pool-exhausted']).toBe(3);
  });

  it('refuses a window that is not positive', () => {
    expect(() => new BurstLog(recorder().log, { what: 'x', reasons: ['a'], intervalMs: 0 })).toThrow(RangeError);
  });
});
