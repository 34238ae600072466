import { InvalidStateError } from '../../../../common/src/errors.js';
import type { DatagramPeer } from './datagram-port.js';

/** Ints per queued datagram in `descriptors`: offset, length, ipv4, port (the addon's send layout). */
export const DESCRIPTOR_INTS = 4;

/** A send's range must lie inside `data` and fit a queue slot. */
export function checkSendRange(data: Uint8Array, offset: number, length: number, maxDatagram: number): void {
  if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array');
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > data.length) {
    throw new RangeError(`send range ${offset}+${length} lies outside data (${data.length} bytes)`);
  }
  if (length > maxDatagram) throw new RangeError(`a ${length}-byte datagram exceeds maxDatagram (${maxDatagram})`);
}

/** What `send` needs of a port: both implementations copy into a queue slot and commit it. */
export interface SlotSender {
  readonly maxDatagram: number;
  sendSlot(): Uint8Array;
  commit(length: number, peer: DatagramPeer): void;
}

/** `send()` of every port: the range checked, the bytes copied into the next slot, committed. */
export function sendThroughSlot(port: SlotSender, data: Uint8Array, offset: number, length: number, peer: DatagramPeer): void {
  checkSendRange(data, offset, length, port.maxDatagram);
  const slot = port.sendSlot();
  slot.set(length === data.length && offset === 0 ? data : data.subarray(offset, offset + length));
  port.commit(length, peer);
}

/** Memory for one queue's worth of datagrams, and a view per slot (made once). */
export interface SendArena {
  readonly buffer: Buffer;
  readonly slots: readonly Buffer[];
}

/**
 * The datagrams queued for the next flush: `capacity` slots of maxDatagram
 * bytes in one arena, and their descriptors. Slots are handed out one at a
 * time (`nextSlot`, then `commit`), so the caller can write a datagram
 * straight into its slot.
 */
export class SendQueue {
  readonly descriptors: Int32Array;
  /** The peer of each queued datagram (node:dgram sends by address string). */
  readonly peers: Array<DatagramPeer | null>;
  readonly capacity: number;
  readonly slotBytes: number;
  readonly #maxDatagram: number;
  #arena: SendArena;
  #count = 0;
  #reserved = false;

  constructor(capacity: number, maxDatagram: number) {
    this.capacity = capacity;
    this.#maxDatagram = maxDatagram;
    this.slotBytes = (maxDatagram + 7) & ~7;
    this.descriptors = new Int32Array(capacity * DESCRIPTOR_INTS);
    this.peers = new Array<DatagramPeer | null>(capacity).fill(null);
    this.#arena = this.newArena();
  }

  /** The arena the queued datagrams are in; descriptors' offsets are into its buffer. */
  get arena(): SendArena {
    return this.#arena;
  }

  get buffer(): Buffer {
    return this.#arena.buffer;
  }

  get count(): number {
    return this.#count;
  }

  get full(): boolean {
    return this.#count === this.capacity;
  }

  /** The next slot to write into (the caller flushes first when full). */
  nextSlot(): Buffer {
    if (this.full) throw new InvalidStateError('the send queue is full: flush first');
    this.#reserved = true;
    return this.#arena.slots[this.#count] as Buffer;
  }

  /** Queues what was written into the slot `nextSlot` returned. */
  commit(length: number, peer: DatagramPeer): void {
    if (!this.#reserved) throw new InvalidStateError('commit without sendSlot');
    if (!Number.isInteger(length) || length < 0 || length > this.#maxDatagram) {
      throw new RangeError(`datagram length must be an integer in 0..${this.#maxDatagram}, got ${length}`);
    }
    this.#reserved = false;
    const d = this.#count * DESCRIPTOR_INTS;
    const descriptors = this.descriptors;
    descriptors[d] = this.#count * this.slotBytes;
    descriptors[d + 1] = length;
    descriptors[d + 2] = peer.ipv4;
    descriptors[d + 3] = peer.port;
    this.peers[this.#count] = peer;
    this.#count++;
  }

  clear(): void {
    this.#count = 0;
    this.#reserved = false;
  }

  /** Writes go to `arena` from now on (the previous one may still be read by sends in flight). Clears the queue. */
  useArena(arena: SendArena): void {
    this.clear();
    this.#arena = arena;
  }

  newArena(): SendArena {
    const buffer = Buffer.alloc(this.capacity * this.slotBytes);
    const slots = Array.from({ length: this.capacity }, (_, i) => buffer.subarray(i * this.slotBytes, i * this.slotBytes + this.#maxDatagram));
    return { buffer, slots };
  }
}
