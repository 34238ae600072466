import { afterEach, describe, expect, it } from 'vitest';
import { AmiActionError, AmiConnection, SorceryCacheExpirer, amiCommand, endpointVisible, type AmiActionSender } from '../../../control/src/ami/index.js';
import { AmiSimulator } from '../../../tools/asterisk-simulator/ami/index.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(sorceryCaches?: string[]) {
  const sim = await AmiSimulator.start(sorceryCaches ? { sorceryCaches } : {});
  const ami = new AmiConnection({ port: sim.port, username: 'tnd', secret: 'tnd', heartbeatIntervalMs: 0 });
  cleanups.push(async () => {
    await ami.close();
    await sim.close();
  });
  await ami.connect();
  return { sim, ami };
}

describe('SorceryCacheExpirer', () => {
  it('sends SorceryMemoryCacheExpireObject with the default <module>/<type> cache names', async () => {
    const { sim, ami } = await setup();
    const expirer = new SorceryCacheExpirer(ami);
    await expirer.expire('endpoint', '1001');
    await expirer.expire('aor', '1001');
    await expirer.expire('auth', '1001');
    expect(sim.sorceryExpirations).toEqual([
      { cache: 'res_pjsip/endpoint', object: '1001' },
      { cache: 'res_pjsip/aor', object: '1001' },
      { cache: 'res_pjsip/auth', object: '1001' },
    ]);
    const sent = sim.actions.filter((a) => a.action === 'SorceryMemoryCacheExpireObject')[0];
    expect(sent?.fields.map(([k]) => k)).toEqual(['Action', 'Cache', 'Object', 'ActionID']);
  });

  it('uses configured cache names; an unknown cache is an AmiActionError', async () => {
    const { sim, ami } = await setup(['ps_endpoint_cache']);
    const expirer = new SorceryCacheExpirer(ami, { caches: { endpoint: 'ps_endpoint_cache' } });
    await expirer.expire('endpoint', '7000');
    expect(sim.sorceryExpirations).toEqual([{ cache: 'ps_endpoint_cache', object: '7000' }]);
    await expect(expirer.expire('aor', '7000')).rejects.toMatchObject({ code: 'AMI_ACTION_FAILED', serverMessage: 'The provided cache does not exist' });
  });

  it('an object that was not cached counts as expired; other failures propagate', async () => {
    const calls: string[] = [];
    const notCached: AmiActionSender = {
      action: (name) => {
        calls.push(name);
        return Promise.reject(new AmiActionError(name, 'The provided object could not be expired from the cache'));
      },
    };
    await expect(new SorceryCacheExpirer(notCached).expire('endpoint', '7000')).resolves.toBeUndefined();
    expect(calls).toEqual(['SorceryMemoryCacheExpireObject']);
    const down: AmiActionSender = { action: () => Promise.reject(new Error('AMI down')) };
    await expect(new SorceryCacheExpirer(down).expire('endpoint', '7000')).rejects.toThrow('AMI down');
    await expect(new SorceryCacheExpirer(down).expire('endpoint', '')).rejects.toBeInstanceOf(TypeError);
  });
});

describe('amiCommand / endpointVisible', () => {
  it('returns Output lines and tells whether Asterisk sees an endpoint', async () => {
    const { sim, ami } = await setup();
    const lines = await amiCommand(ami, 'pjsip show endpoint 7000');
    expect(lines[12]).toMatch(/^ Endpoint: {2}7000\/7000 +Unavailable +0 of inf$/);
    expect(await endpointVisible(ami, '7000')).toBe(true);
    expect(await endpointVisible(ami, '7100')).toBe(false);
    sim.addEndpoint({ id: '7100', callerid: '"Changed Name" <7199>' });
    expect(await endpointVisible(ami, '7100')).toBe(true);
    sim.removeEndpoint('7100');
    expect(await endpointVisible(ami, '7100')).toBe(false);
    await expect(endpointVisible(ami, '7000\r\nAction: Logoff')).rejects.toBeInstanceOf(TypeError);
  });
});
