import { describe, expect, it } from 'vitest';
import { renderHtmlReport } from '../../../tools/soak/html-report.js';
import { runSoak, type SoakOptions } from '../../../tools/soak/soak.js';
import { freePortRange } from '../../support/ports.js';
import { BUSY_MACHINE_SETUP_TIMEOUT_MS } from '../../support/busy-machine.js';

const PG_ADMIN_URL = process.env['TANDEM_TEST_PG_ADMIN_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** Short bounded runs: a warm-up, a small churn and one fault phase each, no drain. */
const small: SoakOptions = { calls: 40, ratePerSecond: 10, maxConcurrent: 8, holdMs: [1500, 3000], setupTimeoutMs: BUSY_MACHINE_SETUP_TIMEOUT_MS, seed: 11, drain: false };

describe('tandem soak faults', () => {
  it("Asterisk's HTTP server at sessionlimit: calls set up again once it serves, none up across it dropped, nothing left; the HTML report plots the run", async () => {
    const report = await runSoak({ ...small, faultList: ['http-stall'], portRange: await freePortRange(100) });
    const stall = report.phases.find((p) => p.name === 'http-stall');
    expect(stall?.fault_note).toMatch(/^every HTTP session taken for 3000 ms/);
    expect(stall?.fault_ms).toBeGreaterThanOrEqual(3000);
    expect(stall?.recovery_ms).not.toBeNull();
    expect(stall?.dropped).toEqual({});
    for (const phase of report.phases) expect(phase.leftovers).toEqual({ channels: 0, bridges: 0, leases: 0, engine_sockets: 0 });
    expect(report.failures).toEqual([]);

    const html = renderHtmlReport(report);
    for (const series of ['calls_up', 'leases', 'setup_p50_ms', 'setup_p99_ms', 'fds', 'sockets', 'rss_mb', 'heap_used_mb']) expect(html).toContain(`data-series="${series}"`);
    expect(html).toContain('data-fault="http-stall"');
  }, 300_000);

  it('PostgreSQL unreachable (the proxy cut): the node reports it up again, calls carry on, records of calls outside the cut are stored', async () => {
    const report = await runSoak({ ...small, faultList: ['postgres-unreachable'], databaseUrl: PG_ADMIN_URL, portRange: await freePortRange(100) });
    expect(report.database).toBe(true);
    const cut = report.phases.find((p) => p.name === 'postgres-unreachable');
    expect(cut?.fault_note).toMatch(/^PostgreSQL unreachable for 3000 ms/);
    expect(cut?.link_recovery_ms).not.toBeNull();
    expect(cut?.recovery_ms).not.toBeNull();
    expect(cut?.dropped).toEqual({});
    // Every record of the phases without the cut reached the database.
    for (const phase of report.phases.filter((p) => p.fault === 'none')) {
      expect(phase.records?.ended).toBeGreaterThan(0);
      expect(phase.records?.stored).toBe(phase.records?.ended);
    }
    for (const phase of report.phases) expect(phase.leftovers).toEqual({ channels: 0, bridges: 0, leases: 0, engine_sockets: 0 });
    expect(report.failures).toEqual([]);
  }, 300_000);

  it('AMI dropped: the node logs in again, no call dropped, records all stored', async () => {
    const report = await runSoak({ ...small, faultList: ['ami-drop'], databaseUrl: PG_ADMIN_URL, portRange: await freePortRange(100) });
    const drop = report.phases.find((p) => p.name === 'ami-drop');
    expect(drop?.fault_note).toBe("the simulator's AMI reset every session");
    expect(drop?.link_recovery_ms).not.toBeNull();
    expect(drop?.recovery_ms).not.toBeNull();
    expect(drop?.dropped).toEqual({});
    expect(drop?.records).not.toBeNull();
    expect(drop?.records?.stored).toBe(drop?.records?.ended);
    expect(report.failures).toEqual([]);
    expect(report.verdict).toBe('pass');
  }, 300_000);

  it('an engine worker killed: its calls are lost within reach (torn down, nothing left), the other worker\'s calls carry audio on, the worker comes back', async () => {
    const report = await runSoak({ ...small, calls: 60, workers: 2, faultList: ['worker-kill'], portRange: await freePortRange(100) });
    const kill = report.phases.find((p) => p.name === 'worker-kill');
    expect(kill?.fault_note).toMatch(/^engine worker 0 terminated with \d+ pairs on it$/);
    expect(kill?.fault_ms).not.toBeNull();
    expect(kill?.recovery_ms).not.toBeNull();
    // Only calls whose pairs were on the killed worker may be lost.
    const onWorker = Number(/with (\d+) pairs/.exec(kill?.fault_note ?? '')?.[1]);
    expect(kill!.lost_within_reach).toBeLessThanOrEqual(onWorker);
    // Calls on the surviving worker, up across the kill, were checked for audio after it: none dropped.
    expect(kill?.dropped).toEqual({});
    for (const phase of report.phases) expect(phase.leftovers).toEqual({ channels: 0, bridges: 0, leases: 0, engine_sockets: 0 });
    expect(report.failures).toEqual([]);
  }, 300_000);
});
