/**
 * Tandem media streaming protocol v1 (`tandem.media.v1`): the JSON messages
 * both ways, as zod schemas, and the two parse functions that turn a raw
 * WebSocket text message into a typed union. Binary messages carry PCM and are
 * not parsed here. The wire spec is docs/media-streaming-protocol.md.
 *
 * Parsing never throws anything but a `ProtocolError` (with a `code`), and the
 * `try…` variants never throw at all: a socket handler must not crash on a
 * peer's bad message.
 */
import { z } from 'zod';

export const PROTOCOL_VERSION = 'tandem.media.v1';

/** Largest JSON message either side accepts; anything bigger is a protocol error, not a parse attempt. */
export const MAX_JSON_MESSAGE_BYTES = 64 * 1024;

/** WebSocket close codes used by the protocol (1000/1001/1011 are the RFC 6455 ones). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  internalError: 1011,
  /** The start message named a protocol version the service does not speak. */
  unsupportedProtocol: 4000,
  /** A message that does not parse, or one out of order (audio before start). */
  protocolError: 4001,
  /** No start message within the service's start timeout, or no traffic for its idle timeout. */
  timeout: 4002,
  /** Authorization checked after the upgrade failed (normally the upgrade itself is refused with HTTP 401). */
  unauthorized: 4003,
} as const;

export type ProtocolErrorCode =
  | 'not_json'
  | 'too_large'
  | 'unknown_event'
  | 'invalid_message'
  | 'unsupported_protocol'
  | 'unexpected_binary'
  | 'odd_length_audio';

/** A peer's message that is not valid protocol. `code` is what callers and tests branch on. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const Text = z.string().max(16_384);
const Id = z.string().min(1).max(128);
const Language = z.string().min(2).max(35); // BCP 47 tag, e.g. "en", "es-MX"
const Millis = z.number().finite().nonnegative();

export const DirectionSchema = z.enum(['A->B', 'B->A']);
export const SampleRateSchema = z.union([z.literal(8000), z.literal(16000)]);

// ---- client (Tandem) → service ----

export const StartMessageSchema = z.object({
  event: z.literal('start'),
  protocol: z.literal(PROTOCOL_VERSION),
  pairId: Id,
  srcExt: Id,
  dstExt: Id,
  direction: DirectionSchema,
  sampleRate: SampleRateSchema.default(16000),
  encoding: z.literal('pcm_s16le').default('pcm_s16le'),
  sourceLanguage: Language,
  targetLanguage: Language,
});

export const StopMessageSchema = z.object({ event: z.literal('stop'), reason: Text.optional() });
/** Client → service: the listener interrupted; cancel audio in flight. */
export const ClientClearMessageSchema = z.object({ event: z.literal('clear') });
/** Both ways: service → client asks to be told when playback reaches it; client → service is that acknowledgement. */
export const MarkMessageSchema = z.object({ event: z.literal('mark'), name: Id });
/**
 * Client → service: Tandem's voice activity detector decided the speaker
 * started or stopped talking, at `atMs` on the session's audio timeline. A hint
 * for endpointing: a service may answer at `end` instead of waiting for its own
 * silence detector, or ignore it.
 */
export const SpeechMessageSchema = z.object({ event: z.literal('speech'), state: z.enum(['start', 'end']), atMs: Millis });

/** Ids of the liveness check's ping/pong: the client counts from 1. */
const PingId = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
/**
 * Client → service, only to a service that listed {@link FEATURE_PING} in `started.features`:
 * the service must answer `pong` with the same id from its message-processing logic (not the
 * socket layer), so a service whose logic is stuck is told apart from one that is merely quiet.
 */
export const PingMessageSchema = z.object({ event: z.literal('ping'), id: PingId });

export const ClientMessageSchema = z.discriminatedUnion('event', [
  StartMessageSchema,
  StopMessageSchema,
  ClientClearMessageSchema,
  MarkMessageSchema,
  SpeechMessageSchema,
  PingMessageSchema,
]);

// ---- service → client ----

/** The optional features of v1 a service may list in `started.features` (docs/media-streaming-protocol.md §8). */
export const FEATURE_PING = 'ping';

export const StartedMessageSchema = z.object({
  event: z.literal('started'),
  protocol: z.string().min(1).max(64),
  sessionId: Id.optional(),
  /** Optional features this service supports; unknown names are ignored. Absent: none. */
  features: z.array(z.string().min(1).max(64)).max(64).optional(),
});

/** Service → client: the answer to `ping` with its id. */
export const PongMessageSchema = z.object({ event: z.literal('pong'), id: PingId });

export const TranscriptMessageSchema = z.object({
  event: z.literal('transcript'),
  utteranceId: Id,
  text: Text,
  final: z.boolean(),
  startMs: Millis,
  endMs: Millis,
  language: Language,
});

export const TranslationMessageSchema = z.object({
  event: z.literal('translation'),
  utteranceId: Id,
  text: Text,
  language: Language,
  final: z.boolean(),
});

export const ServiceClearMessageSchema = z.object({ event: z.literal('clear') });

export const ErrorMessageSchema = z.object({
  event: z.literal('error'),
  code: z.string().min(1).max(64),
  message: Text,
});

