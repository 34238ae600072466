import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, InvalidStateError, TimeoutError } from '../../../common/src/errors.js';
import {
  AmiActionError,
  AmiAuthError,
  AmiConnection,
  AmiConnectionError,
  AmiParseError,
  backoffDelay,
  type AmiConnectionEvents,
  type AmiConnectionOptions,
  type AmiEvent,
} from '../../../control/src/ami/index.js';
import { AmiSimulator } from '../../../tools/asterisk-simulator/ami/index.js';
import { nextEvent, waitFor } from './support.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(simOptions: Parameters<typeof AmiSimulator.start>[0] = {}, connOptions: Partial<AmiConnectionOptions> = {}) {
  const sim = await AmiSimulator.start({ endpoints: [{ id: '7000' }, { id: '7001' }], failedLoginDelayMs: 50, ...simOptions });
  const ami = new AmiConnection({
    port: sim.port,
    username: 'tnd',
    secret: 'tnd',
    heartbeatIntervalMs: 0,
    backoff: { initialDelayMs: 20, maxDelayMs: 200 },
    ...connOptions,
  });
  cleanups.push(async () => {
    await ami.close();
    await sim.close();
  });
  return { sim, ami };
}

function logins(sim: AmiSimulator): number {
  return sim.actions.filter((a) => a.action === 'Login').length;
}

