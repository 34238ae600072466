export { AsteriskSimulator, type SimulatorOptions, type RecordedEvent } from './simulator.js';
export type { DeleteFaults, DeleteTarget, DeleteFaultCounts } from './delete-faults.js';
export type { EventOrder, PlaceCallOptions, PlacedCall, ChannelSnapshot } from './core.js';
export type { EndpointConfig, EndpointBehaviour, HeardChunk } from './phones.js';
export { dominantFrequency, rms } from './phones.js';
export { tone, FORMATS, type AudioSource, type MediaLegStats } from './media.js';
export type { ChannelJson, BridgeJson, MediaFormat } from './model.js';
export type { AriEvent, AriEventType } from './events.js';
export { operations, resourceListing, apiDeclaration, type OperationSpec, type ParamSpec, type OperationId } from './description.js';
