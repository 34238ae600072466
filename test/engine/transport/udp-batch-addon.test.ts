import dgram from 'node:dgram';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NativeUdpBatchBinding, type NativeUdpBatchSocket } from '../../../engine/src/transport/datagram/index.js';
import { openFdCount, requireNativeAddon, turn, udpSocketFds } from './datagram-helpers.js';

/**
 * The addon's boundary, called directly and fuzzed: whatever JavaScript hands
 * it (wrong types, sizes, offsets, counts, addresses, detached buffers, a
 * closed socket), it answers with a TypeError, a RangeError or a named
 * state error, or does exactly what was asked; it never crashes, never
 * writes outside the buffers it is given, never sends a datagram from a
 * request it refused. native/asan-test.sh runs this file under
 * AddressSanitizer.
 */
let binding: NativeUdpBatchBinding;
const LOOPBACK = 0x7f000001;

beforeAll(() => {
  binding = requireNativeAddon();
});

function openSocket(batch = 8, maxDatagram = 256, timestamps = false): NativeUdpBatchSocket {
  return new binding.UdpBatchSocket('127.0.0.1', 0, batch, maxDatagram, 0, 0, timestamps);
}

/** Argument errors the boundary may raise: TypeError, RangeError, or a socket error named by errno. */
function isBoundaryError(err: unknown): boolean {
  if (err instanceof TypeError || err instanceof RangeError) return true;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && ['EADDRNOTAVAIL', 'EADDRINUSE', 'EACCES', 'ERR_SOCKET_CLOSED'].includes(code);
}

function detachedBuffer(size: number): ArrayBuffer {
  const b = new ArrayBuffer(size);
  structuredClone(b, { transfer: [b] });
  return b;
}

/** A plain dgram sink: everything sent to it is counted, whatever the addon does. */
let sink: dgram.Socket;
let sinkPort = 0;
let sinkReceived: Buffer[] = [];
beforeAll(async () => {
  sink = dgram.createSocket('udp4');
  sink.on('message', (m) => sinkReceived.push(m));
  await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', resolve));
  sinkPort = sink.address().port;
});
afterAll(() => sink.close());

/** Waits until the sink has `n` datagrams (loopback: they are queued already; the loop has to read them). */
async function sinkHas(n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (sinkReceived.length < n) {
    if (Date.now() > deadline) throw new Error(`sink got ${sinkReceived.length} of ${n}`);
    await turn();
  }
}

