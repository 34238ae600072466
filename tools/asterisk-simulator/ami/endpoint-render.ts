import { createHash } from 'node:crypto';
import type { AmiField } from '../../../control/src/ami/message.js';
import {
  AOR_DETAIL_FIELDS,
  AUTH_DETAIL_FIELDS,
  CONTACT_LIST_FIELDS,
  CONTACT_STATUS_DETAIL_FIELDS,
  ENDPOINT_CLI_HEADER,
  ENDPOINT_CLI_PARAMETERS,
  ENDPOINT_DETAIL_FIELDS,
} from './recorded-templates.js';

/** One PJSIP endpoint (with its aor and auth of the same id), as the simulator's table holds it. */
export interface SimEndpoint {
  id: string;
  callerid: string;
  context: string;
  /** As Asterisk prints it, e.g. `(ulaw)` or `(ulaw|alaw)`. */
  allow: string;
  username: string;
  password: string;
  maxContacts: number;
  qualifyFrequency: number;
  removeExisting: boolean;
}

export type SimContactStatus = 'NonQualified' | 'Reachable' | 'Unreachable';

export interface SimContact {
  endpoint: string;
  aor: string;
  uri: string;
  /** Source address of the REGISTER (Via). */
  ip: string;
  port: number;
  userAgent: string;
  callId: string;
  status: SimContactStatus;
  roundtripUsec: number;
  /** Unix seconds. */
  expirationTime: number;
}

/** Asterisk names a contact `<aor>;@<md5 of the contact URI>` (recorded: md5("sip:7000@127.0.0.1:5086") = dc5dbd79…). */
export function contactHash(uri: string): string {
  return createHash('md5').update(uri).digest('hex');
}

/** Replaces values of recorded template fields by key, keeping the recorded order. */
function withOverrides(template: ReadonlyArray<readonly [string, string]>, overrides: Readonly<Record<string, string>>): AmiField[] {
  return template.map(([key, value]) => [key, Object.hasOwn(overrides, key) ? (overrides[key] as string) : value] as const);
}

/** Inserts `ActionID` right after `Event`, where Asterisk puts it in list events. */
function withActionId(fields: AmiField[], actionId: string | undefined): AmiField[] {
  if (actionId === undefined) return fields;
  return [fields[0] as AmiField, ['ActionID', actionId], ...fields.slice(1)];
}

function deviceStateText(contacts: readonly SimContact[]): string {
  return contacts.some((c) => c.status !== 'Unreachable') ? 'Not in use' : 'Unavailable';
}

function contactsList(endpoint: SimEndpoint, contacts: readonly SimContact[]): string {
  return contacts.map((c) => `${endpoint.id}/${c.uri}`).join(',');
}

export function endpointDetailFields(endpoint: SimEndpoint, contacts: readonly SimContact[], actionId: string | undefined): AmiField[] {
  return withActionId(
    withOverrides(ENDPOINT_DETAIL_FIELDS, {
      ObjectName: endpoint.id,
      Aors: endpoint.id,
      Auth: endpoint.id,
      Callerid: endpoint.callerid,
      Context: endpoint.context,
      Allow: endpoint.allow,
      DeviceState: deviceStateText(contacts),
    }),
    actionId,
  );
}

export function authDetailFields(endpoint: SimEndpoint, actionId: string | undefined): AmiField[] {
  return withActionId(
    withOverrides(AUTH_DETAIL_FIELDS, {
      ObjectName: endpoint.id,
      Username: endpoint.username,
      Password: endpoint.password,
      EndpointName: endpoint.id,
    }),
    actionId,
  );
}

export function aorDetailFields(endpoint: SimEndpoint, contacts: readonly SimContact[], actionId: string | undefined): AmiField[] {
  return withActionId(
    withOverrides(AOR_DETAIL_FIELDS, {
      ObjectName: endpoint.id,
      MaxContacts: String(endpoint.maxContacts),
      Contacts: contactsList(endpoint, contacts),
      QualifyFrequency: String(endpoint.qualifyFrequency),
      RemoveExisting: endpoint.removeExisting ? 'true' : 'false',
      TotalContacts: String(contacts.length),
      ContactsRegistered: String(contacts.length),
      EndpointName: endpoint.id,
    }),
    actionId,
  );
}

