import { createServer, request, Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidStateError } from '../../../common/src/errors.js';
import { AriServerMeter, type ServedRequest } from '../../../tools/call-load/index.js';

const servers: Server[] = [];
const agents: Agent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) a.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => {
    s.closeAllConnections();
    s.close(() => resolve());
  })));
});

/** A server that answers each request only when told to, so requests stay open. */
async function heldServer(): Promise<{ port: number; release: () => void; waiting: () => number }> {
  const held: Array<() => void> = [];
  const server = createServer((_req, res) => held.push(() => res.end('{}')));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    release: () => held.splice(0).forEach((answer) => answer()),
    waiting: () => held.length,
  };
}

function get(port: number, agent: Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/ari/channels', agent }, (res) => {
      res.resume();
      res.on('end', resolve);
    })
      .on('error', reject)
      .end();
  });
}

async function until(predicate: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000; // only ends a stuck test
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('AriServerMeter', () => {
  it('counts requests in flight and connections on its port only, and resets its peaks', async () => {
    const ari = await heldServer();
    const other = await heldServer();
    const meter = new AriServerMeter(ari.port);
    const agent = new Agent({ keepAlive: true });
    agents.push(agent);
    const first = [get(ari.port, agent), get(ari.port, agent), get(ari.port, agent), get(other.port, agent)];
    await until(() => ari.waiting() === 3 && other.waiting() === 1);
    expect(meter.snapshot()).toMatchObject({ inflightRequests: 3, maxInflightRequests: 3, maxInflightServer: 3, connections: 3, maxConnections: 3, requests: 3 });
    ari.release();
    other.release();
    await Promise.all(first);
    meter.resetPeaks();
    // Keep-alive: the three connections stay open (and count as sessions) with nothing in flight.
    expect(meter.snapshot()).toMatchObject({ inflightRequests: 0, maxInflightRequests: 0, connections: 3, maxConnections: 3 });
    const second = get(ari.port, agent);
    await until(() => ari.waiting() === 1);
    ari.release();
    await second;
    const s = meter.snapshot();
    expect(s).toMatchObject({ maxInflightRequests: 1, requests: 4, inflightRequests: 0 });
    expect(s.requestP50Ms).toBeGreaterThan(0);
    meter.close();
    meter.close();
    expect(meter.closed).toBe(true);
    expect(() => meter.snapshot()).toThrow(InvalidStateError);
  });

  it('tells each answered request on its port, timed inside the server, with its status', async () => {
    const ari = await heldServer();
    const other = await heldServer();
    const served: ServedRequest[] = [];
    const meter = new AriServerMeter(ari.port, { onServed: (r) => served.push(r) });
    const agent = new Agent({ keepAlive: true });
    agents.push(agent);
    const pending = [get(ari.port, agent), get(other.port, agent)];
    await until(() => ari.waiting() === 1 && other.waiting() === 1);
    await new Promise((r) => setTimeout(r, 20));
    ari.release();
    other.release();
    await Promise.all(pending);
    meter.close();
    expect(served).toHaveLength(1);
    expect(served[0]).toMatchObject({ method: 'GET', url: '/ari/channels', status: 200 });
    // Held 20 ms in the server before its answer.
    expect(served[0]!.finishedAt - served[0]!.startedAt).toBeGreaterThanOrEqual(15);
  });
});
