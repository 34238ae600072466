import { z } from 'zod';

/**
 * The parts of ARI's Channel and Bridge models Tandem reads, validated once at
 * the boundary. Unknown extra fields pass through untouched (Asterisk adds
 * fields between versions); missing required ones are a parse error.
 */
export const callerIdSchema = z.object({ name: z.string(), number: z.string() });

export const channelSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  state: z.string(),
  caller: callerIdSchema.optional(),
  connected: callerIdSchema.optional(),
  dialplan: z
    .looseObject({ context: z.string(), exten: z.string(), priority: z.number(), app_name: z.string().optional(), app_data: z.string().optional() })
    .optional(),
  creationtime: z.string().optional(),
  /** Present on the externalMedia POST response only (not on GET /channels). */
  channelvars: z.record(z.string(), z.string()).optional(),
});
export type AriChannel = z.infer<typeof channelSchema>;

export const bridgeSchema = z.looseObject({
  id: z.string(),
  name: z.string().optional(),
  technology: z.string().optional(),
  bridge_type: z.string().optional(),
  bridge_class: z.string().optional(),
  channels: z.array(z.string()),
});
export type AriBridge = z.infer<typeof bridgeSchema>;

export const applicationSchema = z.looseObject({
  name: z.string(),
  channel_ids: z.array(z.string()),
  bridge_ids: z.array(z.string()),
});
export type AriApplication = z.infer<typeof applicationSchema>;

/** True for the channels ARI externalMedia creates: UnicastRTP/<host:port>-<ptr>, or WebSocket/INCOMING/<ptr> (chan_websocket). */
export function isExternalMediaChannel(channel: Pick<AriChannel, 'name'>): boolean {
  return channel.name.startsWith('UnicastRTP/') || channel.name.startsWith('WebSocket/');
}
