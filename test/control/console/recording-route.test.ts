import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TandemNode } from '../../../control/src/node/tandem-node.js';
import { parseRange } from '../../../control/src/http/recording-routes.js';
import { AsteriskSimulator, tone } from '../../../tools/asterisk-simulator/ari/index.js';
import { waitFor } from '../../support/rtp-peer.js';
import { channelDbfs, decodeOggOpusStream, oggStreams } from '../../support/ogg-opus-decode.js';

/** A call recorded as Ogg/Opus by `tandem start`'s parts, fetched from the API the console plays it from. */
const TOKEN = 'recording-route-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

let sim: AsteriskSimulator;
let node: TandemNode;
let base: string;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tandem-rec-route-'));
  sim = await AsteriskSimulator.start({ username: 'tandem', password: 'test-secret', endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 50 } } });
  node = await TandemNode.start({
    engine: { workers: 1, portRange: { min: 33800, max: 33899 }, requestTimeoutMs: 30_000, recording: { dir, format: 'opus' } },
    store: { poolSize: 1 },
    ari: { url: sim.ariUrl, username: 'tandem', password: 'test-secret' },
    calls: { record: true },
    api: { token: TOKEN },
    processMetrics: false,
  });
  const address = node.apiAddress;
  if (address === null || !('url' in address)) throw new Error('expected a TCP API');
  base = address.url;
}, 60_000);

afterAll(async () => {
  await node?.close();
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('GET /v1/calls/:id/recording', () => {
  it("serves a finished call's Ogg/Opus recording, whole or by byte range, with the caller's tone in it", async () => {
    const call = sim.placeCall({ callerNumber: '5550199', audio: tone(440, 8000) });
    // Two seconds of the caller's audio reached the engine.
    await waitFor(() => (node.app.pair('pair_001')?.state ?? '') === 'active', 30_000);
    const rx = async (): Promise<number> => (await node.engine.stats()).shards.flatMap((s) => s.pairStats).find((p) => p.pairId === 'pair_001')?.legA.rxPackets ?? 0;
    for (let n = 0; n < 100; n = await rx()) await new Promise((r) => setTimeout(r, 100));
    sim.hangup(call.channelId);
    let recordId = '';
    await waitFor(() => {
      void node.records.list({ limit: 1 }).then((l) => (recordId = l.calls[0]?.id ?? ''));
      return recordId !== '';
    }, 30_000);

    let res = await fetch(`${base}/v1/calls/${recordId}/recording`, { headers: auth });
    for (let i = 0; i < 300 && res.status === 404; i++) {
      await new Promise((r) => setTimeout(r, 100));
      res = await fetch(`${base}/v1/calls/${recordId}/recording`, { headers: auth });
    }
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('audio/ogg');
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    const file = Buffer.from(await res.arrayBuffer());
    expect((await readdir(dir)).every((f) => f.endsWith('.opus'))).toBe(true);

    const streams = [...oggStreams(file).values()];
    expect(streams).toHaveLength(2);
    const said = await decodeOggOpusStream(streams[0]!, 8000);
    // At least the two seconds the engine counted, and the caller's tone on the left (leg A).
    expect(said.length / 2 / 8000).toBeGreaterThanOrEqual(1.9);
    expect(channelDbfs(said, 0, 4000, 12_000)).toBeGreaterThan(-22);

    const part = await fetch(`${base}/v1/calls/${recordId}/recording`, { headers: { ...auth, range: 'bytes=10-109' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 10-109/${file.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(file.subarray(10, 110))).toBe(true);
    const beyond = await fetch(`${base}/v1/calls/${recordId}/recording`, { headers: { ...auth, range: `bytes=${file.length}-` } });
    expect(beyond.status).toBe(416);

    // Authenticated like the rest of the API; an unknown call is a 404.
    expect((await fetch(`${base}/v1/calls/${recordId}/recording`)).status).toBe(401);
    expect((await fetch(`${base}/v1/calls/no-such-record/recording`, { headers: auth })).status).toBe(404);
  }, 120_000);

  it('reads byte ranges as RFC 9110 says', () => {
    expect(parseRange(undefined, 100)).toBeNull();
    expect(parseRange('bytes=0-9', 100)).toEqual([0, 9]);
    expect(parseRange('bytes=90-', 100)).toEqual([90, 99]);
    expect(parseRange('bytes=-10', 100)).toEqual([90, 99]);
    expect(parseRange('bytes=50-500', 100)).toEqual([50, 99]);
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,5-6', 100)).toBeNull();
  });
});
