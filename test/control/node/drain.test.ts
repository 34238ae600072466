import { describe, expect, it } from 'vitest';
import { AsteriskSimulator, rms, tone, type HeardChunk } from '../../../tools/asterisk-simulator/ari/index.js';
import { closedPort, freePortRange } from '../../support/ports.js';
import { waitFor } from '../../support/rtp-peer.js';
import { tandemCli } from '../../support/tandem-cli-process.js';

const TOKEN = 'drain-test-token-0123456789';
const answering = { behaviour: 'answer' as const, answerAfterMs: 20, audio: tone(880) };

/** Chunks a phone heard that carry sound (the other party's tone), not silence. */
function voiced(chunks: readonly HeardChunk[]): number {
  return chunks.filter((c) => rms([c]) > 300).length;
}

async function readyz(port: number): Promise<{ status: number; body: { status: string; failing?: string[] } }> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; failing?: string[] } };
}

/** One call fully up: caller, leg B, two externalMedia channels, two bridges. */
function callUp(sim: AsteriskSimulator, calls: number): boolean {
  return sim.bridges().length === 2 * calls && sim.channels().filter((c) => c.state === 'Up').length === 4 * calls;
}

describe('graceful drain of tandem start', () => {
  it('SIGTERM: /readyz unready at once, a new caller rejected, the call in flight keeps its audio and ends by itself, exit 0', async () => {
    const sim = await AsteriskSimulator.start({ username: 'tandem', password: 'ari-secret', endpoints: { '7001': answering, '7003': answering } });
    const apiPort = await closedPort();
    const ports = await freePortRange(50);
    const tandem = tandemCli(['start', '--workers', '1', '--ports', `${ports.min}-${ports.max}`], {
      ARI_URL: sim.ariUrl,
      ARI_PASSWORD: 'ari-secret',
      TANDEM_API_TOKEN: TOKEN,
      TANDEM_API_PORT: String(apiPort),
      TANDEM_POOL_SIZE: '2',
      TANDEM_DRAIN_TIMEOUT_MS: '120000',
    });
    try {
      await tandem.says('tandem running');
      expect((await readyz(apiPort)).status).toBe(200);
      const call = sim.placeCall({ callerNumber: '555', audio: tone(440) });
      await waitFor(() => callUp(sim, 1) && voiced(sim.heard(call.channelId)) > 10, 30_000);

      tandem.kill('SIGTERM');
      await waitFor(() => tandem.output().includes('draining: no new calls'), 30_000);
      const unready = await readyz(apiPort);
      expect(unready.status).toBe(503);
      expect(unready.body.failing).toContain('draining');

      // A new caller while draining: hung up at once with congestion, no pair set up for it.
      const late = sim.placeCall({ callerNumber: '556', audio: tone(440) });
      expect(late.enteredStasis).toBe(true);
      await waitFor(() => !sim.channels().some((c) => c.id === late.channelId), 30_000);
      expect(sim.bridges()).toHaveLength(2);

      // The call in flight carries on: the caller keeps hearing leg B.
      const before = voiced(sim.heard(call.channelId));
      await waitFor(() => voiced(sim.heard(call.channelId)) > before + 25, 30_000);
      expect(tandem.child.exitCode).toBeNull();

      sim.hangup(call.channelId);
      expect(await tandem.exited).toBe(0);
      expect(sim.channels()).toEqual([]);
      expect(sim.bridges()).toEqual([]);
      expect(tandem.output()).toMatch(/"finished":1,"tornDown":0/);
      expect(tandem.output()).toContain('node draining');
      expect(tandem.output()).not.toMatch(/"level":50/);
    } finally {
      tandem.kill('SIGKILL');
      await sim.close();
    }
  }, 180_000);

  it('tandem drain over the API: calls still up at the deadline are torn down, everything released, exit 0', async () => {
    const sim = await AsteriskSimulator.start({ username: 'tandem', password: 'ari-secret', endpoints: { '7001': answering, '7003': answering } });
    const apiPort = await closedPort();
    const env = { TANDEM_API_TOKEN: TOKEN, TANDEM_API_PORT: String(apiPort) };
    const ports = await freePortRange(50);
    const tandem = tandemCli(['start', '--workers', '1', '--ports', `${ports.min}-${ports.max}`], {
      ARI_URL: sim.ariUrl,
      ARI_PASSWORD: 'ari-secret',
      TANDEM_POOL_SIZE: '2',
      TANDEM_DRAIN_TIMEOUT_MS: '1500',
      ...env,
    });
    try {
      await tandem.says('tandem running');
      const calls = [sim.placeCall({ callerNumber: '555', audio: tone(440) }), sim.placeCall({ callerNumber: '557', audio: tone(440) })];
      await waitFor(() => callUp(sim, 2), 30_000);

      // Without the token the route is refused like every other.
      expect((await fetch(`http://127.0.0.1:${apiPort}/v1/node/drain`, { method: 'POST' })).status).toBe(401);

      const drain = tandemCli(['drain'], env);
      expect(await drain.exited).toBe(0);
      expect(drain.output()).toContain('draining: 2 call(s) in flight may finish within 1500 ms');

      // Nobody hangs up: at the deadline the node tears both calls down itself and stops.
      expect(await tandem.exited).toBe(0);
      for (const call of calls) expect(sim.channels().some((c) => c.id === call.channelId)).toBe(false);
      expect(sim.channels()).toEqual([]);
      expect(sim.bridges()).toEqual([]);
      expect(tandem.output()).toMatch(/"finished":0,"tornDown":2/);
      expect(tandem.output()).toContain('stopped after a drain');
    } finally {
      tandem.kill('SIGKILL');
      await sim.close();
    }
  }, 180_000);
});
