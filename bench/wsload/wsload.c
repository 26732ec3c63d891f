/*
 * wsload: a WebSocket (RFC 6455) client load generator for tslws's bench/.
 *
 * One thread, one epoll set, non-blocking sockets, libc only.
 *
 *   gcc -O2 -o wsload wsload.c
 *
 *   wsload -m echo      -p PORT -c N -k K -s BYTES [-b] -d SECS [-w SECS]
 *   wsload -m handshake -p PORT -c C -d SECS [-w SECS]
 *   wsload -m idle      -p PORT -c N -t SECS
 *
 * echo       N connections; each keeps K messages of S bytes in flight
 *            (send, and send again whenever an echo completes). Frames are
 *            masked with a fresh key each; every echoed byte is compared
 *            with what was sent (each message carries its sequence number
 *            and a per-message shifted pattern, so lost, duplicated or
 *            reordered messages are caught). Echoes may come back in any
 *            fragmentation. Reports messages/s and latency percentiles
 *            (send to last byte of the echo) from a log-linear histogram
 *            (about 1.5 % resolution).
 * handshake  C slots, each looping: connect, upgrade (the 101's
 *            Sec-WebSocket-Accept is checked), send Close, wait for the
 *            server's Close or EOF, close. Reports handshakes/s.
 * idle       open and upgrade N connections, write "wsload: ready N" on
 *            stderr, hold them T seconds (or until SIGTERM / SIGINT /
 *            SIGUSR1), close them with a Close frame, exit.
 *
 * The result is one JSON line on stdout; progress and errors go to stderr.
 * Exit status: 0 when the run had no errors, 3 when it counted some, 2 for
 * bad usage or setup failures.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ----------------------------------------------------------------- time */

