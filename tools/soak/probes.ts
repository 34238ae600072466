import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { rms, type HeardChunk } from '../asterisk-simulator/ari/index.js';

/** A heard frame with at least this RMS carries the other party's tone (silence and concealment do not). */
const VOICED_RMS = 300;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
export const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN);
}

export function voicedCount(chunks: readonly HeardChunk[], from = 0): number {
  let n = 0;
  for (let i = from; i < chunks.length; i++) if (rms([chunks[i]!]) > VOICED_RMS) n++;
  return n;
}

/** RSS of a process from /proc, MiB. */
export function rssMb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] ? round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

export function fdCount(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/** One bodiless request on Tandem's API socket; null when it does not answer within `timeoutMs`. */
function apiRequest(socketPath: string, path: string, method: 'GET' | 'POST', timeoutMs: number): Promise<{ status: number; body: string } | null> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path, method, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
    req.end();
  });
}

/** GET on Tandem's API socket; null when it does not answer. */
export function apiGet(socketPath: string, path: string): Promise<{ status: number; body: string } | null> {
  return apiRequest(socketPath, path, 'GET', 3000);
}

/** POST (no body) on Tandem's API socket; null when it does not answer. */
export function apiPost(socketPath: string, path: string): Promise<{ status: number; body: string } | null> {
  return apiRequest(socketPath, path, 'POST', 10_000);
}

/** The sum of a Prometheus series' samples whose line starts with `prefix` (a name, or a name and labels). */
export function metricSum(exposition: string, prefix: string): number | null {
  let sum: number | null = null;
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(prefix) || line.startsWith('#')) continue;
    const next = line.charAt(prefix.length);
    if (next !== ' ' && next !== '{' && !prefix.endsWith('}')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}
