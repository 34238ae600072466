export {
  datagramPeer,
  ipv4ToInt,
  intToIpv4,
  resolveDatagramPortOptions,
  MAX_BATCH,
  MAX_DATAGRAM,
  MAX_UDP_PAYLOAD,
  type BatchHandler,
  type DatagramIo,
  type DatagramPeer,
  type DatagramPort,
  type DatagramPortOptions,
  type DatagramPortStats,
  type ReceivedBatch,
} from './datagram-port.js';
export { DgramDatagramPort } from './dgram-datagram-port.js';
export { NativeDatagramPort } from './native-datagram-port.js';
export { loadNativeAddon, nativeAddonCandidates, NATIVE_ABI_VERSION, NATIVE_ADDON_ENV, type NativeAddonLoad, type NativeUdpBatchBinding, type NativeUdpBatchSocket, type NativeLayout } from './native-addon.js';
export {
  DatagramIoResolver,
  NativeIoUnavailableError,
  openDatagramPort,
  resolveDatagramIo,
  DATAGRAM_IO_CHOICES,
  type DatagramIoChoice,
  type NoticeLog,
  type ResolvedDatagramIo,
} from './open-datagram-port.js';
export { SourceDemux } from './source-demux.js';
export { procUdpDrops } from './proc-udp-drops.js';