static uint64_t mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static double cpu_secs(void)
{
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	return (double)u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 +
	       (double)u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

/* ---------------------------------------------------------------- random */

/* splitmix64: good enough for masks, keys and the binary pattern */
static uint64_t rng;
static uint64_t rand64(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ----------------------------------------------------------------- SHA-1 */
/* FIPS 180-4, only what the Sec-WebSocket-Accept check needs: short input */

static uint32_t rotl(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1(const uint8_t *msg, size_t len, uint8_t digest[20])
{
	uint32_t h[5] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0 };
	size_t total = ((len + 8) / 64 + 1) * 64, blk, i;
	uint8_t *m = calloc(1, total);
	uint64_t bits = (uint64_t)len * 8;

	memcpy(m, msg, len);
	m[len] = 0x80;
	for (i = 0; i < 8; i++)
		m[total - 1 - i] = (uint8_t)(bits >> (8 * i));
	for (blk = 0; blk < total; blk += 64) {
		uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
		for (i = 0; i < 16; i++) {
			const uint8_t *q = m + blk + 4 * i;
			w[i] = (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
		}
		for (i = 16; i < 80; i++)
			w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
		for (i = 0; i < 80; i++) {
			uint32_t f, k, t;
			switch (i / 20) {
			case 0: f = d ^ (b & (c ^ d)); k = 0x5a827999; break;
			case 1: f = b ^ c ^ d; k = 0x6ed9eba1; break;
			case 2: f = (b & c) | (d & (b | c)); k = 0x8f1bbcdc; break;
			default: f = b ^ c ^ d; k = 0xca62c1d6; break;
			}
			t = rotl(a, 5) + f + e + k + w[i];
			e = d;
			d = c;
			c = rotl(b, 30);
			b = a;
			a = t;
		}
		h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
	}
	free(m);
	for (i = 0; i < 20; i++)
		digest[i] = (uint8_t)(h[i >> 2] >> (24 - 8 * (i & 3)));
}

static void base64(const uint8_t *in, size_t n, char *out)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i = 0;
	uint32_t v;

	for (; n - i >= 3; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*out++ = al[v >> 18]; *out++ = al[(v >> 12) & 63];
		*out++ = al[(v >> 6) & 63]; *out++ = al[v & 63];
	}
	if (n - i) {
		v = (uint32_t)in[i] << 16 | (n - i == 2 ? (uint32_t)in[i + 1] << 8 : 0);
		*out++ = al[v >> 18]; *out++ = al[(v >> 12) & 63];
		*out++ = n - i == 2 ? al[(v >> 6) & 63] : '=';
		*out++ = '=';
	}
	*out = 0;
}

/* ------------------------------------------------------------- histogram */
/*
 * Log-linear buckets over nanoseconds: values below 128 have their own
 * bucket; above, each power of two is split into 64 buckets. Index =
 * 64 * e + (v >> e) where e = bitlength(v) - 7.
 */
#define HSUB 64
#define HBUCKETS (HSUB * 60)
static uint64_t hist[HBUCKETS], hist_n, hist_max;
static double hist_sum;

static unsigned hist_index(uint64_t v)
{
	int e = v < 128 ? 0 : (64 - __builtin_clzll(v)) - 7;
	return (unsigned)(HSUB * e + (v >> e));
}

static void hist_add(uint64_t v)
{
	unsigned i = hist_index(v);
	if (i >= HBUCKETS)
		i = HBUCKETS - 1;
	hist[i]++;
	hist_n++;
	hist_sum += (double)v;
	if (v > hist_max)
		hist_max = v;
}

/* the p-quantile (0 < p <= 1) in microseconds, mid-bucket */
static double hist_quantile(double p)
{
	uint64_t rank, seen = 0;
	unsigned i;

	if (!hist_n)
		return 0;
	rank = (uint64_t)(p * (double)hist_n + 0.999999);
	if (rank < 1)
		rank = 1;
	for (i = 0; i < HBUCKETS; i++) {
		seen += hist[i];
		if (seen >= rank) {
			uint64_t lo, width;
			if (i < 2 * HSUB) {
				lo = i;
				width = 1;
			} else {
				unsigned e = i / HSUB - 1;
				lo = (uint64_t)(i - HSUB * e) << e;
				width = (uint64_t)1 << e;
			}
			return ((double)lo + (double)width / 2) / 1000.0;
		}
	}
	return (double)hist_max / 1000.0;
}

/* ---------------------------------------------------------------- options */

enum mode { M_ECHO, M_HANDSHAKE, M_IDLE };
static enum mode mode = M_ECHO;
static const char *addr = "127.0.0.1";
static int port = 7681;
static const char *path = "/";
static const char *subproto;
static int nconn = 1, inflight = 1, max_connecting = 200;
static size_t msize = 32;
static int binary;
static double dur = 5, warm = 1, hold = 10, stall_limit = 10, open_timeout = 30;
static int quiet;
static int nsrc = 1;             /* -L: source addresses 127.0.0.1 .. 127.0.0.N */

/* ------------------------------------------------------------ connections */

enum st { S_IDLE, S_CONNECTING, S_UPGRADING, S_OPEN, S_CLOSING, S_DONE };

struct conn {
	int fd, idx;
	enum st st;
	uint32_t ev;
	/* bytes waiting to be sent */
	uint8_t *tx;
	size_t tx_len, tx_off, tx_cap;
	/* handshake */
	char *http;
	size_t http_len;
	char want_accept[32];
	/* frame parser */
	uint8_t fh[14];
	unsigned fh_have, fh_need;
	uint8_t op, fin;
	uint64_t flen, fgot;
	int in_msg;
	uint8_t ctl[125];
	/* echo */
	uint64_t msg_got;            /* bytes of the current echoed message seen */
	uint64_t sent, done;         /* messages sent / echoes completed */
	uint64_t *t_sent;            /* send times, ring of `inflight` */
	uint64_t t_cycle;            /* handshake: cycle start */
	int close_sent;
};

static struct conn *conns;
static int ep;
static struct sockaddr_in target;
static uint8_t *pattern;         /* msize + 64 bytes */
static volatile sig_atomic_t stop_now;

static struct {
	uint64_t connect, handshake, reset, peer_close, protocol, mismatch, stalled, unexpected;
} errs;
static uint64_t n_open, n_opened, n_connecting, n_msgs, n_cycles, n_bytes_rx, n_pings;
/* idle: SIGUSR2 pings every open connection; pongs counted until all are back */
static volatile sig_atomic_t ping_req;
static uint64_t n_ping_sent, n_pongs, t_ping;
static int measuring;            /* results count only while set */

static void note(const char *fmt, ...)
{
	va_list a;
	if (quiet)
		return;
	va_start(a, fmt);
	fputs("wsload: ", stderr);
	vfprintf(stderr, fmt, a);
	fputc('\n', stderr);
	va_end(a);
}

static void want(struct conn *c, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = c };
	if (c->ev == ev)
		return;
	if (epoll_ctl(ep, c->ev ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &e)) {
		perror("wsload: epoll_ctl");
		exit(2);
	}
	c->ev = ev;
}

static void drop(struct conn *c)
{
	if (c->fd >= 0) {
		close(c->fd); /* also leaves the epoll set */
		c->fd = -1;
	}
	if (c->st == S_CONNECTING || c->st == S_UPGRADING)
		n_connecting--;
	else if (c->st == S_OPEN || c->st == S_CLOSING)
		n_open--;
	c->ev = 0;
	c->st = S_DONE;
	free(c->http);
	c->http = NULL;
}

static int fail(struct conn *c, uint64_t *counter, const char *why)
{
	static unsigned shown;
	(*counter)++;
	/* the first few are enough to tell what went wrong; the JSON counts all */
	if (shown < 10)
		note("connection %d: %s", c->idx, why);
	else if (shown == 10)
		note("more errors: not shown");
	shown++;
	drop(c);
	return -1;
}

static uint8_t *tx_room(struct conn *c, size_t n)
{
	if (c->tx_off == c->tx_len)
		c->tx_off = c->tx_len = 0;
	if (c->tx_len + n > c->tx_cap) {
		if (c->tx_off) {
			memmove(c->tx, c->tx + c->tx_off, c->tx_len - c->tx_off);
			c->tx_len -= c->tx_off;
			c->tx_off = 0;
		}
		if (c->tx_len + n > c->tx_cap) {
			size_t cap = c->tx_cap ? c->tx_cap : 256;
			while (cap < c->tx_len + n)
				cap *= 2;
			c->tx = realloc(c->tx, cap);
			if (!c->tx) {
				perror("wsload: realloc");
				exit(2);
			}
			c->tx_cap = cap;
		}
	}
	return c->tx + c->tx_len;
}

static int flush(struct conn *c)
{
	while (c->tx_off < c->tx_len) {
		ssize_t n = send(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				if (errno == EINTR)
					continue;
				want(c, EPOLLIN | EPOLLOUT);
				return 0;
			}
			return fail(c, &errs.reset, strerror(errno));
		}
		c->tx_off += (size_t)n;
	}
	c->tx_off = c->tx_len = 0;
	want(c, EPOLLIN);
	return 0;
}

