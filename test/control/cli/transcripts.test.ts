import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerTranscriptsCommand } from '../../../control/src/cli/commands/transcripts.js';
import { PgTranscriptStore, TranscriptHub } from '../../../control/src/transcripts/index.js';
import { closedPort, testPrefix } from '../alloc/redis-helpers.js';
import { createTestDb, type TestDb } from '../realtime/pg-test-db.js';
import { transcriptEvent } from '../transcripts/support.js';
import { waitFor } from '../../support/rtp-peer.js';
import { runCli, type CliRun } from '../../support/run-cli.js';

const cli = fileURLToPath(new URL('../../../tools/cli/main.ts', import.meta.url));

function run(args: string[]): Promise<CliRun> {
  return runCli(registerTranscriptsCommand, args);
}

describe('tandem transcripts', () => {
  let db: TestDb;
  let url: string[];
  beforeAll(async () => {
    db = await createTestDb();
    url = ['--database-url', db.url];
    const store = new PgTranscriptStore(db.pool);
    // An earlier call, then the latest one: both directions, one without a translation yet.
    store.save(transcriptEvent({ callId: 'call-old', utteranceId: 'u1', text: 'old call', translatedText: 'llamada vieja', startMs: 500, endMs: 900 }));
    await store.flush();
    await new Promise((r) => setTimeout(r, 10));
    store.save(transcriptEvent({ callId: 'call-new', utteranceId: 'u1', text: 'utterance 1, 1.4 s', translatedText: 'enunciado 1, 1,4 s', startMs: 3200, endMs: 4600 }));
    store.save(transcriptEvent({ callId: 'call-new', utteranceId: 'b1', direction: 'B->A', srcExt: '7001', dstExt: '7000', language: 'es', targetLanguage: 'en', text: 'hola "amigo"', translatedText: null, startMs: 5000, endMs: 5800 }));
    store.save(transcriptEvent({ pairId: 'pair_002', srcExt: '7002', dstExt: '7003', callId: 'elsewhere', text: 'not this pair' }));
    await store.close();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("prints the pair's most recent call, one line per final, in order", async () => {
    const r = await run(['transcripts', 'pair_001', ...url]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      [
        '— pair_001 call call-new —',
        '00:03.2  7000 (en) → 7001 (es): "utterance 1, 1.4 s" ⇒ "enunciado 1, 1,4 s"',
        '00:05.0  7001 (es) → 7000 (en): "hola \\"amigo\\""',
        '',
      ].join('\n'),
    );
    expect(r.err).toContain('1 earlier call(s)');
  });

  it('--call picks a call, --calls lists them, --json prints one object per line', async () => {
    const old = await run(['transcripts', 'pair_001', '--call', 'call-old', ...url]);
    expect(old.out).toBe('— pair_001 call call-old —\n00:00.5  7000 (en) → 7001 (es): "old call" ⇒ "llamada vieja"\n');

    const calls = await run(['transcripts', 'pair_001', '--calls', ...url]);
    expect(calls.code).toBe(0);
    const lines = calls.out.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/ 2 final\(s\) {2}call call-new$/);
    expect(lines[1]).toMatch(/ 1 final\(s\) {2}call call-old$/);

    const json = await run(['transcripts', 'pair_001', '--json', ...url]);
    expect(json.err).toBe('');
    const objects = json.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objects.map((o) => [o['callId'], o['direction'], o['text'], o['translatedText']])).toEqual([
      ['call-new', 'A->B', 'utterance 1, 1.4 s', 'enunciado 1, 1,4 s'],
      ['call-new', 'B->A', 'hola "amigo"', null],
    ]);
    expect(Object.keys(objects[0] ?? {}).sort()).toEqual(
      ['at', 'callId', 'direction', 'dstExt', 'endMs', 'language', 'pairId', 'srcExt', 'startMs', 'targetLanguage', 'text', 'translatedText', 'utteranceId'].sort(),
    );
  });

  it('a pair without transcripts says so and succeeds; a malformed PAIR_ID is one error line', async () => {
    const none = await run(['transcripts', 'pair_009', ...url]);
    expect(none).toEqual({ out: '', err: 'no transcripts stored for pair_009\n', code: 0 });
    const bad = await run(['transcripts', 'pair 1', ...url]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^error: PAIR_ID: invalid PAIR_ID "pair 1"/);
  });

  it('clear errors: no transcripts table, unreachable database, --follow without REDIS_URL', async () => {
    const bare = await createTestDb({ migrate: false });
    try {
      const r = await run(['transcripts', 'pair_001', '--database-url', bare.url]);
      expect(r.code).toBe(1);
      expect(r.err).toBe('error: the database has no transcripts table: run "tandem migrate" [NOT_MIGRATED]\n');
    } finally {
      await bare.drop();
    }
    const down = await run(['transcripts', 'pair_001', '--database-url', `postgres://postgres@127.0.0.1:${await closedPort()}/x`]);
    expect(down.code).toBe(1);
    expect(down.err).toMatch(/^error: cannot reach PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:\d+\/x/);

    vi.stubEnv('REDIS_URL', '');
    try {
      const follow = await run(['transcripts', 'pair_001', '--follow', ...url]);
      expect(follow.code).toBe(1);
      expect(follow.err).toMatch(/^error: REDIS_URL: set REDIS_URL or --redis-url/);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('--follow prints the history, then new finals of the pair live from Redis, until SIGINT', async () => {
    const prefix = testPrefix();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', cli, 'transcripts', 'pair_001', '--follow', '--database-url', db.url, '--redis-url', 'redis://127.0.0.1:6379', '--prefix', prefix],
      { env: { ...process.env, TANDEM_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const redis = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1 });
    const hub = new TranscriptHub({ redis, prefix });
    try {
      // Starting from the TypeScript sources (tsx) on a machine busy with other tests can take a minute.
      await waitFor(() => err.includes('following pair_001 live'), 120_000);
      expect(out).toContain('"utterance 1, 1.4 s"');
      hub.publish(transcriptEvent({ callId: 'call-new', utteranceId: 'u1', text: 'utterance 1, 1.4 s', startMs: 3200, endMs: 4600 })); // already printed
      hub.publish(transcriptEvent({ callId: 'call-live', utteranceId: 'p', final: false, text: 'partial' }));
      hub.publish(transcriptEvent({ pairId: 'pair_002', srcExt: '7002', dstExt: '7003', callId: 'x', text: 'other pair' }));
      hub.publish(transcriptEvent({ callId: 'call-live', utteranceId: 'l1', text: 'live one', translatedText: 'en vivo', startMs: 61_000, endMs: 62_000 }));
      await waitFor(() => out.includes('live one'), 10_000);
      expect(out.split('\n').slice(-3)).toEqual(['— pair_001 call call-live —', '01:01.0  7000 (en) → 7001 (es): "live one" ⇒ "en vivo"', '']);
      expect(out).not.toContain('partial');
      expect(out).not.toContain('other pair');
      expect(out.match(/utterance 1, 1\.4 s/g)).toHaveLength(1);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await hub.close();
      await redis.quit();
    }
  }, 180_000);
});
