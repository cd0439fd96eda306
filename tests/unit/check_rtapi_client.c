/* Runtime API client. Pure part: stats socket addresses (tables), the
 * prompt-mode splitter on streams recorded from HAProxy 2.6.12
 * (tests/data/rtapi/prompt_*.txt: exact replies, every prefix, a naive
 * reference on random bytes). I/O part against a REAL HAProxy (Unix, abns,
 * IPv4 and IPv6 stats sockets; the test fails, never skips, without it) and
 * against scripted peers in a child process (silent, closing, garbage). */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "haproxy_peer.h"
#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/rtapi.h"
#include "hsdo/rtapi_client.h"
#include "hsdo_test.h"

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- targets --------------------------------------------------------------------- */

#define U HSDO_RTAPI_FAMILY_UNIX
#define A HSDO_RTAPI_FAMILY_ABNS
#define V4 HSDO_RTAPI_FAMILY_IPV4
#define V6 HSDO_RTAPI_FAMILY_IPV6

static const struct {
	const char *in;
	enum hsdo_rtapi_family family;
	const char *path;
	const char *ip;
	uint16_t port;
	const char *str;
} target_ok[] = {
	{ "/var/run/haproxy/admin.sock", U, "/var/run/haproxy/admin.sock", "", 0,
		"unix@/var/run/haproxy/admin.sock" },
	{ "unix@/run/h.sock", U, "/run/h.sock", "", 0, "unix@/run/h.sock" },
	{ "unix@relative.sock", U, "relative.sock", "", 0, "unix@relative.sock" },
	{ "unix@x:80", U, "x:80", "", 0, "unix@x:80" },
	{ "unix@127.0.0.1:80", U, "127.0.0.1:80", "", 0, "unix@127.0.0.1:80" },
	{ "admin.sock", U, "admin.sock", "", 0, "unix@admin.sock" },
	{ "run/haproxy/admin.sock", U, "run/haproxy/admin.sock", "", 0,
		"unix@run/haproxy/admin.sock" },
	{ "./run/admin.sock", U, "./run/admin.sock", "", 0, "unix@./run/admin.sock" },
	{ "../x:1", U, "../x:1", "", 0, "unix@../x:1" },
	{ "/a@b.sock", U, "/a@b.sock", "", 0, "unix@/a@b.sock" },
	{ "/tmp/x y", U, "/tmp/x y", "", 0, "unix@/tmp/x y" },
	{ "abns@haproxy-admin", A, "haproxy-admin", "", 0, "abns@haproxy-admin" },
	{ "ipv4@127.0.0.1:9999", V4, "", "127.0.0.1", 9999, "ipv4@127.0.0.1:9999" },
	{ "127.0.0.1:9999", V4, "", "127.0.0.1", 9999, "ipv4@127.0.0.1:9999" },
	{ "ipv4@10.0.0.1:1", V4, "", "10.0.0.1", 1, "ipv4@10.0.0.1:1" },
	{ "ipv4@10.0.0.1:65535", V4, "", "10.0.0.1", 65535, "ipv4@10.0.0.1:65535" },
	{ "ipv4@0.0.0.0:00080", V4, "", "0.0.0.0", 80, "ipv4@0.0.0.0:80" },
	{ "ipv6@[::1]:9999", V6, "", "::1", 9999, "ipv6@[::1]:9999" },
	{ "ipv6@::1:9999", V6, "", "::1", 9999, "ipv6@[::1]:9999" },
	{ "[::1]:9999", V6, "", "::1", 9999, "ipv6@[::1]:9999" },
	{ "::1:9999", V6, "", "::1", 9999, "ipv6@[::1]:9999" },
	{ "[2001:DB8:0:0::1]:80", V6, "", "2001:db8::1", 80, "ipv6@[2001:db8::1]:80" },
	{ "ipv6@::ffff:127.0.0.1:80", V6, "", "::ffff:127.0.0.1", 80,
		"ipv6@[::ffff:127.0.0.1]:80" },
};

START_TEST(target_valid)
{
	struct hsdo_rtapi_target t, back;
	char err[256], str[256];
	int rc;

	memset(&t, 0xa5, sizeof(t));
	rc = hsdo_rtapi_client_parse_target(target_ok[_i].in, &t, err, sizeof(err));
	ck_assert_msg(rc == 0, "%s: %s", target_ok[_i].in, err);
	ck_assert_int_eq(t.family, target_ok[_i].family);
	ck_assert_str_eq(t.path, target_ok[_i].path);
	ck_assert_str_eq(t.ip, target_ok[_i].ip);
	ck_assert_uint_eq(t.port, target_ok[_i].port);
	rc = hsdo_rtapi_client_target_str(&t, str, sizeof(str));
	ck_assert_int_eq(rc, (int)strlen(target_ok[_i].str));
	ck_assert_str_eq(str, target_ok[_i].str);
	/* the canonical form reads back as the same target */
	ck_assert_int_eq(hsdo_rtapi_client_parse_target(str, &back, err, sizeof(err)), 0);
	ck_assert_mem_eq(&t, &back, sizeof(t));
}
END_TEST

static const struct {
	const char *in;
	const char *msg;
} target_bad[] = {
	{ "", "empty address" },
	{ "unix@", "empty socket path" },
	{ "abns@", "empty abstract socket name" },
	{ "ipv4@127.0.0.1", "missing port" },
	{ "ipv4@127.0.0.1:", "missing port" },
	{ "127.0.0.1", "missing port" },
	{ "127.0.0.1:", "missing port" },
	{ "::1", "missing port" },
	{ "ipv6@2001:db8::1", "missing port" },
	{ "ipv6@[::1]", "missing port" },
	{ "ipv4@127.0.0.1:0", "port out of range (1-65535)" },
	{ "ipv4@127.0.0.1:65536", "port out of range (1-65535)" },
	{ "127.0.0.1:99999999999999999999999", "port out of range (1-65535)" },
	{ "ipv4@127.0.0.1:http", "invalid port 'http'" },
	{ "ipv4@127.0.0.1:-1", "invalid port '-1'" },
	{ "127.0.0.1:+80", "invalid port '+80'" },
	{ "[::1]:8 0", "invalid port" },
	{ "ipv4@localhost:9999", "'localhost' is not an IPv4 address" },
	{ "localhost:9999", "host names are not resolved" },
	{ "999.1.1.1:80", "'999.1.1.1' is not an IP address" },
	{ "ipv4@::1:80", "is not an IPv4 address" },
	{ "ipv4@[::1]:80", "brackets are for IPv6" },
	{ "ipv6@127.0.0.1:80", "'127.0.0.1' is not an IPv6 address" },
	{ "[127.0.0.1]:80", "is not an IPv6 address" },
	{ "[::1", "missing ']'" },
	{ "[::1]80", "expected ':<port>' after ']'" },
	{ "fd@3", "unsupported address prefix 'fd@'" },
	{ "sockpair@4", "unsupported address prefix 'sockpair@'" },
	{ "udp@127.0.0.1:5", "unsupported address prefix 'udp@'" },
	{ "tcp@127.0.0.1:5", "unsupported address prefix 'tcp@'" },
	{ "/run/a\nb.sock", "control character in address at offset 6" },
	{ "ipv4@1.2.3.4:80\r", "control character" },
};

START_TEST(target_invalid)
{
	struct hsdo_rtapi_target t;
	char err[256];
	int rc;

	memset(&t, 0xa5, sizeof(t));
	err[0] = 'x';
	rc = hsdo_rtapi_client_parse_target(target_bad[_i].in, &t, err, sizeof(err));
	ck_assert_msg(rc == -HSDO_EINVAL, "'%s' gave %d (%s)", target_bad[_i].in, rc, err);
	ck_assert_msg(strstr(err, target_bad[_i].msg) != NULL, "'%s': got \"%s\", want \"%s\"",
		target_bad[_i].in, err, target_bad[_i].msg);
	/* *out is zeroed, never half-filled */
	ck_assert_int_eq(t.family, 0);
	ck_assert_str_eq(t.path, "");
	ck_assert_uint_eq(t.port, 0);
}
END_TEST

