/*
 * The pieces of the native load generator core (loadgen.c) that are not about
 * sockets: the histogram of tools/media-load/histogram.ts (same bucket
 * layout, so snapshots merge with result-merge.ts), the delay wheel of
 * delay-wheel.ts, the frame tag of frame-tag.ts, and a small JSON writer.
 */
#ifndef TANDEM_LOADGEN_LIB_H
#define TANDEM_LOADGEN_LIB_H

#include <stddef.h>
#include <stdint.h>

/* ---- output: one JSON line at a time ---- */

struct out {
	char *buf;
	size_t len;
	size_t cap;
};

void out_raw(struct out *o, const char *s, size_t n);
void out_str(struct out *o, const char *s);
/* A JSON number that parses back to the same double; non-finite values (never expected) become 0. */
void out_num(struct out *o, double v);
void out_int(struct out *o, int64_t v);
/* A JSON string literal (quotes included), control characters escaped, at most max_bytes of s. */
void out_json_string(struct out *o, const char *s, size_t max_bytes);

/* ---- histogram (histogram.ts) ---- */

struct hist {
	double width;
	int nbuckets;
	uint32_t *counts;
	double count, sum, min, max, overflow;
};

void hist_init(struct hist *h, double width, int nbuckets);
void hist_reset(struct hist *h);
/* Negative (and NaN) values count as 0, as Histogram.record does. */
static inline void hist_record(struct hist *h, double value)
{
	double v = value > 0 ? value : 0;
	double index = v / h->width;
	if (index < (double)h->nbuckets)
		h->counts[(int)index]++;
	else
		h->overflow++;
	h->count++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}
/* The HistogramSnapshot object: {"bucketWidth":…,"buckets":[[i,c],…]}. */
void hist_json(struct out *o, const struct hist *h);

/* Latency in ms: 0.05 ms buckets up to 2 s; pacing: 0.01 ms up to 1 s; windows: 0.5 ms up to 1 s. */
#define LATENCY_HIST 0.05, 40000
#define JITTER_HIST 0.01, 100000
#define WINDOW_HIST 0.5, 2000

/* ---- delay wheel (delay-wheel.ts) ---- */

struct wheel {
	int slots;
	int capacity;
	int mask;
	int32_t *head, *tail, *next, *stream, *buffer;
	int32_t free_head;
	int size;
	int64_t cursor;
};

void wheel_init(struct wheel *w, double max_delay_ms, int capacity);
/* Queues (stream, buffer) for millisecond floor(due_ms); 0 when full or beyond reach (the caller sends at once). */
int wheel_push(struct wheel *w, double due_ms, int32_t stream, int32_t buffer);
typedef void (*wheel_emit_fn)(int32_t stream, int32_t buffer);
/* Releases every entry due at or before floor(now_ms), oldest millisecond first, FIFO within one. */
int wheel_advance(struct wheel *w, double now_ms, wheel_emit_fn emit);
int wheel_flush(struct wheel *w, wheel_emit_fn emit);

/* ---- frame tag (frame-tag.ts) ---- */

#define FRAME_TAG_BYTES 6
#define FRAME_TAG_L16_BYTES 12
#define FRAME_TAG_COUNTER_MASK 0xffffff

void frame_tag_write(uint8_t *p, uint32_t counter, int32_t stream);
void frame_tag_write_l16(uint8_t *p, uint32_t counter, int32_t stream);
/* The counter tagged at buf[offset..] for `stream`, or -1 (too short, not tag bytes, or a failed check). */
int32_t frame_tag_read(const uint8_t *buf, size_t len, size_t offset, int32_t stream);
int32_t frame_tag_read_l16(const uint8_t *buf, size_t len, size_t offset, int32_t stream);

/* ---- randomness ---- */

/* xoshiro256** seeded from getrandom(): not for secrets, only impairment decisions and RTP ids. */
void rng_seed(void);
uint64_t rng_u64(void);
/* Uniform in [0, 1). */
double rng_unit(void);

#endif
