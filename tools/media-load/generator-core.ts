import { performance } from 'node:perf_hooks';
import { InvalidStateError } from '../../common/src/errors.js';
import { CoreSockets } from './core-sockets.js';
import { FRAME_TAG_COUNTER_MASK } from './frame-tag.js';
import {
  NO_IMPAIRMENT,
  type CoreResult,
  type GeneratorPairPorts,
  type GeneratorPairSpec,
  type GeneratorProgress,
  type GeneratorSchedule,
  type Impairment,
  type WindowSample,
} from './generator-protocol.js';
import { GeneratorTally } from './generator-tally.js';
import { ImpairmentPath } from './impairment-path.js';
import { PERIOD_MS, SentFrames } from './sent-frames.js';
import { SLOTS, SLOT_MS, SlotSchedule } from './slot-schedule.js';
import { StreamPackets } from './stream-packets.js';
import { loadCodecFormat, type LoadCodecFormat, type LoadCodecName } from './load-codec.js';
import { WINDOW_MS, WindowLedger } from './window-ledger.js';

/**
 * Plays Asterisk for a set of pairs on one thread: two connected UDP sockets
 * per pair (GA ↔ engine leg A, GB ↔ engine leg B), each sending one stream in
 * the run's codec at 50 packets/s and receiving the engine's injected stream
 * (the other leg's audio). Sends follow one drift-free schedule: the 20 ms
 * period is cut into 1 ms slots, streams are spread evenly over the slots, and
 * every slot has an absolute deadline on the monotonic clock. Packets, send
 * times and counters live in preallocated typed arrays: nothing is allocated
 * per packet by this code.
 *
 * Impairment (loss, reorder, jitter) is applied on that paced clock, in that
 * order: a dropped frame never reaches the wire; a reordered one waits for its
 * stream's next frame; a delayed one waits in a DelayWheel released by the
 * same 1 ms tick. Latency is measured from the actual send, so it stays the
 * engine's.
 *
 * Stream s (local) is pair s>>1, leg A when s is even; its global id is
 * 2·pairIndex + (s & 1). What socket s receives is the mirror of stream s^1.
 * Pairs can be added while running (a ramp) up to the capacity given at
 * construction.
 */
/** Send buffers per stream without jitter: a datagram libuv had to queue is not overwritten for 80 ms. */
const BASE_SEND_BUFFERS = 4;
/** After a stall, missed slots are sent back to back up to this lateness; beyond it they are skipped. */
const MAX_CATCH_UP_MS = 100;
/**
 * A pair added while running is not measured for its first second: the
 * engine learns its remotes only after the generator reported the ports, and
 * its jitter buffers settle, as the initial pairs do in the warm-up.
 */
const NEW_PAIR_SETTLE_MS = 1000;

