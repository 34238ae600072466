import type { z } from 'zod';
import { ConfigError } from './errors.js';

/**
 * Validates a settings object against its schema (defaults filled in). The
 * first problem becomes a ConfigError naming the offending key (e.g.
 * `portRange.max`, or the unknown keys), so startup fails with one clear line.
 */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown, rootKey: string): z.output<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const key =
    issue && issue.path.length > 0 ? issue.path.join('.') : issue?.code === 'unrecognized_keys' ? issue.keys.join(',') : rootKey;
  throw new ConfigError(key, issue?.message ?? `invalid ${rootKey} settings`);
}
