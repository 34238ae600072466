/**
 * The WebSocket-upgrade probe of `tandem verify-config` (probe.ts): tries an
 * upgrade with the key and closes at once; 101 = reachable and key accepted.
 */
import WebSocket from 'ws';
import { errorMessage } from '../../../../common/src/errors.js';

export const PROBE_TIMEOUT_MS = 10_000;

/** Tries a WebSocket upgrade; resolves with what happened. */
export function tryUpgrade(url: string, headers: Record<string, string>): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    let done = false;
    const ws = new WebSocket(url, { headers, handshakeTimeout: PROBE_TIMEOUT_MS, perMessageDeflate: false, followRedirects: false });
    const finish = (ok: boolean, detail: string): void => {
      if (done) return;
      done = true;
      ws.terminate();
      resolve({ ok, detail });
    };
    ws.on('open', () => finish(true, 'connected, key accepted'));
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      finish(false, status === 401 || status === 403 ? `key refused (HTTP ${status})` : `upgrade answered HTTP ${status}`);
    });
    ws.on('error', (err) => finish(false, `cannot connect: ${errorMessage(err)}`));
  });
}

export const host = (url: string): string => {
  try {
    return new URL(url).host;
  } catch {
    return '[invalid url]';
  }
};
