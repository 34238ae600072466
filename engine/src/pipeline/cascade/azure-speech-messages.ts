/**
 * The message framing of Azure AI Speech's WebSocket (the protocol the Speech
 * SDK speaks; read from microsoft-cognitiveservices-speech-sdk's
 * WebsocketMessageFormatter and SpeechConnectionMessage, and the service's
 * published "speech service WebSocket protocol" notes):
 *
 * - a text message is HTTP-like headers (`Name: value\r\n` each), an empty
 *   line, then the body: `Path: speech.config\r\nX-RequestId: <32 hex>\r\n
 *   X-Timestamp: <ISO>\r\nContent-Type: application/json\r\n\r\n{…}`;
 * - a binary message is a 2-byte big-endian header length, the same headers
 *   (ASCII), then the body (audio bytes); an audio message with no body ends
 *   the turn's audio.
 *
 * Header names are matched case-insensitively (the SDK lowercases them).
 * Shared by the recognizer and by the local double, which the tests check
 * against the SDK itself so the two cannot agree on a private mistake.
 */
import { randomUUID } from 'node:crypto';

export interface SpeechMessage {
  /** Lowercased path, e.g. `speech.phrase`. */
  path: string;
  requestId: string;
  contentType: string | null;
  /** Every header, names lowercased. */
  headers: Readonly<Record<string, string>>;
  /** A text message's body, or a binary message's bytes (empty when none). */
  body: string | Buffer;
}

/** The SDK's request ids: a UUID without dashes, uppercase. */
export function newRequestId(): string {
  return randomUUID().replaceAll('-', '').toUpperCase();
}

function headerBlock(path: string, requestId: string, contentType: string | null, extra: Readonly<Record<string, string>> = {}): string {
  let h = `Path: ${path}\r\nX-RequestId: ${requestId}\r\nX-Timestamp: ${new Date().toISOString()}\r\n`;
  if (contentType !== null) h += `Content-Type: ${contentType}\r\n`;
  for (const [k, v] of Object.entries(extra)) h += `${k}: ${v}\r\n`;
  return h;
}

export function textMessage(path: string, requestId: string, contentType: string, body: string, extra?: Readonly<Record<string, string>>): string {
  return `${headerBlock(path, requestId, contentType, extra)}\r\n${body}`;
}

/** A binary message; `body` null or empty is the end-of-audio marker. */
export function binaryMessage(path: string, requestId: string, contentType: string | null, body: Uint8Array | null): Buffer {
  const headers = Buffer.from(headerBlock(path, requestId, contentType), 'latin1');
  const bodyLength = body?.length ?? 0;
  const out = Buffer.allocUnsafe(2 + headers.length + bodyLength);
  out.writeUInt16BE(headers.length, 0);
  headers.copy(out, 2);
  if (body !== null && bodyLength > 0) out.set(body, 2 + headers.length);
  return out;
}

function parseHeaders(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** Parses one message; a string explains why it is not one. */
export function parseMessage(data: Buffer, isBinary: boolean): SpeechMessage | string {
  let headers: Record<string, string>;
  let body: string | Buffer;
  if (isBinary) {
    if (data.length < 2) return 'binary message shorter than its header length';
    const length = data.readUInt16BE(0);
    if (data.length < 2 + length) return 'binary message shorter than its headers';
    headers = parseHeaders(data.toString('latin1', 2, 2 + length));
    body = data.subarray(2 + length);
  } else {
    const text = data.toString('utf8');
    const split = text.indexOf('\r\n\r\n');
    headers = parseHeaders(split < 0 ? text : text.slice(0, split));
    body = split < 0 ? '' : text.slice(split + 4);
  }
  const path = headers['path'];
  const requestId = headers['x-requestid'];
  if (path === undefined || path === '') return 'message without a Path header';
  if (requestId === undefined || requestId === '') return `${path} without an X-RequestId header`;
  return { path: path.toLowerCase(), requestId, contentType: headers['content-type'] ?? null, headers, body };
}

/**
 * The 44-byte RIFF header the first audio message of a turn carries (the SDK's
 * AudioStreamFormat): format tag 7 (µ-law, 8 bits) or 1 (PCM, 16 bits), mono,
 * lengths 0 because the stream is open-ended.
 */
export function waveHeader(sampleRate: number, encoding: 'mulaw' | 'pcm'): Buffer {
  const bits = encoding === 'mulaw' ? 8 : 16;
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(0, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(encoding === 'mulaw' ? 7 : 1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE((sampleRate * bits) / 8, 28);
  h.writeUInt16LE(bits / 8, 32);
  h.writeUInt16LE(bits, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(0, 40);
  return h;
}

/** Reads a RIFF header's format (tag, rate, bits), or null when it is not one. */
export function readWaveHeader(body: Buffer): { formatTag: number; sampleRate: number; bitsPerSample: number; channels: number } | null {
  if (body.length < 44 || body.toString('latin1', 0, 4) !== 'RIFF' || body.toString('latin1', 8, 12) !== 'WAVE') return null;
  return { formatTag: body.readUInt16LE(20), channels: body.readUInt16LE(22), sampleRate: body.readUInt32LE(24), bitsPerSample: body.readUInt16LE(34) };
}

/** The service's offsets and durations are in 100-nanosecond ticks. */
export const TICKS_PER_MS = 10_000;
