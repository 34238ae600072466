export {
  JitterBuffer,
  type JitterPacket,
  type FrameDecoder,
  type PushOutcome,
  type PopResult,
  type JitterStats,
} from './jitter-buffer.js';
export { validateJitterOptions, JitterOptionError, FRAME_MS, type JitterBufferOptions } from './options.js';
export { InterarrivalJitter } from './interarrival-jitter.js';
export { Concealer, type ConcealResult } from './concealer.js';
export { FrameRing } from './frame-ring.js';
