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

export const TranslationProviderSchema = z.discriminatedUnion('kind', [TandemProviderSchema, OpenAiRealtimeProviderSchema]);

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
