/**
 * The subset of the OpenAI Realtime API (WebSocket transport, speech-to-speech
 * session) that Tandem speaks, as zod schemas and two parse functions.
 *
 * Written from OpenAI's public API reference, "Realtime → Client events" and
 * "Server events" (developers.openai.com/api/reference/resources/realtime/…,
 * the GA interface of 2025: `session.type: "realtime"`, audio formats
 * `{ type: "audio/pcm", rate: 24000 }`, `response.output_audio.delta`,
 * `response.output_audio_transcript.*`), and the "Realtime conversations"
 * guide. The GA shape is what we send. When receiving we are a tolerant
 * reader: the beta names of the same audio / transcript events
 * (`response.audio.delta`, `response.audio_transcript.delta/done`,
 * `response.audio.done`) are accepted as aliases, unknown extra fields are
 * ignored, and event types we do not use are ignored rather than treated as
 * errors (the service adds events over time). Only JSON that is not an object
 * with a string `type`, or a known event with the wrong fields, is a protocol
 * error.
 *
 * Parsing never throws: a socket handler must not crash on a peer's message.
 */
import { z } from 'zod';
import { ProtocolError, type ParseResult, type RawMessage } from '../../streaming/protocol.js';

/** The one PCM rate the service takes and gives (pcm16 little-endian, mono). */
export const REALTIME_SAMPLE_RATE = 24000;

/** The service's endpoint; `?model=` is added by the stage. */
export const OPENAI_REALTIME_URL = 'wss://api.openai.com/v1/realtime';

/** The service refuses to commit less than this much audio (`input_audio_buffer_commit_empty`). */
export const MIN_COMMIT_MS = 100;

const Id = z.string().min(1).max(256);
const Ms = z.number().finite().nonnegative();

// ---- client → service ----

const PcmFormatSchema = z.object({ type: z.literal('audio/pcm'), rate: z.literal(REALTIME_SAMPLE_RATE) });

const ServerVadSchema = z.object({
  type: z.literal('server_vad'),
  threshold: z.number().min(0).max(1).optional(),
  prefix_padding_ms: z.number().int().nonnegative().optional(),
  silence_duration_ms: z.number().int().nonnegative().optional(),
  create_response: z.boolean().optional(),
  interrupt_response: z.boolean().optional(),
});

const SemanticVadSchema = z.object({
  type: z.literal('semantic_vad'),
  eagerness: z.enum(['low', 'medium', 'high', 'auto']).optional(),
  create_response: z.boolean().optional(),
  interrupt_response: z.boolean().optional(),
});

export const SessionConfigSchema = z.object({
  type: z.literal('realtime'),
  model: z.string().min(1).optional(),
  instructions: z.string().max(65_536).optional(),
  output_modalities: z.array(z.enum(['audio', 'text'])).min(1).optional(),
  audio: z
    .object({
      input: z
        .object({
          format: PcmFormatSchema.optional(),
          transcription: z
            .object({ model: z.string().min(1), language: z.string().min(2).max(35).optional(), prompt: z.string().optional() })
            .nullable()
            .optional(),
          turn_detection: z.union([z.null(), ServerVadSchema, SemanticVadSchema]).optional(),
        })
        .optional(),
      output: z.object({ format: PcmFormatSchema.optional(), voice: z.string().min(1).optional(), speed: z.number().optional() }).optional(),
    })
    .optional(),
});

export const SessionUpdateEventSchema = z.object({ type: z.literal('session.update'), event_id: Id.optional(), session: SessionConfigSchema });
export const AppendEventSchema = z.object({ type: z.literal('input_audio_buffer.append'), event_id: Id.optional(), audio: z.string() });
export const CommitEventSchema = z.object({ type: z.literal('input_audio_buffer.commit'), event_id: Id.optional() });
export const ClearEventSchema = z.object({ type: z.literal('input_audio_buffer.clear'), event_id: Id.optional() });
export const ResponseCreateEventSchema = z.object({ type: z.literal('response.create'), event_id: Id.optional(), response: z.looseObject({}).optional() });
export const ResponseCancelEventSchema = z.object({ type: z.literal('response.cancel'), event_id: Id.optional(), response_id: Id.optional() });

