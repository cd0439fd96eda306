/* HAProxy Runtime API client: stats socket addresses, prompt-mode reply
 * splitting (pure), and a poll-bounded connection that pipelines batches
 * of commands. See rtapi_client.h for the framing measured on 2.6.12. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hsdo/alloc.h"
#include "hsdo/clock.h"
#include "hsdo/err.h"
#include "hsdo/rtapi_client.h"

#define PROMPT_SEP "\n> "
#define PROMPT_SEP_LEN 3u
#define RECV_MIN 16384u

_Static_assert(HSDO_RTAPI_PATH_MAX == sizeof(((struct sockaddr_un *)0)->sun_path),
	"HSDO_RTAPI_PATH_MAX must match sun_path");

static const char *const family_str[HSDO_RTAPI_FAMILY_COUNT] = {
	[HSDO_RTAPI_FAMILY_UNIX] = "unix",
	[HSDO_RTAPI_FAMILY_ABNS] = "abns",
	[HSDO_RTAPI_FAMILY_IPV4] = "ipv4",
	[HSDO_RTAPI_FAMILY_IPV6] = "ipv6",
};

const char *hsdo_rtapi_family_str(enum hsdo_rtapi_family f)
{
	if ((unsigned)f >= HSDO_RTAPI_FAMILY_COUNT)
		return "unknown";
	return family_str[f];
}

/* ---- addresses ---------------------------------------------------------------- */

static bool all_digits(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* inet_pton on s[0..len) for the families allowed by fam (0 = either);
 * stores the canonical text in out->ip. Returns AF_INET/AF_INET6 or 0. */
static int parse_ip(const char *s, size_t len, int fam, struct hsdo_rtapi_target *out)
{
	unsigned char bin[sizeof(struct in6_addr)];
	char tmp[HSDO_IP_LEN + 16];
	int af = 0;

	if (len == 0 || len >= sizeof(tmp))
		return 0;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if ((fam == 0 || fam == AF_INET) && inet_pton(AF_INET, tmp, bin) == 1)
		af = AF_INET;
	else if ((fam == 0 || fam == AF_INET6) && inet_pton(AF_INET6, tmp, bin) == 1)
		af = AF_INET6;
	if (af == 0)
		return 0;
	if (out != NULL && inet_ntop(af, bin, out->ip, sizeof(out->ip)) == NULL)
		return 0;
	return af;
}

static int parse_port(const char *s, size_t len, uint16_t *port, const char *whole,
	char *err, size_t errlen)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "missing port in '%.200s'", whole);
	if (!all_digits(s, len))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "invalid port '%.*s' in '%.200s'",
			(int)(len > 20 ? 20 : len), s, whole);
	for (i = 0; i < len && v <= 65535; i++)
		v = v * 10 + (unsigned long)(s[i] - '0');
	if (v == 0 || v > 65535)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL,
			"port out of range (1-65535) in '%.200s'", whole);
	*port = (uint16_t)v;
	return 0;
}

/* `<ip>:<port>` or `[<ip6>]:<port>`; fam limits the address family (0 =
 * either). HAProxy takes the last ':' as the port separator. */
static int parse_inet(const char *s, int fam, const char *whole, struct hsdo_rtapi_target *out,
	char *err, size_t errlen)
{
	const char *fname = fam == AF_INET ? "an IPv4" : fam == AF_INET6 ? "an IPv6" : "an IP";
	const char *host = s, *colon, *port;
	size_t hostlen;
	int af;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (fam == AF_INET)
			return hsdo_seterr(err, errlen, -HSDO_EINVAL,
				"brackets are for IPv6 addresses in '%.200s'", whole);
		if (close == NULL)
			return hsdo_seterr(err, errlen, -HSDO_EINVAL, "missing ']' in '%.200s'", whole);
		host = s + 1;
		hostlen = (size_t)(close - host);
		if (close[1] != ':' && close[1] != '\0')
			return hsdo_seterr(err, errlen, -HSDO_EINVAL,
				"expected ':<port>' after ']' in '%.200s'", whole);
		port = close[1] == ':' ? close + 2 : close + 1;
		fam = AF_INET6;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL) {
			if (parse_ip(s, strlen(s), fam, NULL) != 0)
				return hsdo_seterr(err, errlen, -HSDO_EINVAL,
					"missing port in '%.200s'", whole);
			return hsdo_seterr(err, errlen, -HSDO_EINVAL, "'%.200s' is not %s address "
				"and port (host names are not resolved)", whole, fname);
		}
		hostlen = (size_t)(colon - s);
		port = colon + 1;
	}
	fname = fam == AF_INET ? "an IPv4" : fam == AF_INET6 ? "an IPv6" : "an IP";
	af = parse_ip(host, hostlen, fam, out);
	if (af == 0) {
		if (s[0] != '[' && parse_ip(s, strlen(s), fam, NULL) != 0)
			return hsdo_seterr(err, errlen, -HSDO_EINVAL, "missing port in '%.200s' "
				"(the last ':' separates the port: write [<ipv6>]:<port>)", whole);
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "'%.*s' is not %s address (host "
			"names are not resolved) in '%.200s'", (int)(hostlen > 64 ? 64 : hostlen),
			host, fname, whole);
	}
	out->family = af == AF_INET ? HSDO_RTAPI_FAMILY_IPV4 : HSDO_RTAPI_FAMILY_IPV6;
	return parse_port(port, strlen(port), &out->port, whole, err, errlen);
}

