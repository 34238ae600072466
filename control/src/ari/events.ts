import { z } from 'zod';
import { bridgeSchema, channelSchema } from './models.js';

/**
 * ARI WebSocket events, parsed once into a discriminated union. Only the
 * events Tandem acts on are modelled; everything else becomes `Other` so a new
 * Asterisk event type can never break the dispatcher.
 */
const base = { timestamp: z.string().optional(), application: z.string().optional() };

const stasisStart = z.looseObject({ type: z.literal('StasisStart'), ...base, args: z.array(z.string()), channel: channelSchema, replace_channel: channelSchema.optional() });
const stasisEnd = z.looseObject({ type: z.literal('StasisEnd'), ...base, channel: channelSchema });
const hangupRequest = z.looseObject({ type: z.literal('ChannelHangupRequest'), ...base, channel: channelSchema, cause: z.number().optional(), soft: z.boolean().optional() });
const destroyed = z.looseObject({ type: z.literal('ChannelDestroyed'), ...base, channel: channelSchema, cause: z.number(), cause_txt: z.string() });
const stateChange = z.looseObject({ type: z.literal('ChannelStateChange'), ...base, channel: channelSchema });
const dial = z.looseObject({ type: z.literal('Dial'), ...base, peer: channelSchema, dialstatus: z.string(), caller: channelSchema.optional() });
const enteredBridge = z.looseObject({ type: z.literal('ChannelEnteredBridge'), ...base, bridge: bridgeSchema, channel: channelSchema.optional() });
const leftBridge = z.looseObject({ type: z.literal('ChannelLeftBridge'), ...base, bridge: bridgeSchema, channel: channelSchema });
const bridgeDestroyed = z.looseObject({ type: z.literal('BridgeDestroyed'), ...base, bridge: bridgeSchema });
const applicationReplaced = z.looseObject({ type: z.literal('ApplicationReplaced'), ...base });

const known = z.discriminatedUnion('type', [
  stasisStart,
  stasisEnd,
  hangupRequest,
  destroyed,
  stateChange,
  dial,
  enteredBridge,
  leftBridge,
  bridgeDestroyed,
  applicationReplaced,
]);

export type AriKnownEvent = z.infer<typeof known>;
export type AriOtherEvent = { type: 'Other'; originalType: string };
export type AriEvent = AriKnownEvent | AriOtherEvent;
export type AriEventType = AriKnownEvent['type'];

const KNOWN_TYPES = new Set<string>(known.options.map((o) => o.shape.type.value));

export class AriEventParseError extends Error {
  override readonly name = 'AriEventParseError';
  readonly code = 'BAD_EVENT';
}

/** Parses one WebSocket message (text or already-decoded JSON). Throws AriEventParseError for malformed known events. */
export function parseAriEvent(raw: unknown): AriEvent {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw) as unknown;
    } catch {
      throw new AriEventParseError('ARI event is not JSON');
    }
  }
  if (typeof value !== 'object' || value === null || typeof (value as { type?: unknown }).type !== 'string') {
    throw new AriEventParseError('ARI event has no type');
  }
  const type = (value as { type: string }).type;
  if (!KNOWN_TYPES.has(type)) return { type: 'Other', originalType: type };
  const result = known.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new AriEventParseError(`ARI ${type} event is malformed at ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? ''}`);
  }
  return result.data;
}