describe('AmiConnection against the simulator', () => {
  it('logs in, emits connected, answers Ping', async () => {
    const { ami, sim } = await setup();
    const connected = nextEvent(ami, 'connected');
    await ami.connect();
    await connected;
    expect(ami.state).toBe('loggedIn');
    expect(sim.loggedInCount).toBe(1);
    const { response, events, complete } = await ami.action('Ping');
    expect(response.get('Ping')).toBe('Pong');
    expect(events).toEqual([]);
    expect(complete).toBeNull();
    const login = sim.actions.find((a) => a.action === 'Login');
    expect(login?.fields.map(([k]) => k)).toEqual(['Action', 'Username', 'Secret', 'ActionID']);
  });

  it('collects EventList events until ...Complete and does not re-emit them as events', async () => {
    const { ami, sim } = await setup();
    await ami.connect();
    sim.register('7000', { uri: 'sip:7000@127.0.0.1:5086', ip: '127.0.0.1', port: 5085 });
    const seen: AmiEvent[] = [];
    ami.on('event', (e) => seen.push(e));
    const contacts = await ami.action('PJSIPShowContacts');
    expect(contacts.events.map((m) => m.get('Event'))).toEqual(['ContactList']);
    expect(contacts.complete?.get('ListItems')).toBe('1');
    const endpoint = await ami.action('PJSIPShowEndpoint', { Endpoint: '7000' });
    expect(endpoint.events.map((m) => m.get('Event'))).toEqual(['EndpointDetail', 'AuthDetail', 'AorDetail', 'ContactStatusDetail']);
    expect(endpoint.complete?.get('ListItems')).toBe('4');
    expect(seen.filter((e) => e.type === 'ContactList' || e.type === 'ListComplete')).toEqual([]);
  });

  it('emits typed events in wire order', async () => {
    const { ami, sim } = await setup();
    await ami.connect();
    const seen: AmiEvent[] = [];
    ami.on('event', (e) => seen.push(e));
    sim.register('7000', { uri: 'sip:7000@127.0.0.1:5086', ip: '127.0.0.1', port: 5085 });
    await waitFor(() => seen.some((e) => e.type === 'DeviceStateChange'), 'DeviceStateChange');
    expect(seen.map((e) => e.type)).toEqual(['unknown', 'unknown', 'ContactStatus', 'PeerStatus', 'ContactStatus', 'DeviceStateChange']);
    expect(ami.stats.eventsIn).toBeGreaterThanOrEqual(6);
  });

  it('Response: Error rejects with AmiActionError; the session stays up', async () => {
    const { ami } = await setup();
    await ami.connect();
    const err = await ami.action('PJSIPShowEndpoint', { Endpoint: 'nosuch' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AmiActionError);
    expect((err as AmiActionError).code).toBe('AMI_ACTION_FAILED');
    expect((err as AmiActionError).serverMessage).toBe('Unable to retrieve endpoint nosuch');
    await expect(ami.action('PJSIPShowContacts')).rejects.toMatchObject({ serverMessage: 'No Contacts found' });
    expect(ami.loggedIn).toBe(true);
  });

  it('refuses line breaks in fields and Login/Logoff through action()', async () => {
    const { ami } = await setup();
    await ami.connect();
    await expect(ami.action('Command', { Command: 'x\r\nAction: Logoff' })).rejects.toBeInstanceOf(AmiParseError);
    await expect(ami.action('Login', {})).rejects.toBeInstanceOf(TypeError);
    expect((await ami.action('Ping')).response.get('Response')).toBe('Success');
  });

  it('an unanswered action times out', async () => {
    const { ami, sim } = await setup();
    await ami.connect();
    sim.setResponsive(false);
    await expect(ami.action('Ping', {}, { timeoutMs: 200 })).rejects.toBeInstanceOf(TimeoutError);
    sim.setResponsive(true);
  });

  it('action before login rejects AMI_NOT_CONNECTED', async () => {
    const { ami } = await setup();
    await expect(ami.action('Ping')).rejects.toMatchObject({ code: 'AMI_NOT_CONNECTED' });
  });

  it('a dropped connection rejects pending actions, emits disconnected, then reconnects and re-logs in', async () => {
    const { ami, sim } = await setup();
    await ami.connect();
    sim.setResponsive(false);
    const pending = ami.action('Ping', {}, { timeoutMs: 10_000 });
    const disconnected = nextEvent<AmiConnectionEvents, 'disconnected'>(ami, 'disconnected');
    const reconnected = nextEvent(ami, 'reconnected');
    sim.setResponsive(true);
    sim.dropConnections();
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AmiConnectionError);
    expect((err as AmiConnectionError).code).toBe('AMI_DISCONNECTED');
    expect((await disconnected)[0].reason).toMatch(/closed|ECONNRESET/);
    await reconnected;
    expect(ami.loggedIn).toBe(true);
    expect(logins(sim)).toBe(2);
    expect((await ami.action('Ping')).response.get('Ping')).toBe('Pong');
  });

  it('a refused login is an AmiAuthError without the secret, retried with backoff, and recovers when the account is fixed', async () => {
    const { ami, sim } = await setup({}, { secret: 'wrong-secret-xyz' });
    const errors: Error[] = [];
    ami.on('error', (e) => errors.push(e));
    const err = await ami.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AmiAuthError);
    expect((err as AmiAuthError).code).toBe('AMI_AUTH_FAILED');
    expect((err as AmiAuthError).username).toBe('tnd');
    expect((err as Error).message).not.toContain('wrong-secret-xyz');
    await waitFor(() => errors.length >= 2, 'a second failed attempt');
    expect(errors.every((e) => e instanceof AmiAuthError)).toBe(true);
    expect(ami.stats.authFailures).toBeGreaterThanOrEqual(2);
    const connected = nextEvent(ami, 'connected');
    sim.setAccount('tnd', 'wrong-secret-xyz');
    await connected;
    expect(ami.loggedIn).toBe(true);
  });

  it('the heartbeat detects a server that stops answering and reconnects when it answers again', async () => {
    const { ami, sim } = await setup({}, { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 200, loginTimeoutMs: 300 });
    await ami.connect();
    const disconnected = nextEvent<AmiConnectionEvents, 'disconnected'>(ami, 'disconnected');
    sim.setResponsive(false);
    expect((await disconnected)[0].reason).toMatch(/heartbeat/);
    expect(ami.stats.heartbeatFailures).toBe(1);
    const reconnected = nextEvent(ami, 'reconnected');
    sim.setResponsive(true);
    await reconnected;
    expect(ami.loggedIn).toBe(true);
    const pings = sim.actions.filter((a) => a.action === 'Ping').length;
    await waitFor(() => sim.actions.filter((a) => a.action === 'Ping').length > pings, 'heartbeat pings resume');
  });

  it('close() rejects pending actions, is idempotent, and leaves no socket or timer', async () => {
    const before = process.getActiveResourcesInfo();
    const count = (list: string[], kind: string) => list.filter((r) => r === kind).length;
    const sim = await AmiSimulator.start({ failedLoginDelayMs: 50 });
    const ami = new AmiConnection({ port: sim.port, username: 'tnd', secret: 'tnd', heartbeatIntervalMs: 50 });
    await ami.connect();
    sim.setResponsive(false);
    const pending = ami.action('Ping', {}, { timeoutMs: 10_000 });
    const closing = ami.close();
    await expect(pending).rejects.toMatchObject({ code: 'AMI_CLOSED' });
    await closing;
    await ami.close();
    expect(ami.closed).toBe(true);
    await expect(ami.action('Ping')).rejects.toBeInstanceOf(InvalidStateError);
    await expect(ami.connect()).rejects.toBeInstanceOf(InvalidStateError);
    expect(() => ami.start()).toThrow(InvalidStateError);
    await waitFor(() => sim.connectionCount === 0, 'server side session closed');
    await sim.close();
    const after = process.getActiveResourcesInfo();
    expect(count(after, 'TCPSocketWrap')).toBeLessThanOrEqual(count(before, 'TCPSocketWrap'));
    expect(count(after, 'TCPServerWrap')).toBeLessThanOrEqual(count(before, 'TCPServerWrap'));
    expect(count(after, 'Timeout')).toBeLessThanOrEqual(count(before, 'Timeout'));
  });

  it('close() during backoff cancels the retry', async () => {
    const { ami, sim } = await setup({}, { secret: 'bad', backoff: { initialDelayMs: 5000, maxDelayMs: 5000 } });
    await ami.connect().catch(() => undefined);
    await waitFor(() => ami.state === 'waiting', 'backoff wait');
    await ami.close();
    expect(ami.state).toBe('closed');
    expect(logins(sim)).toBe(1);
  });
});