START_TEST(target_lengths)
{
	struct hsdo_rtapi_target t;
	char in[300], err[256], str[16];

	/* 107 bytes + NUL fill sun_path exactly */
	memset(in, 'p', sizeof(in));
	in[0] = '/';
	in[107] = '\0';
	ck_assert_int_eq(hsdo_rtapi_client_parse_target(in, &t, err, sizeof(err)), 0);
	ck_assert_uint_eq(strlen(t.path), 107);
	in[107] = 'p';
	in[108] = '\0';
	ck_assert_int_eq(hsdo_rtapi_client_parse_target(in, &t, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_str_eq(err, "path too long for a Unix socket (108 bytes): 109 bytes");
	/* abns: the leading NUL of sun_path leaves 107 bytes for the name */
	memset(in, 'p', sizeof(in));
	memcpy(in, "abns@", 5);
	in[5 + 107] = '\0';
	ck_assert_int_eq(hsdo_rtapi_client_parse_target(in, &t, err, sizeof(err)), 0);
	ck_assert_uint_eq(strlen(t.path), 107);
	in[5 + 107] = 'p';
	in[5 + 108] = '\0';
	ck_assert_int_eq(hsdo_rtapi_client_parse_target(in, &t, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_str_eq(err, "name too long for an abstract socket (107 bytes): 108 bytes");
	in[299] = '\0';
	ck_assert_int_eq(hsdo_rtapi_client_parse_target(in + 5, &t, err, sizeof(err)),
		-HSDO_EINVAL);
	/* NULLs, a short buffer, and err may be NULL */
	ck_assert_int_eq(hsdo_rtapi_client_parse_target(NULL, &t, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_rtapi_client_parse_target("/x", NULL, err, sizeof(err)),
		-HSDO_EINVAL);
	ck_assert_int_eq(hsdo_rtapi_client_parse_target("ipv4@1.2.3.4", &t, NULL, 0),
		-HSDO_EINVAL);
	ck_assert_int_eq(hsdo_rtapi_client_parse_target("ipv6@[::1]:80", &t, err, sizeof(err)), 0);
	ck_assert_int_eq(hsdo_rtapi_client_target_str(&t, str, 13), -HSDO_ETOOBIG);
	ck_assert_str_eq(str, "");
	ck_assert_int_eq(hsdo_rtapi_client_target_str(&t, str, 14), 13);
	ck_assert_str_eq(str, "ipv6@[::1]:80");
	t.family = HSDO_RTAPI_FAMILY_COUNT;
	ck_assert_int_eq(hsdo_rtapi_client_target_str(&t, str, sizeof(str)), -HSDO_EINVAL);
	ck_assert_str_eq(hsdo_rtapi_family_str(HSDO_RTAPI_FAMILY_ABNS), "abns");
	ck_assert_str_eq(hsdo_rtapi_family_str(HSDO_RTAPI_FAMILY_COUNT), "unknown");
}
END_TEST

/* ---- splitting recorded streams ------------------------------------------------ */

static const char *const exp_state[] = {
	"", NULL /* checked with the servers-state parser */, "# name\nbe_app",
	"Can't find backend.",
};
static const char *const exp_set_server[] = {
	"", "", "No such server.", "", "No such backend.",
	"IP changed from '127.0.0.2' to '127.0.0.1', port changed from '80' to '8080' by "
		"'stats socket command'",
	"Empty weight string empty or preceded by garbage",
	"Absolute weight can only be between 0 and 256 inclusive.",
	"5 (initial 1)",
	"No such server.",
	"",
};
/* 3 lines, 4 replies: `a;b` runs two commands, `\;` is a plain byte */
static const char *const exp_escape[] = {
	"", "5 (initial 1)", "# name\nbe_app", "# name\nbe_app", "No such server.",
};
static const char *const exp_unknown[] = {
	"", NULL /* "Unknown command, ..." checked by prefix */,
	"The following commands are valid at this level:\n"
	"  show backend                            : list backends in the current running config\n"
	"  help [<command>]                        : list matching or all commands\n"
	"  prompt                                  : toggle interactive mode with prompt\n"
	"  quit                                    : disconnect",
};

static const struct {
	const char *file;
	const char *const *exp;
	size_t n;
} streams[] = {
	{ "rtapi/prompt_state.txt", exp_state, sizeof(exp_state) / sizeof(exp_state[0]) },
	{ "rtapi/prompt_set_server.txt", exp_set_server,
		sizeof(exp_set_server) / sizeof(exp_set_server[0]) },
	{ "rtapi/prompt_escape.txt", exp_escape, sizeof(exp_escape) / sizeof(exp_escape[0]) },
	{ "rtapi/prompt_unknown.txt", exp_unknown, sizeof(exp_unknown) / sizeof(exp_unknown[0]) },
};

START_TEST(split_recorded)
{
	struct hsdo_rtapi_reply r[16];
	struct hsdo_servers_state st;
	size_t len, nfound = 99, i;
	char *buf = hsdo_test_load_data(streams[_i].file, &len);
	char err[256];

	ck_assert_int_eq(hsdo_rtapi_client_split(buf, len, streams[_i].n, r, &nfound), 0);
	ck_assert_uint_eq(nfound, streams[_i].n);
	for (i = 0; i < streams[_i].n; i++) {
		ck_assert(r[i].ptr >= buf && r[i].ptr + r[i].len <= buf + len);
		ck_assert(r[i].len == 0 || r[i].ptr[r[i].len - 1] != '\n');
		if (streams[_i].exp[i] == NULL)
			continue;
		ck_assert_msg(r[i].len == strlen(streams[_i].exp[i]) &&
			memcmp(r[i].ptr, streams[_i].exp[i], r[i].len) == 0,
			"%s reply %zu: got \"%.*s\"", streams[_i].file, i, (int)r[i].len, r[i].ptr);
	}
	if (streams[_i].exp == exp_state) {
		/* trimmed, the reply is cut short for the parser; as HAProxy wrote
		 * it (up to the "> ") it parses */
		ck_assert_int_eq(hsdo_rtapi_parse_servers_state(r[1].ptr, r[1].len, &st, err,
			sizeof(err)), -HSDO_EAGAIN);
		ck_assert_int_eq(hsdo_rtapi_parse_servers_state(r[1].ptr, r[1].len + 2, &st, err,
			sizeof(err)), 0);
		ck_assert_uint_eq(st.n, 4);
		ck_assert_str_eq(st.srv[3].srv_name, "web4");
		ck_assert_str_eq(st.srv[3].addr, "127.0.0.2");
		hsdo_rtapi_servers_state_free(&st);
	}
	if (streams[_i].exp == exp_unknown)
		ck_assert(r[1].len > 100 && memcmp(r[1].ptr, "Unknown command, but maybe one of "
			"the following ones is a better match:\n", 72) == 0);
	if (streams[_i].exp == exp_set_server)
		for (i = 1; i < streams[_i].n; i++)
			ck_assert_int_eq(hsdo_rtapi_set_server_reply(r[i].ptr, r[i].len, err,
				sizeof(err)) == 0, r[i].len == 0 || r[i].ptr[0] == 'I');
	/* one more expected: incomplete; one fewer: bytes after the last */
	ck_assert_int_eq(hsdo_rtapi_client_split(buf, len, streams[_i].n + 1, r, &nfound),
		-HSDO_EAGAIN);
	ck_assert_uint_eq(nfound, streams[_i].n);
	ck_assert_int_eq(hsdo_rtapi_client_split(buf, len, streams[_i].n - 1, r, &nfound),
		-HSDO_EPROTO);
	ck_assert_uint_eq(nfound, streams[_i].n - 1);
	free(buf);
}
END_TEST

/* Complete "\n> " separators in buf[0..len): the oracle for nfound. */
static size_t count_seps(const char *buf, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i + 3 <= len; i++)
		if (buf[i] == '\n' && buf[i + 1] == '>' && buf[i + 2] == ' ')
			n++;
	return n;
}

START_TEST(split_every_prefix)
{
	struct hsdo_rtapi_reply full[16], r[16];
	size_t len, k, i, nfound;
	char *buf = hsdo_test_load_data(streams[_i].file, &len);
	size_t n = streams[_i].n;

	ck_assert_int_eq(hsdo_rtapi_client_split(buf, len, n, full, &nfound), 0);
	for (k = 0; k < len; k++) {
		/* an exactly-sized copy, so ASan sees any read past the end */
		char *p = malloc(k ? k : 1);
		int rc;

		if (p == NULL)
			ck_abort_msg("out of memory");
		memcpy(p, buf, k);
		rc = hsdo_rtapi_client_split(p, k, n, r, &nfound);
		if (rc != -HSDO_EAGAIN || nfound != count_seps(buf, k))
			ck_abort_msg("prefix %zu: %d, nfound %zu", k, rc, nfound);
		for (i = 0; i < nfound; i++)
			if ((size_t)(r[i].ptr - p) != (size_t)(full[i].ptr - buf) ||
			    r[i].len != full[i].len)
				ck_abort_msg("prefix %zu: reply %zu differs", k, i);
		free(p);
	}
	free(buf);
}
END_TEST

START_TEST(split_edges)
{
	static const struct {
		const char *in;
		size_t len;
		size_t nexp;
		int rc;
		size_t nfound;
		const char *first;
	} c[] = {
		{ "", 0, 0, 0, 0, NULL },
		{ "", 0, 1, -HSDO_EAGAIN, 0, NULL },
		{ "x", 1, 0, -HSDO_EPROTO, 0, NULL },
		{ "\n", 1, 1, -HSDO_EAGAIN, 0, NULL },
		{ "\n>", 2, 1, -HSDO_EAGAIN, 0, NULL },
		{ "\n> ", 3, 1, 0, 1, "" },
		{ "\n\n\n> ", 5, 1, 0, 1, "" },
		{ "a\n\n> ", 5, 1, 0, 1, "a" },
		{ "a> \n> ", 6, 1, 0, 1, "a> " },
		{ "\n>x\n> ", 6, 1, 0, 1, "\n>x" },
		{ "\n\n>", 3, 1, -HSDO_EAGAIN, 0, NULL },
		{ "\nx", 2, 1, -HSDO_EAGAIN, 0, NULL },
		{ "\n>\n> ", 5, 1, 0, 1, "\n>" },
		{ "x\0\n> ", 5, 1, -HSDO_EPROTO, 0, NULL },
		{ "\n> \0", 4, 2, -HSDO_EPROTO, 1, "" },
		{ "\n> \n> ", 6, 1, -HSDO_EPROTO, 1, "" },
		{ "\n> a\n> b", 8, 2, -HSDO_EPROTO, 2, "" },
		{ "\n> a\n> b", 8, 3, -HSDO_EAGAIN, 2, "" },
	};
	struct hsdo_rtapi_reply r[4];
	size_t i, nfound;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char *p = malloc(c[i].len ? c[i].len : 1);
		int rc;

		memcpy(p, c[i].in, c[i].len);
		rc = hsdo_rtapi_client_split(p, c[i].len, c[i].nexp, r, &nfound);
		ck_assert_msg(rc == c[i].rc, "case %zu: %d", i, rc);
		ck_assert_msg(nfound == c[i].nfound, "case %zu: nfound %zu", i, nfound);
		if (c[i].first != NULL)
			ck_assert_msg(r[0].len == strlen(c[i].first) &&
				memcmp(r[0].ptr, c[i].first, r[0].len) == 0, "case %zu", i);
		free(p);
	}
	ck_assert_int_eq(hsdo_rtapi_client_split(NULL, 0, 0, NULL, NULL), 0);
	ck_assert_int_eq(hsdo_rtapi_client_split(NULL, 1, 0, NULL, &nfound), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_rtapi_client_split("\n> ", 3, 1, NULL, &nfound), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_rtapi_client_split("\n> ", 3, 1, r, NULL), 0);
}
END_TEST

/* ---- `;`-joined lines: both CLI behaviours -------------------------------------- */

/* Recorded after `prompt` (its own "\n> " left out), for the lines
 *   set server be_scratch/s1 weight 3;set server be_scratch/s1 weight 4;show version
 *   set server be_scratch/s9 weight 1;set server be_scratch/s1 weight 5
 *   set server be_scratch/s1 state drain
 *   show version
 * 2.6.12 and 3.0.11 put the prompt after every command, 3.2.26 after the line. */
static const char joined_26[] =
	"\n> \n> 2.6.12-1+deb12u4\n\n> No such server.\n\n> \n> \n> 2.6.12-1+deb12u4\n\n> ";
static const char joined_32[] =
	"\n\n3.2.26-1\n\n> No such server.\n\n\n> \n> 3.2.26-1\n\n> ";
static const size_t joined_ncmds[] = { 3, 2, 1, 1 };

static const struct {
	const char *stream;
	enum hsdo_rtapi_join join;
	const char *version;
} joined[] = {
	{ joined_26, HSDO_RTAPI_JOIN_PROMPT, "2.6.12-1+deb12u4" },
	{ joined_32, HSDO_RTAPI_JOIN_NEWLINE, "3.2.26-1" },
};

static bool contains(const struct hsdo_rtapi_reply *r, const char *s, size_t n)
{
	size_t i;

	for (i = 0; n <= r->len && i <= r->len - n; i++)
		if (memcmp(r->ptr + i, s, n) == 0)
			return true;
	return false;
}

static bool ends_with(const struct hsdo_rtapi_reply *r, const char *s)
{
	size_t n = strlen(s);

	return r->len >= n && memcmp(r->ptr + r->len - n, s, n) == 0;
}

/* Each behaviour, read with its join, gives one reply per line with the
 * same content; every prefix is -HSDO_EAGAIN, never a wrong split. */
START_TEST(split_joined_lines)
{
	const char *st = joined[_i].stream;
	size_t len = strlen(st), nfound, k;
	struct hsdo_rtapi_reply r[4];

	ck_assert_int_eq(hsdo_rtapi_client_split_lines(st, len, joined_ncmds, 4, joined[_i].join,
		r, &nfound), 0);
	ck_assert_uint_eq(nfound, 4);
	ck_assert(ends_with(&r[0], joined[_i].version));
	ck_assert(strncmp(r[1].ptr, "No such server.\n", 16) == 0);
	ck_assert_uint_eq(r[2].len, 0);
	ck_assert_uint_eq(r[3].len, strlen(joined[_i].version));
	ck_assert(memcmp(r[3].ptr, joined[_i].version, r[3].len) == 0);
	for (k = 0; k < len; k++)
		ck_assert_int_eq(hsdo_rtapi_client_split_lines(st, k, joined_ncmds, 4,
			joined[_i].join, r, &nfound), -HSDO_EAGAIN);
}
END_TEST

/* Read with the other behaviour's join, a stream does not split into the
 * right replies: why the join has to be known (_join_detect). */
START_TEST(split_joined_wrong_join)
{
	struct hsdo_rtapi_reply r[4];
	size_t nfound;

	/* 3.2's stream as 2.6's: waits for prompts that never come */
	ck_assert_int_eq(hsdo_rtapi_client_split_lines(joined_32, strlen(joined_32), joined_ncmds,
		4, HSDO_RTAPI_JOIN_PROMPT, r, &nfound), -HSDO_EAGAIN);
	/* 2.6's as 3.2's: bytes left over */
	ck_assert_int_eq(hsdo_rtapi_client_split_lines(joined_26, strlen(joined_26), joined_ncmds,
		4, HSDO_RTAPI_JOIN_NEWLINE, r, &nfound), -HSDO_EPROTO);
	/* a count of 0, a join out of range */
	ck_assert_int_eq(hsdo_rtapi_client_split_lines("\n> ", 3, (const size_t[]){ 0 }, 1,
		HSDO_RTAPI_JOIN_PROMPT, r, &nfound), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_rtapi_client_split_lines("\n> ", 3, NULL, 1, HSDO_RTAPI_JOIN_COUNT,
		r, &nfound), -HSDO_EINVAL);
	ck_assert_str_eq(hsdo_rtapi_join_str(HSDO_RTAPI_JOIN_PROMPT), "prompt");
	ck_assert_str_eq(hsdo_rtapi_join_str(HSDO_RTAPI_JOIN_NEWLINE), "newline");
	ck_assert_str_eq(hsdo_rtapi_join_str(HSDO_RTAPI_JOIN_COUNT), "?");
}
END_TEST

/* The answer to HSDO_RTAPI_JOIN_PROBE on each behaviour, complete, cut
 * short, and malformed. */
START_TEST(join_detect)
{
	static const struct {
		const char *answer;
		int rc;
		enum hsdo_rtapi_join join;
	} cases[] = {
		{ "2.6.12-1+deb12u4\n\n> 2.6.12-1+deb12u4\n\n> ", 0, HSDO_RTAPI_JOIN_PROMPT },
		{ "3.0.11-1+deb13u4\n\n> 3.0.11-1+deb13u4\n\n> ", 0, HSDO_RTAPI_JOIN_PROMPT },
		{ "3.2.26-1\n\n3.2.26-1\n\n> ", 0, HSDO_RTAPI_JOIN_NEWLINE },
		{ "2.6.12-1+deb12u4\n\n> 2.6.12", -HSDO_EAGAIN, 0 },
		{ "3.2.26-1\n\n3.2", -HSDO_EAGAIN, 0 },
		{ "", -HSDO_EAGAIN, 0 },
		{ "2.6.12\n\n> 3.2.26\n\n> ", -HSDO_EPROTO, 0 },
		{ "3.2.26-1\n\n3.2.26-2\n\n> ", -HSDO_EPROTO, 0 },
		{ "Unknown command\n\n> ", -HSDO_EPROTO, 0 },
		{ "\n> ", -HSDO_EPROTO, 0 },
	};
	enum hsdo_rtapi_join join;
	size_t i, used;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = hsdo_rtapi_client_join_detect(cases[i].answer, strlen(cases[i].answer),
			&join, &used);

		ck_assert_msg(rc == cases[i].rc, "case %zu: rc %d", i, rc);
		if (rc == 0) {
			ck_assert_int_eq(join, cases[i].join);
			ck_assert_uint_eq(used, strlen(cases[i].answer));
		}
	}
	ck_assert_int_eq(hsdo_rtapi_client_join_detect(NULL, 1, &join, &used), -HSDO_EINVAL);
}
END_TEST

/* A deliberately naive splitter with the documented semantics. */
static int ref_split(const char *buf, size_t len, size_t nexp, struct hsdo_rtapi_reply *out,
	size_t *nfound)
{
	size_t pos = 0, k, s, j;

	for (k = 0; k < nexp; k++) {
		for (s = pos; s + 3 <= len; s++)
			if (memcmp(buf + s, "\n> ", 3) == 0)
				break;
		*nfound = k;
		if (s + 3 > len) {
			for (j = pos; j < len; j++)
				if (buf[j] == '\0')
					return -HSDO_EPROTO;
			return -HSDO_EAGAIN;
		}
		for (j = pos; j < s; j++)
			if (buf[j] == '\0')
				return -HSDO_EPROTO;
		out[k].ptr = buf + pos;
		out[k].len = s - pos;
		while (out[k].len > 0 && out[k].ptr[out[k].len - 1] == '\n')
			out[k].len--;
		pos = s + 3;
	}
	*nfound = nexp;
	return pos < len ? -HSDO_EPROTO : 0;
}

START_TEST(split_random)
{
	static const char alphabet[] = { '\n', '>', ' ', 'a', '\0', '\n', '>', ' ' };
	struct hsdo_rtapi_reply r[8], q[8];
	unsigned long x = 0x2545F491ul;
	int iter;

	for (iter = 0; iter < 50000; iter++) {
		size_t len, nexp, i, nf1 = 77, nf2 = 88;
		char *p;
		int rc1, rc2;

		x = x * 6364136223846793005ul + 1442695040888963407ul;
		len = (x >> 33) % 40;
		nexp = (x >> 20) % 8;
		p = malloc(len ? len : 1);
		ck_assert_ptr_nonnull(p);
		for (i = 0; i < len; i++) {
			x = x * 6364136223846793005ul + 1442695040888963407ul;
			p[i] = alphabet[(x >> 40) % (iter % 3 == 0 ? 8 : 4)];
		}
		/* plain ifs: every ck_assert costs a write to check's pipe */
		rc1 = hsdo_rtapi_client_split(p, len, nexp, r, &nf1);
		rc2 = ref_split(p, len, nexp, q, &nf2);
		if (rc1 != rc2 || nf1 != nf2)
			ck_abort_msg("iteration %d: rc %d/%d nfound %zu/%zu", iter, rc1, rc2, nf1, nf2);
		for (i = 0; i < nf1; i++)
			if (r[i].ptr != q[i].ptr || r[i].len != q[i].len)
				ck_abort_msg("iteration %d: reply %zu differs", iter, i);
		free(p);
	}
}
END_TEST

/* ---- a real HAProxy ------------------------------------------------------------- */

static struct hsdo_test_haproxy hap;
static char hap_err[2048];
static int hap_ok;
static char tcp4_target[64], tcp6_target[64], abns_target[64], unix_target[600];

static const char cfg_fmt[] =
	"global\n"
	"\tstats socket %s mode 600 level admin\n"
	"\tstats socket ipv4@127.0.0.1:%u level admin\n"
	"\tstats socket ipv6@[::1]:%u level admin\n"
	"\tstats socket abns@%s level admin\n"
	"defaults\n"
	"\tmode http\n"
	"\ttimeout connect 1s\n"
	"\ttimeout client 5s\n"
	"\ttimeout server 5s\n"
	"frontend fe\n"
	"\tbind 127.0.0.1:%u\n"
	"\tdefault_backend be_app\n"
	"backend be_app\n"
	"\tbalance roundrobin\n"
	"\tserver-template web 1-4 127.0.0.2:80 check disabled\n"
	"backend be_set\n"
	"\tserver-template s 1-3 127.0.0.2:80 disabled\n"
	"backend be_big\n"
	"\tserver-template b 1-2 127.0.0.2:80 disabled\n"
	"backend be_torture\n"
	"\tserver-template t 1-2 127.0.0.2:80 disabled\n";

static uint16_t free_port6(void)
{
	struct sockaddr_in6 sa;
	socklen_t sl = sizeof(sa);
	uint16_t port = 0;
	int fd = socket(AF_INET6, SOCK_STREAM, 0);

	if (fd == -1)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sin6_family = AF_INET6;
	sa.sin6_addr = in6addr_loopback;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin6_port);
	close(fd);
	return port;
}

/* Unchecked fixture (runner process), so HAProxy stops even when a forked
 * test fails; errors are reported by the tests. */
static void hap_setup(void)
{
	char cfg[4096], abns[48];
	uint16_t p4, p6;

	hap_ok = 0;
	if (hsdo_test_haproxy_init(&hap, hap_err, sizeof(hap_err)) != 0)
		return;
	p4 = hsdo_test_free_port();
	p6 = free_port6();
	snprintf(abns, sizeof(abns), "hsdo-rtc-%ld", (long)getpid());
	snprintf(cfg, sizeof(cfg), cfg_fmt, hap.sock, p4, p6, abns, hsdo_test_free_port());
	snprintf(unix_target, sizeof(unix_target), "%s", hap.sock);
	snprintf(tcp4_target, sizeof(tcp4_target), "ipv4@127.0.0.1:%u", p4);
	snprintf(tcp6_target, sizeof(tcp6_target), "ipv6@[::1]:%u", p6);
	snprintf(abns_target, sizeof(abns_target), "abns@%s", abns);
	if (p4 == 0 || p6 == 0) {
		snprintf(hap_err, sizeof(hap_err), "no free port on 127.0.0.1 or [::1]");
		return;
	}
	if (hsdo_test_haproxy_start(&hap, cfg, hap_err, sizeof(hap_err)) != 0)
		return;
	hap_ok = 1;
}

static void hap_teardown(void)
{
	hsdo_test_haproxy_stop(&hap);
}

static struct hsdo_rtapi_client *open_target(const char *where, int timeout_ms)
{
	struct hsdo_rtapi_client *c = NULL;
	struct hsdo_rtapi_target t;
	char err[512];
	int rc;

	ck_assert_msg(hap_ok, "no HAProxy to test against: %s", hap_err);
	ck_assert_msg(hsdo_rtapi_client_parse_target(where, &t, err, sizeof(err)) == 0,
		"%s: %s", where, err);
	rc = hsdo_rtapi_client_open(&t, timeout_ms, &c, err, sizeof(err));
	ck_assert_msg(rc == 0, "open %s: %s", where, err);
	ck_assert_ptr_nonnull(c);
	return c;
}

static void exec_ok(struct hsdo_rtapi_client *c, const char *const *cmds, size_t n,
	struct hsdo_rtapi_result *res)
{
	char err[512];
	int rc = hsdo_rtapi_client_exec(c, cmds, n, res, err, sizeof(err));

	ck_assert_msg(rc == 0, "exec of %zu commands: %d %s", n, rc, err);
	ck_assert_uint_eq(res->n, n);
}

static void parse_state(const struct hsdo_rtapi_result *res, size_t i,
	struct hsdo_servers_state *st)
{
	char err[256];
	int rc = hsdo_rtapi_client_parse_state(res, i, st, err, sizeof(err));

	ck_assert_msg(rc == 0, "reply %zu: %s\n%s", i, err, res->reply[i]);
}

START_TEST(live_open_exec)
{
	static const char *const cmds[] = { "show servers state be_app", "show backend" };
	const char *where[] = { unix_target, tcp4_target, tcp6_target, abns_target };
	struct hsdo_rtapi_client *c = open_target(where[_i], 2000);
	struct hsdo_rtapi_client_stats st;
	struct hsdo_rtapi_result res;
	struct hsdo_servers_state s;
	uint64_t in_after_open;
	size_t i;

	hsdo_rtapi_client_stats(c, &st);
	ck_assert_uint_eq(st.connections, 1);
	ck_assert_uint_eq(st.commands, 0);
	ck_assert_uint_eq(st.bytes_out, 7);   /* "prompt\n" */
	ck_assert_uint_eq(st.bytes_in, 3);    /* "\n> " */
	in_after_open = st.bytes_in;
	exec_ok(c, cmds, 2, &res);
	parse_state(&res, 0, &s);
	ck_assert_uint_eq(s.n, 4);
	for (i = 0; i < 4; i++) {
		ck_assert_str_eq(s.srv[i].be_name, "be_app");
		ck_assert_uint_eq(s.srv[i].srv_id, i + 1);
		ck_assert_uint_eq(s.srv[i].port, 80);
	}
	hsdo_rtapi_servers_state_free(&s);
	ck_assert_msg(strncmp(res.reply[1], "# name\n", 7) == 0 &&
		strstr(res.reply[1], "\nbe_app\nbe_set\nbe_big\n") != NULL, "%s", res.reply[1]);
	for (i = 0; i < 2; i++) {
		ck_assert_uint_eq(res.len[i], strlen(res.reply[i]));
		ck_assert(res.reply[i][res.len[i] - 1] != '\n');
	}
	hsdo_rtapi_client_stats(c, &st);
	ck_assert_uint_eq(st.execs, 1);
	ck_assert_uint_eq(st.commands, 2);
	ck_assert_uint_eq(st.replies, 2);
	ck_assert_uint_eq(st.bytes_out, 7 + strlen(cmds[0]) + 1 + strlen(cmds[1]) + 1);
	/* each reply, its trimmed newline(s) and a prompt */
	ck_assert_uint_ge(st.bytes_in, in_after_open + res.len[0] + res.len[1] + 2 * 4);
	hsdo_rtapi_result_free(&res);
	hsdo_rtapi_result_free(&res);
	hsdo_rtapi_client_close(c);
}
END_TEST

START_TEST(live_set_server_batch)
{
	static const char *const batch[] = {
		"set server be_set/s1 weight 7",
		"set server be_set/s9 weight 7",
		"set server be_set/s3 addr 127.0.0.3 port 8083",
	};
	static const char *const show[] = { "show servers state be_set" };
	static const char *const unknown_be[] = { "show servers state nope" };
	struct hsdo_rtapi_client *c = open_target(unix_target, 2000);
	const struct hsdo_srv_state *w;
	struct hsdo_rtapi_client_stats st;
	struct hsdo_rtapi_result res;
	struct hsdo_servers_state s;
	char err[256];

	exec_ok(c, batch, 3, &res);
	ck_assert_int_eq(hsdo_rtapi_set_server_reply(res.reply[0], res.len[0], err,
		sizeof(err)), 0);
	ck_assert_str_eq(res.reply[0], "");
	ck_assert_str_eq(res.reply[1], "No such server.");
	ck_assert_int_eq(hsdo_rtapi_set_server_reply(res.reply[1], res.len[1], err,
		sizeof(err)), -HSDO_ENOTFOUND);
	ck_assert_int_eq(hsdo_rtapi_set_server_reply(res.reply[2], res.len[2], err,
		sizeof(err)), 0);
	ck_assert_str_eq(res.reply[2], "IP changed from '127.0.0.2' to '127.0.0.3', port "
		"changed from '80' to '8083' by 'stats socket command'");
	hsdo_rtapi_result_free(&res);
	/* the same connection: the first and third took effect, s2 did not move */
	exec_ok(c, show, 1, &res);
	parse_state(&res, 0, &s);
	w = hsdo_rtapi_find_server(&s, "be_set", "s1");
	ck_assert_ptr_nonnull(w);
	ck_assert_uint_eq(w->uweight, 7);
	w = hsdo_rtapi_find_server(&s, "be_set", "s2");
	ck_assert_ptr_nonnull(w);
	ck_assert_uint_eq(w->uweight, 1);
	ck_assert_str_eq(w->addr, "127.0.0.2");
	w = hsdo_rtapi_find_server(&s, "be_set", "s3");
	ck_assert_ptr_nonnull(w);
	ck_assert_str_eq(w->addr, "127.0.0.3");
	ck_assert_uint_eq(w->port, 8083);
	ck_assert_ptr_null(hsdo_rtapi_find_server(&s, "be_set", "s9"));
	hsdo_rtapi_servers_state_free(&s);
	ck_assert_int_eq(hsdo_rtapi_client_parse_state(&res, 1, &s, err, sizeof(err)),
		-HSDO_EINVAL);
	hsdo_alloc_fail_at(1, 0);
	ck_assert_int_eq(hsdo_rtapi_client_parse_state(&res, 0, &s, err, sizeof(err)),
		-HSDO_ENOMEM);
	hsdo_alloc_fail_at(0, 0);
	hsdo_rtapi_result_free(&res);
	/* the parser's own answers come through */
	exec_ok(c, unknown_be, 1, &res);
	ck_assert_str_eq(res.reply[0], "Can't find backend.");
	ck_assert_int_eq(hsdo_rtapi_client_parse_state(&res, 0, &s, err, sizeof(err)),
		-HSDO_ENOTFOUND);
	ck_assert_uint_eq(s.n, 0);
	hsdo_rtapi_result_free(&res);
	hsdo_rtapi_client_stats(c, &st);
	ck_assert_uint_eq(st.execs, 3);
	ck_assert_uint_eq(st.commands, 5);
	ck_assert_uint_eq(st.replies, 5);
	hsdo_rtapi_client_close(c);
}
END_TEST

static char **make_cmds(size_t n, const char *fmt_weight_or_null, const char *fixed)
{
	char **cmds = calloc(n, sizeof(*cmds));
	size_t i;

	ck_assert_ptr_nonnull(cmds);
	for (i = 0; i < n; i++) {
		char line[128];

		if (fmt_weight_or_null != NULL)
			snprintf(line, sizeof(line), "%s %zu", fmt_weight_or_null, i % 256 + 1);
		else
			snprintf(line, sizeof(line), "%s", fixed);
		cmds[i] = strdup(line);
		ck_assert_ptr_nonnull(cmds[i]);
	}
	return cmds;
}

static void free_cmds(char **cmds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(cmds[i]);
	free(cmds);
}

/* Batches far above tune.bufsize in both directions. 1,500 `set server`
 * (50 KB sent) over TCP; then, over the Unix socket, 1,500 `show servers
 * state` padded with 1,000 spaces (1.5 MB sent, 1 MB read): once HAProxy's
 * output fills the socket it stops reading, and the batch only completes
 * if the client reads while it writes. */
START_TEST(live_big_batches)
{
	static const char *const get[] = { "get weight be_big/b1" };
	struct hsdo_rtapi_client *c = open_target(tcp4_target, 20000);
	struct hsdo_rtapi_client_stats st;
	struct hsdo_rtapi_result res;
	struct hsdo_servers_state s;
	size_t nset = 1500, nshow = 1500, i, total = 0;
	char **set = make_cmds(nset, "set server be_big/b1 weight", NULL);
	char **show = make_cmds(nshow, NULL, "show servers state be_app");
	long t0 = now_ms();

	exec_ok(c, (const char *const *)set, nset, &res);
	for (i = 0; i < nset; i++)
		ck_assert_msg(res.len[i] == 0, "reply %zu: %s", i, res.reply[i]);
	hsdo_rtapi_result_free(&res);
	exec_ok(c, get, 1, &res);
	/* the last command was weight (1499 % 256) + 1 */
	ck_assert_str_eq(res.reply[0], "220 (initial 1)");
	hsdo_rtapi_result_free(&res);
	hsdo_rtapi_client_stats(c, &st);
	ck_assert_uint_eq(st.execs, 2);
	ck_assert_uint_eq(st.commands, nset + 1);
	ck_assert_uint_eq(st.replies, nset + 1);
	hsdo_rtapi_client_close(c);

	for (i = 0; i < nshow; i++) {
		char *padded = malloc(1026);

		ck_assert_ptr_nonnull(padded);
		memset(padded, ' ', 1025);
		memcpy(padded, show[i], strlen(show[i]));
		padded[1025] = '\0';
		free(show[i]);
		show[i] = padded;
	}
	c = open_target(unix_target, 20000);
	exec_ok(c, (const char *const *)show, nshow, &res);
	for (i = 0; i < nshow; i++) {
		parse_state(&res, i, &s);
		ck_assert_uint_eq(s.n, 4);
		hsdo_rtapi_servers_state_free(&s);
		total += res.len[i];
	}
	ck_assert_uint_gt(total, 900000);
	hsdo_rtapi_result_free(&res);
	hsdo_rtapi_client_stats(c, &st);
	ck_assert_uint_eq(st.commands, nshow);
	ck_assert_uint_eq(st.bytes_out, 7 + nshow * 1026);
	ck_assert_uint_gt(st.bytes_in, total);
	ck_assert_msg(now_ms() - t0 < 15000, "took %ld ms", now_ms() - t0);
	hsdo_rtapi_client_close(c);
	free_cmds(set, nset);
	free_cmds(show, nshow);
}
END_TEST

START_TEST(live_escaped_semicolon)
{
	struct hsdo_rtapi_client *c = open_target(unix_target, 2000);
	const char *cmds[2];
	struct hsdo_rtapi_result res;
	char name[64], line[128], err[256];

	/* one escaped argument, one reply */
	ck_assert_int_gt(hsdo_rtapi_escape(name, sizeof(name), "s1;show backend"), 0);
	ck_assert_str_eq(name, "s1\\;show\\ backend");
	snprintf(line, sizeof(line), "set server be_set/%s weight 3", name);
	cmds[0] = line;
	cmds[1] = "show backend \\;";
	exec_ok(c, cmds, 2, &res);
	ck_assert_str_eq(res.reply[0], "No such server.");
	ck_assert(strncmp(res.reply[1], "# name\nbe_app\n", 14) == 0);
	hsdo_rtapi_result_free(&res);
	/* unescaped: refused before anything is sent */
	cmds[0] = "get weight be_app/web1;show backend";
	ck_assert_int_eq(hsdo_rtapi_client_exec(c, cmds, 1, &res, err, sizeof(err)),
		-HSDO_EINVAL);
	ck_assert_str_eq(err, "command 0 contains an unescaped ';' (HAProxy would run two "
		"commands; use hsdo_rtapi_escape)");
	hsdo_rtapi_client_close(c);
}
END_TEST

/* The real CLI of this run's version: the probe tells its join (3.2:
 * newline, 2.6 and 3.0: prompt), and a `;`-joined line then splits into
 * one reply per line. */
START_TEST(live_joined_lines)
{
	static const size_t ncmds[] = { 3, 1 };
	struct hsdo_rtapi_reply r[2];
	enum hsdo_rtapi_join join, want;
	size_t len = 0, used = 0, nfound = 0, vl;
	char *reply;
	const char *rest;

	ck_assert_msg(hap_ok, "no HAProxy to test against: %s", hap_err);
	want = strncmp(hap.version, "3.2.", 4) == 0 ? HSDO_RTAPI_JOIN_NEWLINE : HSDO_RTAPI_JOIN_PROMPT;
	reply = hsdo_test_rtapi_cmd(hap.sock, "prompt\n" HSDO_RTAPI_JOIN_PROBE "\n"
		"set server be_set/s1 weight 3;set server be_set/s9 weight 1;show version\n"
		"set server be_set/s1 weight 4\nquit", &len);
	ck_assert_ptr_nonnull(reply);
	ck_assert_msg(len > 3 && memcmp(reply, "\n> ", 3) == 0, "no prompt: %s", reply);
	ck_assert_int_eq(hsdo_rtapi_client_join_detect(reply + 3, len - 3, &join, &used), 0);
	ck_assert_msg(join == want, "HAProxy %s: join %s, want %s", hap.version,
		hsdo_rtapi_join_str(join), hsdo_rtapi_join_str(want));
	rest = reply + 3 + used;
	ck_assert_int_eq(hsdo_rtapi_client_split_lines(rest, len - 3 - used, ncmds, 2, join, r,
		&nfound), 0);
	ck_assert_uint_eq(nfound, 2);
	/* "No such server." then the version, `show version` without
	 * Debian's revision on a build from source */
	vl = strcspn(hap.version, "-");
	ck_assert(contains(&r[0], "No such server.", 15));
	ck_assert(contains(&r[0], hap.version, vl));
	ck_assert_uint_eq(r[1].len, 0);
	free(reply);
}
END_TEST

static const struct {
	const char *cmd;
	const char *msg;
} bad_cmds[] = {
	{ "", "command 1 is empty" },
	{ "show backend\nshow backend", "command 1 contains a line break" },
	{ "show backend\r", "command 1 contains a line break" },
	{ "show backend\\\n", "command 1 contains a line break" },
	{ "show backend;", "unescaped ';'" },
	{ "show\\\\;backend", "unescaped ';'" },
	{ "show backend\\", "ends with an unescaped '\\'" },
	{ "show backend\\\\\\", "ends with an unescaped '\\'" },
	{ "add map m.map <<", "ends with '<<'" },
	{ "show backend<<", "ends with '<<'" },
	{ "prompt", "command 1 ('prompt') would end prompt mode" },
	{ "  prompt off", "('prompt') would end prompt mode" },
	{ "quit", "('quit') would end prompt mode" },
	{ "\tquit now", "('quit') would end prompt mode" },
};

/* Commands that would not get exactly one reply are refused, nothing is
 * sent, and the connection stays usable. */
START_TEST(live_refused_commands)
{
	struct hsdo_rtapi_client *c = open_target(unix_target, 2000);
	struct hsdo_rtapi_client_stats before, after;
	struct hsdo_rtapi_result res;
	const char *cmds[2];
	char err[256], *longcmd;
	size_t i;

	hsdo_rtapi_client_stats(c, &before);
	for (i = 0; i < sizeof(bad_cmds) / sizeof(bad_cmds[0]); i++) {
		cmds[0] = "show backend";
		cmds[1] = bad_cmds[i].cmd;
		memset(&res, 0xa5, sizeof(res));
		ck_assert_int_eq(hsdo_rtapi_client_exec(c, cmds, 2, &res, err, sizeof(err)),
			-HSDO_EINVAL);
		ck_assert_msg(strstr(err, bad_cmds[i].msg) != NULL, "'%s': %s", bad_cmds[i].cmd,
			err);
		ck_assert_ptr_null(res.reply);
		ck_assert_uint_eq(res.n, 0);
	}
	cmds[1] = NULL;
	ck_assert_int_eq(hsdo_rtapi_client_exec(c, cmds, 2, &res, err, sizeof(err)),
		-HSDO_EINVAL);
	ck_assert_str_eq(err, "command 1 is NULL");
	ck_assert_int_eq(hsdo_rtapi_client_exec(c, NULL, 1, &res, err, sizeof(err)),
		-HSDO_EINVAL);
	ck_assert_int_eq(hsdo_rtapi_client_exec(c, cmds, 1, NULL, err, sizeof(err)),
		-HSDO_EINVAL);
	ck_assert_int_eq(hsdo_rtapi_client_exec(NULL, cmds, 1, &res, err, sizeof(err)),
		-HSDO_EINVAL);
	ck_assert_int_eq(hsdo_rtapi_client_exec(c, cmds, HSDO_RTAPI_CLIENT_BATCH_MAX + 1, &res,
		err, sizeof(err)), -HSDO_ETOOBIG);
	/* the longest command is accepted (HAProxy ignores the extra argument) */
	longcmd = malloc(HSDO_RTAPI_CLIENT_CMD_MAX + 2);
	ck_assert_ptr_nonnull(longcmd);
	memset(longcmd, 'x', HSDO_RTAPI_CLIENT_CMD_MAX + 1);
	memcpy(longcmd, "show backend ", 13);
	longcmd[HSDO_RTAPI_CLIENT_CMD_MAX + 1] = '\0';
	cmds[0] = longcmd;
	ck_assert_int_eq(hsdo_rtapi_client_exec(c, cmds, 1, &res, err, sizeof(err)),
		-HSDO_EINVAL);
	ck_assert_str_eq(err, "command 0 is longer than 8190 bytes");
	hsdo_rtapi_client_stats(c, &after);
	ck_assert_mem_eq(&before, &after, sizeof(before));
	longcmd[HSDO_RTAPI_CLIENT_CMD_MAX] = '\0';
	exec_ok(c, cmds, 1, &res);
	ck_assert(strncmp(res.reply[0], "# name\nbe_app\n", 14) == 0);
	hsdo_rtapi_result_free(&res);
	/* an empty batch is a no-op */
	ck_assert_int_eq(hsdo_rtapi_client_exec(c, cmds, 0, &res, err, sizeof(err)), 0);
	ck_assert_uint_eq(res.n, 0);
	ck_assert_ptr_null(res.reply);
	hsdo_rtapi_result_free(&res);
	hsdo_rtapi_result_free(NULL);
	free(longcmd);
	hsdo_rtapi_client_close(c);
	hsdo_rtapi_client_close(NULL);
}
END_TEST

START_TEST(live_reply_cap)
{
	static const char *const show[] = { "show backend" };
	struct hsdo_rtapi_client *c = open_target(unix_target, 2000);
	char **cmds = make_cmds(10, NULL, "show servers state be_app");
	struct hsdo_rtapi_result res;
	char err[256];

	/* one reply is ~620 bytes: 10 cannot fit in 1,000 */
	hsdo_rtapi_client_set_limits(c, 0, 1000);
	ck_assert_int_eq(hsdo_rtapi_client_exec(c, (const char *const *)cmds, 10, &res, err,
		sizeof(err)), -HSDO_ETOOBIG);
	ck_assert_msg(strstr(err, "replies exceed 1000 bytes (1 of 10 complete)") != NULL,
		"%s", err);
	ck_assert_ptr_null(res.reply);
	/* the unread replies put the stream out of step: the client says so */
	ck_assert_int_eq(hsdo_rtapi_client_exec(c, show, 1, &res, err, sizeof(err)),
		-HSDO_EIO);
	ck_assert(strstr(err, "connection unusable after an earlier error") != NULL);
	hsdo_rtapi_client_close(c);
	free_cmds(cmds, 10);
}
END_TEST

/* Every allocation of open and exec may fail: ENOMEM, nothing leaked
 * (LeakSanitizer checks at exit), and a later attempt works. */
START_TEST(live_alloc_failures)
{
	struct hsdo_rtapi_client *c = NULL;
	struct hsdo_rtapi_target t;
	struct hsdo_rtapi_result res;
	char **cmds = make_cmds(40, NULL, "show servers state be_torture");
	unsigned long k;
	char err[256];
	int rc;

	ck_assert_msg(hap_ok, "no HAProxy to test against: %s", hap_err);
	ck_assert_int_eq(hsdo_rtapi_client_parse_target(unix_target, &t, err, sizeof(err)), 0);
	for (k = 1; k < 100; k++) {
		hsdo_alloc_fail_at(k, 1);
		rc = hsdo_rtapi_client_open(&t, 2000, &c, err, sizeof(err));
		hsdo_alloc_fail_at(0, 0);
		if (rc == 0)
			break;
		ck_assert_msg(rc == -HSDO_ENOMEM, "open, allocation %lu: %d %s", k, rc, err);
		ck_assert_ptr_null(c);
	}
	ck_assert_uint_ge(k, 2);
	ck_assert_ptr_nonnull(c);
	hsdo_rtapi_client_close(c);
	/* 40 replies of ~650 bytes: the receive buffer grows too */
	for (k = 1; k < 100; k++) {
		c = open_target(unix_target, 2000);
		hsdo_alloc_fail_at(k, 1);
		rc = hsdo_rtapi_client_exec(c, (const char *const *)cmds, 40, &res, err,
			sizeof(err));
		hsdo_alloc_fail_at(0, 0);
		hsdo_rtapi_client_close(c);
		if (rc == 0)
			break;
		ck_assert_msg(rc == -HSDO_ENOMEM, "exec, allocation %lu: %d %s", k, rc, err);
		ck_assert_ptr_null(res.reply);
	}
	ck_assert_uint_ge(k, 6);
	ck_assert_uint_eq(res.n, 40);
	hsdo_rtapi_result_free(&res);
	free_cmds(cmds, 40);
}
END_TEST

/* ---- failures to connect, and scripted peers ------------------------------------ */

static char *tmpdir;

static void tmp_setup(void)
{
	tmpdir = hsdo_test_tmpdir("rtc");
	ck_assert_ptr_nonnull(tmpdir);
}

static void tmp_teardown(void)
{
	hsdo_test_rmtree(tmpdir);
	free(tmpdir);
}

static int unix_listener(const char *path, int backlog)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_int_ne(fd, -1);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (backlog >= 0)
		ck_assert_int_eq(listen(fd, backlog), 0);
	return fd;
}

