import { z } from 'zod';
import { parseConfig } from '../../../engine/src/common/parse-config.js';
import { PairTranslationSchema } from '../../../engine/src/pipeline/translation/config.js';

export const callConfigSchema = z.object({
  /** The Stasis application name, as in the dialplan's Stasis(pair_session,...). */
  app: z.string().min(1).default('pair_session'),
  /** externalMedia format of both legs; the engine decodes it. */
  format: z.enum(['ulaw', 'alaw', 'slin', 'slin16']).default('ulaw'),
  /** Technology prefix for leg B's endpoint. */
  legBTechnology: z.string().min(1).default('PJSIP'),
  /** Seconds Asterisk rings leg B before giving up (originate timeout). */
  originateTimeoutSeconds: z.number().int().min(1).max(600).default(30),
  /** How long leg B may take to answer before the call is torn down (beyond the originate timeout, a safety net). */
  answerDeadlineMs: z.number().int().min(1000).max(900_000).default(45_000),
  /** Record every call to a 4-channel WAV (the engine's `recording.dir`). */
  record: z.boolean().default(false),
  /** Translation for every pair opened (languages, provider); omitted = transparent duplex. Changeable per pair while it runs. */
  translation: PairTranslationSchema.optional(),
});

export type CallConfig = z.output<typeof callConfigSchema>;
export type CallConfigInput = z.input<typeof callConfigSchema>;

export function parseCallConfig(input: unknown = {}): CallConfig {
  return parseConfig(callConfigSchema, input, 'calls');
}
