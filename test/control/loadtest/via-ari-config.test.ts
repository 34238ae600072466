import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../common/src/errors.js';
import { parseViaAriConfig, registerViaAriOptions, viaAriOptionsFromFlags, type ViaAriFlags } from '../../../tools/call-load/index.js';

describe('via-ARI settings', () => {
  it('derives concurrency, pool and the ARI bound from rate, hold and sessionlimit', () => {
    const c = parseViaAriConfig({});
    expect(c).toMatchObject({ calls: 100, ratePerSecond: 50, holdSeconds: 2, maxConcurrent: 100, poolSize: 200, sessionLimit: 100, ariMaxConcurrentRequests: 40, ringMs: 0 });
    expect(c.processMode).toBe('node-process');
    expect(parseViaAriConfig({ sessionLimit: 10, processMode: 'in-process' }).ariMaxConcurrentRequests).toBe(7);
    // tandem start has no setting for its ARI bound: a child always runs with its own 40.
    expect(parseViaAriConfig({ sessionLimit: 10 }).ariMaxConcurrentRequests).toBe(40);
    expect(parseViaAriConfig({ ratePerSecond: 10, holdSeconds: 1, poolSize: 3 })).toMatchObject({ maxConcurrent: 20, poolSize: 3 });
    expect(parseViaAriConfig({ calls: 30, ratePerSecond: 300, holdSeconds: 1.5 }).maxConcurrent).toBe(30);
  });

  it('names the wrong key', () => {
    const keyOf = (input: unknown): string => {
      try {
        parseViaAriConfig(input);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).key;
      }
      return 'no error';
    };
    expect(keyOf({ ratePerSecond: 0 })).toBe('ratePerSecond');
    expect(keyOf({ sessionLimit: 3 })).toBe('sessionLimit');
    expect(keyOf({ calls: 1.5 })).toBe('calls');
    expect(keyOf({ bogus: 1 })).toBe('loadtest');
    expect(keyOf({ poolSize: 100, portRange: { min: 31000, max: 31099 } })).toBe('portRange');
    expect(keyOf({ ariMaxConcurrentRequests: 7 })).toBe('ariMaxConcurrentRequests');
    expect(keyOf({ processMode: 'in-process', cpuProfileDir: '/tmp/x' })).toBe('cpuProfileDir');
    expect(keyOf({ processMode: 'elsewhere' })).toBe('processMode');
    expect(keyOf({ redisUrl: 'http://127.0.0.1:6379' })).toBe('redisUrl');
  });

  it('the CLI flags map onto the settings', () => {
    const program = new Command().exitOverride().configureOutput({ writeErr: () => undefined });
    let seen: ViaAriFlags | null = null;
    const cmd = program.command('loadtest').option('--workers <n>', 'workers', Number).option('--json <file>').option('--ports <range>');
    registerViaAriOptions(cmd).action((flags: ViaAriFlags) => {
      seen = flags;
    });
    program.parse(['loadtest', '--via-ari', '--calls', '40', '--rate', '20', '--hold', '1.5', '--hold-from', 'set-up', '--session-limit', '10', '--pool', '5', '--ring-ms', '200', '--ports', '31000-31999', '--json', 'x.json'], { from: 'user' });
    expect(seen).not.toBeNull();
    const flags = seen as unknown as ViaAriFlags;
    expect(flags.viaAri).toBe(true);
    expect(viaAriOptionsFromFlags(flags)).toEqual({ calls: 40, ratePerSecond: 20, holdSeconds: 1.5, holdFrom: 'set-up', sessionLimit: 10, poolSize: 5, ringMs: 200, portRange: { min: 31000, max: 31999 } });
    expect(() => viaAriOptionsFromFlags({ ports: '31000' })).toThrow(ConfigError);
    program.parse(['loadtest', '--via-ari', '--in-process', '--redis-url', 'redis://127.0.0.1:6379', '--ari-concurrency', '7'], { from: 'user' });
    expect(viaAriOptionsFromFlags(seen as unknown as ViaAriFlags)).toEqual({ processMode: 'in-process', redisUrl: 'redis://127.0.0.1:6379', ariMaxConcurrentRequests: 7 });
    expect(() => program.parse(['loadtest', '--via-ari', '--in-process', '--node-process'], { from: 'user' })).toThrow();
    expect(() => program.parse(['loadtest', '--via-ari', '--calls', '0'], { from: 'user' })).toThrow();
  });
});
