import { afterEach, describe, expect, it } from 'vitest';
import { AzureTranslator, azureTranslatorLanguage } from '../../../engine/src/pipeline/cascade/azure-translator.js';
import { AzureTranslatorDouble } from '../../../tools/doubles/azure-translator-server.js';
import { failure, waitFor } from './helpers.js';

const KEY = 'azure-translator-test-key';
const RETRY = { maxRetries: 2, initialDelayMs: 1, maxDelayMs: 5000 };

describe('azureTranslatorLanguage', () => {
  it('maps BCP 47 tags to Translator codes', () => {
    expect(azureTranslatorLanguage('en-US')).toBe('en');
    expect(azureTranslatorLanguage('es-MX')).toBe('es');
    expect(azureTranslatorLanguage('zh-CN')).toBe('zh-Hans');
    expect(azureTranslatorLanguage('zh-TW')).toBe('zh-Hant');
    expect(azureTranslatorLanguage('pt-PT')).toBe('pt-pt');
    expect(azureTranslatorLanguage('pt-BR')).toBe('pt');
    expect(azureTranslatorLanguage('fr-CA')).toBe('fr-ca');
  });
});

describe('AzureTranslator against the Translator double', () => {
  let double: AzureTranslatorDouble | null = null;
  afterEach(async () => {
    await double?.close();
    double = null;
  });

  async function start(region?: string, key = KEY) {
    double = await AzureTranslatorDouble.start({ key: KEY, ...(region !== undefined ? { region } : {}), dictionary: { 'How are you?': '¿Cómo estás?' } });
    const t = new AzureTranslator({ url: double.url, key, region, retry: RETRY });
    const signal = new AbortController().signal;
    return { t, req: { sourceLanguage: 'en-US', targetLanguage: 'es-MX', signal } };
  }

  it('POSTs the documented request and returns translations[0].text', async () => {
    const { t, req } = await start('westeurope');
    expect(await t.translate('How are you?', req)).toBe('¿Cómo estás?');
    expect(double!.requests).toEqual([{ from: 'en', to: 'es', category: null, region: 'westeurope', traceId: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown, texts: ['How are you?'] }]);
    expect(t.counts).toMatchObject({ calls: 1, succeeded: 1, retries: 0 });
  });

  it('a refused key is unauthorized and not retried', async () => {
    const { t, req } = await start(undefined, 'wrong');
    const err = await failure(t.translate('Hello', req));
    expect(err.code).toBe('unauthorized');
    expect(err.message).toContain('401000');
    expect(err.message).not.toContain('wrong');
    expect(double!.rejected).toBe(1);
  });

  it('a missing region on a regional resource is refused', async () => {
    double = await AzureTranslatorDouble.start({ key: KEY, region: 'westeurope' });
    const t = new AzureTranslator({ url: double.url, key: KEY, retry: RETRY });
    const err = await failure(t.translate('Hello', { sourceLanguage: 'en', targetLanguage: 'es', signal: new AbortController().signal }));
    expect(err.code).toBe('unauthorized');
  });

  it('429 with Retry-After is waited out and retried', async () => {
    const { t, req } = await start();
    double!.retryAfterSeconds = 0;
    double!.setFault('ratelimit', 1);
    expect(await t.translate('Hello', req)).toBe('[es] Hello');
    expect(double!.requests).toHaveLength(2);
    expect(t.counts.retries).toBe(1);
  });

  it('a Retry-After longer than the policy allows fails at once as overloaded', async () => {
    const { t, req } = await start();
    double!.retryAfterSeconds = 30;
    double!.setFault('ratelimit');
    const err = await failure(t.translate('Hello', req));
    expect(err.code).toBe('overloaded');
    expect(err.message).toMatch(/Retry-After 30000 ms/);
    expect(double!.requests).toHaveLength(1);
  });

  it('429 on every attempt is overloaded after the retries', async () => {
    const { t, req } = await start();
    double!.retryAfterSeconds = 0;
    double!.setFault('ratelimit');
    const err = await failure(t.translate('Hello', req));
    expect(err.code).toBe('overloaded');
    expect(double!.requests).toHaveLength(3);
  });

  it('a 500 is retried', async () => {
    const { t, req } = await start();
    double!.setFault('servererror', 1);
    expect(await t.translate('Hello', req)).toBe('[es] Hello');
    expect(t.counts.retries).toBe(1);
  });

  it('a stalled call ends when the caller aborts it', async () => {
    const { t } = await start();
    double!.setFault('stall');
    const abort = new AbortController();
    const call = failure(t.translate('Hello', { sourceLanguage: 'en', targetLanguage: 'es', signal: abort.signal }));
    await waitFor(() => double!.requests.length === 1, 'request at the double');
    abort.abort();
    expect((await call).code).toBe('aborted');
  });

  it('a connection dropped mid-answer and a malformed answer fail the call', async () => {
    const { t, req } = await start();
    double!.setFault('drop', 1);
    expect((await failure(t.translate('Hello', req))).code).toBe('failed');
    double!.setFault('malformed', 1);
    const err = await failure(t.translate('Hello', req));
    expect(err.code).toBe('failed');
    expect(err.message).toContain('translations');
  });
});
