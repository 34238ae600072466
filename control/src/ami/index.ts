export { AmiMessage, parseAmiMessage, serializeAmiMessage, encodeAction, toFields } from './message.js';
export type { AmiField, AmiMessageKind } from './message.js';
export { AmiFramer } from './framer.js';
export type { AmiFrame, AmiFramerOptions } from './framer.js';
export { parseAmiEvent, CONTACT_STATUSES, DEVICE_STATES, CONTACT_LIST_STATUSES } from './events.js';
export type {
  AmiEvent,
  ContactStatusEvent,
  ContactStatusValue,
  DeviceStateChangeEvent,
  DeviceStateValue,
  PeerStatusEvent,
  FullyBootedEvent,
  ContactListEvent,
  ContactListStatus,
  ListCompleteEvent,
  UnknownEvent,
} from './events.js';
export { contactUriIp } from './uri.js';
export { AmiError, AmiParseError, AmiAuthError, AmiActionError, AmiConnectionError } from './errors.js';
export type { AmiErrorCode } from './errors.js';
export { AmiConnection, backoffDelay, resolveAmiConnectionOptions } from './connection.js';
export type {
  AmiConnectionOptions,
  AmiBackoffOptions,
  AmiActionOptions,
  AmiActionResult,
  AmiConnectionEvents,
  AmiConnectionState,
  AmiConnectionStats,
  AmiDisconnect,
} from './connection.js';
export { SorceryCacheExpirer } from './sorcery.js';
export type { SorceryExpirer, SorceryObjectType, SorceryCacheExpirerOptions, AmiActionSender } from './sorcery.js';
export { PresenceTracker, deviceStateToStatus } from './presence.js';
export type { PresenceTrackerOptions, PresenceTrackerEvents, PresenceTrackerStats, PresenceSnapshotResult, PresenceAmiSource } from './presence.js';
export { PresencePublisher, presenceChannel, encodePresenceChange, decodePresenceChange } from './publisher.js';
export type { PresenceSink, PresencePublisherOptions, RedisPublisherClient, PresenceChangeWire } from './publisher.js';
export { amiCommand, endpointVisible } from './command.js';
export { listContacts, isDialable } from './contacts.js';
export type { ContactListing, ListedContact } from './contacts.js';
export { AmiPresenceService } from './presence-service.js';
export type { AmiPresenceServiceOptions } from './presence-service.js';
