export type { AriClient, AriConnectionEvents, ExternalMediaParams, OriginateParams } from './client.js';
export { AriClientAdapter, classifyAriFailure, type AriConnectOptions, type AriStartOptions } from './ari-client-adapter.js';
export { AriError, fetchFailure, isNotFound, type AriErrorCode } from './errors.js';
export { parseAriEvent, AriEventParseError, type AriEvent, type AriEventType, type AriKnownEvent } from './events.js';
export { ConcurrencyLimiter } from './limiter.js';
export { isExternalMediaChannel, type AriApplication, type AriBridge, type AriChannel } from './models.js';
