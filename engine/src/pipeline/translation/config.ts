import { z } from 'zod';
import { parseConfig } from '../../../../common/src/parse-config.js';
import type { Direction } from '../stage.js';

/**
 * How one pair is translated: who speaks which language, which provider
 * carries each direction, and how the listener hears it. Chosen when the pair
 * opens and replaceable while it runs (the engine's setTranslation). Plain
 * data: it crosses the thread boundary to the worker that owns the pair.
 */
const Language = z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/, 'must be a BCP 47 tag such as "en" or "es-MX"');
const WsUrl = z.string().regex(/^wss?:\/\/\S+$/, 'must be a ws:// or wss:// URL');

export const TandemProviderSchema = z
  .object({
    kind: z.literal('tandem'),
    /** A service speaking docs/media-streaming-protocol.md. */
    url: WsUrl,
    /** Bearer token; never logged. */
    token: z.string().min(1).optional(),
    sampleRate: z.union([z.literal(8000), z.literal(16000)]).default(16000),
    /** Liveness ping period with a service that lists the `ping` feature (protocol §6); 0 disables. Default 5000. */
    livenessIntervalMs: z.number().int().nonnegative().optional(),
    /** No pong (or started) within this: the service is stalled. Default 10000. */
    livenessTimeoutMs: z.number().int().positive().optional(),
  })
  .strict();

export const OpenAiRealtimeProviderSchema = z
  .object({
    kind: z.literal('openai-realtime'),
    url: WsUrl,
    /** Bearer key; never logged. */
    apiKey: z.string().min(1),
    model: z.string().min(1).optional(),
    voice: z.string().min(1).optional(),
    /** server_vad: the service finds turns; client: Tandem's VAD commits each utterance. */
    turnDetection: z.enum(['server_vad', 'client']).default('client'),
  })
  .strict();

// ---- cascade (docs/cascade.md): recognizer → translator → synthesizer, each its own provider ----

const HttpUrl = z.string().regex(/^https?:\/\/\S+$/, 'must be an http:// or https:// URL');

export const DeepgramRecognizerSchema = z
  .object({
    kind: z.literal('deepgram'),
    url: WsUrl.default('wss://api.deepgram.com/v1/listen'),
    /** Sent as `Authorization: Token <key>`; never logged. */
    apiKey: z.string().min(1),
    model: z.string().min(1).default('nova-3'),
    /** Deepgram's endpointing silence (ms); Tandem's VAD also sends Finalize when it hears the speaker stop. */
    endpointingMs: z.number().int().min(10).max(10_000).default(300),
    utteranceEndMs: z.number().int().min(1000).max(10_000).default(1000),
    keepAliveMs: z.number().int().min(100).max(9000).default(4000),
  })
  .strict();

/** An Azure resource's region, e.g. westeurope: the default endpoints are built from it. */
const AzureRegion = z.string().regex(/^[a-z0-9]{2,40}$/, 'must be an Azure region name such as "westeurope"');

export const AzureSpeechRecognizerSchema = z
  .object({
    kind: z.literal('azure'),
    region: AzureRegion,
    /** Default wss://<region>.stt.speech.microsoft.com/speech/recognition/conversation/cognitiveservices/v1; a double's in tests. */
    url: WsUrl.optional(),
    /** The Speech resource's key, sent as `Ocp-Apim-Subscription-Key`; never logged. */
    key: z.string().min(1),
    /** Silence after which the service ends a phrase by itself; Tandem's VAD also ends the turn's audio when it hears the speaker stop. */
    segmentationSilenceMs: z.number().int().min(100).max(5000).default(500),
    /** Most audio held while no turn is streaming (connecting, between turns); beyond it the oldest is dropped. */
    maxPendingMs: z.number().int().min(20).max(10_000).default(2000),
    /** No turn.end this long after the end of a turn's audio: the socket is reopened. */
    turnEndTimeoutMs: z.number().int().min(500).max(60_000).default(5000),
  })
  .strict();

// ---- Google Cloud (docs/providers.md): gRPC, an API key or Application Default Credentials ----

