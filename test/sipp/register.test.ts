import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { summarizeSippStats } from '../../asterisk/sipp/load-summary.js';
import { explain, FIXTURES, requireSipp, SIPP_DIR, start, workDir, type RunResult } from './sipp-harness.js';

// Ports: SIP 15200-15299 (this file only).
const REGISTRAR_PORT = 15260;
const CLIENT_PORT = 15261;
const UAS_CONTACT_PORT = 15280;

const PAIRS = ['SEQUENTIAL', '7000;pw-7000-a1', '7001;pw-7001-b2', '7002;pw-7002-c3', '7003;pw-7003-d4', ''].join('\n');

let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.reverse()) c();
  cleanups = [];
});

beforeAll(() => {
  requireSipp();
});

/** Runs the test registrar and one REGISTER scenario against it; returns both results. */
async function registerAgainstRegistrar(scenario: string, clientCsv: string): Promise<{ dir: string; client: RunResult; registrar: RunResult }> {
  const w = workDir([join(SIPP_DIR, scenario), join(FIXTURES, 'registrar-uas.xml')]);
  cleanups.push(w.cleanup);
  writeFileSync(join(w.dir, 'pairs.csv'), PAIRS);
  writeFileSync(join(w.dir, 'client.csv'), clientCsv);
  const registrar = start('sipp', [
    '-sf', 'registrar-uas.xml', '-inf', 'pairs.csv', '-infindex', 'pairs.csv', '0', '-i', '127.0.0.1', '-p', String(REGISTRAR_PORT),
    '-m', '4', '-timeout', '30s', '-nostdin', '-trace_err', '-trace_msg',
  ], w.dir, 60_000);
  cleanups.push(() => registrar.stop());
  await new Promise((r) => setTimeout(r, 500));
  const client = await start('sipp', [
    '-sf', scenario, '-inf', 'client.csv', '-i', '127.0.0.1', '-p', String(CLIENT_PORT), '-m', '4', '-r', '20', '-nd',
    '-key', 'uas_host', '127.0.0.1', '-key', 'uas_port', String(UAS_CONTACT_PORT), '-key', 'expires', '300',
    '-max_retrans', '2', '-timeout', '30s', '-nostdin', '-trace_err', '-trace_stat', '-stf', 'client_stats.csv', '-fd', '1',
    `127.0.0.1:${REGISTRAR_PORT}`,
  ], w.dir, 60_000).done;
  return { dir: w.dir, client, registrar: await registrar.done };
}

function registrarLog(dir: string): string {
  const name = readdirSync(dir).find((f) => f.startsWith('registrar-uas_') && f.endsWith('_messages.log'));
  return name === undefined ? '' : readFileSync(join(dir, name), 'utf8');
}

describe('register.xml / unregister.xml against a digest-checking registrar', () => {
  it('registers every extension of the CSV: 401, then digest auth accepted, Contact = the UAS', async () => {
    const { dir, client, registrar } = await registerAgainstRegistrar('register.xml', PAIRS);
    expect(client.code, explain(client)).toBe(0);
    expect(registrar.code, explain(registrar)).toBe(0);
    expect(summarizeSippStats(readFileSync(join(dir, 'client_stats.csv'), 'utf8'))).toMatchObject({ successful: 4, failed: 0 });
    const log = registrarLog(dir);
    for (const ext of ['7000', '7001', '7002', '7003']) {
      expect(log).toContain(`Authorization: Digest username="${ext}",realm="asterisk"`);
      expect(log).toContain(`Contact: <sip:${ext}@127.0.0.1:${UAS_CONTACT_PORT}>`);
    }
    expect(log.match(/SIP\/2\.0 401 Unauthorized/g)).toHaveLength(4);
    expect(log.match(/SIP\/2\.0 200 OK/g)).toHaveLength(4);
    expect(log).toMatch(/Expires: 300/);
  }, 90_000);

  it('unregisters with Expires: 0', async () => {
    const { dir, client } = await registerAgainstRegistrar('unregister.xml', PAIRS);
    expect(client.code, explain(client)).toBe(0);
    const log = registrarLog(dir);
    expect(log.match(/SIP\/2\.0 200 OK/g)).toHaveLength(4);
    expect(log).toMatch(/Expires: 0/);
    expect(log).not.toMatch(/Expires: [1-9]/);
  }, 90_000);

  it('fails the registration whose password is wrong, and only that one', async () => {
    const wrong = PAIRS.replace('7001;pw-7001-b2', '7001;not-the-password');
    const { dir, client } = await registerAgainstRegistrar('register.xml', wrong);
    expect(client.code, explain(client)).toBe(1);
    expect(summarizeSippStats(readFileSync(join(dir, 'client_stats.csv'), 'utf8'))).toMatchObject({ successful: 3, failed: 1 });
    expect(registrarLog(dir).match(/SIP\/2\.0 403 Forbidden/g)).toHaveLength(1);
  }, 90_000);
});
