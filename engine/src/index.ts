export { MediaEngine, type EngineEvents, type EngineStats } from './engine.js';
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
