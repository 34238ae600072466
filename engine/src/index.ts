export { MediaEngine, TAP_SAMPLE_RATE, type EngineEvents, type EngineStats, type PairTapHandle } from './engine.js';
export { TAP_SOURCES, type TapSource } from './session/pair-tap.js';
export type { LegLevel } from './session/level-meter.js';
export type { PcmRingReader } from './tap/pcm-ring.js';
export { parseEngineConfig, engineConfigSchema, type EngineConfig, type EngineConfigInput } from './config/engine-config.js';
export { EngineError, type EngineErrorCode } from './session/errors.js';
export type { CodecName } from './codec/index.js';
export type {
  LegDropReason,
  LegName,
  LegStats,
  MediaStartInfo,
  MediaTransport,
  OpenPairRequest,
  OpenPairResult,
  PairStats,
  RtpPairResult,
  ShardStats,
  UdpEndpoint,
  WebSocketLegCounters,
  WebSocketPairResult,
} from './worker/protocol.js';
export * from './pipeline/index.js';
export { DATAGRAM_IO_CHOICES, type DatagramIoChoice } from './transport/datagram/open-datagram-port.js';
export { DECISION_MS_BOUNDS, BATCH_MS_BOUNDS, QUEUE_DEPTH_BOUNDS, type HistogramSnapshot, type VadTimingSnapshot } from './pipeline/vad/index.js';
