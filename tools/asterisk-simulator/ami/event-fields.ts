import type { Socket } from 'node:net';
import type { AmiField } from '../../../control/src/ami/message.js';
import type { SimContact } from './endpoint-render.js';

/**
 * The fields of the events the AMI simulator broadcasts, in the order the recordings (`test/data/ami/`) show them.
 * Pure builders: the server decides when each is sent and to whom.
 */

/** `2026-11-23T01:10:49.672+0000`, Asterisk's EventTV format. */
export function eventTv(date: Date): string {
  return date.toISOString().replace('Z', '+0000');
}

function tcpAddress(ip: string | undefined, port: number | undefined): string {
  return `IPV4/TCP/${ip ?? '127.0.0.1'}/${port ?? 0}`;
}

export function contactStatusFields(contact: SimContact, status: string, rtt: number): AmiField[] {
  return [
    ['Event', 'ContactStatus'],
    ['Privilege', 'system,all'],
    ['URI', contact.uri],
    ['ContactStatus', status],
    ['AOR', contact.aor],
    ['EndpointName', contact.endpoint],
    ['RoundtripUsec', String(rtt)],
  ];
}

export function peerStatusFields(endpoint: string, status: string): AmiField[] {
  return [
    ['Event', 'PeerStatus'],
    ['Privilege', 'system,all'],
    ['ChannelType', 'PJSIP'],
    ['Peer', `PJSIP/${endpoint}`],
    ['PeerStatus', status],
  ];
}

export function deviceStateChangeFields(endpoint: string, state: 'NOT_INUSE' | 'UNAVAILABLE'): AmiField[] {
  return [
    ['Event', 'DeviceStateChange'],
    ['Privilege', 'call,all'],
    ['Device', `PJSIP/${endpoint}`],
    ['State', state],
  ];
}

/** The PJSIP security events of a REGISTER (ChallengeSent, SuccessfulAuth), from `ip:port` as `accountId`. */
export function pjsipSecurityFields(
  event: string,
  at: Date,
  register: { accountId: string; callId: string; ip: string; port: number },
  extra: AmiField[],
): AmiField[] {
  return [
    ['Event', event],
    ['Privilege', 'security,all'],
    ['EventTV', eventTv(at)],
    ['Severity', 'Informational'],
    ['Service', 'PJSIP'],
    ['EventVersion', '1'],
    ['AccountID', register.accountId],
    ['SessionID', register.callId],
    ['LocalAddress', 'IPV4/UDP/127.0.0.1/5060'],
    ['RemoteAddress', `IPV4/UDP/${register.ip}/${register.port}`],
    ...extra,
  ];
}

/**
 * AMI security events share a header; `before` goes ahead of SessionID, `after` behind RemoteAddress (recorded orders
 * differ per event). `sessionId` is the simulator's session number; `socket` gives the addresses.
 */
export function amiSecurityFields(
  sessionId: number,
  socket: Socket,
  event: string,
  severity: string,
  version: string,
  before: AmiField[],
  after: AmiField[],
): AmiField[] {
  return [
    ['Event', event],
    ['Privilege', 'security,all'],
    ['EventTV', eventTv(new Date())],
    ['Severity', severity],
    ['Service', 'AMI'],
    ['EventVersion', version],
    ...before,
    ['SessionID', `0x${(0x7f2abc000000 + sessionId).toString(16)}`],
    ['LocalAddress', tcpAddress(socket.localAddress, socket.localPort)],
    ['RemoteAddress', tcpAddress(socket.remoteAddress, socket.remotePort)],
    ...after,
  ];
}

/** Sent to a session right after its Login succeeds. */
export function fullyBootedFields(uptimeSec: number): AmiField[] {
  const uptime = String(uptimeSec);
  return [
    ['Event', 'FullyBooted'],
    ['Privilege', 'system,all'],
    ['Uptime', uptime],
    ['LastReload', uptime],
    ['Status', 'Fully Booted'],
  ];
}
