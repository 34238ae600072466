import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { summarizeSippStats } from '../../asterisk/sipp/load-summary.js';
import { readPcap, rtpFlows, udpDatagrams } from '../../asterisk/sipp/rtp-pcap.js';
import { explain, FIXTURES, requireSipp, requireTool, SIPP_DIR, start, waitForOutput, workDir, type RunningProcess } from './sipp-harness.js';

// Ports: SIP 15100-15199, media 16000-16799 (this file only).
const UAS_PORT = 15180;
const UAC_PORT = 15170;
const UAS_MP = 16000;
const UAC_MP = 16400;

let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.reverse()) c();
  cleanups = [];
});

function track(p: RunningProcess): RunningProcess {
  cleanups.push(() => p.stop());
  return p;
}

function scratch(files: readonly string[]): string {
  const w = workDir(files);
  cleanups.push(w.cleanup);
  return w.dir;
}

function uas(dir: string, scenario: string, calls: number, extra: readonly string[] = []): RunningProcess {
  return track(start('sipp', [
    '-sf', scenario, '-i', '127.0.0.1', '-p', String(UAS_PORT), '-mi', '127.0.0.1', '-mp', String(UAS_MP),
    '-aa', '-key', 'ext', '7001', '-m', String(calls), '-timeout', '40s', '-nostdin', '-trace_err',
    '-trace_stat', '-stf', 'uas_stats.csv', '-fd', '1', ...extra,
  ], dir, 60_000));
}

function uac(dir: string, scenario: string, calls: number, holdMs: number, extra: readonly string[] = []): RunningProcess {
  return track(start('sipp', [
    '-sf', scenario, '-s', '1000', '-i', '127.0.0.1', '-p', String(UAC_PORT), '-mi', '127.0.0.1', '-mp', String(UAC_MP),
    '-key', 'caller', '7100', '-d', String(holdMs), '-r', '5', '-l', String(calls), '-m', String(calls),
    '-timeout', '40s', '-nostdin', '-trace_err', '-trace_stat', '-stf', 'uac_stats.csv', '-fd', '1',
    ...extra, `127.0.0.1:${UAS_PORT}`,
  ], dir, 60_000));
}

/** Gives the UAS time to bind before the caller's first INVITE (SIPp prints nothing when ready). */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 500));

beforeAll(() => {
  requireSipp();
});

