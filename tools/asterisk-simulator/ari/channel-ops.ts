/**
 * Channel operations and phone actions, with the status codes, bodies and
 * event sequences of the recordings (s1, s2, s3, s3b, s6): the caller entering
 * Stasis, originate, externalMedia, hangup by the phone or by ARI, variables, mute.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { logger } from '../../../common/src/logger.js';
import { hangupReasons } from './description.js';
import type { Dialer } from './dialer.js';
import { ev } from './events.js';
import { ExternalMediaOps } from './external-media-ops.js';
import type { AudioSource } from './media.js';
import { channelJson, outgoingLine, stasisLocation, type CallerId, type SimChannel } from './model.js';
import type { RequestParams } from './params.js';
import { PhoneAudio, type EndpointConfig } from './phones.js';
import { fail, noContent, ok, type Reply } from './reply.js';
import { hangupInStasis } from './stasis-lifecycle.js';
import type { SimState } from './state.js';

const log = logger('simulator.ari.channels');

/** In events-first order, the longest an originate response waits for its StasisStart. */
const MAX_ORIGINATE_HOLD_MS = 1000;

const REASON_CAUSE: Readonly<Record<string, number>> = {
  normal: 16,
  busy: 17,
  congestion: 34,
  no_answer: 19,
  timeout: 18,
  rejected: 21,
  unallocated: 1,
  normal_unspecified: 31,
  number_incomplete: 28,
  codec_mismatch: 58,
  interworking: 127,
  failure: 38,
  answered_elsewhere: 26,
};

export interface PlaceCallOptions {
  /** The caller's number (CALLERID(num)), also the Stasis argument. */
  readonly callerNumber: string;
  readonly callerName?: string;
  readonly exten?: string;
  readonly app?: string;
  readonly context?: string;
  /** Stasis arguments; default `[callerNumber]` (dialplan `Stasis(app,${CALLERID(num)})`). */
  readonly args?: readonly string[];
  readonly audio?: AudioSource;
}

export interface PlacedCall {
  readonly channelId: string;
  /** False when no WebSocket was connected for the app: Stasis() failed and the call ended at once. */
  readonly enteredStasis: boolean;
}

export class ChannelOps {
  readonly #state: SimState;
  readonly #dialer: Dialer;
  readonly #endpoints: ReadonlyMap<string, EndpointConfig>;
  readonly #holds = new Set<NodeJS.Timeout>();
  readonly #externalMedia: ExternalMediaOps;

  constructor(state: SimState, dialer: Dialer, endpoints: ReadonlyMap<string, EndpointConfig>) {
    this.#state = state;
    this.#dialer = dialer;
    this.#endpoints = endpoints;
    this.#externalMedia = new ExternalMediaOps(state);
  }

  // --- phones ---------------------------------------------------------------------

  /** A phone calls `exten`; the dialplan answers and runs `Stasis(app, callerNumber)`. */
  placeCall(opts: PlaceCallOptions): PlacedCall {
    const s = this.#state;
    const app = opts.app ?? 'pair_session';
    const args = [...(opts.args ?? [opts.callerNumber])];
    const id = s.uniqueId();
    const base = { context: opts.context ?? 'from-sipp', exten: opts.exten ?? '1000', priority: 2, app_name: '', app_data: '' };
    const ch = s.newChannel({
      id,
      name: s.pjsipName(opts.callerNumber),
      kind: 'caller',
      protocolId: `${randomInt(1, 100000)}-${randomInt(1, 100000)}@127.0.0.1`,
      app,
      endpoint: opts.callerNumber,
      state: 'Up',
      caller: { name: opts.callerName ?? opts.callerNumber, number: opts.callerNumber },
      dialplan: stasisLocation(base, app, args),
    });
    s.phones.set(id, new PhoneAudio(opts.audio, s.opts.maxHeardSeconds));
    if (!s.apps.isConnected(app)) {
      // Stasis() to an app with no WebSocket fails and the dialplan hangs up: nothing reaches ARI.
      log.debug({ app, channelId: id }, 'call to an app with no WebSocket: Stasis failed');
      s.retirePhone(id);
      return { channelId: id, enteredStasis: false };
    }
    s.channels.set(id, ch);
    ch.inStasis = true;
    ch.subscribed = true;
    s.emit(ch, ev.stasisStart(ch, args));
    return { channelId: id, enteredStasis: true };
  }

