import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../common/src/errors.js';
import { parseEngineConfig } from '../../../engine/src/index.js';

function keyOf(input: unknown): string | null {
  try {
    parseEngineConfig(input);
    return null;
  } catch (err) {
    if (err instanceof ConfigError) return err.key;
    throw err;
  }
}

describe('engine config: ports and sources', () => {
  it('refuses a port range that cannot hold a pair, naming portRange', () => {
    expect(keyOf({ workers: 1, portRange: { min: 22000, max: 22000 } })).toBe('portRange');
    expect(() => parseEngineConfig({ workers: 1, portRange: { min: 22000, max: 22000 } })).toThrow(/at least 2 ports/);
    expect(keyOf({ workers: 1, portRange: { min: 22000, max: 22001 } })).toBeNull();
  });

  it("refuses a range some worker's share cannot hold a pair in", () => {
    // Shards take interleaved ports: 3 ports over 2 workers leaves shard 1 a single port.
    expect(keyOf({ workers: 2, portRange: { min: 22000, max: 22002 } })).toBe('portRange');
    expect(() => parseEngineConfig({ workers: 2, portRange: { min: 22000, max: 22002 } })).toThrow(/2 workers need at least 4/);
    expect(keyOf({ workers: 2, portRange: { min: 22000, max: 22003 } })).toBeNull();
  });

  it('does not latch by default and takes 4 packets of probation, as Asterisk', () => {
    const config = parseEngineConfig({ workers: 1 });
    expect(config.latch).toBe(false);
    expect(config.probationPackets).toBe(4);
    expect(keyOf({ workers: 1, probationPackets: 0 })).toBe('probationPackets');
    expect(keyOf({ workers: 1, latch: 'yes' })).toBe('latch');
  });
});
