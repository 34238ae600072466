import dgram from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explain, FIXTURES, requireSipp, run, SCENARIO_ERROR, SIPP_DIR, workDir, type RunResult } from './sipp-harness.js';

// Ports: SIP 15400-15499, media 16900-16999 (this file only).
const SINK_PORT = 15499;

/**
 * Loads a scenario in SIPp and lets it run briefly against a UDP sink that
 * never answers: a scenario SIPp cannot load exits at once with its error on
 * stderr; one it loads places a call that times out (UAC) or waits for calls
 * until -timeout (UAS).
 */
async function load(dir: string, file: string, role: 'uac' | 'uas'): Promise<RunResult> {
  const common = ['-sf', file, '-i', '127.0.0.1', '-p', '15401', '-mi', '127.0.0.1', '-mp', '16900', '-m', '1', '-nostdin'];
  const keys = ['-key', 'caller', '7100', '-key', 'ext', '7001', '-key', 'uas_host', '127.0.0.1', '-key', 'uas_port', '15402',
    '-key', 'expires', '60', '-key', 'user', '7100', '-key', 'password', 'x'];
  const args = role === 'uac'
    ? [...common, ...keys, '-s', '1000', '-inf', 'pairs.csv', '-max_retrans', '1', '-recv_timeout', '3s', '-timeout', '10s', `127.0.0.1:${SINK_PORT}`]
    : [...common, ...keys, '-inf', 'pairs.csv', '-infindex', 'pairs.csv', '0', '-timeout', '2s'];
  return run('sipp', args, dir, 30_000);
}

function expectLoaded(result: RunResult, role: 'uac' | 'uas'): void {
  expect(result.stderr, explain(result)).not.toMatch(SCENARIO_ERROR);
  if (role === 'uac') {
    // It got as far as sending the first request and retransmitting it.
    expect(result.stderr, explain(result)).toContain('Aborting call on UDP retransmission timeout');
    expect(result.code, explain(result)).toBe(1);
  } else {
    expect(result.code, explain(result)).toBe(97); // stopped by -timeout with no call
  }
}

describe('SIPp scenarios load', () => {
  let sink: dgram.Socket;
  let work: { dir: string; cleanup: () => void };

  beforeAll(async () => {
    requireSipp();
    work = workDir([
      join(SIPP_DIR, 'uac-caller.xml'),
      join(SIPP_DIR, 'uas-pair-ext.xml'),
      join(SIPP_DIR, 'uas-pair-ext-echo.xml'),
      join(SIPP_DIR, 'register.xml'),
      join(SIPP_DIR, 'unregister.xml'),
      join(SIPP_DIR, 'speech-ulaw.pcap'),
      join(FIXTURES, 'registrar-uas.xml'),
      join(FIXTURES, 'auth-uas.xml'),
      join(FIXTURES, 'cancel-uac.xml'),
    ]);
    writeFileSync(join(work.dir, 'pairs.csv'), readFileSync(join(SIPP_DIR, 'pairs.csv.example')));
    sink = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => sink.bind(SINK_PORT, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    if (sink !== undefined) await new Promise<void>((resolve) => sink.close(() => resolve()));
    work?.cleanup();
  });

  const cases: readonly [string, 'uac' | 'uas'][] = [
    ['uac-caller.xml', 'uac'],
    ['register.xml', 'uac'],
    ['unregister.xml', 'uac'],
    ['cancel-uac.xml', 'uac'],
    ['uas-pair-ext.xml', 'uas'],
    ['uas-pair-ext-echo.xml', 'uas'],
    ['registrar-uas.xml', 'uas'],
    ['auth-uas.xml', 'uas'],
  ];
  for (const [file, role] of cases) {
    it(`${file} loads and runs (${role})`, async () => {
      expectLoaded(await load(work.dir, file, role), role);
    }, 40_000);
  }

  it('the check catches a scenario SIPp cannot load (unknown keyword, unknown element)', async () => {
    const good = readFileSync(join(work.dir, 'uac-caller.xml'), 'utf8');
    writeFileSync(join(work.dir, 'bad-keyword.xml'), good.replace('CSeq: 1 INVITE', 'CSeq: [no_such_keyword] INVITE'));
    writeFileSync(join(work.dir, 'bad-element.xml'), good.replace('<recv response="183" optional="true"/>', '<recv response="183" optional="true"/><bogus/>'));
    for (const file of ['bad-keyword.xml', 'bad-element.xml']) {
      const result = await load(work.dir, file, 'uac');
      expect(result.stderr, explain(result)).toMatch(SCENARIO_ERROR);
      expect(result.code).not.toBe(0);
    }
  }, 40_000);
});
