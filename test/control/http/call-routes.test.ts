import { afterEach, describe, expect, it } from 'vitest';
import { MemoryPairStore } from '../../../control/src/alloc/index.js';
import { createControlApi, registerCallRoutes, type ControlApi } from '../../../control/src/http/index.js';
import { CallRecords } from '../../../control/src/records/index.js';
import { recordFixture } from '../records/support.js';

const TOKEN = 'calls-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };

let api: ControlApi | null = null;
afterEach(async () => {
  await api?.close();
  api = null;
});

async function start(records: CallRecords): Promise<string> {
  api = createControlApi({ store: new MemoryPairStore({ poolSize: 2 }), token: TOKEN });
  registerCallRoutes(api.app, { records });
  const address = await api.listen();
  if (!('url' in address)) throw new Error('expected TCP');
  return address.url;
}

async function get(url: string, path: string, headers: Record<string, string> = AUTH): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}${path}`, { headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const at = (s: number): string => new Date(Date.UTC(2026, 11, 7, 10, 0, s)).toISOString();

describe('GET /v1/calls and /v1/calls/:id', () => {
  it('lists records newest first, whole (legs, drop reasons, translation counters), with since, pairId, order and limit', async () => {
    const records = new CallRecords();
    const r1 = recordFixture({ endedAt: at(1) });
    const r2 = recordFixture({ endedAt: at(2), pairId: 'pair_002' });
    const r3 = recordFixture({ endedAt: at(3) });
    r3.legs!.A.translation = { speech: { utterances: 3 }, framesOffered: 150 };
    for (const r of [r1, r2, r3]) records.add(r);
    const url = await start(records);

    const all = await get(url, '/v1/calls');
    expect(all.status).toBe(200);
    expect(all.body).toEqual({ calls: [r3, r2, r1], source: 'memory' });
    expect((await get(url, `/v1/calls?since=${encodeURIComponent(at(2))}`)).body['calls']).toEqual([r3, r2]);
    expect((await get(url, '/v1/calls?since=2026-12-07T11:00:02%2B01:00&order=asc')).body['calls']).toEqual([r2, r3]);
    expect((await get(url, '/v1/calls?pairId=pair_002')).body['calls']).toEqual([r2]);
    expect((await get(url, '/v1/calls?limit=1')).body['calls']).toEqual([r3]);

    const one = await get(url, `/v1/calls/${r2.id}`);
    expect(one).toEqual({ status: 200, body: r2 });
    expect((await get(url, `/v1/calls/${r2.id.toUpperCase()}`)).body).toEqual(r2);
  });

  it('validates its inputs: 400 for a bad since, limit, order, pairId or id; 404 for an unknown id', async () => {
    const url = await start(new CallRecords());
    for (const [path, code] of [
      ['/v1/calls?since=yesterday', 'BAD_REQUEST'],
      ['/v1/calls?since=2026-12-07', 'BAD_REQUEST'], // a date without time and zone is ambiguous
      ['/v1/calls?since=2026-12-07T10:00:00', 'BAD_REQUEST'],
      ['/v1/calls?since=2026-13-07T10:00:00Z', 'BAD_REQUEST'],
      ['/v1/calls?limit=0', 'BAD_REQUEST'],
      ['/v1/calls?limit=1001', 'BAD_REQUEST'],
      ['/v1/calls?limit=ten', 'BAD_REQUEST'],
      ['/v1/calls?order=newest', 'BAD_REQUEST'],
      ['/v1/calls?pairId=pair%20001', 'INVALID_PAIR_ID'],
      ['/v1/calls?what=1', 'BAD_REQUEST'],
      ['/v1/calls/not-a-uuid', 'INVALID_CALL_ID'],
    ] as const) {
      const res = await get(url, path);
      expect(res.status, path).toBe(400);
      expect(res.body['code'], path).toBe(code);
      expect(typeof res.body['message'], path).toBe('string');
    }
    const missing = await get(url, '/v1/calls/00000000-0000-4000-8000-000000000000');
    expect(missing).toEqual({ status: 404, body: { code: 'CALL_NOT_FOUND', message: 'no call record 00000000-0000-4000-8000-000000000000' } });
  });

  it('needs the bearer token, like every other route', async () => {
    const records = new CallRecords();
    const record = recordFixture();
    records.add(record);
    const url = await start(records);
    for (const path of ['/v1/calls', `/v1/calls/${record.id}`]) {
      expect((await get(url, path, {})).status).toBe(401);
      expect((await get(url, path, { authorization: 'Bearer wrong-token-0123456789' })).body).toMatchObject({ code: 'UNAUTHORIZED' });
    }
  });
});
