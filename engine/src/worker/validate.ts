import { isIP } from 'node:net';
import { EngineError } from '../session/errors.js';
import type { OpenPairRequest, UdpEndpoint } from './protocol.js';

const PAIR_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const EXTENSION = /^[0-9A-Za-z_+*#-]{1,32}$/;

/** Rejects malformed pair requests before any socket is bound. */
export function validateOpenPairRequest(request: OpenPairRequest): void {
  if (typeof request.pairId !== 'string' || !PAIR_ID.test(request.pairId)) {
    throw new EngineError('INVALID_PAIR', `invalid pairId ${JSON.stringify(request.pairId)}: 1-64 of [A-Za-z0-9_.-]`);
  }
  for (const [key, ext] of [['extA', request.extA], ['extB', request.extB]] as const) {
    if (typeof ext !== 'string' || !EXTENSION.test(ext)) {
      throw new EngineError('INVALID_PAIR', `invalid ${key} ${JSON.stringify(ext)} for pair ${request.pairId}`);
    }
  }
  if (request.transport !== undefined && request.transport !== 'rtp' && request.transport !== 'websocket') {
    throw new EngineError('INVALID_PAIR', `invalid transport ${JSON.stringify(request.transport)} for pair ${request.pairId}: 'rtp' or 'websocket'`);
  }
  if (request.transport === 'websocket' && (request.remoteA !== undefined || request.remoteB !== undefined)) {
    throw new EngineError('INVALID_PAIR', `pair ${request.pairId}: WebSocket legs connect with connectMedia; remoteA/remoteB are for RTP legs`);
  }
  if (request.remoteA) validateEndpoint(request.remoteA, 'remoteA');
  if (request.remoteB) validateEndpoint(request.remoteB, 'remoteB');
  if (request.latch !== undefined && typeof request.latch !== 'boolean') {
    throw new TypeError(`latch must be a boolean, got ${JSON.stringify(request.latch)}`);
  }
}

/** A chan_websocket media URL: ws:// or wss://. */
export function validateMediaUrl(url: unknown): string {
  if (typeof url !== 'string') throw new TypeError(`media url must be a string, got ${typeof url}`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`media url must be a ws:// or wss:// URL, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') throw new TypeError(`media url must be ws:// or wss://, got ${parsed.protocol}`);
  return url;
}

export function validateEndpoint(endpoint: UdpEndpoint, key: string): void {
  if (
    typeof endpoint.address !== 'string' ||
    // An IP literal, as UNICASTRTP_LOCAL_ADDRESS is: a host name would make every connect wait for DNS.
    isIP(endpoint.address) === 0 ||
    !Number.isInteger(endpoint.port) ||
    endpoint.port < 1 ||
    endpoint.port > 65535
  ) {
    throw new TypeError(`${key} must be { address: an IP address, port: 1-65535 }, got ${JSON.stringify(endpoint)}`);
  }
}
