import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { errorMessage } from '../../../../common/src/errors.js';

/**
 * Finding and loading the udp_batch addon (native/, built at install by
 * node-gyp). Loading never throws: it says why the addon is not usable, and
 * the caller decides between falling back to node:dgram and failing.
 */

/** The ABI this wrapper speaks; native/src/udp_batch.c's ABI_VERSION. A stale build is refused. */
export const NATIVE_ABI_VERSION = 1;
/** Overrides where the addon is loaded from (the AddressSanitizer build, tests). */
export const NATIVE_ADDON_ENV = 'TANDEM_NATIVE_IO_ADDON';

/** Offsets into a receive arena, as native/src/udp_batch.c lays it out. */
export interface NativeLayout {
  batch: number;
  maxDatagram: number;
  slotBytes: number;
  timestampsOffset: number;
  lengthsOffset: number;
  sizesOffset: number;
  addressesOffset: number;
  portsOffset: number;
  arenaBytes: number;
}

export interface NativeSocketStats {
  rxCalls: number;
  rxPackets: number;
  rxBytes: number;
  rxTruncated: number;
  rxErrors: number;
  /** SO_MEMINFO's drop count: datagrams the kernel dropped for a full receive buffer (-1 if unknown). */
  rxKernelDrops: number;
  txCalls: number;
  txPackets: number;
  txBytes: number;
  txWouldBlock: number;
  txErrors: number;
  lastRxErrno: number;
  lastTxErrno: number;
  recvBufferBytes: number;
  sendBufferBytes: number;
}

/** The addon's socket object; every method checks its arguments (TypeError / RangeError) and its state. */
export interface NativeUdpBatchSocket {
  /** recvmmsg into `arena` (exactly layout().arenaBytes long); returns the number of datagrams, 0 when none. */
  recv(arena: ArrayBuffer): number;
  /** sendmmsg of `count` datagrams described by 4 ints each in `descriptors`: offset, length, ipv4, port. Returns how many were sent. */
  send(data: ArrayBuffer | Uint8Array, descriptors: Int32Array, count: number): number;
  /** fn(status) on each readable event of the thread's own event loop; null stops polling. */
  setReadable(fn: ((status: number) => void) | null): void;
  setRef(ref: boolean): void;
  address(): { address: string; port: number };
  layout(): NativeLayout;
  stats(): NativeSocketStats;
  close(): void;
  isClosed(): boolean;
}

export interface NativeUdpBatchBinding {
  abiVersion: number;
  maxBatch: number;
  UdpBatchSocket: new (
    address: string,
    port: number,
    batch: number,
    maxDatagram: number,
    recvBufferSize: number,
    sendBufferSize: number,
    timestamps: boolean,
  ) => NativeUdpBatchSocket;
}

export type NativeAddonLoad = { ok: true; binding: NativeUdpBatchBinding; path: string } | { ok: false; reason: string };

/** Where `npm run build:addon` puts it, from the sources (engine/src/…) and from the build (dist/engine/src/…). */
export function nativeAddonCandidates(): string[] {
  return ['../../../../native/build/Release/udp_batch.node', '../../../../../native/build/Release/udp_batch.node'].map((rel) =>
    fileURLToPath(new URL(rel, import.meta.url)),
  );
}

let cached: NativeAddonLoad | null = null;

/** Loads the addon once per thread (each worker thread loads its own instance). */
export function loadNativeAddon(): NativeAddonLoad {
  cached ??= load();
  return cached;
}

function load(): NativeAddonLoad {
  if (process.platform !== 'linux') return { ok: false, reason: `batched socket I/O is built for Linux only (this is ${process.platform})` };
  const override = process.env[NATIVE_ADDON_ENV];
  const path = override !== undefined && override !== '' ? override : nativeAddonCandidates().find((p) => existsSync(p));
  if (path === undefined) return { ok: false, reason: 'the addon is not built (npm run build:addon; it needs python3, make and a C compiler)' };
  let loaded: unknown;
  try {
    loaded = createRequire(import.meta.url)(path);
  } catch (err) {
    return { ok: false, reason: `loading ${path} failed: ${errorMessage(err)}` };
  }
  const binding = loaded as Partial<NativeUdpBatchBinding> | null;
  if (binding === null || typeof binding !== 'object' || typeof binding.UdpBatchSocket !== 'function') {
    return { ok: false, reason: `${path} is not the udp_batch addon` };
  }
  if (binding.abiVersion !== NATIVE_ABI_VERSION) {
    return { ok: false, reason: `${path} has ABI ${String(binding.abiVersion)}, this code needs ${NATIVE_ABI_VERSION}: rebuild it (npm run build:addon)` };
  }
  return { ok: true, binding: binding as NativeUdpBatchBinding, path };
}