describe('uac-caller.xml against uas-pair-ext.xml', () => {
  it('completes 5 calls with speech RTP flowing both ways', async () => {
    requireTool('tcpdump', 'RTP is counted from a loopback capture; install tcpdump and run with CAP_NET_RAW (SIPp pcap play needs it too)');
    const dir = scratch([join(SIPP_DIR, 'uac-caller.xml'), join(SIPP_DIR, 'uas-pair-ext.xml'), join(SIPP_DIR, 'speech-ulaw.pcap')]);
    const capture = track(start('tcpdump', ['-i', 'lo', '-n', '-U', '-w', join(dir, 'rtp.pcap'), 'udp and portrange 16000-16799'], dir, 90_000));
    const listening = await waitForOutput(capture, (t) => /listening on/.test(t), 15_000);
    expect(listening, 'tcpdump could not capture on lo (needs CAP_NET_RAW)').toBe(true);

    const calls = 5;
    const holdMs = 3000;
    const server = uas(dir, 'uas-pair-ext.xml', calls);
    await settle();
    const client = await uac(dir, 'uac-caller.xml', calls, holdMs).done;
    const serverResult = await server.done;
    await new Promise((r) => setTimeout(r, 300));
    capture.stop();
    await capture.done;

    expect(client.code, explain(client)).toBe(0);
    expect(serverResult.code, explain(serverResult)).toBe(0);
    const callerStats = summarizeSippStats(readFileSync(join(dir, 'uac_stats.csv'), 'utf8'));
    expect(callerStats).toMatchObject({ created: calls, successful: calls, failed: 0 });
    const uasStats = summarizeSippStats(readFileSync(join(dir, 'uas_stats.csv'), 'utf8'));
    expect(uasStats).toMatchObject({ created: calls, successful: calls, failed: 0 });

    // [auto_media_port]: call n uses mp + 4(n-1) on each side; one flow per call per direction.
    const { flows, audio } = rtpFlows(udpDatagrams(readPcap(readFileSync(join(dir, 'rtp.pcap')))));
    const dstPort = (dst: string): number => Number(dst.split(':')[1]);
    const toUas = flows.filter((f) => dstPort(f.dst) >= UAS_MP && dstPort(f.dst) < UAS_MP + 100);
    const toCaller = flows.filter((f) => dstPort(f.dst) >= UAC_MP && dstPort(f.dst) < UAC_MP + 100);
    expect(flows).toHaveLength(2 * calls);
    expect(new Set(toUas.map((f) => f.dst))).toEqual(new Set([0, 1, 2, 3, 4].map((n) => `127.0.0.1:${UAS_MP + 4 * n}`)));
    expect(new Set(toCaller.map((f) => f.dst))).toEqual(new Set([0, 1, 2, 3, 4].map((n) => `127.0.0.1:${UAC_MP + 4 * n}`)));
    // Each side plays ~holdMs of 20 ms packets; allow for a loaded machine, not for silence.
    for (const f of [...toUas, ...toCaller]) {
      expect(f.payloadTypes).toEqual([0]);
      expect(f.packets).toBeGreaterThan((holdMs / 20) * 0.5);
      expect(f.lost).toBeLessThanOrEqual(f.expected * 0.05);
    }
    // What was carried is the speech of the pcap, byte for byte.
    const speech = rtpFlows(udpDatagrams(readPcap(readFileSync(join(SIPP_DIR, 'speech-ulaw.pcap'))))).audio[0];
    expect(speech).toBeDefined();
    for (const f of [toCaller[0], toUas[0]]) {
      const heard = f === undefined ? undefined : audio[flows.indexOf(f)];
      expect(heard?.subarray(0, 1600)).toEqual(speech?.subarray(0, 1600));
    }
  }, 90_000);

  it('uas-pair-ext-echo.xml with -rtp_echo sends each caller its own speech back', async () => {
    requireTool('tcpdump', 'RTP is counted from a loopback capture; install tcpdump and run with CAP_NET_RAW');
    const dir = scratch([join(SIPP_DIR, 'uac-caller.xml'), join(SIPP_DIR, 'uas-pair-ext-echo.xml'), join(SIPP_DIR, 'speech-ulaw.pcap')]);
    const capture = track(start('tcpdump', ['-i', 'lo', '-n', '-U', '-w', join(dir, 'rtp.pcap'), 'udp and portrange 16000-16799'], dir, 90_000));
    expect(await waitForOutput(capture, (t) => /listening on/.test(t), 15_000), 'tcpdump could not capture on lo').toBe(true);
    const server = uas(dir, 'uas-pair-ext-echo.xml', 2, ['-rtp_echo']);
    await settle();
    const client = await uac(dir, 'uac-caller.xml', 2, 2000).done;
    const serverResult = await server.done;
    await new Promise((r) => setTimeout(r, 300));
    capture.stop();
    await capture.done;
    expect(client.code, explain(client)).toBe(0);
    expect(serverResult.code, explain(serverResult)).toBe(0);

    const { flows, audio } = rtpFlows(udpDatagrams(readPcap(readFileSync(join(dir, 'rtp.pcap')))));
    // Both callers send to the one echo port; each gets its packets back on its own port.
    for (const n of [0, 1]) {
      const callerPort = `127.0.0.1:${UAC_MP + 4 * n}`;
      const sent = flows.findIndex((f) => f.src === callerPort && f.dst === `127.0.0.1:${UAS_MP}`);
      const echoed = flows.findIndex((f) => f.src === `127.0.0.1:${UAS_MP}` && f.dst === callerPort);
      expect(sent, callerPort).toBeGreaterThanOrEqual(0);
      expect(echoed, callerPort).toBeGreaterThanOrEqual(0);
      expect(flows[echoed]?.packets).toBeGreaterThan((2000 / 20) * 0.5);
      const back = audio[echoed] ?? Buffer.alloc(0);
      expect(back.length).toBeGreaterThan(0);
      expect(back).toEqual(audio[sent]?.subarray(0, back.length));
    }
  }, 90_000);

  it('answers a digest challenge: 401, ACK on the INVITE branch, INVITE with valid credentials', async () => {
    const dir = scratch([join(SIPP_DIR, 'uac-caller.xml'), join(SIPP_DIR, 'speech-ulaw.pcap'), join(FIXTURES, 'auth-uas.xml')]);
    const server = uas(dir, 'auth-uas.xml', 2, ['-key', 'user', '7100', '-key', 'password', 's3cret-7100']);
    await settle();
    const client = await uac(dir, 'uac-caller.xml', 2, 500, ['-au', '7100', '-ap', 's3cret-7100', '-auth_uri', `1000@127.0.0.1:${UAS_PORT}`]).done;
    const serverResult = await server.done;
    expect(client.code, explain(client)).toBe(0);
    expect(serverResult.code, explain(serverResult)).toBe(0);
    expect(summarizeSippStats(readFileSync(join(dir, 'uas_stats.csv'), 'utf8'))).toMatchObject({ successful: 2, failed: 0 });
  }, 90_000);

  it('fails the call when the digest password is wrong', async () => {
    const dir = scratch([join(SIPP_DIR, 'uac-caller.xml'), join(SIPP_DIR, 'speech-ulaw.pcap'), join(FIXTURES, 'auth-uas.xml')]);
    const server = uas(dir, 'auth-uas.xml', 1, ['-key', 'user', '7100', '-key', 'password', 's3cret-7100']);
    await settle();
    const client = await uac(dir, 'uac-caller.xml', 1, 500, ['-au', '7100', '-ap', 'wrong', '-max_retrans', '1']).done;
    await server.done;
    expect(client.code, explain(client)).toBe(1);
    expect(summarizeSippStats(readFileSync(join(dir, 'uac_stats.csv'), 'utf8'))).toMatchObject({ successful: 0, failed: 1 });
  }, 90_000);

  it('uas-pair-ext.xml answers a CANCEL while ringing with 200 and 487', async () => {
    const dir = scratch([join(SIPP_DIR, 'uas-pair-ext.xml'), join(SIPP_DIR, 'speech-ulaw.pcap'), join(FIXTURES, 'cancel-uac.xml')]);
    const server = uas(dir, 'uas-pair-ext.xml', 2);
    await settle();
    const client = await uac(dir, 'cancel-uac.xml', 2, 500).done;
    const serverResult = await server.done;
    expect(client.code, explain(client)).toBe(0);
    expect(serverResult.code, explain(serverResult)).toBe(0);
    expect(summarizeSippStats(readFileSync(join(dir, 'uac_stats.csv'), 'utf8'))).toMatchObject({ successful: 2, failed: 0 });
  }, 90_000);
});
