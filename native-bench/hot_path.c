/*
 * hot_path: the per-packet computation of Tandem's relay (parse, µ-law decode,
 * encode, packetize) timed in C over one 172-byte packet, plus two modes that
 * let the tests check the C code against the TypeScript one.
 *
 *   hot_path bench [--ms N]   ns/op for each operation, JSON on stdout
 *   hot_path codec            every G.711 table entry and a checksum, JSON
 *   hot_path parse            one hex datagram per stdin line -> parse code per line
 *
 * The operations carry the same names as the tinybench tasks in
 * tools/bench/{rtp,codec,hot-path}.bench.ts and build the same inputs, so
 * run-native.ts can pair them up by name.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtp_hot.h"

#define PACKET_BYTES 172
#define FRAME_SAMPLES 160

/* Tells the compiler memory may have changed: the loop body cannot be hoisted or dropped. */
#define BARRIER() __asm__ volatile("" ::: "memory")

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void write_header(uint8_t *out, int marker, uint8_t pt, uint16_t seq, uint32_t ts, uint32_t ssrc)
{
	struct rtp_packetizer p;
	rtp_packetizer_init(&p, pt, ssrc, seq, ts);
	p.marker_pending = marker;
	rtp_packetizer_write_header(&p, out, 0);
}

/* The benchmark state, one instance, so every operation works on the same buffers. */
static struct {
	uint8_t received[PACKET_BYTES]; /* hot-path.bench.ts: payload (i*37)&0xff */
	uint8_t parse_packet[PACKET_BYTES]; /* rtp.bench.ts: payload 0xd5 */
	uint8_t ulaw_frame[FRAME_SAMPLES]; /* codec.bench.ts: (i*37)&0xff */
	int16_t pcm_sine[FRAME_SAMPLES]; /* codec.bench.ts: 440 Hz sine at 12000 */
	int16_t pcm[FRAME_SAMPLES];
	uint8_t encoded[FRAME_SAMPLES];
	uint8_t out[1500];
	struct rtp_view view;
	struct rtp_packetizer packetizer;
	unsigned sink;
} s;

static void op_parse(void)
{
	if (rtp_parse(&s.view, s.parse_packet, PACKET_BYTES) == RTP_OK)
		s.sink ^= s.view.sequence;
}

static void op_decode(void)
{
	g711_ulaw_decode(s.ulaw_frame, FRAME_SAMPLES, s.pcm);
}

static void op_encode(void)
{
	g711_ulaw_encode(s.pcm_sine, FRAME_SAMPLES, s.encoded);
}

static void op_packetizer(void)
{
	/* rtp.bench.ts copies the payload after the header too. */
	s.sink ^= (unsigned)rtp_packetizer_write_header(&s.packetizer, s.out, FRAME_SAMPLES);
	memcpy(s.out + RTP_HEADER_BYTES, s.encoded, FRAME_SAMPLES);
}

static void op_hot_path(void)
{
	if (rtp_parse(&s.view, s.received, PACKET_BYTES) != RTP_OK)
		abort();
	g711_ulaw_decode(s.received + s.view.payload_offset, s.view.payload_length, s.pcm);
	g711_ulaw_encode(s.pcm, FRAME_SAMPLES, s.out + RTP_HEADER_BYTES);
	rtp_packetizer_write_header(&s.packetizer, s.out, FRAME_SAMPLES);
}

struct op {
	const char *name;
	void (*fn)(void);
};

static const struct op OPS[] = {
	{ "rtp parse", op_parse },
	{ "ulaw decode 20ms", op_decode },
	{ "ulaw encode 20ms", op_encode },
	{ "rtp packetizer writeHeader", op_packetizer },
	{ "hot path: parse+decode+encode+packetize (ulaw 20ms)", op_hot_path },
};

static double run_batch(void (*fn)(void), long iterations)
{
	double t0 = now_ns();
	for (long i = 0; i < iterations; i++) {
		fn();
		BARRIER();
	}
	return now_ns() - t0;
}

/*
 * Calibrates a batch to ~20 µs, then runs batches for `ms` and reports the
 * median batch's ns/op. Batches this short are rarely preempted even on a busy
 * machine, so the median is the undisturbed cost (the clock read is ~0.1 % of
 * a batch); this is the figure tinybench's median call is compared with.
 */
static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void bench_op(const struct op *op, double ms, int first)
{
	long iterations = 8;
	while (run_batch(op->fn, iterations) < 20e3 && iterations < (1L << 30))
		iterations *= 2;
	enum { MAX_BATCHES = 1 << 16 };
	static double per_op[MAX_BATCHES];
	int batches = 0;
	double t_end = now_ns() + ms * 1e6;
	while (batches < MAX_BATCHES && (batches < 5 || now_ns() < t_end))
		per_op[batches++] = run_batch(op->fn, iterations) / (double)iterations;
	qsort(per_op, (size_t)batches, sizeof per_op[0], cmp_double);
	double sum = 0;
	for (int i = 0; i < batches; i++)
		sum += per_op[i];
	printf("%s{\"name\":\"%s\",\"ns_per_op\":%.3f,\"ns_per_op_mean\":%.3f,\"ns_per_op_min\":%.3f,\"batches\":%d,\"iterations_per_batch\":%ld}",
	       first ? "" : ",", op->name, per_op[batches / 2], sum / batches, per_op[0], batches, iterations);
}

