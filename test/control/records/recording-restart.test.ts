import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerCallsCommand } from '../../../control/src/cli/commands/calls.js';
import { TandemNode, type TandemNodeOptions } from '../../../control/src/node/tandem-node.js';
import { provisionPairs } from '../../../control/src/realtime/index.js';
import { RecordingJoin, type CallRecord } from '../../../control/src/records/index.js';
import { AsteriskSimulator, tone } from '../../../tools/asterisk-simulator/ari/index.js';
import { createTestDb, type TestDb } from '../realtime/pg-test-db.js';
import { freePortRange } from '../../support/ports.js';
import { runCli } from '../../support/run-cli.js';
import { launchChromium, loginToConsole } from '../../support/chromium.js';
import { buildConsoleWeb } from '../../support/console-web.js';
import { waitFor } from '../../support/rtp-peer.js';

/**
 * A recorded call's file is on its PostgreSQL record (migration 007): after the node restarts, the
 * API, the recording route the console plays from and `tandem calls` still find it.
 */
const TOKEN = 'recording-restart-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('RecordingJoin', () => {
  const file = (path: string) => ({ path, format: 'opus' as const, bytes: 100, durationMs: 2000 });

  it('joins by the file whichever side comes first, an Opus file to the WAV it came from, never by pair', () => {
    const join = new RecordingJoin(2);
    expect(join.callEnded('/r/pair_001-1.wav', 'rec-1')).toBeNull();
    // The pair's next call ends before the first call's Opus file is done: each file finds its own call.
    expect(join.callEnded('/r/pair_001-2.wav', 'rec-2')).toBeNull();
    expect(join.recordingDone(file('/r/pair_001-2.opus'))).toBe('rec-2');
    expect(join.recordingDone(file('/r/pair_001-1.opus'))).toBe('rec-1');
    // The file first (a WAV closes with the pair, before the call's teardown ends).
    expect(join.recordingDone({ ...file('/r/pair_002-1.wav'), format: 'wav' })).toBeNull();
    expect(join.callEnded('/r/pair_002-1.wav', 'rec-3')).toEqual({ ...file('/r/pair_002-1.wav'), format: 'wav' });
    expect(join.waiting).toEqual({ calls: 0, files: 0 });
    // Bounded: the oldest waiting call is forgotten.
    for (const n of [1, 2, 3]) join.callEnded(`/r/p-${n}.wav`, `x-${n}`);
    expect(join.waiting.calls).toBe(2);
    expect(join.recordingDone(file('/r/p-1.opus'))).toBeNull();
    expect(join.recordingDone(file('/r/p-3.opus'))).toBe('x-3');
  });
});

