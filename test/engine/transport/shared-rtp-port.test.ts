import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { logger } from '../../../common/src/logger.js';
import { EngineError } from '../../../engine/src/session/errors.js';
import type { DatagramIo } from '../../../engine/src/transport/datagram/index.js';
import { SharedRtpPort } from '../../../engine/src/transport/shared-rtp-port.js';
import { IMPLEMENTATIONS, openPort, pattern, udpSocketFds } from './datagram-helpers.js';

/**
 * The worker's shared RTP port over real UDP on 127.0.0.1, on both
 * implementations: datagrams reach the leg whose Asterisk source sent them,
 * anyone else's are dropped and counted, a turn's sends leave together.
 */
const closing: Array<{ close(): void }> = [];
afterEach(() => {
  for (const c of closing.splice(0)) c.close();
});

async function peer(): Promise<dgram.Socket & { received: Buffer[]; port: number }> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const received: Buffer[] = [];
  socket.on('message', (msg) => received.push(msg));
  closing.push(socket);
  return Object.assign(socket, { received, port: socket.address().port });
}

async function shared(io: DatagramIo): Promise<SharedRtpPort> {
  const port = new SharedRtpPort(await openPort(io, { batch: 32 }), logger('test.shared-rtp-port'));
  closing.push(port);
  return port;
}

function send(from: dgram.Socket, to: { port: number }, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => from.send(data, to.port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
}

function until(condition: () => boolean, what: string, deadlineMs = 10_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (condition()) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(check, 5);
    };
    check();
  });
}

