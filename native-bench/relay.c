/*
 * relay: a UDP RTP relay of the same shape as Tandem's engine in mirror mode,
 * the native baseline for the whole-engine comparison (README.md).
 *
 * Per pair two legs, A and B. Every RTP packet received on a leg is parsed
 * (same validation as RtpPacketView.tryParse), its µ-law payload decoded to
 * PCM16 and encoded again, a fresh header written with the *other* leg's own
 * SSRC/sequence/timestamp, and the packet sent to the other leg's peer. Unlike
 * Tandem it forwards at once: no jitter buffer and no 20 ms playout clock, so
 * its cost is a lower bound for Tandem's.
 *
 * Two socket layouts (--mode):
 *   socket  one UDP socket per leg (pair i: A = base+2i, B = base+2i+1), epoll,
 *           recvfrom/send; each socket is connect()ed to its peer once known.
 *   mmsg    one UDP socket per thread (port base+t, both legs of its pairs),
 *           recvmmsg/sendmmsg batches; a leg is recognised by its peer's address.
 * Pairs are spread over --threads threads (pair i on thread i % threads).
 * --base-port 0 lets the kernel choose every port; the ready line lists them.
 *
 * A leg's peer is latched from its first valid packet (socket mode) or given on
 * stdin as `remote PAIR A|B IPV4 PORT` (both modes; the only way in mmsg mode,
 * where the shared port cannot tell which leg an unknown source means, just as
 * Tandem's control plane tells the engine UNICASTRTP_LOCAL_PORT).
 *
 * stdout carries JSON lines only: {"type":"ready",...} once every socket is
 * bound, {"type":"stats",...} for each `stats` line on stdin, and
 * {"type":"final",...} on exit. It exits on SIGTERM/SIGINT, when stdin closes
 * (unless --ignore-stdin) or after --seconds, whichever comes first.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rtp_hot.h"

#define MAX_DATAGRAM 2048
#define PCMU_PT 0
#define MAX_THREADS 64
#define MAX_PAIRS 30000
#define DEFAULT_BATCH 64
#define MAX_BATCH 1024
/* Worker threads wake at least this often to see the stop flag. */
#define IDLE_WAKE_MS 100
/* Socket mode: datagrams read from one leg before the next ready leg gets its turn. */
#define PER_LEG_BURST 64

enum mode { MODE_SOCKET, MODE_MMSG };

enum drop_reason {
	DROP_TOO_SHORT,
	DROP_BAD_VERSION,
	DROP_RTCP,
	DROP_CSRC_OVERFLOW,
	DROP_EXTENSION_OVERFLOW,
	DROP_BAD_PADDING,
	DROP_PAYLOAD_TYPE,
	DROP_FOREIGN_SOURCE,
	DROP_REASONS
};
static const char *const DROP_NAMES[DROP_REASONS] = {
	"TOO_SHORT", "BAD_VERSION", "RTCP", "CSRC_OVERFLOW", "EXTENSION_OVERFLOW", "BAD_PADDING", "PAYLOAD_TYPE", "FOREIGN_SOURCE",
};

/* Peer states: a leg's peer is claimed once (CAS) by whoever learns it first, then published. */
enum { PEER_UNKNOWN = 0, PEER_CLAIMED = 1, PEER_READY = 2 };

struct leg {
	int fd; /* socket mode: the leg's own socket; mmsg mode: the thread's shared socket */
	uint16_t local_port;
	int peer_state;
	struct sockaddr_in peer;
	/* The stream this leg sends (the other leg's audio): touched only by the owning thread. */
	struct rtp_packetizer packetizer;
};

/*
 * Written only by the owning thread, read by the main thread for `stats`:
 * relaxed atomic stores and loads, which are plain moves on x86.
 */
struct counters {
	uint64_t rx_packets;
	uint64_t tx_packets;
	uint64_t tx_errors;
	uint64_t tx_no_peer;
	uint64_t socket_errors;
	uint64_t rx_batches;
	uint64_t tx_batches;
	uint64_t dropped[DROP_REASONS];
};