describe('udp_batch addon boundary', () => {
  it('constructs only with new and valid arguments; anything else is a TypeError or RangeError', () => {
    const anyArg = fc.oneof(
      fc.anything(),
      fc.double(),
      fc.integer({ min: -2, max: 70_000 }),
      fc.constantFrom('127.0.0.1', '0.0.0.0', '::1', '1.2.3', '127.0.0.1\u0000x', 'x'.repeat(100), '', true, false, null),
    );
    fc.assert(
      fc.property(fc.array(anyArg, { maxLength: 8 }), (raw) => {
        const args = [...raw];
        // Never bind a real, chosen port on a shared machine: port 0 or an invalid one.
        if (typeof args[1] === 'number' && Number.isInteger(args[1]) && args[1] >= 1 && args[1] <= 65_535) args[1] = 0;
        let socket: NativeUdpBatchSocket | null = null;
        try {
          socket = new (binding.UdpBatchSocket as unknown as new (...a: unknown[]) => NativeUdpBatchSocket)(...args);
        } catch (err) {
          expect(isBoundaryError(err), String(err)).toBe(true);
          return;
        }
        expect(socket.address().port).toBeGreaterThan(0);
        socket.close();
      }),
      { numRuns: 300 },
    );
    expect(() => (binding.UdpBatchSocket as unknown as (...a: unknown[]) => unknown)('127.0.0.1', 0, 1, 1, 0, 0, false)).toThrow(TypeError);
  });

  it('methods called on something that is not a socket throw a TypeError', () => {
    const proto = binding.UdpBatchSocket.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
    for (const name of ['recv', 'send', 'setReadable', 'setRef', 'address', 'layout', 'stats', 'close', 'isClosed']) {
      for (const self of [{}, undefined, null, 5, Buffer.alloc(4)]) {
        expect(() => proto[name]!.call(self, new ArrayBuffer(8), new Int32Array(4), 0), name).toThrow(TypeError);
      }
    }
  });

  it('recv writes datagrams of any size (0 to beyond maxDatagram) within its slots and describes each exactly', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 1, max: 400 }),
        fc.array(fc.integer({ min: 0, max: 900 }), { minLength: 1, maxLength: 24 }),
        async (batch, maxDatagram, sizes) => {
          const socket = openSocket(batch, maxDatagram, true);
          try {
            const layout = socket.layout();
            const arena = new ArrayBuffer(layout.arenaBytes);
            const sender = dgram.createSocket('udp4');
            await new Promise<void>((resolve) => sender.bind(0, '127.0.0.1', resolve));
            const port = socket.address().port;
            const sent = sizes.map((size, k) => Buffer.alloc(size, (k % 250) + 1));
            await Promise.all(sent.map((b) => new Promise<void>((resolve, reject) => sender.send(b, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())))));
            const got: Array<{ bytes: Buffer; size: number }> = [];
            const deadline = Date.now() + 10_000;
            while (got.length < sent.length) {
              if (Date.now() > deadline) throw new Error(`received ${got.length} of ${sent.length}`);
              // A guard pattern: recv must touch nothing but the bytes it stores and the per-datagram fields.
              new Uint8Array(arena).fill(0xee);
              const n = socket.recv(arena);
              expect(n).toBeGreaterThanOrEqual(0);
              expect(n).toBeLessThanOrEqual(batch);
              const lengths = new Int32Array(arena, layout.lengthsOffset, batch);
              const sizesSeen = new Int32Array(arena, layout.sizesOffset, batch);
              const addresses = new Int32Array(arena, layout.addressesOffset, batch);
              const ports = new Int32Array(arena, layout.portsOffset, batch);
              for (let i = 0; i < n; i++) {
                expect(lengths[i]).toBe(Math.min(sizesSeen[i]!, maxDatagram));
                expect(addresses[i]).toBe(LOOPBACK);
                expect(ports[i]).toBe(sender.address().port);
                const slot = new Uint8Array(arena, i * layout.slotBytes, layout.slotBytes);
                // Past the stored bytes, the slot is as it was.
                expect(slot.subarray(lengths[i]).every((b) => b === 0xee)).toBe(true);
                got.push({ bytes: Buffer.from(slot.subarray(0, lengths[i])), size: sizesSeen[i]! });
              }
              // Slots and fields past the n datagrams are untouched.
              expect(new Uint8Array(arena, n * layout.slotBytes, (batch - n) * layout.slotBytes).every((b) => b === 0xee)).toBe(true);
              if (n === 0) await turn();
            }
            sender.close();
            for (const [k, b] of sent.entries()) {
              expect(got[k]!.size).toBe(b.length);
              expect(got[k]!.bytes).toEqual(b.subarray(0, Math.min(b.length, maxDatagram)));
            }
            expect(socket.stats()).toMatchObject({ rxPackets: sent.length, rxTruncated: sent.filter((b) => b.length > maxDatagram).length });
          } finally {
            socket.close();
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('recv refuses arenas of the wrong kind or size (detached included) with TypeError/RangeError', () => {
    const socket = openSocket(4, 100);
    const size = socket.layout().arenaBytes;
    const arena = fc.oneof(
      fc.integer({ min: 0, max: size * 2 }).map((n) => new ArrayBuffer(n)),
      fc.constant(null).map(() => detachedBuffer(size)),
      fc.constant(null).map(() => new Uint8Array(size)),
      fc.constant(null).map(() => new SharedArrayBuffer(size)),
      fc.anything(),
    );
    try {
      fc.assert(
        fc.property(arena, (a) => {
          try {
            expect(socket.recv(a as ArrayBuffer)).toBe(0);
            expect(a instanceof ArrayBuffer && a.byteLength === size).toBe(true);
          } catch (err) {
            expect(err instanceof TypeError || err instanceof RangeError, String(err)).toBe(true);
          }
        }),
        { numRuns: 300 },
      );
    } finally {
      socket.close();
    }
  });

  it('send does exactly what valid descriptors say and nothing at all for invalid ones', async () => {
    const socket = openSocket(16, 256);
    const descriptor = fc.record({
      offset: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
      length: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
      // Loopback only (127/8), and only the sink's port or an invalid one: never a stranger's socket.
      address: fc.integer({ min: 0, max: 0xffffff }).map((low) => (0x7f000000 | low) | 0),
      port: fc.oneof(fc.constant(-1), fc.constant(0), fc.constant(65_536), fc.constant(sinkPort), fc.constant(sinkPort)),
    });
    const data = fc.oneof(
      fc.integer({ min: 0, max: 400 }).map((n) => Buffer.alloc(n, 0x5a)),
      fc.integer({ min: 0, max: 400 }).map((n) => Buffer.alloc(n + 17, 0x33).subarray(17)),
      fc.integer({ min: 0, max: 400 }).map((n) => new ArrayBuffer(n)),
      fc.constant(null).map(() => detachedBuffer(64)),
      fc.constant(null).map(() => new Int16Array(64)),
      fc.anything(),
    );
    const descriptors = fc.oneof(
      fc.array(descriptor, { maxLength: 20 }).map((ds) => Int32Array.from(ds.flatMap((d) => [d.offset, d.length, d.address, d.port]))),
      fc.constant(null).map(() => new Uint32Array(8)),
      fc.anything(),
    );
    const count = fc.oneof(fc.integer({ min: -2, max: 20 }), fc.double(), fc.anything());
    const randomCase = fc.tuple(data, descriptors, count);
    // Mostly-valid requests, so the accepting path is fuzzed too: a buffer (at an offset within its
    // ArrayBuffer, or not), up to 16 in-range datagrams to the sink, sometimes one field spoiled.
    const validCase = fc
      .record({ size: fc.integer({ min: 0, max: 600 }), shift: fc.constantFrom(0, 3, 17), raw: fc.array(fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 0, max: 0xffffff })), { maxLength: 16 }) })
      .chain(({ size, shift, raw }) => {
        const bytes = Buffer.from(Array.from({ length: size + shift }, (_, i) => (i * 7) & 0xff)).subarray(shift);
        const ints = raw.flatMap(([o, l, low]) => {
          const offset = size === 0 ? 0 : o % (size + 1);
          // Mostly to the sink's address; other loopback addresses reach no one (the sink is bound to 127.0.0.1).
          return [offset, Math.min(l % (size - offset + 1), 65_507), low % 4 === 0 ? (0x7f000000 | low) | 0 : LOOPBACK, sinkPort];
        });
        const spoil = fc.option(fc.tuple(fc.nat(ints.length), fc.constantFrom(-1, 2 ** 31 - 1, 0, 65_536, 70_000)), { freq: 3 });
        return spoil.map((s) => {
          const desc = Int32Array.from(ints);
          if (s !== null && desc.length > 0) desc[s[0] % desc.length] = s[1];
          return [bytes, desc, raw.length] as [unknown, unknown, unknown];
        });
      });
    try {
      await fc.assert(
        fc.asyncProperty(fc.oneof({ weight: 1, arbitrary: randomCase }, { weight: 3, arbitrary: validCase }), async ([d, desc, n]) => {
          const before = socket.stats();
          const receivedBefore = sinkReceived.length;
          let sent: number;
          try {
            sent = socket.send(d as Uint8Array, desc as Int32Array, n as number);
          } catch (err) {
            expect(err instanceof TypeError || err instanceof RangeError, String(err)).toBe(true);
            expect(socket.stats().txPackets).toBe(before.txPackets);
            return;
          }
          // Accepted: every datagram was sent or refused by the kernel and counted (255.255.255.255
          // needs SO_BROADCAST: EACCES); those to the sink's address reached it with the described bytes.
          // An accepted count is an integer (-0 included, hence the | 0).
          const count = (n as number) | 0;
          const ints = desc as Int32Array;
          const after = socket.stats();
          expect(after.txPackets - before.txPackets).toBe(sent);
          expect(sent + after.txErrors - before.txErrors + after.txWouldBlock - before.txWouldBlock).toBe(count);
          if (count === 0) return;
          const bytes = d instanceof ArrayBuffer ? new Uint8Array(d) : (d as Uint8Array);
          const expected: Buffer[] = [];
          for (let i = 0; i < count; i++) {
            const [offset, length, address, port] = [ints[i * 4]!, ints[i * 4 + 1]!, ints[i * 4 + 2]!, ints[i * 4 + 3]!];
            expect(port).toBe(sinkPort);
            // 0.0.0.0 means this host: Linux delivers it to 127.0.0.1 too.
            if (address === LOOPBACK || address === 0) expected.push(Buffer.from(bytes.subarray(offset, offset + length)));
          }
          await sinkHas(receivedBefore + expected.length);
          expect(sinkReceived.slice(receivedBefore)).toEqual(expected);
        }),
        { numRuns: 300 },
      );
      // The accepting path was exercised, not only the refusals.
      expect(socket.stats().txPackets).toBeGreaterThan(100);
    } finally {
      socket.close();
      sinkReceived = [];
    }
  });

  it('a closed socket refuses everything but close, stats, layout and isClosed, in any order of calls', () => {
    const op = fc.constantFrom('recv', 'send', 'close', 'setReadable', 'unsetReadable', 'setRef', 'address', 'stats', 'layout', 'isClosed');
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 30 }), (ops) => {
        const socket = openSocket(4, 64);
        const arena = new ArrayBuffer(socket.layout().arenaBytes);
        const data = Buffer.alloc(8);
        const desc = Int32Array.from([0, 8, LOOPBACK, sinkPort]);
        let closed = false;
        try {
          for (const name of ops) {
            const call = (): unknown => {
              switch (name) {
                case 'recv':
                  return socket.recv(arena);
                case 'send':
                  return socket.send(data, desc, 1);
                case 'close':
                  closed = true;
                  return socket.close();
                case 'setReadable':
                  return socket.setReadable(() => undefined);
                case 'unsetReadable':
                  return socket.setReadable(null);
                case 'setRef':
                  return socket.setRef(false);
                case 'address':
                  return socket.address();
                case 'stats':
                  return socket.stats();
                case 'layout':
                  return socket.layout();
                case 'isClosed':
                  return expect(socket.isClosed()).toBe(closed);
              }
            };
            const alwaysFine = name === 'close' || name === 'stats' || name === 'layout' || name === 'isClosed';
            if (closed && !alwaysFine) expect(call).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_CLOSED' }));
            else call();
          }
        } finally {
          socket.close();
        }
      }),
      { numRuns: 200 },
    );
  });

  it('closing from the readable callback, mid-batch, ends the polling there; the arena stays readable', async () => {
    const socket = openSocket(4, 64);
    const arena = new ArrayBuffer(socket.layout().arenaBytes);
    const sender = openSocket(16, 64);
    const desc = new Int32Array(16 * 4);
    for (let i = 0; i < 10; i++) desc.set([i, 1, LOOPBACK, socket.address().port], i * 4);
    const data = Uint8Array.from({ length: 10 }, (_, i) => i + 1);
    let calls = 0;
    const firstBytes: number[] = [];
    const done = new Promise<void>((resolve) => {
      socket.setReadable(() => {
        calls++;
        const n = socket.recv(arena);
        socket.close();
        for (let i = 0; i < n; i++) firstBytes.push(new Uint8Array(arena, i * socket.layout().slotBytes, 1)[0]!);
        expect(() => socket.recv(arena)).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_CLOSED' }));
        resolve();
      });
    });
    expect(sender.send(data, desc, 10)).toBe(10);
    await done;
    await turn();
    await turn();
    sender.close();
    expect(calls).toBe(1);
    expect(firstBytes).toEqual([1, 2, 3, 4]);
  });

  it('a socket dropped without close() is closed by its finalizer when collected', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    await turn();
    const fdsBefore = openFdCount();
    const udpBefore = udpSocketFds();
    (() => {
      for (let i = 0; i < 20; i++) {
        const s = openSocket(2, 64);
        if (i % 2 === 0) s.setReadable(null);
      }
    })();
    expect(openFdCount()).toBe(fdsBefore + 20);
    const deadline = Date.now() + 10_000;
    while (openFdCount() > fdsBefore) {
      if (Date.now() > deadline) throw new Error(`${openFdCount() - fdsBefore} sockets still open after GC`);
      gc();
      await turn();
    }
    expect(udpSocketFds()).toEqual(udpBefore);
  });
});
