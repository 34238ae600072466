import { ev } from './events.js';
import { outgoingLine, stasisLocation, type SimChannel } from './model.js';
import type { SimState } from './state.js';

// How a channel enters and leaves Stasis, with the recorded event sequences; shared by the phone, REST and
// external-media operations.

/** The dial is answered: Newstate Up, Dial ANSWER, STASISSTATUS cleared, StasisStart. */
export function answerIntoStasis(s: SimState, ch: SimChannel, dialstring: string): void {
  if (ch.hungUp || s.closed) return;
  ch.state = 'Up';
  s.emit(ch, ev.stateChange(ch));
  s.emit(ch, ev.dial(ch, 'ANSWER', dialstring));
  ch.dialplan = stasisLocation(ch.dialplan, ch.app, []);
  ch.inStasis = true;
  ch.vars.set('STASISSTATUS', '');
  s.emit(ch, ev.varset(ch, 'STASISSTATUS', ''));
  s.emit(ch, ev.stasisStart(ch, []));
}

/**
 * A channel in Stasis hangs up: HangupRequest (no cause for a BYE; 32 soft for
 * ARI), ChannelLeftBridge, StasisEnd, then for channels ARI created
 * STASISSTATUS=SUCCESS and ChannelDestroyed. A dialplan caller leaves the app at
 * StasisEnd, so its ChannelDestroyed is never delivered (s1, s2).
 */
export function hangupInStasis(s: SimState, ch: SimChannel, how: { byPhone: boolean; cause: number; requestCause?: number }): void {
  ch.hungUp = true;
  // A BYE carries no cause; an ARI DELETE is a soft hangup (32); a channel driver's own hangup carries its cause.
  const request = how.byPhone
    ? ev.hangupRequest(ch)
    : how.requestCause !== undefined
      ? ev.hangupRequest(ch, { cause: how.requestCause })
      : ev.hangupRequest(ch, { cause: 32, soft: true });
  s.emit(ch, request);
  s.leaveBridge(ch);
  if (ch.inStasis) {
    ch.inStasis = false;
    s.emit(ch, ev.stasisEnd(ch));
  }
  if (ch.kind === 'caller') {
    ch.subscribed = false;
  } else {
    ch.vars.set('STASISSTATUS', 'SUCCESS');
    s.emit(ch, ev.varset(ch, 'STASISSTATUS', 'SUCCESS'));
    ch.dialplan = outgoingLine(ch.dialplan.context);
    s.emit(ch, ev.destroyed(ch, how.cause));
  }
  s.remove(ch);
}
