import { isIPv4 } from 'node:net';

/**
 * A batch datagram port: one bound UDP socket that hands received datagrams
 * to one handler in batches, read in place, and queues datagrams to send
 * until `flush()` (once per tick) hands them to the kernel together. Two
 * implementations share this interface and one contract test suite:
 * NativeDatagramPort (the udp_batch addon: recvmmsg/sendmmsg) and
 * DgramDatagramPort (node:dgram, the fallback). IPv4 only: sources are
 * reported as numbers so a shard can demultiplex without building strings.
 */
export type DatagramIo = 'native' | 'dgram';

export interface DatagramPortOptions {
  /** IPv4 address to bind. */
  address: string;
  /** 0 (default): the kernel picks a free port; `local` says which. */
  port?: number;
  /** Datagrams per receive call and per send call, and the send queue's size. Default 64. */
  batch?: number;
  /** The most bytes kept of one datagram; a larger one is truncated to this and counted. Default 1500. */
  maxDatagram?: number;
  /** SO_RCVBUF / SO_SNDBUF request in bytes (the kernel caps it at rmem_max / wmem_max). 0 (default): the OS default. */
  recvBufferSize?: number;
  sendBufferSize?: number;
  /** Ask for kernel receive timestamps (native only; the dgram port reports NaN). Default false. */
  timestamps?: boolean;
  /** Receive calls per readable event before yielding to the event loop. Default 16. */
  maxBatchesPerWake?: number;
}

export interface ResolvedDatagramPortOptions {
  address: string;
  port: number;
  batch: number;
  maxDatagram: number;
  recvBufferSize: number;
  sendBufferSize: number;
  timestamps: boolean;
  maxBatchesPerWake: number;
}

/** recvmmsg/sendmmsg take at most UIO_MAXIOV messages per call. */
export const MAX_BATCH = 1024;
export const MAX_DATAGRAM = 65_535;
/** The largest UDP payload over IPv4. */
export const MAX_UDP_PAYLOAD = 65_507;

