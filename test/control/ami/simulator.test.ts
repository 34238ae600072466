import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidStateError } from '../../../common/src/errors.js';
import { parseAmiMessage } from '../../../control/src/ami/index.js';
import { AmiSimulator, AMI_BANNER } from '../../../tools/asterisk-simulator/ami/index.js';
import { findRecorded, keysOf, RawAmiClient } from './support.js';

const rec = (first: string, actionId?: string): string => findRecorded('s7_ami', first, actionId).raw as string;
const LOGIN = 'Action: Login\r\nUsername: tnd\r\nSecret: tnd\r\nActionID: tnd-2\r\n\r\n';

/** Fields of `raw` without the named keys (for values that are clocks: ExpirationTime, RegExpire, Uptime...). */
function fieldsWithout(raw: string, ...keys: string[]): Array<readonly [string, string]> {
  return parseAmiMessage(raw).fields.filter(([k]) => !keys.includes(k));
}

/**
 * Replays scenario s7 (real Asterisk 22.10.1) against the simulator, in the
 * recorded order, and compares bytes wherever nothing depends on a clock.
 */
describe('AmiSimulator reproduces the s7 recording', () => {
  let sim: AmiSimulator;
  let main: RawAmiClient;

  beforeAll(async () => {
    sim = await AmiSimulator.start({ endpoints: [{ id: '7000', callerid: '"Seven Thousand" <7000>' }] });
    main = await RawAmiClient.connect(sim.port);
  });

  afterAll(async () => {
    await main.close();
    await sim.close();
  });

  it('sends the banner bytes first', async () => {
    expect(await main.next()).toBe(AMI_BANNER);
    expect(main.chunks[0]).toBe('Asterisk Call Manager/11.0.0\r\n');
  });

  it('Login → Success, FullyBooted, SuccessfulAuth', async () => {
    main.send(LOGIN);
    expect(await main.next()).toBe(rec('Response: Success\r\nActionID: tnd-2'));
    const booted = await main.next();
    expect(keysOf(booted)).toEqual(keysOf(rec('Event: FullyBooted')));
    expect(parseAmiMessage(booted).get('Status')).toBe('Fully Booted');
    expect(keysOf(await main.next())).toEqual(keysOf(rec('Event: SuccessfulAuth')));
    expect(sim.loggedInCount).toBe(1);
  });

  it('a failed Login is answered after ≈1 s, then the server closes; a Ping meanwhile is ignored; watchers see InvalidPassword', async () => {
    const bad = await RawAmiClient.connect(sim.port);
    await bad.next('Asterisk');
    const t0 = Date.now();
    bad.send('Action: Login\r\nUsername: tnd\r\nSecret: wrongpassword\r\nActionID: tnd-1\r\n\r\n');
    bad.send('Action: Ping\r\nActionID: tnd-3\r\n\r\n');
    const invalid = await main.next('Event: InvalidPassword');
    expect(keysOf(invalid)).toEqual(keysOf(findRecorded('s7b_ami_failed_login_security_event', 'Event: InvalidPassword').raw as string));
    expect(await bad.next()).toBe(rec('Response: Error\r\nActionID: tnd-1'));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    await bad.waitClosed();
    expect(bad.queued).toEqual([]);
  });

  it('an unknown account gives InvalidAccountID to watchers', async () => {
    const bad = await RawAmiClient.connect(sim.port);
    bad.send('Action: Login\r\nUsername: nosuchuser\r\nSecret: x\r\nActionID: tnd-3\r\n\r\n');
    const ev = await main.next('Event: InvalidAccountID');
    expect(keysOf(ev)).toEqual(keysOf(findRecorded('s7b_ami_failed_login_security_event', 'Event: InvalidAccountID').raw as string));
    expect(parseAmiMessage(ev).get('AccountID')).toBe('nosuchuser');
    await bad.close();
  });

  it('Ping → Pong with a Timestamp', async () => {
    main.send('Action: Ping\r\nActionID: tnd-4\r\n\r\n');
    const pong = await main.next('Response');
    expect(keysOf(pong)).toEqual(keysOf(rec('Response: Success\r\nActionID: tnd-4')));
    expect(parseAmiMessage(pong).get('Ping')).toBe('Pong');
    expect(parseAmiMessage(pong).get('Timestamp')).toMatch(/^\d{10}\.\d{6}$/);
  });

  it('PJSIPShowEndpoint 7000 (unregistered) gives the recorded events field for field', async () => {
    main.send('Action: PJSIPShowEndpoint\r\nEndpoint: 7000\r\nActionID: tnd-5\r\n\r\n');
    expect(await main.next('Response')).toBe(rec('Response: Success\r\nActionID: tnd-5'));
    expect(await main.next('Event: EndpointDetail')).toBe(rec('Event: EndpointDetail', 'tnd-5'));
    expect(await main.next('Event: AuthDetail')).toBe(rec('Event: AuthDetail', 'tnd-5'));
    expect(await main.next('Event: AorDetail')).toBe(rec('Event: AorDetail', 'tnd-5'));
    expect(await main.next('Event: EndpointDetailComplete')).toBe(rec('Event: EndpointDetailComplete', 'tnd-5'));
  });

  it('PJSIPShowContacts with no contact → the recorded error with its bare \\n', async () => {
    main.send('Action: PJSIPShowContacts\r\nActionID: tnd-6\r\n\r\n');
    expect(await main.next('Response')).toBe(rec('Response: Error\r\nActionID: tnd-6'));
  });

  it('actions before login → Permission denied; watchers get RequestNotAllowed; no events reach the session', async () => {
    const nologin = await RawAmiClient.connect(sim.port);
    await nologin.next('Asterisk');
    nologin.send('Action: Ping\r\nActionID: tnd-7\r\n\r\n');
    expect(await nologin.next()).toBe(rec('Response: Error\r\nActionID: tnd-7'));
    const denied = await main.next('Event: RequestNotAllowed');
    expect(keysOf(denied)).toEqual(keysOf(rec('Event: RequestNotAllowed')));
    expect(parseAmiMessage(denied).get('RequestType')).toBe('Action: Ping');
    nologin.send('Action: PJSIPShowContacts\r\nActionID: tnd-8\r\n\r\n');
    expect(await nologin.next()).toBe(rec('Response: Error\r\nActionID: tnd-8'));
    sim.emitRaw([['Event', 'Probe']]);
    await main.next('Event: Probe');
    expect(nologin.queued).toEqual([]);
    await nologin.close();
  });

  it('Command "pjsip show endpoint 7000" (unregistered) is byte-identical to the recording', async () => {
    main.send('Action: Command\r\nCommand: pjsip show endpoint 7000\r\nActionID: tnd-9\r\n\r\n');
    expect(await main.next('Response')).toBe(rec('Response: Success\r\nActionID: tnd-9'));
  });

  it('PJSIPShowEndpoint nosuch and an unknown action give the recorded errors', async () => {
    main.send('Action: PJSIPShowEndpoint\r\nEndpoint: nosuch\r\nActionID: tnd-10\r\n\r\n');
    expect(await main.next('Response')).toBe(rec('Response: Error\r\nActionID: tnd-10'));
    main.send('Action: NoSuchAction\r\nActionID: tnd-11\r\n\r\n');
    expect(await main.next('Response')).toBe(rec('Response: Error\r\nActionID: tnd-11'));
    expect(keysOf(await main.next('Event: RequestBadFormat'))).toEqual(keysOf(rec('Event: RequestBadFormat')));
  });

  it('register → the recorded event sequence, byte for byte', async () => {
    sim.register('7000', { uri: 'sip:7000@127.0.0.1:5086', ip: '127.0.0.1', port: 5085, userAgent: 'sipp-tnd-7000', roundtripUsec: 369, callId: '1-25208@127.0.0.1' });
    expect(keysOf(await main.next())).toEqual(keysOf(rec('Event: ChallengeSent')));
    expect(keysOf(await main.next())).toEqual(keysOf(findRecorded('s7_ami', 'Event: SuccessfulAuth\r\nPrivilege: security,all\r\nEventTV: 2026-11-23T01:10:52').raw as string));
    expect(await main.next()).toBe(rec('Event: ContactStatus\r\nPrivilege: system,all\r\nURI: sip:7000@127.0.0.1:5086\r\nContactStatus: NonQualified'));
    expect(await main.next()).toBe(rec('Event: PeerStatus\r\nPrivilege: system,all\r\nChannelType: PJSIP\r\nPeer: PJSIP/7000\r\nPeerStatus: Reachable'));
    expect(await main.next()).toBe(rec('Event: ContactStatus\r\nPrivilege: system,all\r\nURI: sip:7000@127.0.0.1:5086\r\nContactStatus: Reachable'));
    expect(await main.next()).toBe(rec('Event: DeviceStateChange\r\nPrivilege: call,all\r\nDevice: PJSIP/7000\r\nState: NOT_INUSE'));
  });

  it('a refresh REGISTER (same contact) emits nothing, as observed', async () => {
    sim.register('7000', { uri: 'sip:7000@127.0.0.1:5086', ip: '127.0.0.1', port: 5085, userAgent: 'sipp-tnd-7000' });
    sim.emitRaw([['Event', 'Marker']]);
    expect(await main.next()).toBe('Event: Marker\r\n\r\n');
  });

  it('PJSIPShowContacts lists the contact with the recorded fields', async () => {
    main.send('Action: PJSIPShowContacts\r\nActionID: tnd-12\r\n\r\n');
    expect(await main.next()).toBe(rec('Response: Success\r\nActionID: tnd-12'));
    const list = await main.next();
    expect(fieldsWithout(list, 'ExpirationTime')).toEqual(fieldsWithout(rec('Event: ContactList', 'tnd-12'), 'ExpirationTime'));
    expect(Number(parseAmiMessage(list).get('ExpirationTime'))).toBeGreaterThan(Date.now() / 1000);
    expect(await main.next()).toBe(rec('Event: ContactListComplete', 'tnd-12'));
  });

  it('PJSIPShowEndpoint and Command while registered match the recording (clock fields aside)', async () => {
    main.send('Action: PJSIPShowEndpoint\r\nEndpoint: 7000\r\nActionID: tnd-13\r\n\r\n');
    await main.next('Response');
    expect(await main.next()).toBe(rec('Event: EndpointDetail', 'tnd-13'));
    expect(await main.next()).toBe(rec('Event: AuthDetail', 'tnd-13'));
    expect(await main.next()).toBe(rec('Event: AorDetail', 'tnd-13'));
    expect(fieldsWithout(await main.next(), 'RegExpire')).toEqual(fieldsWithout(rec('Event: ContactStatusDetail', 'tnd-13'), 'RegExpire'));
    expect(await main.next()).toBe(rec('Event: EndpointDetailComplete', 'tnd-13'));
    main.send('Action: Command\r\nCommand: pjsip show endpoint 7000\r\nActionID: tnd-14\r\n\r\n');
    expect(await main.next('Response')).toBe(rec('Response: Success\r\nActionID: tnd-14'));
  });

  it('qualify timeout → Unreachable sequence; ContactList shows Unreachable with N/A', async () => {
    sim.qualifyTimeout('7000');
    expect(await main.next()).toBe(rec('Event: PeerStatus\r\nPrivilege: system,all\r\nChannelType: PJSIP\r\nPeer: PJSIP/7000\r\nPeerStatus: Unreachable'));
    expect(await main.next()).toBe(rec('Event: ContactStatus\r\nPrivilege: system,all\r\nURI: sip:7000@127.0.0.1:5086\r\nContactStatus: Unreachable'));
    expect(await main.next()).toBe(rec('Event: DeviceStateChange\r\nPrivilege: call,all\r\nDevice: PJSIP/7000\r\nState: UNAVAILABLE'));
    main.send('Action: PJSIPShowContacts\r\nActionID: tnd-18\r\n\r\n');
    await main.next('Response');
    expect(fieldsWithout(await main.next(), 'ExpirationTime')).toEqual(fieldsWithout(rec('Event: ContactList', 'tnd-18'), 'ExpirationTime'));
    await main.next('Event: ContactListComplete');
  });

  it('qualify restored → Reachable (570); unregister → UNAVAILABLE, Unreachable, Removed', async () => {
    sim.qualifyRestored('7000', 570);
    await main.next('Event: PeerStatus');
    expect(await main.next()).toBe(findRecorded('s7_ami', 'Event: ContactStatus\r\nPrivilege: system,all\r\nURI: sip:7000@127.0.0.1:5086\r\nContactStatus: Reachable\r\nAOR: 7000\r\nEndpointName: 7000\r\nRoundtripUsec: 570').raw);
    await main.next('Event: DeviceStateChange');
    sim.unregister('7000');
    const seq = [await main.next(), await main.next(), await main.next()];
    expect(seq).toEqual([
      rec('Event: DeviceStateChange\r\nPrivilege: call,all\r\nDevice: PJSIP/7000\r\nState: UNAVAILABLE'),
      rec('Event: PeerStatus\r\nPrivilege: system,all\r\nChannelType: PJSIP\r\nPeer: PJSIP/7000\r\nPeerStatus: Unreachable'),
      rec('Event: ContactStatus\r\nPrivilege: system,all\r\nURI: sip:7000@127.0.0.1:5086\r\nContactStatus: Removed'),
    ]);
    main.send('Action: PJSIPShowContacts\r\nActionID: tnd-21\r\n\r\n');
    expect(await main.next('Response')).toBe(rec('Response: Error\r\nActionID: tnd-21'));
  });

  it('Command for a deleted endpoint matches s8 ("Unable to find object")', async () => {
    sim.addEndpoint({ id: '7100' });
    sim.removeEndpoint('7100');
    main.send('Action: Command\r\nCommand: pjsip show endpoint 7100\r\nActionID: tnd-2\r\n\r\n');
    expect(await main.next('Response')).toBe(findRecorded('s8_realtime', 'Response: Success\r\nActionID: tnd-2\r\nMessage: Command output follows\r\nOutput: Unable').raw);
  });

  it('SorceryMemoryCacheExpireObject is recorded and acknowledged; missing Object is an error', async () => {
    main.send('Action: SorceryMemoryCacheExpireObject\r\nCache: res_pjsip/endpoint\r\nObject: 7000\r\nActionID: s-1\r\n\r\n');
    expect(await main.next('Response')).toBe('Response: Success\r\nActionID: s-1\r\nMessage: The provided object was expired from the cache\n\r\n\r\n');
    expect(sim.sorceryExpirations).toEqual([{ cache: 'res_pjsip/endpoint', object: '7000' }]);
    main.send('Action: SorceryMemoryCacheExpireObject\r\nCache: res_pjsip/endpoint\r\nActionID: s-2\r\n\r\n');
    expect(parseAmiMessage(await main.next('Response')).get('Response')).toBe('Error');
  });

  it('Logoff → Goodbye and the server closes', async () => {
    main.send('Action: Logoff\r\nActionID: tnd-24\r\n\r\n');
    expect(await main.next('Response')).toBe(rec('Response: Goodbye\r\nActionID: tnd-24'));
    await main.waitClosed();
  });
});