describe.each(IMPLEMENTATIONS)('SharedRtpPort (%s)', (io) => {
  it("routes each datagram to the leg whose source sent it, a copy the leg may keep, and drops and counts a stranger's", async () => {
    const port = await shared(io);
    const [asteriskA, asteriskB, stranger] = [await peer(), await peer(), await peer()];
    const got: Array<{ leg: string; bytes: Buffer; address: string; port: number }> = [];
    const legA = port.openLeg();
    const legB = port.openLeg();
    legA.start((data, length, address, p) => got.push({ leg: 'A', bytes: Buffer.from(data.subarray(0, length)), address, port: p }), () => undefined);
    const keptByB: Uint8Array[] = [];
    legB.start((data, length, address, p) => {
      keptByB.push(data);
      got.push({ leg: 'B', bytes: Buffer.from(data.subarray(0, length)), address, port: p });
    }, () => undefined);
    expect(legA.local).toEqual(port.local);
    expect(legB.local).toEqual(port.local);
    await legA.connect({ address: '127.0.0.1', port: asteriskA.port });
    await legB.connect({ address: '127.0.0.1', port: asteriskB.port });

    for (let i = 0; i < 5; i++) {
      await send(asteriskA, port.local, pattern(10 + i, 172));
      await send(asteriskB, port.local, pattern(50 + i, 172));
      await send(stranger, port.local, pattern(90 + i, 172));
    }
    await until(() => got.length === 10 && port.stats().rxForeign === 5, 'ten routed datagrams and five foreign ones');
    expect(got.filter((g) => g.leg === 'A').map((g) => g.bytes[0])).toEqual([10, 11, 12, 13, 14]);
    expect(got.filter((g) => g.leg === 'B').map((g) => g.bytes[0])).toEqual([50, 51, 52, 53, 54]);
    expect(got.every((g) => g.address === '127.0.0.1' && g.port === (g.leg === 'A' ? asteriskA.port : asteriskB.port))).toBe(true);
    expect(got.find((g) => g.leg === 'A')?.bytes).toEqual(pattern(10, 172));
    // What B was handed is its own: later receive calls did not overwrite the first datagram.
    expect(Buffer.from(keptByB[0]!.subarray(0, 172))).toEqual(pattern(50, 172));
    expect(port.stats()).toMatchObject({ io, legs: 2, routedSources: 2, rxPackets: 15, rxForeign: 5 });

    // A leg that moves to another source stops hearing the old one (it is foreign now).
    await legA.connect({ address: '127.0.0.1', port: stranger.port });
    await send(asteriskA, port.local, pattern(20, 172));
    await send(stranger, port.local, pattern(30, 172));
    await until(() => got.length === 11 && port.stats().rxForeign === 6, 'the moved leg');
    expect(got.at(-1)).toMatchObject({ leg: 'A', port: stranger.port });
  });

  it("refuses a source another leg has, and frees a closed leg's source", async () => {
    const port = await shared(io);
    const legA = port.openLeg();
    const legB = port.openLeg();
    await legA.connect({ address: '127.0.0.1', port: 40_000 });
    const refused = await legB.connect({ address: '127.0.0.1', port: 40_000 }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(EngineError);
    expect(refused).toMatchObject({ code: 'REMOTE_IN_USE' });
    await legA.connect({ address: '127.0.0.1', port: 40_000 });
    legA.close();
    legA.close();
    await legB.connect({ address: '127.0.0.1', port: 40_000 });
    expect(port.stats()).toMatchObject({ legs: 1, routedSources: 1 });
    expect(() => legB.send(legB.sendBuffer(), 0)).not.toThrow();
    legB.disconnect();
    expect(() => legB.send(legB.sendBuffer(), 12)).toThrow(/no peer/);
  });

  it('sends what the legs queue in one turn together, each to its own peer', async () => {
    const port = await shared(io);
    const peers = [await peer(), await peer(), await peer(), await peer()];
    const legs = peers.map((p) => {
      const leg = port.openLeg();
      leg.start(() => undefined, () => undefined);
      void leg.connect({ address: '127.0.0.1', port: p.port });
      return leg;
    });
    await Promise.resolve();
    legs.forEach((leg, i) => {
      const slot = leg.sendBuffer();
      pattern(100 + i, 172).copy(Buffer.from(slot.buffer, slot.byteOffset, slot.byteLength));
      leg.send(slot, 172);
    });
    // Nothing has left yet: the flush is this turn's last microtask.
    expect(port.stats().txPackets).toBe(0);
    await until(() => peers.every((p) => p.received.length === 1), 'every peer to get its datagram');
    peers.forEach((p, i) => expect(p.received[0]).toEqual(pattern(100 + i, 172)));
    const stats = port.stats();
    expect(stats.txPackets).toBe(4);
    // native: one sendmmsg for the four; dgram: one send call each.
    expect(stats.txBatches).toBe(io === 'native' ? 1 : 4);
  });

  it('says when its last leg is gone (the shard then closes it), once per time it empties', async () => {
    const idle: SharedRtpPort[] = [];
    const port = new SharedRtpPort(await openPort(io), logger('test.shared-rtp-port'), (p) => idle.push(p));
    closing.push(port);
    const a = port.openLeg();
    const b = port.openLeg();
    a.close();
    expect(idle).toEqual([]);
    b.close();
    b.close();
    expect(idle).toEqual([port]);
    port.openLeg().close();
    expect(idle).toEqual([port, port]);
  });

  it('closes every leg with it, idempotently, and gives its fd back', async () => {
    const before = udpSocketFds();
    const port = new SharedRtpPort(await openPort(io), logger('test.shared-rtp-port'));
    const leg = port.openLeg();
    await leg.connect({ address: '127.0.0.1', port: 40_001 });
    expect(udpSocketFds().length).toBe(before.length + 1);
    port.close();
    port.close();
    expect(port.closed).toBe(true);
    expect(port.stats().legs).toBe(0);
    expect(() => port.openLeg()).toThrow(/closed/);
    await expect(leg.connect({ address: '127.0.0.1', port: 40_002 })).rejects.toThrow(/closed/);
    // dgram releases its fd in a close callback on the next turn; the addon at once.
    await until(() => udpSocketFds().length === before.length, 'the fd to be released');
    expect(udpSocketFds()).toEqual(before);
  });
});
