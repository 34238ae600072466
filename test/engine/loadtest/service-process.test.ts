import { describe, expect, it } from 'vitest';
import { ServiceProcess, ServiceProcessError } from '../../../tools/media-load/service-process.js';

/** Stand-ins for `tandem reference-service`: tiny node scripts that follow (or break) its stdout contract. */
const node = (script: string) => ({ command: process.execPath, args: ['-e', script] });

const WELL_BEHAVED = `
  const keep = setInterval(() => {}, 1000);
  process.on('SIGTERM', () => { console.log('stats {"sessions":4,"cache":{"hits":3}}'); clearInterval(keep); });
  console.log('{"level":30,"msg":"a log line first is ignored"}');
  console.log('listening ws://127.0.0.1:45999/');
`;

describe('ServiceProcess', () => {
  it('reads the URL from the child, reports its CPU, and on stop returns its stats line', async () => {
    const service = await ServiceProcess.start(node(WELL_BEHAVED));
    expect(service.url).toBe('ws://127.0.0.1:45999/');
    // What it printed before the URL is kept (tandem cascade-doubles puts its doubles' URLs there).
    expect(service.preamble).toEqual(['{"level":30,"msg":"a log line first is ignored"}']);
    expect(service.pid).toBeGreaterThan(0);
    expect(service.cpuMs()).toBeGreaterThanOrEqual(0);
    const stats = await service.stop();
    expect(stats).toEqual({ sessions: 4, cache: { hits: 3 } });
    // Idempotent, and the process is gone.
    expect(await service.stop()).toEqual(stats);
    expect(service.cpuMs()).toBeNull();
  }, 20_000);

  it('fails when the child exits before printing its URL', async () => {
    await expect(ServiceProcess.start(node('process.exit(3)'))).rejects.toThrow(ServiceProcessError);
    await expect(ServiceProcess.start({ command: '/nonexistent/tandem-service', args: [] })).rejects.toThrow(/nonexistent/);
  }, 20_000);

  it('kills a child that prints no URL in time, and one that ignores SIGTERM', async () => {
    await expect(ServiceProcess.start({ ...node('setInterval(() => {}, 1000)'), startTimeoutMs: 500 })).rejects.toThrow(/no URL within 500 ms/);
    const stubborn = await ServiceProcess.start(node(`console.log('listening ws://127.0.0.1:1/'); process.on('SIGTERM', () => {}); setInterval(() => {}, 1000);`));
    const pid = stubborn.pid!;
    expect(await stubborn.stop(300)).toBeNull();
    expect(() => process.kill(pid, 0)).toThrow();
  }, 20_000);
});