describe('AmiSimulator lifecycle', () => {
  it('dropConnections and close leave no sessions; use after close throws', async () => {
    const sim = await AmiSimulator.start({ endpoints: [{ id: '7000' }], failedLoginDelayMs: 50 });
    const a = await RawAmiClient.connect(sim.port);
    const b = await RawAmiClient.connect(sim.port);
    a.send(LOGIN);
    await a.next('Response');
    expect(sim.connectionCount).toBe(2);
    sim.dropConnections();
    await Promise.all([a.waitClosed(), b.waitClosed()]);
    const c = await RawAmiClient.connect(sim.port);
    await c.next('Asterisk');
    await sim.close();
    await c.waitClosed();
    expect(sim.closed).toBe(true);
    expect(sim.connectionCount).toBe(0);
    expect(() => sim.register('7000', { uri: 'sip:7000@127.0.0.1:5086', ip: '127.0.0.1', port: 5085 })).toThrow(InvalidStateError);
    await sim.close();
  });

  it('register on an unknown endpoint or unregister without contact throws', async () => {
    const sim = await AmiSimulator.start({ endpoints: [{ id: '7000' }] });
    expect(() => sim.register('9999', { uri: 'sip:9999@127.0.0.1:5000', ip: '127.0.0.1', port: 5000 })).toThrow(InvalidStateError);
    expect(() => sim.unregister('7000')).toThrow(InvalidStateError);
    await sim.close();
  });

  it('an unresponsive simulator keeps the socket open and answers nothing', async () => {
    const sim = await AmiSimulator.start();
    const c = await RawAmiClient.connect(sim.port);
    c.send(LOGIN);
    await c.next('Response');
    sim.setResponsive(false);
    c.send('Action: Ping\r\nActionID: p-1\r\n\r\n');
    await expect(c.next('Response', 300)).rejects.toThrow(/timed out/);
    expect(c.closed).toBe(false);
    await c.close();
    await sim.close();
  });
});