function roundtripText(contact: SimContact): string {
  return contact.status === 'Reachable' ? String(contact.roundtripUsec) : 'N/A';
}

export function contactStatusDetailFields(endpoint: SimEndpoint, contact: SimContact, actionId: string | undefined): AmiField[] {
  return withActionId(
    withOverrides(CONTACT_STATUS_DETAIL_FIELDS, {
      AOR: contact.aor,
      URI: contact.uri,
      UserAgent: contact.userAgent,
      RegExpire: String(contact.expirationTime),
      ViaAddress: `${contact.ip}:${contact.port}`,
      CallID: contact.callId,
      Status: contact.status,
      RoundtripUsec: roundtripText(contact),
      EndpointName: endpoint.id,
      ID: `${contact.aor};@${contactHash(contact.uri)}`,
      QualifyFrequency: String(endpoint.qualifyFrequency),
    }),
    actionId,
  );
}

export function contactListFields(endpoint: SimEndpoint, contact: SimContact, actionId: string | undefined): AmiField[] {
  return withActionId(
    withOverrides(CONTACT_LIST_FIELDS, {
      ObjectName: `${contact.aor};@${contactHash(contact.uri)}`,
      ViaAddr: contact.ip,
      CallId: contact.callId,
      Endpoint: endpoint.id,
      ViaPort: String(contact.port),
      Uri: contact.uri,
      QualifyFrequency: String(endpoint.qualifyFrequency),
      UserAgent: contact.userAgent,
      ExpirationTime: String(contact.expirationTime),
      Status: contact.status,
      RoundtripUsec: roundtripText(contact),
    }),
    actionId,
  );
}

function callerIdNumber(callerid: string): string {
  const m = /<([^>]*)>/.exec(callerid);
  return m ? (m[1] as string) : '';
}

const CONTACT_STATUS_SHORT: Record<SimContactStatus, string> = { Reachable: 'Avail', Unreachable: 'Unavail', NonQualified: 'NonQual' };

/**
 * The lines of `pjsip show endpoint <id>` laid out as Asterisk 22 prints them
 * (column widths measured on the recording), one string per `Output:` line.
 */
export function endpointCliLines(endpoint: SimEndpoint, contacts: readonly SimContact[]): string[] {
  const cidNum = callerIdNumber(endpoint.callerid);
  const lines = [...ENDPOINT_CLI_HEADER];
  lines.push(` Endpoint:  ${`${endpoint.id}${cidNum ? `/${cidNum}` : ''}`.padEnd(53)}${deviceStateText(contacts).padEnd(12)}  0 of inf`);
  lines.push(`     InAuth:  ${endpoint.id}/${endpoint.username}`);
  lines.push(`        Aor:  ${endpoint.id.padEnd(51)}${endpoint.maxContacts}`);
  for (const c of contacts) {
    const rtt = c.status === 'Reachable' ? (c.roundtripUsec / 1000).toFixed(3) : 'nan';
    lines.push(`      Contact:  ${`${c.aor}/${c.uri}`.padEnd(42)} ${contactHash(c.uri).slice(0, 10)} ${CONTACT_STATUS_SHORT[c.status].padEnd(7)} ${rtt.padStart(11)}`);
  }
  lines.push('', '', ' ParameterName                      : ParameterValue', ` ${'='.repeat(99)}`);
  const overrides: Record<string, string> = {
    aors: endpoint.id,
    auth: endpoint.id,
    callerid: endpoint.callerid,
    context: endpoint.context,
    allow: endpoint.allow,
  };
  for (const [name, value] of ENDPOINT_CLI_PARAMETERS) {
    lines.push(` ${name.padEnd(34)} : ${Object.hasOwn(overrides, name) ? overrides[name] : value}`);
  }
  lines.push('');
  return lines;
}