static void xor_mask(uint8_t *p, size_t n, const uint8_t key[4])
{
	uint64_t k8;
	uint32_t k4;
	size_t i = 0;

	memcpy(&k4, key, 4);
	k8 = (uint64_t)k4 << 32 | k4;
	for (; i + 8 <= n; i += 8) {
		uint64_t v;
		memcpy(&v, p + i, 8);
		v ^= k8;
		memcpy(p + i, &v, 8);
	}
	for (; i < n; i++)
		p[i] ^= key[i & 3];
}

/* queue one masked frame carrying `payload` */
static void frame(struct conn *c, int op, const uint8_t *payload, size_t n)
{
	uint8_t *h = tx_room(c, 14 + n), key[4];
	size_t hl = 2;
	uint64_t r = rand64();

	h[0] = (uint8_t)(0x80 | op);
	if (n < 126) {
		h[1] = (uint8_t)(0x80 | n);
	} else if (n < 65536) {
		h[1] = 0x80 | 126;
		h[2] = (uint8_t)(n >> 8);
		h[3] = (uint8_t)n;
		hl = 4;
	} else {
		int i;
		h[1] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
		hl = 10;
	}
	memcpy(key, &r, 4);
	memcpy(h + hl, key, 4);
	hl += 4;
	memcpy(h + hl, payload, n);
	xor_mask(h + hl, n, key);
	c->tx_len += hl + n;
}

static void send_close(struct conn *c)
{
	static const uint8_t normal[2] = { 0x03, 0xe8 };
	if (c->close_sent)
		return;
	c->close_sent = 1;
	frame(c, 8, normal, 2);
}

/*
 * Message `seq` of connection `idx`: the first min(S, 16) bytes are seq in
 * hex, the rest the pattern starting at a shift that changes per message.
 */
static unsigned msg_shift(const struct conn *c, uint64_t seq)
{
	return (unsigned)((seq * 7 + (uint64_t)c->idx * 3) & 63);
}

static void msg_bytes(const struct conn *c, uint64_t seq, size_t off, uint8_t *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t head = msize < 16 ? msize : 16;
	unsigned sh = msg_shift(c, seq);

	while (n && off < head) {
		*out++ = (uint8_t)hex[(seq >> (4 * (15 - off))) & 15];
		off++;
		n--;
	}
	if (n)
		memcpy(out, pattern + sh + off, n);
}

static int msg_check(const struct conn *c, uint64_t seq, size_t off, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t head = msize < 16 ? msize : 16;

	while (n && off < head) {
		if (*p++ != (uint8_t)hex[(seq >> (4 * (15 - off))) & 15])
			return -1;
		off++;
		n--;
	}
	return n && memcmp(p, pattern + msg_shift(c, seq) + off, n) ? -1 : 0;
}

static void echo_send(struct conn *c, uint64_t now)
{
	while (c->sent - c->done < (uint64_t)inflight) {
		uint8_t *h = tx_room(c, 14 + msize), key[4];
		size_t hl = 2;
		uint64_t r = rand64();
		/* build in place: header, then the payload masked where it lies */
		h[0] = (uint8_t)(0x80 | (binary ? 2 : 1));
		if (msize < 126) {
			h[1] = (uint8_t)(0x80 | msize);
		} else if (msize < 65536) {
			h[1] = 0x80 | 126;
			h[2] = (uint8_t)(msize >> 8);
			h[3] = (uint8_t)msize;
			hl = 4;
		} else {
			int i;
			h[1] = 0x80 | 127;
			for (i = 0; i < 8; i++)
				h[2 + i] = (uint8_t)((uint64_t)msize >> (56 - 8 * i));
			hl = 10;
		}
		memcpy(key, &r, 4);
		memcpy(h + hl, key, 4);
		hl += 4;
		msg_bytes(c, c->sent, 0, h + hl, msize);
		xor_mask(h + hl, msize, key);
		c->tx_len += hl + msize;
		c->t_sent[c->sent % (uint64_t)inflight] = now;
		c->sent++;
	}
	flush(c);
}