static int parse_path(const char *s, enum hsdo_rtapi_family fam, const char *whole,
	struct hsdo_rtapi_target *out, char *err, size_t errlen)
{
	size_t len = strlen(s);

	if (len == 0)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "empty %s in '%.200s'",
			fam == HSDO_RTAPI_FAMILY_ABNS ? "abstract socket name" : "socket path", whole);
	/* abns: sun_path[0] is the NUL that marks the abstract namespace,
	 * so both forms have 107 bytes for the name */
	if (fam == HSDO_RTAPI_FAMILY_ABNS && len >= HSDO_RTAPI_PATH_MAX)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "name too long for an abstract "
			"socket (%u bytes): %zu bytes", HSDO_RTAPI_PATH_MAX - 1, len);
	if (len >= HSDO_RTAPI_PATH_MAX)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "path too long for a Unix socket "
			"(%u bytes): %zu bytes", HSDO_RTAPI_PATH_MAX, len + 1);
	out->family = fam;
	memcpy(out->path, s, len + 1);
	return 0;
}

int hsdo_rtapi_client_parse_target(const char *s, struct hsdo_rtapi_target *out,
	char *err, size_t errlen)
{
	struct hsdo_rtapi_target t;
	const char *at, *colon, *p;
	size_t plen;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (s == NULL || out == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no address");
	if (s[0] == '\0')
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "empty address");
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return hsdo_seterr(err, errlen, -HSDO_EINVAL,
				"control character in address at offset %zu", (size_t)(p - s));
	memset(&t, 0, sizeof(t));
	/* a HAProxy prefix: lowercase letters and digits, then '@' */
	at = strchr(s, '@');
	plen = at != NULL ? (size_t)(at - s) : 0;
	for (p = s; at != NULL && p < at; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			plen = 0;
	if (plen > 0 && s[0] != '/' && s[0] != '.') {
		if (plen == 4 && memcmp(s, "unix", 4) == 0)
			rc = parse_path(at + 1, HSDO_RTAPI_FAMILY_UNIX, s, &t, err, errlen);
		else if (plen == 4 && memcmp(s, "abns", 4) == 0)
			rc = parse_path(at + 1, HSDO_RTAPI_FAMILY_ABNS, s, &t, err, errlen);
		else if (plen == 4 && memcmp(s, "ipv4", 4) == 0)
			rc = parse_inet(at + 1, AF_INET, s, &t, err, errlen);
		else if (plen == 4 && memcmp(s, "ipv6", 4) == 0)
			rc = parse_inet(at + 1, AF_INET6, s, &t, err, errlen);
		else
			rc = hsdo_seterr(err, errlen, -HSDO_EINVAL, "unsupported address prefix "
				"'%.*s@' (use unix@, abns@, ipv4@ or ipv6@)", (int)(plen > 16 ? 16 : plen), s);
	} else if (s[0] == '/' || s[0] == '.') {
		rc = parse_path(s, HSDO_RTAPI_FAMILY_UNIX, s, &t, err, errlen);
	} else if (s[0] == '[') {
		rc = parse_inet(s, 0, s, &t, err, errlen);
	} else {
		/* an IP literal (with or without a port) is TCP; a path otherwise */
		colon = strrchr(s, ':');
		if ((colon != NULL && (all_digits(colon + 1, strlen(colon + 1)) ||
		     parse_ip(s, (size_t)(colon - s), 0, NULL) != 0)) ||
		    parse_ip(s, strlen(s), 0, NULL) != 0)
			rc = parse_inet(s, 0, s, &t, err, errlen);
		else
			rc = parse_path(s, HSDO_RTAPI_FAMILY_UNIX, s, &t, err, errlen);
	}
	if (rc != 0)
		return rc;
	*out = t;
	return 0;
}

int hsdo_rtapi_client_target_str(const struct hsdo_rtapi_target *t, char *buf, size_t len)
{
	int n;

	if (t == NULL || buf == NULL || len == 0)
		return -HSDO_EINVAL;
	buf[0] = '\0';
	switch (t->family) {
	case HSDO_RTAPI_FAMILY_UNIX:
	case HSDO_RTAPI_FAMILY_ABNS:
		n = snprintf(buf, len, "%s@%.*s", hsdo_rtapi_family_str(t->family),
			(int)HSDO_RTAPI_PATH_MAX, t->path);
		break;
	case HSDO_RTAPI_FAMILY_IPV4:
		n = snprintf(buf, len, "ipv4@%.*s:%u", (int)HSDO_IP_LEN, t->ip, (unsigned)t->port);
		break;
	case HSDO_RTAPI_FAMILY_IPV6:
		n = snprintf(buf, len, "ipv6@[%.*s]:%u", (int)HSDO_IP_LEN, t->ip, (unsigned)t->port);
		break;
	default:
		return -HSDO_EINVAL;
	}
	if (n < 0)
		return -HSDO_EINVAL;
	if ((size_t)n >= len) {
		buf[0] = '\0';
		return -HSDO_ETOOBIG;
	}
	return n;
}

/* ---- prompt-mode splitting -------------------------------------------------------- */

/* Where a split stopped, so a growing buffer is scanned once. */
struct split_pos {
	size_t nfound;
	size_t start;   /* first byte of the reply being read */
	size_t scan;    /* first byte not yet examined */
};

/* A reply as offsets, which survive the buffer moving. */
struct span {
	size_t off;
	size_t len;
};

/* Find the reply that starts at sp->start: 0 and *out, -HSDO_EAGAIN, or
 * -HSDO_EPROTO for a NUL byte (HAProxy's CLI output is text). */
static int split_next(const char *buf, size_t len, struct split_pos *sp, struct span *out)
{
	size_t i = sp->scan, rl;

	for (;;) {
		for (; i < len && buf[i] != '\n'; i++)
			if (buf[i] == '\0') {
				sp->scan = i;
				return -HSDO_EPROTO;
			}
		if (i >= len || len - i < PROMPT_SEP_LEN) {
			/* "\n" or "\n>" at the end may be the start of a prompt */
			if (i < len && len - i == 2 && buf[i + 1] != '>') {
				i++;
				continue;
			}
			sp->scan = i;
			return -HSDO_EAGAIN;
		}
		if (buf[i + 1] == '>' && buf[i + 2] == ' ')
			break;
		i++;
	}
	rl = i - sp->start;
	while (rl > 0 && buf[sp->start + rl - 1] == '\n')
		rl--;
	out->off = sp->start;
	out->len = rl;
	sp->nfound++;
	sp->start = sp->scan = i + PROMPT_SEP_LEN;
	return 0;
}

const char *hsdo_rtapi_join_str(enum hsdo_rtapi_join j)
{
	static const char *const names[HSDO_RTAPI_JOIN_COUNT] = { "prompt", "newline" };

	return (unsigned)j < HSDO_RTAPI_JOIN_COUNT ? names[j] : "?";
}

int hsdo_rtapi_client_split_lines(const char *buf, size_t len, const size_t *ncmds,
	size_t nlines, enum hsdo_rtapi_join join, struct hsdo_rtapi_reply *out, size_t *nfound)
{
	struct split_pos sp = { 0, 0, 0 };
	struct span one = { 0, 0 };
	size_t line = 0, j;
	int rc = 0;

	if (nfound != NULL)
		*nfound = 0;
	if ((buf == NULL && len > 0) || (out == NULL && nlines > 0) ||
	    (unsigned)join >= HSDO_RTAPI_JOIN_COUNT)
		return -HSDO_EINVAL;
	for (line = 0; line < nlines && rc == 0; line++) {
		size_t k = ncmds != NULL ? ncmds[line] : 1, start = sp.start;

		if (k == 0)
			return -HSDO_EINVAL;
		/* PROMPT: one prompt per command; NEWLINE: one per line */
		for (j = 0; j < (join == HSDO_RTAPI_JOIN_PROMPT ? k : 1) && rc == 0; j++)
			rc = split_next(buf, len, &sp, &one);
		if (rc != 0)
			break;
		out[line].ptr = buf + start;
		out[line].len = one.off + one.len - start;
	}
	if (rc == 0 && sp.start < len)
		rc = -HSDO_EPROTO;   /* bytes after the last reply */
	if (nfound != NULL)
		*nfound = line;
	return rc;
}

int hsdo_rtapi_client_split(const char *buf, size_t len, size_t nexpected,
	struct hsdo_rtapi_reply *out, size_t *nfound)
{
	return hsdo_rtapi_client_split_lines(buf, len, NULL, nexpected, HSDO_RTAPI_JOIN_PROMPT,
		out, nfound);
}

/* A version string as `show version` prints it: printable, no spaces. */
static bool version_word(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return len > 0;
}

int hsdo_rtapi_client_join_detect(const char *buf, size_t len, enum hsdo_rtapi_join *join,
	size_t *used)
{
	struct split_pos sp = { 0, 0, 0 };
	struct span a, b;
	int rc;

	if ((buf == NULL && len > 0) || join == NULL || used == NULL)
		return -HSDO_EINVAL;
	rc = split_next(buf, len, &sp, &a);
	if (rc != 0)
		return rc;
	if (version_word(buf + a.off, a.len)) {
		/* "V\n\n> " so far: PROMPT, the second "V\n\n> " must follow */
		rc = split_next(buf, len, &sp, &b);
		if (rc != 0)
			return rc;
		if (b.len != a.len || memcmp(buf + a.off, buf + b.off, a.len) != 0)
			return -HSDO_EPROTO;
		*join = HSDO_RTAPI_JOIN_PROMPT;
	} else {
		/* "V\n\nV\n\n> ": NEWLINE */
		size_t v = (a.len - 2) / 2;

		if (a.len < 4 || a.len % 2 != 0 || memcmp(buf + a.off + v, "\n\n", 2) != 0 ||
		    !version_word(buf + a.off, v) || memcmp(buf + a.off, buf + a.off + v + 2, v) != 0)
			return -HSDO_EPROTO;
		*join = HSDO_RTAPI_JOIN_NEWLINE;
	}
	*used = sp.start;
	return 0;
}

/* ---- the connection -------------------------------------------------------------- */

/* Where a connection stands; _io moves it on. */
enum conn_state {
	CS_CONNECTING = 0,       /* connect() in progress */
	CS_CONNECT_RETRY,        /* a Unix listener's backlog was full: try again soon */
	CS_EXCHANGE,             /* a batch, or the prompt handshake, in flight */
	CS_IDLE,                 /* ready for a batch */
	CS_BROKEN,               /* out of step after an error */
};

#define RETRY_MS  10             /* between connects to a full Unix backlog */
#define IO_BUDGET (1u << 20)     /* bytes read by one _io call: the caller's loop gets a turn */

/* Growable receive buffer, bounded by lim bytes of data. */
struct rbuf {
	char *p;
	size_t len;
	size_t cap;
	size_t lim;
};

struct hsdo_rtapi_client {
	int fd;
	int timeout_ms;
	size_t max_reply;
	enum conn_state state;
	char name[HSDO_RTAPI_PATH_MAX + 16];
	struct hsdo_rtapi_client_stats st;
	struct sockaddr_storage ss;
	socklen_t salen;
	int64_t deadline;            /* of connect + handshake, or of the batch (us) */
	int64_t retry_at;            /* CS_CONNECT_RETRY */
	/* The exchange in flight: bytes to send, replies expected and read. */
	bool handshake;
	char *out;
	size_t outlen, sent, nexpected;
	struct rbuf rb;
	struct span *rep;
	struct split_pos sp;
};

/* Milliseconds left until deadline, rounded up; 0 when it has passed. */
static int ms_left(int64_t deadline)
{
	int64_t left = deadline - hsdo_clock_mono_us();

	if (left <= 0)
		return 0;
	left = (left + 999) / 1000;
	return left > INT_MAX ? INT_MAX : (int)left;
}

static int rbuf_grow(struct rbuf *rb)
{
	size_t ncap;
	char *np;

	if (rb->cap - rb->len > 0)
		return 0;
	if (rb->cap > rb->lim)
		return -HSDO_ETOOBIG;
	ncap = rb->cap < RECV_MIN ? RECV_MIN : rb->cap * 2;
	if (ncap < rb->cap || ncap > rb->lim + 1)
		ncap = rb->lim + 1;
	if (ncap <= rb->cap)
		return -HSDO_ETOOBIG;
	np = hsdo_realloc(rb->p, ncap);
	if (np == NULL)
		return -HSDO_ENOMEM;
	rb->p = np;
	rb->cap = ncap;
	return 0;
}

/* s[0..len) for an error message: escapes for control bytes, truncated. */
static const char *printable(char *dst, size_t dstlen, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; i < len && o + 5 < dstlen; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\n') {
			dst[o++] = '\\';
			dst[o++] = 'n';
		} else if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\') {
			dst[o++] = (char)ch;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[ch >> 4];
			dst[o++] = hex[ch & 15];
		}
	}
	dst[o] = '\0';
	return dst;
}