/** host:port of a gRPC endpoint. */
const GrpcEndpoint = z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9A-Fa-f:]+\]:\d{1,5}$/, 'must be host:port, e.g. speech.googleapis.com:443');
const googleAccess = (endpoint: string) => ({
  endpoint: GrpcEndpoint.default(endpoint),
  /** false only for a local double (plaintext HTTP/2). */
  tls: z.boolean().default(true),
  /** Sent as `x-goog-api-key`; without it Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS) are used. Never logged. */
  apiKey: z.string().min(1).optional(),
});

export const GoogleRecognizerSchema = z
  .object({
    kind: z.literal('google'),
    ...googleAccess('speech.googleapis.com:443'),
    /** e.g. "phone_call", "latest_short"; the service's default when unset. */
    model: z.string().min(1).optional(),
    enableAutomaticPunctuation: z.boolean().default(true),
    /** Audio per stream before Tandem opens the next one (Google ends a stream at about 305 s). */
    streamLimitMs: z.number().int().min(1000).max(295_000).default(280_000),
    /** A stream asked to finalize (end of speech) must end within this, else it is counted as a stall. */
    finalizeTimeoutMs: z.number().int().min(50).max(30_000).default(5000),
  })
  .strict();

export const GoogleTranslatorSchema = z
  .object({
    kind: z.literal('google'),
    ...googleAccess('translate.googleapis.com:443'),
    /** Cloud project of `parent: projects/<projectId>/locations/<location>` (Translation v3). */
    projectId: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$|^[0-9]+$/, 'must be a Google Cloud project id or number'),
    location: z.string().regex(/^[a-z0-9-]+$/).default('global'),
    model: z.string().min(1).optional(),
    glossaryId: z.string().min(1).optional(),
  })
  .strict();

export const GoogleSynthesizerSchema = z
  .object({
    kind: z.literal('google'),
    ...googleAccess('texttospeech.googleapis.com:443'),
    /** Language tag (or primary subtag) → voice name, e.g. {"es-US": "es-US-Neural2-A"}; else the service picks one. */
    voices: z.record(z.string(), z.string().min(1)).default({}),
    speakingRate: z.number().min(0.25).max(4).default(1),
  })
  .strict();

export const RecognizerSchema = z.discriminatedUnion('kind', [DeepgramRecognizerSchema, AzureSpeechRecognizerSchema, GoogleRecognizerSchema]);

export const ApertiumTranslatorSchema = z
  .object({
    kind: z.literal('apertium'),
    /** Where the language pairs' `<pair>.mode` files are (Debian's apertium-* packages install there). */
    modesDir: z.string().min(1).default('/usr/share/apertium/modes'),
    /** A pipeline that has not answered within this long is restarted. */
    requestTimeoutMs: z.number().int().positive().max(60_000).default(5000),
    /** BCP 47 primary subtag → Apertium language code, before the built-in table. */
    languageCodes: z.record(z.string(), z.string().regex(/^[a-z]{2,3}(_[A-Za-z]+)?$/)).default({}),
  })
  .strict();

export const DeeplTranslatorSchema = z
  .object({
    kind: z.literal('deepl'),
    /** DeepL's server (free keys ending in `:fx` use https://api-free.deepl.com); a double's in tests. */
    serverUrl: HttpUrl.optional(),
    /** `Authorization: DeepL-Auth-Key <key>`; never logged. */
    authKey: z.string().min(1),
    formality: z.enum(['default', 'more', 'less', 'prefer_more', 'prefer_less']).optional(),
    glossaryId: z.string().min(1).optional(),
  })
  .strict();

export const AzureTranslatorSchema = z
  .object({
    kind: z.literal('azure'),
    /** The global endpoint, a resource's custom endpoint, or a double's. */
    url: HttpUrl.default('https://api.cognitive.microsofttranslator.com'),
    /** `Ocp-Apim-Subscription-Key`; never logged. */
    key: z.string().min(1),
    /** `Ocp-Apim-Subscription-Region`: needed for a regional or multi-service resource. */
    region: AzureRegion.optional(),
    /** A Custom Translator category id. */
    category: z.string().min(1).optional(),
  })
  .strict();

