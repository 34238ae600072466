/*
 * udp_batch: batched UDP datagram I/O for Node.js (Node-API, Linux).
 *
 * One nonblocking IPv4 UDP socket per object. recv() fills a receive arena (an
 * ArrayBuffer the caller owns and reads in place) with up to `batch`
 * datagrams in one recvmmsg(2); send() hands up to `batch` datagrams to the
 * kernel in one sendmmsg(2). Readiness comes from a uv_poll_t on the calling
 * thread's own event loop (napi_get_uv_event_loop, so it works in worker
 * threads); the callback only says "readable", JavaScript then calls recv().
 * Nothing here ever blocks the loop, and no JavaScript memory is kept between
 * calls: recv() and send() take the buffers as arguments, check their sizes
 * on every call, and write or read only within them, so a detached or
 * collected buffer can never be touched.
 *
 * Receive arena layout (all offsets from the start of the ArrayBuffer; see
 * layout()): `batch` slots of `slotBytes` (maxDatagram rounded up to 8) holding
 * the datagrams, then per datagram i:
 *   timestamps  Float64[batch]  kernel receive time, ms since the epoch (CLOCK_REALTIME), 0 if none
 *   lengths     Int32[batch]    bytes stored in slot i (<= maxDatagram)
 *   sizes       Int32[batch]    the datagram's real size; > maxDatagram means truncated
 *   addresses   Int32[batch]    source IPv4 address, host byte order, as int32
 *   ports       Int32[batch]    source port
 *
 * Send descriptors: an Int32Array of 4 per datagram: [offset, length, IPv4
 * address (host order, as int32), port], offset and length into `data`.
 *
 * Lifetime: close() stops polling and closes the fd at once (idempotent).
 * The uv_poll_t lives in its own allocation, freed by its close callback, so
 * neither the object's finalizer nor environment teardown can free it under
 * libuv. An async environment cleanup hook closes the socket when its
 * environment ends (a worker thread terminated without close()), and holds
 * the teardown until libuv has released the poll handle. The object's
 * finalizer closes a socket that was dropped without close().
 */
#define _GNU_SOURCE
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/sock_diag.h>

#include <node_api.h>
#include <uv.h>

/* Bumped when the JavaScript-visible interface changes: the loader refuses a stale build. */
#define ABI_VERSION 1
/* recvmmsg/sendmmsg take at most UIO_MAXIOV (1024) messages per call. */
#define MAX_BATCH 1024
#define MAX_DATAGRAM 65535
/* The largest UDP payload over IPv4: 65535 - 20 (IP header) - 8 (UDP header). */
#define MAX_UDP_PAYLOAD 65507
/* Per received datagram: room for a receive timestamp. */
#define CTRL_BYTES CMSG_SPACE(sizeof(struct timespec))
#define SEND_DESCRIPTOR_INTS 4

struct counters {
	uint64_t rx_calls;     /* recvmmsg calls that returned datagrams */
	uint64_t rx_packets;
	uint64_t rx_bytes;     /* bytes stored (not the truncated remainder) */
	uint64_t rx_truncated; /* datagrams larger than maxDatagram */
	uint64_t rx_errors;    /* recvmmsg failures other than EAGAIN */
	uint64_t tx_calls;     /* sendmmsg calls that sent something */
	uint64_t tx_packets;
	uint64_t tx_bytes;
	uint64_t tx_would_block; /* datagrams not sent because the send buffer was full */
	uint64_t tx_errors;    /* datagrams the kernel refused for another reason */
	int last_rx_errno;
	int last_tx_errno;
};

struct sock;

/* The poll handle, apart from the socket: it must outlive the object until libuv's close callback. */
struct io {
	uv_poll_t poll;
	napi_async_cleanup_hook_handle hook;
	struct sock *sock; /* NULL once the socket is closed */
};

struct sock {
	napi_env env;
	int fd; /* -1 once closed */
	struct io *io;
	napi_ref on_readable;
	napi_async_context async_context;
	int polling;
	int timestamps;
	uint32_t batch, max_datagram, slot_bytes;
	size_t off_timestamps, off_lengths, off_sizes, off_addresses, off_ports, arena_bytes;
	struct mmsghdr *rx, *tx;
	struct iovec *rx_iov, *tx_iov;
	struct sockaddr_in *rx_addr, *tx_addr;
	unsigned char *rx_ctrl;
	struct counters c;
};

