import { decodeUlaw, encodeUlaw } from '../../../engine/src/codec/index.js';
import { RtpPacketView, type RtpPacketizer } from '../../../engine/src/rtp/index.js';
import type { RelayDropReason } from './node-relay-protocol.js';

const PCMU_PAYLOAD_TYPE = 0;
const RTP_HEADER_BYTES = 12;
/** The largest UDP payload: no datagram dgram delivers can carry more samples. */
const MAX_SAMPLES = 65_507;

/**
 * The Node relay's per-packet work, the same as relay.c's transcode(): parse
 * with Tandem's RtpPacketView (the checks relay.c copies), require µ-law,
 * decode the payload to PCM16 and encode it again, then a fresh 12-byte header
 * from the sending leg's packetizer. The result is written into the received
 * datagram itself (docs/benchmarks.md: rewriting in place is the allocation-free
 * path): the re-encoded payload goes to offset 12 from the PCM copy, so a
 * longer input header (CSRCs, extension) or padding is simply left behind.
 */
export class RelayRewriter {
  readonly #view = new RtpPacketView();
  readonly #pcm = new Int16Array(MAX_SAMPLES);

  /**
   * Rewrites `datagram` (its first `length` bytes: a batch port's view may be
   * longer) in place into the packet to send and returns its length (header +
   * payload), or why it is not relayed. Allocates nothing.
   * The packetizer advances even when the caller then has nowhere to send,
   * as relay.c's does.
   */
  rewrite(datagram: Uint8Array, packetizer: RtpPacketizer, length = datagram.length): number | RelayDropReason {
    const view = this.#view;
    const error = view.tryParse(datagram, length);
    if (error !== null) return error;
    if (view.payloadType !== PCMU_PAYLOAD_TYPE) return 'PAYLOAD_TYPE';
    const samples = view.payloadLength;
    decodeUlaw(datagram, view.payloadOffset, samples, this.#pcm);
    encodeUlaw(this.#pcm, samples, datagram, RTP_HEADER_BYTES);
    packetizer.writeHeader(datagram, samples);
    return RTP_HEADER_BYTES + samples;
  }
}