describe('a recorded call after a restart (PostgreSQL)', () => {
  let db: TestDb;
  let sim: AsteriskSimulator;
  let dir: string;
  let options: TandemNodeOptions;

  beforeAll(async () => {
    await buildConsoleWeb();
    db = await createTestDb({ migrate: true });
    await provisionPairs(db.pool, { count: 1 });
    dir = await mkdtemp(join(tmpdir(), 'tandem-rec-restart-'));
    sim = await AsteriskSimulator.start({ username: 'tandem', password: 'ari-secret', endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 20 } } });
    options = {
      engine: { workers: 1, portRange: await freePortRange(100), requestTimeoutMs: 30_000, recording: { dir, format: 'opus' } },
      store: { poolSize: 1, node: 'rec-node' },
      ari: { url: sim.ariUrl, username: 'tandem', password: 'ari-secret' },
      database: { url: db.url },
      calls: { record: true },
      api: { token: TOKEN },
      processMetrics: false,
    };
  }, 60_000);

  afterAll(async () => {
    await sim?.close();
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('stores the Ogg/Opus file on the record; a new process serves it by record id and lists it', async () => {
    let recordId = '';
    let stored: CallRecord | null = null;
    const first = await TandemNode.start(options);
    try {
      const call = sim.placeCall({ callerNumber: '5550123', audio: tone(440, 8000) });
      await waitFor(() => first.app.pair('pair_001')?.state === 'active', 30_000);
      const rx = async (): Promise<number> => (await first.engine.stats()).shards.flatMap((s) => s.pairStats).find((p) => p.pairId === 'pair_001')?.legA.rxPackets ?? 0;
      for (let n = 0; n < 50; n = await rx()) await new Promise((r) => setTimeout(r, 100));
      sim.hangup(call.channelId);
      // The record is stored at once; its recording follows once the Opus file is complete.
      const withRecording = async (): Promise<boolean> => {
        await first.records.flush();
        const r = await db.pool.query<{ id: string; recording_path: string | null }>('SELECT id, recording_path FROM call_records');
        recordId = r.rows[0]?.id ?? '';
        return r.rows[0]?.recording_path != null;
      };
      for (let i = 0; i < 600 && !(await withRecording()); i++) await new Promise((r) => setTimeout(r, 100));
      stored = (await first.records.get(recordId)).call;
    } finally {
      await first.close();
    }
    expect(stored?.recording).toMatchObject({ format: 'opus' });
    const recording = stored!.recording!;
    expect(recording.path.startsWith(dir)).toBe(true);
    expect(recording.path.endsWith('.opus')).toBe(true);
    expect(recording.bytes).toBe((await stat(recording.path)).size);
    expect(recording.durationMs).toBeGreaterThanOrEqual(900);

    // A new process on the same database and directory: nothing in memory.
    const second = await TandemNode.start(options);
    try {
      const address = second.apiAddress;
      if (address === null || !('url' in address)) throw new Error('expected a TCP API');
      const one = await fetch(`${address.url}/v1/calls/${recordId}`, { headers: auth });
      expect(one.status).toBe(200);
      expect(((await one.json()) as CallRecord).recording).toEqual(recording);
      const file = await fetch(`${address.url}/v1/calls/${recordId}/recording`, { headers: auth });
      expect(file.status).toBe(200);
      expect(file.headers.get('content-type')).toBe('audio/ogg');
      expect((await file.arrayBuffer()).byteLength).toBe(recording.bytes);

      vi.stubEnv('TANDEM_API_TOKEN', TOKEN);
      vi.stubEnv('TANDEM_API_SOCKET', '');
      const listed = await runCli(registerCallsCommand, ['calls', '--api-url', address.url]);
      vi.unstubAllEnvs();
      expect(listed.code).toBe(0);
      expect(listed.out.split('\n')[0]).toMatch(/RECORDING$/);
      expect(listed.out.split('\n')[1]).toMatch(/5550123 → 7001 .* opus \d+\.\ds \d+ KiB$/);

      // The console: the history links the record; its page shows it with a player for the file.
      const chrome = await launchChromium();
      try {
        const page = await chrome.context.newPage();
        await loginToConsole(page, address.url, TOKEN);
        await page.goto(`${address.url}/console#/history`);
        const link = page.locator('#history-body a.record-link');
        await link.waitFor({ timeout: 60_000 });
        expect(await link.textContent()).toMatch(/^record · opus /);
        await link.click();
        await page.locator('#call-recording audio').waitFor({ timeout: 60_000 });
        expect(await page.locator('#call-record dl').textContent()).toContain(recordId);
        expect(await page.locator('#call-record dl').textContent()).toMatch(/recordingopus, /);
        expect(await page.locator('#call-recording a[download]').getAttribute('href')).toBe(`/v1/calls/${recordId}/recording`);
      } finally {
        await chrome.close();
      }

      // A row naming a file outside this node's recording directory is never opened.
      await db.pool.query("UPDATE call_records SET recording_path = '/etc/hostname' WHERE id = $1", [recordId]);
      expect((await fetch(`${address.url}/v1/calls/${recordId}/recording`, { headers: auth })).status).toBe(404);
    } finally {
      await second.close();
    }
  }, 180_000);
});