/* ------------------------------------------------------------ the phases */

static void start(struct conn *c, uint64_t now)
{
	uint8_t nonce[16], dig[20];
	char key[32], buf[128];
	int one = 1;
	uint64_t a = rand64(), b = rand64();

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		errs.connect++;
		note("socket: %s", strerror(errno));
		c->st = S_DONE;
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (nsrc > 1) {
		/* more than one source address: past the ~28k ephemeral ports of one */
		struct sockaddr_in src;
		memset(&src, 0, sizeof src);
		src.sin_family = AF_INET;
		src.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(c->idx % nsrc));
		setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
		if (bind(c->fd, (struct sockaddr *)&src, sizeof src)) {
			fail(c, &errs.connect, strerror(errno));
			return;
		}
	}
	c->ev = 0;
	c->tx_len = c->tx_off = 0;
	c->fh_have = 0;
	c->fh_need = 2;
	c->in_msg = 0;
	c->msg_got = 0;
	c->sent = c->done = 0;
	c->close_sent = 0;
	c->t_cycle = now;
	c->st = S_CONNECTING;
	n_connecting++;

	memcpy(nonce, &a, 8);
	memcpy(nonce + 8, &b, 8);
	base64(nonce, 16, key);
	snprintf(buf, sizeof buf, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
	sha1((const uint8_t *)buf, strlen(buf), dig);
	base64(dig, 20, c->want_accept);
	{
		char req[1024];
		int n = snprintf(req, sizeof req,
				 "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
				 "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s%s%s\r\n",
				 path, addr, port, key, subproto ? "Sec-WebSocket-Protocol: " : "",
				 subproto ? subproto : "", subproto ? "\r\n" : "");
		memcpy(tx_room(c, (size_t)n), req, (size_t)n);
		c->tx_len += (size_t)n;
	}
	if (connect(c->fd, (struct sockaddr *)&target, sizeof target) && errno != EINPROGRESS) {
		fail(c, &errs.connect, strerror(errno));
		return;
	}
	want(c, EPOLLOUT);
}

static void cycle_end(struct conn *c, uint64_t now)
{
	if (measuring) {
		n_cycles++;
		hist_add(now - c->t_cycle);
	}
	drop(c);
	c->st = S_IDLE; /* the main loop starts it again */
}

static void opened(struct conn *c, uint64_t now)
{
	n_connecting--;
	n_open++;
	n_opened++;
	c->st = S_OPEN;
	free(c->http);
	c->http = NULL;
	if (mode == M_HANDSHAKE) {
		send_close(c);
		c->st = S_CLOSING;
		flush(c);
	} else if (mode == M_ECHO) {
		/* sending starts once every connection is open */
		if (!c->t_sent)
			c->t_sent = calloc((size_t)inflight, sizeof *c->t_sent);
	}
	(void)now;
}

/* find a header's value in the response head (NUL-terminated); copies it */
static int header(const char *head, const char *name, char *val, size_t cap)
{
	size_t nl = strlen(name);
	const char *p = strstr(head, "\r\n");

	while (p && p[2] != '\r' && p[2]) {
		const char *line = p + 2, *end = strstr(line, "\r\n"), *v;
		if (!end)
			break;
		if (!strncasecmp(line, name, nl) && line[nl] == ':') {
			size_t n;
			for (v = line + nl + 1; *v == ' ' || *v == '\t'; v++)
				;
			n = (size_t)(end - v);
			while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
				n--;
			if (n >= cap)
				n = cap - 1;
			memcpy(val, v, n);
			val[n] = 0;
			return 1;
		}
		p = end;
	}
	return 0;
}

static int on_frame_data(struct conn *c, const uint8_t *p, size_t n, uint64_t now);
static int on_control(struct conn *c, uint64_t now);

