import type { AmiMessage } from './message.js';

/** `ContactStatus` values Asterisk defines (`ast_sip_get_contact_status_label` and the AMI docs). */
export const CONTACT_STATUSES = ['Created', 'Updated', 'Removed', 'Reachable', 'Unreachable', 'NonQualified', 'Unknown'] as const;
export type ContactStatusValue = (typeof CONTACT_STATUSES)[number];

/** `DeviceStateChange` `State` values (docs/asterisk-facts.md, AMI and presence). */
export const DEVICE_STATES = ['UNKNOWN', 'NOT_INUSE', 'INUSE', 'BUSY', 'INVALID', 'UNAVAILABLE', 'RINGING', 'RINGINUSE', 'ONHOLD'] as const;
export type DeviceStateValue = (typeof DEVICE_STATES)[number];

/** Contact `Status` in `ContactList` (PJSIPShowContacts): observed Reachable, Unreachable; the rest from Asterisk's labels. */
export const CONTACT_LIST_STATUSES = ['Reachable', 'Unreachable', 'NonQualified', 'Unknown', 'Created', 'Removed', 'Updated'] as const;
export type ContactListStatus = (typeof CONTACT_LIST_STATUSES)[number];

export interface ContactStatusEvent {
  type: 'ContactStatus';
  uri: string;
  contactStatus: ContactStatusValue;
  aor: string;
  endpointName: string;
  /** Microseconds; 0 when not qualified (as recorded), null when absent or not a number. */
  roundtripUsec: number | null;
  message: AmiMessage;
}

export interface DeviceStateChangeEvent {
  type: 'DeviceStateChange';
  device: string;
  state: DeviceStateValue;
  message: AmiMessage;
}

export interface PeerStatusEvent {
  type: 'PeerStatus';
  channelType: string;
  peer: string;
  peerStatus: string;
  message: AmiMessage;
}

export interface FullyBootedEvent {
  type: 'FullyBooted';
  status: string;
  message: AmiMessage;
}

export interface ContactListEvent {
  type: 'ContactList';
  actionId: string | undefined;
  objectName: string;
  endpoint: string;
  uri: string;
  status: ContactListStatus;
  /** null for `N/A` (Unreachable, as recorded). */
  roundtripUsec: number | null;
  viaAddr: string | undefined;
  viaPort: number | null;
  userAgent: string | undefined;
  expirationTime: number | null;
  message: AmiMessage;
}

export interface ListCompleteEvent {
  type: 'ListComplete';
  /** The Asterisk event name, e.g. `ContactListComplete`, `EndpointDetailComplete`. */
  name: string;
  actionId: string | undefined;
  listItems: number | null;
  message: AmiMessage;
}

/** Anything else, or a known event whose fields are missing or carry an unknown value (`reason` says which). */
export interface UnknownEvent {
  type: 'unknown';
  name: string;
  reason: string | null;
  message: AmiMessage;
}

export type AmiEvent =
  | ContactStatusEvent
  | DeviceStateChangeEvent
  | PeerStatusEvent
  | FullyBootedEvent
  | ContactListEvent
  | ListCompleteEvent
  | UnknownEvent;

function oneOf<T extends string>(values: readonly T[], value: string | undefined): T | undefined {
  return value !== undefined && (values as readonly string[]).includes(value) ? (value as T) : undefined;
}

function intOrNull(value: string | undefined): number | null {
  if (value === undefined || !/^-?\d+$/.test(value.trim())) return null;
  return Number.parseInt(value, 10);
}

/**
 * Turns an `Event:` message into the typed union, once, at the boundary. Never
 * throws: missing or unexpected fields give the `unknown` variant with a
 * `reason`, so one odd event cannot stop the stream.
 */
export function parseAmiEvent(message: AmiMessage): AmiEvent {
  const name = message.get('Event') ?? '';
  const unknown = (reason: string | null): UnknownEvent => ({ type: 'unknown', name, reason, message });
  switch (name) {
    case 'ContactStatus': {
      const uri = message.get('URI');
      const aor = message.get('AOR');
      const endpointName = message.get('EndpointName');
      const contactStatus = oneOf(CONTACT_STATUSES, message.get('ContactStatus'));
      if (uri === undefined || aor === undefined || endpointName === undefined) return unknown('missing URI, AOR or EndpointName');
      if (!contactStatus) return unknown(`unknown ContactStatus ${JSON.stringify(message.get('ContactStatus'))}`);
      return { type: 'ContactStatus', uri, contactStatus, aor, endpointName, roundtripUsec: intOrNull(message.get('RoundtripUsec')), message };
    }
    case 'DeviceStateChange': {
      const device = message.get('Device');
      const state = oneOf(DEVICE_STATES, message.get('State'));
      if (device === undefined) return unknown('missing Device');
      if (!state) return unknown(`unknown State ${JSON.stringify(message.get('State'))}`);
      return { type: 'DeviceStateChange', device, state, message };
    }
    case 'PeerStatus': {
      const peer = message.get('Peer');
      const peerStatus = message.get('PeerStatus');
      if (peer === undefined || peerStatus === undefined) return unknown('missing Peer or PeerStatus');
      return { type: 'PeerStatus', channelType: message.get('ChannelType') ?? '', peer, peerStatus, message };
    }
    case 'FullyBooted':
      return { type: 'FullyBooted', status: message.get('Status') ?? '', message };
    case 'ContactList': {
      const endpoint = message.get('Endpoint');
      const uri = message.get('Uri');
      const status = oneOf(CONTACT_LIST_STATUSES, message.get('Status'));
      if (endpoint === undefined || uri === undefined) return unknown('missing Endpoint or Uri');
      if (!status) return unknown(`unknown Status ${JSON.stringify(message.get('Status'))}`);
      return {
        type: 'ContactList',
        actionId: message.actionId,
        objectName: message.get('ObjectName') ?? '',
        endpoint,
        uri,
        status,
        roundtripUsec: intOrNull(message.get('RoundtripUsec')),
        viaAddr: message.get('ViaAddr'),
        viaPort: intOrNull(message.get('ViaPort')),
        userAgent: message.get('UserAgent'),
        expirationTime: intOrNull(message.get('ExpirationTime')),
        message,
      };
    }
    default:
      if (name.endsWith('Complete') && message.get('EventList')?.toLowerCase() === 'complete') {
        return { type: 'ListComplete', name, actionId: message.actionId, listItems: intOrNull(message.get('ListItems')), message };
      }
      return unknown(null);
  }
}
