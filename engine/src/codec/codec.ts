/**
 * The codecs Tandem speaks with Asterisk's externalMedia channels, by name and
 * by RTP payload type, each with its 20 ms framing. All four decode to int16
 * PCM at the codec's own sample rate (resampling is the caller's choice).
 */
import { decodeAlaw, decodeUlaw, encodeAlaw, encodeUlaw } from './g711.js';
import { decodeL16, decodeL16LE, encodeL16, encodeL16LE } from './l16.js';

export type CodecName = 'ulaw' | 'alaw' | 'slin' | 'slin16';

export interface Codec {
  readonly name: CodecName;
  /** The payload type Asterisk sends this format with. */
  readonly payloadType: number;
  readonly sampleRate: number;
  /** Samples per 20 ms: 160 or 320. */
  readonly frameSamples: number;
  /** Payload bytes per 20 ms: ulaw/alaw 160, slin 320, slin16 640. */
  readonly frameBytes: number;
  /** Decodes `length` payload bytes at src[srcOffset] into dst[0..); returns samples written. */
  readonly decode: (src: Uint8Array, srcOffset: number, length: number, dst: Int16Array) => number;
  /** Encodes src[0..count) into dst at dstOffset; returns bytes written. */
  readonly encode: (src: Int16Array, count: number, dst: Uint8Array, dstOffset: number) => number;
}

const FRAME_MS = 20;

function defineCodec(
  name: CodecName,
  payloadType: number,
  sampleRate: number,
  bytesPerSample: number,
  decode: Codec['decode'],
  encode: Codec['encode'],
): Codec {
  const frameSamples = (sampleRate * FRAME_MS) / 1000;
  return Object.freeze({
    name,
    payloadType,
    sampleRate,
    frameSamples,
    frameBytes: frameSamples * bytesPerSample,
    decode,
    encode,
  });
}

// Payload types: ulaw 0 and alaw 8 are RFC 3551 static types; slin16 118 was observed
// (test/data/rtp/s5_slin16.golden.json). For 8 kHz slin, Asterisk's main/rtp_engine.c ast_rtp_engine_init()
// (asterisk/asterisk, a recent version that also has slin12..slin192 and VP9) registers
//   add_static_payload(10, ast_format_slin, 0); /* 2 channels */
//   add_static_payload(11, ast_format_slin, 0); /* 1 channel */
//   add_static_payload(118, ast_format_slin16, 0); /* 16 Khz signed linear */
// and find_static_payload_type() returns the lowest index matching a format, so
// Asterisk sends slin as PT 10. It maps an incoming PT 11 to slin as well, so
// codecForPayloadType accepts both.
const ULAW = defineCodec('ulaw', 0, 8000, 1, decodeUlaw, encodeUlaw);
const ALAW = defineCodec('alaw', 8, 8000, 1, decodeAlaw, encodeAlaw);
const SLIN = defineCodec('slin', 10, 8000, 2, decodeL16, encodeL16);
const SLIN16 = defineCodec('slin16', 118, 16000, 2, decodeL16, encodeL16);

const BY_NAME: ReadonlyMap<string, Codec> = new Map<string, Codec>([
  ['ulaw', ULAW],
  ['alaw', ALAW],
  ['slin', SLIN],
  ['slin16', SLIN16],
]);

const BY_PAYLOAD_TYPE: ReadonlyMap<number, Codec> = new Map<number, Codec>([
  [0, ULAW],
  [8, ALAW],
  [10, SLIN],
  [11, SLIN],
  [118, SLIN16],
]);

export const CODEC_NAMES: readonly CodecName[] = Object.freeze(['ulaw', 'alaw', 'slin', 'slin16'] as const);

export function isCodecName(value: unknown): value is CodecName {
  return typeof value === 'string' && BY_NAME.has(value);
}

/**
 * Byte order of the linear formats on the wire: big-endian on RTP (RFC 3551, test/data/rtp/s5_slin16.golden.json),
 * little-endian (host order) on chan_websocket's media WebSocket (docs/asterisk-facts.md). G.711 has no byte order.
 */
export type SampleByteOrder = 'big' | 'little';

// The WebSocket variants: same format, same framing, samples in host order.
const SLIN_LE = defineCodec('slin', 10, 8000, 2, decodeL16LE, encodeL16LE);
const SLIN16_LE = defineCodec('slin16', 118, 16000, 2, decodeL16LE, encodeL16LE);

/** TypeError for a name that is not a CodecName (it may come from untyped config). */
export function getCodec(name: CodecName, byteOrder: SampleByteOrder = 'big'): Codec {
  const codec = BY_NAME.get(name);
  if (codec === undefined) {
    throw new TypeError(`unknown codec ${JSON.stringify(name)}; expected one of ${CODEC_NAMES.join(', ')}`);
  }
  if (byteOrder === 'little') {
    if (codec === SLIN) return SLIN_LE;
    if (codec === SLIN16) return SLIN16_LE;
  }
  return codec;
}

/** The codec Asterisk means by RTP payload type `pt`, or undefined for any other type. */
export function codecForPayloadType(pt: number): Codec | undefined {
  return BY_PAYLOAD_TYPE.get(pt);
}