static size_t count_newlines(const char *p, size_t len)
{
	const char *end = p + len;
	size_t n = 0;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p++;
	}
	return n;
}

/* Fill ss for t; returns the address length, 0 if t is invalid. */
static socklen_t make_sockaddr(const struct hsdo_rtapi_target *t, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	switch (t->family) {
	case HSDO_RTAPI_FAMILY_UNIX:
	case HSDO_RTAPI_FAMILY_ABNS: {
		struct sockaddr_un *su = (struct sockaddr_un *)ss;
		size_t len = strnlen(t->path, sizeof(t->path));
		size_t off = t->family == HSDO_RTAPI_FAMILY_ABNS ? 1 : 0;

		if (len == 0 || len > sizeof(su->sun_path) - 1)
			return 0;
		su->sun_family = AF_UNIX;
		memcpy(su->sun_path + off, t->path, len);
		/* HAProxy binds abns@ with the whole zero-padded sun_path, and
		 * an abstract name includes its padding: use the full size */
		return sizeof(*su);
	}
	case HSDO_RTAPI_FAMILY_IPV4: {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(t->port);
		if (t->port == 0 || inet_pton(AF_INET, t->ip, &sin->sin_addr) != 1)
			return 0;
		return sizeof(*sin);
	}
	case HSDO_RTAPI_FAMILY_IPV6: {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(t->port);
		if (t->port == 0 || inet_pton(AF_INET6, t->ip, &sin6->sin6_addr) != 1)
			return 0;
		return sizeof(*sin6);
	}
	default:
		return 0;
	}
}