/* ---- errors ---- */

static const char *errno_code(int err)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
	const char *name = strerrorname_np(err);
	if (name)
		return name;
#endif
	(void)err;
	return "ESYSCALL";
}

/* Throws an Error with `code` set to the errno's name (EADDRINUSE, ...), as Node's own errors. */
static napi_value throw_errno(napi_env env, const char *what, int err)
{
	char message[256];
	snprintf(message, sizeof message, "%s: %s", what, strerror(err));
	napi_throw_error(env, errno_code(err), message);
	return NULL;
}

static napi_value throw_type(napi_env env, const char *message)
{
	napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
	return NULL;
}

static napi_value throw_range(napi_env env, const char *message)
{
	napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
	return NULL;
}

/* A Node-API call failed: make sure an exception is pending, so JavaScript sees why. */
static napi_value throw_napi(napi_env env, const char *what)
{
	bool pending = false;
	napi_is_exception_pending(env, &pending);
	if (!pending) {
		const napi_extended_error_info *info = NULL;
		napi_get_last_error_info(env, &info);
		char message[256];
		snprintf(message, sizeof message, "%s failed: %s", what, info && info->error_message ? info->error_message : "unknown Node-API error");
		napi_throw_error(env, "ERR_NATIVE", message);
	}
	return NULL;
}

#define CALL(env, call)                                  \
	do {                                             \
		if ((call) != napi_ok)                   \
			return throw_napi((env), #call); \
	} while (0)

/* ---- argument helpers: every bad argument is a TypeError or a RangeError ---- */

/* An integer in [min, max]; names the argument in the error. Returns 0 on success. */
static int get_int(napi_env env, napi_value value, const char *name, int64_t min, int64_t max, int64_t *out)
{
	napi_valuetype type;
	char message[160];
	if (napi_typeof(env, value, &type) != napi_ok || type != napi_number) {
		snprintf(message, sizeof message, "%s must be a number", name);
		throw_type(env, message);
		return -1;
	}
	double d;
	napi_get_value_double(env, value, &d);
	if (!(d >= (double)min && d <= (double)max) || d != (double)(int64_t)d) {
		snprintf(message, sizeof message, "%s must be an integer in %lld..%lld", name, (long long)min, (long long)max);
		throw_range(env, message);
		return -1;
	}
	*out = (int64_t)d;
	return 0;
}

static struct sock *this_sock(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv)
{
	napi_value self;
	void *data = NULL;
	if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok)
		return throw_napi(env, "napi_get_cb_info"), NULL;
	if (napi_unwrap(env, self, &data) != napi_ok || data == NULL) {
		bool pending = false;
		napi_is_exception_pending(env, &pending);
		if (!pending)
			throw_type(env, "not a UdpBatchSocket");
		return NULL;
	}
	return data;
}

static struct sock *open_sock(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv)
{
	struct sock *s = this_sock(env, info, argc, argv);
	if (s && s->fd < 0) {
		napi_throw_error(env, "ERR_SOCKET_CLOSED", "the socket is closed");
		return NULL;
	}
	return s;
}

/* ---- lifecycle ---- */

static void on_poll_closed(uv_handle_t *handle)
{
	struct io *io = handle->data;
	/* Releases the environment's teardown if it is waiting for us (see on_env_teardown). */
	if (io->hook)
		napi_remove_async_cleanup_hook(io->hook);
	free(io);
}

/* Stops polling and closes the fd at once. Idempotent. `tearing_down`: no calls into async hooks. */
static void close_sock(struct sock *s, int tearing_down)
{
	if (s->fd < 0)
		return;
	struct io *io = s->io;
	s->io = NULL;
	io->sock = NULL;
	/* uv_close removes the fd from the loop's epoll set synchronously; the fd can be closed right after. */
	uv_close((uv_handle_t *)&io->poll, on_poll_closed);
	close(s->fd);
	s->fd = -1;
	s->polling = 0;
	if (s->on_readable) {
		napi_delete_reference(s->env, s->on_readable);
		s->on_readable = NULL;
	}
	if (s->async_context) {
		if (!tearing_down)
			napi_async_destroy(s->env, s->async_context);
		s->async_context = NULL;
	}
}

