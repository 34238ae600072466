/**
 * How a WebSocket leg reaches chan_websocket: the URL it may connect to, the
 * client's options, and whether the MEDIA_START that answers fits the leg.
 */
import { WebSocket } from 'ws';
import type { Codec } from '../codec/index.js';
import type { MediaStartInfo } from '../worker/protocol.js';

/** Largest message accepted from Asterisk (its own limit is 65500 bytes, docs/wideband-media.md). */
const MAX_PAYLOAD_BYTES = 65536;

/** `url` parsed, or the TypeError saying why it is not a ws:// or wss:// URL. */
export function mediaUrl(url: string): URL | TypeError {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return new TypeError(`media URL must be ws:// or wss://, got ${JSON.stringify(url)}`);
  }
  if (target.protocol !== 'ws:' && target.protocol !== 'wss:') {
    return new TypeError(`media URL must be ws:// or wss://, got ${target.protocol}`);
  }
  return target;
}

/** A client connection to Asterisk's media channel; the upgrade must finish within `handshakeTimeoutMs`. */
export function openMediaWebSocket(target: URL, handshakeTimeoutMs: number): WebSocket {
  return new WebSocket(target, {
    // Asterisk offers no permessage-deflate; not offering it saves the negotiation.
    perMessageDeflate: false,
    handshakeTimeout: handshakeTimeoutMs,
    maxPayload: MAX_PAYLOAD_BYTES,
    followRedirects: false,
  });
}

/** Why Asterisk's channel (its MEDIA_START) does not carry this leg's format; null when it does. */
export function mediaStartMismatch(info: MediaStartInfo, codec: Codec): string | null {
  if (info.format === codec.name && info.optimalFrameSize === codec.frameBytes && info.ptimeMs === 20) return null;
  return (
    `Asterisk's channel speaks ${info.format} (${info.optimalFrameSize} bytes per ${info.ptimeMs} ms), ` +
    `this leg ${codec.name} (${codec.frameBytes} bytes per 20 ms)`
  );
}