export const ClientEventSchema = z.discriminatedUnion('type', [
  SessionUpdateEventSchema,
  AppendEventSchema,
  CommitEventSchema,
  ClearEventSchema,
  ResponseCreateEventSchema,
  ResponseCancelEventSchema,
]);

const CLIENT_EVENT_TYPES: ReadonlySet<string> = new Set(ClientEventSchema.options.map((o) => o.shape.type.value));

export type SessionConfig = z.output<typeof SessionConfigSchema>;
export type ClientEvent = z.output<typeof ClientEventSchema>;
export type ClientEventInput = z.input<typeof ClientEventSchema>;

/** Serializes a control event after checking it (a bug on our side throws here, not at the service). Not for audio: see appendEventJson. */
export function encodeClientEvent(event: ClientEventInput): string {
  return JSON.stringify(ClientEventSchema.parse(event));
}

/** `input_audio_buffer.append` for base64 audio, built without a schema pass: it goes out 50 times a second. */
export function appendEventJson(base64Audio: string): string {
  return `{"type":"input_audio_buffer.append","audio":"${base64Audio}"}`;
}

// ---- service → client ----

const ErrorDetailSchema = z.object({
  type: z.string().nullish(),
  code: z.string().nullish(),
  message: z.string().max(16_384).nullish(),
  param: z.string().nullish(),
  event_id: z.string().nullish(),
});

const ResponseRefSchema = z.object({ id: Id, status: z.string().optional() });

const serverSchemas = {
  'session.created': z.object({ session: z.object({ id: z.string().optional() }).optional() }),
  'session.updated': z.object({}),
  error: z.object({ error: ErrorDetailSchema }),
  'input_audio_buffer.speech_started': z.object({ audio_start_ms: Ms, item_id: Id }),
  'input_audio_buffer.speech_stopped': z.object({ audio_end_ms: Ms, item_id: Id }),
  'input_audio_buffer.committed': z.object({ item_id: Id, previous_item_id: Id.nullish() }),
  'input_audio_buffer.cleared': z.object({}),
  'conversation.item.input_audio_transcription.delta': z.object({ item_id: Id, delta: z.string() }),
  'conversation.item.input_audio_transcription.completed': z.object({ item_id: Id, transcript: z.string() }),
  'conversation.item.input_audio_transcription.failed': z.object({ item_id: Id, error: ErrorDetailSchema.optional() }),
  'response.created': z.object({ response: ResponseRefSchema }),
  'response.output_audio.delta': z.object({ response_id: Id, item_id: Id, delta: z.string() }),
  'response.output_audio.done': z.object({ response_id: Id }),
  'response.output_audio_transcript.delta': z.object({ response_id: Id, item_id: Id, delta: z.string() }),
  'response.output_audio_transcript.done': z.object({ response_id: Id, item_id: Id, transcript: z.string() }),
  'response.done': z.object({ response: ResponseRefSchema }),
} as const;

type ServerSchemas = typeof serverSchemas;
export type ServerEventType = keyof ServerSchemas;

/** A known service event, fields checked; the type is always the GA name. */
export type ServerEvent = { [K in ServerEventType]: { type: K } & z.output<ServerSchemas[K]> }[ServerEventType];

/** A well-formed event of a type Tandem does not use (rate limits, item bookkeeping, …). */
export interface IgnoredServerEvent {
  type: 'ignored';
  original: string;
}

/** Beta names of events whose GA name differs (the payloads are the same). */
const BETA_ALIASES: Readonly<Record<string, ServerEventType>> = {
  'response.audio.delta': 'response.output_audio.delta',
  'response.audio.done': 'response.output_audio.done',
  'response.audio_transcript.delta': 'response.output_audio_transcript.delta',
  'response.audio_transcript.done': 'response.output_audio_transcript.done',
};

