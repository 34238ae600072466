export {
  VAD_STATE_SIZE,
  vadGeometry,
  isVadSampleRate,
  sileroWeightsPath,
  type VadSampleRate,
  type VadGeometry,
  type VadBatch,
  type VadBatchResult,
  type VadModel,
} from './model.js';
export { SileroSession, type SileroSessionOptions } from './silero-session.js';
export { SileroModel, type SileroModelOptions } from './silero-model.js';
export { SpeechSegmenter, type SegmenterSettings, type SegmentEvent } from './segmenter.js';
export { EnergyGate, meanSquareDbfs, type EnergyGateSettings } from './energy-gate.js';
export {
  AdaptiveGateSchema,
  type AdaptiveGateOptions,
  type AdaptiveGateSettings,
  VadStreamOptionsSchema,
  VadEngineOptionsSchema,
  type VadStreamOptions,
  type VadStreamSettings,
  type VadEngineOptions,
  type VadEngineSettings,
} from './options.js';
export {
  VadStream,
  type VadEvent,
  type VadSpeechStart,
  type VadSpeechEnd,
  type VadStreamError,
  type VadStreamEvents,
  type VadStreamState,
  type VadStreamStats,
} from './vad-stream.js';
export { VadEngine, type VadEngineStats } from './vad-engine.js';
export { FixedHistogram, VadTiming, DECISION_MS_BOUNDS, BATCH_MS_BOUNDS, QUEUE_DEPTH_BOUNDS, type HistogramSnapshot, type VadTimingSnapshot } from './vad-timing.js';
