import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { encodeClientMessage, parseServiceMessage, type ServiceMessage } from '../../../engine/src/pipeline/streaming/protocol.js';
import { waitFor } from '../../support/rtp-peer.js';

const cli = fileURLToPath(new URL('../../../tools/cli/main.ts', import.meta.url));

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, 'reference-service', ...args], {
    env: { ...process.env, TANDEM_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const io = { out: '', err: '' };
  child.stdout.on('data', (d: Buffer) => (io.out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (io.err += d.toString()));
  // 'close', not 'exit': stdout is read to its end before the test looks at the last line.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, io, exited };
}

describe('tandem reference-service', () => {
  it('prints its URL first, answers a WebSocket start, and on SIGTERM prints its counters and exits 0', async () => {
    const { child, io, exited } = run(['--port', '0', '--token-env', 'REF_TOKEN_TEST'], { REF_TOKEN_TEST: 'tok-3f9a' });
    try {
      // Starting from the TypeScript sources (tsx) on a machine busy with other tests can take a minute.
      await waitFor(() => io.out.includes('\n'), 120_000);
      const first = io.out.split('\n')[0]!;
      expect(first).toMatch(/^listening ws:\/\/127\.0\.0\.1:\d+\/$/);
      const url = first.slice('listening '.length);

      // The token from the environment is required.
      const refused = await new Promise<number>((resolve) => {
        const ws = new WebSocket(url);
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('error', () => undefined);
      });
      expect(refused).toBe(401);

      const ws = new WebSocket(url, { headers: { authorization: 'Bearer tok-3f9a' } });
      const messages: ServiceMessage[] = [];
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (!isBinary) messages.push(parseServiceMessage(data.toString('utf8')));
      });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      ws.send(encodeClientMessage({ event: 'start', protocol: 'tandem.media.v1', pairId: 'pair_001', srcExt: '7000', dstExt: '7001', direction: 'A->B', sampleRate: 8000, sourceLanguage: 'en', targetLanguage: 'es' }));
      await waitFor(() => messages.length > 0);
      expect(messages[0]).toMatchObject({ event: 'started', protocol: 'tandem.media.v1' });
      ws.terminate();

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      // Log lines may share stdout (TANDEM_LOG_LEVEL) and land around it; readers pick the line by its prefix.
      const statsLines = io.out.split('\n').filter((l) => l.startsWith('stats '));
      expect(statsLines).toHaveLength(1);
      expect(JSON.parse(statsLines[0]!.slice('stats '.length))).toMatchObject({ sessions: 1, utterances: 0, cache: { capacity: 256, hits: 0, misses: 0 } });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 150_000);

  it('refuses to start when the token variable is not set', async () => {
    const { io, exited } = run(['--token-env', 'REF_TOKEN_UNSET_TEST'], { REF_TOKEN_UNSET_TEST: '' });
    expect(await exited).toBe(1);
    expect(io.err).toContain('REF_TOKEN_UNSET_TEST');
    expect(io.out).toBe('');
  }, 150_000);
});
