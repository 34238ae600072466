import { linearToAlaw, ulawToLinear, Upsampler8to16 } from '../../engine/src/codec/index.js';

/**
 * The formats the load generator can speak, with their RTP framing. The
 * engine opens every pair with the same codec, so a frame goes in and comes
 * out in one format and its tag survives (frame-tag.ts).
 */
export type LoadCodecName = 'ulaw' | 'alaw' | 'slin16';
export const LOAD_CODECS: readonly LoadCodecName[] = Object.freeze(['ulaw', 'alaw', 'slin16'] as const);

export interface LoadCodecFormat {
  readonly name: LoadCodecName;
  readonly payloadType: number;
  /** Payload bytes per 20 ms. */
  readonly frameBytes: number;
  /** RTP timestamp step per 20 ms frame. */
  readonly samplesPerFrame: number;
  /** True for 16-bit big-endian samples: the frame tag goes into low bytes (writeFrameTagL16). */
  readonly wide: boolean;
}

const FORMATS: Readonly<Record<LoadCodecName, LoadCodecFormat>> = Object.freeze({
  ulaw: Object.freeze({ name: 'ulaw', payloadType: 0, frameBytes: 160, samplesPerFrame: 160, wide: false }),
  alaw: Object.freeze({ name: 'alaw', payloadType: 8, frameBytes: 160, samplesPerFrame: 160, wide: false }),
  slin16: Object.freeze({ name: 'slin16', payloadType: 118, frameBytes: 640, samplesPerFrame: 320, wide: true }),
});

export function isLoadCodecName(value: unknown): value is LoadCodecName {
  return typeof value === 'string' && (LOAD_CODECS as readonly string[]).includes(value);
}

export function loadCodecFormat(name: LoadCodecName): LoadCodecFormat {
  const format = FORMATS[name];
  if (format === undefined) throw new TypeError(`unknown load codec ${JSON.stringify(name)}; expected one of ${LOAD_CODECS.join(', ')}`);
  return format;
}

/**
 * Converts 8 kHz µ-law audio (whole 160-byte frames) into `codec`'s payload
 * bytes, whole frames: A-law code by code, slin16 through the engine's own
 * half-band upsampler, big-endian.
 */
export function audioForCodec(ulaw: Uint8Array, codec: LoadCodecName): Buffer {
  const frames = Math.floor(ulaw.length / 160);
  if (frames < 1) throw new RangeError(`audio must hold at least one 160-byte frame, got ${ulaw.length} bytes`);
  const n = frames * 160;
  if (codec === 'ulaw') return Buffer.from(ulaw.subarray(0, n));
  if (codec === 'alaw') {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = linearToAlaw(ulawToLinear(ulaw[i]!));
    return out;
  }
  const pcm8 = new Int16Array(n);
  for (let i = 0; i < n; i++) pcm8[i] = ulawToLinear(ulaw[i]!);
  const pcm16 = new Int16Array(2 * n);
  new Upsampler8to16().process(pcm8, n, pcm16);
  const out = Buffer.alloc(4 * n);
  for (let i = 0; i < pcm16.length; i++) out.writeInt16BE(pcm16[i]!, 2 * i);
  return out;
}
