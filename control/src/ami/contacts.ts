import { isIP } from 'node:net';
import type { AmiActionOptions } from './connection.js';
import { AmiActionError } from './errors.js';
import { parseAmiEvent } from './events.js';
import type { AmiActionSender } from './sorcery.js';
import { contactUriIp } from './uri.js';

/** One registered contact as `PJSIPShowContacts` lists it. */
export interface ListedContact {
  /** `ContactList` `Status`: Reachable, Unreachable, NonQualified, Unknown, … */
  status: string;
  /** The phone's address: from the contact URI, else the Via address; null when neither is an IP. */
  ip: string | null;
}

/** endpoint → contact URI → contact. */
export type ContactListing = Map<string, Map<string, ListedContact>>;

/**
 * Every contact Asterisk knows, by endpoint (`PJSIPShowContacts`). "No Contacts
 * found" (an Error response, recorded) is an empty listing.
 */
export async function listContacts(ami: AmiActionSender, options: AmiActionOptions = {}): Promise<ContactListing> {
  const listing: ContactListing = new Map();
  let events;
  try {
    events = (await ami.action('PJSIPShowContacts', {}, options)).events;
  } catch (err) {
    if (err instanceof AmiActionError && err.serverMessage.startsWith('No Contacts found')) return listing;
    throw err;
  }
  for (const message of events) {
    const ev = parseAmiEvent(message);
    if (ev.type !== 'ContactList') continue;
    // The URI names the phone's address; Via is the fallback when the URI holds a host name.
    const viaIp = ev.viaAddr !== undefined && isIP(ev.viaAddr) !== 0 ? ev.viaAddr : null;
    const table = listing.get(ev.endpoint) ?? new Map<string, ListedContact>();
    table.set(ev.uri, { status: ev.status, ip: contactUriIp(ev.uri) ?? viaIp });
    listing.set(ev.endpoint, table);
  }
  return listing;
}

/** A contact Asterisk would dial: qualified and answering, or not qualified at all (then it cannot tell). */
export function isDialable(contact: ListedContact): boolean {
  return contact.status === 'Reachable' || contact.status === 'NonQualified';
}