/* the WebSocket byte stream from the server (unmasked frames) */
static int ws_input(struct conn *c, const uint8_t *p, size_t n, uint64_t now)
{
	/* a header completed by the last byte is handled in the same turn */
	while (n) {
		if (c->fh_have < c->fh_need) {
			c->fh[c->fh_have++] = *p++;
			n--;
			if (c->fh_have == 2) {
				unsigned l7 = c->fh[1] & 127;
				if (c->fh[1] & 0x80)
					return fail(c, &errs.protocol, "masked frame from the server");
				if (c->fh[0] & 0x70)
					return fail(c, &errs.protocol, "reserved bits set");
				c->fh_need = l7 == 126 ? 4 : l7 == 127 ? 10 : 2;
			}
			if (c->fh_have < c->fh_need)
				continue;
			/* header complete */
			c->op = c->fh[0] & 15;
			c->fin = c->fh[0] >> 7;
			c->fgot = 0;
			if (c->fh_need == 2) {
				c->flen = c->fh[1] & 127;
			} else if (c->fh_need == 4) {
				c->flen = (uint64_t)c->fh[2] << 8 | c->fh[3];
			} else {
				int i;
				c->flen = 0;
				for (i = 2; i < 10; i++)
					c->flen = c->flen << 8 | c->fh[i];
			}
			if (c->op >= 8) {
				if (c->op > 10 || !c->fin || c->flen > 125)
					return fail(c, &errs.protocol, "bad control frame");
			} else if (c->op == 0) {
				if (!c->in_msg)
					return fail(c, &errs.protocol, "continuation with no message");
			} else if (c->op <= 2) {
				if (c->in_msg)
					return fail(c, &errs.protocol, "message inside a message");
				c->in_msg = 1;
				c->msg_got = 0;
				if (mode == M_ECHO) {
					if (c->op != (binary ? 2 : 1))
						return fail(c, &errs.mismatch, "echo came back as the other message type");
					if (c->done >= c->sent)
						return fail(c, &errs.unexpected, "a message nobody asked for");
				}
			} else {
				return fail(c, &errs.protocol, "reserved opcode");
			}
		}
		/* payload */
		{
			uint64_t left = c->flen - c->fgot;
			size_t take = left < n ? (size_t)left : n;
			if (c->op >= 8)
				memcpy(c->ctl + c->fgot, p, take);
			else if (take && on_frame_data(c, p, take, now))
				return -1;
			c->fgot += take;
			p += take;
			n -= take;
			if (c->fgot < c->flen)
				continue;
		}
		/* frame complete */
		c->fh_have = 0;
		c->fh_need = 2;
		c->fgot = c->flen = 0;
		if (c->op >= 8) {
			if (on_control(c, now))
				return -1;
		} else if (c->fin) {
			c->in_msg = 0;
			if (mode == M_ECHO) {
				if (c->msg_got != msize)
					return fail(c, &errs.mismatch, "echo of another size");
				if (measuring) {
					n_msgs++;
					hist_add(now - c->t_sent[c->done % (uint64_t)inflight]);
				}
				c->done++;
			}
		}
		if (c->st != S_OPEN && c->st != S_CLOSING)
			return -1;
	}
	return 0;
}

static int on_frame_data(struct conn *c, const uint8_t *p, size_t n, uint64_t now)
{
	(void)now;
	if (mode != M_ECHO)
		return 0;
	if (c->msg_got + n > msize)
		return fail(c, &errs.mismatch, "echo longer than the message");
	if (msg_check(c, c->done, (size_t)c->msg_got, p, n))
		return fail(c, &errs.mismatch, "echoed bytes differ from those sent");
	c->msg_got += n;
	return 0;
}

static int on_control(struct conn *c, uint64_t now)
{
	switch (c->op) {
	case 9: /* ping: answer */
		n_pings++;
		frame(c, 10, c->ctl, (size_t)c->flen);
		return flush(c);
	case 10:
		if (n_ping_sent)
			n_pongs++;
		return 0;
	default: /* close */
		if (c->close_sent) {
			if (mode == M_HANDSHAKE)
				cycle_end(c, now);
			else
				drop(c);
			return -1;
		}
		return fail(c, &errs.peer_close, "the server sent Close");
	}
}

static int on_upgrade_bytes(struct conn *c, const uint8_t *p, size_t n, uint64_t now)
{
	char *end, val[128];
	size_t head;

	if (!c->http)
		c->http = malloc(4097);
	if (c->http_len + n > 4096) {
		/* a 101 this large is an error; keep what fits to look for its end */
		if (c->http_len >= 4096)
			return fail(c, &errs.handshake, "response head too large");
		n = 4096 - c->http_len;
	}
	memcpy(c->http + c->http_len, p, n);
	c->http_len += n;
	c->http[c->http_len] = 0;
	end = strstr(c->http, "\r\n\r\n");
	if (!end)
		return 0;
	head = (size_t)(end - c->http) + 4;
	if (strncmp(c->http, "HTTP/1.1 101 ", 13)) {
		char line[80];
		snprintf(line, sizeof line, "no 101: %.*s", (int)strcspn(c->http, "\r\n"), c->http);
		return fail(c, &errs.handshake, line);
	}
	end[2] = 0;
	if (!header(c->http, "upgrade", val, sizeof val) || strcasecmp(val, "websocket"))
		return fail(c, &errs.handshake, "101 without Upgrade: websocket");
	if (!header(c->http, "connection", val, sizeof val) || !strcasestr(val, "upgrade"))
		return fail(c, &errs.handshake, "101 without Connection: upgrade");
	if (!header(c->http, "sec-websocket-accept", val, sizeof val) || strcmp(val, c->want_accept))
		return fail(c, &errs.handshake, "wrong Sec-WebSocket-Accept");
	{
		/* bytes after the head are already WebSocket frames */
		size_t extra = c->http_len - head;
		uint8_t tmp[4096];
		memcpy(tmp, c->http + head, extra);
		opened(c, now);
		if (extra && ws_input(c, tmp, extra, now))
			return -1;
	}
	return 0;
}

