import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../common/src/errors.js';
import { pairStoreSettingsFromEnv } from '../../../control/src/alloc/index.js';
import { translationFromEnv } from '../../../control/src/calls/translation-settings.js';
import { readStartEnv } from '../../../control/src/cli/commands/start.js';

const minimal = { ARI_URL: 'http://127.0.0.1:8088', ARI_PASSWORD: 'ari-secret-1' };

function failure(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe("tandem start's environment", () => {
  it('names each missing required variable and says what it is', () => {
    const password = failure(() => readStartEnv({ ARI_URL: minimal.ARI_URL }));
    expect(password.key).toBe('ARI_PASSWORD');
    expect(password.message).toBe('ARI_PASSWORD is required: the password of the ARI user in ari.conf (the user is ARI_USERNAME, default tandem)');
    const url = failure(() => readStartEnv({ ARI_PASSWORD: minimal.ARI_PASSWORD }));
    expect(url.message).toMatch(/^ARI_URL is required: the URL of Asterisk's HTTP server, e\.g\. http:\/\/127\.0\.0\.1:8088/);
    // Empty means unset, as `ARI_PASSWORD= tandem start` intends.
    expect(failure(() => readStartEnv({ ...minimal, ARI_PASSWORD: '' })).message).toMatch(/^ARI_PASSWORD is required/);
  });

  it('says which value is wrong and why, without showing secrets', () => {
    expect(failure(() => readStartEnv({ ...minimal, ARI_URL: 'localhost:8088' })).message).toBe('ARI_URL="localhost:8088" is invalid: must be a URL like http://127.0.0.1:8088');
    expect(failure(() => readStartEnv({ ...minimal, TANDEM_API_PORT: 'eighty' })).message).toMatch(/^TANDEM_API_PORT="eighty" is invalid: /);
    const token = failure(() => readStartEnv({ ...minimal, TANDEM_API_TOKEN: 'short-tok' }));
    expect(token.message).toMatch(/^TANDEM_API_TOKEN=\(value not shown\) is invalid: /);
    expect(token.message).not.toContain('short-tok');
  });

  it('names the variable, not the settings key, for the pair store and translation', () => {
    const pool = failure(() => pairStoreSettingsFromEnv({ TANDEM_POOL_SIZE: '0' }));
    expect(pool.key).toBe('TANDEM_POOL_SIZE');
    expect(pool.message).toMatch(/^TANDEM_POOL_SIZE="0" is invalid: /);
    expect(failure(() => pairStoreSettingsFromEnv({ REDIS_URL: 'http://x' })).message).toBe('REDIS_URL="http://x" is invalid: must start with redis:// or rediss://');
    expect(failure(() => pairStoreSettingsFromEnv({ TANDEM_LEASE_TTL_MS: 'soon' })).message).toBe('TANDEM_LEASE_TTL_MS="soon" is invalid: not a number');
    expect(failure(() => translationFromEnv({ TANDEM_TRANSLATE_PROVIDER: 'tandem' })).message).toMatch(/^TANDEM_TRANSLATE_URL is required: /);
    const key = failure(() => translationFromEnv({ TANDEM_TRANSLATE_PROVIDER: 'openai-realtime', TANDEM_TRANSLATE_URL: 'wss://x/' }));
    expect(key.message).toMatch(/^OPENAI_API_KEY is required: /);
  });
});
