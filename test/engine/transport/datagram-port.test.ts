import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidStateError } from '../../../common/src/errors.js';
import { startSourceWorker } from '../../../common/src/source-worker.js';
import { datagramPeer, ipv4ToInt, type DatagramIo, type DatagramPort } from '../../../engine/src/transport/datagram/index.js';
import { Collector, IMPLEMENTATIONS, openFdCount, openPort, pattern, udpSocketFds, turn } from './datagram-helpers.js';

/**
 * The contract every DatagramPort keeps, run against both implementations
 * (the udp_batch addon and node:dgram) over real UDP on 127.0.0.1.
 */
const LOOPBACK = ipv4ToInt('127.0.0.1')!;
const opened: DatagramPort[] = [];

afterEach(() => {
  for (const p of opened.splice(0)) p.close();
});

async function open(io: DatagramIo, options: Parameters<typeof openPort>[1] = {}): Promise<DatagramPort> {
  const port = await openPort(io, options);
  opened.push(port);
  return port;
}

function peerOf(port: DatagramPort): ReturnType<typeof datagramPeer> {
  return datagramPeer(port.local.address, port.local.port);
}

describe.each(IMPLEMENTATIONS)('DatagramPort (%s)', (io) => {
  it('binds a kernel-chosen port on the address asked for, and says which implementation it is', async () => {
    const port = await open(io);
    expect(port.io).toBe(io);
    expect(port.local.address).toBe('127.0.0.1');
    expect(port.local.port).toBeGreaterThan(0);
    expect(port.closed).toBe(false);
    expect(port.maxDatagram).toBe(1500);
  });

  it('refuses a port that is taken (EADDRINUSE) and options out of range', async () => {
    const first = await open(io);
    await expect(openPort(io, { port: first.local.port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await expect(openPort(io, { batch: 0 })).rejects.toBeInstanceOf(RangeError);
    await expect(openPort(io, { maxDatagram: 70_000 })).rejects.toBeInstanceOf(RangeError);
    await expect(openPort(io, { address: '::1' })).rejects.toBeInstanceOf(RangeError);
  });

  it('delivers datagrams with their bytes and sources, and sends them only on flush', async () => {
    const [a, b, c] = [await open(io), await open(io), await open(io)];
    const inbox = new Collector(b);
    const sizes = [1, 12, 172, 1500, 0, 333];
    for (const [i, size] of sizes.entries()) a.send(pattern(i + 1, size), 0, size, peerOf(b));
    expect(a.queued).toBe(sizes.length);
    // Loopback queues a datagram at the receiver before the send call returns: the marker from c,
    // flushed first, arriving first proves a's datagrams were still queued until a.flush().
    c.send(pattern(99, 4), 0, 4, peerOf(b));
    expect(c.flush()).toBe(1);
    expect(a.flush()).toBe(sizes.length);
    expect(a.queued).toBe(0);
    const got = await inbox.waitFor(sizes.length + 1);
    expect(got[0]!.bytes).toEqual(pattern(99, 4));
    expect(got[0]!.port).toBe(c.local.port);
    for (const [i, size] of sizes.entries()) {
      const d = got[i + 1]!;
      expect(d.bytes).toEqual(pattern(i + 1, size));
      expect(d).toMatchObject({ length: size, size, truncated: false, ipv4: LOOPBACK, port: a.local.port });
    }
    expect(a.stats()).toMatchObject({ io, txPackets: sizes.length, txBytes: sizes.reduce((s, n) => s + n, 0), txWouldBlock: 0, txErrors: 0 });
    expect(b.stats()).toMatchObject({ io, rxPackets: sizes.length + 1, rxTruncated: 0, rxErrors: 0, handlerErrors: 0 });
  });

  it('sends a part of a buffer, and writes in place through sendSlot/commit', async () => {
    const [a, b] = [await open(io), await open(io)];
    const inbox = new Collector(b);
    const big = pattern(7, 600);
    a.send(big, 100, 50, peerOf(b));
    const slot = a.sendSlot();
    expect(slot.length).toBeGreaterThanOrEqual(a.maxDatagram);
    pattern(8, 40).copy(slot);
    a.commit(40, peerOf(b));
    a.flush();
    const got = await inbox.waitFor(2);
    expect(got[0]!.bytes).toEqual(big.subarray(100, 150));
    expect(got[1]!.bytes).toEqual(pattern(8, 40));
  });

  it('flushes by itself when its queue is full, so nothing queued is lost and order holds', async () => {
    const a = await open(io, { batch: 4 });
    const b = await open(io);
    const inbox = new Collector(b);
    for (let i = 0; i < 10; i++) {
      a.send(pattern(i, 20), 0, 20, peerOf(b));
      expect(a.queued).toBeLessThanOrEqual(4);
    }
    a.flush();
    const got = await inbox.waitFor(10);
    expect(got.map((d) => d.bytes[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('keeps maxDatagram bytes of a larger datagram, flags and counts it, and leaves its neighbours intact', async () => {
    const sender = await open(io, { maxDatagram: 2000 });
    const b = await open(io, { maxDatagram: 100 });
    const inbox = new Collector(b);
    const sizes = [50, 300, 100, 101, 7];
    for (const [i, size] of sizes.entries()) sender.send(pattern(i + 1, size), 0, size, peerOf(b));
    sender.flush();
    const got = await inbox.waitFor(sizes.length);
    for (const [i, size] of sizes.entries()) {
      const kept = Math.min(size, 100);
      expect(got[i]!).toMatchObject({ length: kept, size, truncated: size > 100 });
      expect(got[i]!.bytes).toEqual(pattern(i + 1, size).subarray(0, kept));
    }
    expect(b.stats().rxTruncated).toBe(2);
    expect(b.stats().rxBytes).toBe(50 + 100 + 100 + 100 + 7);
  });

  it('refuses bad sends with TypeError/RangeError and queues nothing for them', async () => {
    const a = await open(io, { maxDatagram: 100 });
    const peer = datagramPeer('127.0.0.1', 9);
    expect(() => a.send(Buffer.alloc(101), 0, 101, peer)).toThrow(RangeError);
    expect(() => a.send(Buffer.alloc(10), 5, 6, peer)).toThrow(RangeError);
    expect(() => a.send(Buffer.alloc(10), -1, 2, peer)).toThrow(RangeError);
    expect(() => a.send('abc' as unknown as Uint8Array, 0, 3, peer)).toThrow(TypeError);
    expect(() => a.commit(5, peer)).toThrow(InvalidStateError);
    a.sendSlot();
    expect(() => a.commit(101, peer)).toThrow(RangeError);
    expect(a.queued).toBe(0);
    expect(() => datagramPeer('::1', 5)).toThrow(RangeError);
    expect(() => datagramPeer('127.0.0.1', 0)).toThrow(RangeError);
  });

  it('keeps working when its handler throws, and counts it', async () => {
    const [a, b] = [await open(io), await open(io)];
    let calls = 0;
    const seen: number[] = [];
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    b.onBatch((batch) => {
      for (let i = 0; i < batch.count; i++) seen.push(batch.view(i)[0]!);
      if (++calls === 1) throw new Error('handler bug');
      if (seen.length === 2) done();
    });
    a.send(pattern(1, 5), 0, 5, peerOf(b));
    a.flush();
    // The second datagram goes out only after the first was handled (and its handler threw).
    while (seen.length === 0) await turn();
    a.send(pattern(2, 5), 0, 5, peerOf(b));
    a.flush();
    await finished;
    expect(seen).toEqual([1, 2]);
    expect(b.stats().handlerErrors).toBe(1);
  });

  it('closed inside its handler: the batch in hand stays readable, nothing more is delivered, nothing crashes', async () => {
    const [a, b, witness] = [await open(io), await open(io), await open(io)];
    const witnessInbox = new Collector(witness);
    let calls = 0;
    let readAfterClose: number[] = [];
    b.onBatch((batch) => {
      calls++;
      b.close();
      b.close();
      readAfterClose = Array.from({ length: batch.count }, (_, i) => batch.view(i)[0]!);
      expect(() => b.send(Buffer.alloc(1), 0, 1, peerOf(a))).toThrow(InvalidStateError);
      expect(b.flush()).toBe(0);
    });
    for (let i = 1; i <= 5; i++) a.send(pattern(i, 10), 0, 10, peerOf(b));
    a.flush();
    // The witness's datagram is sent after b's and handled after b's handler had its chance.
    while (calls === 0) await turn();
    a.send(pattern(42, 3), 0, 3, peerOf(witness));
    a.flush();
    await witnessInbox.waitFor(1);
    await turn();
    expect(calls).toBe(1);
    expect(readAfterClose[0]).toBe(1);
    expect(readAfterClose.length).toBeGreaterThanOrEqual(1);
    expect(b.closed).toBe(true);
    expect(() => b.onBatch(() => undefined)).toThrow(InvalidStateError);
    expect(b.stats().io).toBe(io);
  });

  it('closes idempotently and gives its fd back at once', async () => {
    await turn();
    const before = openFdCount();
    const socketsBefore = udpSocketFds();
    const port = await openPort(io);
    port.onBatch(() => undefined);
    expect(openFdCount()).toBe(before + 1);
    port.close();
    port.close();
    expect(port.closed).toBe(true);
    expect(udpSocketFds()).toEqual(socketsBefore);
    expect(openFdCount()).toBe(before);
    // The port is free again: an exclusive bind of it succeeds.
    const again = await open(io, { port: port.local.port });
    expect(again.local.port).toBe(port.local.port);
  });

  it('counts what the kernel dropped when its receive buffer overflowed', async () => {
    const a = await open(io, { batch: 256 });
    const b = await open(io, { recvBufferSize: 4096 });
    let received = 0;
    b.onBatch((batch) => (received += batch.count));
    const total = 2000;
    const payload = Buffer.alloc(200, 1);
    // Sent in one synchronous burst: b cannot read before it has ended.
    for (let i = 0; i < total; i++) a.send(payload, 0, payload.length, peerOf(b));
    a.flush();
    const deadline = Date.now() + 10_000;
    let drops = 0;
    while (received + drops < total) {
      if (Date.now() > deadline) throw new Error(`received ${received}, dropped ${drops} of ${total}`);
      await turn();
      drops = b.stats().rxKernelDrops ?? 0;
    }
    expect(drops).toBeGreaterThan(0);
    expect(received + drops).toBe(total);
    expect(b.stats().rxPackets).toBe(received);
  });

  it('reports kernel receive timestamps when asked (native), NaN otherwise', async () => {
    const a = await open(io);
    const b = await open(io, { timestamps: true });
    const c = await open(io);
    const [inboxB, inboxC] = [new Collector(b), new Collector(c)];
    const before = Date.now();
    a.send(pattern(1, 5), 0, 5, peerOf(b));
    a.send(pattern(1, 5), 0, 5, peerOf(c));
    a.flush();
    const [gotB, gotC] = [await inboxB.waitFor(1), await inboxC.waitFor(1)];
    const after = Date.now();
    expect(gotC[0]!.receivedAtMs).toBeNaN();
    if (io === 'native') {
      // Same clock as Date.now() (CLOCK_REALTIME), which rounds to whole milliseconds.
      expect(gotB[0]!.receivedAtMs).toBeGreaterThanOrEqual(before - 1);
      expect(gotB[0]!.receivedAtMs).toBeLessThanOrEqual(after + 1);
    } else {
      expect(gotB[0]!.receivedAtMs).toBeNaN();
    }
  });

  it('in a worker thread: receives and sends on that thread, closes there, leaves no fd', async () => {
    await turn();
    const socketsBefore = udpSocketFds();
    const worker = startSourceWorker(new URL('./fixtures/echo-port-worker.ts', import.meta.url), { workerData: { io } });
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    try {
      const bound = await nextMessage<{ type: 'bound'; port: number }>(worker);
      expect(bound.type).toBe('bound');
      const client = await open(io);
      const inbox = new Collector(client);
      const echo = datagramPeer('127.0.0.1', bound.port);
      for (let i = 0; i < 20; i++) client.send(pattern(i, 30), 0, 30, echo);
      client.flush();
      const got = await inbox.waitFor(20);
      expect(got.map((d) => d.bytes)).toEqual(Array.from({ length: 20 }, (_, i) => pattern(i, 30)));
      expect(got.every((d) => d.port === bound.port)).toBe(true);
      client.close();
      worker.postMessage('close');
      expect(await nextMessage(worker)).toEqual({ type: 'closed', closed: true });
      expect(udpSocketFds()).toEqual(socketsBefore);
    } finally {
      await worker.terminate();
    }
    await exited;
  });

  it('in a worker thread terminated while receiving: the port is closed with the thread, no fd is left', async () => {
    await turn();
    const socketsBefore = udpSocketFds();
    const fdsBefore = openFdCount();
    const worker = startSourceWorker(new URL('./fixtures/echo-port-worker.ts', import.meta.url), { workerData: { io } });
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    const bound = await nextMessage<{ type: 'bound'; port: number }>(worker);
    // Plain dgram on this side: the client is not what is tested.
    const client = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
    let echoes = 0;
    const firstEcho = new Promise<void>((resolve) => client.once('message', () => resolve()));
    client.on('message', () => echoes++);
    const flood = setInterval(() => {
      for (let i = 0; i < 50; i++) client.send(pattern(i, 100), bound.port, '127.0.0.1');
    }, 1);
    try {
      await firstEcho;
      // Terminated mid-traffic, without closing its port.
      await worker.terminate();
      await exited;
    } finally {
      clearInterval(flood);
      await new Promise<void>((resolve) => client.close(() => resolve()));
    }
    expect(echoes).toBeGreaterThan(0);
    await turn();
    expect(udpSocketFds()).toEqual(socketsBefore);
    expect(openFdCount()).toBe(fdsBefore);
    const again = await open(io, { port: bound.port });
    expect(again.local.port).toBe(bound.port);
  });
});

function nextMessage<T = unknown>(worker: { once(event: 'message', listener: (value: T) => void): unknown; once(event: 'error', listener: (err: Error) => void): unknown }): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}
