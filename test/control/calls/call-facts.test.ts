import { describe, expect, it } from 'vitest';
import { CallFacts } from '../../../control/src/calls/index.js';

describe('CallFacts: what a call record says, first value wins', () => {
  it('the first channel to leave ended the call; its cause may come on a later event (leg B: ChannelDestroyed)', () => {
    const f = new CallFacts(1000);
    f.answered(1500);
    f.answered(1600);
    f.partyLeft('legb', null, 5000); // ChannelHangupRequest without a cause
    f.partyLeft('caller', 32, 5010); // Tandem hangs the caller up: not who ended the call
    f.partyLeft('legb', 16, 5020); // ChannelDestroyed cause 16
    f.ending('legb-hangup', 5001);
    f.ending('shutdown', 6000);
    f.released(5100);
    expect(f).toMatchObject({ startedAt: 1000, answeredAt: 1500, endedAt: 5000, hangupBy: 'legb', hangupCause: 16, teardownReason: 'legb-hangup', releasedAt: 5100 });
  });

  it('without a channel event, the teardown reason says who ended it', () => {
    const caller = new CallFacts(0);
    caller.ending('caller-hangup', 10); // the caller's channel vanished under a setup request
    expect(caller).toMatchObject({ hangupBy: 'caller', endedAt: 10, hangupCause: null });
    const timer = new CallFacts(0);
    timer.ending('legb-no-answer', 45_000); // Tandem's answer deadline
    expect(timer.hangupBy).toBe('tandem');
    const busy = new CallFacts(0);
    busy.ending('legb-busy', 20);
    expect(busy.hangupBy).toBe('legb');
    const lost = new CallFacts(0);
    lost.ending('lease-lost', 20);
    lost.partyLeft('caller', null, 30); // hung up by Tandem afterwards
    expect(lost).toMatchObject({ hangupBy: 'tandem', endedAt: 20, hangupCause: null });
  });
});
