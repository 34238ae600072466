import { describe, expect, it } from 'vitest';
import { runViaAriLoadTest, type ViaAriReport } from '../../../tools/call-load/index.js';
import { VIA_ARI_ON_A_BUSY_MACHINE } from '../../support/busy-machine.js';
import { freePortRange } from '../../support/ports.js';

/** Nothing a call created is left: channels, bridges, leases, pairs, engine pairs and sockets. */
function expectNothingLeft(r: ViaAriReport): void {
  expect(r.leftovers).toEqual({ channels: 0, bridges: 0, leases: 0, pairs: 0, engine_pairs: 0, engine_sockets: 0 });
  expect(r.teardown_complete).toBe(true);
  expect(r.stopped_by_deadline).toBe(false);
}

const BUSY_MACHINE = VIA_ARI_ON_A_BUSY_MACHINE;

describe('tandem loadtest --via-ari --in-process', () => {
  it('20 calls at 10/s, hold 2 s from set-up: every call set up with audio both ways, percentiles present, nothing left', async () => {
    const r = await runViaAriLoadTest({ processMode: 'in-process', calls: 20, ratePerSecond: 10, holdSeconds: 2, ...BUSY_MACHINE, portRange: await freePortRange(100) });
    expect(r).toMatchObject({ calls: 20, placed: 20, set_up: 20, failed: 0, rejected: 0, failures: {}, rejections: {} });
    // Each caller heard leg B's tone and each leg B the caller's, through the engine.
    expect(r.audio_wrong_examples).toEqual([]);
    expect(r.audio_ok).toBe(20);
    expect(r.setup_p50_ms).toBeGreaterThan(0);
    expect(r.setup_p99_ms).toBeGreaterThanOrEqual(r.setup_p50_ms!);
    expect(r.setup_max_ms).toBeGreaterThanOrEqual(r.setup_p99_ms!);
    expect(r.setup_control.count).toBe(20);
    expect(r.setup_media.count).toBe(20);
    // The ARI part ends before the whole setup does.
    expect(r.setup_control.p50_ms!).toBeLessThanOrEqual(r.setup_p50_ms!);
    expectNothingLeft(r);
    expect(r.ari_requests).toBeGreaterThan(20 * 10);
    expect(r.ari_max_inflight).toBeGreaterThanOrEqual(1);
    expect(r.ari_max_inflight).toBeLessThanOrEqual(r.ari_request_bound);
    expect(r.ari_max_connections).toBeLessThan(r.session_limit);
    expect(r.session_limit).toBe(100);
    expect(r.engine_cpu_pct).toBeGreaterThan(0);
    expect(r.process_mode).toBe('in-process');
    expect(r.tandem_cpu).toBeNull();
    expect(r.tandem_exit).toBeNull();
    // The simulator's view of the steps is there in this mode too.
    expect(r.setup_steps.legb_bridged.count).toBe(20);
    expect(r.setup_steps.rtp_from_engine.count).toBe(20);
    expect(r.ari_requests_per_call).toBe(15);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  }, 180_000);

  it('a pool smaller than the concurrency: rejections counted as pool-exhausted, nothing left', async () => {
    const r = await runViaAriLoadTest({ processMode: 'in-process', calls: 20, ratePerSecond: 10, holdSeconds: 2, ...BUSY_MACHINE, poolSize: 3, portRange: await freePortRange(20) });
    expect(r.pool_size).toBe(3);
    expect(r.rejected).toBeGreaterThan(0);
    expect(r.rejections).toEqual({ 'pool-exhausted': r.rejected });
    expect(r.set_up).toBeGreaterThanOrEqual(3);
    expect(r.set_up + r.failed + r.rejected).toBe(20);
    expect(r.failed).toBe(0);
    expectNothingLeft(r);
  }, 180_000);

  it('sessionlimit 10 and a burst of 30 calls: Tandem keeps its ARI sessions under the limit and completes', async () => {
    const r = await runViaAriLoadTest({ processMode: 'in-process', calls: 30, ratePerSecond: 300, holdSeconds: 2, ...BUSY_MACHINE, sessionLimit: 10, portRange: await freePortRange(180) });
    expect(r.session_limit).toBe(10);
    expect(r.ari_request_bound).toBe(7);
    expect(r.set_up).toBe(30);
    expect(r.failed).toBe(0);
    // 30 setups at once would put ~120 requests on the wire; the bound queued them.
    expect(r.ari_max_inflight).toBe(r.ari_request_bound);
    expect(r.ari_max_connections).toBeLessThanOrEqual(10);
    expectNothingLeft(r);
  }, 180_000);

  it('a hold counted from set-up: a setup longer than the hold (leg B rings 2 s, hold 0.5 s) is measured, not failed; from StasisStart it fails', async () => {
    const slow = { processMode: 'in-process', calls: 3, ratePerSecond: 10, holdSeconds: 0.5, ringMs: 2000 } as const;
    const fromSetUp = await runViaAriLoadTest({ ...slow, ...BUSY_MACHINE, portRange: await freePortRange(20) });
    expect(fromSetUp).toMatchObject({ set_up: 3, failed: 0 });
    expect(fromSetUp.setup_p50_ms).toBeGreaterThanOrEqual(2000);
    expectNothingLeft(fromSetUp);
    const fromStasisStart = await runViaAriLoadTest({ ...slow, portRange: await freePortRange(20) });
    expect(fromStasisStart).toMatchObject({ set_up: 0, failed: 3 });
    expectNothingLeft(fromStasisStart);
  }, 180_000);
});
