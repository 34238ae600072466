export { JitterBuffer } from './jitter-buffer.js';
export type { JitterPacket, FrameDecoder, PushOutcome, PopResult } from './jitter-types.js';
export type { JitterStats } from './jitter-stats.js';
export { validateJitterOptions, JitterOptionError, FRAME_MS, type JitterBufferOptions } from './options.js';
export { InterarrivalJitter } from './interarrival-jitter.js';
export { Concealer, type ConcealResult } from './concealer.js';
export { FrameRing } from './frame-ring.js';
