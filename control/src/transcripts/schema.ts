import { z } from 'zod';
import type { TranscriptEvent } from '../../../engine/src/index.js';

/**
 * The one validation of a transcript event. Events come from engine workers and
 * from Redis, so they are untrusted input: everything the `transcripts` table,
 * the HTTP API and a terminal will see is checked here. Widths match the
 * columns of migration 004.
 */

/** Longest `text` / `translatedText` kept; longer ones are cut (and counted by the hub). */
export const MAX_TEXT_LENGTH = 4000;
/** What the engine accepts as a pairId (engine/src/worker/validate.ts). */
export const PAIR_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
const EXTENSION_PATTERN = /^[0-9A-Za-z_+*#-]{1,32}$/;
/** BCP 47-shaped: "en", "es-MX", "zh-Hans-CN". */
const LANGUAGE_PATTERN = /^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
/** A call cannot last longer than this (30 days of audio); anything above is a bug upstream. */
const MAX_MS = 30 * 24 * 3600 * 1000;

const Id = z
  .string()
  .min(1)
  .max(200)
  .refine((s) => !CONTROL_CHARS.test(s), 'must not contain control characters');
export const CallIdSchema = Id;
const Language = z.string().max(35).regex(LANGUAGE_PATTERN, 'must be a language tag such as "en" or "es-MX"');
const Millis = z.number().finite().min(0).max(MAX_MS);

export const transcriptEventSchema = z
  .object({
    pairId: z.string().regex(PAIR_ID_PATTERN, 'must be 1-64 of [A-Za-z0-9_.-]'),
    /** Not in TranscriptEvent: the publisher's id of the call, since a PAIR_ID serves many calls. */
    callId: Id.nullable().optional(),
    srcExt: z.string().regex(EXTENSION_PATTERN, 'must be 1-32 of [0-9A-Za-z_+*#-]'),
    dstExt: z.string().regex(EXTENSION_PATTERN, 'must be 1-32 of [0-9A-Za-z_+*#-]'),
    direction: z.enum(['A->B', 'B->A']),
    utteranceId: Id,
    language: Language,
    text: z.string(),
    targetLanguage: Language,
    translatedText: z.string().nullable(),
    startMs: Millis,
    endMs: Millis,
    final: z.boolean(),
    at: z.iso.datetime({ offset: true }),
  })
  .refine((e) => e.endMs >= e.startMs, { message: 'endMs must not be before startMs', path: ['endMs'] });

/** A validated event: what the hub emits, publishes and stores. */
export interface TranscriptRecord extends Readonly<TranscriptEvent> {
  /** Null when the publisher did not say which call the event belongs to. */
  readonly callId: string | null;
}

/** What `TranscriptHub.publish()` takes: the engine's event, optionally with the call it belongs to. */
export type TranscriptInput = TranscriptEvent & { callId?: string | null };

export type ParseResult =
  | { ok: true; record: TranscriptRecord; truncated: boolean }
  | { ok: false; reason: string };

/**
 * Validates and normalises one event: times rounded to whole ms (rounding keeps
 * end ≥ start), texts cut to MAX_TEXT_LENGTH on a code point boundary, NULs
 * (which PostgreSQL text cannot hold) removed. Never throws.
 */
export function parseTranscript(input: unknown): ParseResult {
  const parsed = transcriptEventSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    return { ok: false, reason: `${where}${issue?.message ?? 'invalid'}` };
  }
  const e = parsed.data;
  const text = capText(e.text);
  const translated = e.translatedText === null ? null : capText(e.translatedText);
  const record: TranscriptRecord = Object.freeze({
    pairId: e.pairId,
    callId: e.callId ?? null,
    srcExt: e.srcExt,
    dstExt: e.dstExt,
    direction: e.direction,
    utteranceId: e.utteranceId,
    language: e.language,
    text: text.value,
    targetLanguage: e.targetLanguage,
    translatedText: translated === null ? null : translated.value,
    startMs: Math.round(e.startMs),
    endMs: Math.round(e.endMs),
    final: e.final,
    at: e.at,
  });
  return { ok: true, record, truncated: text.truncated || (translated?.truncated ?? false) };
}

function capText(s: string): { value: string; truncated: boolean } {
  const clean = s.includes('\u0000') ? s.replaceAll('\u0000', '') : s;
  if (clean.length <= MAX_TEXT_LENGTH) return { value: clean, truncated: false };
  let end = MAX_TEXT_LENGTH;
  // Never split a surrogate pair: half of one is not valid UTF-8.
  const last = clean.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return { value: clean.slice(0, end), truncated: true };
}

/** The Redis pub/sub channel of every event: `<prefix>transcripts`. */
export function transcriptsChannel(prefix: string): string {
  return `${prefix}transcripts`;
}

/** The JSON of one record, as Redis subscribers and SSE clients get it. */
export function encodeTranscript(record: TranscriptRecord): string {
  return JSON.stringify(record);
}

/** Parses a message from the transcripts channel; anything malformed is a `TypeError`. */
export function decodeTranscript(json: string): TranscriptRecord {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch {
    throw new TypeError('transcript message is not JSON');
  }
  const r = parseTranscript(data);
  if (!r.ok) throw new TypeError(`transcript message invalid: ${r.reason}`);
  return r.record;
}
