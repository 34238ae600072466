import { afterEach, describe, expect, it } from 'vitest';
import { DeeplTranslator, deeplLanguages } from '../../../engine/src/pipeline/cascade/deepl-translator.js';
import { DeeplDouble, type DeeplFault } from '../../../tools/doubles/deepl-server.js';

const KEY = 'deepl-test-key:fx';
const req = (signal = new AbortController().signal) => ({ sourceLanguage: 'en-US', targetLanguage: 'es-MX', signal });

describe('DeeplTranslator (deepl-node) against the DeepL double', () => {
  let double: DeeplDouble | null = null;
  afterEach(async () => {
    await double?.close();
    double = null;
  });

  async function start(fault: DeeplFault = 'none', key = KEY, timeoutMs = 5000) {
    double = await DeeplDouble.start({ authKey: KEY, dictionary: { 'The cat is black.': 'El gato es negro.' } });
    double.fault = fault;
    return new DeeplTranslator({ serverUrl: double.url, authKey: key, formality: 'less', glossaryId: 'gl-1', timeoutMs, maxRetries: 0 });
  }

  it('maps BCP 47 tags to DeepL codes (variant only where DeepL needs one)', () => {
    expect(deeplLanguages('en-US', 'es-MX')).toEqual({ source: 'en', target: 'es' });
    expect(deeplLanguages('es', 'en-GB')).toEqual({ source: 'es', target: 'en-GB' });
    expect(deeplLanguages('es', 'en')).toEqual({ source: 'es', target: 'en-US' });
    expect(deeplLanguages('en', 'pt')).toEqual({ source: 'en', target: 'pt-BR' });
  });

  it('translates with the documented request: auth header, languages, formality, glossary', async () => {
    const t = await start();
    expect(await t.translate('The cat is black.', req())).toBe('El gato es negro.');
    const r = double!.requests[0]!;
    expect(r).toMatchObject({ text: ['The cat is black.'], formality: 'less', glossaryId: 'gl-1' });
    // DeepL's language codes are case-insensitive; the SDK sends them lower-case.
    expect([r.sourceLang?.toUpperCase(), r.targetLang?.toUpperCase()]).toEqual(['EN', 'ES']);
  });

  it('a refused key is unauthorized', async () => {
    const t = await start('none', 'wrong-key');
    await expect(t.translate('hello', req())).rejects.toMatchObject({ code: 'unauthorized' });
    expect(double!.rejected).toBe(1);
  });

  it('429 and 456 are overloaded', async () => {
    const t = await start('ratelimit');
    await expect(t.translate('hello', req())).rejects.toMatchObject({ code: 'overloaded' });
    double!.fault = 'quota';
    await expect(t.translate('hello', req())).rejects.toMatchObject({ code: 'overloaded' });
  });

  it('a malformed answer and a dropped connection fail the call with a clear error', async () => {
    const t = await start('malformed');
    await expect(t.translate('hello', req())).rejects.toMatchObject({ code: 'failed' });
    double!.fault = 'drop';
    await expect(t.translate('hello', req())).rejects.toHaveProperty('code');
    expect(t.counts.failures).toBe(2);
  });

  it('a stalled service is abandoned when the caller aborts', async () => {
    const t = await start('stall');
    const abort = new AbortController();
    const call = t.translate('hello', req(abort.signal));
    await new Promise<void>((resolve) => {
      const tick = (): void => (double!.requests.length === 1 ? resolve() : void setTimeout(tick, 10));
      tick();
    });
    abort.abort();
    await expect(call).rejects.toMatchObject({ code: 'aborted' });
  });
});
