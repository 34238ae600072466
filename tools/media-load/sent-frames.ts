/**
 * The generator's record of every frame it sent, and the receive path that matches the frames the
 * engine returns against it. Each stream has a ring of RING entries indexed by the frame tag's low
 * bits: the tag, the send time, whether the frame is measured / already returned, and the window it
 * was scheduled in. A returned frame's tag finds its entry (stale once the ring moved past it), which
 * gives its latency and counts duplicates. Preallocated typed arrays: nothing allocated per packet.
 */
import { readFrameTag, readFrameTagL16 } from './frame-tag.js';
import type { GeneratorTally } from './generator-tally.js';
import type { WindowLedger } from './window-ledger.js';

export const RTP_HEADER = 12;
export const PERIOD_MS = 20;
/** Send-time ring per stream: 256 frames = 5.12 s, far more than any sane engine delay. */
const RING = 256;
const RING_MASK = RING - 1;
const FLAG_MEASURED = 1;
const FLAG_RECEIVED = 2;

export class SentFrames {
  readonly #wide: boolean;
  /** Global stream id of each local stream (what the frame tag carries). */
  readonly #globalId: Int32Array;
  readonly #tally: GeneratorTally;
  readonly #ledger: WindowLedger;
  readonly #ringCounter: Int32Array;
  readonly #ringSentAt: Float64Array;
  readonly #ringFlags: Uint8Array;
  readonly #ringWindow: Int32Array;
  readonly #lastArrival: Float64Array;

  constructor(streams: number, wide: boolean, globalId: Int32Array, tally: GeneratorTally, ledger: WindowLedger) {
    this.#wide = wide;
    this.#globalId = globalId;
    this.#tally = tally;
    this.#ledger = ledger;
    this.#ringCounter = new Int32Array(streams * RING).fill(-1);
    this.#ringSentAt = new Float64Array(streams * RING);
    this.#ringFlags = new Uint8Array(streams * RING);
    this.#ringWindow = new Int32Array(streams * RING).fill(-1);
    this.#lastArrival = new Float64Array(streams);
  }

  /** Records frame `tag` of stream s as built, not yet sent (windowIndex -1: no window); returns its entry. */
  record(s: number, tag: number, measured: boolean, windowIndex: number): number {
    const r = s * RING + (tag & RING_MASK);
    this.#ringCounter[r] = tag;
    this.#ringSentAt[r] = NaN;
    this.#ringFlags[r] = measured ? FLAG_MEASURED : 0;
    this.#ringWindow[r] = windowIndex;
    return r;
  }

  /** Entry r of stream s went on the wire at `now`: latency counts from here. */
  markSent(s: number, r: number, now: number): void {
    this.#ringSentAt[r] = now;
    if ((this.#ringFlags[r]! & FLAG_MEASURED) !== 0) this.#tally.sent[s & 1]!++;
    const win = this.#ledger.windowFor(this.#ringWindow[r]!);
    if (win !== null) win.sent++;
  }

  /**
   * A datagram socket s received at `now` (the mirror of stream s^1): checks it is RTP, records its
   * pacing when `inMeasure`, and matches its frame tag against what stream s^1 sent.
   */
  receive(s: number, msg: Buffer, now: number, inMeasure: boolean): void {
    if (msg.length < RTP_HEADER || (msg[0]! & 0xc0) !== 0x80) {
      this.#tally.badPackets++;
      return;
    }
    if (inMeasure) {
      const last = this.#lastArrival[s]!;
      if (last > 0) this.#tally.pacing.record(Math.abs(now - last - PERIOD_MS));
    }
    this.#lastArrival[s] = now;
    let offset = RTP_HEADER + 4 * (msg[0]! & 0x0f);
    if ((msg[0]! & 0x10) !== 0) {
      if (msg.length < offset + 4) {
        this.#tally.badPackets++;
        return;
      }
      offset += 4 + 4 * msg.readUInt16BE(offset + 2);
    }
    const source = s ^ 1;
    const tag = this.#wide ? readFrameTagL16(msg, offset, this.#globalId[source]!) : readFrameTag(msg, offset, this.#globalId[source]!);
    if (tag < 0) {
      this.#tally.untagged++;
      return;
    }
    const r = source * RING + (tag & RING_MASK);
    if (this.#ringCounter[r] !== tag) {
      this.#tally.stale++;
      return;
    }
    const flags = this.#ringFlags[r]!;
    const direction = source & 1;
    if ((flags & FLAG_RECEIVED) !== 0) {
      this.#tally.duplicates[direction]!++;
      return;
    }
    this.#ringFlags[r] = flags | FLAG_RECEIVED;
    const latency = now - this.#ringSentAt[r]!;
    if ((flags & FLAG_MEASURED) !== 0) {
      this.#tally.received[direction]!++;
      this.#tally.latency[direction]!.record(latency);
    }
    const win = this.#ledger.windowFor(this.#ringWindow[r]!);
    if (win !== null && !win.settled) {
      win.received++;
      win.latency.record(latency);
    }
  }
}
