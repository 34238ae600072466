export { MediaEngine, type EngineEvents, type EngineStats } from './engine.js';
export { parseEngineConfig, engineConfigSchema, type EngineConfig, type EngineConfigInput } from './config/engine-config.js';
export { EngineError, type EngineErrorCode } from './session/errors.js';
export type { LegDropReason, LegName, LegStats, OpenPairRequest, OpenPairResult, PairStats, ShardStats, UdpEndpoint } from './worker/protocol.js';
export * from './pipeline/index.js';
