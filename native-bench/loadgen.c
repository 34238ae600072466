/*
 * loadgen: one core of `tandem loadtest`'s generator in C, the twin of
 * tools/media-load/generator-core.ts (GeneratorCore) for the ulaw, alaw and
 * slin16 codecs. tools/media-load/native-core.ts drives it; the protocol is
 * documented there and in handle_line() below.
 *
 * It plays Asterisk for a set of pairs: two connected UDP sockets per pair (leg
 * A and leg B), each sending one RTP stream at 50 packets/s and receiving the
 * engine's injected stream (the other leg's audio). Sends follow one drift-free
 * schedule: the 20 ms period is cut into 1 ms slots, streams are spread evenly
 * over the slots, and every slot has an absolute deadline on CLOCK_MONOTONIC
 * (a timerfd armed with TFD_TIMER_ABSTIME). Each payload carries a frame tag
 * (frame-tag.ts) from which the receiving socket finds the frame's send time:
 * latency = arrival time − send time, pacing = |interarrival − 20 ms|, both
 * into histograms of histogram.ts's bucket layout. Results, 1 s windows and
 * progress are written as the same JSON objects GeneratorCore produces
 * (CoreResult, WindowSample, GeneratorProgress), one message per stdout line.
 *
 * Impairment (loss, reorder, jitter) is applied on the paced clock, in that
 * order, with the semantics of GeneratorCore: a dropped frame never reaches the
 * wire; a reordered one waits for its stream's next frame; a delayed one waits
 * in a delay wheel released on the 1 ms tick.
 *
 * Stream s (local) is pair s>>1, leg A when s is even; its global id is
 * 2·pairIndex + (s & 1). What socket s receives is the mirror of stream s^1.
 *
 * One difference from GeneratorCore, on purpose: the arrival time is the
 * kernel's receive timestamp (SO_TIMESTAMPNS), not the moment this process
 * read the datagram. So the process need not wake for every datagram (it
 * sleeps on stdin and the timerfd only and reads every socket once per 1 ms
 * tick), and its own scheduling delays do not show up as the engine's latency
 * or pacing jitter.
 *
 * Single-threaded. It always stops by itself: when stdin closes, on `close`, or at a hard
 * deadline (the schedule's end + --margin-s; before `start`, --idle-s after
 * launch).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "loadgen_lib.h"

#define PERIOD_MS 20.0
#define SLOTS 20
#define SLOT_MS (PERIOD_MS / SLOTS)
#define RTP_HEADER 12
/* Send buffers per stream without jitter (GeneratorCore's BASE_SEND_BUFFERS). */
#define BASE_SEND_BUFFERS 4
/* Send-time ring per stream: 256 frames = 5.12 s. */
#define RING 256
#define RING_MASK (RING - 1)
/* After a stall, missed slots are sent back to back up to this lateness; beyond it they are skipped. */
#define MAX_CATCH_UP_MS 100.0
/* A slot is sent when its deadline is at most this far ahead (the timerfd wakes a few µs either side). */
#define SEND_SLACK_MS 0.05
#define FLAG_MEASURED 1
#define FLAG_RECEIVED 2
#define WINDOW_MS 1000.0
#define WINDOW_SETTLE_MS 600.0
#define NEW_PAIR_SETTLE_MS 1000.0
#define WINDOW_RING 8
#define MAX_LINE 4096
#define MAX_CAPACITY_PAIRS 100000
#define MAX_AUDIO_BYTES (64u << 20)
#define MAX_DATAGRAM 2048
#define RECV_BATCH 8
#define MAX_EVENTS 256
/* Stream ids in epoll data above every stream index. */
#define EV_STDIN 0xfffffffeu
#define EV_TIMER 0xfffffffdu

struct codec {
	const char *name;
	int payload_type;
	int frame_bytes;
	int samples_per_frame;
	int wide;
};

static const struct codec CODECS[] = {
	{ "ulaw", 0, 160, 160, 0 },
	{ "alaw", 8, 160, 160, 0 },
	{ "slin16", 118, 640, 320, 1 },
};

struct window_acc {
	int64_t index;
	int settled;
	int pairs;
	double packets, sent, received, dropped, arrivals;
	struct hist latency;
};

struct pair_spec {
	int64_t index;
	struct sockaddr_in leg[2];
	/* Where legs A and B start in the audio, in frames; -1: spread by stream id. */
	int64_t start_frame[2];
};

static struct {
	double margin_s;
	double idle_s;
} opt = { 60, 600 };

/* The core's state: one instance per process, so plain statics (GeneratorCore's fields). */
static const struct codec *fmt;
static int frame_bytes, packet_bytes, capacity_pairs, send_buffers, socket_buffer;
/* Frame tags in every payload (setup TAG_FRAMES); 0 for a conversation. */
static int tag_frames = 1;
static double jitter_ms, loss_pct, reorder_pct;
static uint8_t *audio;
static size_t audio_len;
static int *fds;
static uint8_t *packets;
static int32_t *buffer_ring, *global_id, *seq, *counter, *held, *ring_counter, *ring_window, *slot_streams;
static uint32_t *ts0;
static int64_t *audio_pos;
static double *measure_from, *ring_sent_at, *last_arrival;
static uint8_t *ring_flags;
static int slot_count[SLOTS];
static int32_t slot_period[SLOTS];
static struct wheel wheel;
static int have_wheel;
static struct window_acc windows[WINDOW_RING];
/* Settled windows as JSON, oldest first; [pending_from, settled_count) not yet taken by `progress`. */
static char **settled_json;
static size_t settled_count, settled_cap, pending_from;
static int64_t next_settle;

static struct hist latency_h[2], pacing_h, send_lateness_h;
static double sent_d[2], received_d[2], duplicates_d[2], impairment_dropped_d[2];
static int reserved_pairs, active_pairs;
static double sent_total, received_total, bad_packets, untagged, stale, skipped_sends, socket_errors, reordered, delayed,
	delay_overflow, max_send_late_ms;

