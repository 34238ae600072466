/**
 * What the streaming recognizer adapters (Deepgram, Azure Speech) share under
 * their protocols: the leg's audio in the codec the services take (µ-law at
 * 8 kHz, s16le at 16 kHz, so nothing is resampled), the WsConnection events
 * every recognizer reports the same way, and the counted, rate-limited
 * complaint about a message that is not protocol.
 */
import type { Logger } from '../../../../common/src/logger.js';
import type { TypedEmitter } from '../../../../common/src/typed-emitter.js';
import { encodeUlaw } from '../../codec/index.js';
import { writeS16LE } from '../providers/provider-stage.js';
import type { WsConnection, WsDownInfo } from '../providers/ws-connection.js';
import type { CascadeRecognizerEvents } from './types.js';

/** Bytes `samples` take on the wire at the leg's rate. */
export const wireBytes = (samples: number, rate: 8000 | 16000): number => (rate === 8000 ? samples : 2 * samples);

/** Writes the samples into `out` (at least wireBytes long) in the leg's wire codec; returns the byte count. */
export function encodeForWire(pcm: Int16Array, samples: number, rate: 8000 | 16000, out: Buffer): number {
  if (rate === 8000) encodeUlaw(pcm, samples, out, 0);
  else writeS16LE(pcm, samples, out);
  return wireBytes(samples, rate);
}

/**
 * Reports the connection's failures, drops and listener errors as the
 * recognizer's own events; `onDown` runs first (to finish what the lost
 * socket had half-recognized), and a drop of an open socket counts as a
 * disconnect.
 */
export function forwardConnection<F extends string>(
  conn: WsConnection<F>,
  recognizer: TypedEmitter<CascadeRecognizerEvents>,
  counts: { disconnects: number },
  onDown: (info: WsDownInfo) => void,
): void {
  conn
    .on('failure', (f) => recognizer.safeEmit('error', f.code, f.message))
    .on('down', (info) => {
      onDown(info);
      if (info.opened) {
        counts.disconnects++;
        recognizer.safeEmit('connection', 'disconnected', `${info.code} ${info.reason}${info.willReconnect ? ' (reconnecting)' : ''}`);
      }
    })
    .on('listenererror', (event, err) => recognizer.safeEmit('listenererror', event, err));
}

/** A message that is not protocol: counted, logged only for the first few (a garbage-spewing service must not flood the log), reported. */
export function complain(log: Logger, service: string, counts: { badMessages: number }, recognizer: TypedEmitter<CascadeRecognizerEvents>, message: string): void {
  if (counts.badMessages++ < 10) log.warn({ detail: message }, `${service} sent a message that is not protocol`);
  recognizer.safeEmit('error', 'protocol', message);
}