/* The environment (a worker thread, or the process) is ending: close what is still open. */
static void on_env_teardown(napi_async_cleanup_hook_handle handle, void *arg)
{
	(void)handle;
	struct io *io = arg;
	/* Closed already: the pending poll close callback removes the hook, which ends the wait. */
	if (io->sock)
		close_sock(io->sock, 1);
}

static void free_sock(struct sock *s)
{
	free(s->rx);
	free(s->tx);
	free(s->rx_iov);
	free(s->tx_iov);
	free(s->rx_addr);
	free(s->tx_addr);
	free(s->rx_ctrl);
	free(s);
}

static void finalize(napi_env env, void *data, void *hint)
{
	(void)env;
	(void)hint;
	struct sock *s = data;
	close_sock(s, 1);
	free_sock(s);
}

/* ---- receive ---- */

static void on_poll(uv_poll_t *handle, int status, int events)
{
	(void)events;
	struct io *io = handle->data;
	struct sock *s = io->sock;
	if (!s || !s->on_readable)
		return;
	napi_env env = s->env;
	napi_handle_scope scope;
	if (napi_open_handle_scope(env, &scope) != napi_ok)
		return;
	napi_value fn, global, arg, result;
	if (napi_get_reference_value(env, s->on_readable, &fn) == napi_ok && fn && napi_get_global(env, &global) == napi_ok &&
	    napi_create_int32(env, status, &arg) == napi_ok) {
		/* make_callback, not call_function: runs microtasks and async hooks as any Node callback does. */
		if (napi_make_callback(env, s->async_context, global, fn, 1, &arg, &result) == napi_pending_exception) {
			napi_value exception;
			napi_get_and_clear_last_exception(env, &exception);
			napi_fatal_exception(env, exception);
		}
	}
	/* `s` may be closed or even finalized by now: not touched again. */
	napi_close_handle_scope(env, scope);
}

static double timespec_ms(const struct timespec *ts)
{
	return (double)ts->tv_sec * 1e3 + (double)ts->tv_nsec / 1e6;
}

static napi_value Recv(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	struct sock *s = open_sock(env, info, &argc, argv);
	if (!s)
		return NULL;
	bool is_buffer = false;
	if (argc < 1 || napi_is_arraybuffer(env, argv[0], &is_buffer) != napi_ok || !is_buffer)
		return throw_type(env, "recv(arena): arena must be an ArrayBuffer");
	void *base = NULL;
	size_t length = 0;
	CALL(env, napi_get_arraybuffer_info(env, argv[0], &base, &length));
	if (length != s->arena_bytes || base == NULL) {
		char message[160];
		snprintf(message, sizeof message, "recv(arena): arena must be %zu bytes, got %zu", s->arena_bytes, length);
		return throw_range(env, message);
	}
	uint8_t *arena = base;
	for (uint32_t i = 0; i < s->batch; i++) {
		s->rx_iov[i].iov_base = arena + (size_t)i * s->slot_bytes;
		s->rx_iov[i].iov_len = s->max_datagram;
		struct msghdr *h = &s->rx[i].msg_hdr;
		h->msg_name = &s->rx_addr[i];
		h->msg_namelen = sizeof s->rx_addr[i];
		h->msg_iov = &s->rx_iov[i];
		h->msg_iovlen = 1;
		h->msg_control = s->timestamps ? s->rx_ctrl + (size_t)i * CTRL_BYTES : NULL;
		h->msg_controllen = s->timestamps ? CTRL_BYTES : 0;
		h->msg_flags = 0;
	}
	int n;
	do {
		/* MSG_TRUNC: msg_len is the datagram's real size even when it did not fit. */
		n = recvmmsg(s->fd, s->rx, s->batch, MSG_DONTWAIT | MSG_TRUNC, NULL);
	} while (n < 0 && errno == EINTR);
	napi_value result;
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			/* ICMP errors and the like: counted; the next recv goes on. */
			s->c.rx_errors++;
			s->c.last_rx_errno = errno;
		}
		CALL(env, napi_create_int32(env, 0, &result));
		return result;
	}
	s->c.rx_calls++;
	s->c.rx_packets += (uint64_t)n;
	for (int i = 0; i < n; i++) {
		struct msghdr *h = &s->rx[i].msg_hdr;
		uint32_t size = s->rx[i].msg_len;
		int32_t stored = size > s->max_datagram ? (int32_t)s->max_datagram : (int32_t)size;
		if (size > s->max_datagram || (h->msg_flags & MSG_TRUNC))
			s->c.rx_truncated++;
		s->c.rx_bytes += (uint64_t)stored;
		double ts = 0;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(h); cm; cm = CMSG_NXTHDR(h, cm)) {
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS &&
			    cm->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
				struct timespec t;
				memcpy(&t, CMSG_DATA(cm), sizeof t);
				ts = timespec_ms(&t);
			}
		}
		int32_t address = 0, port = 0;
		if (h->msg_namelen >= sizeof(struct sockaddr_in) && s->rx_addr[i].sin_family == AF_INET) {
			address = (int32_t)ntohl(s->rx_addr[i].sin_addr.s_addr);
			port = ntohs(s->rx_addr[i].sin_port);
		}
		int32_t real = size > INT32_MAX ? INT32_MAX : (int32_t)size;
		/* memcpy: the arena's typed regions are aligned, but this says so without aliasing casts. */
		memcpy(arena + s->off_timestamps + (size_t)i * 8, &ts, 8);
		memcpy(arena + s->off_lengths + (size_t)i * 4, &stored, 4);
		memcpy(arena + s->off_sizes + (size_t)i * 4, &real, 4);
		memcpy(arena + s->off_addresses + (size_t)i * 4, &address, 4);
		memcpy(arena + s->off_ports + (size_t)i * 4, &port, 4);
	}
	CALL(env, napi_create_int32(env, n, &result));
	return result;
}