static double start_at, measure_start = INFINITY, measure_end = INFINITY, drain_ms, next_deadline;
static int next_slot;
static int is_set_up, opened, started, sending_done, finished;
/* When the paced tick and the drain's end are due (INFINITY: not armed), and the self-imposed end. */
static double tick_at = INFINITY, drain_at = INFINITY, hard_deadline;

static struct pair_spec *queued;
static int queued_count;
/* A `pair` line of the batch was refused (and reported): the batch's open/add then does nothing. */
static int batch_failed;

/* Sockets are polled (never waited on); the loop sleeps on stdin and the timerfd only. */
static int epoll_fd, socket_epoll_fd, timer_fd;
static double armed_at = -1;

/* ---- clock: ms on CLOCK_MONOTONIC since launch, plus 1000 so a valid time is never 0 ---- */

static int64_t monotonic_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int64_t base_ns;

static double now_ms(void)
{
	return (double)(monotonic_ns() - base_ns) / 1e6;
}

static void arm_timer(double at_ms)
{
	if (at_ms == armed_at)
		return;
	armed_at = at_ms;
	struct itimerspec spec = { 0 };
	if (isfinite(at_ms)) {
		int64_t ns = base_ns + (int64_t)(at_ms * 1e6);
		if (ns < 1)
			ns = 1;
		spec.it_value.tv_sec = ns / 1000000000;
		spec.it_value.tv_nsec = ns % 1000000000;
	}
	if (timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &spec, NULL) != 0) {
		perror("loadgen: timerfd_settime");
		exit(1);
	}
}

/* ---- stdout: one JSON message per line ---- */

static struct out line_out;

static void flush_line(void)
{
	out_raw(&line_out, "\n", 1);
	size_t done = 0;
	while (done < line_out.len) {
		ssize_t n = write(STDOUT_FILENO, line_out.buf + done, line_out.len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* The reader is gone (EPIPE): nobody is left to report to. */
			exit(0);
		}
		done += (size_t)n;
	}
	line_out.len = 0;
}

