import { InvalidStateError } from '../../../common/src/errors.js';
import type { AmiField } from '../../../control/src/ami/message.js';
import {
  aorDetailFields,
  authDetailFields,
  contactListFields,
  contactStatusDetailFields,
  endpointCliLines,
  endpointDetailFields,
  type SimContact,
  type SimEndpoint,
} from './endpoint-render.js';
import type { SorceryExpireRecord } from './simulator-options.js';

/** How an action's answer reaches its session: `reply` puts the ActionID after the first field; `write` sends fields as they are. */
export interface ActionReplies {
  reply(id: string | undefined, fields: AmiField[]): void;
  write(fields: AmiField[]): void;
}

/** What the query actions read: the simulator's endpoints and their contacts (one per endpoint). */
export interface SimRegistry {
  readonly endpoints: ReadonlyMap<string, SimEndpoint>;
  readonly contacts: ReadonlyMap<string, SimContact>;
}

/** PJSIPShowContacts: an EventList of ContactList events, or an error when there are none (as recorded). */
export function showContacts(out: ActionReplies, registry: SimRegistry, id: string | undefined): void {
  const contacts = [...registry.contacts.values()];
  if (contacts.length === 0) {
    out.reply(id, [['Response', 'Error'], ['Message', 'No Contacts found\n']]);
    return;
  }
  out.reply(id, [
    ['Response', 'Success'],
    ['EventList', 'start'],
    ['Message', 'A listing of Contacts follows, presented as ContactList events'],
  ]);
  for (const c of contacts) {
    const ep = registry.endpoints.get(c.endpoint);
    if (!ep) throw new InvalidStateError(`AMI simulator has no endpoint ${c.endpoint}`);
    out.write(contactListFields(ep, c, id));
  }
  out.reply(id, [['Event', 'ContactListComplete'], ['EventList', 'Complete'], ['ListItems', String(contacts.length)]]);
}

/** PJSIPShowEndpoint: endpoint, auth, AOR and contact details as one EventList. */
export function showEndpoint(out: ActionReplies, registry: SimRegistry, id: string | undefined, name: string): void {
  const ep = registry.endpoints.get(name);
  if (!ep) {
    out.reply(id, [['Response', 'Error'], ['Message', `Unable to retrieve endpoint ${name}\n`]]);
    return;
  }
  const contact = registry.contacts.get(name);
  const contacts = contact ? [contact] : [];
  out.reply(id, [
    ['Response', 'Success'],
    ['EventList', 'start'],
    ['Message', 'Following are Events for each object associated with the Endpoint'],
  ]);
  out.write(endpointDetailFields(ep, contacts, id));
  out.write(authDetailFields(ep, id));
  out.write(aorDetailFields(ep, contacts, id));
  for (const c of contacts) out.write(contactStatusDetailFields(ep, c, id));
  out.reply(id, [['Event', 'EndpointDetailComplete'], ['EventList', 'Complete'], ['ListItems', String(3 + contacts.length)]]);
}

/** Command: only `pjsip show endpoint <n>` is implemented. */
export function command(out: ActionReplies, registry: SimRegistry, id: string | undefined, text: string): void {
  const m = /^\s*pjsip\s+show\s+endpoint\s+(\S+)\s*$/i.exec(text);
  let lines: string[];
  if (m) {
    const name = m[1] as string;
    const ep = registry.endpoints.get(name);
    const contact = registry.contacts.get(name);
    lines = ep ? endpointCliLines(ep, contact ? [contact] : []) : [`Unable to find object ${name}.`, ''];
  } else {
    // Not recorded: the simulator implements only `pjsip show endpoint <n>`.
    lines = [`No such command '${text}' (type 'core show help ${text}' for other possible commands)`];
  }
  out.reply(id, [['Response', 'Success'], ['Message', 'Command output follows'], ...lines.map((l): AmiField => ['Output', l])]);
}

/** SorceryMemoryCacheExpireObject: recorded into `expirations` when the cache exists (`caches` null = every cache does). */
export function expireObject(
  out: ActionReplies,
  caches: ReadonlySet<string> | null,
  expirations: SorceryExpireRecord[],
  id: string | undefined,
  cache: string,
  object: string,
): void {
  // Messages from res_sorcery_memory_cache.c (not recorded on the test Asterisk, which runs without a cache).
  if (cache === '') {
    out.reply(id, [['Response', 'Error'], ['Message', 'SorceryMemoryCacheExpireObject requires that a cache name be provided.\n']]);
  } else if (object === '') {
    out.reply(id, [['Response', 'Error'], ['Message', 'SorceryMemoryCacheExpireObject requires that an object name be provided\n']]);
  } else if (caches && !caches.has(cache)) {
    out.reply(id, [['Response', 'Error'], ['Message', 'The provided cache does not exist\n']]);
  } else {
    expirations.push({ cache, object });
    out.reply(id, [['Response', 'Success'], ['Message', 'The provided object was expired from the cache\n']]);
  }
}