export interface GeneratorCoreOptions {
  /** Pairs opened by open(). */
  pairs: GeneratorPairSpec[];
  /** Most pairs this core will ever carry (open + addPairs). Default: pairs.length. */
  capacityPairs?: number;
  /** Payload bytes in `codec`, a whole number of 20 ms frames (see audioForCodec). */
  audio: Uint8Array;
  codec?: LoadCodecName;
  impairment?: Impairment;
  /** Uniform [0, 1) source for the impairment (tests inject a seeded one). Default Math.random. */
  random?: () => number;
  socketBufferBytes: number;
  bindAddress?: string;
  /** Frame tags in every payload (default true; see StreamPackets). */
  tagFrames?: boolean;
  onFinished: (result: CoreResult) => void;
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export class GeneratorCore {
  readonly #format: LoadCodecFormat;
  readonly #initialPairs: GeneratorPairSpec[];
  readonly #capacityPairs: number;
  readonly #onFinished: (result: CoreResult) => void;
  readonly #sendBuffers: number;
  readonly #sockets: CoreSockets;
  readonly #streams: StreamPackets;
  /** Ring entry of the frame each send buffer holds, so a delayed send stamps its own send time. */
  readonly #bufferRing: Int32Array;
  /** Frames scheduled before this time (performance.now()) are not measured: a pair added while running. */
  readonly #measureFrom: Float64Array;
  readonly #sentFrames: SentFrames;
  readonly #slots: SlotSchedule;
  readonly #impairment: ImpairmentPath;
  readonly #ledger = new WindowLedger(() => this.#activePairs);
  readonly #tally = new GeneratorTally();
  /** Local pairs reserved (sockets opening or open) and active (sending). */
  #reservedPairs = 0;
  #activePairs = 0;

  #startAt = 0;
  #measureStart = Infinity;
  #measureEnd = Infinity;
  #drainMs = 0;
  #nextDeadline = 0;
  #nextSlot = 0;
  #timer: NodeJS.Timeout | null = null;
  #drainTimer: NodeJS.Timeout | null = null;
  #opened = false;
  #started = false;
  #sendingDone = false;
  #finished = false;
  #closed = false;

  constructor(options: GeneratorCoreOptions) {
    this.#format = loadCodecFormat(options.codec ?? 'ulaw');
    const frameBytes = this.#format.frameBytes;
    if (options.audio.length < frameBytes) throw new RangeError(`audio must hold at least one ${frameBytes}-byte frame, got ${options.audio.length} bytes`);
    const capacity = (this.#capacityPairs = options.capacityPairs ?? options.pairs.length);
    if (!Number.isInteger(capacity) || capacity < 1 || capacity < options.pairs.length) {
      throw new RangeError(`capacityPairs must be a positive integer ≥ ${options.pairs.length}, got ${capacity}`);
    }
    this.#initialPairs = options.pairs;
    this.#onFinished = options.onFinished;
    const impairment = { ...(options.impairment ?? NO_IMPAIRMENT) };
    const jitterMs = impairment.jitterMs;
    // A frame may wait its jitter plus one period (a reorder) before it leaves: its buffer must survive that.
    this.#sendBuffers = nextPowerOfTwo(BASE_SEND_BUFFERS + Math.ceil(jitterMs / PERIOD_MS) + 2);
    const n = capacity * 2;
    this.#sockets = new CoreSockets({
      streams: n,
      bufferBytes: options.socketBufferBytes,
      bindAddress: options.bindAddress ?? '127.0.0.1',
      // ECONNREFUSED from ICMP after the engine closed a leg, mostly: counted, never fatal.
      onError: () => this.#tally.socketErrors++,
    });
    this.#bufferRing = new Int32Array(n * this.#sendBuffers);
    this.#streams = new StreamPackets({
      streams: n,
      format: this.#format,
      audio: Buffer.from(options.audio.buffer, options.audio.byteOffset, options.audio.byteLength - (options.audio.byteLength % frameBytes)),
      sendBuffers: this.#sendBuffers,
      tagFrames: options.tagFrames ?? true,
    });
    this.#measureFrom = new Float64Array(n);
    this.#sentFrames = new SentFrames(n, this.#format.wide, this.#streams.globalId, this.#tally, this.#ledger);
    this.#slots = new SlotSchedule(n);
    this.#impairment = new ImpairmentPath({ streams: n, impairment, random: options.random ?? Math.random, tally: this.#tally, send: this.#sendNow });
  }

  get closed(): boolean {
    return this.#closed;
  }

  get codec(): LoadCodecName {
    return this.#format.name;
  }

  /** Pairs currently sending. */
  get activePairs(): number {
    return this.#activePairs;
  }

  /** Binds and connects the initial pairs' sockets; returns the generator's port per pair (Asterisk's UNICASTRTP_LOCAL_PORT). */
  async open(): Promise<GeneratorPairPorts[]> {
    const ports = await this.addPairs(this.#initialPairs);
    this.#opened = true;
    return ports;
  }

  /** Opens sockets for more pairs (before or while running); they send from the next slot on. */
  async addPairs(pairs: readonly GeneratorPairSpec[]): Promise<GeneratorPairPorts[]> {
    this.#assertOpen();
    if (this.#reservedPairs + pairs.length > this.#capacityPairs) {
      throw new RangeError(`adding ${pairs.length} pairs to ${this.#reservedPairs} exceeds this core's capacity of ${this.#capacityPairs}`);
    }
    const first = this.#reservedPairs;
    this.#reservedPairs += pairs.length;
    const ports: GeneratorPairPorts[] = [];
    for (let i = 0; i < pairs.length; i++) {
      const pair = pairs[i] as GeneratorPairSpec;
      const local = first + i;
      const portA = await this.#sockets.open(2 * local, pair.legA, (msg) => this.#onMessage(2 * local, msg));
      const portB = await this.#sockets.open(2 * local + 1, pair.legB, (msg) => this.#onMessage(2 * local + 1, msg));
      this.#assertOpen();
      this.#activate(local, pair);
      ports.push({ index: pair.index, portA, portB });
    }
    return ports;
  }

  /** Starts sending at `startAt` (this thread's performance.now() clock) and reports once the drain is over. */
  start(startAt: number, schedule: GeneratorSchedule): void {
    this.#assertOpen();
    if (this.#started) throw new InvalidStateError('the generator core was already started');
    if (!this.#opened || this.#activePairs !== this.#reservedPairs) throw new InvalidStateError('open() must complete before start()');
    this.#started = true;
    this.#startAt = startAt;
    this.#measureStart = startAt + schedule.warmupMs;
    this.#measureEnd = this.#measureStart + schedule.measureMs;
    this.#drainMs = schedule.drainMs;
    this.#nextDeadline = startAt;
    this.#nextSlot = 0;
    this.#arm();
    this.#armDrain();
  }

  /** Ends the measured window now (never later than scheduled); the drain and the result follow. */
  endMeasurement(): void {
    this.#assertOpen();
    if (!this.#started || this.#finished) return;
    const now = performance.now();
    if (now >= this.#measureEnd) return;
    if (now < this.#measureStart) this.#measureStart = now;
    this.#measureEnd = now;
    this.#armDrain();
  }

  progress(): GeneratorProgress {
    return this.#tally.progress();
  }

  /** Windows settled since the last call, oldest first. */
  takeWindows(): WindowSample[] {
    if (this.#started && !this.#finished) this.#settleUpTo(performance.now());
    return this.#ledger.takePending();
  }

  result(): CoreResult {
    const streamFrames: Array<[number, number]> = [];
    for (let s = 0; s < this.#activePairs * 2; s++) streamFrames.push([this.#streams.globalId[s]!, this.#streams.frames(s)]);
    return { ...this.#tally.result(this.#ledger.settled), streamFrames };
  }

  /** Stops sending and closes every socket. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#drainTimer !== null) clearTimeout(this.#drainTimer);
    this.#timer = null;
    this.#drainTimer = null;
    this.#sockets.close();
  }

  /**
   * Puts a pair's two streams on the schedule: leg A on the least loaded slot,
   * leg B half a period later (two people do not speak in lockstep). Added one
   * by one, pairs still spread evenly over the period.
   */
  #activate(local: number, pair: GeneratorPairSpec): void {
    for (let leg = 0; leg < 2; leg++) {
      const s = 2 * local + leg;
      this.#streams.activate(s, 2 * pair.index + leg, pair.startFrames?.[leg]);
      this.#measureFrom[s] = this.#started ? performance.now() + NEW_PAIR_SETTLE_MS : 0;
    }
    this.#slots.placePair(2 * local, 2 * local + 1);
    this.#activePairs++;
  }

  #arm(): void {
    if (this.#closed) return;
    const delay = this.#nextDeadline - performance.now();
    this.#timer = setTimeout(this.#onTimer, delay > 1 ? Math.floor(delay) : 0);
  }

  #armDrain(): void {
    if (this.#drainTimer !== null) clearTimeout(this.#drainTimer);
    this.#drainTimer = setTimeout(() => this.#finish(), Math.max(0, this.#measureEnd + this.#drainMs - performance.now()));
  }

  readonly #onTimer = (): void => {
    this.#timer = null;
    if (this.#closed || this.#finished) return;
    const now = performance.now();
    // Due delayed sends first; it also brings the wheel's cursor to now, so this tick's delays fit its reach.
    this.#impairment.advance(now - this.#startAt);
    if (now - this.#nextDeadline > MAX_CATCH_UP_MS) this.#skipTo(now);
    while (this.#nextDeadline <= now + 0.25 && this.#nextDeadline < this.#measureEnd) {
      this.#sendSlot(this.#nextSlot, this.#nextDeadline);
      this.#nextSlot = (this.#nextSlot + 1) % SLOTS;
      this.#nextDeadline += SLOT_MS;
    }
    if (this.#nextDeadline >= this.#measureEnd && !this.#sendingDone) {
      this.#sendingDone = true;
      this.#impairment.releaseHeld(now - this.#startAt);
    }
    const impairment = this.#impairment;
    if (impairment.pending > 0) impairment.advance(performance.now() - this.#startAt);
    if (this.#nextDeadline < this.#measureEnd) this.#arm();
    else if (impairment.pending > 0) {
      this.#nextDeadline = now + 1;
      this.#arm();
    }
  };

  /** A stall longer than MAX_CATCH_UP_MS: the missed slots are counted, not burst out. */
  #skipTo(now: number): void {
    while (now - this.#nextDeadline > MAX_CATCH_UP_MS && this.#nextDeadline < this.#measureEnd) {
      const slot = this.#nextSlot;
      // Only the measured window counts: a slow first tick in the warm-up is not the engine's business.
      if (this.#nextDeadline >= this.#measureStart) this.#tally.skippedSends += this.#slots.count(slot);
      this.#slots.takePeriod(slot);
      this.#nextSlot = (slot + 1) % SLOTS;
      this.#nextDeadline += SLOT_MS;
    }
  }

  #sendSlot(slot: number, deadline: number): void {
    const slots = this.#slots;
    const count = slots.count(slot);
    const period = slots.takePeriod(slot);
    if (count === 0) return;
    const inWindow = deadline >= this.#measureStart && deadline < this.#measureEnd;
    const windowIndex = Math.floor((deadline - this.#startAt) / WINDOW_MS);
    const win = this.#ledger.windowFor(windowIndex);
    if (win !== null) win.pairs = this.#activePairs;
    const streams = this.#streams;
    const sendBuffers = this.#sendBuffers;
    const impairment = this.#impairment;
    const now = performance.now();
    const late = now - deadline;
    for (let i = 0; i < count; i++) {
      const s = slots.stream(slot, i);
      const settled = deadline >= this.#measureFrom[s]!;
      const measured = inWindow && settled;
      const counter = streams.fill(s, period);
      const b = counter & (sendBuffers - 1);
      this.#bufferRing[s * sendBuffers + b] = this.#sentFrames.record(s, counter & FRAME_TAG_COUNTER_MASK, measured, settled ? windowIndex : -1);
      if (measured) {
        this.#tally.sendLateness.record(late);
        if (late > this.#tally.maxSendLateMs) this.#tally.maxSendLateMs = late;
      }
      if (impairment.drop()) {
        if (measured) this.#tally.impairmentDropped[s & 1]!++;
        if (win !== null && settled) win.dropped++;
        continue;
      }
      impairment.offer(s, b, now - this.#startAt);
    }
  }

  readonly #sendNow = (s: number, b: number): void => {
    if (this.#closed) return;
    const i = s * this.#sendBuffers + b;
    const now = performance.now();
    if (!this.#sockets.send(s, this.#streams.packet(s, b))) return;
    this.#tally.sentTotal++;
    this.#sentFrames.markSent(s, this.#bufferRing[i]!, now);
    const wire = this.#ledger.windowFor(Math.floor((now - this.#startAt) / WINDOW_MS));
    if (wire !== null) wire.packets++;
  };

  #onMessage(s: number, msg: Buffer): void {
    if (this.#finished) return;
    const now = performance.now();
    this.#tally.receivedTotal++;
    const arrivalWindow = this.#started ? this.#ledger.windowFor(Math.floor((now - this.#startAt) / WINDOW_MS)) : null;
    if (arrivalWindow !== null) arrivalWindow.arrivals++;
    this.#sentFrames.receive(s, msg, now, now >= this.#measureStart && now < this.#measureEnd);
  }

  /** Settles every window that can be settled at `now`. */
  #settleUpTo(now: number): void {
    this.#ledger.settleUpTo(this.#ledger.lastSettleable(now, this.#startAt, this.#measureEnd));
  }

  /**
   * Reports but keeps the sockets open: the engine still sends until its pairs
   * close, and a closed port would answer with ICMP errors on every engine leg.
   */
  #finish(): void {
    this.#drainTimer = null;
    if (this.#closed || this.#finished) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    // Whatever the wheel still holds is sent now: it was scheduled in the measured window.
    this.#impairment.flush();
    this.#settleUpTo(Infinity);
    this.#finished = true;
    this.#onFinished(this.result());
  }

  #assertOpen(): void {
    if (this.#closed) throw new InvalidStateError('the generator core is closed');
  }
}
