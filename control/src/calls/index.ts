export { CallFacts, type EndedCall, type HangupBy } from './call-facts.js';
export { CallPair, unicastRtpPeer, type CallPairState, type PairLeftovers, type TeardownReason } from './call-pair.js';
export { PairLeftoverSweeper, type PairLeftoverEvents } from './pair-leftovers.js';
export { CALL_REJECT_CAUSES, CallApp, type CallRejectCause, type CallAppEvents, type ReconcileReport } from './call-app.js';
export { callConfigSchema, mediaUrlFromAriUrl, parseCallConfig, silentMediaPath, type CallConfig, type CallConfigInput, type MediaTransport } from './call-config.js';
export { pairObjectIds, pairIdOf, type PairObjectIds } from './naming.js';
export type { MediaEnginePort } from './ports.js';