  /** The phone on this channel hangs up (BYE); a ringing originated leg rejects (486). */
  phoneHangup(channelId: string): boolean {
    const ch = this.#state.channels.get(channelId);
    if (!ch || ch.kind === 'external') return false;
    if (ch.kind === 'originated' && !ch.inStasis) this.#dialer.failBusy(ch);
    else hangupInStasis(this.#state, ch, { byPhone: true, cause: 16 });
    return true;
  }

  // --- REST -------------------------------------------------------------------------

  list(): Reply {
    return ok([...this.#state.channels.values()].map((c) => channelJson(c)));
  }

  get(p: RequestParams): Reply {
    const ch = this.#find(p);
    return ch ? ok(channelJson(ch)) : fail(404, 'Channel not found');
  }

  answer(p: RequestParams): Reply {
    const ch = this.#find(p);
    if (!ch) return fail(404, 'Channel not found');
    if (!ch.inStasis) return fail(409, 'Channel not in Stasis application');
    // Observed: answering an already-answered channel gives 204 and no event.
    return noContent();
  }

  getVar(p: RequestParams): Reply {
    const name = p.get('variable');
    if (name === undefined) return fail(400, 'Variable name is required');
    const ch = this.#find(p);
    if (!ch) return fail(404, 'Channel not found');
    const value = ch.vars.get(name);
    return value === undefined ? fail(404, 'Provided variable was not found', 'Variable Not Found') : ok({ value });
  }

  setVar(p: RequestParams): Reply {
    const name = p.get('variable');
    if (name === undefined) return fail(400, 'Variable name is required');
    const ch = this.#find(p);
    if (!ch) return fail(404, 'Channel not found');
    const value = p.get('value') ?? '';
    ch.vars.set(name, value);
    return this.#state.ordered(noContent(), () => this.#state.emit(ch, ev.varset(ch, name, value)));
  }

  mute(p: RequestParams, mute: boolean): Reply {
    const direction = p.get('direction') ?? 'both';
    if (direction !== 'both' && direction !== 'in' && direction !== 'out') return fail(400, 'Invalid direction specified');
    const ch = this.#find(p);
    if (!ch) return fail(404, 'Channel not found');
    if (!ch.inStasis) return fail(409, 'Channel not in Stasis application');
    // s4: `in` silences what the phone sends into the bridge (its externalMedia gets nothing), `out` what it hears.
    if (direction !== 'out') ch.muteIn = mute;
    if (direction !== 'in') ch.muteOut = mute;
    return noContent();
  }

  originate(p: RequestParams, channelId: string | undefined): Reply | Promise<Reply> {
    const s = this.#state;
    const endpoint = p.get('endpoint');
    if (endpoint === undefined) return fail(400, 'Endpoint must be specified');
    const slash = endpoint.indexOf('/');
    if (slash <= 0 || slash === endpoint.length - 1) return fail(400, 'Invalid endpoint specified');
    const app = p.get('app');
    if (app === undefined) return fail(400, 'The simulator supports only originates into a Stasis app (app=...)');
    if (channelId !== undefined && s.channels.has(channelId)) return fail(409, 'Channel with given unique ID already exists');
    const tech = endpoint.slice(0, slash);
    const resource = endpoint.slice(slash + 1);
    const cfg = this.#endpoints.get(resource);
    // Observed (s3, s6): unknown tech, unknown endpoint, endpoint without contact: 500, no events.
    if (tech.toUpperCase() !== 'PJSIP' || !cfg || cfg.behaviour === 'nocontact') {
      return { status: 500, body: { error: 'Allocation failed' } };
    }
    const timeoutSec = parseTimeout(p.get('timeout'));
    const appArgs = p.get('appArgs');
    const args = appArgs === undefined ? [] : appArgs.split(',');
    const id = channelId ?? s.uniqueId();
    const ch = s.newChannel({
      id,
      name: s.pjsipName(resource),
      kind: 'originated',
      protocolId: randomUUID(),
      app,
      endpoint: resource,
      state: 'Down',
      caller: parseCallerId(p.get('callerId')) ?? cfg.callerId ?? { name: '', number: '' },
      dialplan: outgoingLine(cfg.context ?? 'default'),
    });
    for (const [k, v] of Object.entries(p.variables ?? {})) ch.vars.set(k, v);
    ch.subscribed = true; // the originate's app is subscribed at once
    s.channels.set(id, ch);
    s.phones.set(id, new PhoneAudio(cfg.behaviour === 'answer' ? cfg.audio : undefined, s.opts.maxHeardSeconds));
    const body = channelJson(ch);
    if (!s.eventsFirst()) return { ...ok(body), afterResponse: () => this.#dialer.start(ch, cfg, args, timeoutSec) };
    // Racing order: hold the response until the dial settles (StasisStart, busy,
    // timeout, DELETE), but no longer than Asterisk would plausibly take.
    return new Promise<Reply>((resolve) => {
      const reply: Reply = { ...ok(body), eventsFirst: true };
      const cap = setTimeout(() => {
        this.#holds.delete(cap);
        this.#dialer.forgetSettled(id);
        resolve(reply);
      }, MAX_ORIGINATE_HOLD_MS);
      this.#holds.add(cap);
      this.#dialer.onSettled(id, () => {
        clearTimeout(cap);
        this.#holds.delete(cap);
        resolve(reply);
      });
      this.#dialer.start(ch, cfg, args, timeoutSec);
    });
  }

  externalMedia(p: RequestParams): Reply | Promise<Reply> {
    return this.#externalMedia.externalMedia(p);
  }

  hangup(p: RequestParams): Reply {
    const reasonCode = p.get('reason_code');
    const reason = p.get('reason');
    let cause = 16;
    if (reasonCode !== undefined) {
      const n = Number.parseInt(reasonCode, 10);
      if (!Number.isFinite(n) || n < 0) return fail(400, 'Invalid reason for hangup provided');
      cause = n;
    } else if (reason !== undefined) {
      if (!hangupReasons.includes(reason)) return fail(400, 'Invalid reason for hangup provided');
      cause = REASON_CAUSE[reason] ?? 16;
    }
    const ch = this.#find(p);
    if (!ch) return fail(404, 'Channel not found');
    const s = this.#state;
    if (ch.kind === 'originated' && !ch.inStasis) {
      // s3b: DELETE while ringing: HangupRequest 32 soft, Dial NOANSWER, ChannelDestroyed.
      s.remove(ch);
      return s.ordered(noContent(), () => {
        s.emit(ch, ev.hangupRequest(ch, { cause: 32, soft: true }));
        s.emit(ch, ev.dial(ch, 'NOANSWER', ch.endpoint));
        s.emit(ch, ev.destroyed(ch, cause));
      });
    }
    return s.ordered(noContent(), () => hangupInStasis(this.#state, ch, { byPhone: false, cause }));
  }

  close(): void {
    for (const t of this.#holds) clearTimeout(t);
    this.#holds.clear();
    this.#externalMedia.close();
  }

  #find(p: RequestParams): SimChannel | undefined {
    return this.#state.channels.get(p.path['channelId'] ?? '');
  }
}

/** Asterisk reads `timeout` with atoi: -1 = no timeout, anything not positive = the default 30 s. */
function parseTimeout(raw: string | undefined): number {
  if (raw === undefined) return 30;
  const n = Number.parseInt(raw, 10);
  if (n === -1) return -1;
  return Number.isFinite(n) && n > 0 ? n : 30;
}

/** `"Name" <number>`, `Name <number>` or a bare number. */
function parseCallerId(raw: string | undefined): CallerId | undefined {
  if (raw === undefined) return undefined;
  const m = /^\s*"?([^"<]*?)"?\s*<([^>]*)>\s*$/.exec(raw);
  if (m) return { name: m[1] ?? '', number: m[2] ?? '' };
  return { name: '', number: raw.trim() };
}
