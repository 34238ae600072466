import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { InvalidStateError } from '../common/errors.js';
import { FRAME_TAG_COUNTER_MASK, readFrameTag, writeFrameTag } from './frame-tag.js';
import type { CoreResult, GeneratorPairPorts, GeneratorPairSpec, GeneratorProgress, GeneratorSchedule } from './generator-protocol.js';
import { Histogram, jitterHistogram, latencyHistogram } from './histogram.js';

/**
 * Plays Asterisk for a set of pairs on one thread: two connected UDP sockets
 * per pair (GA ↔ engine leg A, GB ↔ engine leg B), each sending one µ-law
 * stream at 50 packets/s and receiving the engine's injected stream (the other
 * leg's audio). Sends follow one drift-free schedule: the 20 ms period is cut
 * into 1 ms slots, streams are spread evenly over the slots, and every slot
 * has an absolute deadline on the monotonic clock. Packets, send times and
 * counters live in preallocated typed arrays: nothing is allocated per packet
 * by this code.
 *
 * Stream s (local) is pair s>>1, leg A when s is even; its global id is
 * 2·pairIndex + (s & 1). What socket s receives is the mirror of stream s^1.
 */
const PERIOD_MS = 20;
const SLOTS = 20;
const SLOT_MS = PERIOD_MS / SLOTS;
const RTP_HEADER = 12;
const FRAME_BYTES = 160;
const PACKET_BYTES = RTP_HEADER + FRAME_BYTES;
const SAMPLES_PER_FRAME = 160;
/** Send buffers per stream: a datagram libuv had to queue is not overwritten for 80 ms. */
const SEND_BUFFERS = 4;
/** Send-time ring per stream: 256 frames = 5.12 s, far more than any sane engine delay. */
const RING = 256;
const RING_MASK = RING - 1;
/** After a stall, missed slots are sent back to back up to this lateness; beyond it they are skipped. */
const MAX_CATCH_UP_MS = 100;
const FLAG_MEASURED = 1;
const FLAG_RECEIVED = 2;

export interface GeneratorCoreOptions {
  pairs: GeneratorPairSpec[];
  audio: Uint8Array;
  socketBufferBytes: number;
  bindAddress?: string;
  onFinished: (result: CoreResult) => void;
}

export class GeneratorCore {
  readonly #pairs: GeneratorPairSpec[];
  readonly #audio: Buffer;
  readonly #socketBufferBytes: number;
  readonly #bindAddress: string;
  readonly #onFinished: (result: CoreResult) => void;
  readonly #streams: number;
  readonly #sockets: dgram.Socket[] = [];
  readonly #packets: Buffer[] = [];
  readonly #globalId: Int32Array;
  readonly #seq: Int32Array;
  readonly #ts0: Uint32Array;
  readonly #counter: Int32Array;
  readonly #audioPos: Int32Array;
  readonly #ringCounter: Int32Array;
  readonly #ringSentAt: Float64Array;
  readonly #ringFlags: Uint8Array;
  readonly #lastArrival: Float64Array;
  /** Streams of each 1 ms slot. */
  readonly #slotStreams: Int32Array[];
  /** Period index of each slot's next send. */
  readonly #slotPeriod: Int32Array;

  readonly #latency: [Histogram, Histogram] = [latencyHistogram(), latencyHistogram()];
  readonly #pacing = jitterHistogram();
  readonly #sendLateness = latencyHistogram();
  readonly #sent: [number, number] = [0, 0];
  readonly #received: [number, number] = [0, 0];
  readonly #duplicates: [number, number] = [0, 0];
  #sentTotal = 0;
  #receivedTotal = 0;
  #badPackets = 0;
  #untagged = 0;
  #stale = 0;
  #skippedSends = 0;
  #socketErrors = 0;
  #maxSendLateMs = 0;

  #measureStart = Infinity;
  #measureEnd = Infinity;
  #nextDeadline = 0;
  #nextSlot = 0;
  #timer: NodeJS.Timeout | null = null;
  #drainTimer: NodeJS.Timeout | null = null;
  #started = false;
  #finished = false;
  #closed = false;

