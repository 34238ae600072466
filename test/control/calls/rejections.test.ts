import { afterEach, describe, expect, it, vi } from 'vitest';
import { tone } from '../../../tools/asterisk-simulator/ari/index.js';
import { expectAllReleased, startHarness, type Harness } from '../../support/control-harness.js';
import { waitFor } from '../../support/rtp-peer.js';

/** Every line the control plane logs in this file, parsed: the real pino, into an array. */
const captured = vi.hoisted(() => ({ lines: [] as Array<Record<string, unknown>> }));
vi.mock('../../../common/src/logger.js', async () => {
  const { pino } = await import('pino');
  const root = pino({ level: 'info', base: null }, { write: (line: string) => void captured.lines.push(JSON.parse(line) as Record<string, unknown>) });
  return {
    logger: (namespace: string, bindings: Record<string, unknown> = {}) => root.child({ ns: namespace, ...bindings }),
    setLogLevel: (level: string) => void (root.level = level),
  };
});

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

const WARN = 40;

describe('rejected calls', () => {
  it('a flood against an exhausted pool is counted per cause and logged per burst, not per call', async () => {
    h = await startHarness({ poolSize: 1, workers: 1, endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 20, audio: tone(880) } } });
    const held = h.sim.placeCall({ callerNumber: '600', audio: tone(440) });
    await waitFor(() => h!.active.length === 1, 10_000);
    captured.lines.length = 0;

    const flood = 300;
    for (let i = 0; i < flood; i++) h.sim.placeCall({ callerNumber: `7${String(i).padStart(3, '0')}`, audio: tone(440) });
    await waitFor(() => h!.rejected.length === flood, 30_000);
    expect(h.node.app.rejections).toEqual({ 'pool-exhausted': flood, 'legb-unreachable': 0, 'allocation-failed': 0 });
    // Every rejected caller is gone (congestion), none left hanging in Stasis.
    await waitFor(() => h!.sim.channels().every((c) => !h!.rejected.includes(c.id)), 10_000);

    h.sim.hangup(held.channelId);
    await expectAllReleased(h);
    // Closing the node reports what the last window still held.
    await h.close();
    h = null;
    const warnings = captured.lines.filter((l) => l['level'] === WARN && l['ns'] === 'control.calls');
    // A handful of lines for 300 callers (one per 5 s window), never one per call.
    expect(warnings.length).toBeLessThan(20);
    // The first rejection at once, with its caller; then summaries, which account for the rest.
    expect(warnings[0]).toMatchObject({ msg: 'calls rejected: pool exhausted', reason: 'pool-exhausted', total: 1 });
    expect(typeof warnings[0]?.['callerChannelId']).toBe('string');
    const summaries = warnings.slice(1);
    expect(summaries.every((l) => typeof l['msg'] === 'string' && /^calls rejected: \d+ more in the last 5 s \(pool exhausted\)$/.test(l['msg']))).toBe(true);
    expect(summaries.reduce((n, l) => n + Number(l['count']), 0)).toBe(flood - 1);
  });
});