static void report_error(const char *format, ...)
{
	char message[512];
	va_list args;
	va_start(args, format);
	vsnprintf(message, sizeof message, format, args);
	va_end(args);
	out_str(&line_out, "{\"type\":\"error\",\"message\":");
	out_json_string(&line_out, message, sizeof message);
	out_str(&line_out, "}");
	flush_line();
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p) {
		fputs("loadgen: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

/* ---- windows ---- */

static void settle_up_to(int64_t last);

static void window_sample_json(struct out *o, const struct window_acc *acc)
{
	out_str(o, "{\"index\":");
	out_int(o, acc->index);
	out_str(o, ",\"pairs\":");
	out_int(o, acc->pairs);
	out_str(o, ",\"packets\":");
	out_num(o, acc->packets);
	out_str(o, ",\"sent\":");
	out_num(o, acc->sent);
	out_str(o, ",\"received\":");
	out_num(o, acc->received);
	out_str(o, ",\"dropped\":");
	out_num(o, acc->dropped);
	out_str(o, ",\"arrivals\":");
	out_num(o, acc->arrivals);
	out_str(o, ",\"latency\":");
	hist_json(o, &acc->latency);
	out_str(o, "}");
}

/* The accumulator of window `index`, recycling an older one; NULL for a window already recycled. */
static struct window_acc *window_for(int64_t index)
{
	if (index < 0)
		return NULL;
	struct window_acc *acc = &windows[index % WINDOW_RING];
	if (acc->index == index)
		return acc;
	if (acc->index > index)
		return NULL;
	/* Recycling: windows older than this one are settled first, in order, so none is lost. */
	if (!acc->settled)
		settle_up_to(acc->index);
	if (acc->index == index)
		return acc;
	acc->index = index;
	acc->settled = 0;
	acc->pairs = active_pairs;
	acc->packets = acc->sent = acc->received = acc->dropped = acc->arrivals = 0;
	hist_reset(&acc->latency);
	return acc;
}

static int64_t window_index_at(double t)
{
	return (int64_t)floor((t - start_at) / WINDOW_MS);
}

/* The last window that has ended and had its settle time, or that the measured window closed. */
static int64_t last_settleable_window(double now)
{
	double by_time = floor((now - WINDOW_SETTLE_MS - start_at) / WINDOW_MS) - 1;
	double by_sending = floor((measure_end - start_at + 0.5) / WINDOW_MS) - 1;
	double last = by_time < by_sending ? by_time : by_sending;
	if (last < -1)
		return -1;
	if (last > 1e15)
		return (int64_t)1e15;
	return (int64_t)last;
}

static void settle_up_to(int64_t last)
{
	while (next_settle <= last) {
		int64_t index = next_settle;
		struct window_acc *acc = window_for(index);
		next_settle = index + 1;
		if (acc == NULL)
			continue;
		acc->settled = 1;
		struct out o = { 0 };
		window_sample_json(&o, acc);
		if (settled_count == settled_cap) {
			settled_cap = settled_cap ? settled_cap * 2 : 64;
			char **grown = realloc(settled_json, settled_cap * sizeof *settled_json);
			if (!grown) {
				fputs("loadgen: out of memory\n", stderr);
				exit(1);
			}
			settled_json = grown;
		}
		settled_json[settled_count++] = o.buf;
	}
}

/* ---- sending ---- */

static uint8_t *packet_at(int s, int b)
{
	return packets + ((size_t)s * (size_t)send_buffers + (size_t)b) * (size_t)packet_bytes;
}

static void send_now(int32_t s, int32_t b)
{
	int fd = fds[s];
	if (fd < 0)
		return;
	size_t i = (size_t)s * (size_t)send_buffers + (size_t)b;
	int32_t r = buffer_ring[i];
	double now = now_ms();
	ring_sent_at[r] = now;
	/* Counted as sent whatever the kernel says, as GeneratorCore does; a refusal is a socket error. */
	if (send(fd, packet_at(s, b), (size_t)packet_bytes, MSG_DONTWAIT) != (ssize_t)packet_bytes)
		socket_errors++;
	sent_total++;
	if (ring_flags[r] & FLAG_MEASURED)
		sent_d[s & 1]++;
	struct window_acc *win = window_for(ring_window[r]);
	if (win)
		win->sent++;
	struct window_acc *wire = window_for(window_index_at(now));
	if (wire)
		wire->packets++;
}

/* Sends now, or after a random 0..jitter ms through the delay wheel. */
static void emit(int32_t s, int32_t b, double now)
{
	if (have_wheel) {
		delayed++;
		if (wheel_push(&wheel, now - start_at + rng_unit() * jitter_ms, s, b))
			return;
		delay_overflow++;
	}
	send_now(s, b);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void send_slot(int slot, double deadline)
{
	int count = slot_count[slot];
	size_t base = (size_t)slot * (size_t)capacity_pairs * 2;
	int32_t period = slot_period[slot];
	slot_period[slot] = period + 1;
	if (count == 0)
		return;
	int in_window = deadline >= measure_start && deadline < measure_end;
	int64_t window_index = window_index_at(deadline);
	struct window_acc *win = window_for(window_index);
	if (win)
		win->pairs = active_pairs;
	double now = now_ms();
	double late = now - deadline;
	for (int i = 0; i < count; i++) {
		int32_t s = slot_streams[base + (size_t)i];
		int settled = deadline >= measure_from[s];
		int measured = in_window && settled;
		int32_t c = counter[s];
		int32_t b = c & (send_buffers - 1);
		uint8_t *packet = packet_at(s, b);
		int32_t sq = (seq[s] + 1) & 0xffff;
		seq[s] = sq;
		/* Marker on the first packet of the talkspurt. */
		packet[1] = (uint8_t)(c == 0 ? 0x80 | fmt->payload_type : fmt->payload_type);
		packet[2] = (uint8_t)(sq >> 8);
		packet[3] = (uint8_t)(sq & 0xff);
		put_u32(packet + 4, ts0[s] + (uint32_t)period * (uint32_t)fmt->samples_per_frame);
		int64_t pos = audio_pos[s];
		memcpy(packet + RTP_HEADER, audio + pos, (size_t)frame_bytes);
		audio_pos[s] = pos + frame_bytes >= (int64_t)audio_len ? 0 : pos + frame_bytes;
		int32_t tag = c & FRAME_TAG_COUNTER_MASK;
		/* Untagged in a conversation: its pauses must stay silent for the engine's VAD gate. */
		if (tag_frames && fmt->wide)
			frame_tag_write_l16(packet + RTP_HEADER, (uint32_t)tag, global_id[s]);
		else if (tag_frames)
			frame_tag_write(packet + RTP_HEADER, (uint32_t)tag, global_id[s]);
		int32_t r = s * RING + (tag & RING_MASK);
		ring_counter[r] = tag;
		ring_sent_at[r] = NAN;
		ring_flags[r] = measured ? FLAG_MEASURED : 0;
		ring_window[r] = settled ? (int32_t)window_index : -1;
		buffer_ring[(size_t)s * (size_t)send_buffers + (size_t)b] = r;
		counter[s] = c + 1;
		if (measured) {
			hist_record(&send_lateness_h, late);
			if (late > max_send_late_ms)
				max_send_late_ms = late;
		}
		if (loss_pct > 0 && rng_unit() * 100 < loss_pct) {
			if (measured)
				impairment_dropped_d[s & 1]++;
			if (win && settled)
				win->dropped++;
			continue;
		}
		int32_t h = held[s];
		if (h >= 0) {
			/* The swap: this frame first, then the one held back for it. */
			held[s] = -1;
			emit(s, b, now);
			emit(s, h, now);
		} else if (reorder_pct > 0 && rng_unit() * 100 < reorder_pct) {
			held[s] = b;
			reordered++;
		} else {
			emit(s, b, now);
		}
	}
}

/* A stall longer than MAX_CATCH_UP_MS: the missed slots are counted, not burst out. */
static void skip_to(double now)
{
	while (now - next_deadline > MAX_CATCH_UP_MS && next_deadline < measure_end) {
		int slot = next_slot;
		if (next_deadline >= measure_start)
			skipped_sends += slot_count[slot];
		slot_period[slot]++;
		next_slot = (slot + 1) % SLOTS;
		next_deadline += SLOT_MS;
	}
}

static void on_tick(void)
{
	tick_at = INFINITY;
	if (finished)
		return;
	double now = now_ms();
	/* Due delayed sends first; it also brings the wheel's cursor to now, so this tick's delays fit its reach. */
	if (have_wheel)
		wheel_advance(&wheel, now - start_at, send_now);
	if (now - next_deadline > MAX_CATCH_UP_MS)
		skip_to(now);
	while (next_deadline <= now + SEND_SLACK_MS && next_deadline < measure_end) {
		send_slot(next_slot, next_deadline);
		next_slot = (next_slot + 1) % SLOTS;
		next_deadline += SLOT_MS;
	}
	if (next_deadline >= measure_end && !sending_done) {
		sending_done = 1;
		/* Frames held for a swap have no successor any more: they go now. */
		for (int s = 0; s < 2 * capacity_pairs; s++) {
			int32_t b = held[s];
			if (b >= 0) {
				held[s] = -1;
				emit(s, b, now);
			}
		}
	}
	if (have_wheel && wheel.size > 0)
		wheel_advance(&wheel, now_ms() - start_at, send_now);
	if (next_deadline < measure_end) {
		tick_at = next_deadline;
	} else if (have_wheel && wheel.size > 0) {
		next_deadline = now + 1;
		tick_at = next_deadline;
	}
}

/* ---- receiving ---- */

static void on_message(int s, const uint8_t *msg, size_t len, double now)
{
	received_total++;
	if (started) {
		struct window_acc *arrival = window_for(window_index_at(now));
		if (arrival)
			arrival->arrivals++;
	}
	if (len < RTP_HEADER || (msg[0] & 0xc0) != 0x80) {
		bad_packets++;
		return;
	}
	if (now >= measure_start && now < measure_end) {
		double last = last_arrival[s];
		if (last > 0)
			hist_record(&pacing_h, fabs(now - last - PERIOD_MS));
	}
	last_arrival[s] = now;
	size_t offset = RTP_HEADER + 4 * (size_t)(msg[0] & 0x0f);
	if (msg[0] & 0x10) {
		if (len < offset + 4) {
			bad_packets++;
			return;
		}
		offset += 4 + 4 * (((size_t)msg[offset + 2] << 8) | msg[offset + 3]);
	}
	int source = s ^ 1;
	int32_t tag = fmt->wide ? frame_tag_read_l16(msg, len, offset, global_id[source]) : frame_tag_read(msg, len, offset, global_id[source]);
	if (tag < 0) {
		untagged++;
		return;
	}
	int32_t r = source * RING + (tag & RING_MASK);
	if (ring_counter[r] != tag) {
		stale++;
		return;
	}
	uint8_t flags = ring_flags[r];
	int direction = source & 1;
	if (flags & FLAG_RECEIVED) {
		duplicates_d[direction]++;
		return;
	}
	ring_flags[r] = flags | FLAG_RECEIVED;
	double latency = now - ring_sent_at[r];
	if (flags & FLAG_MEASURED) {
		received_d[direction]++;
		hist_record(&latency_h[direction], latency);
	}
	struct window_acc *win = window_for(ring_window[r]);
	if (win && !win->settled) {
		win->received++;
		hist_record(&win->latency, latency);
	}
}

static struct mmsghdr rx_msgs[RECV_BATCH];
static struct iovec rx_iov[RECV_BATCH];
static uint8_t rx_buf[RECV_BATCH][MAX_DATAGRAM];
static union {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(struct timespec))];
} rx_control[RECV_BATCH];

/* CLOCK_REALTIME − CLOCK_MONOTONIC in ns, read at the start of each receive pass. */
static int64_t realtime_offset_ns;

static int64_t realtime_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/*
 * When datagram i reached the socket, on now_ms()'s clock: the kernel's
 * receive timestamp (SO_TIMESTAMPNS, CLOCK_REALTIME) moved onto the monotonic
 * clock. `now` (read just before the receive pass) instead when there is none,
 * or when it is implausible (a step of the wall clock).
 */
static double arrival_ms(int i, double now)
{
	struct msghdr *h = &rx_msgs[i].msg_hdr;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS || c->cmsg_len < CMSG_LEN(sizeof(struct timespec)))
			continue;
		struct timespec ts;
		memcpy(&ts, CMSG_DATA(c), sizeof ts);
		double at = (double)((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - realtime_offset_ns - base_ns) / 1e6;
		return at < now + 100 && at > now - 10000 ? at : now;
	}
	return now;
}

