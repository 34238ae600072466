import { z } from 'zod';

/**
 * What the Node relay's main thread (node-relay.ts) and its worker threads
 * (node-relay-worker.ts) say to each other. Messages cross a thread boundary,
 * so each side parses what it receives.
 */

/** Why a datagram was not relayed, named and ordered as relay.c's DROP_NAMES (the stats lines must match). */
export const RELAY_DROP_REASONS = [
  'TOO_SHORT',
  'BAD_VERSION',
  'RTCP',
  'CSRC_OVERFLOW',
  'EXTENSION_OVERFLOW',
  'BAD_PADDING',
  'PAYLOAD_TYPE',
  'FOREIGN_SOURCE',
] as const;
export type RelayDropReason = (typeof RELAY_DROP_REASONS)[number];

/** One thread's counters, as relay.c's `struct counters`. */
export interface RelayCounters {
  rx_packets: number;
  tx_packets: number;
  tx_errors: number;
  tx_no_peer: number;
  socket_errors: number;
  /** `remote` commands this thread refused (the leg already had a peer, or connect failed); part of bad_commands. */
  refused_peers: number;
  /** Receive and send calls (batch mode; 0 for the socket-per-leg relay, as relay.c's socket mode). */
  rx_batches: number;
  tx_batches: number;
  dropped: Record<RelayDropReason, number>;
}

export function emptyCounters(): RelayCounters {
  const dropped = Object.fromEntries(RELAY_DROP_REASONS.map((r) => [r, 0])) as Record<RelayDropReason, number>;
  return { rx_packets: 0, tx_packets: 0, tx_errors: 0, tx_no_peer: 0, socket_errors: 0, refused_peers: 0, rx_batches: 0, tx_batches: 0, dropped };
}

export function sumCounters(all: readonly RelayCounters[]): RelayCounters {
  const total = emptyCounters();
  for (const c of all) {
    total.rx_packets += c.rx_packets;
    total.tx_packets += c.tx_packets;
    total.tx_errors += c.tx_errors;
    total.tx_no_peer += c.tx_no_peer;
    total.socket_errors += c.socket_errors;
    total.refused_peers += c.refused_peers;
    total.rx_batches += c.rx_batches;
    total.tx_batches += c.tx_batches;
    for (const r of RELAY_DROP_REASONS) total.dropped[r] += c.dropped[r];
  }
  return total;
}

const count = z.number().int().nonnegative();
const countersSchema = z.object({
  rx_packets: count,
  tx_packets: count,
  tx_errors: count,
  tx_no_peer: count,
  socket_errors: count,
  refused_peers: count,
  rx_batches: count,
  tx_batches: count,
  dropped: z.object(Object.fromEntries(RELAY_DROP_REASONS.map((r) => [r, count])) as Record<RelayDropReason, typeof count>),
});

export type LegSide = 'A' | 'B';

/** Given to each worker at start: which pairs it owns and how to bind their legs. */
export const workerSetupSchema = z.object({
  pairs: z.array(z.number().int().nonnegative()),
  bindAddress: z.string(),
  /** 0: kernel-chosen ports; otherwise pair i binds base + 2i (A) and base + 2i + 1 (B), as relay.c. */
  basePort: z.number().int().min(0).max(65535),
  socketBufferBytes: z.number().int().positive(),
  /** Batch mode (node-batch): one DatagramPort per thread instead of a socket per leg. */
  batch: z.object({ io: z.enum(['native', 'dgram']), size: z.number().int().min(1).max(1024), thread: z.number().int().nonnegative() }).optional(),
});
export type WorkerSetup = z.infer<typeof workerSetupSchema>;

export const toWorkerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('remote'), pair: z.number().int().nonnegative(), side: z.enum(['A', 'B']), address: z.string(), port: z.number().int() }),
  /** Answered once every earlier `remote` has taken effect (its connect completed or failed). */
  z.object({ type: z.literal('stats'), id: z.number().int() }),
  /** Closes every socket and answers with the final counters. */
  z.object({ type: z.literal('stop') }),
]);
export type ToWorker = z.infer<typeof toWorkerSchema>;

export const fromWorkerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('bound'), legs: z.array(z.object({ pair: z.number().int(), portA: z.number().int(), portB: z.number().int() })) }),
  z.object({ type: z.literal('failed'), message: z.string() }),
  z.object({ type: z.literal('stats'), id: z.number().int(), counters: countersSchema }),
  z.object({ type: z.literal('stopped'), counters: countersSchema }),
]);
export type FromWorker = z.infer<typeof fromWorkerSchema>;