static void exchange_free(struct hsdo_rtapi_client *c)
{
	hsdo_free(c->out);
	hsdo_free(c->rep);
	hsdo_free(c->rb.p);
	c->out = NULL;
	c->rep = NULL;
	memset(&c->rb, 0, sizeof(c->rb));
	c->outlen = c->sent = c->nexpected = 0;
	memset(&c->sp, 0, sizeof(c->sp));
}

/* An error: the connection is out of step for good. Returns rc. */
static int broken(struct hsdo_rtapi_client *c, int rc)
{
	c->state = CS_BROKEN;
	exchange_free(c);
	return rc;
}

/* Send and read what the socket takes and has now, never waiting: 0 when
 * the nexpected replies are in, -HSDO_EAGAIN when more I/O is needed,
 * another error when the exchange failed. */
static int exchange_io(struct hsdo_rtapi_client *c, char *err, size_t errlen)
{
	size_t budget = IO_BUDGET;
	char shown[48];
	ssize_t n;
	int rc;

	for (;;) {
		bool progress = false;

		if (c->sent < c->outlen) {
			n = send(c->fd, c->out + c->sent, c->outlen - c->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return hsdo_seterr(err, errlen, -HSDO_EIO, "%s: write after %zu of "
					"%zu bytes: %s", c->name, c->sent, c->outlen, strerror(errno));
			if (n > 0) {
				if (!c->handshake)
					c->st.commands += count_newlines(c->out + c->sent, (size_t)n);
				c->sent += (size_t)n;
				c->st.bytes_out += (uint64_t)n;
				progress = true;
			}
		}
		rc = rbuf_grow(&c->rb);
		if (rc == -HSDO_ETOOBIG)
			return hsdo_seterr(err, errlen, rc, "%s: replies exceed %zu bytes "
				"(%zu of %zu complete)", c->name, c->rb.lim, c->sp.nfound, c->nexpected);
		if (rc != 0)
			return hsdo_seterr(err, errlen, rc, "%s: out of memory for replies", c->name);
		n = recv(c->fd, c->rb.p + c->rb.len, c->rb.cap - c->rb.len, MSG_DONTWAIT);
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return hsdo_seterr(err, errlen, -HSDO_EIO, "%s: read: %s", c->name,
				strerror(errno));
		if (n == 0)
			return hsdo_seterr(err, errlen, -HSDO_EIO, "%s: HAProxy closed the connection "
				"(after %zu of %zu replies)", c->name, c->sp.nfound, c->nexpected);
		if (n > 0) {
			c->rb.len += (size_t)n;
			c->st.bytes_in += (uint64_t)n;
			progress = true;
			budget = (size_t)n < budget ? budget - (size_t)n : 0;
			if (c->handshake && memcmp(c->rb.p, PROMPT_SEP,
				c->rb.len < PROMPT_SEP_LEN ? c->rb.len : PROMPT_SEP_LEN) != 0)
				return hsdo_seterr(err, errlen, -HSDO_EPROTO, "%s: not a HAProxy Runtime "
					"API prompt: \"%s\"", c->name,
					printable(shown, sizeof(shown), c->rb.p, c->rb.len));
			rc = 0;
			while (c->sp.nfound < c->nexpected &&
			       (rc = split_next(c->rb.p, c->rb.len, &c->sp, &c->rep[c->sp.nfound])) == 0)
				;
			if (rc == 0 && (c->sp.start < c->rb.len || c->sent < c->outlen))
				rc = -HSDO_EPROTO;
			if (rc == -HSDO_EPROTO)
				return hsdo_seterr(err, errlen, rc, "%s: unexpected bytes in reply %zu of "
					"%zu (not a prompt-mode answer)", c->name, c->sp.nfound + 1,
					c->nexpected);
			if (c->rb.len > c->rb.lim)
				return hsdo_seterr(err, errlen, -HSDO_ETOOBIG, "%s: replies exceed %zu "
					"bytes (%zu of %zu complete)", c->name, c->rb.lim, c->sp.nfound,
					c->nexpected);
			if (rc == 0)
				return 0;
		}
		if (!progress || budget == 0)
			return -HSDO_EAGAIN;
	}
}

/* Start the exchange of out[0..outlen) (taken) for nexpected replies. */
static int exchange_begin(struct hsdo_rtapi_client *c, char *out, size_t outlen,
	size_t nexpected, bool handshake, size_t lim, int64_t deadline)
{
	exchange_free(c);
	c->out = out;
	c->outlen = outlen;
	c->nexpected = nexpected;
	c->handshake = handshake;
	c->rb.lim = lim;
	c->rep = hsdo_reallocarray(NULL, nexpected, sizeof(*c->rep));
	if (c->rep == NULL || rbuf_grow(&c->rb) != 0)
		return -HSDO_ENOMEM;
	c->deadline = deadline;
	c->state = CS_EXCHANGE;
	return 0;
}

/* A connect error as a message; -HSDO_ENOTFOUND or -HSDO_EIO. */
static int connect_error(struct hsdo_rtapi_client *c, int e, char *err, size_t errlen)
{
	if (e == ETIMEDOUT)
		return hsdo_seterr(err, errlen, -HSDO_EIO, "%s: connect timed out after %d ms",
			c->name, c->timeout_ms);
	if (e == ENOENT || e == ENOTDIR)
		return hsdo_seterr(err, errlen, -HSDO_ENOTFOUND, "%s: no such socket", c->name);
	if (e == ECONNREFUSED)
		return hsdo_seterr(err, errlen, -HSDO_EIO, "%s: connection refused (is HAProxy "
			"running with this stats socket?)", c->name);
	return hsdo_seterr(err, errlen, -HSDO_EIO, "%s: connect: %s", c->name, strerror(e));
}

/* One connect() attempt: on to the handshake, or wait (-HSDO_EAGAIN). */
static int try_connect(struct hsdo_rtapi_client *c, char *err, size_t errlen)
{
	int e;

	if (connect(c->fd, (const struct sockaddr *)&c->ss, c->salen) == 0) {
		c->state = CS_EXCHANGE;
		return -HSDO_EAGAIN;
	}
	e = errno;
	if (e == EAGAIN && c->ss.ss_family == AF_UNIX) {
		/* a Unix listener's backlog is full: only retrying helps */
		c->state = CS_CONNECT_RETRY;
		c->retry_at = hsdo_clock_mono_us() + (int64_t)RETRY_MS * 1000;
		return -HSDO_EAGAIN;
	}
	if (e == EINPROGRESS || e == EINTR || e == EALREADY) {
		c->state = CS_CONNECTING;
		return -HSDO_EAGAIN;
	}
	return connect_error(c, e, err, errlen);
}

int hsdo_rtapi_client_start(const struct hsdo_rtapi_target *t, int timeout_ms,
	struct hsdo_rtapi_client **out, char *err, size_t errlen)
{
	struct hsdo_rtapi_client *c;
	char *prompt;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out != NULL)
		*out = NULL;
	if (t == NULL || out == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no target");
	if (timeout_ms <= 0 || timeout_ms > HSDO_RTAPI_CLIENT_TIMEOUT_MAX)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "timeout %d ms out of range "
			"(1-%d)", timeout_ms, HSDO_RTAPI_CLIENT_TIMEOUT_MAX);
	c = hsdo_calloc(1, sizeof(*c));
	if (c == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	c->fd = -1;
	c->salen = make_sockaddr(t, &c->ss);
	if (c->salen == 0) {
		hsdo_free(c);
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "invalid target");
	}
	c->timeout_ms = timeout_ms;
	c->max_reply = HSDO_RTAPI_CLIENT_REPLY_MAX;
	if (hsdo_rtapi_client_target_str(t, c->name, sizeof(c->name)) < 0)
		(void)snprintf(c->name, sizeof(c->name), "%s", hsdo_rtapi_family_str(t->family));
	prompt = hsdo_strdup("prompt\n");
	rc = prompt == NULL ? -HSDO_ENOMEM : exchange_begin(c, prompt, 7, 1, true, 64,
		hsdo_clock_mono_us() + (int64_t)timeout_ms * 1000);
	if (rc != 0) {
		exchange_free(c);
		hsdo_free(c);
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	}
	c->fd = socket(c->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		rc = hsdo_seterr(err, errlen, -HSDO_EIO, "%s: socket: %s", c->name, strerror(errno));
		exchange_free(c);
		hsdo_free(c);
		return rc;
	}
	rc = try_connect(c, err, errlen);
	if (rc != -HSDO_EAGAIN) {
		exchange_free(c);
		(void)close(c->fd);
		hsdo_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

/* The handshake or the batch is complete: the replies into *res. */
static int exchange_done(struct hsdo_rtapi_client *c, struct hsdo_rtapi_result *res,
	char *err, size_t errlen)
{
	size_t i;

	if (c->handshake) {
		if (c->rep[0].len != 0)
			return broken(c, hsdo_seterr(err, errlen, -HSDO_EPROTO, "%s: 'prompt' got an "
				"answer instead of a prompt", c->name));
		exchange_free(c);
		c->st.connections = 1;
		c->state = CS_IDLE;
		return 0;
	}
	res->reply = hsdo_reallocarray(NULL, c->nexpected, sizeof(*res->reply));
	res->len = hsdo_reallocarray(NULL, c->nexpected, sizeof(*res->len));
	if (res->reply == NULL || res->len == NULL) {
		hsdo_free(res->reply);
		hsdo_free(res->len);
		memset(res, 0, sizeof(*res));
		return broken(c, hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory for %zu "
			"replies", c->nexpected));
	}
	c->st.replies += c->nexpected;
	/* each reply is followed by at least the '\n' of its prompt, where
	 * its NUL goes: the replies become strings in place */
	for (i = 0; i < c->nexpected; i++) {
		c->rb.p[c->rep[i].off + c->rep[i].len] = '\0';
		res->reply[i] = c->rb.p + c->rep[i].off;
		res->len[i] = c->rep[i].len;
	}
	res->buf = c->rb.p;
	res->n = c->nexpected;
	c->rb.p = NULL;   /* now the result's */
	exchange_free(c);
	c->state = CS_IDLE;
	return 0;
}

int hsdo_rtapi_client_io(struct hsdo_rtapi_client *c, struct hsdo_rtapi_result *res,
	char *err, size_t errlen)
{
	int rc, e = 0;
	socklen_t elen = sizeof(e);

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (res != NULL)
		memset(res, 0, sizeof(*res));
	if (c == NULL || res == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no client or result");
	switch (c->state) {
	case CS_IDLE:
		return 0;
	case CS_BROKEN:
		return hsdo_seterr(err, errlen, -HSDO_EIO, "%s: connection unusable after an "
			"earlier error", c->name);
	case CS_CONNECT_RETRY:
		if (hsdo_clock_mono_us() >= c->deadline)
			return broken(c, connect_error(c, ETIMEDOUT, err, errlen));
		if (hsdo_clock_mono_us() < c->retry_at)
			return -HSDO_EAGAIN;
		rc = try_connect(c, err, errlen);
		if (rc != -HSDO_EAGAIN)
			return broken(c, rc);
		if (c->state != CS_EXCHANGE)
			return rc;
		break;
	case CS_CONNECTING:
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1)
			e = errno;
		if (e == 0) {
			/* writable and no error: connected (or still in progress,
			 * which send() then reports as EAGAIN) */
			c->state = CS_EXCHANGE;
			break;
		}
		if (e != EINPROGRESS && e != EALREADY)
			return broken(c, connect_error(c, e, err, errlen));
		if (hsdo_clock_mono_us() >= c->deadline)
			return broken(c, connect_error(c, ETIMEDOUT, err, errlen));
		return -HSDO_EAGAIN;
	case CS_EXCHANGE:
		break;
	}
	rc = exchange_io(c, err, errlen);
	if (rc == -HSDO_EAGAIN && hsdo_clock_mono_us() >= c->deadline)
		rc = hsdo_seterr(err, errlen, -HSDO_EIO, "%s: timed out after %d ms "
			"(%zu of %zu bytes sent, %zu of %zu replies read)", c->name,
			c->timeout_ms, c->sent, c->outlen, c->sp.nfound, c->nexpected);
	if (rc == -HSDO_EAGAIN)
		return rc;
	if (rc != 0)
		return broken(c, rc);
	return exchange_done(c, res, err, errlen);
}

int hsdo_rtapi_client_fd(const struct hsdo_rtapi_client *c)
{
	return c != NULL ? c->fd : -1;
}

int hsdo_rtapi_client_events(const struct hsdo_rtapi_client *c)
{
	if (c == NULL)
		return 0;
	switch (c->state) {
	case CS_CONNECTING:
		return HSDO_RTAPI_IO_WRITE;
	case CS_EXCHANGE:
		return HSDO_RTAPI_IO_READ | (c->sent < c->outlen ? HSDO_RTAPI_IO_WRITE : 0);
	default:
		return 0;
	}
}

long hsdo_rtapi_client_timeout(const struct hsdo_rtapi_client *c)
{
	if (c == NULL)
		return -1;
	switch (c->state) {
	case CS_CONNECT_RETRY:
		return ms_left(c->retry_at < c->deadline ? c->retry_at : c->deadline);
	case CS_CONNECTING:
	case CS_EXCHANGE:
		return ms_left(c->deadline);
	default:
		return -1;
	}
}

/* Drive c with poll(2) until _io is done with it. */
static int run_blocking(struct hsdo_rtapi_client *c, struct hsdo_rtapi_result *res,
	char *err, size_t errlen)
{
	int rc, ev;

	for (;;) {
		rc = hsdo_rtapi_client_io(c, res, err, errlen);
		if (rc != -HSDO_EAGAIN)
			return rc;
		ev = hsdo_rtapi_client_events(c);
		{
			struct pollfd pfd = { c->fd, (short)(((ev & HSDO_RTAPI_IO_READ) ? POLLIN : 0) |
						 ((ev & HSDO_RTAPI_IO_WRITE) ? POLLOUT : 0)), 0 };
			long t = hsdo_rtapi_client_timeout(c);

			(void)poll(&pfd, ev ? 1 : 0, t < 0 || t > INT_MAX ? INT_MAX : (int)t);
		}
	}
}

int hsdo_rtapi_client_open(const struct hsdo_rtapi_target *t, int timeout_ms,
	struct hsdo_rtapi_client **out, char *err, size_t errlen)
{
	struct hsdo_rtapi_result none;
	int rc = hsdo_rtapi_client_start(t, timeout_ms, out, err, errlen);

	if (rc != 0)
		return rc;
	rc = run_blocking(*out, &none, err, errlen);
	if (rc != 0) {
		exchange_free(*out);
		(void)close((*out)->fd);
		hsdo_free(*out);
		*out = NULL;
	}
	return rc;
}

void hsdo_rtapi_client_set_limits(struct hsdo_rtapi_client *c, int timeout_ms,
	size_t max_reply)
{
	if (c == NULL)
		return;
	if (timeout_ms > 0)
		c->timeout_ms = timeout_ms > HSDO_RTAPI_CLIENT_TIMEOUT_MAX ?
			HSDO_RTAPI_CLIENT_TIMEOUT_MAX : timeout_ms;
	if (max_reply > 0)
		c->max_reply = max_reply > SIZE_MAX / 4 ? SIZE_MAX / 4 : max_reply;
}

/* Refuse a command that would not get exactly one reply in prompt mode
 * (behaviours measured on 2.6.12, see the header). */
static int check_cmd(const char *cmd, size_t i, size_t *lenp, char *err, size_t errlen)
{
	const char *w;
	size_t len, j, wl;

	if (cmd == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "command %zu is NULL", i);
	len = strnlen(cmd, HSDO_RTAPI_CLIENT_CMD_MAX + 1);
	if (len == 0)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "command %zu is empty (HAProxy "
			"answers an empty line with its help)", i);
	if (len > HSDO_RTAPI_CLIENT_CMD_MAX)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "command %zu is longer than %u "
			"bytes", i, HSDO_RTAPI_CLIENT_CMD_MAX);
	if (strpbrk(cmd, "\r\n") != NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "command %zu contains a line break", i);
	for (j = 0; j < len; j++) {
		if (cmd[j] == '\\' && j + 1 == len)
			return hsdo_seterr(err, errlen, -HSDO_EINVAL, "command %zu ends with an "
				"unescaped '\\' (it would escape the newline)", i);
		if (cmd[j] == '\\')
			j++;
		else if (cmd[j] == ';')
			return hsdo_seterr(err, errlen, -HSDO_EINVAL, "command %zu contains an "
				"unescaped ';' (HAProxy would run two commands; use hsdo_rtapi_escape)", i);
	}
	if (len >= 2 && cmd[len - 2] == '<' && cmd[len - 1] == '<')
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "command %zu ends with '<<' "
			"(a payload is not supported)", i);
	for (w = cmd; *w == ' ' || *w == '\t'; w++)
		;
	wl = strcspn(w, " \t");
	if ((wl == 6 && memcmp(w, "prompt", 6) == 0) || (wl == 4 && memcmp(w, "quit", 4) == 0))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "command %zu ('%.*s') would end "
			"prompt mode", i, (int)wl, w);
	*lenp = len;
	return 0;
}

