import type { z } from 'zod';
import { ConfigError } from './errors.js';

/** Variables whose value must never appear in a message. */
const SECRET_NAME = /PASSWORD|SECRET|TOKEN|KEY/;

/**
 * A setting from an environment variable that is missing or wrong, worded for
 * the person who set it: `ARI_PASSWORD is required: the password of …`, or
 * `TANDEM_API_PORT="abc" is invalid: expected a number`. The value is shown
 * (cut at 200 characters) unless the name says it is a secret. Still a
 * ConfigError whose `key` is the variable's name.
 */
export class EnvVarError extends ConfigError {
  constructor(variable: string, value: string | undefined, problem: string) {
    super(variable, problem);
    this.message = value === undefined ? `${variable} ${problem}` : `${variable}=${shownValue(variable, value)} ${problem}`;
  }

  static missing(variable: string, meaning: string | undefined): EnvVarError {
    return new EnvVarError(variable, undefined, meaning ? `is required: ${meaning}` : 'is required');
  }

  static invalid(variable: string, value: string, problem: string): EnvVarError {
    return new EnvVarError(variable, value, `is invalid: ${problem}`);
  }
}

function shownValue(variable: string, value: string): string {
  if (SECRET_NAME.test(variable)) return '(value not shown)';
  return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
}

/**
 * The first issue of a zod parse of environment variables as an EnvVarError.
 * `present` holds the variables as read (unset ones absent), `meanings` what
 * each required one is, for the message when it is missing.
 */
export function envIssueError(
  issues: readonly z.core.$ZodIssue[],
  present: Readonly<Record<string, string | undefined>>,
  meanings: Readonly<Record<string, string>> = {},
): EnvVarError {
  const issue = issues[0];
  const variable = String(issue?.path[0] ?? 'environment');
  const value = present[variable];
  if (value === undefined) return EnvVarError.missing(variable, meanings[variable]);
  return EnvVarError.invalid(variable, value, issue?.message ?? 'not accepted');
}

/**
 * A ConfigError about a settings key, told as a problem with `variable` (the
 * environment variable its value came from): the key's name gives way to the
 * variable's, the problem text stays.
 */
export function asEnvVarError(err: ConfigError, variable: string, value: string): EnvVarError {
  const prefix = `${err.key}: `;
  return EnvVarError.invalid(variable, value, err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message);
}