  constructor(options: GeneratorCoreOptions) {
    if (options.audio.length < FRAME_BYTES) throw new RangeError(`audio must hold at least one frame, got ${options.audio.length} bytes`);
    this.#pairs = options.pairs;
    this.#audio = Buffer.from(options.audio.buffer, options.audio.byteOffset, options.audio.byteLength - (options.audio.byteLength % FRAME_BYTES));
    this.#socketBufferBytes = options.socketBufferBytes;
    this.#bindAddress = options.bindAddress ?? '127.0.0.1';
    this.#onFinished = options.onFinished;
    const n = (this.#streams = options.pairs.length * 2);
    this.#globalId = new Int32Array(n);
    this.#seq = new Int32Array(n);
    this.#ts0 = new Uint32Array(n);
    this.#counter = new Int32Array(n);
    this.#audioPos = new Int32Array(n);
    this.#ringCounter = new Int32Array(n * RING).fill(-1);
    this.#ringSentAt = new Float64Array(n * RING);
    this.#ringFlags = new Uint8Array(n * RING);
    this.#lastArrival = new Float64Array(n);
    const slab = Buffer.alloc(n * SEND_BUFFERS * PACKET_BYTES);
    const audioFrames = this.#audio.length / FRAME_BYTES;
    for (let s = 0; s < n; s++) {
      const pair = options.pairs[s >> 1] as GeneratorPairSpec;
      const gid = 2 * pair.index + (s & 1);
      this.#globalId[s] = gid;
      this.#seq[s] = (Math.random() * 0x10000) | 0;
      this.#ts0[s] = (Math.random() * 0x1_0000_0000) >>> 0;
      // Streams start at different places in the audio, so pairs do not speak in chorus.
      this.#audioPos[s] = ((gid * 37) % audioFrames) * FRAME_BYTES;
      const ssrc = (Math.random() * 0x1_0000_0000) >>> 0;
      for (let b = 0; b < SEND_BUFFERS; b++) {
        const offset = (s * SEND_BUFFERS + b) * PACKET_BYTES;
        const packet = slab.subarray(offset, offset + PACKET_BYTES);
        packet[0] = 0x80; // V=2, no padding, no extension, no CSRC
        packet[1] = 0x00; // PT 0 (PCMU)
        packet.writeUInt32BE(ssrc, 8);
        this.#packets.push(packet);
      }
    }
    const perSlot: number[][] = Array.from({ length: SLOTS }, () => []);
    // Even spread over the period, and the two legs of a pair half a period apart (two people
    // do not speak in lockstep): leg A of pair i at i·20/pairs ms, leg B 10 ms later.
    const pairs = n / 2;
    for (let s = 0; s < n; s++) {
      const slot = (Math.floor(((s >> 1) * SLOTS) / pairs) + (s & 1) * (SLOTS / 2)) % SLOTS;
      (perSlot[slot] as number[]).push(s);
    }
    this.#slotStreams = perSlot.map((list) => Int32Array.from(list));
    this.#slotPeriod = new Int32Array(SLOTS);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Binds and connects every socket; returns the generator's port per pair (Asterisk's UNICASTRTP_LOCAL_PORT). */
  async open(): Promise<GeneratorPairPorts[]> {
    this.#assertOpen();
    const ports: GeneratorPairPorts[] = [];
    for (let i = 0; i < this.#pairs.length; i++) {
      const pair = this.#pairs[i] as GeneratorPairSpec;
      const portA = await this.#openSocket(2 * i, pair.legA);
      const portB = await this.#openSocket(2 * i + 1, pair.legB);
      ports.push({ index: pair.index, portA, portB });
    }
    return ports;
  }

  /** Starts sending at `startAt` (this thread's performance.now() clock) and reports once the drain is over. */
  start(startAt: number, schedule: GeneratorSchedule): void {
    this.#assertOpen();
    if (this.#started) throw new InvalidStateError('the generator core was already started');
    if (this.#sockets.length !== this.#streams) throw new InvalidStateError('open() must complete before start()');
    this.#started = true;
    this.#measureStart = startAt + schedule.warmupMs;
    this.#measureEnd = this.#measureStart + schedule.measureMs;
    this.#nextDeadline = startAt;
    this.#nextSlot = 0;
    this.#arm();
    this.#drainTimer = setTimeout(() => this.#finish(), Math.max(0, this.#measureEnd + schedule.drainMs - performance.now()));
  }

  progress(): GeneratorProgress {
    return {
      sent: this.#sentTotal,
      received: this.#receivedTotal,
      measuredSent: this.#sent[0] + this.#sent[1],
      measuredReceived: this.#received[0] + this.#received[1],
      maxSendLateMs: this.#maxSendLateMs,
    };
  }

  result(): CoreResult {
    const direction = (d: 0 | 1): CoreResult['aToB'] => ({
      sent: this.#sent[d],
      received: this.#received[d],
      duplicates: this.#duplicates[d],
      latency: this.#latency[d].snapshot(),
    });
    return {
      aToB: direction(0),
      bToA: direction(1),
      pacing: this.#pacing.snapshot(),
      sendLateness: this.#sendLateness.snapshot(),
      sentTotal: this.#sentTotal,
      receivedTotal: this.#receivedTotal,
      badPackets: this.#badPackets,
      untagged: this.#untagged,
      stale: this.#stale,
      skippedSends: this.#skippedSends,
      socketErrors: this.#socketErrors,
    };
  }

  /** Stops sending and closes every socket. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#drainTimer !== null) clearTimeout(this.#drainTimer);
    this.#timer = null;
    this.#drainTimer = null;
    for (const socket of this.#sockets) {
      try {
        socket.close();
      } catch {
        // Already closed (bind failed half-way): nothing left to release.
      }
    }
  }

  #openSocket(s: number, remote: { address: string; port: number }): Promise<number> {
    const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: this.#socketBufferBytes, sendBufferSize: this.#socketBufferBytes });
    this.#sockets.push(socket);
    socket.on('error', () => {
      // ECONNREFUSED from ICMP after the engine closed a leg, mostly: counted, never fatal.
      this.#socketErrors++;
    });
    socket.on('message', (msg: Buffer) => this.#onMessage(s, msg));
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ port: 0, address: this.#bindAddress }, () => {
        socket.connect(remote.port, remote.address, () => {
          socket.off('error', reject);
          resolve(socket.address().port);
        });
      });
    });
  }

  #arm(): void {
    if (this.#closed) return;
    const delay = this.#nextDeadline - performance.now();
    this.#timer = setTimeout(this.#onTimer, delay > 1 ? Math.floor(delay) : 0);
  }

  readonly #onTimer = (): void => {
    this.#timer = null;
    if (this.#closed) return;
    const now = performance.now();
    if (now - this.#nextDeadline > MAX_CATCH_UP_MS) this.#skipTo(now);
    while (this.#nextDeadline <= now + 0.25 && this.#nextDeadline < this.#measureEnd) {
      this.#sendSlot(this.#nextSlot, this.#nextDeadline);
      this.#nextSlot = (this.#nextSlot + 1) % SLOTS;
      this.#nextDeadline += SLOT_MS;
    }
    if (this.#nextDeadline < this.#measureEnd) this.#arm();
  };

  /** A stall longer than MAX_CATCH_UP_MS: the missed slots are counted, not burst out. */
  #skipTo(now: number): void {
    while (now - this.#nextDeadline > MAX_CATCH_UP_MS && this.#nextDeadline < this.#measureEnd) {
      const slot = this.#nextSlot;
      // Only the measured window counts: a slow first tick in the warm-up is not the engine's business.
      if (this.#nextDeadline >= this.#measureStart) this.#skippedSends += (this.#slotStreams[slot] as Int32Array).length;
      this.#slotPeriod[slot]!++;
      this.#nextSlot = (slot + 1) % SLOTS;
      this.#nextDeadline += SLOT_MS;
    }
  }

  #sendSlot(slot: number, deadline: number): void {
    const streams = this.#slotStreams[slot] as Int32Array;
    const period = this.#slotPeriod[slot]!;
    this.#slotPeriod[slot] = period + 1;
    const measured = deadline >= this.#measureStart && deadline < this.#measureEnd;
    const audio = this.#audio;
    for (let i = 0; i < streams.length; i++) {
      const s = streams[i]!;
      const counter = this.#counter[s]!;
      const packet = this.#packets[s * SEND_BUFFERS + (counter & (SEND_BUFFERS - 1))] as Buffer;
      const seq = (this.#seq[s]! + 1) & 0xffff;
      this.#seq[s] = seq;
      packet[1] = counter === 0 ? 0x80 : 0x00; // marker on the first packet of the talkspurt, PT 0
      packet[2] = seq >>> 8;
      packet[3] = seq & 0xff;
      packet.writeUInt32BE((this.#ts0[s]! + period * SAMPLES_PER_FRAME) >>> 0, 4);
      const pos = this.#audioPos[s]!;
      audio.copy(packet, RTP_HEADER, pos, pos + FRAME_BYTES);
      this.#audioPos[s] = pos + FRAME_BYTES >= audio.length ? 0 : pos + FRAME_BYTES;
      const tag = counter & FRAME_TAG_COUNTER_MASK;
      writeFrameTag(packet, RTP_HEADER, tag, this.#globalId[s]!);
      const r = s * RING + (tag & RING_MASK);
      const now = performance.now();
      this.#ringCounter[r] = tag;
      this.#ringSentAt[r] = now;
      this.#ringFlags[r] = measured ? FLAG_MEASURED : 0;
      (this.#sockets[s] as dgram.Socket).send(packet);
      this.#counter[s] = counter + 1;
      this.#sentTotal++;
      if (measured) {
        this.#sent[s & 1]!++;
        const late = now - deadline;
        this.#sendLateness.record(late);
        if (late > this.#maxSendLateMs) this.#maxSendLateMs = late;
      }
    }
  }

  #onMessage(s: number, msg: Buffer): void {
    if (this.#finished) return;
    const now = performance.now();
    this.#receivedTotal++;
    if (msg.length < RTP_HEADER || (msg[0]! & 0xc0) !== 0x80) {
      this.#badPackets++;
      return;
    }
    if (now >= this.#measureStart && now < this.#measureEnd) {
      const last = this.#lastArrival[s]!;
      if (last > 0) this.#pacing.record(Math.abs(now - last - PERIOD_MS));
    }
    this.#lastArrival[s] = now;
    let offset = RTP_HEADER + 4 * (msg[0]! & 0x0f);
    if ((msg[0]! & 0x10) !== 0) {
      if (msg.length < offset + 4) {
        this.#badPackets++;
        return;
      }
      offset += 4 + 4 * msg.readUInt16BE(offset + 2);
    }
    const source = s ^ 1;
    const tag = readFrameTag(msg, offset, this.#globalId[source]!);
    if (tag < 0) {
      this.#untagged++;
      return;
    }
    const r = source * RING + (tag & RING_MASK);
    if (this.#ringCounter[r] !== tag) {
      this.#stale++;
      return;
    }
    const flags = this.#ringFlags[r]!;
    const direction = source & 1;
    if ((flags & FLAG_RECEIVED) !== 0) {
      this.#duplicates[direction]!++;
      return;
    }
    this.#ringFlags[r] = flags | FLAG_RECEIVED;
    if ((flags & FLAG_MEASURED) !== 0) {
      this.#received[direction]!++;
      this.#latency[direction]!.record(now - this.#ringSentAt[r]!);
    }
  }

  /**
   * Reports but keeps the sockets open: the engine still sends until its pairs
   * close, and a closed port would answer with ICMP errors on every engine leg.
   */
  #finish(): void {
    this.#drainTimer = null;
    if (this.#closed) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#finished = true;
    this.#onFinished(this.result());
  }

  #assertOpen(): void {
    if (this.#closed) throw new InvalidStateError('the generator core is closed');
  }
}