int hsdo_rtapi_client_send(struct hsdo_rtapi_client *c, const char *const *cmds, size_t n,
	char *err, size_t errlen)
{
	char *out, *o;
	size_t total = 0, i, len = 0;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (c == NULL || n == 0 || cmds == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no client or commands");
	if (c->state == CS_BROKEN)
		return hsdo_seterr(err, errlen, -HSDO_EIO, "%s: connection unusable after an "
			"earlier error", c->name);
	if (c->state != CS_IDLE)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "%s: an exchange is in flight",
			c->name);
	if (n > HSDO_RTAPI_CLIENT_BATCH_MAX)
		return hsdo_seterr(err, errlen, -HSDO_ETOOBIG, "%zu commands in one batch (max %u)",
			n, HSDO_RTAPI_CLIENT_BATCH_MAX);
	for (i = 0; i < n; i++) {
		rc = check_cmd(cmds[i], i, &len, err, errlen);
		if (rc != 0)
			return rc;
		total += len + 1;
	}
	/* everything allocated before the first byte is sent, so a failure
	 * here leaves the connection usable */
	out = hsdo_malloc(total);
	if (out == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory for %zu commands", n);
	for (i = 0, o = out; i < n; i++) {
		len = strlen(cmds[i]);
		memcpy(o, cmds[i], len);
		o[len] = '\n';
		o += len + 1;
	}
	rc = exchange_begin(c, out, total, n, false, c->max_reply,
		hsdo_clock_mono_us() + (int64_t)c->timeout_ms * 1000);
	if (rc != 0) {
		exchange_free(c);
		c->state = CS_IDLE;
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory for %zu commands", n);
	}
	c->st.execs++;
	return 0;
}

int hsdo_rtapi_client_exec(struct hsdo_rtapi_client *c, const char *const *cmds, size_t n,
	struct hsdo_rtapi_result *res, char *err, size_t errlen)
{
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (res != NULL)
		memset(res, 0, sizeof(*res));
	if (c == NULL || res == NULL || (n > 0 && cmds == NULL))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no client, commands or result");
	if (c->state == CS_BROKEN)
		return hsdo_seterr(err, errlen, -HSDO_EIO, "%s: connection unusable after an "
			"earlier error", c->name);
	if (n == 0)
		return 0;
	rc = hsdo_rtapi_client_send(c, cmds, n, err, errlen);
	if (rc != 0)
		return rc;
	return run_blocking(c, res, err, errlen);
}

void hsdo_rtapi_client_stats(const struct hsdo_rtapi_client *c,
	struct hsdo_rtapi_client_stats *out)
{
	if (out == NULL)
		return;
	if (c == NULL)
		memset(out, 0, sizeof(*out));
	else
		*out = c->st;
}

void hsdo_rtapi_client_close(struct hsdo_rtapi_client *c)
{
	if (c == NULL)
		return;
	exchange_free(c);
	if (c->fd != -1) {
		/* best effort: HAProxy ends the session at once instead of at
		 * its CLI timeout; a full socket buffer just skips it */
		(void)send(c->fd, "quit\n", 5, MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)close(c->fd);
	}
	hsdo_free(c);
}

int hsdo_rtapi_client_parse_state(const struct hsdo_rtapi_result *res, size_t i,
	struct hsdo_servers_state *out, char *err, size_t errlen)
{
	const char *r, *nl;
	size_t raw;
	char *copy;
	int rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (res == NULL || i >= res->n || res->reply == NULL || res->len == NULL || out == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no reply %zu", i);
	/* _exec put the NUL on the first newline that followed the reply; the
	 * others are still there, up to the "> " of the prompt */
	r = res->reply[i];
	for (nl = r + res->len[i] + 1; *nl == '\n'; nl++)
		;
	raw = (size_t)(nl - r);
	copy = hsdo_malloc(raw);
	if (copy == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	memcpy(copy, r, res->len[i]);
	memset(copy + res->len[i], '\n', raw - res->len[i]);
	rc = hsdo_rtapi_parse_servers_state(copy, raw, out, err, errlen);
	hsdo_free(copy);
	return rc;
}

void hsdo_rtapi_result_free(struct hsdo_rtapi_result *r)
{
	if (r == NULL)
		return;
	hsdo_free(r->buf);
	hsdo_free(r->reply);
	hsdo_free(r->len);
	memset(r, 0, sizeof(*r));
}
