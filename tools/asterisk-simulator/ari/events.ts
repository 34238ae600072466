/**
 * ARI event JSON builders. Key order and optional fields follow the raw
 * messages Asterisk 22.10.1 sent (test/data/asterisk/*\/ari_events.jsonl):
 * e.g. ChannelVarset starts with `variable`/`value`, ChannelHangupRequest with
 * `cause`/`tech_cause`/`soft` when present and has no cause at all for a BYE.
 * `asterisk_id` and `application` are appended by the sender.
 */
import { asteriskTime, bridgeJson, channelJson, type BridgeJson, type ChannelJson, type SimBridge, type SimChannel } from './model.js';

export type AriEvent =
  | { type: 'StasisStart'; timestamp: string; args: string[]; channel: ChannelJson }
  | { type: 'StasisEnd'; timestamp: string; channel: ChannelJson }
  | { type: 'ChannelStateChange'; timestamp: string; channel: ChannelJson }
  | { type: 'ChannelConnectedLine'; timestamp: string; channel: ChannelJson }
  | { variable: string; value: string; type: 'ChannelVarset'; timestamp: string; channel: ChannelJson }
  | { type: 'Dial'; timestamp: string; dialstatus: DialStatus; forward: string; dialstring: string; peer: ChannelJson }
  | { cause?: number; tech_cause?: number; soft?: boolean; type: 'ChannelHangupRequest'; timestamp: string; channel: ChannelJson }
  | { type: 'ChannelDestroyed'; timestamp: string; cause: number; cause_txt: string; tech_cause?: number; channel: ChannelJson }
  | { type: 'ChannelEnteredBridge'; timestamp: string; bridge: BridgeJson; channel: ChannelJson }
  | { type: 'ChannelLeftBridge'; timestamp: string; bridge: BridgeJson; channel: ChannelJson }
  | { type: 'BridgeDestroyed'; timestamp: string; bridge: BridgeJson };

export type AriEventType = AriEvent['type'] | 'ApplicationReplaced';
export type DialStatus = '' | 'RINGING' | 'ANSWER' | 'BUSY' | 'NOANSWER' | 'CANCEL' | 'CHANUNAVAIL' | 'CONGESTION';

/** Q.850 cause texts as Asterisk prints them (ast_cause2str). */
const CAUSE_TEXT: Readonly<Record<number, string>> = {
  1: 'Unallocated (unassigned) number',
  16: 'Normal Clearing',
  17: 'User busy',
  18: 'No user responding',
  19: 'User alerting, no answer',
  21: 'Call Rejected',
  27: 'Destination out of order',
  31: 'Normal, unspecified',
  34: 'Circuit/channel congestion',
  38: 'Network out of order',
  41: 'Temporary failure',
  127: 'Interworking, unspecified',
};

export function causeText(cause: number): string {
  return CAUSE_TEXT[cause] ?? 'Unknown';
}

const now = (): string => asteriskTime();

export const ev = {
  stasisStart: (ch: SimChannel, args: readonly string[]): AriEvent => ({
    type: 'StasisStart',
    timestamp: now(),
    args: [...args],
    channel: channelJson(ch),
  }),
  stasisEnd: (ch: SimChannel): AriEvent => ({ type: 'StasisEnd', timestamp: now(), channel: channelJson(ch) }),
  stateChange: (ch: SimChannel): AriEvent => ({ type: 'ChannelStateChange', timestamp: now(), channel: channelJson(ch) }),
  connectedLine: (ch: SimChannel): AriEvent => ({ type: 'ChannelConnectedLine', timestamp: now(), channel: channelJson(ch) }),
  varset: (ch: SimChannel, variable: string, value: string): AriEvent => ({
    variable,
    value,
    type: 'ChannelVarset',
    timestamp: now(),
    channel: channelJson(ch),
  }),
  dial: (ch: SimChannel, dialstatus: DialStatus, dialstring: string): AriEvent => ({
    type: 'Dial',
    timestamp: now(),
    dialstatus,
    forward: '',
    dialstring,
    peer: channelJson(ch),
  }),
  /** No cause for a hangup from the far end (BYE); `soft` for ARI DELETE; `tech_cause` for SIP failures. */
  hangupRequest: (ch: SimChannel, opts: { cause?: number; techCause?: number; soft?: boolean } = {}): AriEvent => ({
    ...(opts.cause !== undefined ? { cause: opts.cause } : {}),
    ...(opts.techCause !== undefined ? { tech_cause: opts.techCause } : {}),
    ...(opts.soft !== undefined ? { soft: opts.soft } : {}),
    type: 'ChannelHangupRequest',
    timestamp: now(),
    channel: channelJson(ch),
  }),
  destroyed: (ch: SimChannel, cause: number, techCause?: number): AriEvent => ({
    type: 'ChannelDestroyed',
    timestamp: now(),
    cause,
    cause_txt: causeText(cause),
    ...(techCause !== undefined ? { tech_cause: techCause } : {}),
    channel: channelJson(ch),
  }),
  enteredBridge: (br: SimBridge, ch: SimChannel): AriEvent => ({
    type: 'ChannelEnteredBridge',
    timestamp: now(),
    bridge: bridgeJson(br),
    channel: channelJson(ch),
  }),
  leftBridge: (br: SimBridge, ch: SimChannel): AriEvent => ({
    type: 'ChannelLeftBridge',
    timestamp: now(),
    bridge: bridgeJson(br),
    channel: channelJson(ch),
  }),
  bridgeDestroyed: (br: SimBridge): AriEvent => ({ type: 'BridgeDestroyed', timestamp: now(), bridge: bridgeJson(br) }),
};
