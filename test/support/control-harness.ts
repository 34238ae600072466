import { AsteriskSimulator, type EndpointConfig, type EventOrder, type SimulatorOptions } from '../../tools/asterisk-simulator/ari/index.js';
import type { CallConfigInput } from '../../control/src/calls/index.js';
import { TandemNode } from '../../control/src/node/tandem-node.js';
import type { TeardownReason } from '../../control/src/calls/index.js';
import { freePortRange } from './ports.js';
import { waitFor } from './rtp-peer.js';

export interface Harness {
  sim: AsteriskSimulator;
  node: TandemNode;
  closed: Array<{ pairId: string; reason: TeardownReason }>;
  active: string[];
  rejected: string[];
  close(): Promise<void>;
}

/**
 * A Tandem node wired to a fresh Asterisk simulator: real ARI over HTTP and
 * WebSocket, real UDP media, an in-memory pair store. Each harness gets its
 * own free engine port range (test/support/ports.ts), so parallel test files,
 * and two test runs on one host, never share engine ports.
 */
export async function startHarness(options: {
  endpoints?: Record<string, EndpointConfig>;
  poolSize?: number;
  eventOrder?: EventOrder;
  workers?: number;
  calls?: Pick<CallConfigInput, 'originateTimeoutSeconds' | 'answerDeadlineMs' | 'format' | 'mediaTransport' | 'mediaUrl' | 'translation'>;
  simulator?: Pick<SimulatorOptions, 'mediaConnectTimeoutMs' | 'externalMediaStasisDelayMs'>;
}): Promise<Harness> {
  const sim = await AsteriskSimulator.start({
    username: 'tandem',
    password: 'test-secret',
    eventOrder: options.eventOrder ?? 'recorded',
    ...(options.endpoints ? { endpoints: options.endpoints } : {}),
    ...(options.simulator ?? {}),
  });
  const portRange = await freePortRange(1000);
  let node: TandemNode;
  try {
    node = await TandemNode.start({
      // A request on a loaded box can take longer than the production deadline (5 s): this one only ends a stuck test.
      engine: { workers: options.workers ?? 2, portRange, requestTimeoutMs: 30_000 },
      store: { poolSize: options.poolSize ?? 50 },
      ari: { url: sim.ariUrl, username: 'tandem', password: 'test-secret' },
      ...(options.calls ? { calls: options.calls } : {}),
    });
  } catch (err) {
    await sim.close();
    throw err;
  }
  const harness: Harness = {
    sim,
    node,
    closed: [],
    active: [],
    rejected: [],
    async close() {
      await node.close();
      await sim.close();
    },
  };
  node.app.on('pairclosed', (pairId, reason) => harness.closed.push({ pairId, reason }));
  node.app.on('pairactive', (pair) => harness.active.push(pair.pairId));
  node.app.on('callrejected', (channelId) => harness.rejected.push(channelId));
  return harness;
}

/** Everything a pair created is gone: channels, bridges, engine sockets, leases. */
export async function expectAllReleased(h: Harness): Promise<void> {
  await waitFor(() => h.node.app.pairCount === 0, 10_000);
  await waitFor(() => h.sim.channels().length === 0 && h.sim.bridges().length === 0, 10_000);
  const leases = await h.node.store.list();
  if (leases.length !== 0) throw new Error(`leases left: ${leases.map((l) => l.pairId).join(',')}`);
  const stats = await h.node.engine.stats();
  if (stats.pairs !== 0 || stats.sockets !== 0) throw new Error(`engine still has ${stats.pairs} pairs / ${stats.sockets} sockets`);
}
