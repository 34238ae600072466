import { z } from 'zod';
import { parseConfig } from '../../../engine/src/common/parse-config.js';

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
});

export type CallConfig = z.output<typeof callConfigSchema>;
export type CallConfigInput = z.input<typeof callConfigSchema>;

export function parseCallConfig(input: unknown = {}): CallConfig {
  return parseConfig(callConfigSchema, input, 'calls');
}
