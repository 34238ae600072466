import { describe, expect, it } from 'vitest';
import { runViaAriLoadTest, SETUP_STEPS } from '../../../tools/call-load/index.js';
import { keysUnder, REDIS_URL } from '../alloc/redis-helpers.js';
import { VIA_ARI_ON_A_BUSY_MACHINE } from '../../support/busy-machine.js';
import { freePortRange } from '../../support/ports.js';

describe('tandem loadtest --via-ari, Tandem in its own process', () => {
  it('20 calls at 5/s through `tandem start` as a child: all set up with audio both ways, the child exits cleanly, nothing left', async () => {
    const ports = await freePortRange(100);
    const r = await runViaAriLoadTest({ calls: 20, ratePerSecond: 5, holdSeconds: 1, ...VIA_ARI_ON_A_BUSY_MACHINE, portRange: ports });
    expect(r.process_mode).toBe('node-process');
    expect(r.tandem_command?.endsWith(` start --workers 1 --ports ${ports.min}-${ports.max}`)).toBe(true);
    expect(r).toMatchObject({ calls: 20, placed: 20, set_up: 20, failed: 0, rejected: 0, failures: {}, rejections: {}, early_teardowns: {} });
    expect(r.audio_wrong_examples).toEqual([]);
    expect(r.audio_ok).toBe(20);
    // What Tandem's child held is checked from outside: the simulator, Tandem's API (leases), /proc (sockets).
    expect(r.leftovers).toEqual({ channels: 0, bridges: 0, leases: 0, pairs: null, engine_pairs: null, engine_sockets: 0 });
    expect(r.teardown_complete).toBe(true);
    expect(r.stopped_by_deadline).toBe(false);
    expect(r.tandem_exited_early).toBe(false);
    expect(r.tandem_exit).toMatchObject({ code: 0, signal: null, killed: false });
    expect(r.tandem_warnings).toBe(0);
    // The ARI part ends at leg B bridged, which the simulator saw for every call.
    expect(r.setup_control.count).toBe(20);
    expect(r.setup_media.count).toBe(20);
    expect(r.setup_p99_ms).toBeGreaterThanOrEqual(r.setup_control.p99_ms!);
    expect(r.setup_tandem_pair.count).toBe(0);
    for (const step of SETUP_STEPS) expect(r.setup_steps[step].count, step).toBe(20);
    expect(r.setup_steps.first_request.p50_ms!).toBeLessThanOrEqual(r.setup_steps.legb_bridged.p50_ms!);
    // 10 setup and 5 teardown requests per call, each seen by the simulator.
    expect(r.ari_ops).toMatchObject({
      createBridge: { count: 40 },
      originate: { count: 20 },
      externalMedia: { count: 40 },
      addChannel: { count: 60 },
      setVariable: { count: 40 },
      hangup: { count: 60 },
      destroyBridge: { count: 40 },
    });
    expect(r.ari_requests_per_call).toBe(15);
    expect(r.ari_request_bound).toBe(40);
    expect(r.ari_max_inflight).toBeNull();
    expect(r.ari_max_connections).toBeLessThanOrEqual(r.session_limit);
    // Tandem's CPU is read from its own process; the driver's is this process's.
    expect(r.tandem_cpu?.cpu_pct).toBeGreaterThan(0);
    expect(r.tandem_cpu?.main_thread_cpu_pct).toBeGreaterThan(0);
    expect(r.engine_cpu_pct).toBeNull();
    expect(r.machine_cpu_pct).toBeGreaterThan(0);
    // 20 calls over 4 s: every set-up call is in the per-second view.
    expect(r.setup_by_second.reduce((n, b) => n + b.calls, 0)).toBe(20);
    expect(r.setup_by_second.length).toBeGreaterThanOrEqual(4);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  }, 240_000);
});

describe('tandem loadtest --via-ari, Tandem in its own process with pairs in Redis', () => {
  it('a pool smaller than the concurrency: Tandem refuses the calls it has no pair for, nothing is left in Redis', async () => {
    const r = await runViaAriLoadTest({ calls: 15, ratePerSecond: 5, holdSeconds: 1.5, ...VIA_ARI_ON_A_BUSY_MACHINE, poolSize: 3, redisUrl: REDIS_URL, portRange: await freePortRange(20) });
    expect(r.redis_url).toBe(REDIS_URL);
    expect(r.redis_key_prefix).toMatch(/^tandem:loadtest:[0-9a-f]{12}:$/);
    // Read from the simulator: Tandem hung the caller up (congestion) before tagging it with a pair.
    expect(r.rejected).toBeGreaterThan(0);
    expect(r.rejections).toEqual({ 'hangup-congestion': r.rejected });
    expect(r.set_up).toBeGreaterThanOrEqual(3);
    expect(r.set_up + r.rejected).toBe(15);
    expect(r.failed).toBe(0);
    expect(r.early_teardowns).toEqual({});
    expect(r.leftovers).toEqual({ channels: 0, bridges: 0, leases: 0, pairs: null, engine_pairs: null, engine_sockets: 0 });
    expect(r.tandem_exit).toMatchObject({ code: 0, killed: false });
    // Pool exhaustion is a warning in Tandem's log, once per burst rather than once per call.
    expect(r.tandem_warnings).toBeGreaterThanOrEqual(1);
    expect(r.tandem_warnings).toBeLessThanOrEqual(r.rejected);
    expect(await keysUnder(r.redis_key_prefix!)).toEqual([]);
  }, 240_000);
});
