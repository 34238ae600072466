import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { datagramPeer, SourceDemux } from '../../../engine/src/transport/datagram/index.js';

describe('SourceDemux', () => {
  it('finds a leg by its exact source, and nothing for a foreign one', () => {
    const demux = new SourceDemux<string>();
    expect(demux.add(datagramPeer('10.0.0.5', 4000), 'A')).toBe(true);
    expect(demux.add(datagramPeer('10.0.0.5', 4002), 'B')).toBe(true);
    // Another Asterisk host using the same port: a different source.
    expect(demux.add(datagramPeer('10.0.0.6', 4000), 'C')).toBe(true);
    const ip = (a: string): number => datagramPeer(a, 1).ipv4;
    expect(demux.get(ip('10.0.0.5'), 4000)).toBe('A');
    expect(demux.get(ip('10.0.0.5'), 4002)).toBe('B');
    expect(demux.get(ip('10.0.0.6'), 4000)).toBe('C');
    expect(demux.get(ip('10.0.0.7'), 4000)).toBeUndefined();
    expect(demux.get(ip('10.0.0.5'), 4001)).toBeUndefined();
    expect(demux.size).toBe(3);
  });

  it('refuses a source that is taken, and frees it on delete', () => {
    const demux = new SourceDemux<string>();
    const peer = datagramPeer('192.168.1.20', 16384);
    expect(demux.add(peer, 'A')).toBe(true);
    expect(demux.add(datagramPeer('192.168.1.20', 16384), 'B')).toBe(false);
    expect(demux.get(peer.ipv4, peer.port)).toBe('A');
    expect(demux.delete(peer)).toBe(true);
    expect(demux.delete(peer)).toBe(false);
    expect(demux.get(peer.ipv4, peer.port)).toBeUndefined();
    expect(demux.add(peer, 'B')).toBe(true);
    expect(demux.get(peer.ipv4, peer.port)).toBe('B');
  });

  it('agrees with a Map keyed by "address:port" under random adds and deletes', () => {
    const source = fc.record({ host: fc.integer({ min: 0, max: 3 }), port: fc.integer({ min: 1, max: 4 }) });
    const op = fc.record({ kind: fc.constantFrom('add', 'delete'), source, value: fc.nat() });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const demux = new SourceDemux<number>();
        const model = new Map<string, number>();
        for (const { kind, source: s, value } of ops) {
          const peer = datagramPeer(`10.0.0.${s.host}`, s.port);
          const key = `${peer.address}:${peer.port}`;
          if (kind === 'add') {
            expect(demux.add(peer, value)).toBe(!model.has(key));
            if (!model.has(key)) model.set(key, value);
          } else {
            expect(demux.delete(peer)).toBe(model.delete(key));
          }
          expect(demux.size).toBe(model.size);
        }
        for (let host = 0; host <= 3; host++) {
          for (let port = 1; port <= 4; port++) {
            const peer = datagramPeer(`10.0.0.${host}`, port);
            expect(demux.get(peer.ipv4, port)).toBe(model.get(`${peer.address}:${port}`));
          }
        }
      }),
    );
  });
});
