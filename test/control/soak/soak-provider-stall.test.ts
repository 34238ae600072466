import { describe, expect, it } from 'vitest';
import { runSoak } from '../../../tools/soak/soak.js';
import { freePortRange } from '../../support/ports.js';
import { BUSY_MACHINE_SETUP_TIMEOUT_MS } from '../../support/busy-machine.js';

describe('tandem soak --translate: a provider that stalls', () => {
  it('the provider reads audio and answers nothing for the window: the node notices (translation errors rise), calls up across it keep their audio (the ducked original), none dropped, it answers again after, nothing left', async () => {
    const report = await runSoak({
      calls: 60,
      ratePerSecond: 10,
      maxConcurrent: 8,
      holdMs: [1500, 3000],
      setupTimeoutMs: BUSY_MACHINE_SETUP_TIMEOUT_MS,
      seed: 11,
      drain: false,
      translate: true,
      faultList: ['provider-stall'],
      portRange: await freePortRange(100),
    });
    expect(report.translate).toBe(true);
    const phase = report.phases.find((p) => p.name === 'provider-stall');
    // Calls were up (translated) when it stalled.
    expect(Number(/\((\d+) sessions open\)/.exec(phase?.fault_note ?? '')?.[1])).toBeGreaterThan(0);
    const stall = phase?.provider_stall;
    // Tandem kept streaming to the stalled provider, which held back what it had to send.
    expect(stall?.sessions_caught).toBeGreaterThan(0);
    expect(stall?.audio_bytes_accepted).toBeGreaterThan(0);
    expect(stall?.stalled_ms).toBeGreaterThanOrEqual(3000);
    // Released, it answered a session again; the node's liveness check noticed the stall and
    // reported it as translation errors (tandem_translation_errors_total rose).
    expect(stall?.provider_recovery_ms).not.toBeNull();
    expect(stall?.node_translation_errors).toBeGreaterThan(0);
    // Calls up across the stall carried audio after it; a call placed after it set up.
    expect(phase?.checked_after_fault).toBeGreaterThan(0);
    expect(phase?.dropped).toEqual({});
    expect(phase?.recovery_ms).not.toBeNull();
    for (const p of report.phases) expect(p.leftovers).toEqual({ channels: 0, bridges: 0, leases: 0, engine_sockets: 0 });
    expect(report.failures).toEqual([]);
  }, 300_000);
});