/* Drains socket s (at most a few batches: the caller polls again on its next pass). */
static void receive(int s, double now)
{
	for (int batch = 0; batch < 4; batch++) {
		for (int i = 0; i < RECV_BATCH; i++) {
			rx_iov[i].iov_base = rx_buf[i];
			rx_iov[i].iov_len = MAX_DATAGRAM;
			rx_msgs[i].msg_hdr = (struct msghdr){
				.msg_iov = &rx_iov[i],
				.msg_iovlen = 1,
				.msg_control = rx_control[i].buf,
				.msg_controllen = sizeof rx_control[i].buf,
			};
		}
		int n = recvmmsg(fds[s], rx_msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			/* ECONNREFUSED from ICMP after the engine closed a leg, mostly: counted, never fatal. */
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				socket_errors++;
			return;
		}
		/* After the result the sockets stay open (a closed port answers the engine with ICMP) but nothing counts. */
		if (!finished) {
			for (int i = 0; i < n; i++)
				on_message(s, rx_buf[i], rx_msgs[i].msg_len, arrival_ms(i, now));
		}
		if (n < RECV_BATCH)
			return;
	}
}

/*
 * Takes whatever every socket has received. The process sleeps only until its
 * next 1 ms tick, never for a datagram, and reads all sockets then: a
 * thousand wake-ups a second instead of one per arrival (on this kind of
 * machine a wake-up costs more than the datagram). The arrival times are the
 * kernel's, so polling adds no delay to latency or pacing.
 */
static void receive_all(void)
{
	static struct epoll_event ready[MAX_EVENTS];
	double now = now_ms();
	realtime_offset_ns = realtime_ns() - monotonic_ns();
	for (int pass = 0; pass < 64; pass++) {
		int n = epoll_wait(socket_epoll_fd, ready, MAX_EVENTS, 0);
		for (int i = 0; i < n; i++)
			receive((int)ready[i].data.u32, now);
		if (n < MAX_EVENTS)
			return;
		/* Many sockets ready: sends that fell due meanwhile go first. */
		if (now_ms() >= tick_at - SEND_SLACK_MS)
			on_tick();
		now = now_ms();
	}
}

/* ---- pairs ---- */

static int open_socket(int s, const struct sockaddr_in *remote, uint16_t *port, char *error, size_t error_len)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(error, error_len, "socket: %s", strerror(errno));
		return -1;
	}
	/* The kernel caps these at net.core.rmem_max / wmem_max; not fatal if it does. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &socket_buffer, sizeof socket_buffer);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &socket_buffer, sizeof socket_buffer);
	struct sockaddr_in local = { .sin_family = AF_INET, .sin_port = 0 };
	local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct sockaddr_in bound;
	socklen_t bound_len = sizeof bound;
	if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0 || connect(fd, (const struct sockaddr *)remote, sizeof *remote) != 0 ||
	    getsockname(fd, (struct sockaddr *)&bound, &bound_len) != 0) {
		snprintf(error, error_len, "bind/connect to %s:%u: %s", inet_ntoa(remote->sin_addr), ntohs(remote->sin_port), strerror(errno));
		close(fd);
		return -1;
	}
	/* Kernel receive timestamps: arrival times that do not depend on when this process gets to read. */
	int on = 1;
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)s };
	if (epoll_ctl(socket_epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		snprintf(error, error_len, "epoll_ctl: %s", strerror(errno));
		close(fd);
		return -1;
	}
	fds[s] = fd;
	*port = ntohs(bound.sin_port);
	return 0;
}