static void bench_init(void)
{
	write_header(s.received, 0, 0, 1234, 160000, 0x11223344);
	for (int i = RTP_HEADER_BYTES; i < PACKET_BYTES; i++)
		s.received[i] = (uint8_t)((i * 37) & 0xff);
	write_header(s.parse_packet, 0, 0, 0x9235, 0x3c0, 0x2f4475a4);
	memset(s.parse_packet + RTP_HEADER_BYTES, 0xd5, FRAME_SAMPLES);
	for (int i = 0; i < FRAME_SAMPLES; i++) {
		s.ulaw_frame[i] = (uint8_t)((i * 37) & 0xff);
		s.pcm_sine[i] = (int16_t)lround(12000.0 * sin(2.0 * M_PI * 440.0 * i / 8000.0));
	}
	rtp_packetizer_init(&s.packetizer, 0, 0x55667788, 0, 0);
}

static int cmd_bench(double ms)
{
	bench_init();
	printf("{\"results\":[");
	for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++)
		bench_op(&OPS[i], ms, i == 0);
	printf("],\"sink\":%u}\n", s.sink & 1);
	return 0;
}

/* FNV-1a over the little-endian bytes of every table entry, in table order. */
static uint32_t fnv1a(uint32_t h, const void *data, size_t n)
{
	const uint8_t *p = data;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

static void print_i16_array(const char *name, const int16_t *a, size_t n)
{
	printf("\"%s\":[", name);
	for (size_t i = 0; i < n; i++)
		printf("%s%d", i ? "," : "", a[i]);
	printf("]");
}

static void print_hex(const char *name, const uint8_t *a, size_t n)
{
	printf("\"%s\":\"", name);
	for (size_t i = 0; i < n; i++)
		printf("%02x", a[i]);
	printf("\"");
}

/*
 * The encoders over every int16 input (through the same index as the relay)
 * and the decoders over every code; the checksum covers all four.
 */
static int cmd_codec(void)
{
	static uint8_t ulaw_all[65536], alaw_all[65536];
	for (int i = 0; i < 65536; i++) {
		int16_t sample = (int16_t)(i - 32768);
		g711_ulaw_encode(&sample, 1, &ulaw_all[i]);
		alaw_all[i] = g711_alaw_encode_table[(sample >> 3) & 0x1fff];
	}
	uint32_t h = 2166136261u;
	h = fnv1a(h, g711_ulaw_decode_table, sizeof g711_ulaw_decode_table);
	h = fnv1a(h, g711_alaw_decode_table, sizeof g711_alaw_decode_table);
	h = fnv1a(h, ulaw_all, sizeof ulaw_all);
	h = fnv1a(h, alaw_all, sizeof alaw_all);
	printf("{");
	print_i16_array("ulaw_decode", g711_ulaw_decode_table, 256);
	printf(",");
	print_i16_array("alaw_decode", g711_alaw_decode_table, 256);
	printf(",");
	print_hex("ulaw_encode_hex", ulaw_all, sizeof ulaw_all);
	printf(",");
	print_hex("alaw_encode_hex", alaw_all, sizeof alaw_all);
	printf(",\"checksum\":%u}\n", h);
	return 0;
}

static int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One hex datagram per line (empty line = empty datagram); prints the parse result per line. */
static int cmd_parse(void)
{
	static char line[2 * 65536 + 16];
	static uint8_t datagram[65536];
	struct rtp_view view;
	while (fgets(line, sizeof line, stdin)) {
		size_t n = strcspn(line, "\r\n");
		if (n % 2 != 0 || n / 2 > sizeof datagram) {
			printf("ERROR bad-hex-line\n");
			continue;
		}
		int bad = 0;
		for (size_t i = 0; i < n / 2; i++) {
			int hi = hex_value(line[2 * i]), lo = hex_value(line[2 * i + 1]);
			if (hi < 0 || lo < 0)
				bad = 1;
			datagram[i] = (uint8_t)(hi << 4 | lo);
		}
		if (bad) {
			printf("ERROR bad-hex-line\n");
			continue;
		}
		int code = rtp_parse(&view, datagram, n / 2);
		if (code == RTP_OK)
			printf("OK %u %u %u %u %zu %zu %zu\n", view.payload_type, (unsigned)view.sequence, view.timestamp, view.ssrc,
			       view.payload_offset, view.payload_length, view.padding_length);
		else
			printf("%s\n", rtp_parse_code_name(code));
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: hot_path bench [--ms N] | codec | parse\n");
}

int main(int argc, char **argv)
{
	g711_init();
	if (argc < 2) {
		usage();
		return 2;
	}
	if (strcmp(argv[1], "bench") == 0) {
		double ms = 300;
		for (int i = 2; i < argc; i++) {
			if (strcmp(argv[i], "--ms") == 0 && i + 1 < argc) {
				char *end;
				errno = 0;
				ms = strtod(argv[++i], &end);
				if (errno || *end || !(ms > 0 && ms <= 60000)) {
					fprintf(stderr, "--ms must be a number of milliseconds in (0, 60000]\n");
					return 2;
				}
			} else {
				usage();
				return 2;
			}
		}
		return cmd_bench(ms);
	}
	if (strcmp(argv[1], "codec") == 0)
		return cmd_codec();
	if (strcmp(argv[1], "parse") == 0)
		return cmd_parse();
	usage();
	return 2;
}
