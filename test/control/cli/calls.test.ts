import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { MemoryPairStore } from '../../../control/src/alloc/index.js';
import { registerCallsCommand } from '../../../control/src/cli/commands/calls.js';
import { createControlApi, registerCallRoutes, type ControlApi } from '../../../control/src/http/index.js';
import { CallRecords, type CallRecord } from '../../../control/src/records/index.js';
import { closedPort } from '../alloc/redis-helpers.js';
import { legFixture, recordFixture } from '../records/support.js';
import { runCli, type CliRun } from '../../support/run-cli.js';

const TOKEN = 'calls-cli-token-0123456789';

function run(args: string[]): Promise<CliRun> {
  return runCli(registerCallsCommand, ['calls', ...args]);
}

describe('tandem calls', () => {
  const records = new CallRecords();
  const now = Date.now();
  const older = recordFixture({ endedAt: new Date(now - 3_600_000).toISOString(), caller: '5550001' });
  const busy = recordFixture({
    endedAt: new Date(now - 60_000).toISOString(),
    pairId: 'pair_002',
    extB: '7003',
    caller: '5550002',
    durationMs: 900,
    hangupBy: 'legb',
    hangupCause: 17,
    teardownReason: 'legb-busy',
    answeredAt: null,
    talkMs: null,
    mosA: null,
    mosB: null,
    legs: { A: legFixture({ mos: null, r: null, lossPct: 0 }), B: legFixture({ mos: null, r: null, lossPct: 0 }) },
  });
  const lossy = recordFixture({ endedAt: new Date(now - 1000).toISOString(), caller: '5550003', mosA: 3.21, recording: { path: '/var/spool/tandem/pair_001-20261207T101402Z.opus', format: 'opus', bytes: 2_400_000, durationMs: 10_000 }, legs: { A: legFixture({ lossPct: 12.5, r: 62.1, mos: 3.21 }), B: legFixture({ ext: '7001', lossPct: 0, mos: 4.38, r: 91.7 }) } });
  let tcp: ControlApi;
  let unix: ControlApi;
  let url: string;
  let dir: string;
  let socketPath: string;

  beforeAll(async () => {
    for (const r of [older, busy, lossy]) records.add(r);
    tcp = createControlApi({ store: new MemoryPairStore({ poolSize: 2 }), token: TOKEN });
    registerCallRoutes(tcp.app, { records });
    const address = await tcp.listen();
    if (!('url' in address)) throw new Error('expected TCP');
    url = address.url;
    dir = await mkdtemp(join(tmpdir(), 'tandem-calls-'));
    socketPath = join(dir, 'api.sock');
    unix = createControlApi({ store: new MemoryPairStore({ poolSize: 2 }), socketPath });
    registerCallRoutes(unix.app, { records });
    await unix.listen();
  });
  afterAll(async () => {
    await tcp.close();
    await unix.close();
    await rm(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('prints the recent calls newest first, one line each, with MOS, loss and quality at a glance (TCP + token)', async () => {
    vi.stubEnv('TANDEM_API_TOKEN', TOKEN);
    vi.stubEnv('TANDEM_API_SOCKET', '');
    const r = await run(['--api-url', url]);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^STARTED \(UTC\)\s+PAIR\s+CALLER → EXT\s+DURATION\s+ENDED BY\s+REASON\s+MOS A\/B\s+LOSS A\/B\s+QUALITY\s+RECORDING$/);
    expect(lines[1]).toMatch(/pair_001\s+5550003 → 7001\s+10\.0s\s+caller\s+caller-hangup\s+3\.21\/4\.38\s+13\/0\.0%\s+poor\s+opus 10\.0s 2\.3 MiB$/);
    expect(lines[2]).toMatch(/pair_002\s+5550002 → 7003\s+0\.9s\s+legb \(17\)\s+legb-busy\s+-\/-\s+0\.0\/0\.0%\s+-\s+-$/);
    expect(lines[3]).toMatch(/pair_001\s+5550001 → 7001\s+10\.0s\s+caller\s+caller-hangup\s+4\.29\/4\.38\s+1\.0\/0\.0%\s+good\s+-$/);
    expect(r.err).toMatch(/from the node's memory/);
  });

  it('--since, --limit, --pair and --json (the whole records as NDJSON), over the Unix socket', async () => {
    vi.stubEnv('TANDEM_API_TOKEN', '');
    const since = await run(['--api-socket', socketPath, '--since', '10m', '--json']);
    expect(since.code).toBe(0);
    const parsed = since.out.trimEnd().split('\n').map((l) => JSON.parse(l) as CallRecord);
    expect(parsed).toEqual([lossy, busy]);
    const limited = await run(['--api-socket', socketPath, '--limit', '1', '--json']);
    expect(limited.out.trimEnd().split('\n').map((l) => (JSON.parse(l) as CallRecord).id)).toEqual([lossy.id]);
    const pair = await run(['--api-socket', socketPath, '--pair', 'pair_002', '--json']);
    expect(pair.out.trimEnd().split('\n').map((l) => (JSON.parse(l) as CallRecord).id)).toEqual([busy.id]);
    const none = await run(['--api-socket', socketPath, '--since', '2030-01-01T00:00:00Z']);
    expect(none).toMatchObject({ code: 0, out: 'no calls ended since 2030-01-01T00:00:00.000Z\n' });
  });

  it('clear errors: bad flags, no token, a wrong token, an API that is not there', async () => {
    vi.stubEnv('TANDEM_API_SOCKET', '');
    vi.stubEnv('TANDEM_API_TOKEN', TOKEN);
    const badSince = await run(['--api-url', url, '--since', 'yesterday']);
    expect(badSince.code).toBe(1);
    expect(badSince.err).toMatch(/--since must be a duration like 90s, 10m/);
    expect((await run(['--api-url', url, '--pair', 'pair 1'])).err).toMatch(/invalid PAIR_ID/);
    expect((await run(['--api-url', url, '--limit', '5000'])).err).toMatch(/at most 1000/);
    expect((await run(['--api-url', 'ftp://127.0.0.1:1'])).err).toMatch(/plain http/);

    vi.stubEnv('TANDEM_API_TOKEN', 'wrong-token-0123456789');
    const refused = await run(['--api-url', url]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/invalid bearer token \[UNAUTHORIZED\]/);

    vi.stubEnv('TANDEM_API_TOKEN', '');
    const noToken = await run(['--api-url', url]);
    expect(noToken.code).toBe(1);
    expect(noToken.err).toMatch(/set TANDEM_API_TOKEN/);

    vi.stubEnv('TANDEM_API_TOKEN', TOKEN);
    const gone = await run(['--api-url', `http://127.0.0.1:${await closedPort()}`]);
    expect(gone.code).toBe(1);
    expect(gone.err).toMatch(/cannot reach the Tandem API at http:\/\/127\.0\.0\.1:\d+ .*\[UNREACHABLE\]/);
    expect(gone.err).not.toContain(TOKEN);
  });
});
