import dgram from 'node:dgram';
import { InvalidStateError } from '../../../../common/src/errors.js';
import {
  ipv4ToInt,
  resolveDatagramPortOptions,
  type BatchHandler,
  type DatagramPeer,
  type DatagramPort,
  type DatagramPortOptions,
  type DatagramPortStats,
  type ReceivedBatch,
  type ResolvedDatagramPortOptions,
} from './datagram-port.js';
import { HandlerFailures } from './handler-failures.js';
import { procUdpDrops } from './proc-udp-drops.js';
import { sendThroughSlot, SendQueue, type SendArena } from './send-queue.js';

/**
 * Sends waiting in dgram and libuv beyond which datagrams are dropped: well
 * above a tick's worth for a busy worker (1,000 pairs send 2,000 datagrams a
 * tick), well below unbounded.
 */
const MAX_PENDING_SENDS = 4096;

/** node:dgram hands over one datagram per callback: a batch of one, over dgram's own Buffer. */
class SingleBatch implements ReceivedBatch {
  readonly count = 1;
  msg: Buffer = Buffer.alloc(0);
  len = 0;
  realSize = 0;
  ipv4 = 0;
  port = 0;

  view(_i: number): Uint8Array {
    return this.msg;
  }
  length(_i: number): number {
    return this.len;
  }
  size(_i: number): number {
    return this.realSize;
  }
  truncated(_i: number): boolean {
    return this.realSize > this.len;
  }
  sourceIpv4(_i: number): number {
    return this.ipv4;
  }
  sourcePort(_i: number): number {
    return this.port;
  }
  receivedAtMs(_i: number): number {
    return Number.NaN;
  }
}

/**
 * A DatagramPort on node:dgram, the fallback when the addon is missing: the
 * same contract, one system call and one callback per datagram.
 *
 * dgram reads a datagram's memory later than `send()` returns: on the next
 * tick (after its address lookup), and, when the kernel said EAGAIN, whenever
 * libuv's queue drains. So a flush hands its arena over and writes go on in a
 * spare one; the flushed arena becomes a spare again once the sends' ticks
 * have run, unless libuv still holds sends (then it is left to the GC). In
 * steady state that is no allocation. dgram never reports EAGAIN; once more
 * than MAX_PENDING_SENDS sends wait in dgram and libuv, further datagrams are dropped
 * and counted as txWouldBlock, as the native port drops them: the backlog
 * stays bounded either way. Send errors after the call returns are not seen
 * (that would take a callback, an allocation, per datagram).
 */
export class DgramDatagramPort implements DatagramPort {
  readonly io = 'dgram' as const;
  readonly local: { readonly address: string; readonly port: number };
  readonly maxDatagram: number;
  readonly #socket: dgram.Socket;
  readonly #queue: SendQueue;
  readonly #batch = new SingleBatch();
  readonly #maxPendingSends: number;
  readonly #localIpv4: number;
  readonly #failures: HandlerFailures;
  readonly #spares: SendArena[] = [];
  /** Sends handed to dgram whose next-tick work has not run yet (libuv's queue does not count them yet). */
  #unsettled = 0;
  #handler: BatchHandler | null = null;
  #lastAddress = '';
  #lastIpv4 = 0;
  #closed = false;
  #rxPackets = 0;
  #rxBytes = 0;
  #rxTruncated = 0;
  #rxErrors = 0;
  #txPackets = 0;
  #txBytes = 0;
  #txBatches = 0;
  #txWouldBlock = 0;
  #txErrors = 0;

