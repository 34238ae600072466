import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { Redis } from 'ioredis';
import type { AmiSimulator, AsteriskSimulator } from '../asterisk-simulator/index.js';
import type { ReferenceService, StallReport } from '../reference-service/reference-service.js';
import { sleep } from './probes.js';
import type { SoakNode } from './soak-node.js';
import type { TcpProxy } from './tcp-proxy.js';
import type { FaultName } from './types.js';

export interface InjectedFault {
  /** What was done, for the report ("skipped: …" when the fault does not apply to this run). */
  note: string;
  /** Resolves when the fault is over (at once for a cut that heals by itself, e.g. a dropped socket). */
  over: Promise<void>;
  /** Calls wait until it is over (a restart: no node to call), rather than running through it. */
  blocking: boolean;
  /** The node link it cuts, whose recovery (`tandem_link_up` back to 1) is measured. */
  link: 'ami' | 'postgresql' | null;
  /** Pairs the fault takes by definition (on the worker killed): their calls are lost within its reach. */
  lostPairs?: readonly string[];
  /** The provider-stall fault: what the stall caught, once released. */
  stall?: Promise<StallReport>;
}

export interface FaultTargets {
  sim: AsteriskSimulator;
  node: SoakNode;
  random: () => number;
  /** How long a fault with a duration lasts (Redis paused, PostgreSQL cut, HTTP stalled). */
  durationMs: number;
  redisUrl?: string;
  ami?: AmiSimulator;
  postgresProxy?: TcpProxy;
  /** The translation provider (with `--translate`): the provider-stall fault stalls it. */
  provider?: ReferenceService;
}

/** The faults that apply to a run, in the order the phases inject them. */
export function defaultFaults(run: { redis: boolean; database: boolean; translate?: boolean }): FaultName[] {
  return [
    'ari-websocket-drop',
    'rtp-garbage',
    'http-stall',
    'worker-kill',
    ...(run.redis ? (['redis-pause'] as const) : []),
    ...(run.database ? (['postgres-unreachable', 'ami-drop'] as const) : []),
    ...(run.translate ? (['provider-stall'] as const) : []),
    'node-restart',
  ];
}

const done = Promise.resolve();
const instant = (note: string, link: InjectedFault['link'] = null): InjectedFault => ({ note, over: done, blocking: false, link });

/** Injects one fault into the node's surroundings (never into the machine's own services). */
export async function injectFault(fault: FaultName, t: FaultTargets): Promise<InjectedFault> {
  switch (fault) {
    case 'none':
      return instant('none');
    case 'ari-websocket-drop':
      t.sim.dropApplicationSockets('pair_session');
      return instant('the simulator closed the pair_session event WebSocket');
    case 'rtp-garbage':
      return instant(await sendGarbage(t.node.portRange, t.random));
    case 'http-stall': {
      // Asterisk's HTTP server at sessionlimit: idle keep-alive connections end, new ones stall.
      const taken = t.sim.takeHttpSessions();
      const before = t.sim.httpSessions();
      const over = sleep(t.durationMs).then(() => taken.release());
      return { note: `every HTTP session taken for ${t.durationMs} ms (${before.admitted} kept by busy connections and WebSockets)`, over, blocking: false, link: null };
    }
    case 'redis-pause': {
      if (!t.redisUrl) return instant('skipped: no REDIS_URL');
      const redis = new Redis(t.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
      redis.on('error', () => undefined);
      try {
        await redis.connect();
        await redis.call('CLIENT', 'PAUSE', String(t.durationMs), 'ALL');
      } finally {
        redis.disconnect();
      }
      return { note: `CLIENT PAUSE ${t.durationMs} ALL`, over: sleep(t.durationMs), blocking: false, link: null };
    }
    case 'postgres-unreachable': {
      const proxy = t.postgresProxy;
      if (!proxy) return instant('skipped: no database');
      const cut = proxy.cut();
      const over = sleep(t.durationMs).then(() => proxy.restore());
      return { note: `PostgreSQL unreachable for ${t.durationMs} ms (the soak's proxy reset ${cut} connections and every new one)`, over, blocking: false, link: 'postgresql' };
    }
    case 'worker-kill': {
      // Its pairs are closed by the engine and their calls torn down (defined, docs/soak.md); the worker restarts.
      const answer = await t.node.terminateWorker(0);
      if ('refused' in answer) return instant(`skipped: the node refused the fault drill (${answer.refused})`);
      const lostPairs = answer.pairs;
      const over = t.node.waitReady(30_000).then(() => undefined);
      return { note: `engine worker 0 terminated with ${lostPairs.length} pairs on it`, over, blocking: false, link: null, lostPairs };
    }
    case 'ami-drop': {
      if (!t.ami) return instant('skipped: no AMI (needs a database)');
      t.ami.dropConnections();
      return instant("the simulator's AMI reset every session", 'ami');
    }
    case 'provider-stall': {
      // Reads every session's audio and answers nothing for the window, then answers again.
      const provider = t.provider;
      if (!provider) return instant('skipped: no translation provider (needs --translate)');
      provider.stallGate.stall();
      const live = provider.liveSessions;
      const stall = sleep(t.durationMs).then(() => provider.stallGate.release());
      return { note: `the translation provider stalled for ${t.durationMs} ms (${live} sessions open): audio read, nothing sent`, over: stall.then(() => undefined), blocking: false, link: null, stall };
    }
    case 'node-restart': {
      // A crash: nothing torn down; the next process under the same name adopts the calls.
      let note = '';
      const over = t.node.crashAndRestart().then((exit) => {
        note = `tandem start killed (${exit.signal ?? exit.code}) and started again`;
      });
      await over;
      return { note, over, blocking: true, link: null };
    }
  }
}

/** Malformed datagrams and well-formed RTP from a stranger's address at every leg port. */
async function sendGarbage(portRange: { min: number; max: number }, random: () => number): Promise<string> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  let sent = 0;
  for (let port = portRange.min; port <= portRange.max; port++) {
    const junk = randomBytes(1 + Math.floor(random() * 200));
    const spoofed = Buffer.alloc(172);
    spoofed[0] = 0x80;
    spoofed.writeUInt16BE(Math.floor(random() * 65535), 2);
    spoofed.writeUInt32BE(0xdeadbeef, 8);
    for (const packet of [junk, spoofed, Buffer.alloc(0), Buffer.from([0x80])]) {
      socket.send(packet, port, '127.0.0.1');
      sent++;
    }
    if (port % 200 === 0) await sleep(1);
  }
  await sleep(50);
  socket.close();
  return `${sent} malformed and spoofed datagrams to ports ${portRange.min}-${portRange.max}`;
}