/*
 * Puts a pair's two streams on the schedule: leg A on the least loaded slot,
 * leg B half a period later (two people do not speak in lockstep).
 */
static void activate(int local, const struct pair_spec *pair)
{
	size_t cap = (size_t)capacity_pairs * 2;
	int64_t audio_frames = (int64_t)(audio_len / (size_t)frame_bytes);
	int best = 0;
	for (int k = 1; k < SLOTS / 2; k++) {
		int load = slot_count[k] + slot_count[k + SLOTS / 2];
		int best_load = slot_count[best] + slot_count[best + SLOTS / 2];
		if (load < best_load)
			best = k;
	}
	for (int leg = 0; leg < 2; leg++) {
		int s = 2 * local + leg;
		int64_t gid = 2 * pair->index + leg;
		global_id[s] = (int32_t)gid;
		seq[s] = (int32_t)(rng_u64() & 0xffff);
		ts0[s] = (uint32_t)rng_u64();
		counter[s] = 0;
		measure_from[s] = started ? now_ms() + NEW_PAIR_SETTLE_MS : 0;
		/* Streams start at different places in the audio, so pairs do not speak in chorus (or where a conversation puts them). */
		int64_t start = pair->start_frame[leg] >= 0 ? pair->start_frame[leg] : gid * 37;
		audio_pos[s] = (start % audio_frames) * frame_bytes;
		int slot = leg == 0 ? best : best + SLOTS / 2;
		slot_streams[(size_t)slot * cap + (size_t)slot_count[slot]] = s;
		slot_count[slot]++;
	}
	active_pairs++;
}

/* Opens the queued pairs; answers `type` ("ready" or "pairsAdded") with their ports, or an error. */
static void open_queued(const char *type, const char *failure)
{
	if (batch_failed) {
		batch_failed = 0;
		queued_count = 0;
		return;
	}
	if (reserved_pairs + queued_count > capacity_pairs) {
		report_error("%s: adding %d pairs to %d exceeds this core's capacity of %d", failure, queued_count, reserved_pairs, capacity_pairs);
		queued_count = 0;
		return;
	}
	struct out o = { 0 };
	out_str(&o, "{\"type\":\"");
	out_str(&o, type);
	out_str(&o, "\",\"ports\":[");
	for (int i = 0; i < queued_count; i++) {
		int local = reserved_pairs;
		uint16_t ports[2];
		char error[200];
		for (int leg = 0; leg < 2; leg++) {
			if (open_socket(2 * local + leg, &queued[i].leg[leg], &ports[leg], error, sizeof error) != 0) {
				if (leg == 1) {
					/* Leg A's socket is released: the pair was never activated. */
					epoll_ctl(socket_epoll_fd, EPOLL_CTL_DEL, fds[2 * local], NULL);
					close(fds[2 * local]);
					fds[2 * local] = -1;
				}
				report_error("%s: %s", failure, error);
				free(o.buf);
				queued_count = 0;
				return;
			}
		}
		reserved_pairs++;
		activate(local, &queued[i]);
		out_str(&o, i ? ",{\"index\":" : "{\"index\":");
		out_int(&o, queued[i].index);
		out_str(&o, ",\"portA\":");
		out_int(&o, ports[0]);
		out_str(&o, ",\"portB\":");
		out_int(&o, ports[1]);
		out_str(&o, "}");
	}
	out_str(&o, "]}");
	queued_count = 0;
	out_raw(&line_out, o.buf, o.len);
	free(o.buf);
	flush_line();
}

/* ---- results ---- */

static void direction_json(struct out *o, int d)
{
	out_str(o, "{\"sent\":");
	out_num(o, sent_d[d]);
	out_str(o, ",\"received\":");
	out_num(o, received_d[d]);
	out_str(o, ",\"duplicates\":");
	out_num(o, duplicates_d[d]);
	out_str(o, ",\"latency\":");
	hist_json(o, &latency_h[d]);
	out_str(o, ",\"impairmentDropped\":");
	out_num(o, impairment_dropped_d[d]);
	out_str(o, "}");
}

static void field(struct out *o, const char *name, double v)
{
	out_str(o, ",\"");
	out_str(o, name);
	out_str(o, "\":");
	out_num(o, v);
}

static void windows_json(struct out *o, size_t from)
{
	out_str(o, "[");
	for (size_t i = from; i < settled_count; i++) {
		if (i > from)
			out_str(o, ",");
		out_str(o, settled_json[i]);
	}
	out_str(o, "]");
}

static void write_result(void)
{
	struct out *o = &line_out;
	out_str(o, "{\"type\":\"result\",\"result\":{\"aToB\":");
	direction_json(o, 0);
	out_str(o, ",\"bToA\":");
	direction_json(o, 1);
	out_str(o, ",\"pacing\":");
	hist_json(o, &pacing_h);
	out_str(o, ",\"sendLateness\":");
	hist_json(o, &send_lateness_h);
	field(o, "sentTotal", sent_total);
	field(o, "receivedTotal", received_total);
	field(o, "badPackets", bad_packets);
	field(o, "untagged", untagged);
	field(o, "stale", stale);
	field(o, "skippedSends", skipped_sends);
	field(o, "socketErrors", socket_errors);
	field(o, "reordered", reordered);
	field(o, "delayed", delayed);
	field(o, "delayOverflow", delay_overflow);
	out_str(o, ",\"windows\":");
	windows_json(o, 0);
	/* Where each stream got to in the audio: [global id, frames scheduled] (a conversation counts its utterances from it). */
	out_str(o, ",\"streamFrames\":[");
	for (int s = 0; s < active_pairs * 2; s++) {
		if (s > 0)
			out_str(o, ",");
		out_str(o, "[");
		out_int(o, global_id[s]);
		out_str(o, ",");
		out_int(o, counter[s]);
		out_str(o, "]");
	}
	out_str(o, "]}}");
	flush_line();
}