export const TranslatorSchema = z.discriminatedUnion('kind', [ApertiumTranslatorSchema, DeeplTranslatorSchema, AzureTranslatorSchema, GoogleTranslatorSchema]);

export const EspeakSynthesizerSchema = z
  .object({
    kind: z.literal('espeak-ng'),
    wordsPerMinute: z.number().int().min(80).max(450).default(175),
    /** Language tag → espeak-ng voice, before the built-in mapping. */
    voices: z.record(z.string(), z.string()).default({}),
  })
  .strict();

export const ElevenLabsSynthesizerSchema = z
  .object({
    kind: z.literal('elevenlabs'),
    /** Base of the input-streaming WebSocket: `<url>/v1/text-to-speech/<voice>/stream-input`. */
    url: WsUrl.default('wss://api.elevenlabs.io'),
    /** Sent as the `xi-api-key` header; never logged. */
    apiKey: z.string().min(1),
    voiceId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be an ElevenLabs voice id'),
    modelId: z.string().min(1).default('eleven_flash_v2_5'),
    stability: z.number().min(0).max(1).default(0.5),
    similarityBoost: z.number().min(0).max(1).default(0.8),
    /** Keep the next utterance's socket open ahead of time, so its first audio does not wait for TLS and the upgrade. */
    warm: z.boolean().default(true),
    /** ElevenLabs' `inactivity_timeout` (s): an idle socket is closed after it; a kept-warm one sends a keep-alive every third of it. */
    inactivityTimeoutS: z.number().int().min(1).max(180).default(20),
  })
  .strict();

export const AzureTtsSynthesizerSchema = z
  .object({
    kind: z.literal('azure'),
    region: AzureRegion,
    /** Default https://<region>.tts.speech.microsoft.com; a double's in tests. */
    url: HttpUrl.optional(),
    /** The Speech resource's key, `Ocp-Apim-Subscription-Key`; never logged. */
    key: z.string().min(1),
    /** Language tag or bare language → voice name (e.g. {"es-MX": "es-MX-JorgeNeural"}), before the built-in table. */
    voices: z.record(z.string(), z.string().regex(/^[A-Za-z]{2,3}-[A-Za-z0-9-]+$/, 'must be an Azure voice name such as "es-MX-DaliaNeural"')).default({}),
  })
  .strict();

export const SynthesizerSchema = z.discriminatedUnion('kind', [EspeakSynthesizerSchema, ElevenLabsSynthesizerSchema, AzureTtsSynthesizerSchema, GoogleSynthesizerSchema]);

/** Translating a stable partial ahead of the final (docs/cascade.md, "Early translation"). */
export const EarlyTranslationSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Fewest settled words worth translating early. */
    minWords: z.number().int().min(1).max(50).default(3),
    /** Consecutive partials that must agree on a prefix before it counts as settled (a recognizer's own settled words count at once). */
    stablePartials: z.number().int().min(1).max(10).default(2),
  })
  .strict();

/**
 * The offline parts a direction falls back to while a cloud part is down
 * (docs/cascade.md, "Fallback"). Recognition has none: Tandem has no offline
 * recognizer, so a direction whose recognizer is down hears nothing until it
 * reconnects (reported as a `recognition_*` error).
 */
export const CascadeFallbackSchema = z
  .object({
    translator: TranslatorSchema.optional(),
    synthesizer: SynthesizerSchema.optional(),
    recognizer: z.never({ message: 'there is no offline recognizer to fall back to; leave fallback.recognizer out' }).optional(),
    /** Consecutive failures (HTTP 5xx, 429, dropped answers) before the direction switches; a refused connection or a stall switches at once. */
    afterFailures: z.number().int().min(1).max(20).default(2),
    /** A cloud call with no answer (translation) or no first audio (synthesis) within this long has stalled. */
    stallMs: z.number().int().min(50).max(60_000).default(2000),
    /** While on the fallback, the cloud part is tried again with a real call after this long, doubling up to probeMaxMs. */
    probeInitialMs: z.number().int().min(10).max(600_000).default(5000),
    probeMaxMs: z.number().int().min(10).max(3_600_000).default(60_000),
  })
  .strict();