static int tcp_listener(uint16_t *port)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ne(fd, -1);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static void path_in_tmp(char *out, size_t outlen, const char *name)
{
	snprintf(out, outlen, "%s/%s", tmpdir, name);
}

/* Open what `where` names; returns the code, with the time taken. */
static int try_open(const char *where, int timeout_ms, long *elapsed, char *err, size_t errlen)
{
	static char sentinel;
	struct hsdo_rtapi_client *c = (struct hsdo_rtapi_client *)(void *)&sentinel;
	struct hsdo_rtapi_target t;
	long t0;
	int rc;

	ck_assert_msg(hsdo_rtapi_client_parse_target(where, &t, err, errlen) == 0, "%s", err);
	t0 = now_ms();
	rc = hsdo_rtapi_client_open(&t, timeout_ms, &c, err, errlen);
	*elapsed = now_ms() - t0;
	if (rc == 0)
		hsdo_rtapi_client_close(c);
	else
		ck_assert_ptr_null(c);
	return rc;
}

START_TEST(open_missing_socket)
{
	char where[600], err[512];
	long ms;

	path_in_tmp(where, sizeof(where), "nope.sock");
	ck_assert_int_eq(try_open(where, 2000, &ms, err, sizeof(err)), -HSDO_ENOTFOUND);
	ck_assert_msg(strstr(err, "nope.sock: no such socket") != NULL, "%s", err);
	ck_assert_msg(ms < 200, "took %ld ms", ms);
	path_in_tmp(where, sizeof(where), "no/dir/admin.sock");
	ck_assert_int_eq(try_open(where, 2000, &ms, err, sizeof(err)), -HSDO_ENOTFOUND);
}
END_TEST

