import { z } from 'zod';
import { parseConfig } from '../../../common/src/parse-config.js';
import { PairTranslationSchema } from '../../../engine/src/index.js';

export const callConfigSchema = z
  .object({
    /** The Stasis application name, as in the dialplan's Stasis(pair_session,...). */
    app: z.string().min(1).default('pair_session'),
    /** externalMedia format of both legs; the engine decodes it. */
    format: z.enum(['ulaw', 'alaw', 'slin', 'slin16']).default('ulaw'),
    /**
     * How externalMedia reaches the engine: 'rtp' (UnicastRTP over UDP) or 'websocket'
     * (chan_websocket, Asterisk 22.6+ / 21.11+ / 20.16+: the engine connects to
     * `<mediaUrl><MEDIA_WEBSOCKET_CONNECTION_ID>`). 16 kHz needs 'websocket' (docs/wideband-media.md).
     */
    mediaTransport: z.enum(['rtp', 'websocket']).default('rtp'),
    /**
     * Where Asterisk serves media WebSockets, ending in `/media/` (`ws://<asterisk http>/media/`).
     * TandemNode derives it from the ARI URL; needed with mediaTransport 'websocket'.
     */
    mediaUrl: z
      .string()
      .regex(/^wss?:\/\/[^/]+\/(?:.*\/)?$/, 'must be a ws:// or wss:// URL ending in / (e.g. ws://127.0.0.1:8088/media/)')
      .optional(),
    /** Technology prefix for leg B's endpoint. */
    legBTechnology: z.string().min(1).default('PJSIP'),
    /** Seconds Asterisk rings leg B before giving up (originate timeout). */
    originateTimeoutSeconds: z.number().int().min(1).max(600).default(30),
    /** How long leg B may take to answer before the call is torn down (beyond the originate timeout, a safety net). */
    answerDeadlineMs: z.number().int().min(1000).max(900_000).default(45_000),
    /** Record every call to a 4-channel WAV (the engine's `recording.dir`). */
    record: z.boolean().default(false),
    /** Translation for every pair opened (languages, provider); omitted = transparent duplex. Changeable per pair while it runs. */
    translation: PairTranslationSchema.optional(),
  })
  .superRefine((config, ctx) => {
    const silent = silentMediaPath(config.format, config.mediaTransport);
    if (silent !== null) ctx.addIssue({ code: 'custom', path: ['format'], message: silent });
    if (config.mediaTransport === 'websocket' && config.mediaUrl === undefined) {
      ctx.addIssue({ code: 'custom', path: ['mediaUrl'], message: 'the websocket media transport needs the URL of Asterisk\'s media WebSockets (ws://<asterisk http>/media/)' });
    }
  });

export type CallConfig = z.output<typeof callConfigSchema>;
export type CallConfigInput = z.input<typeof callConfigSchema>;
export type MediaTransport = CallConfig['mediaTransport'];

export function parseCallConfig(input: unknown = {}): CallConfig {
  return parseConfig(callConfigSchema, input, 'calls');
}

/**
 * Why a format and transport would leave both parties in silence on a real
 * Asterisk, or null when they carry audio both ways (docs/wideband-media.md).
 * UnicastRTP (chan_rtp) gives its RTP instance no payload mapping, and Asterisk
 * falls back to its static table only for payload types 0–34 on receive, so it
 * sends a dynamic type (slin16 = 118) but drops every packet of it it receives.
 * `slin` has no static type at all: chan_rtp turns it into µ-law on the wire.
 */
export function silentMediaPath(format: CallConfig['format'], transport: MediaTransport): string | null {
  if (transport !== 'rtp') return null;
  if (format === 'slin16') {
    return (
      'Asterisk does not play slin16 received over RTP externalMedia (it sends payload type 118 but drops every ' +
      'packet of it it receives, so both parties would hear silence): use --codec ulaw, or the WebSocket media ' +
      'transport (--media websocket, TANDEM_MEDIA_TRANSPORT=websocket) for 16 kHz'
    );
  }
  if (format === 'slin') {
    return (
      'Asterisk sends and expects µ-law, not slin, on RTP externalMedia with format=slin (8 kHz slin has no static ' +
      'RTP payload type), so the engine would decode nothing: use --codec ulaw, or the WebSocket media transport ' +
      '(--media websocket) for linear audio'
    );
  }
  return null;
}

/** `ws://<host>/media/` for the ARI URL `http://<host>` (https → wss), where chan_websocket accepts connections. */
export function mediaUrlFromAriUrl(ariUrl: string): string {
  const url = new URL(ariUrl);
  const scheme = url.protocol === 'https:' ? 'wss:' : url.protocol === 'http:' ? 'ws:' : null;
  if (scheme === null) throw new TypeError(`ARI URL must be http:// or https://, got ${url.protocol}`);
  return `${scheme}//${url.host}/media/`;
}