struct worker {
	int index;
	pthread_t thread;
	int fd; /* mmsg mode: the shared socket; socket mode: the epoll instance */
	uint16_t shared_port;
	int first_pair, pair_step;
	/* mmsg mode: peer port -> leg index + 1 (0 = none); the address is checked against the leg. */
	int32_t *leg_by_port;
	struct counters c;
} __attribute__((aligned(64)));

static struct {
	enum mode mode;
	const char *bind_address;
	int base_port;
	int pairs;
	int threads;
	double seconds;
	int socket_buffer;
	int batch;
	int ignore_stdin;
} opt = { MODE_SOCKET, "127.0.0.1", 20000, 1, 1, 60, 2 * 1024 * 1024, DEFAULT_BATCH, 0 };

static struct leg *legs; /* 2 * pairs: leg 2i = pair i A, 2i+1 = pair i B */
static struct worker workers[MAX_THREADS];
static int stop_flag;
static struct timespec started;
static uint64_t bad_commands;

#define COUNT(field) __atomic_store_n(&(field), (field) + 1, __ATOMIC_RELAXED)
#define COUNT_N(field, n) __atomic_store_n(&(field), (field) + (n), __ATOMIC_RELAXED)
#define READ(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

static void die(const char *what)
{
	fprintf(stderr, "relay: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double elapsed_s(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - started.tv_sec) + (double)(now.tv_nsec - started.tv_nsec) / 1e9;
}

static uint32_t random_u32(void)
{
	uint32_t v;
	if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
		die("getrandom");
	return v;
}

static int open_socket(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	int size = opt.socket_buffer;
	/* The kernel caps these at net.core.rmem_max / wmem_max; not fatal if it does. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
	if (inet_pton(AF_INET, opt.bind_address, &addr.sin_addr) != 1) {
		fprintf(stderr, "relay: --bind %s is not an IPv4 address\n", opt.bind_address);
		exit(2);
	}
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
		fprintf(stderr, "relay: bind %s:%u: %s\n", opt.bind_address, port, strerror(errno));
		exit(1);
	}
	return fd;
}

static uint16_t local_port(int fd)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof addr;
	if (getsockname(fd, (struct sockaddr *)&addr, &len) != 0)
		die("getsockname");
	return ntohs(addr.sin_port);
}

static int same_peer(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
}

/*
 * Publishes a leg's peer; returns 0, or -1 when the leg already has one (or,
 * in mmsg mode, another leg of the thread has a peer on the same port). In
 * socket mode the socket is connected (the kernel then drops other sources);
 * in mmsg mode the peer's port is entered in the owning thread's table.
 */
static int set_peer(struct leg *leg, int leg_index, const struct sockaddr_in *peer)
{
	int expected = PEER_UNKNOWN;
	if (!__atomic_compare_exchange_n(&leg->peer_state, &expected, PEER_CLAIMED, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return -1;
	leg->peer = *peer;
	if (opt.mode == MODE_SOCKET) {
		if (connect(leg->fd, (const struct sockaddr *)peer, sizeof *peer) != 0) {
			__atomic_store_n(&leg->peer_state, PEER_UNKNOWN, __ATOMIC_RELEASE);
			return -1;
		}
	} else {
		/* The table is keyed by port alone (the address is checked per packet): one leg per peer port and thread. */
		struct worker *w = &workers[(leg_index / 2) % opt.threads];
		int32_t expected_slot = 0;
		if (!__atomic_compare_exchange_n(&w->leg_by_port[ntohs(peer->sin_port)], &expected_slot, leg_index + 1, 0,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			__atomic_store_n(&leg->peer_state, PEER_UNKNOWN, __ATOMIC_RELEASE);
			return -1;
		}
	}
	__atomic_store_n(&leg->peer_state, PEER_READY, __ATOMIC_RELEASE);
	return 0;
}

/*
 * The per-packet work: validate, decode, re-encode into out + 12, header from
 * the sending leg's packetizer. Returns the datagram length, or 0 after
 * counting a drop.
 */
static size_t transcode(struct counters *c, const uint8_t *in, size_t len, struct leg *out_leg, uint8_t *out)
{
	struct rtp_view view;
	int16_t pcm[MAX_DATAGRAM];
	int code = rtp_parse(&view, in, len);
	if (code != RTP_OK) {
		COUNT(c->dropped[code - 1]);
		return 0;
	}
	if (view.payload_type != PCMU_PT) {
		COUNT(c->dropped[DROP_PAYLOAD_TYPE]);
		return 0;
	}
	size_t samples = view.payload_length;
	g711_ulaw_decode(in + view.payload_offset, samples, pcm);
	g711_ulaw_encode(pcm, samples, out + RTP_HEADER_BYTES);
	rtp_packetizer_write_header(&out_leg->packetizer, out, (uint32_t)samples);
	return RTP_HEADER_BYTES + samples;
}

static void socket_mode_read(struct worker *w, int leg_index, uint8_t *in, uint8_t *out)
{
	struct leg *leg = &legs[leg_index];
	struct leg *other = &legs[leg_index ^ 1];
	for (int burst = 0; burst < PER_LEG_BURST; burst++) {
		struct sockaddr_in src;
		socklen_t src_len = sizeof src;
		ssize_t n = recvfrom(leg->fd, in, MAX_DATAGRAM, MSG_DONTWAIT, (struct sockaddr *)&src, &src_len);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* ICMP errors from a peer that went away surface here on a connected socket. */
			COUNT(w->c.socket_errors);
			continue;
		}
		COUNT(w->c.rx_packets);
		int state = __atomic_load_n(&leg->peer_state, __ATOMIC_ACQUIRE);
		if (state != PEER_READY && state != PEER_UNKNOWN) {
			/* Being connected by the main thread right now: the source is not known to be the peer. */
			COUNT(w->c.dropped[DROP_FOREIGN_SOURCE]);
			continue;
		}
		size_t len = transcode(&w->c, in, (size_t)n, other, out);
		if (len == 0)
			continue;
		if (state == PEER_UNKNOWN)
			set_peer(leg, leg_index, &src); /* latch on the first valid packet, as Tandem's RtpLeg */
		if (__atomic_load_n(&other->peer_state, __ATOMIC_ACQUIRE) != PEER_READY) {
			COUNT(w->c.tx_no_peer);
			continue;
		}
		if (send(other->fd, out, len, MSG_DONTWAIT) == (ssize_t)len)
			COUNT(w->c.tx_packets);
		else
			COUNT(w->c.tx_errors);
	}
}

static void *socket_mode_thread(void *arg)
{
	struct worker *w = arg;
	static __thread uint8_t in[MAX_DATAGRAM], out[MAX_DATAGRAM];
	struct epoll_event events[256];
	while (!__atomic_load_n(&stop_flag, __ATOMIC_ACQUIRE)) {
		int n = epoll_wait(w->fd, events, 256, IDLE_WAKE_MS);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (int i = 0; i < n; i++)
			socket_mode_read(w, (int)events[i].data.u32, in, out);
	}
	return NULL;
}

struct mmsg_buffers {
	struct mmsghdr rx[MAX_BATCH], tx[MAX_BATCH];
	struct iovec rx_iov[MAX_BATCH], tx_iov[MAX_BATCH];
	struct sockaddr_in rx_addr[MAX_BATCH];
	uint8_t rx_buf[MAX_BATCH][MAX_DATAGRAM];
	uint8_t tx_buf[MAX_BATCH][MAX_DATAGRAM];
};

static void mmsg_flush(struct worker *w, struct mmsghdr *tx, int count)
{
	int sent = 0;
	while (sent < count) {
		int n = sendmmsg(w->fd, tx + sent, (unsigned)(count - sent), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* A full send buffer or an error on the first datagram: drop it, keep the rest. */
			COUNT(w->c.tx_errors);
			sent++;
			continue;
		}
		COUNT(w->c.tx_batches);
		COUNT_N(w->c.tx_packets, (uint64_t)n);
		sent += n;
	}
}

static void *mmsg_mode_thread(void *arg)
{
	struct worker *w = arg;
	struct mmsg_buffers *b = calloc(1, sizeof *b);
	if (!b)
		die("calloc");
	int batch = opt.batch;
	for (int i = 0; i < batch; i++) {
		b->rx_iov[i] = (struct iovec){ b->rx_buf[i], MAX_DATAGRAM };
		b->rx[i].msg_hdr.msg_iov = &b->rx_iov[i];
		b->rx[i].msg_hdr.msg_iovlen = 1;
		b->tx_iov[i].iov_base = b->tx_buf[i];
		b->tx[i].msg_hdr.msg_iov = &b->tx_iov[i];
		b->tx[i].msg_hdr.msg_iovlen = 1;
		b->tx[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
	}
	/* A blocking recvmmsg with a receive timeout: no poll() per wake-up, and the stop flag is still seen. */
	struct timeval tv = { 0, IDLE_WAKE_MS * 1000 };
	setsockopt(w->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	int flags = MSG_WAITFORONE;
	while (!__atomic_load_n(&stop_flag, __ATOMIC_ACQUIRE)) {
		for (int i = 0; i < batch; i++) {
			b->rx[i].msg_hdr.msg_name = &b->rx_addr[i];
			b->rx[i].msg_hdr.msg_namelen = sizeof b->rx_addr[i];
		}
		int n = recvmmsg(w->fd, b->rx, (unsigned)batch, flags, NULL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				COUNT(w->c.socket_errors);
			continue;
		}
		COUNT(w->c.rx_batches);
		COUNT_N(w->c.rx_packets, (uint64_t)n);
		int out = 0;
		for (int i = 0; i < n; i++) {
			const struct sockaddr_in *src = &b->rx_addr[i];
			int32_t id = __atomic_load_n(&w->leg_by_port[ntohs(src->sin_port)], __ATOMIC_ACQUIRE) - 1;
			if (id < 0 || __atomic_load_n(&legs[id].peer_state, __ATOMIC_ACQUIRE) != PEER_READY ||
			    !same_peer(&legs[id].peer, src)) {
				COUNT(w->c.dropped[DROP_FOREIGN_SOURCE]);
				continue;
			}
			struct leg *other = &legs[id ^ 1];
			size_t len = transcode(&w->c, b->rx_buf[i], b->rx[i].msg_len, other, b->tx_buf[out]);
			if (len == 0)
				continue;
			if (__atomic_load_n(&other->peer_state, __ATOMIC_ACQUIRE) != PEER_READY) {
				COUNT(w->c.tx_no_peer);
				continue;
			}
			b->tx_iov[out].iov_len = len;
			b->tx[out].msg_hdr.msg_name = &other->peer;
			out++;
		}
		if (out > 0)
			mmsg_flush(w, b->tx, out);
	}
	free(b);
	return NULL;
}

static void print_stats(const char *type, const char *reason)
{
	struct counters t = { 0 };
	for (int i = 0; i < opt.threads; i++) {
		struct counters *c = &workers[i].c;
		t.rx_packets += READ(c->rx_packets);
		t.tx_packets += READ(c->tx_packets);
		t.tx_errors += READ(c->tx_errors);
		t.tx_no_peer += READ(c->tx_no_peer);
		t.socket_errors += READ(c->socket_errors);
		t.rx_batches += READ(c->rx_batches);
		t.tx_batches += READ(c->tx_batches);
		for (int d = 0; d < DROP_REASONS; d++)
			t.dropped[d] += READ(c->dropped[d]);
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
	double sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	printf("{\"type\":\"%s\"", type);
	if (reason)
		printf(",\"reason\":\"%s\"", reason);
	printf(",\"mode\":\"%s\",\"pairs\":%d,\"threads\":%d,\"wall_s\":%.6f,\"cpu_user_s\":%.6f,\"cpu_sys_s\":%.6f,\"cpu_s\":%.6f",
	       opt.mode == MODE_SOCKET ? "socket" : "mmsg", opt.pairs, opt.threads, elapsed_s(), user, sys, user + sys);
	printf(",\"rx_packets\":%lu,\"tx_packets\":%lu,\"tx_errors\":%lu,\"tx_no_peer\":%lu,\"socket_errors\":%lu", t.rx_packets,
	       t.tx_packets, t.tx_errors, t.tx_no_peer, t.socket_errors);
	printf(",\"rx_batches\":%lu,\"tx_batches\":%lu,\"bad_commands\":%lu,\"dropped\":{", t.rx_batches, t.tx_batches, bad_commands);
	for (int d = 0; d < DROP_REASONS; d++)
		printf("%s\"%s\":%lu", d ? "," : "", DROP_NAMES[d], t.dropped[d]);
	printf("}}\n");
	fflush(stdout);
}

static void print_ready(void)
{
	printf("{\"type\":\"ready\",\"mode\":\"%s\",\"address\":\"%s\",\"pairs\":%d,\"threads\":%d,\"legs\":[", opt.mode == MODE_SOCKET ? "socket" : "mmsg",
	       opt.bind_address, opt.pairs, opt.threads);
	for (int i = 0; i < opt.pairs; i++)
		printf("%s[%u,%u]", i ? "," : "", legs[2 * i].local_port, legs[2 * i + 1].local_port);
	printf("]}\n");
	fflush(stdout);
}

/* `remote PAIR A|B IPV4 PORT` or `stats`; anything else is counted and reported on stderr. */
static void handle_command(char *line)
{
	line[strcspn(line, "\r\n")] = 0;
	if (line[0] == 0)
		return;
	if (strcmp(line, "stats") == 0) {
		print_stats("stats", NULL);
		return;
	}
	int pair, port, consumed = 0;
	char side, address[64];
	if (sscanf(line, "remote %d %c %63s %d%n", &pair, &side, address, &port, &consumed) == 4 && line[consumed] == 0 &&
	    pair >= 0 && pair < opt.pairs && (side == 'A' || side == 'B') && port > 0 && port < 65536) {
		struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		if (inet_pton(AF_INET, address, &peer.sin_addr) == 1) {
			int index = 2 * pair + (side == 'B');
			if (set_peer(&legs[index], index, &peer) == 0)
				return;
			fprintf(stderr, "relay: leg %d%c already has a peer, or another leg of its thread has this peer port\n", pair, side);
			bad_commands++;
			return;
		}
	}
	fprintf(stderr, "relay: bad command: %.80s\n", line);
	bad_commands++;
}

/* Reads commands until stdin closes, a signal comes or time is up; returns why it stopped. */
static const char *command_loop(int signal_fd)
{
	static char pending[65536];
	size_t used = 0;
	int stdin_open = !opt.ignore_stdin;
	for (;;) {
		double left_ms = (opt.seconds - elapsed_s()) * 1000;
		if (left_ms <= 0)
			return "time-limit";
		struct pollfd fds[2] = { { signal_fd, POLLIN, 0 }, { stdin_open ? STDIN_FILENO : -1, POLLIN, 0 } };
		int n = poll(fds, 2, left_ms > 1000 ? 1000 : (int)left_ms + 1);
		if (n < 0 && errno != EINTR)
			die("poll");
		if (n <= 0)
			continue;
		if (fds[0].revents & POLLIN)
			return "signal";
		if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = read(STDIN_FILENO, pending + used, sizeof pending - 1 - used);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return "stdin-closed";
			used += (size_t)r;
			pending[used] = 0;
			char *start = pending, *nl;
			while ((nl = strchr(start, '\n'))) {
				*nl = 0;
				handle_command(start);
				start = nl + 1;
			}
			used -= (size_t)(start - pending);
			memmove(pending, start, used);
			if (used == sizeof pending - 1) {
				fprintf(stderr, "relay: command line too long, discarded\n");
				bad_commands++;
				used = 0;
			}
		}
	}
}

static long parse_long(const char *name, const char *value, long min, long max)
{
	char *end;
	errno = 0;
	long v = strtol(value, &end, 10);
	if (errno || *end || v < min || v > max) {
		fprintf(stderr, "relay: %s must be an integer in %ld..%ld, got '%s'\n", name, min, max, value);
		exit(2);
	}
	return v;
}

static void usage(void)
{
	fprintf(stderr, "usage: relay [--mode socket|mmsg] [--pairs N] [--threads N] [--base-port P] [--seconds S]\n"
			"             [--bind IPV4] [--socket-buffer BYTES] [--batch N] [--ignore-stdin]\n");
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--ignore-stdin") == 0) {
			opt.ignore_stdin = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		const char *v = argv[++i];
		if (strcmp(a, "--mode") == 0) {
			if (strcmp(v, "socket") == 0)
				opt.mode = MODE_SOCKET;
			else if (strcmp(v, "mmsg") == 0)
				opt.mode = MODE_MMSG;
			else
				usage();
		} else if (strcmp(a, "--pairs") == 0) {
			opt.pairs = (int)parse_long(a, v, 1, MAX_PAIRS);
		} else if (strcmp(a, "--threads") == 0) {
			opt.threads = (int)parse_long(a, v, 1, MAX_THREADS);
		} else if (strcmp(a, "--base-port") == 0) {
			/* 0: every socket gets a kernel-chosen port (tests); the ready line says which. */
			opt.base_port = (int)parse_long(a, v, 0, 65535);
			if (opt.base_port > 0 && opt.base_port < 1024) {
				fprintf(stderr, "relay: --base-port must be 0 or at least 1024\n");
				exit(2);
			}
		} else if (strcmp(a, "--seconds") == 0) {
			opt.seconds = (double)parse_long(a, v, 1, 86400);
		} else if (strcmp(a, "--bind") == 0) {
			opt.bind_address = v;
		} else if (strcmp(a, "--socket-buffer") == 0) {
			opt.socket_buffer = (int)parse_long(a, v, 4096, 1 << 30);
		} else if (strcmp(a, "--batch") == 0) {
			opt.batch = (int)parse_long(a, v, 1, MAX_BATCH);
		} else {
			usage();
		}
	}
	if (opt.threads > opt.pairs)
		opt.threads = opt.pairs;
	int ports_needed = opt.mode == MODE_SOCKET ? 2 * opt.pairs : opt.threads;
	if (opt.base_port + ports_needed - 1 > 65535) {
		fprintf(stderr, "relay: %d ports from %d run past 65535\n", ports_needed, opt.base_port);
		exit(2);
	}
}

static void setup(void)
{
	legs = calloc((size_t)opt.pairs * 2, sizeof *legs);
	if (!legs)
		die("calloc");
	for (int t = 0; t < opt.threads; t++) {
		struct worker *w = &workers[t];
		w->index = t;
		if (opt.mode == MODE_MMSG) {
			w->fd = open_socket(opt.base_port == 0 ? 0 : (uint16_t)(opt.base_port + t));
			w->shared_port = local_port(w->fd);
			w->leg_by_port = calloc(65536, sizeof *w->leg_by_port);
			if (!w->leg_by_port)
				die("calloc");
		} else {
			w->fd = epoll_create1(EPOLL_CLOEXEC);
			if (w->fd < 0)
				die("epoll_create1");
		}
	}
	for (int i = 0; i < 2 * opt.pairs; i++) {
		struct leg *leg = &legs[i];
		struct worker *w = &workers[(i / 2) % opt.threads];
		if (opt.mode == MODE_MMSG) {
			leg->fd = w->fd;
			leg->local_port = w->shared_port;
		} else {
			leg->fd = open_socket(opt.base_port == 0 ? 0 : (uint16_t)(opt.base_port + i));
			leg->local_port = local_port(leg->fd);
			struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
			if (epoll_ctl(w->fd, EPOLL_CTL_ADD, leg->fd, &ev) != 0)
				die("epoll_ctl");
		}
		/* Random SSRC, first sequence and timestamp, as RtpPacketizer (RFC 3550 §5.1). */
		rtp_packetizer_init(&leg->packetizer, PCMU_PT, random_u32(), (uint16_t)random_u32(), random_u32());
	}
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	g711_init();
	clock_gettime(CLOCK_MONOTONIC, &started);
	/* Signals go to the signalfd only: block them before any thread exists so every thread inherits the mask. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	int signal_fd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (signal_fd < 0)
		die("signalfd");
	setup();
	for (int t = 0; t < opt.threads; t++) {
		if (pthread_create(&workers[t].thread, NULL, opt.mode == MODE_MMSG ? mmsg_mode_thread : socket_mode_thread, &workers[t]) != 0)
			die("pthread_create");
	}
	print_ready();
	const char *reason = command_loop(signal_fd);
	__atomic_store_n(&stop_flag, 1, __ATOMIC_RELEASE);
	for (int t = 0; t < opt.threads; t++)
		pthread_join(workers[t].thread, NULL);
	print_stats("final", reason);
	/* Process exit releases every socket, the epoll instances and the tables. */
	return 0;
}
