import dgram from 'node:dgram';
import { mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaEngine } from '../../../engine/src/index.js';
import { freePortRange, type PortRange } from '../../support/ports.js';

/** Files under `dir` this process holds open (the engine's workers share its descriptor table). */
async function openFilesUnder(dir: string): Promise<string[]> {
  const open: string[] = [];
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target.startsWith(dir)) open.push(target);
  }
  return open;
}

describe('a pair that cannot open releases everything it took', () => {
  let dir = '';
  let engine: MediaEngine;
  let ports: PortRange;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tandem-open-'));
    // Three ports: one pair, and one port over.
    // dgram: a port per leg, so two ports hold one pair and the range runs out (a shared native port never does).
    ports = await freePortRange(3);
    engine = await MediaEngine.start({ workers: 1, portRange: ports, recording: { dir }, io: 'dgram' });
  });

  afterAll(async () => {
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('leaves no recording file and no open descriptor behind when the port range is exhausted', async () => {
    const first = await engine.openPair({ pairId: 'rec_1', extA: '7000', extB: '7001', record: true });
    expect(first.recordingPath).toBeDefined();

    // Leg A gets the last port, leg B none.
    await expect(engine.openPair({ pairId: 'rec_2', extA: '7002', extB: '7003', record: true })).rejects.toMatchObject({ code: 'PORT_RANGE_EXHAUSTED' });
    // Not even leg A's port: someone else holds it.
    const squatter = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => squatter.bind(ports.max, '127.0.0.1', resolve));
    try {
      await expect(engine.openPair({ pairId: 'rec_3', extA: '7004', extB: '7005', record: true })).rejects.toMatchObject({ code: 'PORT_RANGE_EXHAUSTED' });
    } finally {
      squatter.close();
    }

    expect(engine.hasPair('rec_2')).toBe(false);
    expect(engine.hasPair('rec_3')).toBe(false);
    expect((await readdir(dir)).filter((name) => !name.startsWith('rec_1-'))).toEqual([]);
    expect(await openFilesUnder(dir)).toEqual([first.recordingPath]);
    // The port the failed pair had bound is free again: a pair fits once rec_1 is gone.
    expect(await engine.closePair('rec_1')).not.toBeNull();
    const again = await engine.openPair({ pairId: 'rec_4', extA: '7006', extB: '7007' });
    expect([again.legA.port, again.legB.port].sort()).toEqual([ports.min, ports.min + 1]);
    await engine.closePair('rec_4');
  });
});
