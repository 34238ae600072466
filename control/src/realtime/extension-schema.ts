import { z } from 'zod';
import { RealtimeError } from './errors.js';
import { CONTEXT_RE, isKnownCodec, KNOWN_CODECS, type Codec, type ExtensionPolicy } from './policy.js';
import type { ExtensionStatus } from './presence-store.js';

export type ExtensionKind = 'user' | 'pair';

/** An extension as Tandem shows it. The SIP password is deliberately absent (see ExtensionService.password). */
export interface Extension {
  readonly number: string;
  readonly displayName: string | null;
  readonly context: string;
  readonly codecs: readonly string[];
  readonly voicemail: string | null;
  /** BCP 47 tag of what the user speaks (translated calls); null = the node's default. */
  readonly language: string | null;
  readonly enabled: boolean;
  readonly kind: ExtensionKind;
  readonly status: ExtensionStatus;
  readonly lastRegisteredAt: Date | null;
  readonly lastRegisteredIp: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** Column limits; they equal the widths in migrations/001_extensions.ts. */
export const FIELD_LIMITS = Object.freeze({
  password: 128,
  displayName: 64,
  context: 80,
  voicemail: 80,
  codecs: 16,
});

const optionalNullableString = z.string().nullable().optional();

export const extensionCreateSchema = z
  .object({
    number: z.string(),
    password: z.string(),
    displayName: optionalNullableString,
    context: z.string().optional(),
    codecs: z.array(z.string()).optional(),
    voicemail: optionalNullableString,
    language: optionalNullableString,
    enabled: z.boolean().optional(),
    kind: z.enum(['user', 'pair']).optional(),
  })
  .strict();

export const extensionUpdateSchema = z
  .object({
    password: z.string().optional(),
    displayName: optionalNullableString,
    context: z.string().optional(),
    codecs: z.array(z.string()).optional(),
    voicemail: optionalNullableString,
    language: optionalNullableString,
    enabled: z.boolean().optional(),
  })
  .strict();

export type ExtensionCreateInput = z.input<typeof extensionCreateSchema>;
export type ExtensionUpdateInput = z.input<typeof extensionUpdateSchema>;

/** A validated row, ready to write. */
export interface ExtensionRecord {
  number: string;
  password: string;
  displayName: string | null;
  context: string;
  codecs: Codec[];
  voicemail: string | null;
  language: string | null;
  enabled: boolean;
  kind: ExtensionKind;
}

/** A validated partial update; absent keys stay as they are. */
export type ExtensionPatch = Partial<Omit<ExtensionRecord, 'number' | 'kind'>>;

export function validateCreate(input: unknown, policy: ExtensionPolicy): ExtensionRecord {
  const raw = parseShape(extensionCreateSchema, input);
  const number = validateNumber(raw.number, policy);
  return {
    number,
    password: validatePassword(raw.password, number, policy),
    displayName: validateDisplayName(raw.displayName ?? null),
    context: validateContext(raw.context ?? policy.defaultContext),
    codecs: validateCodecs(raw.codecs ?? [...policy.defaultCodecs]),
    voicemail: validateVoicemail(raw.voicemail ?? null),
    language: validateLanguage(raw.language ?? null),
    enabled: raw.enabled ?? true,
    kind: raw.kind ?? 'user',
  };
}

export function validateUpdate(number: string, input: unknown, policy: ExtensionPolicy): ExtensionPatch {
  const raw = parseShape(extensionUpdateSchema, input);
  const patch: ExtensionPatch = {};
  if (raw.password !== undefined) patch.password = validatePassword(raw.password, number, policy);
  if (raw.displayName !== undefined) patch.displayName = validateDisplayName(raw.displayName);
  if (raw.context !== undefined) patch.context = validateContext(raw.context);
  if (raw.codecs !== undefined) patch.codecs = validateCodecs(raw.codecs);
  if (raw.voicemail !== undefined) patch.voicemail = validateVoicemail(raw.voicemail);
  if (raw.language !== undefined) patch.language = validateLanguage(raw.language);
  if (raw.enabled !== undefined) patch.enabled = raw.enabled;
  return patch;
}

function parseShape<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = issue?.path.join('.') || undefined;
    throw new RealtimeError('INVALID_INPUT', `invalid extension input${field ? ` at ${field}` : ''}: ${issue?.message ?? 'bad shape'}`, field);
  }
  return r.data;
}

export function validateNumber(number: string, policy: ExtensionPolicy): string {
  if (!/^[0-9]+$/.test(number)) {
    throw new RealtimeError('INVALID_NUMBER', 'extension number must be digits only', 'number');
  }
  if (number.length < policy.numberMinLength || number.length > policy.numberMaxLength) {
    throw new RealtimeError(
      'INVALID_NUMBER',
      `extension number must have ${policy.numberMinLength}–${policy.numberMaxLength} digits`,
      'number',
    );
  }
  return number;
}

// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

export function validatePassword(password: string, number: string, policy: ExtensionPolicy): string {
  if (password.length === 0) throw new RealtimeError('WEAK_PASSWORD', 'password must not be empty', 'password');
  tooLong('password', password, FIELD_LIMITS.password);
  if (CONTROL_RE.test(password)) {
    throw new RealtimeError('INVALID_FIELD', 'password must not contain control characters', 'password');
  }
  if (password.length < policy.passwordMinLength) {
    throw new RealtimeError('WEAK_PASSWORD', `password must have at least ${policy.passwordMinLength} characters`, 'password');
  }
  if (policy.passwordRejectNumber && password.includes(number)) {
    throw new RealtimeError('WEAK_PASSWORD', 'password must not contain the extension number', 'password');
  }
  if (policy.passwordRejectTrivial && isTrivial(password)) {
    throw new RealtimeError('WEAK_PASSWORD', 'password must not be one repeated character or a straight run', 'password');
  }
  return password;
}

/** One repeated character, or each character one code point above/below the previous (1234…, abcd…, 9876…). */
function isTrivial(password: string): boolean {
  const codes = [...password].map((c) => c.codePointAt(0) ?? 0);
  const steps = new Set<number>();
  for (let i = 1; i < codes.length; i++) steps.add(codes[i]! - codes[i - 1]!);
  return steps.size <= 1 && (steps.size === 0 || [0, 1, -1].includes([...steps][0]!));
}

export function validateDisplayName(name: string | null): string | null {
  if (name === null) return null;
  const trimmed = name.trim();
  if (trimmed === '') return null;
  tooLong('displayName', trimmed, FIELD_LIMITS.displayName);
  // These would break the "Name" <number> caller ID Asterisk parses.
  if (/["\\<>]/.test(trimmed) || CONTROL_RE.test(trimmed)) {
    throw new RealtimeError('INVALID_FIELD', 'display name must not contain " \\ < > or control characters', 'displayName');
  }
  return trimmed;
}

export function validateContext(context: string): string {
  tooLong('context', context, FIELD_LIMITS.context);
  if (!CONTEXT_RE.test(context)) {
    throw new RealtimeError('INVALID_FIELD', 'context must be letters, digits, _ - . only', 'context');
  }
  return context;
}

export function validateCodecs(codecs: readonly string[]): Codec[] {
  if (codecs.length === 0) throw new RealtimeError('INVALID_FIELD', 'at least one codec is required', 'codecs');
  if (codecs.length > FIELD_LIMITS.codecs) {
    throw new RealtimeError('FIELD_TOO_LONG', `at most ${FIELD_LIMITS.codecs} codecs`, 'codecs');
  }
  const out: Codec[] = [];
  for (const raw of codecs) {
    const c = raw.trim().toLowerCase();
    if (!isKnownCodec(c)) {
      throw new RealtimeError('UNKNOWN_CODEC', `unknown codec "${raw}" (known: ${KNOWN_CODECS.join(', ')})`, 'codecs');
    }
    if (!out.includes(c)) out.push(c);
  }
  return out;
}

const MAILBOX_RE = /^[A-Za-z0-9_.-]+(@[A-Za-z0-9_.-]+)?(,[A-Za-z0-9_.-]+(@[A-Za-z0-9_.-]+)?)*$/;

const LANGUAGE_TAG = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/;

/** A BCP 47 tag such as "en" or "es-MX" (the shape migration 006 checks), or null ("" clears it). */
export function validateLanguage(language: string | null): string | null {
  if (language === null || language.trim() === '') return null;
  const v = language.trim();
  tooLong('language', v, 35);
  if (!LANGUAGE_TAG.test(v)) throw new RealtimeError('INVALID_FIELD', 'language must be a BCP 47 tag such as "en" or "es-MX"', 'language');
  return v;
}

export function validateVoicemail(voicemail: string | null): string | null {
  if (voicemail === null || voicemail.trim() === '') return null;
  const v = voicemail.trim();
  tooLong('voicemail', v, FIELD_LIMITS.voicemail);
  if (!MAILBOX_RE.test(v)) {
    throw new RealtimeError('INVALID_FIELD', 'voicemail must be box[@context][,box[@context]…]', 'voicemail');
  }
  return v;
}

function tooLong(field: string, value: string, max: number): void {
  if (value.length > max) throw new RealtimeError('FIELD_TOO_LONG', `${field} is longer than ${max} characters`, field);
}
