/*
 * The per-packet computation of Tandem's hot path, in C: RTP parse with the
 * same validation as engine/src/rtp/packet.ts (RtpPacketView.tryParse), G.711
 * tables bit-exact with engine/src/codec/g711.ts, and a packetizer that writes
 * a fresh 12-byte header like engine/src/rtp/packetizer.ts. Shared by
 * hot_path.c (the micro-benchmark) and relay.c (the UDP relay).
 */
#ifndef TANDEM_RTP_HOT_H
#define TANDEM_RTP_HOT_H

#include <stddef.h>
#include <stdint.h>

#define RTP_HEADER_BYTES 12

/* Same codes, same order of checks as RtpParseErrorCode in engine/src/rtp/errors.ts. */
enum rtp_parse_code {
	RTP_OK = 0,
	RTP_TOO_SHORT,
	RTP_BAD_VERSION,
	RTP_RTCP,
	RTP_CSRC_OVERFLOW,
	RTP_EXTENSION_OVERFLOW,
	RTP_BAD_PADDING,
};

/* A view over a received datagram: offsets into the caller's buffer, no copy. */
struct rtp_view {
	const uint8_t *buf;
	size_t length;
	int marker;
	unsigned payload_type;
	uint16_t sequence;
	uint32_t timestamp;
	uint32_t ssrc;
	size_t payload_offset;
	size_t payload_length;
	size_t padding_length;
};

struct rtp_packetizer {
	uint32_t ssrc;
	uint32_t timestamp;
	uint16_t sequence;
	uint8_t payload_type;
	int marker_pending;
};

extern int16_t g711_ulaw_decode_table[256];
extern int16_t g711_alaw_decode_table[256];
/* Indexed by (sample >> 2) & 0x3fff, as ULAW_ENCODE in g711.ts. */
extern uint8_t g711_ulaw_encode_table[1 << 14];
/* Indexed by (sample >> 3) & 0x1fff, as ALAW_ENCODE in g711.ts. */
extern uint8_t g711_alaw_encode_table[1 << 13];

/* Fills the four tables from the reference algorithms; call once before anything else. */
void g711_init(void);

const char *rtp_parse_code_name(int code);

static inline uint32_t rtp_read_u32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* RFC 5761 demultiplexing: version 2 and an RTCP packet type (192-223) in byte 1. */
static inline int rtp_is_rtcp(const uint8_t *buf, size_t len)
{
	return len >= 4 && (buf[0] >> 6) == 2 && buf[1] >= 192 && buf[1] <= 223;
}

/* Parses buf[0..len) in place; returns RTP_OK or the reason it is not RTP. */
static inline int rtp_parse(struct rtp_view *v, const uint8_t *buf, size_t len)
{
	if (len < 1)
		return RTP_TOO_SHORT;
	uint8_t b0 = buf[0];
	if ((b0 >> 6) != 2)
		return RTP_BAD_VERSION;
	if (rtp_is_rtcp(buf, len))
		return RTP_RTCP;
	if (len < RTP_HEADER_BYTES)
		return RTP_TOO_SHORT;
	size_t header = RTP_HEADER_BYTES + 4u * (b0 & 0x0f);
	if (header > len)
		return RTP_CSRC_OVERFLOW;
	if (b0 & 0x10) {
		if (header + 4 > len)
			return RTP_EXTENSION_OVERFLOW;
		size_t ext_len = 4u * (((size_t)buf[header + 2] << 8) | buf[header + 3]);
		header += 4 + ext_len;
		if (header > len)
			return RTP_EXTENSION_OVERFLOW;
	}
	size_t padding = 0;
	if (b0 & 0x20) {
		/* The count includes itself, so 0 is invalid; it may not reach into the header. */
		padding = buf[len - 1];
		if (padding == 0 || padding > len - header)
			return RTP_BAD_PADDING;
	}
	v->buf = buf;
	v->length = len;
	v->marker = (buf[1] & 0x80) != 0;
	v->payload_type = buf[1] & 0x7f;
	v->sequence = (uint16_t)((buf[2] << 8) | buf[3]);
	v->timestamp = rtp_read_u32(buf + 4);
	v->ssrc = rtp_read_u32(buf + 8);
	v->payload_offset = header;
	v->payload_length = len - header - padding;
	v->padding_length = padding;
	return RTP_OK;
}

static inline void g711_ulaw_decode(const uint8_t *src, size_t n, int16_t *dst)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = g711_ulaw_decode_table[src[i]];
}

static inline void g711_ulaw_encode(const int16_t *src, size_t n, uint8_t *dst)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = g711_ulaw_encode_table[(src[i] >> 2) & 0x3fff];
}

static inline void rtp_packetizer_init(struct rtp_packetizer *p, uint8_t payload_type, uint32_t ssrc, uint16_t sequence,
				       uint32_t timestamp)
{
	p->payload_type = payload_type & 0x7f;
	p->ssrc = ssrc;
	p->sequence = sequence;
	p->timestamp = timestamp;
	p->marker_pending = 1;
}

/* Writes the next 12-byte header into out; sequence +1, timestamp + samples (wrapping). */
static inline size_t rtp_packetizer_write_header(struct rtp_packetizer *p, uint8_t *out, uint32_t samples)
{
	out[0] = 0x80;
	out[1] = (uint8_t)((p->marker_pending ? 0x80 : 0) | p->payload_type);
	out[2] = (uint8_t)(p->sequence >> 8);
	out[3] = (uint8_t)p->sequence;
	out[4] = (uint8_t)(p->timestamp >> 24);
	out[5] = (uint8_t)(p->timestamp >> 16);
	out[6] = (uint8_t)(p->timestamp >> 8);
	out[7] = (uint8_t)p->timestamp;
	out[8] = (uint8_t)(p->ssrc >> 24);
	out[9] = (uint8_t)(p->ssrc >> 16);
	out[10] = (uint8_t)(p->ssrc >> 8);
	out[11] = (uint8_t)p->ssrc;
	p->marker_pending = 0;
	p->sequence = (uint16_t)(p->sequence + 1);
	p->timestamp += samples;
	return RTP_HEADER_BYTES;
}

#endif
