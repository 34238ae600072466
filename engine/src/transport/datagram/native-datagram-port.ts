import { InvalidStateError } from '../../../../common/src/errors.js';
import {
  resolveDatagramPortOptions,
  type BatchHandler,
  type DatagramPeer,
  type DatagramPort,
  type DatagramPortOptions,
  type DatagramPortStats,
  type ReceivedBatch,
} from './datagram-port.js';
import { HandlerFailures } from './handler-failures.js';
import type { NativeUdpBatchBinding, NativeUdpBatchSocket } from './native-addon.js';
import { sendThroughSlot, SendQueue } from './send-queue.js';

/**
 * The received batch over the addon's arena: typed views made once, so
 * reading a datagram's fields allocates nothing.
 */
class ArenaBatch implements ReceivedBatch {
  count = 0;
  readonly #views: Buffer[];
  readonly #lengths: Int32Array;
  readonly #sizes: Int32Array;
  readonly #addresses: Int32Array;
  readonly #ports: Int32Array;
  readonly #timestamps: Float64Array;

  constructor(arena: ArrayBuffer, layout: ReturnType<NativeUdpBatchSocket['layout']>) {
    const { batch, slotBytes, maxDatagram } = layout;
    this.#views = Array.from({ length: batch }, (_, i) => Buffer.from(arena, i * slotBytes, maxDatagram));
    this.#lengths = new Int32Array(arena, layout.lengthsOffset, batch);
    this.#sizes = new Int32Array(arena, layout.sizesOffset, batch);
    this.#addresses = new Int32Array(arena, layout.addressesOffset, batch);
    this.#ports = new Int32Array(arena, layout.portsOffset, batch);
    this.#timestamps = new Float64Array(arena, layout.timestampsOffset, batch);
  }

  view(i: number): Uint8Array {
    return this.#views[i] as Buffer;
  }
  length(i: number): number {
    return this.#lengths[i] as number;
  }
  size(i: number): number {
    return this.#sizes[i] as number;
  }
  truncated(i: number): boolean {
    return (this.#sizes[i] as number) > (this.#lengths[i] as number);
  }
  sourceIpv4(i: number): number {
    return this.#addresses[i] as number;
  }
  sourcePort(i: number): number {
    return this.#ports[i] as number;
  }
  receivedAtMs(i: number): number {
    const t = this.#timestamps[i] as number;
    return t > 0 ? t : Number.NaN;
  }
}

/**
 * A DatagramPort on the udp_batch addon: recvmmsg into one preallocated
 * arena per port, sendmmsg of the queued datagrams per flush. Readiness
 * comes from a libuv poll handle on this thread's loop; each readable event
 * drains up to `maxBatchesPerWake` batches, then yields (the poll is
 * level-triggered, so what is left wakes it again).
 */
export class NativeDatagramPort implements DatagramPort {
  readonly io = 'native' as const;
  readonly local: { readonly address: string; readonly port: number };
  readonly maxDatagram: number;
  readonly #socket: NativeUdpBatchSocket;
  readonly #arena: ArrayBuffer;
  readonly #batch: ArenaBatch;
  readonly #batchSize: number;
  readonly #maxBatchesPerWake: number;
  readonly #queue: SendQueue;
  readonly #failures: HandlerFailures;
  #handler: BatchHandler | null = null;
  #pollErrors = 0;
  #closed = false;

  constructor(binding: NativeUdpBatchBinding, options: DatagramPortOptions) {
    const o = resolveDatagramPortOptions(options);
    this.#socket = new binding.UdpBatchSocket(o.address, o.port, o.batch, o.maxDatagram, o.recvBufferSize, o.sendBufferSize, o.timestamps);
    const layout = this.#socket.layout();
    this.#arena = new ArrayBuffer(layout.arenaBytes);
    this.#batch = new ArenaBatch(this.#arena, layout);
    this.#batchSize = o.batch;
    this.#maxBatchesPerWake = o.maxBatchesPerWake;
    this.maxDatagram = o.maxDatagram;
    this.#queue = new SendQueue(o.batch, o.maxDatagram);
    const { address, port } = this.#socket.address();
    this.local = Object.freeze({ address, port });
    this.#failures = new HandlerFailures('native', this.local);
  }

  get closed(): boolean {
    return this.#closed;
  }

  get queued(): number {
    return this.#queue.count;
  }

  onBatch(handler: BatchHandler | null): void {
    this.#assertOpen();
    this.#handler = handler;
    this.#socket.setReadable(handler === null ? null : this.#onReadable);
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
    const count = this.#queue.count;
    if (count === 0 || this.#closed) return 0;
    this.#queue.clear();
    return this.#socket.send(this.#queue.buffer, this.#queue.descriptors, count);
  }

  setRef(ref: boolean): void {
    this.#assertOpen();
    this.#socket.setRef(ref);
  }

  stats(): DatagramPortStats {
    const s = this.#socket.stats();
    return {
      io: 'native',
      rxPackets: s.rxPackets,
      rxBytes: s.rxBytes,
      rxBatches: s.rxCalls,
      rxTruncated: s.rxTruncated,
      rxErrors: s.rxErrors + this.#pollErrors,
      rxKernelDrops: s.rxKernelDrops < 0 ? null : s.rxKernelDrops,
      txPackets: s.txPackets,
      txBytes: s.txBytes,
      txBatches: s.txCalls,
      txWouldBlock: s.txWouldBlock,
      txErrors: s.txErrors,
      handlerErrors: this.#failures.count,
      recvBufferBytes: s.recvBufferBytes,
      sendBufferBytes: s.sendBufferBytes,
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#handler = null;
    this.#queue.clear();
    this.#socket.close();
  }

  readonly #onReadable = (status: number): void => {
    // A poll error (rare: the fd in a bad state) still ends in recv, which reports and clears it.
    if (status < 0) this.#pollErrors++;
    const batch = this.#batch;
    for (let round = 0; round < this.#maxBatchesPerWake; round++) {
      // The handler may have closed the port or removed itself.
      const handler = this.#handler;
      if (handler === null) return;
      const n = this.#socket.recv(this.#arena);
      if (n === 0) return;
      batch.count = n;
      try {
        handler(batch);
      } catch (err) {
        this.#failures.record(err);
      }
      // Fewer than a full batch: the queue is empty now; the next datagram wakes the poll again.
      if (n < this.#batchSize) return;
    }
  };

  #assertOpen(): void {
    if (this.#closed) throw new InvalidStateError(`the datagram port ${this.local.address}:${this.local.port} is closed`);
  }
}
