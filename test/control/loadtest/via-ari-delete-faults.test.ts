import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../common/src/errors.js';
import { parseViaAriConfig, registerViaAriOptions, runViaAriLoadTest, viaAriOptionsFromFlags, type ViaAriFlags, type ViaAriReport } from '../../../tools/call-load/index.js';
import { REDIS_URL } from '../alloc/redis-helpers.js';
import { VIA_ARI_ON_A_BUSY_MACHINE } from '../../support/busy-machine.js';
import { freePortRange } from '../../support/ports.js';

/**
 * Teardown under load when Asterisk answers hangups and bridge destroys slowly, or never
 * (issue 11, item 4): every call's objects are confirmed gone — or their pair is held and
 * the DELETE retried — so the run ends with nothing left, leases included.
 */
function expectNothingLeft(r: ViaAriReport): void {
  expect(r.leftovers).toEqual({ channels: 0, bridges: 0, leases: 0, pairs: 0, engine_pairs: 0, engine_sockets: 0 });
  expect(r.teardown_complete).toBe(true);
  expect(r.stopped_by_deadline).toBe(false);
}

/**
 * Every call placed and none refused. A DELETE Asterisk never answers holds one of Tandem's
 * bounded ARI request slots until its deadline, so setups queue behind them and a few may miss
 * the load test's setup deadline (the hold): counted as failed, and cleaned up like the rest.
 */
function expectCallsServed(r: ViaAriReport): void {
  expect(r).toMatchObject({ placed: 30, rejected: 0 });
  expect(r.set_up + r.failed).toBe(30);
  expect(r.set_up).toBeGreaterThan(0);
}

// A dropped DELETE costs one request deadline before its pair is held, then retries with backoff.
const FAULTS = { deleteDelayMs: [0, 300] as [number, number], deleteDropRate: 0.15, ariRequestTimeoutMs: 3000, teardownTimeoutMs: 120_000 };

describe('tandem loadtest --via-ari with slow and unanswered DELETEs', () => {
  it('flags and settings: --delete-delay-ms ms or min-max, --delete-drop 0..1, --ari-timeout-ms in-process only', () => {
    const program = new Command().exitOverride().configureOutput({ writeErr: () => undefined });
    let seen: ViaAriFlags | null = null;
    registerViaAriOptions(program.command('loadtest')).action((flags: ViaAriFlags) => {
      seen = flags;
    });
    program.parse(['loadtest', '--via-ari', '--in-process', '--delete-delay-ms', '0-300', '--delete-drop', '0.1', '--ari-timeout-ms', '3000', '--teardown-timeout-ms', '60000'], { from: 'user' });
    expect(viaAriOptionsFromFlags(seen as unknown as ViaAriFlags)).toEqual({ processMode: 'in-process', deleteDelayMs: [0, 300], deleteDropRate: 0.1, ariRequestTimeoutMs: 3000, teardownTimeoutMs: 60000 });
    program.parse(['loadtest', '--via-ari', '--delete-delay-ms', '50'], { from: 'user' });
    expect(viaAriOptionsFromFlags(seen as unknown as ViaAriFlags)).toMatchObject({ deleteDelayMs: 50 });
    expect(() => program.parse(['loadtest', '--delete-drop', '1.5'], { from: 'user' })).toThrow();
    expect(() => program.parse(['loadtest', '--delete-delay-ms', '300-'], { from: 'user' })).toThrow();
    expect(parseViaAriConfig({})).toMatchObject({ deleteDelayMs: 0, deleteDropRate: 0 });
    expect(() => parseViaAriConfig({ deleteDelayMs: [300, 100] })).toThrow(ConfigError);
    // tandem start's ARI deadline is its own (10 s).
    expect(() => parseViaAriConfig({ ariRequestTimeoutMs: 3000 })).toThrow(ConfigError);
  });

  it('memory store: 30 calls at 15/s, every object confirmed gone, nothing left', async () => {
    const r = await runViaAriLoadTest({ processMode: 'in-process', calls: 30, ratePerSecond: 15, holdSeconds: 2, ...VIA_ARI_ON_A_BUSY_MACHINE, poolSize: 40, portRange: await freePortRange(100), ...FAULTS });
    expectCallsServed(r);
    // The faults happened: ~150 DELETEs, delayed, and some never answered (P(none) ≈ 1e-10).
    expect(r.delete_faults.delayed).toBeGreaterThan(0);
    expect(r.delete_faults.dropped_kept + r.delete_faults.dropped_deleted).toBeGreaterThan(0);
    expectNothingLeft(r);
  }, 240_000);

  it('Redis store: the same, and no lease left in Redis', async () => {
    const r = await runViaAriLoadTest({ processMode: 'in-process', calls: 30, ratePerSecond: 15, holdSeconds: 2, ...VIA_ARI_ON_A_BUSY_MACHINE, poolSize: 40, redisUrl: REDIS_URL, portRange: await freePortRange(100), ...FAULTS });
    expectCallsServed(r);
    expect(r.delete_faults.dropped_kept + r.delete_faults.dropped_deleted).toBeGreaterThan(0);
    expectNothingLeft(r);
  }, 240_000);
});
