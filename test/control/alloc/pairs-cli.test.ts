import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../../common/src/errors.js';
import { RedisPairStore } from '../../../control/src/alloc/index.js';
import { registerPairsCommand } from '../../../control/src/cli/commands/pairs.js';
import { REDIS_URL, deletePrefix, testPrefix } from './redis-helpers.js';

/** Runs `tandem pairs …` in-process; returns what it wrote and the exit code it set. */
async function run(args: string[]): Promise<{ out: string; err: string; exitCode: number | undefined }> {
  const program = new Command().exitOverride();
  registerPairsCommand(program);
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((err += String(chunk)), true));
  process.exitCode = undefined;
  try {
    await program.parseAsync(['node', 'tandem', ...args]);
    const exitCode = typeof process.exitCode === 'number' ? process.exitCode : undefined;
    return { out, err, exitCode };
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.exitCode = undefined;
  }
}

describe('tandem pairs', () => {
  const prefix = testPrefix();
  const common = ['--redis-url', REDIS_URL, '--prefix', prefix, '--pool-size', '3'];
  afterEach(async () => {
    await deletePrefix(prefix);
  });

  it('lists, gets and releases pairs of the shared store', async () => {
    const store = new RedisPairStore({ redisUrl: REDIS_URL, keyPrefix: prefix, poolSize: 3 });
    try {
      expect((await run(['pairs', ...common, 'list'])).out).toBe('no pair allocated\n');
      const a = await store.allocate({ callerId: '+123', node: 'n1' });
      const listed = await run(['pairs', ...common, 'list']);
      expect(listed.out).toMatch(/^PAIR_ID\s+EXT_A\s+EXT_B\s+STATE\s+CALLER\s+NODE\s+OWNER/);
      expect(listed.out).toMatch(/pair_001\s+7000\s+7001\s+allocated\s+\+123\s+n1\s+api/);
      const json = await run(['pairs', ...common, 'list', '--json']);
      expect(JSON.parse(json.out)).toEqual([a]);
      expect(JSON.parse((await run(['pairs', ...common, 'get', 'pair_001'])).out)).toEqual(a);
      expect(await run(['pairs', ...common, 'get', 'pair_002'])).toEqual({ out: 'pair_002 is free\n', err: '', exitCode: 1 });
      const refused = await run(['pairs', ...common, 'release', 'pair_001', '--token', 'wrong']);
      expect(refused.exitCode).toBe(1);
      expect(refused.err).toMatch(/another lease token/);
      expect((await run(['pairs', ...common, 'release', 'pair_001', '--token', a.leaseToken])).out).toBe('pair_001 released\n');
      expect(await store.get('pair_001')).toBeNull();
      expect((await run(['pairs', ...common, 'disable', 'pair_001'])).out).toBe('pair_001 disabled\n');
      expect((await run(['pairs', ...common, 'disable', 'pair_001'])).out).toBe('pair_001 was already disabled\n');
      expect((await store.allocate()).pairId).toBe('pair_002');
      await run(['pairs', ...common, 'enable', 'pair_001']);
      expect((await store.allocate()).pairId).toBe('pair_001');
    } finally {
      await store.close();
    }
  });

  it('says what is wrong: no Redis configured, bad PAIR_ID', async () => {
    const saved = process.env['REDIS_URL'];
    delete process.env['REDIS_URL'];
    try {
      await expect(run(['pairs', 'list'])).rejects.toThrow(ConfigError);
    } finally {
      if (saved !== undefined) process.env['REDIS_URL'] = saved;
    }
    await expect(run(['pairs', ...common, 'get', 'pair_9'])).rejects.toThrow(/invalid PAIR_ID "pair_9"/);
  });
});