/* setReadable(fn | null): fn(status) is called when the socket is readable; null stops polling. */
static napi_value SetReadable(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	struct sock *s = open_sock(env, info, &argc, argv);
	if (!s)
		return NULL;
	napi_valuetype type = napi_undefined;
	if (argc >= 1)
		CALL(env, napi_typeof(env, argv[0], &type));
	if (type != napi_function && type != napi_null && type != napi_undefined)
		return throw_type(env, "setReadable(fn): fn must be a function or null");
	if (s->on_readable) {
		napi_delete_reference(env, s->on_readable);
		s->on_readable = NULL;
	}
	if (type != napi_function) {
		if (s->polling) {
			uv_poll_stop(&s->io->poll);
			s->polling = 0;
		}
		return NULL;
	}
	CALL(env, napi_create_reference(env, argv[0], 1, &s->on_readable));
	if (!s->async_context) {
		napi_value name;
		CALL(env, napi_create_string_utf8(env, "UdpBatchSocket", NAPI_AUTO_LENGTH, &name));
		CALL(env, napi_async_init(env, NULL, name, &s->async_context));
	}
	if (!s->polling) {
		int err = uv_poll_start(&s->io->poll, UV_READABLE, on_poll);
		if (err != 0)
			return throw_errno(env, "uv_poll_start", -err);
		s->polling = 1;
	}
	return NULL;
}

/* ---- send ---- */

