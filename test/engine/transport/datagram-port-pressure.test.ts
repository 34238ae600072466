import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { IMPLEMENTATIONS } from './datagram-helpers.js';

/**
 * A full send buffer, for real: loopback never fills one (the kernel frees a
 * datagram's send memory as it hands it to the receiver), so the fixture runs
 * in its own network namespace (unshare -n, root) whose loopback has a slow
 * token-bucket qdisc: datagrams wait in it, charged to the sender's 8 KB send
 * buffer, and the kernel answers EAGAIN. The host's network is untouched.
 */
const FIXTURE = fileURLToPath(new URL('./fixtures/send-pressure.ts', import.meta.url));
const SETUP = 'ip link set lo up && tc qdisc add dev lo root tbf rate 8kbit burst 1600 latency 10s && exec "$0" "$@"';

interface PressureResult {
  io: string;
  total: number;
  accepted: number;
  threw: number;
  stats: { txPackets: number; txWouldBlock: number; txErrors: number };
}

function runInNamespace(io: string, total: number): Promise<{ code: number | null; result: PressureResult | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', ['-n', 'sh', '-c', SETUP, process.execPath, '--import', 'tsx', FIXTURE, io, String(total)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      resolve({ code, result: line.startsWith('{') ? (JSON.parse(line) as PressureResult) : null, stderr });
    });
  });
}

describe.each(IMPLEMENTATIONS)('DatagramPort (%s) with a full kernel send buffer', (io) => {
  it('never blocks or throws: the kernel takes what it can, the rest is dropped and counted as txWouldBlock', async () => {
    const total = 6000;
    const { code, result, stderr } = await runInNamespace(io, total);
    expect(code, stderr).toBe(0);
    expect(result).not.toBeNull();
    const r = result!;
    expect(r.io).toBe(io);
    expect(r.threw).toBe(0);
    expect(r.stats.txWouldBlock).toBeGreaterThan(0);
    expect(r.stats.txPackets).toBe(r.accepted);
    expect(r.accepted + r.stats.txWouldBlock + r.stats.txErrors).toBe(total);
  }, 60_000);
});