export const ServiceMessageSchema = z.discriminatedUnion('event', [
  StartedMessageSchema,
  TranscriptMessageSchema,
  TranslationMessageSchema,
  MarkMessageSchema,
  ServiceClearMessageSchema,
  ErrorMessageSchema,
  PongMessageSchema,
]);

export type StartMessage = z.output<typeof StartMessageSchema>;
/** What a client writes: defaults may be left out. */
export type StartMessageInput = z.input<typeof StartMessageSchema>;
export type StopMessage = z.output<typeof StopMessageSchema>;
export type MarkMessage = z.output<typeof MarkMessageSchema>;
export type SpeechMessage = z.output<typeof SpeechMessageSchema>;
export type PingMessage = z.output<typeof PingMessageSchema>;
export type PongMessage = z.output<typeof PongMessageSchema>;
export type ClientMessage = z.output<typeof ClientMessageSchema>;
export type StartedMessage = z.output<typeof StartedMessageSchema>;
export type TranscriptMessage = z.output<typeof TranscriptMessageSchema>;
export type TranslationMessage = z.output<typeof TranslationMessageSchema>;
export type ErrorMessage = z.output<typeof ErrorMessageSchema>;
export type ServiceMessage = z.output<typeof ServiceMessageSchema>;

const CLIENT_EVENTS = new Set(['start', 'stop', 'clear', 'mark', 'speech', 'ping']);
const SERVICE_EVENTS = new Set(['started', 'transcript', 'translation', 'mark', 'clear', 'error', 'pong']);

/** Raw text as `ws` hands it over: a string, a Buffer, or fragments. */
export type RawMessage = string | Buffer | ArrayBuffer | Buffer[];

function rawToText(raw: RawMessage): string {
  if (typeof raw === 'string') return raw;
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  if (raw instanceof ArrayBuffer) return Buffer.from(raw).toString('utf8');
  return raw.toString('utf8');
}

function rawLength(raw: RawMessage): number {
  if (typeof raw === 'string') return raw.length;
  if (Array.isArray(raw)) return raw.reduce((n, b) => n + b.length, 0);
  return raw.byteLength;
}

function parseWith<S extends z.ZodType>(raw: RawMessage, schema: S, events: Set<string>): z.output<S> {
  if (rawLength(raw) > MAX_JSON_MESSAGE_BYTES) {
    throw new ProtocolError('too_large', `message of ${rawLength(raw)} bytes exceeds ${MAX_JSON_MESSAGE_BYTES}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(rawToText(raw));
  } catch {
    throw new ProtocolError('not_json', 'message is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError('invalid_message', 'message is not a JSON object');
  }
  const event = (value as { event?: unknown }).event;
  if (typeof event !== 'string' || !events.has(event)) {
    throw new ProtocolError('unknown_event', `unknown event ${typeof event === 'string' ? JSON.stringify(event.slice(0, 32)) : typeof event}`);
  }
  const protocol = (value as { protocol?: unknown }).protocol;
  if (event === 'start' && typeof protocol === 'string' && protocol !== PROTOCOL_VERSION) {
    // Checked before the schema so a newer peer learns it is the version, not a field, that we reject.
    throw new ProtocolError('unsupported_protocol', `protocol ${JSON.stringify(protocol.slice(0, 64))} is not ${PROTOCOL_VERSION}`);
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : event;
    throw new ProtocolError('invalid_message', `${event}: ${where}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}

/** Parses a text message from the service. Throws only ProtocolError. */
export function parseServiceMessage(raw: RawMessage): ServiceMessage {
  return parseWith(raw, ServiceMessageSchema, SERVICE_EVENTS);
}

/** Parses a text message from the client. Throws only ProtocolError. */
export function parseClientMessage(raw: RawMessage): ClientMessage {
  return parseWith(raw, ClientMessageSchema, CLIENT_EVENTS);
}

export type ParseResult<T> = { ok: true; message: T } | { ok: false; error: ProtocolError };

function attempt<T>(parse: () => T): ParseResult<T> {
  try {
    return { ok: true, message: parse() };
  } catch (err) {
    // parseWith throws only ProtocolError; anything else would be a bug, still reported as a value.
    return {
      ok: false,
      error: err instanceof ProtocolError ? err : new ProtocolError('invalid_message', String(err)),
    };
  }
}

/** parseServiceMessage that returns its error instead of throwing: for socket handlers. */
export function tryParseServiceMessage(raw: RawMessage): ParseResult<ServiceMessage> {
  return attempt(() => parseServiceMessage(raw));
}

/** parseClientMessage that returns its error instead of throwing: for socket handlers. */
export function tryParseClientMessage(raw: RawMessage): ParseResult<ClientMessage> {
  return attempt(() => parseClientMessage(raw));
}

/** Serializes a message after checking it against its schema (a bug on our side throws here, not on the peer). */
export function encodeClientMessage(message: z.input<typeof ClientMessageSchema>): string {
  return JSON.stringify(ClientMessageSchema.parse(message));
}

export function encodeServiceMessage(message: z.input<typeof ServiceMessageSchema>): string {
  return JSON.stringify(ServiceMessageSchema.parse(message));
}