static napi_value Send(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3];
	struct sock *s = open_sock(env, info, &argc, argv);
	if (!s)
		return NULL;
	if (argc < 3)
		return throw_type(env, "send(data, descriptors, count): three arguments expected");
	/* data: an ArrayBuffer or a Uint8Array (a Buffer is one). */
	uint8_t *data = NULL;
	size_t data_length = 0;
	bool is_ab = false, is_ta = false;
	CALL(env, napi_is_arraybuffer(env, argv[0], &is_ab));
	CALL(env, napi_is_typedarray(env, argv[0], &is_ta));
	if (is_ab) {
		void *p;
		CALL(env, napi_get_arraybuffer_info(env, argv[0], &p, &data_length));
		data = p;
	} else if (is_ta) {
		napi_typedarray_type t;
		void *p;
		CALL(env, napi_get_typedarray_info(env, argv[0], &t, &data_length, &p, NULL, NULL));
		if (t != napi_uint8_array)
			return throw_type(env, "send: data must be an ArrayBuffer or a Uint8Array");
		data = p;
	} else {
		return throw_type(env, "send: data must be an ArrayBuffer or a Uint8Array");
	}
	CALL(env, napi_is_typedarray(env, argv[1], &is_ta));
	if (!is_ta)
		return throw_type(env, "send: descriptors must be an Int32Array");
	napi_typedarray_type dt;
	size_t desc_length;
	void *dp;
	CALL(env, napi_get_typedarray_info(env, argv[1], &dt, &desc_length, &dp, NULL, NULL));
	if (dt != napi_int32_array)
		return throw_type(env, "send: descriptors must be an Int32Array");
	int64_t count;
	if (get_int(env, argv[2], "send: count", 0, s->batch, &count) != 0)
		return NULL;
	if ((size_t)count * SEND_DESCRIPTOR_INTS > desc_length)
		return throw_range(env, "send: descriptors hold fewer than 4 * count entries");
	const int32_t *desc = dp;
	/* Every descriptor is checked before anything is sent: a bad one sends nothing. */
	for (int64_t i = 0; i < count; i++) {
		int32_t offset = desc[i * 4], length = desc[i * 4 + 1], port = desc[i * 4 + 3];
		char message[160];
		if (offset < 0 || length < 0 || (size_t)offset + (size_t)length > data_length || data == NULL) {
			snprintf(message, sizeof message, "send: datagram %lld (offset %d, length %d) lies outside data (%zu bytes)", (long long)i,
				 offset, length, data_length);
			return throw_range(env, message);
		}
		if (length > MAX_UDP_PAYLOAD) {
			snprintf(message, sizeof message, "send: datagram %lld is %d bytes, more than UDP's %d", (long long)i, length,
				 MAX_UDP_PAYLOAD);
			return throw_range(env, message);
		}
		if (port < 1 || port > 65535) {
			snprintf(message, sizeof message, "send: datagram %lld has port %d, not in 1..65535", (long long)i, port);
			return throw_range(env, message);
		}
		s->tx_addr[i] = (struct sockaddr_in){ .sin_family = AF_INET,
						      .sin_port = htons((uint16_t)port),
						      .sin_addr.s_addr = htonl((uint32_t)desc[i * 4 + 2]) };
		s->tx_iov[i] = (struct iovec){ data ? data + offset : NULL, (size_t)length };
		s->tx[i].msg_hdr = (struct msghdr){ .msg_name = &s->tx_addr[i],
						    .msg_namelen = sizeof s->tx_addr[i],
						    .msg_iov = &s->tx_iov[i],
						    .msg_iovlen = 1 };
	}
	int done = 0, sent = 0;
	while (done < count) {
		int n = sendmmsg(s->fd, s->tx + done, (unsigned)(count - done), MSG_DONTWAIT);
		if (n > 0) {
			s->c.tx_calls++;
			for (int i = done; i < done + n; i++)
				s->c.tx_bytes += s->tx[i].msg_len;
			s->c.tx_packets += (uint64_t)n;
			sent += n;
			done += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		int err = n < 0 ? errno : EAGAIN;
		if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
			/* The send buffer is full: what is left is dropped (late media is no media) and counted. */
			s->c.tx_would_block += (uint64_t)(count - done);
			s->c.last_tx_errno = err;
			break;
		}
		/* This one datagram was refused (EPERM from a firewall, EMSGSIZE, ...): count it, send the rest. */
		s->c.tx_errors++;
		s->c.last_tx_errno = err;
		done++;
	}
	napi_value result;
	CALL(env, napi_create_int32(env, sent, &result));
	return result;
}

/* ---- everything else ---- */

static napi_value Close(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	struct sock *s = this_sock(env, info, &argc, NULL);
	if (s)
		close_sock(s, 0);
	return NULL;
}

static napi_value IsClosed(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	struct sock *s = this_sock(env, info, &argc, NULL);
	if (!s)
		return NULL;
	napi_value result;
	CALL(env, napi_get_boolean(env, s->fd < 0, &result));
	return result;
}

