import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { AmiConnection, parseAmiEvent, parseAmiMessage, type AmiEvent } from '../../../control/src/ami/index.js';
import { AmiSimulator } from '../../../tools/asterisk-simulator/ami/index.js';
import { waitFor } from './support.js';

/**
 * Pins the concrete reasons (control/src/ami/README.md) why the AMI transport is
 * our own and not asterisk-manager 0.2.0's socket. If an upgrade fixes them,
 * these tests fail and the decision should be revisited.
 */
const require = createRequire(import.meta.url);

type AmItem = Record<string, unknown>;
interface AmManager {
  on(event: string, listener: (item: AmItem) => void): void;
  action(action: Record<string, string>, callback: (err: AmItem | undefined, res: AmItem | undefined) => void): string;
  disconnect(): void;
}
const Manager = require('asterisk-manager') as (port: number, host: string, user: string, secret: string, events: boolean) => AmManager;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function both() {
  const sim = await AmiSimulator.start();
  const am = Manager(sim.port, '127.0.0.1', 'tnd', 'tnd', true);
  const items: Array<[string, AmItem]> = [];
  am.on('managerevent', (e) => items.push(['managerevent', e]));
  am.on('asterisk', (e) => items.push(['asterisk', e]));
  const ours = new AmiConnection({ port: sim.port, username: 'tnd', secret: 'tnd', heartbeatIntervalMs: 0 });
  const events: AmiEvent[] = [];
  ours.on('event', (e) => events.push(e));
  cleanups.push(async () => {
    am.disconnect();
    await ours.close();
    await sim.close();
  });
  await ours.connect();
  await waitFor(() => items.some(([, e]) => e['event'] === 'FullyBooted'), 'asterisk-manager login');
  return { sim, am, items, ours, events };
}

describe('asterisk-manager 0.2.0 versus our transport, on the same simulator bytes', () => {
  it('a value ending in a bare \\n splits the message in two: fields after it lose their event (ours keeps one message)', async () => {
    const { sim, items, events } = await both();
    sim.emitRaw([['Event', 'X'], ['Message', 'a\n'], ['Other', 'b']]);
    await waitFor(() => items.some(([, e]) => e['other'] === 'b') && events.some((e) => e.type === 'unknown' && e.name === 'X'), 'both parsed');
    const am = items.filter(([, e]) => e['event'] === 'X' || e['other'] === 'b');
    expect(am).toEqual([
      ['managerevent', { event: 'X', message: 'a' }],
      ['asterisk', { other: 'b' }],
    ]);
    const ourX = events.find((e) => e.type === 'unknown' && e.name === 'X');
    expect(ourX?.message.fields).toEqual([
      ['Event', 'X'],
      ['Message', 'a\n'],
      ['Other', 'b'],
    ]);
  });

  it('the recorded "No Contacts found\\n" answer loses its \\n and produces a spurious empty item', async () => {
    const { am, items } = await both();
    const res = await new Promise<AmItem | undefined>((resolve) => am.action({ action: 'PJSIPShowContacts' }, (err) => resolve(err)));
    expect(res?.['message']).toBe('No Contacts found');
    await waitFor(() => items.some(([k, e]) => k === 'asterisk' && Object.keys(e).length === 0), 'empty item');
  });

  it('keys are lower-cased and their order across keys is lost, so recorded messages cannot be reproduced', async () => {
    const { items } = await both();
    const booted = items.find(([, e]) => e['event'] === 'FullyBooted')?.[1];
    expect(Object.keys(booted ?? {})).toEqual(['event', 'privilege', 'uptime', 'lastreload', 'status']);
    expect(parseAmiEvent(parseAmiMessage('Event: FullyBooted\r\nLastReload: 1\r\n\r\n')).message.fields[1]).toEqual(['LastReload', '1']);
  });

  it('an unanswered action never settles (no timeout); ours rejects with TimeoutError', async () => {
    const { sim, am, ours } = await both();
    sim.setResponsive(false);
    let settled = false;
    am.action({ action: 'Ping' }, () => {
      settled = true;
    });
    await expect(ours.action('Ping', {}, { timeoutMs: 300 })).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(settled).toBe(false);
  });

  it('keepConnected binds the reconnect to the wrong object (this.emit is undefined there: a TypeError from a timer)', () => {
    const source = readFileSync(require.resolve('asterisk-manager/lib/ami.js'), 'utf8');
    expect(source).toContain("this.connect.bind(context, this.options.port, this.options.host, this.login.bind(this))");
    expect(source).toContain("context.connection.on('connect', this.emit.bind(this, 'connect'))");
    // No jitter, fixed 10 s steps, and no heartbeat anywhere in the package.
    expect(source).toContain('context.backoff += 10000');
    expect(source.toLowerCase()).not.toContain('ping');
  });
});
