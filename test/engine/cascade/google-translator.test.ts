import { afterEach, describe, expect, it } from 'vitest';
import { DIRECTIONS_PER_CHANNEL } from '../../../engine/src/pipeline/cascade/google/grpc.js';
import { GoogleTranslator, type GoogleTranslatorOptions } from '../../../engine/src/pipeline/cascade/google/translator.js';
import { sharedCount } from '../../../engine/src/pipeline/cascade/shared.js';
import { GoogleDouble } from '../../../tools/doubles/google-server.js';

const KEY = 'google-test-key';
const req = (signal = new AbortController().signal) => ({ sourceLanguage: 'en-US', targetLanguage: 'es-MX', signal });

describe('GoogleTranslator (Translation v3 TranslateText) against the Google double', () => {
  let double: GoogleDouble | null = null;
  const open: GoogleTranslator[] = [];
  afterEach(async () => {
    for (const t of open.splice(0)) t.release();
    await double?.close();
    double = null;
    expect(sharedCount()).toBe(0);
  });

  async function start(over: Partial<GoogleTranslatorOptions> = {}) {
    double ??= await GoogleDouble.start({ apiKey: KEY, dictionary: { 'The cat is black.': 'El gato es negro.' } });
    const t = new GoogleTranslator({ endpoint: double.endpoint, tls: false, apiKey: KEY, projectId: 'tandem-test', location: 'global', timeoutMs: 5000, maxRetries: 1, ...over });
    open.push(t);
    return t;
  }

  it('translates with the documented request: parent, languages, plain text, glossary', async () => {
    const t = await start({ glossaryId: 'gl-1' });
    expect(await t.translate('The cat is black.', req())).toBe('El gato es negro.');
    expect(double!.translateRequests[0]).toMatchObject({
      parent: 'projects/tandem-test/locations/global',
      contents: ['The cat is black.'],
      mimeType: 'text/plain',
      sourceLanguageCode: 'en-US',
      targetLanguageCode: 'es-MX',
      glossaryConfig: { glossary: 'projects/tandem-test/locations/global/glossaries/gl-1' },
    });
    expect(await t.translate('Good morning', req())).toBe('es-MX: Good morning');
    expect(await t.translate('   ', req())).toBe('');
    expect(double!.translateRequests).toHaveLength(2);
  });

  it('directions configured alike share a gRPC channel, up to DIRECTIONS_PER_CHANNEL each', async () => {
    await start();
    await start();
    expect(sharedCount()).toBe(1);
    while (open.length < DIRECTIONS_PER_CHANNEL + 1) await start();
    expect(sharedCount()).toBe(2);
    // Every channel works: the last translator is on the second one.
    expect(await open.at(-1)!.translate('The cat is black.', req())).toBe('El gato es negro.');
    open.pop()!.release();
    expect(sharedCount()).toBe(1);
  });

  it('a refused key is unauthorized and not retried', async () => {
    const t = await start({ apiKey: 'wrong-key' });
    await expect(t.translate('hello', req())).rejects.toMatchObject({ code: 'unauthorized' });
    expect(double!.unauthenticated).toBe(1);
  });

  it('one UNAVAILABLE is retried within the deadline; RESOURCE_EXHAUSTED every time is overloaded', async () => {
    const t = await start();
    double!.setFault('translate', 'unavailable', 1);
    expect(await t.translate('The cat is black.', req())).toBe('El gato es negro.');
    expect(t.counts).toMatchObject({ succeeded: 1, failures: 0 });
    double!.setFault('translate', 'exhausted');
    await expect(t.translate('hello', req())).rejects.toMatchObject({ code: 'overloaded' });
    expect(t.counts.failures).toBe(1);
  });

  it('a stalled service meets the deadline (timeout); an abort cancels the call', async () => {
    const t = await start({ timeoutMs: 300 });
    double!.setFault('translate', 'stall');
    await expect(t.translate('hello', req())).rejects.toMatchObject({ code: 'timeout' });
    const ac = new AbortController();
    const pending = t.translate('hello', req(ac.signal));
    ac.abort();
    await expect(pending).rejects.toMatchObject({ code: 'aborted' });
  });

  it('an answer without translations is a failure, not an empty sentence', async () => {
    const t = await start();
    double!.setFault('translate', 'malformed', 1);
    await expect(t.translate('hello', req())).rejects.toMatchObject({ code: 'failed' });
  });

  it('a missing project is refused by the service as INVALID_ARGUMENT', async () => {
    const t = await start({ projectId: '' });
    await expect(t.translate('hello', req())).rejects.toMatchObject({ code: 'invalid_input' });
  });
});