  private constructor(socket: dgram.Socket, o: ResolvedDatagramPortOptions) {
    this.#socket = socket;
    this.maxDatagram = o.maxDatagram;
    this.#queue = new SendQueue(o.batch, o.maxDatagram);
    this.#maxPendingSends = Math.max(MAX_PENDING_SENDS, 4 * o.batch);
    const { address, port } = socket.address();
    this.local = Object.freeze({ address, port });
    this.#localIpv4 = ipv4ToInt(address) ?? 0;
    this.#failures = new HandlerFailures('dgram', this.local);
    // Kept for the socket's whole life: a late error must never become an uncaught exception.
    socket.on('error', () => this.#rxErrors++);
  }

  /** Binds a socket (exclusively: never shared with another process's socket); rejects with the bind error. */
  static async open(options: DatagramPortOptions): Promise<DgramDatagramPort> {
    const o = resolveDatagramPortOptions(options);
    const socket = dgram.createSocket({
      type: 'udp4',
      ...(o.recvBufferSize > 0 ? { recvBufferSize: o.recvBufferSize } : {}),
      ...(o.sendBufferSize > 0 ? { sendBufferSize: o.sendBufferSize } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.close();
        reject(err);
      };
      socket.once('error', onError);
      socket.bind({ address: o.address, port: o.port, exclusive: true }, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    return new DgramDatagramPort(socket, o);
  }

  get closed(): boolean {
    return this.#closed;
  }

  get queued(): number {
    return this.#queue.count;
  }

  onBatch(handler: BatchHandler | null): void {
    this.#assertOpen();
    if (handler !== null && this.#handler === null) this.#socket.on('message', this.#onMessage);
    if (handler === null) this.#socket.off('message', this.#onMessage);
    this.#handler = handler;
  }

  send(data: Uint8Array, offset: number, length: number, peer: DatagramPeer): void {
    sendThroughSlot(this, data, offset, length, peer);
  }

  sendSlot(): Uint8Array {
    this.#assertOpen();
    if (this.#queue.full) this.flush();
    return this.#queue.nextSlot();
  }

  commit(length: number, peer: DatagramPeer): void {
    this.#assertOpen();
    this.#queue.commit(length, peer);
  }

  flush(): number {
    const queue = this.#queue;
    const count = queue.count;
    if (count === 0 || this.#closed) return 0;
    const socket = this.#socket;
    const arena = queue.arena;
    const buffer = arena.buffer;
    const d = queue.descriptors;
    let sent = 0;
    const room = this.#maxPendingSends - this.#unsettled - socket.getSendQueueCount();
    for (let i = 0; i < count; i++) {
      if (sent >= room) {
        this.#txWouldBlock += count - i;
        break;
      }
      const peer = queue.peers[i] as DatagramPeer;
      const length = d[i * 4 + 1] as number;
      try {
        socket.send(buffer, d[i * 4] as number, length, peer.port, peer.address);
        sent++;
        this.#txBytes += length;
      } catch {
        this.#txErrors++;
      }
    }
    this.#txPackets += sent;
    this.#txBatches += sent;
    this.#unsettled += sent;
    queue.useArena(this.#spares.pop() ?? queue.newArena());
    // Queued after the sends' own next-tick work, so it runs once they have read the arena.
    process.nextTick(this.#release, arena, sent);
    return sent;
  }

  readonly #release = (arena: SendArena, sent: number): void => {
    this.#unsettled -= sent;
    // Sends libuv had to queue (EAGAIN) still point into some arena: this one is not reused.
    if (!this.#closed && this.#socket.getSendQueueCount() === 0 && this.#spares.length < 4) this.#spares.push(arena);
  };

  setRef(ref: boolean): void {
    this.#assertOpen();
    if (ref) this.#socket.ref();
    else this.#socket.unref();
  }

  stats(): DatagramPortStats {
    let recvBufferBytes = -1;
    let sendBufferBytes = -1;
    if (!this.#closed) {
      recvBufferBytes = this.#socket.getRecvBufferSize();
      sendBufferBytes = this.#socket.getSendBufferSize();
    }
    return {
      io: 'dgram',
      rxPackets: this.#rxPackets,
      rxBytes: this.#rxBytes,
      rxBatches: this.#rxPackets,
      rxTruncated: this.#rxTruncated,
      rxErrors: this.#rxErrors,
      rxKernelDrops: this.#closed ? null : procUdpDrops(this.#localIpv4, this.local.port),
      txPackets: this.#txPackets,
      txBytes: this.#txBytes,
      txBatches: this.#txBatches,
      txWouldBlock: this.#txWouldBlock,
      txErrors: this.#txErrors,
      handlerErrors: this.#failures.count,
      recvBufferBytes,
      sendBufferBytes,
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#handler = null;
    this.#queue.clear();
    this.#socket.off('message', this.#onMessage);
    try {
      // libuv closes the fd synchronously here.
      this.#socket.close();
    } catch {
      // Already closed by the runtime (worker teardown): nothing left to release.
    }
  }

  readonly #onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    const handler = this.#handler;
    if (handler === null) return;
    const batch = this.#batch;
    const size = msg.length;
    const len = size > this.maxDatagram ? this.maxDatagram : size;
    if (len < size) this.#rxTruncated++;
    this.#rxPackets++;
    this.#rxBytes += len;
    // A leg's peer sends from one address: parse it once, not per datagram.
    if (rinfo.address !== this.#lastAddress) {
      this.#lastAddress = rinfo.address;
      this.#lastIpv4 = ipv4ToInt(rinfo.address) ?? 0;
    }
    batch.msg = msg;
    batch.len = len;
    batch.realSize = size;
    batch.ipv4 = this.#lastIpv4;
    batch.port = rinfo.port;
    try {
      handler(batch);
    } catch (err) {
      this.#failures.record(err);
    }
  };

  #assertOpen(): void {
    if (this.#closed) throw new InvalidStateError(`the datagram port ${this.local.address}:${this.local.port} is closed`);
  }
}
