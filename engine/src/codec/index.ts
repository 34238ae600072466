export {
  ulawToLinear,
  linearToUlaw,
  alawToLinear,
  linearToAlaw,
  decodeUlaw,
  decodeAlaw,
  encodeUlaw,
  encodeAlaw,
} from './g711.js';
export { decodeL16, encodeL16, decodeL16LE, encodeL16LE } from './l16.js';
export { Upsampler8to16, Downsampler16to8 } from './resample.js';
export {
  designHalfband,
  halfbandResponse,
  DEFAULT_HALFBAND_SIDE_TAPS,
  DEFAULT_HALFBAND_BETA,
  type HalfbandDesign,
} from './halfband.js';
export { getCodec, codecForPayloadType, isCodecName, CODEC_NAMES, type Codec, type CodecName, type SampleByteOrder } from './codec.js';
export { PolyphaseResampler, Upsampler8to24, Upsampler16to24, Downsampler24to8, Downsampler24to16, designPolyphaseLowpass, polyphaseResponse, type PolyphaseDesign } from './resample-24k.js';
