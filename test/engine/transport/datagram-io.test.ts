import { describe, expect, it } from 'vitest';
import {
  DatagramIoResolver,
  datagramPeer,
  intToIpv4,
  ipv4ToInt,
  loadNativeAddon,
  NATIVE_ABI_VERSION,
  NativeIoUnavailableError,
  procUdpDrops,
  type NativeAddonLoad,
} from '../../../engine/src/transport/datagram/index.js';
import { openPort } from './datagram-helpers.js';

function recordingLog(): { warn: (fields: object, message: string) => void; lines: Array<{ fields: object; message: string }> } {
  const lines: Array<{ fields: object; message: string }> = [];
  return { lines, warn: (fields, message) => lines.push({ fields, message }) };
}

const missing: () => NativeAddonLoad = () => ({ ok: false, reason: 'the addon is not built (test)' });

describe('choosing the datagram I/O', () => {
  it('auto falls back to node:dgram with one notice that gives the reason, however often it is asked', async () => {
    const log = recordingLog();
    const resolver = new DatagramIoResolver(missing, log);
    expect(resolver.resolve('auto')).toEqual({ io: 'dgram', reason: 'the addon is not built (test)' });
    expect(resolver.resolve('auto').io).toBe('dgram');
    const port = await resolver.open({ address: '127.0.0.1' });
    expect(port.io).toBe('dgram');
    port.close();
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]!.message).toBe('batched socket I/O unavailable, using node:dgram');
    expect(log.lines[0]!.fields).toEqual({ reason: 'the addon is not built (test)' });
  });

  it('native, asked for explicitly, is refused with the reason rather than replaced', async () => {
    const resolver = new DatagramIoResolver(missing, recordingLog());
    expect(() => resolver.resolve('native')).toThrow(NativeIoUnavailableError);
    expect(() => resolver.resolve('native')).toThrow(/--io native.*not built \(test\)/);
    await expect(resolver.open({ address: '127.0.0.1', io: 'native' })).rejects.toMatchObject({ code: 'NATIVE_IO_UNAVAILABLE' });
  });

  it('dgram, asked for explicitly, never loads the addon and logs nothing', () => {
    const log = recordingLog();
    let loads = 0;
    const resolver = new DatagramIoResolver(() => (loads++, missing()), log);
    expect(resolver.resolve('dgram').io).toBe('dgram');
    expect(loads).toBe(0);
    expect(log.lines).toHaveLength(0);
  });

  it('auto uses the addon when it is built here, silently', () => {
    const loaded = loadNativeAddon();
    expect(loaded.ok, loaded.ok ? '' : loaded.reason).toBe(true);
    if (!loaded.ok) return;
    expect(loaded.binding.abiVersion).toBe(NATIVE_ABI_VERSION);
    const log = recordingLog();
    expect(new DatagramIoResolver(loadNativeAddon, log).resolve('auto')).toEqual({ io: 'native', reason: null });
    expect(log.lines).toHaveLength(0);
  });
});

describe('IPv4 peers', () => {
  it('round-trips addresses through the int32 form the ports report', () => {
    for (const a of ['0.0.0.0', '127.0.0.1', '10.1.2.3', '192.168.255.1', '255.255.255.255']) {
      const n = ipv4ToInt(a)!;
      expect(n | 0).toBe(n);
      expect(intToIpv4(n)).toBe(a);
    }
    expect(ipv4ToInt('127.0.0.1')).toBe(0x7f000001);
    expect(ipv4ToInt('::1')).toBeNull();
    expect(ipv4ToInt('1.2.3')).toBeNull();
    expect(datagramPeer('10.0.0.1', 5060)).toEqual({ address: '10.0.0.1', port: 5060, ipv4: 0x0a000001 });
  });
});

describe('procUdpDrops', () => {
  it("finds a bound socket's row in /proc/net/udp and reads its drop counter", async () => {
    const port = await openPort('dgram');
    try {
      expect(procUdpDrops(ipv4ToInt('127.0.0.1')!, port.local.port)).toBe(0);
      expect(procUdpDrops(ipv4ToInt('127.0.0.2')!, port.local.port)).toBeNull();
      expect(procUdpDrops(0, 1, '/nonexistent')).toBeNull();
    } finally {
      port.close();
    }
  });
});
