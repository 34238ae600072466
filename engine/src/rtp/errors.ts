/**
 * Why a datagram is not a usable RTP packet. Callers (and tests) branch on
 * `code`, never on the message text.
 * - TOO_SHORT: fewer than the 12 bytes of the fixed header.
 * - BAD_VERSION: the version field is not 2.
 * - CSRC_OVERFLOW: the CSRC list runs past the end of the datagram.
 * - EXTENSION_OVERFLOW: the header extension (its 4-byte header or its data) runs past the end.
 * - BAD_PADDING: the P bit is set but the padding count is 0 or larger than the payload area.
 * - RTCP: the datagram is RTCP (RFC 5761 demultiplexing), not RTP.
 */
export type RtpParseErrorCode = 'TOO_SHORT' | 'BAD_VERSION' | 'CSRC_OVERFLOW' | 'EXTENSION_OVERFLOW' | 'BAD_PADDING' | 'RTCP';

const MESSAGES: Readonly<Record<RtpParseErrorCode, string>> = {
  TOO_SHORT: 'datagram shorter than the 12-byte RTP header',
  BAD_VERSION: 'RTP version is not 2',
  CSRC_OVERFLOW: 'CSRC list runs past the end of the datagram',
  EXTENSION_OVERFLOW: 'header extension runs past the end of the datagram',
  BAD_PADDING: 'padding count is 0 or larger than the payload',
  RTCP: 'datagram is RTCP, not RTP',
};

export class RtpParseError extends Error {
  override readonly name = 'RtpParseError';

  constructor(
    readonly code: RtpParseErrorCode,
    detail?: string,
  ) {
    super(detail === undefined ? MESSAGES[code] : `${MESSAGES[code]} (${detail})`);
  }
}
