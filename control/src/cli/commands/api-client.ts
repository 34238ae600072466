import { request } from 'node:http';
import { ConfigError } from '../../../../common/src/errors.js';

/** Where the node's internal API is: its Unix socket, or its TCP URL with the bearer token. */
export type ApiTarget = { socketPath: string; token?: string } | { url: string; token?: string };

export interface ApiTargetFlags {
  apiUrl?: string;
  apiSocket?: string;
}

/**
 * The API `tandem start` serves, from the same settings: `--api-socket` /
 * TANDEM_API_SOCKET, else `--api-url`, else http://127.0.0.1:TANDEM_API_PORT
 * (8089); the token from TANDEM_API_TOKEN (never a flag: it would show in the
 * process list).
 */
export function apiTarget(flags: ApiTargetFlags, env: NodeJS.ProcessEnv = process.env): ApiTarget {
  const token = env['TANDEM_API_TOKEN'] || undefined;
  const socketPath = flags.apiSocket || env['TANDEM_API_SOCKET'] || undefined;
  if (socketPath !== undefined) return { socketPath, ...(token !== undefined ? { token } : {}) };
  const port = env['TANDEM_API_PORT'] || '8089';
  const url = flags.apiUrl || `http://127.0.0.1:${port}`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('--api-url', `must be a URL like http://127.0.0.1:8089, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'http:') throw new ConfigError('--api-url', `the internal API speaks plain http on 127.0.0.1 or a Unix socket, got ${parsed.protocol}`);
  if (token === undefined) throw new ConfigError('TANDEM_API_TOKEN', 'set TANDEM_API_TOKEN (the token tandem start serves the API with), or TANDEM_API_SOCKET for its Unix socket');
  return { url: parsed.origin, token };
}

/** A refusal from the API (its `{ code, message }`), or a failure to reach it. */
export class ApiRequestError extends Error {
  override readonly name = 'ApiRequestError';
  constructor(
    readonly code: string,
    message: string,
    readonly status: number | null,
  ) {
    super(message);
  }
}

/** GET `path` and parse the JSON answer; any non-2xx becomes an ApiRequestError with the API's code. */
export function apiGet<T>(target: ApiTarget, path: string, timeoutMs = 10_000): Promise<T> {
  const where = 'socketPath' in target ? `unix:${target.socketPath}` : target.url;
  return new Promise<T>((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (target.token !== undefined) headers['authorization'] = `Bearer ${target.token}`;
    const options =
      'socketPath' in target
        ? { socketPath: target.socketPath, path, headers }
        : (() => {
            const u = new URL(path, target.url);
            return { host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, headers };
          })();
    const req = request({ ...options, method: 'GET', timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => reject(new ApiRequestError('UNREACHABLE', `reading the answer of ${where}: ${err.message}`, null)));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          reject(new ApiRequestError('BAD_RESPONSE', `${where} answered ${res.statusCode ?? '?'} without JSON`, res.statusCode ?? null));
          return;
        }
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          resolve(body as T);
          return;
        }
        const error = body as { code?: unknown; message?: unknown };
        const code = typeof error.code === 'string' ? error.code : `HTTP_${status}`;
        const message = typeof error.message === 'string' ? error.message : `HTTP ${status}`;
        reject(new ApiRequestError(code, message, status));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => reject(new ApiRequestError('UNREACHABLE', `cannot reach the Tandem API at ${where} (is tandem start running with its API?): ${err.message}`, null)));
    req.end();
  });
}
