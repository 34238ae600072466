/**
 * The text side of Asterisk's WebSocket media channel (chan_websocket, Asterisk
 * 22.6+/21.11+/20.16+), as its source writes it (docs/wideband-media.md):
 * every control message is one TEXT frame; binary frames carry raw audio only.
 *
 * Asterisk writes its events in one of two formats, chosen in chan_websocket.conf
 * (`control_message_format`, default plain text) or per channel (`f(json)` in
 * the dial string):
 *   plain:  `MEDIA_START connection_id:<uuid> channel:<name> channel_id:<id> format:slin16 optimal_frame_size:640 ptime:20`
 *   json:   `{"event":"MEDIA_START","connection_id":"<uuid>",...,"optimal_frame_size":640,"ptime":20,"channel_variables":{...}}`
 * Events without data are the bare name (`MEDIA_XOFF`) or `{"event":"MEDIA_XOFF","channel_id":...}`.
 * Both are parsed here, so Tandem works whichever the operator configured.
 */
import type { RawData } from 'ws';
import type { MediaStartInfo } from '../worker/protocol.js';

/** Events Asterisk sends on the media WebSocket. */
export type ChanWebSocketEvent =
  | 'MEDIA_START'
  | 'MEDIA_XOFF'
  | 'MEDIA_XON'
  | 'MEDIA_BUFFERING_COMPLETED'
  | 'MEDIA_MARK_PROCESSED'
  | 'QUEUE_DRAINED'
  | 'DTMF_END'
  | 'STATUS'
  | 'ERROR';

const EVENTS: ReadonlySet<string> = new Set<ChanWebSocketEvent>([
  'MEDIA_START',
  'MEDIA_XOFF',
  'MEDIA_XON',
  'MEDIA_BUFFERING_COMPLETED',
  'MEDIA_MARK_PROCESSED',
  'QUEUE_DRAINED',
  'DTMF_END',
  'STATUS',
  'ERROR',
]);

/**
 * Commands Asterisk accepts (case-sensitive, one TEXT frame each; longer than
 * 128 bytes is ignored with a warning). Tandem sends none today: it paces its
 * own frames and never needs Asterisk to buffer, flush or pause.
 */
export type ChanWebSocketCommand =
  | 'ANSWER'
  | 'HANGUP'
  | 'START_MEDIA_BUFFERING'
  | 'STOP_MEDIA_BUFFERING'
  | 'MARK_MEDIA'
  | 'FLUSH_MEDIA'
  | 'PAUSE_MEDIA'
  | 'CONTINUE_MEDIA'
  | 'GET_STATUS'
  | 'REPORT_QUEUE_DRAINED';

/** A parsed control message: the event and its fields (values as text, as the plain format has them). */
export interface ControlMessage {
  readonly event: ChanWebSocketEvent;
  readonly fields: Readonly<Record<string, string>>;
}

/** Longest text message Tandem reads (a MEDIA_START with channel variables in JSON can be long). */
export const MAX_CONTROL_MESSAGE_BYTES = 16 * 1024;

/** A text message as a string, or null when it is longer than any control message. */
export function rawText(data: RawData): string | null {
  const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
  if (buffer.length > MAX_CONTROL_MESSAGE_BYTES) return null;
  return buffer.toString('utf8');
}

/** The control message in `text`, or null when it is not one of chan_websocket's events. Never throws. */
export function parseControlMessage(text: string): ControlMessage | null {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) return parseJson(trimmed);
  const tokens = trimmed.split(/\s+/);
  const event = tokens[0];
  if (event === undefined || !EVENTS.has(event)) return null;
  const fields: Record<string, string> = {};
  for (const token of tokens.slice(1)) {
    const colon = token.indexOf(':');
    // MEDIA_BUFFERING_COMPLETED / MEDIA_MARK_PROCESSED carry a bare correlation id.
    if (colon <= 0) fields['correlation_id'] = token;
    else fields[token.slice(0, colon)] = token.slice(colon + 1);
  }
  return { event: event as ChanWebSocketEvent, fields };
}

function parseJson(text: string): ControlMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  const event = record['event'];
  if (typeof event !== 'string' || !EVENTS.has(event)) return null;
  const fields: Record<string, string> = {};
  for (const [key, v] of Object.entries(record)) {
    if (key === 'event') continue;
    if (typeof v === 'string') fields[key] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') fields[key] = String(v);
  }
  return { event: event as ChanWebSocketEvent, fields };
}

/** MEDIA_START's fields as MediaStartInfo, or a reason why they are unusable. */
export function mediaStartInfo(message: ControlMessage): MediaStartInfo | string {
  if (message.event !== 'MEDIA_START') return `expected MEDIA_START, got ${message.event}`;
  const f = message.fields;
  const optimalFrameSize = Number(f['optimal_frame_size']);
  const ptimeMs = Number(f['ptime'] ?? '20');
  const connectionId = f['connection_id'];
  const format = f['format'];
  if (connectionId === undefined || connectionId === '') return 'MEDIA_START without connection_id';
  if (format === undefined || format === '') return 'MEDIA_START without format';
  if (!Number.isInteger(optimalFrameSize) || optimalFrameSize <= 0) return `MEDIA_START with optimal_frame_size ${String(f['optimal_frame_size'])}`;
  if (!Number.isInteger(ptimeMs) || ptimeMs <= 0) return `MEDIA_START with ptime ${String(f['ptime'])}`;
  return { connectionId, channel: f['channel'] ?? '', channelId: f['channel_id'] ?? null, format, optimalFrameSize, ptimeMs };
}
