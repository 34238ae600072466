/**
 * What happens to an originated channel after the 200, by endpoint behaviour
 * (s1, s1b, s3, s3b): Dial "", Ringing, answer into Stasis, busy, or the
 * originate timeout. One pending timer per channel, dropped when it is removed.
 */
import { randomInt } from 'node:crypto';
import { ev } from './events.js';
import { stasisLocation, type SimChannel } from './model.js';
import type { EndpointConfig } from './phones.js';
import type { SimState } from './state.js';

export class Dialer {
  readonly #state: SimState;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  /** Waiters for "this dial has settled" (an originate response held in events-first order). */
  readonly #settled = new Map<string, () => void>();

  constructor(state: SimState) {
    this.#state = state;
  }

  /** Runs `done` once the dial of `channelId` settles: StasisStart, busy, timeout or removal. */
  onSettled(channelId: string, done: () => void): void {
    this.#settled.set(channelId, done);
  }

  forgetSettled(channelId: string): void {
    this.#settled.delete(channelId);
  }

  /** Drops the channel's pending timer and tells its waiter the dial is over. */
  settle(channelId: string): void {
    const t = this.#timers.get(channelId);
    if (t) clearTimeout(t);
    this.#timers.delete(channelId);
    const done = this.#settled.get(channelId);
    this.#settled.delete(channelId);
    done?.();
  }

  start(ch: SimChannel, cfg: EndpointConfig, args: readonly string[], timeoutSec: number): void {
    const dialstring = ch.endpoint;
    this.#after(ch, this.#state.opts.dialDelayMs, () => {
      const ringsFirst = cfg.behaviour === 'noanswer' || (cfg.behaviour === 'answer' && (cfg.answerAfterMs ?? 200) > 0);
      // Recorded both ways in the same ms: Dial "" then Ringing (s1), or Ringing then Dial "" (s2).
      const ringBeforeDial = ringsFirst && this.#state.opts.eventOrder === 'random' && randomInt(0, 2) === 1;
      if (ringBeforeDial) this.#ring(ch, dialstring, false);
      this.#state.emit(ch, ev.dial(ch, '', dialstring));
      if (ringBeforeDial) this.#state.emit(ch, ev.dial(ch, 'RINGING', dialstring));
      const timeoutMs = timeoutSec < 0 ? Infinity : timeoutSec * 1000;
      switch (cfg.behaviour) {
        case 'busy':
          this.failBusy(ch);
          return;
        case 'answer': {
          const after = Math.max(0, cfg.answerAfterMs ?? 200);
          if (after > 0 && !ringBeforeDial) this.#ring(ch, dialstring);
          if (after >= timeoutMs) this.#after(ch, timeoutMs, () => this.#timeout(ch));
          else this.#after(ch, after, () => this.#answer(ch, dialstring, args));
          return;
        }
        case 'noanswer':
        case 'unreachable':
          if (cfg.behaviour === 'noanswer' && !ringBeforeDial) this.#ring(ch, dialstring);
          if (Number.isFinite(timeoutMs)) this.#after(ch, timeoutMs, () => this.#timeout(ch));
          return;
        case 'nocontact':
          return; // refused before a channel existed
      }
    });
  }

  /** s3b busy (also a ringing phone that rejects): HangupRequest 17/486, Dial BUSY, ChannelDestroyed 17/486. */
  failBusy(ch: SimChannel): void {
    this.#state.emit(ch, ev.hangupRequest(ch, { cause: 17, techCause: 486 }));
    this.#state.emit(ch, ev.dial(ch, 'BUSY', ch.endpoint));
    this.#state.emit(ch, ev.destroyed(ch, 17, 486));
    this.#state.remove(ch);
  }

  close(): void {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    const waiters = [...this.#settled.values()];
    this.#settled.clear();
    for (const done of waiters) done();
  }

  #after(ch: SimChannel, ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(ch.id);
      if (!this.#state.closed && !ch.hungUp) fn();
    }, ms);
    this.#timers.set(ch.id, t);
  }

  #ring(ch: SimChannel, dialstring: string, withDial = true): void {
    ch.state = 'Ringing';
    this.#state.emit(ch, ev.stateChange(ch));
    if (withDial) this.#state.emit(ch, ev.dial(ch, 'RINGING', dialstring));
  }

  #answer(ch: SimChannel, dialstring: string, args: readonly string[]): void {
    ch.state = 'Up';
    this.#state.emit(ch, ev.stateChange(ch));
    this.#state.emit(ch, ev.dial(ch, 'ANSWER', dialstring));
    ch.dialplan = stasisLocation(ch.dialplan, ch.app, args);
    ch.inStasis = true;
    ch.vars.set('STASISSTATUS', '');
    this.#state.emit(ch, ev.varset(ch, 'STASISSTATUS', ''));
    this.#state.emit(ch, ev.stasisStart(ch, args));
    this.settle(ch.id);
  }

  /** s3/s3b: at the originate timeout only ChannelDestroyed 19/480; no HangupRequest, no final Dial. */
  #timeout(ch: SimChannel): void {
    this.#state.emit(ch, ev.destroyed(ch, 19, 480));
    this.#state.remove(ch);
  }
}
