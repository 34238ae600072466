import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { explain, REPO, requireSipp, run, SIPP_DIR, type RunResult } from './sipp-harness.js';

// Ports: SIP 15300-15399, media 17000-17999 (this file only).
const SCRIPT = join(SIPP_DIR, 'run-load.sh');

let cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-load-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs the script (bounded by a kill timer); extra variables go through env(1). */
function runScript(args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<RunResult> {
  const assignments = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  return run('env', [...assignments, SCRIPT, ...args], REPO, 120_000);
}

describe('run-load.sh', () => {
  it('--help describes the options and exits 0', async () => {
    const r = await runScript(['--help']);
    expect(r.code, explain(r)).toBe(0);
    for (const opt of ['--asterisk HOST:PORT', '--calls N', '--rate R', '--duration S', '--pairs-csv FILE', '--allow-remote', 'TANDEM_API_URL']) {
      expect(r.stdout).toContain(opt);
    }
  });

  it('refuses a non-loopback target or local address unless --allow-remote', async () => {
    const base = ['--calls', '1', '--rate', '1', '--duration', '1', '--no-register'];
    for (const args of [
      ['--asterisk', '10.0.0.5:5060', ...base],
      ['--asterisk', 'pbx.example.com:5060', ...base],
      ['--asterisk', '127.0.0.1:5060', '--local-ip', '192.168.1.10', ...base],
    ]) {
      const r = await runScript(args);
      expect(r.code, explain(r)).toBe(2);
      expect(r.stderr).toMatch(/refusing non-loopback/);
      expect(r.stderr).not.toMatch(/calling|registering/);
    }
  });

  it('rejects bad usage with exit 2 and a message naming the problem', async () => {
    const cases: [readonly string[], RegExp][] = [
      [['--calls', '1', '--rate', '1', '--duration', '1'], /--asterisk HOST:PORT is required/],
      [['--asterisk', '127.0.0.1', '--calls', '1', '--rate', '1', '--duration', '1'], /HOST:PORT/],
      [['--asterisk', '127.0.0.1:5060', '--calls', '0', '--rate', '1', '--duration', '1', '--no-register'], /--calls/],
      [['--asterisk', '127.0.0.1:5060', '--calls', '1', '--rate', 'x', '--duration', '1', '--no-register'], /--rate/],
      [['--asterisk', '127.0.0.1:5060', '--calls', '1', '--rate', '1', '--duration', '1'], /--pairs-csv/],
      [['--asterisk', '127.0.0.1:5060', '--calls', '1', '--rate', '1', '--duration', '1', '--bogus'], /unknown argument/],
    ];
    for (const [args, message] of cases) {
      const r = await runScript(args);
      expect(r.code, explain(r)).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('stops with exit 3, before calling, when the pair-extension UAS cannot bind its port', async () => {
    requireSipp();
    const busy = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => busy.bind(15390, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => busy.close(() => resolve())));
    const out = join(tempDir(), 'run');
    const r = await runScript([
      '--asterisk', '127.0.0.1:15390', '--uas-port', '15390', '--caller-port', '15371', '--no-register', '--no-record',
      '--calls', '1', '--rate', '1', '--duration', '1', '--caller-media-port', '17800', '--uas-media-port', '17900', '--out', out,
    ]);
    expect(r.code, explain(r)).toBe(3);
    expect(r.stderr).toMatch(/UAS did not start/);
    expect(existsSync(join(out, 'caller_stats.csv'))).toBe(false);
  }, 60_000);

  it('runs a bounded load against a local SIPp UAS, records what callers hear, samples Tandem and writes summary.json', async () => {
    requireSipp();
    const out = join(tempDir(), 'run');
    const token = 'test-token-0123456789abcdef';
    const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
    const server: Server = createServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      if (req.headers.authorization !== `Bearer ${token}` && req.url !== '/healthz') {
        res.writeHead(401).end();
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(req.url === '/v1/pairs' ? JSON.stringify({ pairs: [{ pairId: 'pair_001' }, { pairId: 'pair_002' }] }) : '{"status":"ok"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    // --no-register with --asterisk on the script's own UAS port: the caller dials the pair-extension UAS directly.
    const r = await runScript([
      '--asterisk', '127.0.0.1:15380', '--uas-port', '15380', '--caller-port', '15370', '--no-register',
      '--calls', '4', '--rate', '4', '--duration', '2', '--concurrency', '4',
      '--caller-media-port', '17000', '--uas-media-port', '17400', '--timeout', '40', '--out', out,
    ], { TANDEM_API_URL: apiUrl, TANDEM_API_TOKEN: token });
    expect(r.code, explain(r)).toBe(0);

    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
      run: { calls: number; callerExit: number };
      caller: { successful: number; failed: number };
      pairExtensions: { successful: number } | null;
      callSetupMs: { setup?: { count: number; p99: number } } | null;
      heardByCallers: { flows: number; packets: number; lost: number } | null;
      tandem: { samples: number; peakPairs: number } | null;
    };
    expect(summary.run).toMatchObject({ calls: 4, callerExit: 0 });
    expect(summary.caller).toMatchObject({ successful: 4, failed: 0 });
    expect(summary.pairExtensions).toMatchObject({ successful: 4 });
    expect(summary.callSetupMs?.setup?.count).toBe(4);
    expect(summary.heardByCallers?.flows).toBe(4);
    expect(summary.heardByCallers?.packets).toBeGreaterThan(4 * 50); // 2 s of 20 ms packets each, with margin
    expect(summary.tandem).toMatchObject({ peakPairs: 2 });
    // The recording is listenable: one WAV per call heard.
    expect(readdirSync(join(out, 'caller-heard-wav')).filter((f) => f.endsWith('.wav'))).toHaveLength(4);
    for (const f of ['caller_stats.csv', 'uas_stats.csv', 'caller-heard.pcap', 'run.log', 'tandem-health-before.json', 'tandem-health-after.json']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    expect(seen.some((s) => s.url === '/v1/pairs' && s.headers.authorization === `Bearer ${token}`)).toBe(true);
    // The token never lands in the run's files.
    for (const f of readdirSync(out).filter((n) => /\.(log|json|jsonl|stderr|stdout)$/.test(n))) {
      expect(readFileSync(join(out, f), 'utf8'), f).not.toContain(token);
    }
  }, 120_000);
});