static uint8_t rxbuf[256 * 1024];

static void on_readable(struct conn *c, uint64_t now)
{
	int rounds;
	for (rounds = 0; rounds < 4; rounds++) {
		ssize_t n = recv(c->fd, rxbuf, sizeof rxbuf, 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			if (c->st == S_CLOSING) {
				if (mode == M_HANDSHAKE)
					cycle_end(c, now);
				else
					drop(c);
				return;
			}
			fail(c, c->st == S_UPGRADING ? &errs.handshake : &errs.reset, strerror(errno));
			return;
		}
		if (n == 0) {
			if (c->st == S_CLOSING) {
				if (mode == M_HANDSHAKE)
					cycle_end(c, now);
				else
					drop(c);
				return;
			}
			fail(c, c->st == S_UPGRADING ? &errs.handshake : &errs.peer_close, "the server closed the connection");
			return;
		}
		n_bytes_rx += (uint64_t)n;
		if (c->st == S_UPGRADING) {
			if (on_upgrade_bytes(c, rxbuf, (size_t)n, now))
				return;
		} else if (ws_input(c, rxbuf, (size_t)n, now)) {
			return;
		}
		if ((size_t)n < sizeof rxbuf)
			break;
	}
	if (c->st == S_OPEN && mode == M_ECHO && c->t_sent && c->sent)
		echo_send(c, mono_ns());
}

static void on_writable(struct conn *c)
{
	if (c->st == S_CONNECTING) {
		int e = 0;
		socklen_t l = sizeof e;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &l);
		if (e) {
			fail(c, &errs.connect, strerror(e));
			return;
		}
		c->st = S_UPGRADING;
		c->http_len = 0;
	}
	flush(c);
}

static void on_signal(int s)
{
	(void)s;
	stop_now = 1;
}

static void on_ping_signal(int s)
{
	(void)s;
	ping_req = 1;
}

static void usage(int rc)
{
	fputs("usage: wsload [-m echo|handshake|idle] [options]\n"
	      "  -a ADDR   server IPv4 address (127.0.0.1)\n"
	      "  -p PORT   server port (7681)\n"
	      "  -u PATH   request path (/)\n"
	      "  -P NAME   ask for subprotocol NAME\n"
	      "  -c N      connections (echo, idle) or concurrent loops (handshake) (1)\n"
	      "  -k K      echo: messages in flight per connection (1)\n"
	      "  -s BYTES  echo: message size (32)\n"
	      "  -b        echo: binary messages (default text)\n"
	      "  -d SECS   echo, handshake: measured time (5)\n"
	      "  -w SECS   echo, handshake: warm-up before measuring (1)\n"
	      "  -t SECS   idle: hold time once all are open, 0 until a signal (10)\n"
	      "  -r N      most connects in progress at once (200)\n"
	      "  -S SECS   echo: an echo slower than this is an error (10)\n"
	      "  -T SECS   time allowed to open all connections (30)\n"
	      "  -L N      use source addresses 127.0.0.1 .. 127.0.0.N in turn (1; for more\n"
	      "            connections than one address has ports)\n"
	      "  -q        no progress or error lines on stderr\n"
	      "idle: SIGUSR2 sends a ping on every open connection and reports on stderr\n"
	      "  \"wsload: pongs N of M in S s\" once all are back (or after 30 s)\n", rc ? stderr : stdout);
	exit(rc);
}

