import { afterEach, describe, expect, it } from 'vitest';
import { MemoryPairStore } from '../../../control/src/alloc/index.js';
import { createControlApi, type ControlApi } from '../../../control/src/http/index.js';
import { registerNodeRoutes, type NodeControl } from '../../../control/src/http/node-routes.js';

const TOKEN = 'node-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };

let api: ControlApi | null = null;
afterEach(async () => {
  await api?.close();
  api = null;
});

async function start(control: NodeControl): Promise<string> {
  api = createControlApi({ store: new MemoryPairStore({ poolSize: 2 }), token: TOKEN });
  registerNodeRoutes(api.app, control);
  const address = await api.listen();
  if (!('url' in address)) throw new Error('expected TCP');
  return address.url;
}

const drain = (): { calls: number; timeoutMs: number } => ({ calls: 0, timeoutMs: 1000 });

describe('POST /v1/node/workers/:shard/terminate (the fault drill)', () => {
  it('is absent unless the node has drills on', async () => {
    const url = await start({ drain });
    expect((await fetch(`${url}/v1/node/workers/0/terminate`, { method: 'POST', headers: AUTH })).status).toBe(404);
  });

  it('terminates the worker named, answers its pairs, 404 for no such worker, 400 for a bad index, 401 without the token', async () => {
    const asked: number[] = [];
    const url = await start({
      drain,
      terminateWorker: (shard) => {
        asked.push(shard);
        return Promise.resolve(shard === 1 ? { shard, pairs: ['pair_003'] } : null);
      },
    });
    const post = (path: string, headers: Record<string, string> = AUTH): Promise<Response> => fetch(`${url}${path}`, { method: 'POST', headers });
    const ok = await post('/v1/node/workers/1/terminate');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ shard: 1, pairs: ['pair_003'] });
    const missing = await post('/v1/node/workers/7/terminate');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'no engine worker 7' });
    expect((await post('/v1/node/workers/x/terminate')).status).toBe(400);
    expect((await post('/v1/node/workers/1/terminate', {})).status).toBe(401);
    expect(asked).toEqual([1, 7]);
  });
});