/* ref() / unref(): whether a polling socket keeps the event loop alive (default: it does, as dgram). */
static napi_value SetRef(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	struct sock *s = open_sock(env, info, &argc, argv);
	if (!s)
		return NULL;
	bool ref = true;
	if (argc < 1 || napi_get_value_bool(env, argv[0], &ref) != napi_ok)
		return throw_type(env, "setRef(ref): ref must be a boolean");
	if (ref)
		uv_ref((uv_handle_t *)&s->io->poll);
	else
		uv_unref((uv_handle_t *)&s->io->poll);
	return NULL;
}

static napi_status set_number(napi_env env, napi_value object, const char *name, double value)
{
	napi_value v;
	napi_status st = napi_create_double(env, value, &v);
	return st == napi_ok ? napi_set_named_property(env, object, name, v) : st;
}

static napi_value Address(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	struct sock *s = open_sock(env, info, &argc, NULL);
	if (!s)
		return NULL;
	struct sockaddr_in addr;
	socklen_t len = sizeof addr;
	if (getsockname(s->fd, (struct sockaddr *)&addr, &len) != 0)
		return throw_errno(env, "getsockname", errno);
	char text[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &addr.sin_addr, text, sizeof text);
	napi_value result, address;
	CALL(env, napi_create_object(env, &result));
	CALL(env, napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &address));
	CALL(env, napi_set_named_property(env, result, "address", address));
	CALL(env, set_number(env, result, "port", ntohs(addr.sin_port)));
	return result;
}

static napi_value Layout(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	struct sock *s = this_sock(env, info, &argc, NULL);
	if (!s)
		return NULL;
	napi_value r;
	CALL(env, napi_create_object(env, &r));
	CALL(env, set_number(env, r, "batch", s->batch));
	CALL(env, set_number(env, r, "maxDatagram", s->max_datagram));
	CALL(env, set_number(env, r, "slotBytes", s->slot_bytes));
	CALL(env, set_number(env, r, "timestampsOffset", (double)s->off_timestamps));
	CALL(env, set_number(env, r, "lengthsOffset", (double)s->off_lengths));
	CALL(env, set_number(env, r, "sizesOffset", (double)s->off_sizes));
	CALL(env, set_number(env, r, "addressesOffset", (double)s->off_addresses));
	CALL(env, set_number(env, r, "portsOffset", (double)s->off_ports));
	CALL(env, set_number(env, r, "arenaBytes", (double)s->arena_bytes));
	return r;
}

static int sockopt_int(int fd, int name)
{
	int value = 0;
	socklen_t len = sizeof value;
	return getsockopt(fd, SOL_SOCKET, name, &value, &len) == 0 ? value : -1;
}

static napi_value Stats(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	struct sock *s = this_sock(env, info, &argc, NULL);
	if (!s)
		return NULL;
	const struct counters *c = &s->c;
	napi_value r;
	CALL(env, napi_create_object(env, &r));
	CALL(env, set_number(env, r, "rxCalls", (double)c->rx_calls));
	CALL(env, set_number(env, r, "rxPackets", (double)c->rx_packets));
	CALL(env, set_number(env, r, "rxBytes", (double)c->rx_bytes));
	CALL(env, set_number(env, r, "rxTruncated", (double)c->rx_truncated));
	CALL(env, set_number(env, r, "rxErrors", (double)c->rx_errors));
	/* The kernel's count of datagrams dropped on this socket for a full receive buffer: how overload shows. */
	uint32_t meminfo[SK_MEMINFO_VARS];
	socklen_t meminfo_len = sizeof meminfo;
	double drops = s->fd >= 0 && getsockopt(s->fd, SOL_SOCKET, SO_MEMINFO, meminfo, &meminfo_len) == 0 &&
				       meminfo_len > SK_MEMINFO_DROPS * sizeof(uint32_t)
			       ? (double)meminfo[SK_MEMINFO_DROPS]
			       : -1;
	CALL(env, set_number(env, r, "rxKernelDrops", drops));
	CALL(env, set_number(env, r, "txCalls", (double)c->tx_calls));
	CALL(env, set_number(env, r, "txPackets", (double)c->tx_packets));
	CALL(env, set_number(env, r, "txBytes", (double)c->tx_bytes));
	CALL(env, set_number(env, r, "txWouldBlock", (double)c->tx_would_block));
	CALL(env, set_number(env, r, "txErrors", (double)c->tx_errors));
	CALL(env, set_number(env, r, "lastRxErrno", c->last_rx_errno));
	CALL(env, set_number(env, r, "lastTxErrno", c->last_tx_errno));
	/* The sizes the kernel granted (it doubles the request and caps it at rmem_max / wmem_max). */
	CALL(env, set_number(env, r, "recvBufferBytes", s->fd >= 0 ? sockopt_int(s->fd, SO_RCVBUF) : -1));
	CALL(env, set_number(env, r, "sendBufferBytes", s->fd >= 0 ? sockopt_int(s->fd, SO_SNDBUF) : -1));
	return r;
}

