import type { Extension, ExtensionKind } from './extension-schema.js';
import type { ExtensionStatus } from './presence-store.js';

/** The columns of `extensions` Tandem reads back (never the password). */
export const EXTENSION_COLUMNS =
  'number, display_name, context, codecs, voicemail, language, enabled, kind, status, last_registered_at, last_registered_ip, created_at, updated_at';

export interface ExtensionRow {
  number: string;
  display_name: string | null;
  context: string;
  codecs: string[];
  voicemail: string | null;
  language: string | null;
  enabled: boolean;
  kind: string;
  status: string;
  last_registered_at: Date | null;
  last_registered_ip: string | null;
  created_at: Date;
  updated_at: Date;
}

export function toExtension(r: ExtensionRow): Extension {
  return Object.freeze({
    number: r.number,
    displayName: r.display_name,
    context: r.context,
    codecs: Object.freeze([...r.codecs]),
    voicemail: r.voicemail,
    language: r.language,
    enabled: r.enabled,
    kind: asKind(r.kind),
    status: asStatus(r.status),
    lastRegisteredAt: r.last_registered_at,
    lastRegisteredIp: r.last_registered_ip,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  });
}

// The CHECK constraints guarantee these; the fallbacks only keep the types honest.
function asKind(k: string): ExtensionKind {
  return k === 'pair' ? 'pair' : 'user';
}

export function asStatus(s: string): ExtensionStatus {
  return s === 'online' || s === 'offline' ? s : 'unknown';
}
