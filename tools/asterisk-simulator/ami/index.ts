export { AmiSimulator, AMI_BANNER } from './server.js';
export type { AmiSimulatorOptions, RegisterOptions, SimActionRecord, SimEndpointConfig, SorceryExpireRecord } from './server.js';
export { contactHash } from './endpoint-render.js';
export type { SimContact, SimContactStatus, SimEndpoint } from './endpoint-render.js';