/* new UdpBatchSocket(address, port, batch, maxDatagram, recvBufferSize, sendBufferSize, timestamps) */
static napi_value Construct(napi_env env, napi_callback_info info)
{
	size_t argc = 7;
	napi_value argv[7], self, target;
	CALL(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
	CALL(env, napi_get_new_target(env, info, &target));
	if (target == NULL)
		return throw_type(env, "UdpBatchSocket must be called with new");
	if (argc < 7)
		return throw_type(env, "UdpBatchSocket(address, port, batch, maxDatagram, recvBufferSize, sendBufferSize, timestamps)");
	napi_valuetype type;
	CALL(env, napi_typeof(env, argv[0], &type));
	if (type != napi_string)
		return throw_type(env, "address must be a string");
	char address[64];
	size_t address_length = 0;
	CALL(env, napi_get_value_string_utf8(env, argv[0], address, sizeof address, &address_length));
	struct sockaddr_in bind_addr = { .sin_family = AF_INET };
	/* Too long, or a NUL inside the string: neither is an address. */
	if (address_length >= sizeof address - 1 || strlen(address) != address_length || inet_pton(AF_INET, address, &bind_addr.sin_addr) != 1)
		return throw_range(env, "address must be an IPv4 address (this socket is IPv4-only)");
	int64_t port, batch, max_datagram, rcvbuf, sndbuf;
	if (get_int(env, argv[1], "port", 0, 65535, &port) || get_int(env, argv[2], "batch", 1, MAX_BATCH, &batch) ||
	    get_int(env, argv[3], "maxDatagram", 1, MAX_DATAGRAM, &max_datagram) ||
	    get_int(env, argv[4], "recvBufferSize", 0, INT32_MAX / 2, &rcvbuf) ||
	    get_int(env, argv[5], "sendBufferSize", 0, INT32_MAX / 2, &sndbuf))
		return NULL;
	CALL(env, napi_typeof(env, argv[6], &type));
	if (type != napi_boolean)
		return throw_type(env, "timestamps must be a boolean");
	bool timestamps;
	CALL(env, napi_get_value_bool(env, argv[6], &timestamps));
	bind_addr.sin_port = htons((uint16_t)port);

	uv_loop_t *loop;
	CALL(env, napi_get_uv_event_loop(env, &loop));

	struct sock *s = calloc(1, sizeof *s);
	if (!s)
		return throw_errno(env, "calloc", ENOMEM);
	s->env = env;
	s->fd = -1;
	s->batch = (uint32_t)batch;
	s->max_datagram = (uint32_t)max_datagram;
	s->slot_bytes = (s->max_datagram + 7u) & ~7u;
	s->timestamps = timestamps;
	s->off_timestamps = (size_t)s->batch * s->slot_bytes;
	s->off_lengths = s->off_timestamps + 8 * (size_t)s->batch;
	s->off_sizes = s->off_lengths + 4 * (size_t)s->batch;
	s->off_addresses = s->off_sizes + 4 * (size_t)s->batch;
	s->off_ports = s->off_addresses + 4 * (size_t)s->batch;
	s->arena_bytes = s->off_ports + 4 * (size_t)s->batch;
	s->rx = calloc(s->batch, sizeof *s->rx);
	s->tx = calloc(s->batch, sizeof *s->tx);
	s->rx_iov = calloc(s->batch, sizeof *s->rx_iov);
	s->tx_iov = calloc(s->batch, sizeof *s->tx_iov);
	s->rx_addr = calloc(s->batch, sizeof *s->rx_addr);
	s->tx_addr = calloc(s->batch, sizeof *s->tx_addr);
	s->rx_ctrl = calloc(s->batch, CTRL_BYTES);
	struct io *io = calloc(1, sizeof *io);
	if (!s->rx || !s->tx || !s->rx_iov || !s->tx_iov || !s->rx_addr || !s->tx_addr || !s->rx_ctrl || !io) {
		free(io);
		free_sock(s);
		return throw_errno(env, "calloc", ENOMEM);
	}

	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int err = errno;
		free(io);
		free_sock(s);
		return throw_errno(env, "socket", err);
	}
	int one = 1, size;
	/* The kernel caps buffer sizes at net.core.rmem_max / wmem_max; stats() reports what it granted. */
	if (rcvbuf > 0 && (size = (int)rcvbuf, setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size)) != 0)
		goto sys_fail;
	if (sndbuf > 0 && (size = (int)sndbuf, setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size)) != 0)
		goto sys_fail;
	if (timestamps && setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) != 0)
		goto sys_fail;
	if (bind(fd, (struct sockaddr *)&bind_addr, sizeof bind_addr) != 0) {
		int err = errno;
		char what[96];
		snprintf(what, sizeof what, "bind %s:%lld", address, (long long)port);
		close(fd);
		free(io);
		free_sock(s);
		return throw_errno(env, what, err);
	}
	int err = uv_poll_init_socket(loop, &io->poll, fd);
	if (err != 0) {
		close(fd);
		free(io);
		free_sock(s);
		return throw_errno(env, "uv_poll_init_socket", -err);
	}
	io->poll.data = io;
	io->sock = s;
	s->io = io;
	s->fd = fd;
	/* From here on close_sock releases everything; the hook covers a thread that ends without close(). */
	if (napi_add_async_cleanup_hook(env, on_env_teardown, io, &io->hook) != napi_ok) {
		io->hook = NULL;
		goto napi_fail;
	}
	if (napi_wrap(env, self, s, finalize, NULL, NULL) != napi_ok)
		goto napi_fail;
	return self;