int main(int argc, char **argv)
{
	static struct epoll_event evs[512];
	uint64_t t0, t_meas = 0, t_end = 0, last_check = 0;
	double cpu0, cpu1, conn_secs = 0;
	struct rlimit rl;
	int o, i, next = 0, phase = 0; /* 0 opening, 1 warm-up, 2 measuring, 3 holding */
	int rc;

	while ((o = getopt(argc, argv, "m:a:p:u:P:c:k:s:bd:w:t:r:S:T:L:qh")) != -1) {
		switch (o) {
		case 'm':
			if (!strcmp(optarg, "echo")) mode = M_ECHO;
			else if (!strcmp(optarg, "handshake")) mode = M_HANDSHAKE;
			else if (!strcmp(optarg, "idle")) mode = M_IDLE;
			else usage(2);
			break;
		case 'a': addr = optarg; break;
		case 'L': nsrc = atoi(optarg); break;
		case 'p': port = atoi(optarg); break;
		case 'u': path = optarg; break;
		case 'P': subproto = optarg; break;
		case 'c': nconn = atoi(optarg); break;
		case 'k': inflight = atoi(optarg); break;
		case 's': msize = (size_t)strtoull(optarg, NULL, 10); break;
		case 'b': binary = 1; break;
		case 'd': dur = atof(optarg); break;
		case 'w': warm = atof(optarg); break;
		case 't': hold = atof(optarg); break;
		case 'r': max_connecting = atoi(optarg); break;
		case 'S': stall_limit = atof(optarg); break;
		case 'T': open_timeout = atof(optarg); break;
		case 'q': quiet = 1; break;
		case 'h': usage(0); break;
		default: usage(2);
		}
	}
	if (optind != argc || nconn < 1 || inflight < 1 || max_connecting < 1 || dur <= 0 || warm < 0 ||
	    hold < 0 || port < 1 || port > 65535 || msize > (1u << 30) || nsrc < 1 || nsrc > 254)
		usage(2);
	memset(&target, 0, sizeof target);
	target.sin_family = AF_INET;
	target.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &target.sin_addr) != 1) {
		fprintf(stderr, "wsload: %s is not an IPv4 address\n", addr);
		return 2;
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < (rlim_t)nconn + 32) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < (rlim_t)nconn + 32) {
			fprintf(stderr, "wsload: the open-file limit %llu is too low for %d connections (ulimit -n)\n",
				(unsigned long long)rl.rlim_cur, nconn);
			return 2;
		}
	}
	{
		FILE *f = fopen("/dev/urandom", "rb");
		if (!f || fread(&rng, sizeof rng, 1, f) != 1)
			rng = mono_ns();
		if (f)
			fclose(f);
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR1, on_signal);
	signal(SIGUSR2, on_ping_signal);

	pattern = malloc(msize + 64);
	for (size_t j = 0; j < msize + 64; j++)
		pattern[j] = binary ? (uint8_t)rand64() : (uint8_t)(0x21 + (j * 13 + j / 94) % 94);
	conns = calloc((size_t)nconn, sizeof *conns);
	for (i = 0; i < nconn; i++) {
		conns[i].fd = -1;
		conns[i].idx = i;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		perror("wsload: epoll_create1");
		return 2;
	}

	t0 = mono_ns();
	cpu0 = cpu_secs();
	if (mode == M_HANDSHAKE) {
		phase = 1;
		t_meas = t0 + (uint64_t)(warm * 1e9);
	}
	while (!stop_now) {
		uint64_t now = mono_ns();
		int n;

		if (mode == M_HANDSHAKE) {
			for (i = 0; i < nconn; i++)
				if (conns[i].st == S_IDLE || conns[i].st == S_DONE)
					start(&conns[i], now);
			if (phase == 1 && now >= t_meas) {
				phase = 2;
				measuring = 1;
				t_end = t_meas + (uint64_t)(dur * 1e9);
			}
			if (phase == 2 && now >= t_end)
				break;
		} else if (phase == 0) {
			while (next < nconn && n_connecting < (uint64_t)max_connecting)
				start(&conns[next++], now);
			if ((next == nconn && n_connecting == 0) || now - t0 > (uint64_t)(open_timeout * 1e9)) {
				for (i = 0; i < nconn; i++)
					if (conns[i].st == S_CONNECTING || conns[i].st == S_UPGRADING)
						fail(&conns[i], &errs.connect, "not open in time");
				conn_secs = (now - t0) / 1e9;
				note("%llu of %d connections open in %.2f s", (unsigned long long)n_open, nconn, conn_secs);
				if (mode == M_IDLE) {
					fprintf(stderr, "wsload: ready %llu\n", (unsigned long long)n_open);
					fflush(stderr);
					phase = 3;
					t_meas = now;
					/* -t 0: until a signal */
					t_end = hold > 0 ? now + (uint64_t)(hold * 1e9) : UINT64_MAX;
				} else {
					phase = 1;
					t_meas = now + (uint64_t)(warm * 1e9);
					t_end = t_meas + (uint64_t)(dur * 1e9);
					for (i = 0; i < nconn; i++)
						if (conns[i].st == S_OPEN)
							echo_send(&conns[i], now);
				}
			}
		} else if (phase == 1 && now >= t_meas) {
			phase = 2;
			measuring = 1;
		} else if (phase >= 2 && now >= t_end) {
			break;
		}
		if (mode == M_IDLE && phase == 3 && ping_req) {
			ping_req = 0;
			n_ping_sent = n_pongs = 0;
			t_ping = now;
			for (i = 0; i < nconn; i++) {
				struct conn *c = &conns[i];
				if (c->st != S_OPEN)
					continue;
				frame(c, 9, (const uint8_t *)"wsload", 6);
				if (flush(c) == 0)
					n_ping_sent++;
			}
		}
		if (mode == M_IDLE && t_ping && (n_pongs >= n_ping_sent || now - t_ping > 30000000000ull)) {
			fprintf(stderr, "wsload: pongs %llu of %llu in %.3f s\n", (unsigned long long)n_pongs,
				(unsigned long long)n_ping_sent, (now - t_ping) / 1e9);
			fflush(stderr);
			t_ping = 0;
		}
		if (mode == M_ECHO && phase >= 1 && n_open == 0) {
			note("no connection left");
			break;
		}
		if (mode == M_ECHO && phase >= 1 && now - last_check > 200000000u) {
			/* an echo not back within -S seconds is an error */
			last_check = now;
			for (i = 0; i < nconn; i++) {
				struct conn *c = &conns[i];
				if (c->st == S_OPEN && c->sent > c->done &&
				    now - c->t_sent[c->done % (uint64_t)inflight] > (uint64_t)(stall_limit * 1e9))
					fail(c, &errs.stalled, "echo not received in time");
			}
		}

		n = epoll_wait(ep, evs, (int)(sizeof evs / sizeof evs[0]), 20);
		now = mono_ns();
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			uint32_t e = evs[i].events;
			if (c->fd < 0)
				continue;
			if (c->st == S_CONNECTING) {
				if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))
					on_writable(c);
				continue;
			}
			if (e & (EPOLLIN | EPOLLERR | EPOLLHUP))
				on_readable(c, now);
			if (c->fd >= 0 && (e & EPOLLOUT))
				flush(c);
		}
	}
	if (!t_end || mono_ns() < t_end)
		t_end = mono_ns(); /* stopped early (signal, no connection left) */
	if (mode == M_HANDSHAKE && phase < 2)
		t_meas = t_end;
	measuring = 0;
	cpu1 = cpu_secs();

	/* close what is open: Close frame, then up to 2 s for the server's */
	{
		uint64_t limit = mono_ns() + 2000000000u;
		for (i = 0; i < nconn; i++) {
			struct conn *c = &conns[i];
			if (c->st == S_OPEN) {
				send_close(c);
				c->st = S_CLOSING;
				flush(c);
			} else if (c->fd >= 0 && c->st != S_CLOSING) {
				drop(c);
			}
		}
		while (n_open && mono_ns() < limit) {
			int n = epoll_wait(ep, evs, (int)(sizeof evs / sizeof evs[0]), 20);
			for (i = 0; i < n; i++) {
				struct conn *c = evs[i].data.ptr;
				if (c->fd < 0)
					continue;
				if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
					on_readable(c, 0);
				if (c->fd >= 0 && (evs[i].events & EPOLLOUT))
					flush(c);
			}
		}
		for (i = 0; i < nconn; i++)
			if (conns[i].fd >= 0)
				drop(&conns[i]);
	}

	{
		static const char *mname[] = { "echo", "handshake", "idle" };
		double secs = mode == M_IDLE ? (t_end - t_meas) / 1e9 : t_end > t_meas ? (t_end - t_meas) / 1e9 : 0;
		double wall = (t_end - t0) / 1e9;
		uint64_t count = mode == M_ECHO ? n_msgs : mode == M_HANDSHAKE ? n_cycles : 0;
		double rate = secs > 0 ? (double)count / secs : 0;
		uint64_t nerr = errs.connect + errs.handshake + errs.reset + errs.peer_close + errs.protocol +
				errs.mismatch + errs.stalled + errs.unexpected;

		printf("{\"tool\":\"wsload\",\"mode\":\"%s\",\"conns\":%d,\"inflight\":%d,\"size\":%zu,\"binary\":%s,"
		       "\"secs\":%.3f,\"open_secs\":%.3f,\"opened\":%llu,\"count\":%llu,\"rate\":%.1f,\"mbytes_per_sec\":%.3f,"
		       "\"latency_us\":{\"mean\":%.1f,\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"max\":%.1f},"
		       "\"client_cpu\":%.3f,\"pings\":%llu,\"errors\":%llu,"
		       "\"error_kinds\":{\"connect\":%llu,\"handshake\":%llu,\"reset\":%llu,\"peer_close\":%llu,"
		       "\"protocol\":%llu,\"mismatch\":%llu,\"stalled\":%llu,\"unexpected\":%llu}}\n",
		       mname[mode], nconn, inflight, msize, binary ? "true" : "false", secs, conn_secs,
		       (unsigned long long)n_opened, (unsigned long long)count, rate,
		       mode == M_ECHO ? rate * (double)msize / 1e6 : 0.0,
		       hist_n ? hist_sum / (double)hist_n / 1000.0 : 0.0, hist_quantile(0.5), hist_quantile(0.9),
		       hist_quantile(0.99), (double)hist_max / 1000.0, wall > 0 ? (cpu1 - cpu0) / wall : 0.0,
		       (unsigned long long)n_pings, (unsigned long long)nerr,
		       (unsigned long long)errs.connect, (unsigned long long)errs.handshake,
		       (unsigned long long)errs.reset, (unsigned long long)errs.peer_close,
		       (unsigned long long)errs.protocol, (unsigned long long)errs.mismatch,
		       (unsigned long long)errs.stalled, (unsigned long long)errs.unexpected);
		fflush(stdout);
		rc = nerr ? 3 : 0;
	}
	return rc;
}
