import { describe, expect, it } from 'vitest';
import { GENERATOR_LATE_LIMIT_MS, MIN_PROBE_PAIRS, searchSustainedPairs, type EngineRun, type SearchPlan, type SearchSide } from '../../../tools/bench/native/run-native.js';

/** A fake run: sustained below `limit` pairs. */
function fakeRun(side: SearchSide, pairs: number, limit: number, generatorLateMs = 1): EngineRun {
  const sustained = pairs <= limit;
  return {
    variant: side === 'tandem' ? 'tandem' : 'c-relay-mmsg',
    pairs,
    loss_pct: sustained ? 0 : 1,
    cpu_pct: 10,
    cpu_s: 1,
    packets_in: 100,
    packets_out: 100,
    relayed_packets: 100,
    cpu_us_per_packet: 10,
    generator_send_late_p99_ms: generatorLateMs,
    latency_p50_ms: 1,
    latency_p99_ms: 2,
    sustained,
    run_s: 10,
  };
}

const plan: SearchPlan = { steps: [200, 400, 600, 800, 1000], loadPairs: 300, seconds: 8, stepCostSeconds: 17, budgetSeconds: 225 };

async function search(limits: Record<SearchSide, number>, elapsed: () => number = () => 0) {
  const calls: Array<[SearchSide, number]> = [];
  const result = await searchSustainedPairs(
    plan,
    { tandem: fakeRun('tandem', 300, limits.tandem), c_mmsg: fakeRun('c_mmsg', 300, limits.c_mmsg) },
    async (side, pairs) => {
      calls.push([side, pairs]);
      return fakeRun(side, pairs, limits[side]);
    },
    elapsed,
    () => undefined,
  );
  return { result, calls };
}

describe('sustained-pairs search', () => {
  it('steps up per side until its first failure, reusing the comparison load as a step', async () => {
    const { result, calls } = await search({ tandem: 450, c_mmsg: 5000 });
    expect(result.tandem.map((r) => r.pairs)).toEqual([200, 300, 400, 600]);
    expect(result.c_mmsg.map((r) => r.pairs)).toEqual([200, 300, 400, 600, 800, 1000]);
    expect(calls.some(([, pairs]) => pairs === 300)).toBe(false);
    expect(result.tandem_sustained_pairs).toBe(400);
    expect(result.c_sustained_pairs).toBe(1000);
    expect(result.tandem_censored).toBe(false);
    expect(result.c_censored).toBe(true);
    expect(result.skipped_steps).toEqual([]);
  });

  it('probes down by halving when a side fails the first step', async () => {
    const { result } = await search({ tandem: 60, c_mmsg: 900 });
    expect(result.tandem.map((r) => r.pairs)).toEqual([200, 100, 50]);
    expect(result.tandem_sustained_pairs).toBe(50);
    expect(result.c_sustained_pairs).toBe(800);
  });

  it('gives 0 when even the smallest probe fails', async () => {
    const { result } = await search({ tandem: 0, c_mmsg: 900 });
    expect(result.tandem.at(-1)!.pairs).toBeGreaterThanOrEqual(MIN_PROBE_PAIRS);
    expect(result.tandem.every((r) => !r.sustained)).toBe(true);
    expect(result.tandem_sustained_pairs).toBe(0);
  });

  it('skips the steps that would overrun the time budget and leaves the limit open', async () => {
    let now = 0;
    const { result, calls } = await search({ tandem: 5000, c_mmsg: 5000 }, () => (now += 40));
    expect(result.skipped_steps.length).toBeGreaterThan(0);
    expect(calls.every(([, pairs]) => !result.skipped_steps.includes(pairs))).toBe(true);
    expect(result.tandem_censored).toBe(true);
    expect(result.tandem_sustained_pairs).toBeLessThan(1000);
  });

  it('runs a failed step once more when the generator itself was late, and lets the second run decide', async () => {
    const calls: Array<[SearchSide, number]> = [];
    const busyOnce = new Set<string>(['tandem 400', 'c_mmsg 600']);
    const result = await searchSustainedPairs(
      plan,
      { tandem: fakeRun('tandem', 300, 5000), c_mmsg: fakeRun('c_mmsg', 300, 5000) },
      async (side, pairs) => {
        calls.push([side, pairs]);
        const key = `${side} ${pairs}`;
        // The first run of these steps meets a busy machine: loss, and a late generator.
        if (busyOnce.delete(key)) return fakeRun(side, pairs, 0, GENERATOR_LATE_LIMIT_MS + 40);
        // c_mmsg at 800 fails for real: the generator was on time.
        return fakeRun(side, pairs, side === 'c_mmsg' ? 799 : 5000);
      },
      () => 0,
      () => undefined,
    );
    expect(result.retried_steps).toEqual([
      { side: 'tandem', pairs: 400 },
      { side: 'c_mmsg', pairs: 600 },
    ]);
    expect(calls.filter(([side, pairs]) => side === 'tandem' && pairs === 400)).toHaveLength(2);
    expect(calls.filter(([side, pairs]) => side === 'c_mmsg' && pairs === 800)).toHaveLength(1);
    expect(result.c_sustained_pairs).toBe(600);
    expect(result.tandem_sustained_pairs).toBe(1000);
  });
});
