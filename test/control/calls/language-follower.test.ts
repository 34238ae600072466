import { describe, expect, it } from 'vitest';
import { logger } from '../../../common/src/logger.js';
import { LanguageFollower, type FollowedCall } from '../../../control/src/calls/language-follower.js';
import { parsePairTranslation, type PairTranslation } from '../../../engine/src/index.js';

const defaults = parsePairTranslation({ provider: { kind: 'tandem', url: 'ws://127.0.0.1:1/x' }, languages: { A: 'en', B: 'es' } });

function follower(lookup: (n: readonly string[]) => Promise<ReadonlyMap<string, string>>, calls: FollowedCall[], apply: (id: string, t: PairTranslation) => Promise<void>) {
  return new LanguageFollower({ lookup, defaults, calls: () => calls, apply, intervalMs: 600_000, log: logger('test.follower') });
}

describe('LanguageFollower', () => {
  it('applies a change once, fills sides without a language from the defaults, and leaves fixed sides alone', async () => {
    const applied: Array<[string, { A: string; B: string }]> = [];
    const call: FollowedCall = { pairId: 'p1', callerId: '1001', extB: '7001', fixed: { B: 'it' }, translation: { ...defaults, languages: { A: 'en', B: 'it' } } };
    const f = follower(
      (numbers) => Promise.resolve(new Map(numbers.map((n) => [n, n === '1001' ? 'de' : 'fr']))),
      [call],
      (id, t) => {
        applied.push([id, t.languages]);
        call.translation = t;
        return Promise.resolve();
      },
    );
    await f.round();
    await f.round();
    expect(applied).toEqual([['p1', { A: 'de', B: 'it' }]]);
    expect(f.counts).toMatchObject({ rounds: 2, changes: 1 });
    f.close();
  });

  it('a failed read or apply is counted; calls keep their languages and the next round tries again', async () => {
    let down = true;
    let refuse = true;
    const call: FollowedCall = { pairId: 'p1', callerId: null, extB: '7001', fixed: {}, translation: defaults };
    const f = follower(
      () => (down ? Promise.reject(new Error('db down')) : Promise.resolve(new Map([['7001', 'fr']]))),
      [call],
      (_id, t) => {
        if (refuse) return Promise.reject(new Error('pair gone'));
        call.translation = t;
        return Promise.resolve();
      },
    );
    await f.round();
    expect(f.counts).toMatchObject({ readFailures: 1, changes: 0 });
    down = false;
    await f.round();
    expect(f.counts).toMatchObject({ applyFailures: 1, changes: 0 });
    refuse = false;
    await f.round();
    expect(f.counts).toMatchObject({ changes: 1 });
    expect(call.translation.languages).toEqual({ A: 'en', B: 'fr' });
    f.close();
  });
});
