import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RedisPairStore } from '../../../control/src/alloc/index.js';
import { defaultNodeName, NodeIdentityInUseError } from '../../../control/src/node/node-identity.js';
import { TandemNode } from '../../../control/src/node/tandem-node.js';
import { AsteriskSimulator, tone } from '../../../tools/asterisk-simulator/ari/index.js';
import { waitFor } from '../../support/rtp-peer.js';
import { deletePrefix, REDIS_URL, testPrefix } from '../alloc/redis-helpers.js';
import { freePortRange } from '../../support/ports.js';

const cli = fileURLToPath(new URL('../../../tools/cli/main.ts', import.meta.url));
const answering = { behaviour: 'answer' as const, answerAfterMs: 20, audio: tone(880) };
// Long leases: whatever is freed below was freed by reconciliation, not by a TTL running out.
const LEASE_TTL_MS = 600_000;
/** `tandem start`'s engine ports: a free range of this file's own (test/support/ports.ts). */
const START_RANGE = await freePortRange(50);
const START_PORTS = `${START_RANGE.min}-${START_RANGE.max}`;

/** `tandem start` in its own process; `says` waits for its output, failing at once with it if the process exits first. */
function tandemStart(env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string; says: (text: string) => Promise<void>; exited: Promise<unknown> } {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, 'start', '--workers', '1', '--ports', START_PORTS, '--no-api'], {
    env: { ...process.env, TANDEM_LOG_LEVEL: 'info', DATABASE_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  let gone = false;
  const exited = new Promise((resolve) => child.on('exit', resolve)).then(() => (gone = true));
  return {
    child,
    output: () => out,
    exited,
    says: async (text) => {
      await waitFor(() => out.includes(text) || gone, 120_000, 50);
      if (!out.includes(text)) throw new Error(`tandem start exited before saying ${JSON.stringify(text)}:\n${out}`);
    },
  };
}

describe('a node killed and started again under its name (Redis)', () => {
  it("frees its predecessor's leg B, externalMedia channels, bridges and leases at start; another live node's stay", async () => {
    const prefix = testPrefix();
    const store = { redisUrl: REDIS_URL, redisKeyPrefix: prefix, poolSize: 6, leaseTtlMs: LEASE_TTL_MS };
    // Each node has its own Asterisk (one Stasis app per node and Asterisk).
    const ours = await AsteriskSimulator.start({ username: 'tandem', password: 'ari-secret', endpoints: { '7001': answering, '7003': answering, '7005': answering, '7007': answering } });
    const theirs = await AsteriskSimulator.start({ username: 'tandem', password: 'ari-secret', endpoints: { '7001': answering, '7003': answering, '7005': answering } });
    const admin = new RedisPairStore({ redisUrl: REDIS_URL, keyPrefix: prefix, poolSize: 6 });
    let other: TandemNode | null = null;
    let successor: TandemNode | null = null;
    let first: ReturnType<typeof tandemStart> | null = null;
    try {
      other = await TandemNode.start({
        engine: { workers: 1, portRange: await freePortRange(50), requestTimeoutMs: 30_000 },
        store: { ...store, node: 'other-node' },
        ari: { url: theirs.ariUrl, username: 'tandem', password: 'ari-secret' },
      });
      const otherActive: string[] = [];
      other.app.on('pairactive', (p) => otherActive.push(p.pairId));
      theirs.placeCall({ callerNumber: '501', audio: tone(440) });
      theirs.placeCall({ callerNumber: '502', audio: tone(440) });
      await waitFor(() => otherActive.length === 2, 30_000);

      first = tandemStart({
        ARI_URL: ours.ariUrl,
        ARI_PASSWORD: 'ari-secret',
        REDIS_URL,
        TANDEM_REDIS_PREFIX: prefix,
        TANDEM_POOL_SIZE: '6',
        TANDEM_LEASE_TTL_MS: String(LEASE_TTL_MS),
        // No TANDEM_NODE: the default name must be one a restart keeps.
      });
      await first.says('tandem running');
      const name = defaultNodeName('pair_session');
      ours.placeCall({ callerNumber: '401', audio: tone(440) });
      ours.placeCall({ callerNumber: '402', audio: tone(440) });
      const activeOf = async (node: string): Promise<string[]> =>
        (await admin.list()).filter((l) => l.node === node && l.state === 'active').map((l) => l.pairId);
      let ourPairs: string[] = [];
      const until = Date.now() + 60_000;
      while (ourPairs.length < 2 && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 50));
        ourPairs = await activeOf(name);
      }
      expect(ourPairs).toHaveLength(2);

      // A second live process under the same name is refused, and touches nothing.
      const refused = await TandemNode.start({
        engine: { workers: 1, portRange: await freePortRange(50), requestTimeoutMs: 30_000 },
        store,
        ari: { url: ours.ariUrl, username: 'tandem', password: 'ari-secret' },
      }).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(NodeIdentityInUseError);
      expect(await activeOf(name)).toEqual(ourPairs);

      // The crash: the process is killed, nothing is torn down.
      first.child.kill('SIGKILL');
      await first.exited;
      const legsB = ourPairs.map((p) => `chan_${p}_B`);
      const up = new Set(ours.channels().filter((c) => c.state === 'Up').map((c) => c.id));
      for (const legB of legsB) expect(up.has(legB)).toBe(true);
      expect(ours.bridges()).toHaveLength(4);
      expect(ours.channels()).toHaveLength(8);

      successor = await TandemNode.start({
        engine: { workers: 1, portRange: await freePortRange(50), requestTimeoutMs: 30_000 },
        store,
        ari: { url: ours.ariUrl, username: 'tandem', password: 'ari-secret' },
      });
      // Reconciliation at start: waited for, not timed (the leases would have lasted 10 minutes).
      await waitFor(() => ours.channels().length === 0 && ours.bridges().length === 0, 30_000);
      const leases = await admin.list();
      expect(leases.filter((l) => l.node === name)).toEqual([]);
      // The other node's calls and leases are untouched.
      expect(leases.filter((l) => l.node === 'other-node').map((l) => [l.pairId, l.state])).toEqual(otherActive.map((p) => [p, 'active']));
      expect(other.app.pairCount).toBe(2);
      expect(theirs.channels()).toHaveLength(8);
      expect(theirs.bridges()).toHaveLength(4);

      // And the restarted node serves calls again.
      const again: string[] = [];
      successor.app.on('pairactive', (p) => again.push(p.pairId));
      ours.placeCall({ callerNumber: '403', audio: tone(440) });
      await waitFor(() => again.length === 1, 30_000);
      expect(otherActive).not.toContain(again[0]);
    } finally {
      if (first && first.child.exitCode === null && first.child.signalCode === null) first.child.kill('SIGKILL');
      await successor?.close();
      await other?.close();
      await admin.close();
      await ours.close();
      await theirs.close();
      await deletePrefix(prefix);
    }
  }, 240_000);
});
