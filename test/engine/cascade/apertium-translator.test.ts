import { afterEach, describe, expect, it } from 'vitest';
import { ApertiumService, apertiumPair, escapeApertium, unescapeApertium } from '../../../engine/src/pipeline/cascade/apertium-translator.js';
import { ProviderError } from '../../../engine/src/pipeline/providers/types.js';

const options = { modesDir: '/usr/share/apertium/modes', requestTimeoutMs: 30_000, maxInFlight: 8, languageCodes: {} };
const req = (signal = new AbortController().signal) => ({ sourceLanguage: 'en-US', targetLanguage: 'es-MX', signal });

describe('ApertiumService', () => {
  let service: ApertiumService | null = null;
  afterEach(() => service?.close());

  it('maps BCP 47 tags to Apertium pairs and refuses unknown languages', () => {
    expect(apertiumPair('en-US', 'es-MX')).toBe('eng-spa');
    expect(() => apertiumPair('xx', 'es')).toThrow(ProviderError);
  });

  it('escapes reserved stream characters and round-trips them', () => {
    const text = 'a [b] ^c$ d/e <f> @g {h} \\i *j';
    expect(escapeApertium(text)).not.toMatch(/(^|[^\\])[[\]^$/<>@{}*]/);
    expect(unescapeApertium(escapeApertium(text))).toBe(text);
    expect(escapeApertium('one\ntwo\0three')).toBe('one two three');
  });

  it('translates sentences one after another through one long-lived pipeline', async () => {
    service = new ApertiumService(options);
    const first = await service.translate('The cat is black.', req());
    expect(first.toLowerCase()).toContain('gato');
    // The second answer must not wait for a third sentence (null flush end to end).
    const second = await service.translate('Good morning.', req());
    expect(second.toLowerCase()).toContain('buenos');
    const both = await Promise.all([service.translate('I need a doctor.', req()), service.translate('The house is big.', req())]);
    expect(both[0]!.toLowerCase()).toContain('necesito');
    expect(both[1]!.toLowerCase()).toContain('casa');
    expect(service.stats()['eng-spa']).toMatchObject({ calls: 4, answers: 4, restarts: 0 });
  }, 60_000);

  it('an aborted call keeps its place and the next call gets its own answer', async () => {
    service = new ApertiumService(options);
    const abort = new AbortController();
    const aborted = service.translate('The dog is white.', req(abort.signal));
    abort.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'aborted' });
    const next = await service.translate('The house is big.', req());
    expect(next.toLowerCase()).toContain('casa');
  }, 60_000);

  it('refuses a pair that is not installed, with a clear code', async () => {
    service = new ApertiumService(options);
    await expect(service.translate('hello', { ...req(), targetLanguage: 'ja' })).rejects.toMatchObject({ code: 'unsupported_language' });
  });

  it('a pipeline that never answers is restarted and its calls fail with timeout', async () => {
    // A mode whose pipeline swallows input and never writes: the stand-in for a stuck stage. (Each
    // program of a mode gets apertium's -z, so it must be one that takes it: `cat -z` would exit at once.)
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'apertium-modes-'));
    writeFileSync(join(dir, 'eng-spa.mode'), 'sed -n ""\n');
    service = new ApertiumService({ ...options, modesDir: dir, requestTimeoutMs: 300 });
    await expect(service.translate('hello', req())).rejects.toMatchObject({ code: 'timeout' });
    expect(service.stats()['eng-spa']!.restarts).toBe(1);
  }, 30_000);
});
