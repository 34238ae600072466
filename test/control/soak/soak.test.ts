import { describe, expect, it } from 'vitest';
import { runSoak } from '../../../tools/soak/soak.js';
import { REDIS_URL } from '../alloc/redis-helpers.js';
import { freePortRange } from '../../support/ports.js';
import { BUSY_MACHINE_SETUP_TIMEOUT_MS } from '../../support/busy-machine.js';

const small = { calls: 80, ratePerSecond: 10, maxConcurrent: 8, holdMs: [1500, 3000] as [number, number], setupTimeoutMs: BUSY_MACHINE_SETUP_TIMEOUT_MS, seed: 7 };

describe('tandem soak', () => {
  it('churns calls through tandem start with every fault, ends with a drain, and passes with nothing left behind', async () => {
    const report = await runSoak({ ...small, portRange: await freePortRange(100) });
    expect(report.phases.map((p) => p.name)).toEqual(['warmup', 'churn', 'ari-websocket-drop', 'rtp-garbage', 'http-stall', 'worker-kill', 'node-restart']);
    for (const phase of report.phases) {
      expect(phase.leftovers).toEqual({ channels: 0, bridges: 0, leases: 0, engine_sockets: 0 });
      expect(phase.dropped).toEqual({});
      if (phase.fault !== 'none') expect(phase.recovery_ms).not.toBeNull();
    }
    expect(report.phases[1]!.failed, report.phases[1]!.failed_evidence.join('\n')).toEqual({});
    expect(report.phases[1]!.set_up).toBeGreaterThan(30);
    expect(report.drain).toMatchObject({ exit_code: 0, finished_or_torn_down: true });
    expect(report.samples.length).toBeGreaterThan(3);
    expect(report.samples.some((s) => s.rss_mb !== null && s.heap_used_mb !== null && s.fds !== null)).toBe(true);
    expect(report.failures).toEqual([]);
    expect(report.verdict).toBe('pass');
  }, 300_000);

  it('a paused Redis: rejected callers, then recovery, no call dropped and no lease left behind', async () => {
    const report = await runSoak({ ...small, calls: 40, faultList: ['redis-pause'], drain: false, redisUrl: REDIS_URL, portRange: await freePortRange(100) });
    const pause = report.phases.find((p) => p.name === 'redis-pause');
    expect(pause?.fault_note).toBe('CLIENT PAUSE 3000 ALL');
    expect(pause?.recovery_ms).not.toBeNull();
    expect(pause?.dropped).toEqual({});
    // An allocation that timed out but was carried out when Redis came back is reclaimed.
    for (const phase of report.phases) expect(phase.leftovers).toEqual({ channels: 0, bridges: 0, leases: 0, engine_sockets: 0 });
  }, 300_000);

  it('fails its verdict, with the evidence, when a restart drops the calls in flight (adoption off)', async () => {
    const report = await runSoak({ ...small, calls: 60, holdMs: [3000, 4000], faultList: ['node-restart'], drain: false, tandemEnv: { TANDEM_ADOPT_CALLS: 'false' }, portRange: await freePortRange(100) });
    const restart = report.phases.find((p) => p.name === 'node-restart');
    expect(restart).toBeDefined();
    expect(Object.values(restart!.dropped).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(report.verdict).toBe('fail');
    expect(report.failures.some((f) => f.startsWith('node-restart:') && f.includes('dropped'))).toBe(true);
  }, 300_000);
});
