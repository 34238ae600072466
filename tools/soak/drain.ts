import { tone, type AsteriskSimulator } from '../asterisk-simulator/ari/index.js';
import { CALLER_TONE_HZ, type CallDriver } from './call-driver.js';
import { sleep, voicedCount } from './probes.js';
import type { SoakNode } from './soak-node.js';
import type { DrainReport, Leftovers } from './types.js';

/** A few calls in flight, then SIGTERM: they finish (the driver hangs them up) and the node exits 0. */
export async function runDrain(sim: AsteriskSimulator, node: SoakNode, driver: CallDriver, opts: { maxConcurrent: number; holdMs: [number, number] }): Promise<DrainReport> {
  const inFlight: string[] = [];
  for (let i = 0; i < Math.min(5, opts.maxConcurrent); i++) inFlight.push(sim.placeCall({ callerNumber: `8${i}`, audio: tone(CALLER_TONE_HZ) }).channelId);
  const until = Date.now() + 30_000;
  while (Date.now() < until && !inFlight.every((id) => driver.pairOfCaller().has(id) && voicedCount(sim.heard(id)) > 0)) await sleep(20);
  const stopping = node.stop(opts.holdMs[1] + 30_000);
  await sleep(opts.holdMs[0]);
  for (const id of inFlight) sim.hangup(id);
  const exit = await stopping;
  const left: Leftovers = { channels: sim.channels().length, bridges: sim.bridges().length, leases: null, engine_sockets: null };
  return { calls_in_flight: inFlight.length, exit_code: exit.code, exit_signal: exit.signal, finished_or_torn_down: left.channels === 0 && left.bridges === 0, leftovers: left };
}
