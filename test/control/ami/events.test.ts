import { describe, expect, it } from 'vitest';
import { contactUriIp, deviceStateToStatus, parseAmiEvent, parseAmiMessage } from '../../../control/src/ami/index.js';
import { recordedMessages } from './support.js';

function recordedEvents(name: string) {
  return recordedMessages('s7_ami')
    .filter((m) => m.kind === 'event' && m.raw?.startsWith(`Event: ${name}\r\n`))
    .map((m) => parseAmiEvent(parseAmiMessage(m.raw as string)));
}

describe('parseAmiEvent on recorded events', () => {
  it('ContactStatus: the recorded register / qualify timeout / restore / unregister sequence', () => {
    const events = recordedEvents('ContactStatus');
    expect(events.map((e) => (e.type === 'ContactStatus' ? [e.contactStatus, e.roundtripUsec] : e.type))).toEqual([
      ['NonQualified', 0],
      ['Reachable', 369],
      ['Unreachable', 0],
      ['Reachable', 570],
      ['Removed', 0],
    ]);
    const first = events[0];
    expect(first?.type === 'ContactStatus' && [first.uri, first.aor, first.endpointName]).toEqual(['sip:7000@127.0.0.1:5086', '7000', '7000']);
  });

  it('DeviceStateChange and PeerStatus', () => {
    expect(recordedEvents('DeviceStateChange').map((e) => (e.type === 'DeviceStateChange' ? `${e.device} ${e.state}` : e.type))).toEqual([
      'PJSIP/7000 NOT_INUSE',
      'PJSIP/7000 UNAVAILABLE',
      'PJSIP/7000 NOT_INUSE',
      'PJSIP/7000 UNAVAILABLE',
    ]);
    expect(recordedEvents('PeerStatus').map((e) => (e.type === 'PeerStatus' ? `${e.peer} ${e.peerStatus}` : e.type))).toEqual([
      'PJSIP/7000 Reachable',
      'PJSIP/7000 Unreachable',
      'PJSIP/7000 Reachable',
      'PJSIP/7000 Unreachable',
    ]);
  });

  it('ContactList (Reachable with RTT, Unreachable with N/A) and its Complete marker', () => {
    const lists = recordedEvents('ContactList');
    expect(lists.map((e) => (e.type === 'ContactList' ? [e.endpoint, e.uri, e.status, e.roundtripUsec, e.viaAddr, e.viaPort, e.userAgent] : e.type))).toEqual([
      ['7000', 'sip:7000@127.0.0.1:5086', 'Reachable', 369, '127.0.0.1', 5085, 'sipp-tnd-7000'],
      ['7000', 'sip:7000@127.0.0.1:5086', 'Unreachable', null, '127.0.0.1', 5085, 'sipp-tnd-7000'],
      ['7000', 'sip:7000@127.0.0.1:5086', 'Reachable', 570, '127.0.0.1', 5085, 'sipp-tnd-7000'],
    ]);
    const complete = recordedEvents('ContactListComplete');
    expect(complete.map((e) => (e.type === 'ListComplete' ? [e.name, e.listItems, e.actionId] : e.type))).toEqual([
      ['ContactListComplete', 1, 'tnd-12'],
      ['ContactListComplete', 1, 'tnd-18'],
      ['ContactListComplete', 1, 'tnd-20'],
    ]);
  });

  it('FullyBooted, and security events fall into the unknown variant', () => {
    const booted = recordedEvents('FullyBooted')[0];
    expect(booted?.type === 'FullyBooted' && booted.status).toBe('Fully Booted');
    const auth = recordedEvents('SuccessfulAuth')[0];
    expect(auth?.type).toBe('unknown');
    expect(auth?.type === 'unknown' && [auth.name, auth.reason]).toEqual(['SuccessfulAuth', null]);
  });

  it('a known event with a missing field or unknown value becomes unknown with a reason', () => {
    const noUri = parseAmiEvent(parseAmiMessage('Event: ContactStatus\r\nContactStatus: Reachable\r\n\r\n'));
    expect(noUri.type === 'unknown' && noUri.reason).toMatch(/missing/);
    const odd = parseAmiEvent(parseAmiMessage('Event: DeviceStateChange\r\nDevice: PJSIP/1\r\nState: SLEEPING\r\n\r\n'));
    expect(odd.type === 'unknown' && odd.reason).toMatch(/SLEEPING/);
  });

  it('deviceStateToStatus', () => {
    expect(deviceStateToStatus('UNAVAILABLE')).toBe('offline');
    for (const s of ['NOT_INUSE', 'INUSE', 'BUSY', 'RINGING', 'RINGINUSE', 'ONHOLD'] as const) expect(deviceStateToStatus(s)).toBe('online');
    expect(deviceStateToStatus('INVALID')).toBe('unknown');
    expect(deviceStateToStatus('UNKNOWN')).toBe('unknown');
  });
});

describe('contactUriIp', () => {
  const table: Array<[string, string | null]> = [
    ['sip:7000@127.0.0.1:5086', '127.0.0.1'],
    ['sip:7000@127.0.0.1', '127.0.0.1'],
    ['sip:7000@10.1.2.3:5060;transport=tcp', '10.1.2.3'],
    ['sip:7000@10.1.2.3;transport=udp;ob', '10.1.2.3'],
    ['sips:7000@192.0.2.7:5061;transport=tls', '192.0.2.7'],
    ['SIP:7000@192.0.2.8:5060', '192.0.2.8'],
    ['sip:7000@[::1]:5086', '::1'],
    ['sip:7000@[2001:db8::5];transport=tcp', '2001:db8::5'],
    ['<sip:7000@198.51.100.1:5060;rinstance=abc>', '198.51.100.1'],
    ['sip:7000;phone-context=x@203.0.113.9:5060', '203.0.113.9'],
    ['sip:198.51.100.2:5070', '198.51.100.2'],
    ['sip:7000@198.51.100.3:5060?X-Header=1', '198.51.100.3'],
    ['sip:7000@pbx.example.com:5060', null],
    ['sip:7000@[not-v6]:5060', null],
    ['sip:7000@[::1', null],
    ['tel:+15551234', null],
    ['', null],
    ['sip:7000@999.1.1.1', null],
  ];
  for (const [uri, ip] of table) {
    it(`${JSON.stringify(uri)} → ${String(ip)}`, () => {
      expect(contactUriIp(uri)).toBe(ip);
    });
  }
});
