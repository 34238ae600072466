import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { DatagramIoResolver, loadNativeAddon, type NativeUdpBatchBinding, type DatagramIo, type DatagramPort, type DatagramPortOptions, type ReceivedBatch } from '../../../engine/src/transport/datagram/index.js';

/** Both implementations, for describe.each: the contract is the same. */
export const IMPLEMENTATIONS: readonly DatagramIo[] = ['native', 'dgram'];

const resolver = new DatagramIoResolver(loadNativeAddon, { warn: () => undefined });

/**
 * The addon, or a failed test saying why it is missing. Under
 * native/asan-test.sh it must be the sanitizer build that script names.
 */
export function requireNativeAddon(): NativeUdpBatchBinding {
  const loaded = loadNativeAddon();
  if (!loaded.ok) throw new Error(`the native addon is required by this test: ${loaded.reason}`);
  const expected = process.env['TANDEM_EXPECT_NATIVE_ADDON'];
  if (expected !== undefined && expected !== '' && loaded.path !== expected) throw new Error(`loaded ${loaded.path}, expected ${expected}`);
  return loaded.binding;
}

/** Binds a port on 127.0.0.1 (kernel-chosen) with the given implementation; `native` fails the test when the addon is missing. */
export async function openPort(io: DatagramIo, options: Partial<DatagramPortOptions> = {}): Promise<DatagramPort> {
  if (io === 'native') requireNativeAddon();
  return await resolver.open({ address: '127.0.0.1', port: 0, ...options, io });
}

export interface Received {
  bytes: Buffer;
  length: number;
  size: number;
  truncated: boolean;
  ipv4: number;
  port: number;
  receivedAtMs: number;
}

/** Copies what a batch holds (its views are only valid during the handler). */
export function copyBatch(batch: ReceivedBatch): Received[] {
  const out: Received[] = [];
  for (let i = 0; i < batch.count; i++) {
    out.push({
      bytes: Buffer.from(batch.view(i).subarray(0, batch.length(i))),
      length: batch.length(i),
      size: batch.size(i),
      truncated: batch.truncated(i),
      ipv4: batch.sourceIpv4(i),
      port: batch.sourcePort(i),
      receivedAtMs: batch.receivedAtMs(i),
    });
  }
  return out;
}

/**
 * Everything a port receives, with a wait that resolves on the datagram that
 * completes the count (no polling); the deadline only ends a stuck test.
 */
export class Collector {
  readonly items: Received[] = [];
  batches = 0;
  #waiters: Array<{ n: number; resolve: () => void }> = [];

  constructor(port: DatagramPort) {
    port.onBatch((batch) => {
      this.batches++;
      this.items.push(...copyBatch(batch));
      this.#waiters = this.#waiters.filter((w) => (this.items.length >= w.n ? (w.resolve(), false) : true));
    });
  }

  waitFor(n: number, deadlineMs = 30_000): Promise<Received[]> {
    if (this.items.length >= n) return Promise.resolve(this.items);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`received ${this.items.length} of ${n} datagrams before the deadline`)), deadlineMs);
      this.#waiters.push({
        n,
        resolve: () => {
          clearTimeout(timer);
          resolve(this.items);
        },
      });
    });
  }
}

export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/**
 * This process's open UDP sockets (fd:inode), from /proc/self/fd and the
 * kernel's UDP table. UDP only: a worker started from the sources also runs
 * tsx's esbuild service, whose stdio are Unix socket pairs.
 */
export function udpSocketFds(): string[] {
  const udpInodes = new Set<string>();
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const inode = line.trim().split(/\s+/)[9];
    if (inode !== undefined) udpInodes.add(inode);
  }
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
      if (inode !== undefined && udpInodes.has(inode)) out.push(`${fd}:${inode}`);
    } catch {
      // The fd of the directory listing itself, gone by now.
    }
  }
  return out;
}

/** A datagram of `length` bytes: a tag byte, then a counting pattern (so a mix-up shows). */
export function pattern(tag: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = i === 0 ? tag : (tag + i) & 0xff;
  return b;
}

/** One event-loop turn: lets libuv run close callbacks and deliver what is queued. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
