export { createControlApi, type ControlApi, type ControlApiOptions, type ListenAddress } from './api.js';
export { registerPairRoutes, publicLeaseSchema, grantedLeaseSchema, type PairRoutesOptions } from './pairs-routes.js';
export { registerHealthRoutes } from './health-routes.js';
export { registerBearerAuth, PUBLIC_ROUTE } from './auth.js';
export { ApiError, errorBodySchema, errorHandler, toApiError, type ApiErrorBody } from './errors.js';
export { registerPresenceRoutes, type PresenceFeed, type PresenceRoutesOptions } from './presence-routes.js';
export { registerTranslationRoutes, type TranslationControl } from './translation-routes.js';
export { registerCallRoutes, callRecordSchema, type CallRecordFeed } from './call-routes.js';