START_TEST(open_refused)
{
	char where[600], err[512];
	uint16_t port;
	long ms;
	int fd;

	/* a socket file nobody listens on (HAProxy died): refused */
	path_in_tmp(where, sizeof(where), "stale.sock");
	fd = unix_listener(where, -1);
	close(fd);
	ck_assert_int_eq(try_open(where, 2000, &ms, err, sizeof(err)), -HSDO_EIO);
	ck_assert_msg(strstr(err, "stale.sock: connection refused") != NULL, "%s", err);
	ck_assert_msg(ms < 200, "took %ld ms", ms);
	port = hsdo_test_free_port();
	ck_assert_uint_ne(port, 0);
	snprintf(where, sizeof(where), "127.0.0.1:%u", port);
	ck_assert_int_eq(try_open(where, 2000, &ms, err, sizeof(err)), -HSDO_EIO);
	ck_assert_msg(strstr(err, "connection refused") != NULL, "%s", err);
	ck_assert_int_eq(try_open("abns@hsdo-rtc-nobody-listens", 2000, &ms, err, sizeof(err)),
		-HSDO_EIO);
	ck_assert_msg(strstr(err, "connection refused") != NULL, "%s", err);
	ck_assert_msg(ms < 200, "took %ld ms", ms);
}
END_TEST

