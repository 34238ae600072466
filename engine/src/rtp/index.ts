export { isRtcp, isRtp } from './classify.js';
export { RtpParseError, type RtpParseErrorCode } from './errors.js';
export { RtpPacketView } from './packet.js';
export { RtpPacketizer, type PacketizerOptions } from './packetizer.js';
export { rtpByteLength, serializeRtp, serializeRtpInto, writeRtpHeader, type RtpHeaderFields } from './serialize.js';
export { SequenceUnwrapper, TimestampUnwrapper, seqAdd, seqDiff, seqIsNewer, tsAdd, tsDiff, tsIsNewer } from './wrap.js';