const CascadePartsOverrideSchema = z
  .object({ recognizer: RecognizerSchema.optional(), translator: TranslatorSchema.optional(), synthesizer: SynthesizerSchema.optional() })
  .strict();

export const CascadeProviderSchema = z
  .object({
    kind: z.literal('cascade'),
    recognizer: RecognizerSchema,
    translator: TranslatorSchema,
    synthesizer: SynthesizerSchema,
    /** Another provider for one part of one direction (e.g. DeepL for A->B, Apertium for B->A). */
    byDirection: z.object({ 'A->B': CascadePartsOverrideSchema.optional(), 'B->A': CascadePartsOverrideSchema.optional() }).strict().default({}),
    translateTimeoutMs: z.number().int().positive().max(60_000).default(5000),
    synthesisTimeoutMs: z.number().int().positive().max(120_000).default(15_000),
    /** Finished utterances waiting for translation + synthesis per direction; beyond it the oldest is dropped (counted). */
    maxPendingUtterances: z.number().int().min(1).max(64).default(4),
    /** Most seconds of synthesized audio queued for playback per direction. */
    maxQueueSeconds: z.number().positive().max(600).default(30),
    earlyTranslation: EarlyTranslationSchema.default({ enabled: false, minWords: 3, stablePartials: 2 }),
    fallback: CascadeFallbackSchema.optional(),
  })
  .strict();

export const TranslationProviderSchema = z.discriminatedUnion('kind', [TandemProviderSchema, OpenAiRealtimeProviderSchema, CascadeProviderSchema]);

export const VadSettingsSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Speech probability above which a chunk is speech (Silero's reference default 0.5). */
    threshold: z.number().min(0.05).max(0.95).default(0.5),
    /** Silence that ends an utterance. */
    minSilenceMs: z.number().int().min(50).max(5000).default(300),
  })
  .strict();

export const PairTranslationSchema = z
  .object({
    provider: TranslationProviderSchema,
    /** The language each party speaks: A->B translates languages.A into languages.B. */
    languages: z.object({ A: Language, B: Language }).strict(),
    /** Directions to translate; a direction left out stays a transparent duplex. */
    directions: z
      .array(z.enum(['A->B', 'B->A']))
      .min(1)
      .refine((d) => new Set(d).size === d.length, 'directions must not repeat')
      .default(['A->B', 'B->A']),
    /** translated-only: the listener hears only the translation; duck: the original underneath at duckGain. */
    mode: z.enum(['translated-only', 'duck']).default('translated-only'),
    duckGain: z.number().min(0).max(1).default(0.25),
    vad: VadSettingsSchema.default({ enabled: true, threshold: 0.5, minSilenceMs: 300 }),
    /** When a party starts talking, translated audio still queued for that party is dropped (`clear`). */
    bargeIn: z.boolean().default(true),
    /**
     * What the listener's leg carries between translations: `silence` keeps a
     * continuous 20 ms stream of silence (what Asterisk and NAT bindings expect
     * from a live leg); `nothing` sends no packets until the next translation.
     */
    between: z.enum(['silence', 'nothing']).default('silence'),
  })
  .strict();

export type PairTranslation = z.output<typeof PairTranslationSchema>;
export type PairTranslationInput = z.input<typeof PairTranslationSchema>;
export type TranslationProvider = z.output<typeof TranslationProviderSchema>;
export type CascadeProvider = z.output<typeof CascadeProviderSchema>;
export type RecognizerConfig = z.output<typeof RecognizerSchema>;
export type TranslatorConfig = z.output<typeof TranslatorSchema>;
export type SynthesizerConfig = z.output<typeof SynthesizerSchema>;
export type CascadeFallback = z.output<typeof CascadeFallbackSchema>;
export type VadSettings = z.output<typeof VadSettingsSchema>;

export function parsePairTranslation(input: unknown): PairTranslation {
  return parseConfig(PairTranslationSchema, input, 'translation');
}

/** Source and target language of one direction. */
export function directionLanguages(translation: PairTranslation, direction: Direction): { source: string; target: string } {
  return direction === 'A->B'
    ? { source: translation.languages.A, target: translation.languages.B }
    : { source: translation.languages.B, target: translation.languages.A };
}
