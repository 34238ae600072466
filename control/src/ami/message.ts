import { AmiParseError } from './errors.js';

/** One `Key: Value` line. Values keep every byte Asterisk sent, including a trailing bare `\n`. */
export type AmiField = readonly [key: string, value: string];

export type AmiMessageKind = 'response' | 'event' | 'action' | 'other';

/**
 * One AMI message with every field kept in wire order. Keys repeat in real
 * traffic (`Output:` once per CLI line, `ChanVariable`, `Variable`), so this is
 * an ordered list with a case-insensitive index, never a plain object.
 */
export class AmiMessage {
  readonly fields: readonly AmiField[];
  readonly #index = new Map<string, string[]>();

  constructor(fields: readonly AmiField[]) {
    this.fields = fields;
    for (const [key, value] of fields) {
      // Asterisk matches header names case-insensitively (astman_get_header), so do we.
      const k = key.toLowerCase();
      const list = this.#index.get(k);
      if (list) list.push(value);
      else this.#index.set(k, [value]);
    }
  }

  /** First value of `key`, or undefined. */
  get(key: string): string | undefined {
    return this.#index.get(key.toLowerCase())?.[0];
  }

  /** Every value of `key`, in wire order (empty when absent). */
  getAll(key: string): readonly string[] {
    return this.#index.get(key.toLowerCase()) ?? [];
  }

  has(key: string): boolean {
    return this.#index.has(key.toLowerCase());
  }

  /** First value of `key`; a missing key is an `AmiParseError` with code `AMI_MISSING_FIELD`. */
  require(key: string): string {
    const value = this.get(key);
    if (value === undefined) throw new AmiParseError('AMI_MISSING_FIELD', `AMI message has no ${key} field`);
    return value;
  }

  /** The kind, read from the first field as Asterisk writes it. */
  get kind(): AmiMessageKind {
    const first = this.fields[0]?.[0].toLowerCase();
    if (first === 'response') return 'response';
    if (first === 'event') return 'event';
    if (first === 'action') return 'action';
    return 'other';
  }

  get actionId(): string | undefined {
    return this.get('ActionID');
  }

  /** Keys mapped to all their values (repeated keys kept, in order). */
  toMap(): Map<string, string[]> {
    const map = new Map<string, string[]>();
    for (const [key, value] of this.fields) {
      const list = map.get(key);
      if (list) list.push(value);
      else map.set(key, [value]);
    }
    return map;
  }
}

const TERMINATOR = '\r\n\r\n';

/**
 * Parses one message: `Key: Value` lines separated by CRLF, with or without the
 * blank-line terminator. Lines split on CRLF only, because Asterisk ends some
 * values with a bare `\n` (`Message: No Contacts found\n`) and that `\n` belongs
 * to the value. The separator is the first `": "` (one space consumed); a line
 * ending in a bare `:` has an empty value.
 *
 * @throws AmiParseError `AMI_EMPTY_MESSAGE` or `AMI_BAD_LINE`
 */
export function parseAmiMessage(raw: string): AmiMessage {
  let body = raw.endsWith(TERMINATOR) ? raw.slice(0, -TERMINATOR.length) : raw;
  if (body.endsWith('\r\n')) body = body.slice(0, -2);
  if (body.length === 0) throw new AmiParseError('AMI_EMPTY_MESSAGE', 'empty AMI message');
  const fields: AmiField[] = [];
  for (const line of body.split('\r\n')) {
    const sep = line.indexOf(': ');
    let key: string;
    let value: string;
    if (sep > 0) {
      key = line.slice(0, sep);
      value = line.slice(sep + 2);
    } else if (line.length > 1 && line.endsWith(':') && line.indexOf(':') === line.length - 1) {
      key = line.slice(0, -1);
      value = '';
    } else {
      throw new AmiParseError('AMI_BAD_LINE', `AMI line without "Key: Value": ${JSON.stringify(line.slice(0, 80))}`);
    }
    if (key.includes('\n') || key.includes('\r')) {
      throw new AmiParseError('AMI_BAD_LINE', `AMI key with a line break: ${JSON.stringify(key.slice(0, 80))}`);
    }
    fields.push([key, value]);
  }
  return new AmiMessage(fields);
}

/**
 * Writes fields as one wire message ending in `\r\n\r\n`. A key must be
 * non-empty without `:` or line breaks; a value must not contain `\r` (it
 * would let a value end the line and inject fields). A bare `\n` is allowed
 * because Asterisk itself sends it (the simulator reproduces that); actions
 * from the client are stricter, see `encodeAction`.
 *
 * @throws AmiParseError `AMI_BAD_FIELD`
 */
export function serializeAmiMessage(fields: readonly AmiField[]): string {
  let out = '';
  for (const [key, value] of fields) {
    if (key.length === 0 || /[:\r\n]/.test(key)) {
      throw new AmiParseError('AMI_BAD_FIELD', `invalid AMI key ${JSON.stringify(key.slice(0, 80))}`);
    }
    if (value.includes('\r')) {
      throw new AmiParseError('AMI_BAD_FIELD', `AMI value for ${key} contains a carriage return`);
    }
    out += `${key}: ${value}\r\n`;
  }
  return out + '\r\n';
}

/**
 * Encodes an action: `Action`, then the caller's fields in the given order,
 * then `ActionID`. Values may contain neither `\r` nor `\n`: Asterisk splits
 * input lines on CRLF, and a client must never be able to smuggle a second line.
 *
 * @throws AmiParseError `AMI_BAD_FIELD`
 */
export function encodeAction(name: string, fields: readonly AmiField[], actionId: string): string {
  const all: AmiField[] = [['Action', name], ...fields, ['ActionID', actionId]];
  for (const [key, value] of all) {
    if (/[\r\n]/.test(value)) {
      throw new AmiParseError('AMI_BAD_FIELD', `AMI value for ${key} contains a line break`);
    }
  }
  return serializeAmiMessage(all);
}

/** Normalises `Record` or entry-list field input to an entry list (repeated keys via the list form). */
export function toFields(fields: Readonly<Record<string, string>> | readonly AmiField[]): AmiField[] {
  return Array.isArray(fields) ? [...(fields as readonly AmiField[])] : Object.entries(fields);
}
