#define _GNU_SOURCE
#include "loadgen_lib.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static void *xalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p) {
		fputs("loadgen: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

/* ---- output ---- */

void out_raw(struct out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		while (o->len + n + 1 > cap)
			cap *= 2;
		char *buf = realloc(o->buf, cap);
		if (!buf) {
			fputs("loadgen: out of memory\n", stderr);
			exit(1);
		}
		o->buf = buf;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = 0;
}

void out_str(struct out *o, const char *s)
{
	out_raw(o, s, strlen(s));
}

void out_num(struct out *o, double v)
{
	char tmp[40];
	if (!isfinite(v)) {
		out_raw(o, "0", 1);
		return;
	}
	if (v == floor(v) && fabs(v) < 9007199254740992.0) {
		snprintf(tmp, sizeof tmp, "%.0f", v);
	} else {
		/* The shortest of the two precisions that round-trips: 0.05 prints as 0.05. */
		snprintf(tmp, sizeof tmp, "%.15g", v);
		if (strtod(tmp, NULL) != v)
			snprintf(tmp, sizeof tmp, "%.17g", v);
	}
	out_str(o, tmp);
}

void out_int(struct out *o, int64_t v)
{
	char tmp[24];
	snprintf(tmp, sizeof tmp, "%lld", (long long)v);
	out_str(o, tmp);
}

void out_json_string(struct out *o, const char *s, size_t max_bytes)
{
	out_raw(o, "\"", 1);
	for (size_t i = 0; i < max_bytes && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			out_raw(o, esc, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			/* Bytes outside printable ASCII are escaped one by one: the line stays valid JSON whatever came in. */
			snprintf(esc, sizeof esc, "\\u%04x", c);
			out_raw(o, esc, 6);
		} else {
			out_raw(o, (const char *)&c, 1);
		}
	}
	out_raw(o, "\"", 1);
}

/* ---- histogram ---- */

void hist_init(struct hist *h, double width, int nbuckets)
{
	h->width = width;
	h->nbuckets = nbuckets;
	h->counts = xalloc((size_t)nbuckets * sizeof *h->counts);
	hist_reset(h);
}

void hist_reset(struct hist *h)
{
	memset(h->counts, 0, (size_t)h->nbuckets * sizeof *h->counts);
	h->count = 0;
	h->sum = 0;
	h->min = INFINITY;
	h->max = -INFINITY;
	h->overflow = 0;
}

void hist_json(struct out *o, const struct hist *h)
{
	out_str(o, "{\"bucketWidth\":");
	out_num(o, h->width);
	out_str(o, ",\"bucketCount\":");
	out_int(o, h->nbuckets);
	out_str(o, ",\"count\":");
	out_num(o, h->count);
	out_str(o, ",\"sum\":");
	out_num(o, h->sum);
	out_str(o, ",\"min\":");
	out_num(o, h->count == 0 ? 0 : h->min);
	out_str(o, ",\"max\":");
	out_num(o, h->count == 0 ? 0 : h->max);
	out_str(o, ",\"overflow\":");
	out_num(o, h->overflow);
	out_str(o, ",\"buckets\":[");
	int first = 1;
	for (int i = 0; i < h->nbuckets; i++) {
		if (h->counts[i] == 0)
			continue;
		out_str(o, first ? "[" : ",[");
		first = 0;
		out_int(o, i);
		out_raw(o, ",", 1);
		out_int(o, h->counts[i]);
		out_raw(o, "]", 1);
	}
	out_str(o, "]}");
}

/* ---- delay wheel ---- */

void wheel_init(struct wheel *w, double max_delay_ms, int capacity)
{
	int slots = 2;
	while (slots < (int)ceil(max_delay_ms) + 2)
		slots *= 2;
	w->slots = slots;
	w->capacity = capacity;
	w->mask = slots - 1;
	w->head = xalloc((size_t)slots * sizeof(int32_t));
	w->tail = xalloc((size_t)slots * sizeof(int32_t));
	for (int i = 0; i < slots; i++)
		w->head[i] = w->tail[i] = -1;
	w->next = xalloc((size_t)capacity * sizeof(int32_t));
	w->stream = xalloc((size_t)capacity * sizeof(int32_t));
	w->buffer = xalloc((size_t)capacity * sizeof(int32_t));
	for (int i = 0; i < capacity; i++)
		w->next[i] = i + 1 < capacity ? i + 1 : -1;
	w->free_head = 0;
	w->size = 0;
	w->cursor = 0;
}

int wheel_push(struct wheel *w, double due_ms, int32_t stream, int32_t buffer)
{
	int32_t entry = w->free_head;
	if (entry < 0)
		return 0;
	int64_t due = (int64_t)floor(due_ms);
	if (due < w->cursor)
		due = w->cursor;
	if (due - w->cursor >= w->slots)
		return 0;
	w->free_head = w->next[entry];
	w->next[entry] = -1;
	w->stream[entry] = stream;
	w->buffer[entry] = buffer;
	int slot = (int)(due & w->mask);
	int32_t tail = w->tail[slot];
	if (tail < 0)
		w->head[slot] = entry;
	else
		w->next[tail] = entry;
	w->tail[slot] = entry;
	w->size++;
	return 1;
}

int wheel_advance(struct wheel *w, double now_ms, wheel_emit_fn emit)
{
	int64_t until = (int64_t)floor(now_ms);
	int released = 0;
	/* The cursor's own slot stays open: an entry pushed later with a due time already passed still goes next time. */
	for (int64_t ms = w->cursor; ms <= until && w->size > 0; ms++) {
		int slot = (int)(ms & w->mask);
		int32_t entry = w->head[slot];
		w->head[slot] = -1;
		w->tail[slot] = -1;
		while (entry >= 0) {
			int32_t next = w->next[entry];
			w->next[entry] = w->free_head;
			w->free_head = entry;
			w->size--;
			released++;
			emit(w->stream[entry], w->buffer[entry]);
			entry = next;
		}
	}
	if (until > w->cursor)
		w->cursor = until;
	return released;
}

int wheel_flush(struct wheel *w, wheel_emit_fn emit)
{
	return wheel_advance(w, (double)(w->cursor + w->slots), emit);
}

/* ---- frame tag ---- */

#define TAG_MARK 0xc0
#define TAG_MARK_MASK 0xc0

/* Math.imul arithmetic of frame-tag.ts's check(): 32-bit wrapping multiplies. */
static uint32_t tag_check(uint32_t counter, int32_t stream)
{
	uint32_t h = (counter ^ ((uint32_t)stream + 1u) * 0x9e3779b1u) * 0x85ebca6bu;
	return (h ^ (h >> 16)) & 0xfff;
}

static void tag_bytes(uint8_t b[6], uint32_t counter, int32_t stream)
{
	uint32_t c = counter & FRAME_TAG_COUNTER_MASK;
	uint32_t k = tag_check(c, stream);
	b[0] = (uint8_t)(TAG_MARK | ((c >> 18) & 0x3f));
	b[1] = (uint8_t)(TAG_MARK | ((c >> 12) & 0x3f));
	b[2] = (uint8_t)(TAG_MARK | ((c >> 6) & 0x3f));
	b[3] = (uint8_t)(TAG_MARK | (c & 0x3f));
	b[4] = (uint8_t)(TAG_MARK | ((k >> 6) & 0x3f));
	b[5] = (uint8_t)(TAG_MARK | (k & 0x3f));
}

void frame_tag_write(uint8_t *p, uint32_t counter, int32_t stream)
{
	tag_bytes(p, counter, stream);
}

void frame_tag_write_l16(uint8_t *p, uint32_t counter, int32_t stream)
{
	uint8_t b[6];
	tag_bytes(b, counter, stream);
	for (int i = 0; i < 6; i++) {
		p[2 * i] = 0;
		p[2 * i + 1] = b[i];
	}
}

static int32_t tag_decode(const uint8_t b[6], int32_t stream)
{
	if (((b[0] & b[1] & b[2] & b[3] & b[4] & b[5]) & TAG_MARK_MASK) != TAG_MARK)
		return -1;
	uint32_t c = ((uint32_t)(b[0] & 0x3f) << 18) | ((uint32_t)(b[1] & 0x3f) << 12) | ((uint32_t)(b[2] & 0x3f) << 6) | (b[3] & 0x3f);
	uint32_t k = ((uint32_t)(b[4] & 0x3f) << 6) | (b[5] & 0x3f);
	return k == tag_check(c, stream) ? (int32_t)c : -1;
}

int32_t frame_tag_read(const uint8_t *buf, size_t len, size_t offset, int32_t stream)
{
	if (offset + FRAME_TAG_BYTES > len)
		return -1;
	return tag_decode(buf + offset, stream);
}

int32_t frame_tag_read_l16(const uint8_t *buf, size_t len, size_t offset, int32_t stream)
{
	if (offset + FRAME_TAG_L16_BYTES > len)
		return -1;
	const uint8_t *p = buf + offset;
	if ((p[0] | p[2] | p[4] | p[6] | p[8] | p[10]) != 0)
		return -1;
	uint8_t b[6] = { p[1], p[3], p[5], p[7], p[9], p[11] };
	return tag_decode(b, stream);
}

/* ---- randomness ---- */

static uint64_t rng_state[4];

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void rng_seed(void)
{
	if (getrandom(rng_state, sizeof rng_state, 0) != (ssize_t)sizeof rng_state || (rng_state[0] | rng_state[1] | rng_state[2] | rng_state[3]) == 0) {
		/* Never expected; any non-zero state works for impairment decisions. */
		rng_state[0] = 0x9e3779b97f4a7c15ull;
		rng_state[1] = 0xbf58476d1ce4e5b9ull;
		rng_state[2] = 0x94d049bb133111ebull;
		rng_state[3] = 1;
	}
}

uint64_t rng_u64(void)
{
	uint64_t *s = rng_state;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double rng_unit(void)
{
	return (double)(rng_u64() >> 11) * 0x1.0p-53;
}