static void write_progress(void)
{
	if (started && !finished)
		settle_up_to(last_settleable_window(now_ms()));
	struct out *o = &line_out;
	out_str(o, "{\"type\":\"progress\",\"progress\":{\"sent\":");
	out_num(o, sent_total);
	field(o, "received", received_total);
	field(o, "measuredSent", sent_d[0] + sent_d[1]);
	field(o, "measuredReceived", received_d[0] + received_d[1]);
	field(o, "maxSendLateMs", max_send_late_ms);
	out_str(o, "},\"windows\":");
	windows_json(o, pending_from);
	pending_from = settled_count;
	out_str(o, "}");
	flush_line();
}

/*
 * Reports but keeps the sockets open: the engine still sends until its pairs
 * close, and a closed port would answer with ICMP errors on every engine leg.
 */
static void finish(void)
{
	drain_at = INFINITY;
	if (finished)
		return;
	tick_at = INFINITY;
	/* Whatever the wheel still holds is sent now: it was scheduled in the measured window. */
	if (have_wheel)
		wheel_flush(&wheel, send_now);
	settle_up_to(last_settleable_window(INFINITY));
	finished = 1;
	write_result();
	/* Still bounded: without a `close`, leave on our own. */
	double bound = now_ms() + opt.margin_s * 1000;
	if (bound < hard_deadline)
		hard_deadline = bound;
}

static void end_measurement(void)
{
	if (!started || finished)
		return;
	double now = now_ms();
	if (now >= measure_end)
		return;
	if (now < measure_start)
		measure_start = now;
	measure_end = now;
	drain_at = measure_end + drain_ms;
}

/* ---- commands ---- */

static int parse_number(const char *token, double min, double max, double *value)
{
	if (token == NULL || *token == 0)
		return -1;
	char *end;
	errno = 0;
	double v = strtod(token, &end);
	if (errno != 0 || *end != 0 || !isfinite(v) || v < min || v > max)
		return -1;
	*value = v;
	return 0;
}

static int parse_integer(const char *token, int64_t min, int64_t max, int64_t *value)
{
	if (token == NULL || *token == 0)
		return -1;
	char *end;
	errno = 0;
	long long v = strtoll(token, &end, 10);
	if (errno != 0 || *end != 0 || v < min || v > max)
		return -1;
	*value = v;
	return 0;
}

static int parse_ipv4(const char *address, const char *port, struct sockaddr_in *out)
{
	int64_t p;
	if (address == NULL || strlen(address) > 15 || parse_integer(port, 1, 65535, &p) != 0)
		return -1;
	memset(out, 0, sizeof *out);
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)p);
	return inet_pton(AF_INET, address, &out->sin_addr) == 1 ? 0 : -1;
}

static int read_audio(const char *path, char *error, size_t error_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(error, error_len, "cannot read audio %.200s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < frame_bytes || (uint64_t)st.st_size > MAX_AUDIO_BYTES) {
		snprintf(error, error_len, "audio must hold at least one %d-byte frame and at most %u bytes, got %lld bytes", frame_bytes,
			 MAX_AUDIO_BYTES, (long long)st.st_size);
		close(fd);
		return -1;
	}
	/* Whole frames only. */
	size_t len = (size_t)st.st_size - (size_t)st.st_size % (size_t)frame_bytes;
	audio = xcalloc(len, 1);
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, audio + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(error, error_len, "short read of audio %.200s", path);
			close(fd);
			free(audio);
			audio = NULL;
			return -1;
		}
		got += (size_t)n;
	}
	close(fd);
	audio_len = len;
	return 0;
}

static size_t next_pow2(size_t n)
{
	size_t p = 1;
	while (p < n)
		p *= 2;
	return p;
}

/* Preallocates everything for capacity_pairs pairs (GeneratorCore's constructor). */
static void allocate(void)
{
	size_t n = (size_t)capacity_pairs * 2;
	/* A frame may wait its jitter plus one period (a reorder) before it leaves: its buffer must survive that. */
	send_buffers = (int)next_pow2((size_t)(BASE_SEND_BUFFERS + (int)ceil(jitter_ms / PERIOD_MS) + 2));
	fds = xcalloc(n, sizeof *fds);
	for (size_t s = 0; s < n; s++)
		fds[s] = -1;
	buffer_ring = xcalloc(n * (size_t)send_buffers, sizeof *buffer_ring);
	global_id = xcalloc(n, sizeof *global_id);
	seq = xcalloc(n, sizeof *seq);
	ts0 = xcalloc(n, sizeof *ts0);
	counter = xcalloc(n, sizeof *counter);
	audio_pos = xcalloc(n, sizeof *audio_pos);
	held = xcalloc(n, sizeof *held);
	measure_from = xcalloc(n, sizeof *measure_from);
	ring_counter = xcalloc(n * RING, sizeof *ring_counter);
	ring_sent_at = xcalloc(n * RING, sizeof *ring_sent_at);
	ring_flags = xcalloc(n * RING, sizeof *ring_flags);
	ring_window = xcalloc(n * RING, sizeof *ring_window);
	last_arrival = xcalloc(n, sizeof *last_arrival);
	slot_streams = xcalloc((size_t)SLOTS * n, sizeof *slot_streams);
	queued = xcalloc((size_t)capacity_pairs, sizeof *queued);
	for (size_t i = 0; i < n; i++)
		held[i] = -1;
	for (size_t i = 0; i < n * RING; i++) {
		ring_counter[i] = -1;
		ring_window[i] = -1;
	}
	if (jitter_ms > 0) {
		have_wheel = 1;
		wheel_init(&wheel, jitter_ms + 1, (int)(n * (size_t)((int)ceil(jitter_ms / PERIOD_MS) + 4)));
	}
	for (int w = 0; w < WINDOW_RING; w++) {
		windows[w].index = -1;
		windows[w].settled = 1;
		hist_init(&windows[w].latency, WINDOW_HIST);
	}
	packets = xcalloc(n * (size_t)send_buffers, (size_t)packet_bytes);
	for (size_t s = 0; s < n; s++) {
		uint32_t ssrc = (uint32_t)rng_u64();
		for (int b = 0; b < send_buffers; b++) {
			uint8_t *p = packet_at((int)s, b);
			p[0] = 0x80; /* V=2, no padding, no extension, no CSRC */
			p[1] = (uint8_t)fmt->payload_type;
			put_u32(p + 8, ssrc);
		}
	}
}