describe('AmiConnection without a proper server', () => {
  it('connection refused → AMI_CONNECT_FAILED, retried until close', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const ami = new AmiConnection({ port, username: 'tnd', secret: 'tnd', backoff: { initialDelayMs: 20, maxDelayMs: 50 } });
    const errors: Error[] = [];
    ami.on('error', (e) => errors.push(e));
    await expect(ami.connect()).rejects.toMatchObject({ code: 'AMI_CONNECT_FAILED' });
    await waitFor(() => errors.length >= 3, 'three attempts');
    await ami.close();
    expect(ami.stats.attempts).toBeGreaterThanOrEqual(3);
  });

  it('a peer that is not AMI is refused (AMI_BAD_BANNER); a silent one times out', async () => {
    const servers: Server[] = [];
    const start = async (onConn: (s: import('node:net').Socket) => void) => {
      const srv = createServer(onConn);
      servers.push(srv);
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      return (srv.address() as { port: number }).port;
    };
    const sockets: import('node:net').Socket[] = [];
    const httpPort = await start((s) => {
      sockets.push(s);
      s.write('HTTP/1.1 400 Bad Request\r\n\r\n');
    });
    const silentPort = await start((s) => sockets.push(s));
    const a = new AmiConnection({ port: httpPort, username: 'tnd', secret: 'tnd', backoff: { initialDelayMs: 5000, maxDelayMs: 5000 } });
    const b = new AmiConnection({ port: silentPort, username: 'tnd', secret: 'tnd', connectTimeoutMs: 200, backoff: { initialDelayMs: 5000, maxDelayMs: 5000 } });
    await expect(a.connect()).rejects.toMatchObject({ code: 'AMI_BAD_BANNER' });
    await expect(b.connect()).rejects.toMatchObject({ code: 'AMI_CONNECT_FAILED' });
    await Promise.all([a.close(), b.close()]);
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((srv) => new Promise<void>((r) => srv.close(() => r()))));
  });
});

describe('backoff and options', () => {
  it('grows exponentially, is capped, and jitters within ±jitter', () => {
    const b = { initialDelayMs: 100, maxDelayMs: 1000, factor: 2, jitter: 0.2 };
    expect([0, 1, 2, 3, 4, 10].map((n) => backoffDelay(n, b, () => 0.5))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(2, b, () => 0)).toBe(320);
    expect(backoffDelay(2, b, () => 0.999999)).toBe(480);
    expect(backoffDelay(10, b, () => 0.999999)).toBe(1000);
  });

  it('invalid settings are ConfigErrors naming the key', () => {
    expect(() => new AmiConnection({ username: '', secret: 'x' })).toThrow(ConfigError);
    expect(() => new AmiConnection({ username: 'u', secret: 'x', port: 70000 })).toThrowError(expect.objectContaining({ key: 'ami.port' }) as Error);
    expect(() => new AmiConnection({ username: 'u', secret: 'x', backoff: { jitter: 2 } })).toThrowError(
      expect.objectContaining({ key: 'ami.backoff.jitter' }) as Error,
    );
  });
});

describe('AmiConnection with a misbehaving server', () => {
  it('drops an unparseable message (counted), keeps the session, and reconnects after an oversized one', async () => {
    const sockets: import('node:net').Socket[] = [];
    let sessions = 0;
    const srv = createServer((s) => {
      sockets.push(s);
      sessions++;
      const session = sessions;
      s.setEncoding('utf8');
      s.on('error', () => undefined);
      s.write('Asterisk Call Manager/11.0.0\r\n');
      s.on('data', (chunk: string) => {
        const id = /ActionID: (\S+)/.exec(chunk)?.[1] ?? '';
        if (!chunk.includes('Action: Login')) return;
        s.write(`Response: Success\r\nActionID: ${id}\r\nMessage: Authentication accepted\r\n\r\n`);
        s.write('this is not ami\r\n\r\nEvent: DeviceStateChange\r\nDevice: PJSIP/7000\r\nState: INUSE\r\n\r\n');
        if (session === 1) s.write(`Event: Huge\r\nData: ${'x'.repeat(5000)}`);
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    const ami = new AmiConnection({ port, username: 'tnd', secret: 'tnd', heartbeatIntervalMs: 0, maxMessageChars: 2048, backoff: { initialDelayMs: 20, maxDelayMs: 50 } });
    const events: AmiEvent[] = [];
    ami.on('event', (e) => events.push(e));
    const disconnected = nextEvent<AmiConnectionEvents, 'disconnected'>(ami, 'disconnected');
    const reconnected = nextEvent(ami, 'reconnected');
    await ami.connect();
    const [info] = await disconnected;
    expect(info.error).toMatchObject({ code: 'AMI_FRAME_TOO_LARGE' });
    await reconnected;
    await waitFor(() => events.filter((e) => e.type === 'DeviceStateChange').length === 2, 'events from both sessions');
    expect(ami.stats.unparseableMessages).toBe(2);
    await ami.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => srv.close(() => r()));
  });
});
