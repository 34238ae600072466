/* G.711 reference algorithms (Sun g711.c), run once to fill the lookup tables. */
#include "rtp_hot.h"

int16_t g711_ulaw_decode_table[256];
int16_t g711_alaw_decode_table[256];
uint8_t g711_ulaw_encode_table[1 << 14];
uint8_t g711_alaw_encode_table[1 << 13];

#define ULAW_BIAS 0x84
#define ULAW_CLIP 8159

static const int seg_uend[8] = { 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff };
static const int seg_aend[8] = { 0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff };

static int segment(int value, const int *ends)
{
	for (int i = 0; i < 8; i++)
		if (value <= ends[i])
			return i;
	return 8;
}

/* linear2ulaw after the reference's `pcm_val >> 2`. */
static uint8_t ulaw_from14(int value)
{
	int mask;
	if (value < 0) {
		value = -value;
		mask = 0x7f;
	} else {
		mask = 0xff;
	}
	if (value > ULAW_CLIP)
		value = ULAW_CLIP;
	value += ULAW_BIAS >> 2;
	int seg = segment(value, seg_uend);
	if (seg >= 8)
		return (uint8_t)(0x7f ^ mask);
	return (uint8_t)(((seg << 4) | ((value >> (seg + 1)) & 0x0f)) ^ mask);
}

/* linear2alaw after the reference's `pcm_val >> 3`. */
static uint8_t alaw_from13(int value)
{
	int mask;
	if (value >= 0) {
		mask = 0xd5;
	} else {
		mask = 0x55;
		value = -value - 1;
	}
	int seg = segment(value, seg_aend);
	if (seg >= 8)
		return (uint8_t)(0x7f ^ mask);
	int quant = seg < 2 ? (value >> 1) & 0x0f : (value >> seg) & 0x0f;
	return (uint8_t)(((seg << 4) | quant) ^ mask);
}

static int16_t ulaw_to_linear(int code)
{
	int u = ~code & 0xff;
	int t = ((u & 0x0f) << 3) + ULAW_BIAS;
	t <<= (u & 0x70) >> 4;
	return (int16_t)((u & 0x80) ? ULAW_BIAS - t : t - ULAW_BIAS);
}

static int16_t alaw_to_linear(int code)
{
	int a = (code ^ 0x55) & 0xff;
	int t = (a & 0x0f) << 4;
	int seg = (a & 0x70) >> 4;
	if (seg == 0) {
		t += 8;
	} else {
		t += 0x108;
		if (seg > 1)
			t <<= seg - 1;
	}
	return (int16_t)((a & 0x80) ? t : -t);
}

/* Sign-extends the low `bits` bits of i (the table index) back to the shifted sample. */
static int sign_extend(int i, int bits)
{
	return (i & (1 << (bits - 1))) ? i - (1 << bits) : i;
}

void g711_init(void)
{
	for (int code = 0; code < 256; code++) {
		g711_ulaw_decode_table[code] = ulaw_to_linear(code);
		g711_alaw_decode_table[code] = alaw_to_linear(code);
	}
	for (int i = 0; i < (1 << 14); i++)
		g711_ulaw_encode_table[i] = ulaw_from14(sign_extend(i, 14));
	for (int i = 0; i < (1 << 13); i++)
		g711_alaw_encode_table[i] = alaw_from13(sign_extend(i, 13));
}

const char *rtp_parse_code_name(int code)
{
	switch (code) {
	case RTP_OK:
		return "OK";
	case RTP_TOO_SHORT:
		return "TOO_SHORT";
	case RTP_BAD_VERSION:
		return "BAD_VERSION";
	case RTP_RTCP:
		return "RTCP";
	case RTP_CSRC_OVERFLOW:
		return "CSRC_OVERFLOW";
	case RTP_EXTENSION_OVERFLOW:
		return "EXTENSION_OVERFLOW";
	case RTP_BAD_PADDING:
		return "BAD_PADDING";
	default:
		return "UNKNOWN";
	}
}