/* `setup CODEC CAPACITY_PAIRS SOCKET_BUFFER_BYTES JITTER_MS LOSS_PCT REORDER_PCT AUDIO_PATH [TAG_FRAMES]` (TAG_FRAMES 1 by default, 0 or 1) */
static void cmd_setup(char **tok, int ntok)
{
	if (is_set_up) {
		report_error("core already set up");
		return;
	}
	if (ntok != 8 && ntok != 9) {
		report_error("setup takes 7 or 8 arguments, got %d", ntok - 1);
		return;
	}
	int64_t tags = 1;
	if (ntok == 9 && parse_integer(tok[8], 0, 1, &tags) != 0) {
		report_error("setup: TAG_FRAMES must be 0 or 1");
		return;
	}
	const struct codec *codec = NULL;
	for (size_t i = 0; i < sizeof CODECS / sizeof CODECS[0]; i++)
		if (strcmp(tok[1], CODECS[i].name) == 0)
			codec = &CODECS[i];
	int64_t capacity, buffer;
	double jitter, loss, reorder;
	if (codec == NULL) {
		report_error("unknown codec %.20s; expected ulaw, alaw or slin16", tok[1]);
		return;
	}
	if (parse_integer(tok[2], 1, MAX_CAPACITY_PAIRS, &capacity) != 0 || parse_integer(tok[3], 1, 1 << 30, &buffer) != 0 ||
	    parse_number(tok[4], 0, 1000, &jitter) != 0 || parse_number(tok[5], 0, 100, &loss) != 0 || parse_number(tok[6], 0, 100, &reorder) != 0) {
		report_error("setup: capacity must be 1-%d, socket buffer 1-%d bytes, jitter 0-1000 ms, loss and reorder 0-100 %%", MAX_CAPACITY_PAIRS,
			     1 << 30);
		return;
	}
	fmt = codec;
	frame_bytes = codec->frame_bytes;
	packet_bytes = RTP_HEADER + frame_bytes;
	char error[300];
	if (read_audio(tok[7], error, sizeof error) != 0) {
		report_error("%s", error);
		return;
	}
	capacity_pairs = (int)capacity;
	socket_buffer = (int)buffer;
	jitter_ms = jitter;
	loss_pct = loss;
	reorder_pct = reorder;
	tag_frames = (int)tags;
	allocate();
	is_set_up = 1;
}

/* `pair INDEX IPV4_A PORT_A IPV4_B PORT_B [START_FRAME_A START_FRAME_B]`: queued for the next `open` or `add`. */
static void cmd_pair(char **tok, int ntok)
{
	/* Failed until it is queued. */
	int failed_before = batch_failed;
	batch_failed = 1;
	if (!is_set_up) {
		report_error("pair before setup");
		return;
	}
	struct pair_spec p = { .start_frame = { -1, -1 } };
	if ((ntok != 6 && ntok != 8) || parse_integer(tok[1], 0, 1000000000, &p.index) != 0 || parse_ipv4(tok[2], tok[3], &p.leg[0]) != 0 ||
	    parse_ipv4(tok[4], tok[5], &p.leg[1]) != 0 ||
	    (ntok == 8 && (parse_integer(tok[6], 0, INT32_MAX, &p.start_frame[0]) != 0 || parse_integer(tok[7], 0, INT32_MAX, &p.start_frame[1]) != 0))) {
		report_error("malformed pair: expected `pair INDEX IPV4 PORT IPV4 PORT [START_FRAME_A START_FRAME_B]`");
		return;
	}
	if (reserved_pairs + queued_count >= capacity_pairs) {
		report_error("adding pair %lld to %d exceeds this core's capacity of %d", (long long)p.index, reserved_pairs + queued_count,
			     capacity_pairs);
		return;
	}
	queued[queued_count++] = p;
	batch_failed = failed_before;
}

/* `start START_MONOTONIC_NS WARMUP_MS MEASURE_MS DRAIN_MS` */
static void cmd_start(char **tok, int ntok)
{
	int64_t start_ns;
	double warmup, measure, drain;
	if (!is_set_up || !opened) {
		report_error("open must complete before start");
		return;
	}
	if (started) {
		report_error("the generator core was already started");
		return;
	}
	if (ntok != 5 || parse_integer(tok[1], 0, INT64_MAX, &start_ns) != 0 || parse_number(tok[2], 0, 1e9, &warmup) != 0 ||
	    parse_number(tok[3], 0, 1e9, &measure) != 0 || !(measure > 0) || parse_number(tok[4], 0, 1e9, &drain) != 0) {
		report_error("malformed start: expected `start MONOTONIC_NS WARMUP_MS MEASURE_MS DRAIN_MS` (measure > 0)");
		return;
	}
	started = 1;
	start_at = (double)(start_ns - base_ns) / 1e6;
	measure_start = start_at + warmup;
	measure_end = measure_start + measure;
	drain_ms = drain;
	next_deadline = start_at;
	next_slot = 0;
	tick_at = next_deadline;
	drain_at = measure_end + drain_ms;
	hard_deadline = drain_at + opt.margin_s * 1000;
}

