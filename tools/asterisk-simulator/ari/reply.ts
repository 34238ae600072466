/**
 * What a handler answers, and how it is written on the wire with the headers
 * Asterisk's HTTP server sends (Server, Date, Cache-Control, `Content-type`).
 */
import type { ServerResponse } from 'node:http';

export interface Reply {
  readonly status: number;
  /** Asterisk's reason phrase varies by resource ("Not found" for bridges, "Internal Error", ...). */
  readonly statusText?: string;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Send the events this request caused before the response (a racing order Asterisk allows). */
  readonly eventsFirst?: boolean;
  /** Runs once the response is written (e.g. events that follow the 200). */
  readonly afterResponse?: () => void;
}

const DEFAULT_TEXT: Readonly<Record<number, string>> = {
  200: 'OK',
  204: 'No Content',
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  422: 'Unprocessable Entity',
  500: 'Internal Server Error',
  501: 'Not Implemented',
};

export const ok = (body: unknown): Reply => ({ status: 200, body });
export const noContent = (): Reply => ({ status: 204 });
export const fail = (status: number, message: string, statusText?: string): Reply => ({
  status,
  body: { message },
  ...(statusText !== undefined ? { statusText } : {}),
});

export const ASTERISK_SERVER = 'Asterisk/22.10.1';

export function writeReply(res: ServerResponse, reply: Reply): void {
  // Asterisk sends neither Connection nor Keep-Alive headers (s6); Node adds both unless removed.
  res.removeHeader('Connection');
  res.removeHeader('Keep-Alive');
  const text = reply.statusText ?? DEFAULT_TEXT[reply.status] ?? 'Unknown';
  const headers: Record<string, string> = {
    Server: ASTERISK_SERVER,
    Date: new Date().toUTCString(),
    'Cache-Control': 'no-cache, no-store',
    ...reply.headers,
  };
  if (reply.body === undefined) {
    headers['Content-Length'] = '0';
    res.writeHead(reply.status, text, headers);
    res.end();
    return;
  }
  const payload = Buffer.from(JSON.stringify(reply.body));
  headers['Content-type'] = 'application/json';
  headers['Content-Length'] = String(payload.length);
  res.writeHead(reply.status, text, headers);
  res.end(payload);
}
