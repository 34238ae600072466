import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logger } from '../../../common/src/logger.js';
import { callLanguages, pgExtensionLanguages } from '../../../control/src/calls/extension-languages.js';
import { pairTranslationFor, translationFromEnv } from '../../../control/src/calls/translation-settings.js';
import { ExtensionService } from '../../../control/src/realtime/extension-service.js';
import { createTestDb, type TestDb } from '../realtime/pg-test-db.js';

const log = logger('test.extension-languages');

describe('a call takes its languages from its parties extensions', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb({ migrate: true });
    const svc = new ExtensionService(db.pool);
    await svc.create({ number: '1001', password: 'Xk9-pQ2!vL', language: 'fr-CA' });
    await svc.create({ number: '7001', password: 'Xk9-pQ2!vL', language: 'de', kind: 'pair' });
    await svc.create({ number: '1002', password: 'Xk9-pQ2!vL' });
    svc.close();
  }, 60_000);
  afterAll(async () => db?.drop());

  it('reads A from the caller and B from the pair extension; the node default fills the rest', async () => {
    const lookup = pgExtensionLanguages(db.pool);
    const langs = await callLanguages(lookup, { caller: '1001', extB: '7001' }, {}, log);
    expect(langs).toEqual({ A: 'fr-CA', B: 'de' });
    const defaults = translationFromEnv({ TANDEM_TRANSLATE_PROVIDER: 'tandem', TANDEM_TRANSLATE_URL: 'ws://127.0.0.1:1/x', TANDEM_LANG_A: 'en', TANDEM_LANG_B: 'es' });
    expect(pairTranslationFor(defaults, langs)?.languages).toEqual({ A: 'fr-CA', B: 'de' });
    // An extension without a language, and an unknown caller, leave the default.
    const partly = await callLanguages(lookup, { caller: '1002', extB: '7001' }, {}, log);
    expect(pairTranslationFor(defaults, partly)?.languages).toEqual({ A: 'en', B: 'de' });
    expect(await callLanguages(lookup, { caller: null, extB: '9999' }, {}, log)).toEqual({});
  });

  it('the dialplan (or API) says otherwise: its languages win', async () => {
    const lookup = pgExtensionLanguages(db.pool);
    expect(await callLanguages(lookup, { caller: '1001', extB: '7001' }, { B: 'it' }, log)).toEqual({ A: 'fr-CA', B: 'it' });
  });

  it('a failing or silent lookup costs only the extension languages, never the call', async () => {
    const failing = (): Promise<ReadonlyMap<string, string>> => Promise.reject(new Error('db down'));
    expect(await callLanguages(failing, { caller: '1001', extB: '7001' }, { A: 'pt' }, log)).toEqual({ A: 'pt' });
    const silent = (): Promise<ReadonlyMap<string, string>> => new Promise(() => undefined);
    expect(await callLanguages(silent, { caller: '1001', extB: '7001' }, {}, log, 50)).toEqual({});
  });
});
