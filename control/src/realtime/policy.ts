import { ConfigError } from '../../../common/src/errors.js';

/** Codec names Asterisk accepts in `allow=` that Tandem lets operators choose. */
export const KNOWN_CODECS = [
  'ulaw', 'alaw', 'g722', 'opus', 'slin', 'slin16', 'gsm', 'g729', 'g726', 'ilbc', 'speex', 'h264', 'vp8',
] as const;
export type Codec = (typeof KNOWN_CODECS)[number];

export function isKnownCodec(name: string): name is Codec {
  return (KNOWN_CODECS as readonly string[]).includes(name);
}

/**
 * What an acceptable extension looks like. One place, documented defaults,
 * one validation function naming the offending key.
 */
export interface ExtensionPolicy {
  /** Extension numbers are digits only, of this many digits (default 2…10). */
  readonly numberMinLength: number;
  readonly numberMaxLength: number;
  /** Minimum SIP password length (default 8; max is the column width 128). */
  readonly passwordMinLength: number;
  /** Refuse passwords that equal or contain the extension number (default true). */
  readonly passwordRejectNumber: boolean;
  /** Refuse one repeated character or a straight run like 12345678/abcdefgh (default true). */
  readonly passwordRejectTrivial: boolean;
  /** Context for new user extensions when none is given (default `from-internal`). */
  readonly defaultContext: string;
  /** Codecs for new extensions when none are given (default ulaw, alaw). */
  readonly defaultCodecs: readonly Codec[];
}

export const DEFAULT_EXTENSION_POLICY: ExtensionPolicy = Object.freeze({
  numberMinLength: 2,
  numberMaxLength: 10,
  passwordMinLength: 8,
  passwordRejectNumber: true,
  passwordRejectTrivial: true,
  defaultContext: 'from-internal',
  defaultCodecs: Object.freeze(['ulaw', 'alaw'] as Codec[]),
});

export function resolveExtensionPolicy(partial: Partial<ExtensionPolicy> = {}): ExtensionPolicy {
  const p: ExtensionPolicy = { ...DEFAULT_EXTENSION_POLICY, ...partial };
  if (!Number.isInteger(p.numberMinLength) || p.numberMinLength < 1) {
    throw new ConfigError('numberMinLength', 'must be an integer ≥ 1');
  }
  if (!Number.isInteger(p.numberMaxLength) || p.numberMaxLength < p.numberMinLength || p.numberMaxLength > 40) {
    throw new ConfigError('numberMaxLength', 'must be an integer between numberMinLength and 40');
  }
  if (!Number.isInteger(p.passwordMinLength) || p.passwordMinLength < 1 || p.passwordMinLength > 128) {
    throw new ConfigError('passwordMinLength', 'must be an integer between 1 and 128');
  }
  if (!CONTEXT_RE.test(p.defaultContext) || p.defaultContext.length > 80) {
    throw new ConfigError('defaultContext', 'must be 1–80 characters of letters, digits, _ - .');
  }
  if (p.defaultCodecs.length === 0 || !p.defaultCodecs.every(isKnownCodec)) {
    throw new ConfigError('defaultCodecs', `must be a non-empty list of ${KNOWN_CODECS.join(', ')}`);
  }
  return Object.freeze({ ...p, defaultCodecs: Object.freeze([...p.defaultCodecs]) });
}

/** Dialplan context names: what Asterisk accepts in a [section] without quoting surprises. */
export const CONTEXT_RE = /^[A-Za-z0-9_.-]+$/;

/** Settings Asterisk sees for every realtime extension (stored in tandem_realtime_settings). */
export interface RealtimeSettings {
  /** pjsip.conf transport section name (default `transport-udp`); must exist in pjsip.conf. */
  readonly transport: string;
  /** aor qualify_frequency in seconds (default 30; 0 is refused: contacts would stay NonQualified). */
  readonly qualifyFrequency: number;
}

export const DEFAULT_REALTIME_SETTINGS: RealtimeSettings = Object.freeze({
  transport: 'transport-udp',
  qualifyFrequency: 30,
});

export function resolveRealtimeSettings(partial: Partial<RealtimeSettings> = {}): RealtimeSettings {
  const s: RealtimeSettings = { ...DEFAULT_REALTIME_SETTINGS, ...partial };
  if (!CONTEXT_RE.test(s.transport) || s.transport.length > 40) {
    throw new ConfigError('transport', 'must be 1–40 characters of letters, digits, _ - .');
  }
  if (!Number.isInteger(s.qualifyFrequency) || s.qualifyFrequency < 1 || s.qualifyFrequency > 86_400) {
    throw new ConfigError('qualifyFrequency', 'must be an integer between 1 and 86400 seconds');
  }
  return Object.freeze(s);
}