static void handle_line(char *line)
{
	size_t len = strlen(line);
	if (len > 0 && line[len - 1] == '\r')
		line[--len] = 0;
	if (len == 0)
		return;
	char *tok[10];
	int ntok = 0;
	char *save = NULL;
	for (char *t = strtok_r(line, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save)) {
		if (ntok == 10) {
			ntok++;
			break;
		}
		tok[ntok++] = t;
	}
	if (ntok == 0)
		return;
	if (ntok > 10) {
		report_error("too many fields in a command line");
		return;
	}
	const char *cmd = tok[0];
	if (strcmp(cmd, "setup") == 0) {
		cmd_setup(tok, ntok);
	} else if (strcmp(cmd, "pair") == 0) {
		cmd_pair(tok, ntok);
	} else if (strcmp(cmd, "open") == 0 && ntok == 1) {
		if (!is_set_up)
			report_error("open before setup");
		else if (opened)
			report_error("core already opened");
		else {
			opened = 1;
			open_queued("ready", "socket setup failed");
		}
	} else if (strcmp(cmd, "add") == 0 && ntok == 1) {
		if (!is_set_up)
			report_error("add before setup");
		else
			open_queued("pairsAdded", "adding pairs failed");
	} else if (strcmp(cmd, "start") == 0) {
		cmd_start(tok, ntok);
	} else if (strcmp(cmd, "finish") == 0 && ntok == 1) {
		end_measurement();
	} else if (strcmp(cmd, "progress") == 0 && ntok == 1) {
		write_progress();
	} else if (strcmp(cmd, "close") == 0 && ntok == 1) {
		/* Process exit closes every socket. */
		exit(0);
	} else {
		report_error("unknown command: %.40s", cmd);
	}
}

/* Reads what stdin has; returns 0 once it is closed. Lines longer than MAX_LINE are reported and skipped. */
static int read_stdin(void)
{
	static char pending[MAX_LINE + 1];
	static size_t used;
	static int discarding;
	char chunk[65536];
	ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	if (n == 0)
		return 0;
	for (ssize_t i = 0; i < n; i++) {
		char c = chunk[i];
		if (c == '\n') {
			if (!discarding) {
				pending[used] = 0;
				handle_line(pending);
			}
			used = 0;
			discarding = 0;
		} else if (discarding) {
			continue;
		} else if (c == 0) {
			report_error("NUL byte in a command line");
			discarding = 1;
		} else if (used == MAX_LINE) {
			report_error("command line longer than %d bytes", MAX_LINE);
			discarding = 1;
		} else {
			pending[used++] = c;
		}
	}
	return 1;
}

/* ---- main ---- */

static void parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		double v;
		if (i + 1 < argc && strcmp(argv[i], "--margin-s") == 0 && parse_number(argv[i + 1], 0, 86400, &v) == 0) {
			opt.margin_s = v;
			i++;
		} else if (i + 1 < argc && strcmp(argv[i], "--idle-s") == 0 && parse_number(argv[i + 1], 0.1, 86400, &v) == 0) {
			opt.idle_s = v;
			i++;
		} else {
			fprintf(stderr, "usage: loadgen [--margin-s SECONDS] [--idle-s SECONDS]  (commands on stdin; see native-core.ts)\n");
			exit(2);
		}
	}
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	/* Sockets: two per pair; take the hard limit of descriptors. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* The parent going away ends us even if stdin stays open somewhere. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGPIPE, SIG_IGN);
	rng_seed();
	/* now_ms() starts at 1000: a valid time is never 0 (last_arrival 0 means none). */
	base_ns = monotonic_ns() - 1000000000;
	hist_init(&latency_h[0], LATENCY_HIST);
	hist_init(&latency_h[1], LATENCY_HIST);
	hist_init(&pacing_h, JITTER_HIST);
	hist_init(&send_lateness_h, LATENCY_HIST);
	hard_deadline = now_ms() + opt.idle_s * 1000;

	epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	socket_epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (epoll_fd < 0 || socket_epoll_fd < 0 || timer_fd < 0) {
		perror("loadgen: epoll/timerfd");
		return 1;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = EV_STDIN };
	if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, STDIN_FILENO, &ev) != 0) {
		perror("loadgen: epoll_ctl stdin");
		return 1;
	}
	ev.data.u32 = EV_TIMER;
	if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, timer_fd, &ev) != 0) {
		perror("loadgen: epoll_ctl timerfd");
		return 1;
	}
	struct epoll_event events[MAX_EVENTS];
	double last_poll = now_ms();
	for (;;) {
		/* Sockets are read every 1 ms while running (each tick), every 10 ms otherwise. */
		double poll_at = last_poll + (started && !finished ? 1.0 : 10.0);
		double next = tick_at;
		if (drain_at < next)
			next = drain_at;
		if (hard_deadline < next)
			next = hard_deadline;
		if (poll_at < next)
			next = poll_at;
		arm_timer(next);
		int n = epoll_wait(epoll_fd, events, MAX_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("loadgen: epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			if (events[i].data.u32 == EV_TIMER) {
				uint64_t expirations;
				if (read(timer_fd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
					perror("loadgen: timerfd read");
				/* The timer fired: whatever it was armed for is re-armed from scratch. */
				armed_at = -1;
			} else if (!read_stdin()) {
				return 0;
			}
		}
		double now = now_ms();
		if (now >= tick_at - SEND_SLACK_MS)
			on_tick();
		/* Before the drain's end is judged: what arrived in time counts. */
		receive_all();
		last_poll = now;
		if (now >= drain_at)
			finish();
		if (now >= hard_deadline) {
			if (!finished)
				report_error("native generator core: hard deadline passed without a result, exiting");
			else
				fputs("loadgen: no close after the result; exiting at the deadline\n", stderr);
			return finished ? 0 : 3;
		}
	}
}
