/**
 * Replays a recorded ARI session (test/data/asterisk/<scenario>/ari_rest.jsonl)
 * against the simulator and lines the answers and events up with what
 * Asterisk 22.10.1 sent, modulo ids, timestamps, ports and pointers.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { WsEvent } from './helpers.js';

export const DATA_DIR = fileURLToPath(new URL('../../data/asterisk/', import.meta.url));

export interface RecordedRest {
  label: string;
  request: { method: string; url: string; headers: Record<string, string>; body: string | null };
  status: number;
  status_text: string;
  body_text: string;
}

export function loadRest(scenario: string): RecordedRest[] {
  return readFileSync(`${DATA_DIR}${scenario}/ari_rest.jsonl`, 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as RecordedRest);
}

export function loadEvents(scenario: string, file = 'ari_events.jsonl'): WsEvent[] {
  return readFileSync(`${DATA_DIR}${scenario}/${file}`, 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => (JSON.parse(l) as { event: WsEvent }).event);
}

/** Varsets we deliberately leave out (QoS and bridge-peer noise), per the brief. */
export function isNoise(e: WsEvent): boolean {
  if (e.type !== 'ChannelVarset') return false;
  const v = String(e['variable']);
  return v === 'BRIDGEPEER' || v === 'BRIDGEPVTCALLID' || v.startsWith('RTPAUDIOQOS');
}

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/;

/** Replaces what legitimately differs run to run; maps recorded ids onto ours. */
export function normalize(value: unknown, idMap: ReadonlyMap<string, string>, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => normalize(v, idMap));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, normalize(v, idMap, k)]));
  }
  if (typeof value !== 'string') return value;
  if (TIME.test(value)) return '<time>';
  if (key === 'protocol_id') return value === '' ? '' : '<protocol_id>';
  if (key === 'UNICASTRTP_LOCAL_PORT') return /^\d+$/.test(value) ? '<port>' : value;
  if (key === 'name' || key === 'value') {
    const pjsip = /^PJSIP\/([^-]+)-[0-9a-f]{8}$/.exec(value);
    if (pjsip) return `PJSIP/${pjsip[1]}-<n>`;
    const rtp = /^(UnicastRTP\/[^-]+)-0x[0-9a-f]+$/.exec(value);
    if (rtp) return `${rtp[1]}-<ptr>`;
  }
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(value)) return '<uuid>';
  return idMap.get(value) ?? value;
}

/** The channel (or bridge) an event is about. */
export function subjectOf(e: WsEvent): string {
  const ch = (e['channel'] ?? e['peer']) as { id?: string } | undefined;
  if (ch?.id) return ch.id;
  const br = e['bridge'] as { id?: string } | undefined;
  return br?.id ? `bridge:${br.id}` : `app:${String(e['application'])}`;
}

/**
 * Asterisk sent an originated leg's first Dial "" and its Ringing state change in
 * the same millisecond, in either order (s1: Dial first; s2: Ringing first, so the
 * Dial already shows state Ringing). Compare in the s1 order.
 */
function canonicalRingOrder(list: unknown[]): unknown[] {
  const [first, second] = list as WsEvent[];
  if (first?.type === 'ChannelStateChange' && second?.type === 'Dial' && second['dialstatus'] === '') {
    const peer = { ...(second['peer'] as object), state: 'Down' };
    return [{ ...second, peer }, first, ...list.slice(2)];
  }
  return list;
}

/** Events grouped by subject, noise removed, each normalized. */
export function bySubject(events: readonly WsEvent[], idMap: ReadonlyMap<string, string>): Map<string, unknown[]> {
  const out = new Map<string, unknown[]>();
  for (const e of events) {
    if (isNoise(e)) continue;
    const subject = idMap.get(subjectOf(e)) ?? subjectOf(e);
    const list = out.get(subject) ?? [];
    list.push(normalize(e, idMap));
    out.set(subject, list);
  }
  for (const [k, v] of out) out.set(k, canonicalRingOrder(v));
  return out;
}

/** Sorted by id, so list order (hash-container order in Asterisk) does not matter. */
export function sortById(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  return [...value].sort((a, b) => String((a as { id?: string; name?: string }).id ?? (a as { name?: string }).name).localeCompare(String((b as { id?: string; name?: string }).id ?? (b as { name?: string }).name)));
}