sys_fail: {
	int e = errno;
	close(fd);
	free(io);
	free_sock(s);
	return throw_errno(env, "setsockopt", e);
}
napi_fail:
	/* The poll close callback frees `io` and removes the hook if it was added. */
	close_sock(s, 0);
	free_sock(s);
	return throw_napi(env, "UdpBatchSocket");
}

NAPI_MODULE_INIT()
{
	napi_property_descriptor methods[] = {
		{ "recv", NULL, Recv, NULL, NULL, NULL, napi_default, NULL },
		{ "send", NULL, Send, NULL, NULL, NULL, napi_default, NULL },
		{ "setReadable", NULL, SetReadable, NULL, NULL, NULL, napi_default, NULL },
		{ "setRef", NULL, SetRef, NULL, NULL, NULL, napi_default, NULL },
		{ "address", NULL, Address, NULL, NULL, NULL, napi_default, NULL },
		{ "layout", NULL, Layout, NULL, NULL, NULL, napi_default, NULL },
		{ "stats", NULL, Stats, NULL, NULL, NULL, napi_default, NULL },
		{ "close", NULL, Close, NULL, NULL, NULL, napi_default, NULL },
		{ "isClosed", NULL, IsClosed, NULL, NULL, NULL, napi_default, NULL },
	};
	napi_value cls, abi, max_batch;
	if (napi_define_class(env, "UdpBatchSocket", NAPI_AUTO_LENGTH, Construct, NULL, sizeof methods / sizeof methods[0], methods,
			      &cls) != napi_ok ||
	    napi_set_named_property(env, exports, "UdpBatchSocket", cls) != napi_ok ||
	    napi_create_int32(env, ABI_VERSION, &abi) != napi_ok || napi_set_named_property(env, exports, "abiVersion", abi) != napi_ok ||
	    napi_create_int32(env, MAX_BATCH, &max_batch) != napi_ok ||
	    napi_set_named_property(env, exports, "maxBatch", max_batch) != napi_ok)
		return throw_napi(env, "udp_batch init");
	return exports;
}
