import { FRAME_TAG_COUNTER_MASK, writeFrameTag, writeFrameTagL16 } from './frame-tag.js';
import type { LoadCodecFormat } from './load-codec.js';
import { RTP_HEADER } from './sent-frames.js';

/**
 * What each stream of a generator core puts on the wire: a ring of send
 * buffers per stream cut from one slab (RTP header written once, SSRC fixed),
 * and the stream's sequence number, timestamp origin, frame counter and place
 * in the looped audio. fill() writes the next frame in place; nothing is
 * allocated per packet.
 *
 * The frame tag (frame-tag.ts) lets the generator recognise its frames after
 * the engine relayed them. Without tags (a conversation: the listener hears a
 * translation, never the speaker's frames) the payload is the audio as is, so
 * a pause is real silence for the engine's VAD gate, not a tag's clicks.
 */
export class StreamPackets {
  readonly #format: LoadCodecFormat;
  readonly #audio: Buffer;
  readonly #frameBytes: number;
  readonly #sendBuffers: number;
  readonly #tagFrames: boolean;
  readonly #packets: Buffer[] = [];
  readonly globalId: Int32Array;
  readonly #seq: Int32Array;
  readonly #ts0: Uint32Array;
  readonly #counter: Int32Array;
  readonly #audioPos: Int32Array;

  /** `audio`: whole frames in the format's codec; `sendBuffers`: a power of two. */
  constructor(options: { streams: number; format: LoadCodecFormat; audio: Buffer; sendBuffers: number; tagFrames: boolean }) {
    const { streams: n, format, sendBuffers } = options;
    this.#format = format;
    this.#audio = options.audio;
    this.#frameBytes = format.frameBytes;
    this.#sendBuffers = sendBuffers;
    this.#tagFrames = options.tagFrames;
    this.globalId = new Int32Array(n);
    this.#seq = new Int32Array(n);
    this.#ts0 = new Uint32Array(n);
    this.#counter = new Int32Array(n);
    this.#audioPos = new Int32Array(n);
    const packetBytes = RTP_HEADER + format.frameBytes;
    const slab = Buffer.alloc(n * sendBuffers * packetBytes);
    for (let s = 0; s < n; s++) {
      const ssrc = (Math.random() * 0x1_0000_0000) >>> 0;
      for (let b = 0; b < sendBuffers; b++) {
        const offset = (s * sendBuffers + b) * packetBytes;
        const packet = slab.subarray(offset, offset + packetBytes);
        packet[0] = 0x80; // V=2, no padding, no extension, no CSRC
        packet[1] = format.payloadType;
        packet.writeUInt32BE(ssrc, 8);
        this.#packets.push(packet);
      }
    }
  }

  /** Frames in the looped audio. */
  get audioFrames(): number {
    return this.#audio.length / this.#frameBytes;
  }

  /**
   * Starts stream s afresh as global stream `gid`, at frame `startFrame` of the
   * audio (default: spread by stream id, so pairs do not speak in chorus).
   */
  activate(s: number, gid: number, startFrame?: number): void {
    this.globalId[s] = gid;
    this.#seq[s] = (Math.random() * 0x10000) | 0;
    this.#ts0[s] = (Math.random() * 0x1_0000_0000) >>> 0;
    this.#counter[s] = 0;
    this.#audioPos[s] = ((startFrame ?? gid * 37) % this.audioFrames) * this.#frameBytes;
  }

  /** Frames stream s has scheduled since it was activated (sent or dropped by the impairment). */
  frames(s: number): number {
    return this.#counter[s]!;
  }

  /**
   * Writes stream s's next frame (sequence, timestamp of `period`, audio,
   * tag) into its next send buffer and returns that frame's counter: the
   * buffer is counter & (sendBuffers − 1), the tag counter & FRAME_TAG_COUNTER_MASK.
   */
  fill(s: number, period: number): number {
    const counter = this.#counter[s]!;
    const packet = this.#packets[s * this.#sendBuffers + (counter & (this.#sendBuffers - 1))] as Buffer;
    const seq = (this.#seq[s]! + 1) & 0xffff;
    this.#seq[s] = seq;
    // Marker on the first packet of the talkspurt.
    packet[1] = counter === 0 ? 0x80 | this.#format.payloadType : this.#format.payloadType;
    packet[2] = seq >>> 8;
    packet[3] = seq & 0xff;
    packet.writeUInt32BE((this.#ts0[s]! + period * this.#format.samplesPerFrame) >>> 0, 4);
    const pos = this.#audioPos[s]!;
    this.#audio.copy(packet, RTP_HEADER, pos, pos + this.#frameBytes);
    this.#audioPos[s] = pos + this.#frameBytes >= this.#audio.length ? 0 : pos + this.#frameBytes;
    if (this.#tagFrames) {
      const tag = counter & FRAME_TAG_COUNTER_MASK;
      if (this.#format.wide) writeFrameTagL16(packet, RTP_HEADER, tag, this.globalId[s]!);
      else writeFrameTag(packet, RTP_HEADER, tag, this.globalId[s]!);
    }
    this.#counter[s] = counter + 1;
    return counter;
  }

  /** Stream s's send buffer b. */
  packet(s: number, b: number): Buffer {
    return this.#packets[s * this.#sendBuffers + b] as Buffer;
  }
}