START_TEST(open_bad_args)
{
	struct hsdo_rtapi_client *c = NULL;
	struct hsdo_rtapi_target t;
	char err[256];

	memset(&t, 0, sizeof(t));
	t.family = HSDO_RTAPI_FAMILY_UNIX;
	ck_assert_int_eq(hsdo_rtapi_client_open(&t, 100, &c, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_str_eq(err, "invalid target");
	memcpy(t.path, "/x", 3);
	ck_assert_int_eq(hsdo_rtapi_client_open(&t, 0, &c, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_rtapi_client_open(&t, HSDO_RTAPI_CLIENT_TIMEOUT_MAX + 1, &c, err,
		sizeof(err)), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_rtapi_client_open(NULL, 100, &c, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_rtapi_client_open(&t, 100, NULL, err, sizeof(err)), -HSDO_EINVAL);
	t.family = HSDO_RTAPI_FAMILY_IPV4;
	ck_assert_int_eq(hsdo_rtapi_client_open(&t, 100, &c, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_ptr_null(c);
	hsdo_rtapi_client_set_limits(NULL, 1, 1);
	hsdo_rtapi_client_stats(NULL, NULL);
}
END_TEST

/* A listener that never accepts: connect succeeds (the kernel queues it)
 * but no prompt ever comes. Bounded by the timeout. */
START_TEST(open_never_answers)
{
	char where[600], err[512];
	uint16_t port;
	long ms;
	int fd;

	path_in_tmp(where, sizeof(where), "mute.sock");
	fd = unix_listener(where, 4);
	ck_assert_int_eq(try_open(where, 300, &ms, err, sizeof(err)), -HSDO_EIO);
	ck_assert_msg(strstr(err, "timed out after 300 ms (7 of 7 bytes sent, 0 of 1 replies "
		"read)") != NULL, "%s", err);
	ck_assert_msg(ms >= 290 && ms < 800, "took %ld ms", ms);
	close(fd);
	fd = tcp_listener(&port);
	snprintf(where, sizeof(where), "ipv4@127.0.0.1:%u", port);
	ck_assert_int_eq(try_open(where, 300, &ms, err, sizeof(err)), -HSDO_EIO);
	ck_assert_msg(strstr(err, "timed out") != NULL, "%s", err);
	ck_assert_msg(ms >= 290 && ms < 800, "took %ld ms", ms);
	close(fd);
}
END_TEST

/* A Unix listener whose backlog is full: connect() says EAGAIN, which
 * poll cannot wait for; the client retries until its timeout. */
START_TEST(open_backlog_full)
{
	struct sockaddr_un sa;
	char where[600], err[512];
	int fd, extra[8], nextra = 0, i;
	long ms;

	path_in_tmp(where, sizeof(where), "full.sock");
	fd = unix_listener(where, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, where, strlen(where) + 1);
	for (i = 0; i < 8; i++) {
		int e = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

		ck_assert_int_ne(e, -1);
		extra[nextra++] = e;
		if (connect(e, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
			ck_assert_int_eq(errno, EAGAIN);
			break;
		}
	}
	ck_assert_msg(i < 8, "the backlog never filled");
	ck_assert_int_eq(try_open(where, 300, &ms, err, sizeof(err)), -HSDO_EIO);
	ck_assert_msg(strstr(err, "connect timed out after 300 ms") != NULL, "%s", err);
	ck_assert_msg(ms >= 290 && ms < 800, "took %ld ms", ms);
	for (i = 0; i < nextra; i++)
		close(extra[i]);
	close(fd);
}
END_TEST

enum fake_mode {
	FAKE_SILENT,     /* prompt, then reads and never answers */
	FAKE_CLOSE,      /* prompt, then closes */
	FAKE_GARBAGE,    /* answers `prompt` with an HTTP error */
	FAKE_WORDY,      /* answers `prompt` with text, then a prompt */
	FAKE_EXTRA,      /* prompt, plus bytes nobody asked for */
	FAKE_NUL,        /* prompt, then a reply with a NUL byte */
	FAKE_PARTIAL,    /* prompt, then half a reply and close */
	FAKE_TWO,        /* prompt, then two replies for one command */
};

static ssize_t write_all(int fd, const char *s, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(fd, s + off, len - off);

		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return (ssize_t)len;
}

/* Read until a newline (or EOF); returns bytes read. */
static size_t read_line(int fd)
{
	size_t n = 0;
	char ch;

	while (read(fd, &ch, 1) == 1) {
		n++;
		if (ch == '\n')
			break;
	}
	return n;
}

static pid_t fake_peer(const char *path, enum fake_mode mode)
{
	int lfd = unix_listener(path, 4);
	pid_t pid = fork();

	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		char buf[4096];
		int fd;

		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(20);
		fd = accept(lfd, NULL, NULL);
		if (fd == -1)
			_exit(1);
		(void)read_line(fd);  /* prompt */
		switch (mode) {
		case FAKE_GARBAGE:
			(void)write_all(fd, "HTTP/1.1 400 Bad request\r\n\r\n", 28);
			break;
		case FAKE_WORDY:
			(void)write_all(fd, "\n\n> ", 4);
			break;
		case FAKE_EXTRA:
			(void)write_all(fd, "\n> junk", 7);
			break;
		default:
			(void)write_all(fd, "\n> ", 3);
			break;
		}
		if (mode == FAKE_CLOSE)
			_exit(0);
		if (mode == FAKE_NUL || mode == FAKE_PARTIAL || mode == FAKE_TWO) {
			(void)read_line(fd);
			if (mode == FAKE_NUL)
				(void)write_all(fd, "a\0b\n> ", 6);
			else if (mode == FAKE_PARTIAL)
				_exit(write_all(fd, "# name\nbe_", 10) == -1);
			else
				(void)write_all(fd, "x\n\n> y\n\n> ", 10);
		}
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		_exit(0);
	}
	close(lfd);
	return pid;
}

static void reap(pid_t pid)
{
	int status;

	(void)kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
}

static struct hsdo_rtapi_client *open_fake(const char *path, int timeout_ms)
{
	struct hsdo_rtapi_client *c = NULL;
	struct hsdo_rtapi_target t;
	char err[512];

	ck_assert_int_eq(hsdo_rtapi_client_parse_target(path, &t, err, sizeof(err)), 0);
	ck_assert_msg(hsdo_rtapi_client_open(&t, timeout_ms, &c, err, sizeof(err)) == 0,
		"%s", err);
	return c;
}

/* The non-blocking interface by hand, against a peer that answers the
 * prompt and then never replies: every _io call returns at once (never
 * waits: this test would hang otherwise), says what to wait for and how
 * long, and the exchange fails when that time has passed. */
START_TEST(nonblocking_never_waits)
{
	static const char *const cmds[] = { "show info" };
	struct hsdo_rtapi_client *c = NULL;
	struct hsdo_rtapi_result res;
	struct hsdo_rtapi_target t;
	char path[600], err[512];
	long t0, left, calls = 0;
	pid_t pid;
	int rc;

	path_in_tmp(path, sizeof(path), "silent-nb.sock");
	pid = fake_peer(path, FAKE_SILENT);
	ck_assert_int_eq(hsdo_rtapi_client_parse_target(path, &t, err, sizeof(err)), 0);
	ck_assert_int_eq(hsdo_rtapi_client_start(&t, 2000, &c, err, sizeof(err)), 0);
	ck_assert_int_ge(hsdo_rtapi_client_fd(c), 0);
	/* The handshake: wait as told until it is done. */
	while ((rc = hsdo_rtapi_client_io(c, &res, err, sizeof(err))) == -HSDO_EAGAIN) {
		struct pollfd pfd = { hsdo_rtapi_client_fd(c), 0, 0 };

		ck_assert_int_ne(hsdo_rtapi_client_events(c), 0);
		pfd.events = (short)(((hsdo_rtapi_client_events(c) & HSDO_RTAPI_IO_READ) ? POLLIN : 0) |
			((hsdo_rtapi_client_events(c) & HSDO_RTAPI_IO_WRITE) ? POLLOUT : 0));
		(void)poll(&pfd, 1, (int)hsdo_rtapi_client_timeout(c));
	}
	ck_assert_msg(rc == 0, "%s", err);
	ck_assert_int_eq(hsdo_rtapi_client_events(c), 0);
	ck_assert_int_eq(hsdo_rtapi_client_timeout(c), -1);
	/* A batch: nothing comes back, so every call says "again" at once. */
	hsdo_rtapi_client_set_limits(c, 300, 0);
	ck_assert_int_eq(hsdo_rtapi_client_send(c, cmds, 1, err, sizeof(err)), 0);
	ck_assert_int_eq(hsdo_rtapi_client_send(c, cmds, 1, err, sizeof(err)), -HSDO_EINVAL);
	t0 = now_ms();
	while ((rc = hsdo_rtapi_client_io(c, &res, err, sizeof(err))) == -HSDO_EAGAIN) {
		calls++;
		ck_assert(hsdo_rtapi_client_events(c) & HSDO_RTAPI_IO_READ);
		left = hsdo_rtapi_client_timeout(c);
		ck_assert_msg(left >= 0 && left <= 300, "timeout %ld", left);
		(void)poll(NULL, 0, 20);
	}
	ck_assert_int_eq(rc, -HSDO_EIO);
	ck_assert_msg(strstr(err, "timed out after 300 ms") != NULL, "%s", err);
	ck_assert_msg(calls >= 5, "only %ld calls in %ld ms", calls, now_ms() - t0);
	ck_assert_int_eq(hsdo_rtapi_client_events(c), 0);
	ck_assert_int_eq(hsdo_rtapi_client_send(c, cmds, 1, err, sizeof(err)), -HSDO_EIO);
	hsdo_rtapi_client_close(c);
	reap(pid);
}
END_TEST

/* Answers the prompt, then never replies: exec is bounded by its timeout
 * and leaves the client unusable. */
START_TEST(exec_times_out)
{
	static const char *const cmds[] = { "show backend", "show info" };
	struct hsdo_rtapi_client_stats st;
	struct hsdo_rtapi_client *c;
	struct hsdo_rtapi_result res;
	char path[600], err[512];
	long t0, ms;
	pid_t pid;

	path_in_tmp(path, sizeof(path), "silent.sock");
	pid = fake_peer(path, FAKE_SILENT);
	c = open_fake(path, 300);
	t0 = now_ms();
	ck_assert_int_eq(hsdo_rtapi_client_exec(c, cmds, 2, &res, err, sizeof(err)),
		-HSDO_EIO);
	ms = now_ms() - t0;
	ck_assert_msg(strstr(err, "timed out after 300 ms (23 of 23 bytes sent, 0 of 2 "
		"replies read)") != NULL, "%s", err);
	ck_assert_msg(ms >= 290 && ms < 800, "took %ld ms", ms);
	ck_assert_ptr_null(res.reply);
	hsdo_rtapi_client_stats(c, &st);
	ck_assert_uint_eq(st.commands, 2);
	ck_assert_uint_eq(st.replies, 0);
	/* a shorter timeout applies to the next exec, but this one is broken */
	hsdo_rtapi_client_set_limits(c, 50, 0);
	t0 = now_ms();
	ck_assert_int_eq(hsdo_rtapi_client_exec(c, cmds, 1, &res, err, sizeof(err)),
		-HSDO_EIO);
	ck_assert(now_ms() - t0 < 50);
	hsdo_rtapi_client_close(c);
	reap(pid);
	unlink(path);
	/* the new timeout on a fresh connection */
	pid = fake_peer(path, FAKE_SILENT);
	c = open_fake(path, 2000);
	hsdo_rtapi_client_set_limits(c, 100, 0);
	t0 = now_ms();
	ck_assert_int_eq(hsdo_rtapi_client_exec(c, cmds, 1, &res, err, sizeof(err)),
		-HSDO_EIO);
	ms = now_ms() - t0;
	ck_assert_msg(ms >= 95 && ms < 600, "took %ld ms", ms);
	hsdo_rtapi_client_close(c);
	reap(pid);
}
END_TEST

/* The peer closes after the prompt while we write 8 MB: EPIPE or EOF,
 * an error, and no SIGPIPE (this process would die of it). */
START_TEST(exec_peer_closes)
{
	struct hsdo_rtapi_client *c;
	struct hsdo_rtapi_result res;
	char path[600], err[512], **cmds;
	size_t n = 20000, i;
	pid_t pid;

	ck_assert(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
	cmds = make_cmds(n, NULL, "show servers state be_app");
	for (i = 0; i < n; i++) {
		char *big = malloc(401);

		ck_assert_ptr_nonnull(big);
		memset(big, 'x', 400);
		memcpy(big, "show backend ", 13);
		big[400] = '\0';
		free(cmds[i]);
		cmds[i] = big;
	}
	path_in_tmp(path, sizeof(path), "closing.sock");
	pid = fake_peer(path, FAKE_CLOSE);
	c = open_fake(path, 5000);
	ck_assert_int_eq(hsdo_rtapi_client_exec(c, (const char *const *)cmds, n, &res, err,
		sizeof(err)), -HSDO_EIO);
	ck_assert_msg(strstr(err, "closed the connection (after 0 of 20000 replies)") != NULL ||
		strstr(err, "write after") != NULL || strstr(err, "read: ") != NULL, "%s", err);
	hsdo_rtapi_client_close(c);
	reap(pid);
	free_cmds(cmds, n);
}
END_TEST

START_TEST(fake_peer_protocol_errors)
{
	static const char *const cmds[] = { "show backend" };
	struct hsdo_rtapi_client *c = NULL;
	struct hsdo_rtapi_result res;
	char path[600], err[512];
	long ms;
	pid_t pid;

	path_in_tmp(path, sizeof(path), "garbage.sock");
	pid = fake_peer(path, FAKE_GARBAGE);
	ck_assert_int_eq(try_open(path, 2000, &ms, err, sizeof(err)), -HSDO_EPROTO);
	ck_assert_msg(strstr(err, "not a HAProxy Runtime API prompt: \"HTTP/1.1 400 Bad "
		"r") != NULL, "%s", err);
	ck_assert_msg(ms < 1000, "took %ld ms", ms);
	reap(pid);
	unlink(path);

	pid = fake_peer(path, FAKE_WORDY);
	ck_assert_int_eq(try_open(path, 2000, &ms, err, sizeof(err)), -HSDO_EPROTO);
	ck_assert_msg(strstr(err, "not a HAProxy Runtime API prompt: \"\\n\\n") != NULL,
		"%s", err);
	reap(pid);
	unlink(path);

	pid = fake_peer(path, FAKE_EXTRA);
	ck_assert_int_eq(try_open(path, 2000, &ms, err, sizeof(err)), -HSDO_EPROTO);
	ck_assert_msg(strstr(err, "unexpected bytes") != NULL, "%s", err);
	reap(pid);
	unlink(path);

	pid = fake_peer(path, FAKE_NUL);
	c = open_fake(path, 2000);
	ck_assert_int_eq(hsdo_rtapi_client_exec(c, cmds, 1, &res, err, sizeof(err)),
		-HSDO_EPROTO);
	ck_assert_msg(strstr(err, "unexpected bytes in reply 1 of 1") != NULL, "%s", err);
	hsdo_rtapi_client_close(c);
	reap(pid);
	unlink(path);

	pid = fake_peer(path, FAKE_TWO);
	c = open_fake(path, 2000);
	ck_assert_int_eq(hsdo_rtapi_client_exec(c, cmds, 1, &res, err, sizeof(err)),
		-HSDO_EPROTO);
	hsdo_rtapi_client_close(c);
	reap(pid);
	unlink(path);

	pid = fake_peer(path, FAKE_PARTIAL);
	c = open_fake(path, 2000);
	ck_assert_int_eq(hsdo_rtapi_client_exec(c, cmds, 1, &res, err, sizeof(err)),
		-HSDO_EIO);
	ck_assert_msg(strstr(err, "HAProxy closed the connection (after 0 of 1 replies)") != NULL,
		"%s", err);
	ck_assert_int_eq(hsdo_rtapi_client_exec(c, cmds, 1, &res, err, sizeof(err)),
		-HSDO_EIO);
	hsdo_rtapi_client_close(c);
	reap(pid);
}
END_TEST

static Suite *rtapi_client_suite(void)
{
	Suite *s = suite_create("rtapi_client");
	TCase *tc = tcase_create("pure");
	TCase *live = tcase_create("haproxy");
	TCase *io = tcase_create("io");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, target_valid, 0, sizeof(target_ok) / sizeof(target_ok[0]));
	tcase_add_loop_test(tc, target_invalid, 0, sizeof(target_bad) / sizeof(target_bad[0]));
	tcase_add_test(tc, target_lengths);
	tcase_add_loop_test(tc, split_recorded, 0, sizeof(streams) / sizeof(streams[0]));
	tcase_add_loop_test(tc, split_every_prefix, 0, sizeof(streams) / sizeof(streams[0]));
	tcase_add_test(tc, split_edges);
	tcase_add_test(tc, split_random);
	tcase_add_loop_test(tc, split_joined_lines, 0, sizeof(joined) / sizeof(joined[0]));
	tcase_add_test(tc, split_joined_wrong_join);
	tcase_add_test(tc, join_detect);
	suite_add_tcase(s, tc);

	tcase_set_timeout(live, 120);
	tcase_add_unchecked_fixture(live, hap_setup, hap_teardown);
	tcase_add_loop_test(live, live_open_exec, 0, 4);
	tcase_add_test(live, live_set_server_batch);
	tcase_add_test(live, live_big_batches);
	tcase_add_test(live, live_escaped_semicolon);
	tcase_add_test(live, live_joined_lines);
	tcase_add_test(live, live_refused_commands);
	tcase_add_test(live, live_reply_cap);
	tcase_add_test(live, live_alloc_failures);
	suite_add_tcase(s, live);

	tcase_set_timeout(io, 60);
	tcase_add_checked_fixture(io, tmp_setup, tmp_teardown);
	tcase_add_test(io, open_missing_socket);
	tcase_add_test(io, open_refused);
	tcase_add_test(io, open_bad_args);
	tcase_add_test(io, open_never_answers);
	tcase_add_test(io, open_backlog_full);
	tcase_add_test(io, nonblocking_never_waits);
	tcase_add_test(io, exec_times_out);
	tcase_add_test(io, exec_peer_closes);
	tcase_add_test(io, fake_peer_protocol_errors);
	suite_add_tcase(s, io);
	return s;
}

int main(void)
{
	return hsdo_test_run(rtapi_client_suite());
}
