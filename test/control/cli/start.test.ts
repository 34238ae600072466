import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AsteriskSimulator, tone } from '../../../tools/asterisk-simulator/ari/index.js';
import { closedPort, freePortRange } from '../../support/ports.js';
import { tandemCli, type TandemCliProcess } from '../../support/tandem-cli-process.js';

/** `--ports` for a free range of its own (test/support/ports.ts). */
async function freePorts(size = 100): Promise<string> {
  const r = await freePortRange(size);
  return `${r.min}-${r.max}`;
}
import { waitFor } from '../../support/rtp-peer.js';

const cli = fileURLToPath(new URL('../../../tools/cli/main.ts', import.meta.url));

/** `tandem start` as its own process (one worker, no API), everything it writes collected in `output()`. */
function startTandem(env: NodeJS.ProcessEnv, ports: string): TandemCliProcess {
  return tandemCli(['start', '--workers', '1', '--ports', ports, '--no-api'], env);
}

describe('tandem start', () => {
  it('runs the control plane and the engine against ARI_URL, serves calls, and stops cleanly on SIGTERM', async () => {
    const sim = await AsteriskSimulator.start({ username: 'tandem', password: 'ari-secret', endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 20, audio: tone(880) } } });
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'start', '--workers', '1', '--ports', await freePorts()], {
      env: { ...process.env, ARI_URL: sim.ariUrl, ARI_PASSWORD: 'ari-secret', TANDEM_LOG_LEVEL: 'warn', REDIS_URL: '', DATABASE_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      // Starting from the TypeScript sources (tsx) on a machine busy with other tests can take a minute.
      await waitFor(() => out.includes('tandem running'), 120_000);
      const call = sim.placeCall({ callerNumber: '555', audio: tone(440) });
      await waitFor(() => sim.bridges().length === 2 && sim.channels().length === 4, 10_000);
      sim.hangup(call.channelId);
      await waitFor(() => sim.channels().length === 0 && sim.bridges().length === 0, 10_000);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).not.toMatch(/"level":50/); // no error logged
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await sim.close();
    }
  }, 180_000);

  it('refuses to start without ARI_URL, with a clear message and exit code 1', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'start'], { env: { ...process.env, ARI_URL: '', ARI_PASSWORD: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(err).toContain('ARI_URL');
  }, 120_000);

  it('refuses slin16 over RTP externalMedia before connecting anywhere, saying why and what to use', async () => {
    // ARI_URL points nowhere: the refusal has to come first.
    const { TANDEM_MEDIA_TRANSPORT: _unset, ...env } = process.env;
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'start', '--no-api'], {
      env: { ...env, ARI_URL: 'http://127.0.0.1:1', ARI_PASSWORD: 'x', TANDEM_CODEC: 'slin16', REDIS_URL: '', DATABASE_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(err).toContain('Asterisk does not play slin16 received over RTP externalMedia');
    expect(err).toContain('--media websocket');
  }, 120_000);

  it('refuses --io native when the batched I/O addon cannot load, saying why, before connecting anywhere', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'start', '--no-api', '--workers', '1', '--io', 'native'], {
      env: { ...process.env, ARI_URL: 'http://127.0.0.1:1', ARI_PASSWORD: 'x', REDIS_URL: '', DATABASE_URL: '', TANDEM_NATIVE_IO_ADDON: '/nonexistent/udp_batch.node' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(out).toContain('batched socket I/O was asked for (--io native) but is unavailable');
    expect(out).toContain('/nonexistent/udp_batch.node');
    expect(out).not.toContain('ARI not reachable');
  }, 120_000);

  it('falls back from --io auto to node:dgram with one notice when the addon cannot load', async () => {
    const port = await closedPort();
    const tandem = startTandem({ ARI_URL: `http://127.0.0.1:${port}`, ARI_PASSWORD: 'x', TANDEM_IO: 'auto', TANDEM_NATIVE_IO_ADDON: '/nonexistent/udp_batch.node' }, '29100-29199');
    try {
      await tandem.says('batched socket I/O unavailable, using node:dgram');
      await tandem.says(`ARI not reachable at http://127.0.0.1:${port}, retrying in `);
      expect(tandem.output().split('batched socket I/O unavailable').length - 1).toBe(1);
      tandem.kill('SIGTERM');
      expect(await tandem.exited).toBe(0);
    } finally {
      tandem.kill('SIGKILL');
    }
  }, 120_000);

  it('waits for an Asterisk that is not up yet, saying so, and serves once it is', async () => {
    const port = await closedPort();
    const tandem = startTandem({ ARI_URL: `http://127.0.0.1:${port}`, ARI_PASSWORD: 'late-secret' }, await freePorts());
    let sim: AsteriskSimulator | null = null;
    try {
      await tandem.says(`ARI not reachable at http://127.0.0.1:${port}, retrying in `);
      expect(tandem.output()).toContain(`ECONNREFUSED 127.0.0.1:${port}`);
      sim = await AsteriskSimulator.start({ username: 'tandem', password: 'late-secret', port });
      await tandem.says('tandem running');
      expect(sim.isAppConnected('pair_session')).toBe(true);
      tandem.kill('SIGTERM');
      expect(await tandem.exited).toBe(0);
      expect(tandem.output()).not.toContain('late-secret');
    } finally {
      tandem.kill('SIGKILL');
      await sim?.close();
    }
  }, 300_000);

  it('stops cleanly on SIGTERM while still waiting for Asterisk', async () => {
    const port = await closedPort();
    const tandem = startTandem({ ARI_URL: `http://127.0.0.1:${port}`, ARI_PASSWORD: 'x' }, await freePorts());
    try {
      await tandem.says('retrying in');
      tandem.kill('SIGTERM');
      expect(await tandem.exited).toBe(0);
      expect(tandem.output()).toContain('stopped while starting');
    } finally {
      tandem.kill('SIGKILL');
    }
  }, 180_000);

  it('exits 1 at once on refused ARI credentials, naming what to fix', async () => {
    const sim = await AsteriskSimulator.start({ username: 'tandem', password: 'right-secret' });
    const tandem = startTandem({ ARI_URL: sim.ariUrl, ARI_PASSWORD: 'wrong-secret' }, await freePorts());
    try {
      expect(await tandem.exited).toBe(1);
      expect(tandem.output()).toMatch(/tandem: connect: ARI at http:\/\/127\.0\.0\.1:\d+ refused user "tandem" \(401\): ARI_USERNAME and ARI_PASSWORD must match/);
      expect(tandem.output()).not.toContain('retrying');
      expect(tandem.output()).not.toContain('wrong-secret');
    } finally {
      tandem.kill('SIGKILL');
      await sim.close();
    }
  }, 180_000);
});