function rawToText(raw: RawMessage): string {
  if (typeof raw === 'string') return raw;
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  if (raw instanceof ArrayBuffer) return Buffer.from(raw).toString('utf8');
  return raw.toString('utf8');
}

/** The message as a JSON object, or the protocol error that says why it is not one. */
function parseObject(raw: RawMessage): ParseResult<Record<string, unknown>> {
  let value: unknown;
  try {
    value = JSON.parse(rawToText(raw));
  } catch {
    return { ok: false, error: new ProtocolError('not_json', 'message is not valid JSON') };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: new ProtocolError('invalid_message', 'message is not a JSON object') };
  }
  return { ok: true, message: value as Record<string, unknown> };
}

function isServerEventType(type: string): type is ServerEventType {
  return Object.prototype.hasOwnProperty.call(serverSchemas, type);
}

/** Parses one text message from the service. Never throws. */
export function tryParseServerEvent(raw: RawMessage): ParseResult<ServerEvent | IgnoredServerEvent> {
  const parsed = parseObject(raw);
  if (!parsed.ok) return parsed;
  const value = parsed.message;
  const original = value['type'];
  if (typeof original !== 'string' || original.length === 0) {
    return { ok: false, error: new ProtocolError('invalid_message', 'message has no string "type"') };
  }
  const type = BETA_ALIASES[original] ?? original;
  if (!isServerEventType(type)) return { ok: true, message: { type: 'ignored', original: original.slice(0, 64) } };
  const result = serverSchemas[type].safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : type;
    return { ok: false, error: new ProtocolError('invalid_message', `${original.slice(0, 64)}: ${where}: ${issue?.message ?? 'invalid'}`) };
  }
  return { ok: true, message: { ...result.data, type } as ServerEvent };
}

/** Parses one text message from a client (for the local server). Never throws. */
export function tryParseClientEvent(raw: RawMessage): ParseResult<ClientEvent> {
  const parsed = parseObject(raw);
  if (!parsed.ok) return parsed;
  const value = parsed.message;
  const type = value['type'];
  if (typeof type !== 'string' || !CLIENT_EVENT_TYPES.has(type)) {
    return { ok: false, error: new ProtocolError('unknown_event', `unknown event ${typeof type === 'string' ? JSON.stringify(type.slice(0, 64)) : typeof type}`) };
  }
  const result = ClientEventSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : type;
    return { ok: false, error: new ProtocolError('invalid_message', `${type}: ${where}: ${issue?.message ?? 'invalid'}`) };
  }
  return { ok: true, message: result.data };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes base64 pcm16 audio. Node's decoder silently skips bad characters,
 * so the alphabet and padding are checked first. Returns a ProtocolError for
 * text that is not base64 or does not hold whole 16-bit samples.
 */
export function decodeBase64Audio(text: string): { ok: true; bytes: Buffer } | { ok: false; error: ProtocolError } {
  if (text.length % 4 !== 0 || !BASE64.test(text)) {
    return { ok: false, error: new ProtocolError('invalid_message', `audio is not base64 (${text.length} characters)`) };
  }
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % 2 !== 0) {
    return { ok: false, error: new ProtocolError('odd_length_audio', `audio of ${bytes.length} bytes (not whole s16 samples)`) };
  }
  return { ok: true, bytes };
}

/** English name of a BCP 47 language tag for the interpreter prompt ("es-MX" → "Spanish (Mexico)"); the tag itself if unknown. */
export function languageName(tag: string): string {
  try {
    return new Intl.DisplayNames(['en'], { type: 'language' }).of(tag) ?? tag;
  } catch {
    return tag;
  }
}

/** The primary subtag ("es-MX" → "es"): what the transcription `language` field takes (ISO 639-1). */
export function primaryLanguage(tag: string): string {
  return tag.split('-')[0]!.toLowerCase();
}