function integerOption(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${value}`);
  return value;
}

/** Validates options once, naming the offending key. */
export function resolveDatagramPortOptions(o: DatagramPortOptions): ResolvedDatagramPortOptions {
  if (typeof o.address !== 'string' || !isIPv4(o.address)) throw new RangeError(`address must be an IPv4 address, got ${String(o.address)}`);
  if (o.timestamps !== undefined && typeof o.timestamps !== 'boolean') throw new TypeError('timestamps must be a boolean');
  return {
    address: o.address,
    port: integerOption('port', o.port, 0, 0, 65_535),
    batch: integerOption('batch', o.batch, 64, 1, MAX_BATCH),
    maxDatagram: integerOption('maxDatagram', o.maxDatagram, 1500, 1, MAX_DATAGRAM),
    recvBufferSize: integerOption('recvBufferSize', o.recvBufferSize, 0, 0, 2 ** 30),
    sendBufferSize: integerOption('sendBufferSize', o.sendBufferSize, 0, 0, 2 ** 30),
    timestamps: o.timestamps ?? false,
    maxBatchesPerWake: integerOption('maxBatchesPerWake', o.maxBatchesPerWake, 16, 1, 1 << 20),
  };
}

/**
 * Where datagrams go, made once per peer (a leg's Asterisk endpoint) so a
 * send converts nothing. `ipv4` is the address as a signed 32-bit integer
 * (host byte order, `| 0`): what ReceivedBatch.sourceIpv4 reports, and a
 * small integer for V8, so comparing sources costs no allocation.
 */
export interface DatagramPeer {
  readonly address: string;
  readonly port: number;
  readonly ipv4: number;
}

/** Dotted quad to signed int32, or null when `address` is not IPv4. */
export function ipv4ToInt(address: string): number | null {
  if (!isIPv4(address)) return null;
  const [a, b, c, d] = address.split('.').map(Number) as [number, number, number, number];
  return ((a << 24) | (b << 16) | (c << 8) | d) | 0;
}

export function intToIpv4(ipv4: number): string {
  return `${(ipv4 >>> 24) & 255}.${(ipv4 >>> 16) & 255}.${(ipv4 >>> 8) & 255}.${ipv4 & 255}`;
}

export function datagramPeer(address: string, port: number): DatagramPeer {
  const ipv4 = ipv4ToInt(address);
  if (ipv4 === null) throw new RangeError(`peer address must be IPv4, got ${address}`);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new RangeError(`peer port must be an integer in 1..65535, got ${port}`);
  return Object.freeze({ address, port, ipv4 });
}

/**
 * The datagrams of one receive call. Valid only while the handler runs: the
 * next receive call overwrites the memory behind every view, so anything kept
 * must be copied (the jitter buffer, for one, keeps references).
 */
export interface ReceivedBatch {
  readonly count: number;
  /** A view starting at datagram i's first byte and at least `length(i)` long: read `length(i)` bytes of it. */
  view(i: number): Uint8Array;
  /** Bytes of datagram i available in `view(i)` (at most maxDatagram). */
  length(i: number): number;
  /** The datagram's real size; more than `length(i)` when it was truncated. */
  size(i: number): number;
  truncated(i: number): boolean;
  /** Source address as a signed int32 (see DatagramPeer.ipv4). */
  sourceIpv4(i: number): number;
  sourcePort(i: number): number;
  /** Kernel receive time in ms since the epoch (compare with Date.now()), or NaN when not asked for / not available. */
  receivedAtMs(i: number): number;
}

export type BatchHandler = (batch: ReceivedBatch) => void;

export interface DatagramPortStats {
  io: DatagramIo;
  /** Datagrams and bytes received (bytes as kept, after truncation). */
  rxPackets: number;
  rxBytes: number;
  /** Receive calls that returned datagrams (the dgram port: one per datagram). */
  rxBatches: number;
  rxTruncated: number;
  rxErrors: number;
  /** The kernel's count of datagrams dropped on this socket because its receive buffer was full; null where unknown. */
  rxKernelDrops: number | null;
  /** Datagrams the kernel accepted (dgram: handed to dgram, which queues in libuv what the kernel refuses for now). */
  txPackets: number;
  txBytes: number;
  /** Send calls made (native: sendmmsg calls; dgram: send calls). */
  txBatches: number;
  /** Datagrams dropped because the kernel's send buffer was full (or, for dgram, its send queue too long). */
  txWouldBlock: number;
  /** Datagrams refused by the kernel for another reason (dgram: only synchronous failures are seen). */
  txErrors: number;
  /** Times the batch handler threw (caught, counted, logged sparsely). */
  handlerErrors: number;
  /** Socket buffer sizes the kernel granted. */
  recvBufferBytes: number;
  sendBufferBytes: number;
}

export interface DatagramPort {
  readonly io: DatagramIo;
  readonly local: { readonly address: string; readonly port: number };
  readonly maxDatagram: number;
  readonly closed: boolean;
  /** Datagrams queued for the next flush. */
  readonly queued: number;
  /** Sets (or with null, removes) the one handler of received batches. Receiving starts with the first handler. */
  onBatch(handler: BatchHandler | null): void;
  /** Queues a copy of `data[offset, offset + length)` for `peer`. Flushes first when the queue is full. */
  send(data: Uint8Array, offset: number, length: number, peer: DatagramPeer): void;
  /**
   * Zero-copy send: the next queue slot (a maxDatagram-long view) to write a
   * datagram into from offset 0, then `commit(length, peer)`. Flushes first
   * when the queue is full.
   */
  sendSlot(): Uint8Array;
  commit(length: number, peer: DatagramPeer): void;
  /** Hands every queued datagram to the kernel; returns how many it accepted. Never blocks. */
  flush(): number;
  /** Keeps (default) or stops keeping the event loop alive while receiving, as dgram's ref()/unref(). */
  setRef(ref: boolean): void;
  stats(): DatagramPortStats;
  /** Stops receiving, drops what is queued, closes the socket (its fd is released at once). Idempotent. */
  close(): void;
}
