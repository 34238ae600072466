import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../../control/src/realtime/migrations/index.js';
import { DEFAULT_REALTIME_SETTINGS } from '../../../control/src/realtime/policy.js';

const dir = fileURLToPath(new URL('../../../asterisk/', import.meta.url));

/** Section → [key, value][] of an Asterisk/ODBC ini file (both `=` and `=>`), comments dropped. */
function parseIni(name: string): Map<string, [string, string][]> {
  const sections = new Map<string, [string, string][]>();
  let current: [string, string][] | undefined;
  for (const raw of readFileSync(`${dir}${name}`, 'utf8').split('\n')) {
    const line = raw.replace(/;.*$/, '').trim();
    if (line === '') continue;
    const sec = /^\[([^\]]+)\]$/.exec(line);
    if (sec) {
      current = [];
      sections.set(sec[1]!, current);
      continue;
    }
    const kv = /^([^=]+?)\s*=>?\s*(.*)$/.exec(line);
    if (!kv || !current) throw new Error(`${name}: cannot parse "${raw}"`);
    current.push([kv[1]!, kv[2]!]);
  }
  return sections;
}

const get = (entries: [string, string][] | undefined, key: string): string[] =>
  (entries ?? []).filter(([k]) => k === key).map(([, v]) => v);

describe('asterisk/ realtime configuration chain', () => {
  const odbcinst = parseIni('odbcinst.ini');
  const odbc = parseIni('odbc.ini');
  const resOdbc = parseIni('res_odbc.conf');
  const extconfig = parseIni('extconfig.conf');
  const sorcery = parseIni('sorcery.conf');
  const allSql = MIGRATIONS.map((m) => m.sql).join('\n');

  it('sorcery realtime tables are mapped in extconfig and created by the migrations', () => {
    const realtime = (sorcery.get('res_pjsip') ?? [])
      .map(([k, v]) => [k, /^realtime,(\w+)$/.exec(v)?.[1]] as const)
      .filter((x): x is readonly [string, string] => x[1] !== undefined);
    expect(realtime.map(([k]) => k).sort()).toEqual(['aor', 'auth', 'endpoint']);
    for (const [, table] of realtime) {
      expect(get(extconfig.get('settings'), table), table).toHaveLength(1);
      expect(allSql).toContain(`CREATE TABLE ${table} (`);
    }
    // the static wizard stays first so pjsip.conf objects remain visible
    const endpointWizards = get(sorcery.get('res_pjsip'), 'endpoint');
    expect(endpointWizards[0]).toMatch(/^config,pjsip\.conf,criteria=type=endpoint$/);
  });

  it('extconfig → res_odbc section → odbc.ini DSN → odbcinst.ini driver', () => {
    const targets = new Set((extconfig.get('settings') ?? []).map(([, v]) => v));
    expect(targets.size).toBe(1);
    const [engine, connection] = [...targets][0]!.split(',');
    expect(engine).toBe('odbc');
    const section = resOdbc.get(connection!);
    expect(section, `res_odbc.conf [${connection}]`).toBeDefined();
    expect(get(section, 'enabled')).toEqual(['yes']);
    expect(get(section, 'pre-connect')).toEqual(['yes']);
    const dsn = get(section, 'dsn')[0]!;
    const source = odbc.get(dsn);
    expect(source, `odbc.ini [${dsn}]`).toBeDefined();
    expect(odbcinst.has(get(source, 'Driver')[0]!)).toBe(true);
    // credentials are repeated in both files and must agree
    expect(get(section, 'username')).toEqual(get(source, 'Username'));
    expect(get(section, 'password')).toEqual(get(source, 'Password'));
    // same database as Tandem's default DATABASE_URL
    expect(get(source, 'Servername')).toEqual(['127.0.0.1']);
    expect(get(source, 'Port')).toEqual(['5432']);
    expect(get(source, 'Database')).toEqual(['tandem']);
  });

  it('no realtime dialplan mapping collides with Tandem’s extensions table', () => {
    expect(get(extconfig.get('settings'), 'extensions')).toEqual([]);
  });

  it('the files name the values Tandem writes that Asterisk must agree with', () => {
    const sorceryText = readFileSync(`${dir}sorcery.conf`, 'utf8');
    expect(sorceryText).toContain(DEFAULT_REALTIME_SETTINGS.transport);
    expect(sorceryText).toContain(`qualify_frequency=${DEFAULT_REALTIME_SETTINGS.qualifyFrequency}`);
    for (const f of ['odbc.ini', 'odbcinst.ini', 'res_odbc.conf', 'extconfig.conf', 'sorcery.conf']) {
      expect(readFileSync(`${dir}${f}`, 'utf8'), f).toMatch(/MUST MATCH/);
    }
  });
});
