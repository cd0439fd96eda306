/* Runtime API helpers: escaping, `show servers state` parsing (real 2.6.12
 * transcripts from tests/data/rtapi, every prefix, byte mutations, columns
 * by name), admin-state masks and `set server` reply classification. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/rtapi.h"
#include "hsdo_test.h"

#define HDR25 "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state " \
	"srv_uweight srv_iweight srv_time_since_last_change srv_check_status " \
	"srv_check_result srv_check_health srv_check_state srv_agent_state " \
	"bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl " \
	"srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n"

static int parse_str(const char *s, struct hsdo_servers_state *st, char *err, size_t errlen)
{
	return hsdo_rtapi_parse_servers_state(s, strlen(s), st, err, errlen);
}

/* ---- escape ------------------------------------------------------------------- */

static const struct {
	const char *in;
	const char *out;
} escape_cases[] = {
	{ "be_app", "be_app" },
	{ "", "" },
	{ "a;b", "a\\;b" },
	{ "a\\b", "a\\\\b" },
	{ ";;", "\\;\\;" },
	{ "a b", "a\\ b" },
	{ "a\tb", "a\\\tb" },
	{ "2001:db8::1", "2001:db8::1" },
	{ "x;show stat", "x\\;show\\ stat" },
};

START_TEST(escape_table)
{
	char buf[64];
	int rc = hsdo_rtapi_escape(buf, sizeof(buf), escape_cases[_i].in);

	ck_assert_int_eq(rc, (int)strlen(escape_cases[_i].out));
	ck_assert_str_eq(buf, escape_cases[_i].out);
}
END_TEST

START_TEST(escape_bounds)
{
	char buf[5];

	/* "abcd" + NUL fits exactly; one more byte does not. */
	ck_assert_int_eq(hsdo_rtapi_escape(buf, sizeof(buf), "abcd"), 4);
	ck_assert_str_eq(buf, "abcd");
	ck_assert_int_eq(hsdo_rtapi_escape(buf, sizeof(buf), "abcde"), -HSDO_ETOOBIG);
	ck_assert_str_eq(buf, "");
	/* the escape doubles ';': "ab;" needs 4 + NUL */
	ck_assert_int_eq(hsdo_rtapi_escape(buf, sizeof(buf), "ab;"), 4);
	ck_assert_int_eq(hsdo_rtapi_escape(buf, sizeof(buf), "abc;"), -HSDO_ETOOBIG);
	ck_assert_int_eq(hsdo_rtapi_escape(buf, 0, "a"), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_rtapi_escape(buf, sizeof(buf), NULL), -HSDO_EINVAL);
	/* a newline would end the command: refused, not escaped */
	ck_assert_int_eq(hsdo_rtapi_escape(buf, sizeof(buf), "a\nb"), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_rtapi_escape(buf, sizeof(buf), "a\rb"), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_rtapi_escape(buf, sizeof(buf), "\x7f"), -HSDO_EINVAL);
}
END_TEST

/* ---- real transcripts ----------------------------------------------------------- */

START_TEST(parse_fresh_all)
{
	struct hsdo_servers_state st;
	const struct hsdo_srv_state *s;
	char err[256] = "";
	size_t len;
	char *buf = hsdo_test_load_data("rtapi/state_fresh_all.txt", &len);

	ck_assert_int_eq(hsdo_rtapi_parse_servers_state(buf, len, &st, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_assert_uint_eq(st.n, 11);
	s = &st.srv[0];
	ck_assert_uint_eq(s->be_id, 3);
	ck_assert_str_eq(s->be_name, "be_app");
	ck_assert_uint_eq(s->srv_id, 1);
	ck_assert_str_eq(s->srv_name, "web1");
	ck_assert_str_eq(s->addr, "127.0.0.2");
	ck_assert_uint_eq(s->op_state, HSDO_RTAPI_OP_STOPPED);
	ck_assert_uint_eq(s->admin_state, 5); /* `disabled`: FMAINT | CMAINT */
	ck_assert(hsdo_rtapi_admin_is_maint(s->admin_state));
	ck_assert_uint_eq(s->uweight, 1);
	ck_assert_uint_eq(s->iweight, 1);
	ck_assert_uint_eq(s->port, 80);
	ck_assert_uint_eq(s->check_state, 14);
	ck_assert_uint_eq(s->check_result, 0);

	s = hsdo_rtapi_find_server(&st, "be_nocheck", "app3");
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->srv_id, 3);
	ck_assert_uint_eq(s->op_state, HSDO_RTAPI_OP_RUNNING);
	ck_assert_uint_eq(s->admin_state, 0);
	ck_assert_uint_eq(s->port, 8080);
	ck_assert_uint_eq(s->check_state, 0);  /* no `check` */
	ck_assert_uint_eq(s->check_result, 0);

	/* unresolved FQDN with init-addr none: '-' address, RMAINT */
	s = hsdo_rtapi_find_server(&st, "be_noaddr", "dyn2");
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s->addr, "");
	ck_assert_uint_eq(s->admin_state, HSDO_RTAPI_ADMF_RMAINT);
	ck_assert(hsdo_rtapi_admin_is_maint(s->admin_state));

	ck_assert_ptr_null(hsdo_rtapi_find_server(&st, "be_app", "web5"));
	ck_assert_ptr_null(hsdo_rtapi_find_server(&st, "be_fb", "web1"));
	ck_assert_ptr_null(hsdo_rtapi_find_server(&st, "nope", "web1"));
	ck_assert_ptr_null(hsdo_rtapi_find_server(NULL, "be_app", "web1"));
	hsdo_rtapi_servers_state_free(&st);
	ck_assert_ptr_null(st.srv);
	ck_assert_uint_eq(st.n, 0);
	hsdo_rtapi_servers_state_free(&st);
	hsdo_rtapi_servers_state_free(NULL);
	free(buf);
}
END_TEST

START_TEST(parse_mixed)
{
	struct hsdo_servers_state st;
	const struct hsdo_srv_state *s;
	char err[256];
	size_t len;
	char *buf = hsdo_test_load_data("rtapi/state_mixed_be_app.txt", &len);

	ck_assert_int_eq(hsdo_rtapi_parse_servers_state(buf, len, &st, err, sizeof(err)), 0);
	ck_assert_uint_eq(st.n, 4);
	/* enabled from `disabled`: admin 4 (CMAINT) and running: not maint */
	s = hsdo_rtapi_find_server(&st, "be_app", "web1");
	ck_assert_str_eq(s->addr, "127.0.0.1");
	ck_assert_uint_eq(s->port, 28091);
	ck_assert_uint_eq(s->admin_state, HSDO_RTAPI_ADMF_CMAINT);
	ck_assert_uint_eq(s->op_state, HSDO_RTAPI_OP_RUNNING);
	ck_assert_uint_eq(s->uweight, 50);
	ck_assert(!hsdo_rtapi_admin_is_maint(s->admin_state));
	ck_assert(!hsdo_rtapi_admin_is_drain(s->admin_state));
	s = hsdo_rtapi_find_server(&st, "be_app", "web2");
	ck_assert_str_eq(s->addr, "::1");
	ck_assert_uint_eq(s->port, 28082);
	/* `state drain` on a disabled slot: FDRAIN | CMAINT, FMAINT lifted */
	s = hsdo_rtapi_find_server(&st, "be_app", "web3");
	ck_assert_uint_eq(s->admin_state, 12);
	ck_assert(hsdo_rtapi_admin_is_drain(s->admin_state));
	ck_assert(!hsdo_rtapi_admin_is_maint(s->admin_state));
	hsdo_rtapi_servers_state_free(&st);
	free(buf);
}
END_TEST

START_TEST(parse_unknown_backend)
{
	struct hsdo_servers_state st;
	char err[256];
	size_t len;
	char *buf = hsdo_test_load_data("rtapi/state_unknown_backend.txt", &len);

	ck_assert_int_eq(hsdo_rtapi_parse_servers_state(buf, len, &st, err, sizeof(err)),
		-HSDO_ENOTFOUND);
	ck_assert_str_eq(err, "Can't find backend.");
	ck_assert_ptr_null(st.srv);
	ck_assert_uint_eq(st.n, 0);
	free(buf);
}
END_TEST

static const char *const transcripts[] = {
	"rtapi/state_fresh_all.txt",
	"rtapi/state_fresh_be_app.txt",
	"rtapi/state_mixed_be_app.txt",
	"rtapi/state_noaddr.txt",
	"rtapi/state_nocheck.txt",
	"rtapi/state_unknown_backend.txt",
};

/* Every strict prefix is a cut-short reply: a clean error, never a parse
 * of half a line (a port "8" from "80" would be worse than an error). */
START_TEST(parse_every_prefix)
{
	struct hsdo_servers_state st;
	char err[256];
	size_t len, cut;
	char *buf = hsdo_test_load_data(transcripts[_i], &len);
	int full = hsdo_rtapi_parse_servers_state(buf, len, &st, err, sizeof(err));

	hsdo_rtapi_servers_state_free(&st);
	for (cut = 0; cut < len; cut++) {
		char *b = malloc(cut ? cut : 1);
		int rc;

		memcpy(b, buf, cut);
		err[0] = '\0';
		rc = hsdo_rtapi_parse_servers_state(b, cut, &st, err, sizeof(err));
		if (full == 0)
			ck_assert_msg(rc == -HSDO_EAGAIN, "%s cut at %zu: rc %d (%s)",
				transcripts[_i], cut, rc, err);
		else
			ck_assert_msg(rc < 0, "%s cut at %zu parsed", transcripts[_i], cut);
		ck_assert_msg(err[0] != '\0', "cut at %zu: no error text", cut);
		ck_assert_ptr_null(st.srv);
		ck_assert_uint_eq(st.n, 0);
		free(b);
	}
	free(buf);
}
END_TEST

/* Single-byte substitutions anywhere: a clean verdict either way. */
START_TEST(parse_mutations)
{
	static const char subst[] = { 'x', ' ', '\n', '-', '#', '9', '\0', '\t' };
	struct hsdo_servers_state st;
	char err[256];
	size_t len, pos, k;
	char *buf = hsdo_test_load_data(transcripts[_i], &len);

	for (pos = 0; pos < len; pos++) {
		for (k = 0; k < sizeof(subst); k++) {
			char *b = malloc(len);
			int rc;

			memcpy(b, buf, len);
			b[pos] = subst[k];
			err[0] = '\0';
			rc = hsdo_rtapi_parse_servers_state(b, len, &st, err, sizeof(err));
			if (rc == 0) {
				ck_assert(st.n == 0 || st.srv != NULL);
				hsdo_rtapi_servers_state_free(&st);
			} else {
				ck_assert_msg(err[0] != '\0', "pos %zu: error without text", pos);
				ck_assert_ptr_null(st.srv);
			}
			free(b);
		}
	}
	free(buf);
}
END_TEST

/* ---- columns by name ------------------------------------------------------------ */

START_TEST(parse_columns_reordered_extra)
{
	/* A future version: columns moved, one new column, check columns gone. */
	const char *in =
		"1\n"
		"# srv_name srv_port be_name srv_new_thing srv_id be_id srv_uweight "
		"srv_admin_state srv_op_state srv_addr\n"
		"web1 8080 be_x foo 1 7 33 1 2 10.0.0.1\n"
		"# a comment line inside the data\n"
		"web2 0 be_x bar 2 7 0 12 0 -\n"
		"\n";
	struct hsdo_servers_state st;
	char err[256];

	ck_assert_int_eq(parse_str(in, &st, err, sizeof(err)), 0);
	ck_assert_uint_eq(st.n, 2);
	ck_assert_str_eq(st.srv[0].srv_name, "web1");
	ck_assert_str_eq(st.srv[0].be_name, "be_x");
	ck_assert_uint_eq(st.srv[0].be_id, 7);
	ck_assert_uint_eq(st.srv[0].srv_id, 1);
	ck_assert_uint_eq(st.srv[0].port, 8080);
	ck_assert_uint_eq(st.srv[0].uweight, 33);
	ck_assert_uint_eq(st.srv[0].admin_state, 1);
	ck_assert_uint_eq(st.srv[0].op_state, 2);
	ck_assert_str_eq(st.srv[0].addr, "10.0.0.1");
	ck_assert_uint_eq(st.srv[0].iweight, 0);
	ck_assert_uint_eq(st.srv[0].check_state, 0);
	ck_assert_uint_eq(st.srv[1].admin_state, 12);
	ck_assert_str_eq(st.srv[1].addr, "");
	ck_assert_uint_eq(st.srv[1].port, 0);
	hsdo_rtapi_servers_state_free(&st);
}
END_TEST

START_TEST(parse_empty_backend)
{
	struct hsdo_servers_state st;
	char err[256];

	ck_assert_int_eq(parse_str("1\n" HDR25 "\n", &st, err, sizeof(err)), 0);
	ck_assert_uint_eq(st.n, 0);
	hsdo_rtapi_servers_state_free(&st);
}
END_TEST

#define ROW "3 be_app 1 web1 127.0.0.2 0 5 1 1 1 1 0 0 14 0 0 0 - 80 - 0 0 - - 0\n"

static const struct {
	const char *in;
	int rc;
	const char *err;
} bad_cases[] = {
	{ "", -HSDO_EAGAIN, "empty reply" },
	{ "2\n" HDR25 ROW "\n", -HSDO_EPROTO, "line 1: unsupported format version '2'" },
	{ "Unknown command: 'show servers'\n\n", -HSDO_EPROTO,
	  "line 1: not a servers state reply: 'Unknown command: 'show servers''" },
	{ "Permission denied\n\n", -HSDO_EPROTO,
	  "line 1: not a servers state reply: 'Permission denied'" },
	{ "No such backend.\n\n", -HSDO_ENOTFOUND, "No such backend." },
	{ "1\nbe_id be_name\n\n", -HSDO_EPROTO,
	  "line 2: expected the '# ' column header, got 'be_id be_name'" },
	{ "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state "
	  "srv_uweight\n\n", -HSDO_EPROTO, "line 2: missing column 'srv_port'" },
	{ "1\n# be_id be_id be_name srv_id srv_name srv_addr srv_op_state "
	  "srv_admin_state srv_uweight srv_port\n\n", -HSDO_EPROTO,
	  "line 2: column 'be_id' appears twice" },
	{ "1\n" HDR25 "3 be_app 1 web1 127.0.0.2 0 x 1 1 1 1 0 0 14 0 0 0 - 80 - 0 0 - - 0\n\n",
	  -HSDO_EPROTO, "line 3: srv_admin_state: not a number 'x'" },
	{ "1\n" HDR25 ROW "3 be_app 2 web2 127.0.0.2 0 5 1 1 1 1 0 0 14 0 0 0 - 70000 - 0 0 - - 0\n\n",
	  -HSDO_EPROTO, "line 4: srv_port: not a number '70000'" },
	{ "1\n" HDR25 "3 be_app 1 web1 127.0.0.2 0 5 -1 1 1 1 0 0 14 0 0 0 - 80 - 0 0 - - 0\n\n",
	  -HSDO_EPROTO, "line 3: srv_uweight: not a number '-1'" },
	{ "1\n" HDR25 "3 be_app 1 web1 127.0.0.2 0 5 1 1 1 1 0 0 14 0 0 0 - 80 - 0 0 - - 0 9\n\n",
	  -HSDO_EPROTO, "line 3: 26 fields, the header has 25" },
	{ "1\n" HDR25 "3 be_app 1 web1 127.0.0.2 0 5 1 1 1 1 0 0 14 0 0 0 - 80\n\n",
	  -HSDO_EPROTO, "line 3: 19 fields, the header has 25" },
	{ "1\n" HDR25 "99999999999 be_app 1 web1 127.0.0.2 0 5 1 1 1 1 0 0 14 0 0 0 - 80 - 0 0 - - 0\n\n",
	  -HSDO_EPROTO, "line 3: be_id: not a number '99999999999'" },
	{ "1\n" HDR25 "3 be_app 1 web1 1234:5678:1234:5678:1234:5678:255.255.255.255xx 0 5 1 1 "
	  "1 1 0 0 14 0 0 0 - 80 - 0 0 - - 0\n\n", -HSDO_EPROTO,
	  "line 3: srv_addr: longer than 45 bytes '1234:5678:1234:5678:1234:5678:255.255.255.255xx'" },
	{ "1\n" HDR25 "3 be_app 1 web\x01 127.0.0.2 0 5 1 1 1 1 0 0 14 0 0 0 - 80 - 0 0 - - 0\n\n",
	  -HSDO_EPROTO, "line 3: control character 0x01 at byte 15" },
	{ "1\n" HDR25 ROW "\r\n", -HSDO_EPROTO, "line 4: control character 0x0d at byte 1" },
	{ "1\n" HDR25 ROW "\n\n", -HSDO_EPROTO, "line 5: data after the end of the reply" },
	{ "1\n" HDR25 ROW "\n1\n", -HSDO_EPROTO, "line 5: data after the end of the reply" },
	{ "1\n" HDR25 ROW, -HSDO_EAGAIN, "line 4: truncated (no blank line at the end)" },
	{ "1\n" HDR25 "3 be_app 1 web1", -HSDO_EAGAIN, "line 3: truncated (no end of line)" },
	{ "1\n", -HSDO_EAGAIN, "line 2: truncated (no column header)" },
};

START_TEST(parse_bad_table)
{
	struct hsdo_servers_state st;
	char err[256] = "";
	int rc = parse_str(bad_cases[_i].in, &st, err, sizeof(err));

	ck_assert_msg(rc == bad_cases[_i].rc, "case %d: rc %d, want %d (%s)", _i, rc,
		bad_cases[_i].rc, err);
	ck_assert_str_eq(err, bad_cases[_i].err);
	ck_assert_ptr_null(st.srv);
	ck_assert_uint_eq(st.n, 0);
}
END_TEST

START_TEST(parse_name_too_long)
{
	char in[1024], name[HSDO_RTAPI_NAME_LEN + 1];
	struct hsdo_servers_state st;
	char err[256];

	memset(name, 'b', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	snprintf(in, sizeof(in), "1\n" HDR25 "3 %s 1 web1 127.0.0.2 0 5 1 1 1 1 0 0 14 0 0 0 - 80 - 0 0 - - 0\n\n",
		name);
	ck_assert_int_eq(parse_str(in, &st, err, sizeof(err)), -HSDO_EPROTO);
	ck_assert_msg(strncmp(err, "line 3: be_name: longer than 127 bytes", 38) == 0, "%s", err);
	name[sizeof(name) - 2] = '\0'; /* 127 bytes: fits */
	snprintf(in, sizeof(in), "1\n" HDR25 "3 %s 1 web1 127.0.0.2 0 5 1 1 1 1 0 0 14 0 0 0 - 80 - 0 0 - - 0\n\n",
		name);
	ck_assert_int_eq(parse_str(in, &st, err, sizeof(err)), 0);
	ck_assert_str_eq(st.srv[0].be_name, name);
	hsdo_rtapi_servers_state_free(&st);
}
END_TEST

START_TEST(parse_bounds)
{
	struct hsdo_servers_state st;
	char err[256];
	size_t big = (size_t)HSDO_RTAPI_STATE_MAX_BYTES + 1, len, i;
	char *buf = malloc(big);

	/* whole reply too big: refused before reading it */
	memset(buf, '\n', big);
	ck_assert_int_eq(hsdo_rtapi_parse_servers_state(buf, big, &st, err, sizeof(err)),
		-HSDO_ETOOBIG);
	/* one absurd line */
	len = (size_t)snprintf(buf, big, "1\n" HDR25);
	memset(buf + len, 'a', HSDO_RTAPI_LINE_MAX + 10);
	ck_assert_int_eq(hsdo_rtapi_parse_servers_state(buf, len + HSDO_RTAPI_LINE_MAX + 10,
		&st, err, sizeof(err)), -HSDO_ETOOBIG);
	ck_assert_str_eq(err, "line 3: longer than 8192 bytes");
	/* too many servers */
	len = (size_t)snprintf(buf, big, "1\n# be_id be_name srv_id srv_name srv_addr "
		"srv_op_state srv_admin_state srv_uweight srv_port\n");
	for (i = 0; i <= HSDO_RTAPI_SERVERS_MAX; i++) {
		memcpy(buf + len, "1 b 1 s - 0 0 1 80\n", 19);
		len += 19;
	}
	buf[len++] = '\n';
	ck_assert_int_eq(hsdo_rtapi_parse_servers_state(buf, len, &st, err, sizeof(err)),
		-HSDO_ETOOBIG);
	ck_assert_str_eq(err, "line 400003: more than 400000 servers");
	ck_assert_ptr_null(st.srv);
	/* one fewer is fine */
	len -= 20;
	buf[len++] = '\n';
	ck_assert_int_eq(hsdo_rtapi_parse_servers_state(buf, len, &st, err, sizeof(err)), 0);
	ck_assert_uint_eq(st.n, HSDO_RTAPI_SERVERS_MAX);
	hsdo_rtapi_servers_state_free(&st);
	free(buf);
}
END_TEST

START_TEST(parse_null_args)
{
	struct hsdo_servers_state st;

	ck_assert_int_eq(hsdo_rtapi_parse_servers_state("1\n", 2, NULL, NULL, 0), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_rtapi_parse_servers_state(NULL, 5, &st, NULL, 0), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_rtapi_parse_servers_state(NULL, 0, &st, NULL, 0), -HSDO_EAGAIN);
	/* no error buffer: still a clean error */
	ck_assert_int_eq(hsdo_rtapi_parse_servers_state("2\n", 2, &st, NULL, 0), -HSDO_EPROTO);
}
END_TEST

START_TEST(parse_alloc_failures)
{
	struct hsdo_servers_state st;
	char err[256];
	size_t len;
	char *buf = hsdo_test_load_data("rtapi/state_fresh_all.txt", &len);
	unsigned long k;
	int rc = -HSDO_ENOMEM;

	for (k = 1; rc == -HSDO_ENOMEM && k < 100; k++) {
		hsdo_alloc_fail_at(k, 0);
		rc = hsdo_rtapi_parse_servers_state(buf, len, &st, err, sizeof(err));
		hsdo_alloc_fail_at(0, 0);
		if (rc == -HSDO_ENOMEM) {
			ck_assert_ptr_null(st.srv);
			ck_assert_uint_eq(st.n, 0);
		}
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_gt(k, 2); /* at least one failure was injected */
	ck_assert_uint_eq(st.n, 11);
	hsdo_rtapi_servers_state_free(&st);
	free(buf);
}
END_TEST

/* ---- admin masks ------------------------------------------------------------------ */

static const struct {
	unsigned admin;
	bool maint;
	bool drain;
} admin_cases[] = {
	{ 0x00, false, false },
	{ 0x01, true, false },   /* FMAINT */
	{ 0x02, true, false },   /* IMAINT */
	{ 0x04, false, false },  /* CMAINT alone: enabled template slot, serving */
	{ 0x05, true, false },   /* `disabled` template at start */
	{ 0x08, false, true },   /* FDRAIN */
	{ 0x0c, false, true },   /* drained template slot */
	{ 0x10, false, true },   /* IDRAIN */
	{ 0x20, true, false },   /* RMAINT */
	{ 0x25, true, false },   /* unresolved placeholder (lab: 37) */
	{ 0x40, false, false },  /* HMAINT is not maintenance either */
	{ 0x09, true, true },
};

START_TEST(admin_masks)
{
	ck_assert_int_eq(hsdo_rtapi_admin_is_maint(admin_cases[_i].admin), admin_cases[_i].maint);
	ck_assert_int_eq(hsdo_rtapi_admin_is_drain(admin_cases[_i].admin), admin_cases[_i].drain);
}
END_TEST

/* ---- set server replies ------------------------------------------------------------ */

static const struct {
	const char *reply;
	int rc;
} reply_cases[] = {
	/* exact strings from the 2.6.12 lab notes (doc §4.5, §4.9) */
	{ "IP changed from '127.0.0.2' to '127.0.0.1', port changed from '80' to '18081' "
	  "by 'stats socket command'\n\n", 0 },
	{ "no need to change the addr, no need to change the port by 'stats socket command'\n\n", 0 },
	{ "no need to change the addr by 'stats socket command'\n\n", 0 },
	{ "no need to change the addr, port changed from '80' to '34463' by 'stats socket command'\n\n", 0 },
	/* 3.0 and 3.2: an unchanged address or port is left out, and nothing
	 * to do at all is "nothing changed" (check_haproxy_converge@3.x) */
	{ "port changed from '80' to '8081' by 'stats socket command'\n\n", 0 },
	{ "nothing changed\n\n", 0 },
	{ "nothing changed yet\n\n", -HSDO_EINVAL },
	{ "problem converting port 'abc' to an int\n\n", -HSDO_EINVAL },
	{ "\n", 0 },
	{ "", 0 },
	{ "\n\n", 0 },
	{ "No such server.\n\n", -HSDO_ENOTFOUND },
	{ "No such backend.\n\n", -HSDO_ENOTFOUND },
	{ "Invalid addr '999.1.1.1' by 'stats socket command'\n\n", -HSDO_EINVAL },
	{ "Invalid addr 'example.com' by 'stats socket command'\n\n", -HSDO_EINVAL },
	{ "IP changed from '127.0.0.2' to '127.0.0.1', problem converting port 'abc' to an int "
	  "by 'stats socket command'\n\n", -HSDO_EINVAL },
	{ "no need to change the addr, can't change <port> to port map because it is "
	  "incompatible with current health check port configuration (use 'port' statement "
	  "from the 'server' directive. by 'stats socket command'\n\n", -HSDO_EINVAL },
	{ "set server <b>/<s> addr requires an address and optionally a port.\n\n", -HSDO_EINVAL },
	{ "Update for the current server address family is only supported through "
	  "configuration file by 'stats socket command'\n\n", -HSDO_EINVAL },
	{ "Absolute weight can only be between 0 and 256 inclusive.\n\n", -HSDO_EINVAL },
	{ "Empty weight string empty or preceded by garbage\n", -HSDO_EINVAL },
	{ "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n", -HSDO_EINVAL },
	{ "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n\n",
	  -HSDO_EINVAL },
	{ "Permission denied\n\n", -HSDO_EINVAL },
	{ "IP changed", -HSDO_EINVAL },  /* not even a full clause */
	{ "IP changed from 'a' to 'b', garbage by 'x'", -HSDO_EINVAL },
	/* a `;`-joined batch: one failure fails the batch */
	{ "\nNo such server.\n\n", -HSDO_ENOTFOUND },
};

START_TEST(reply_table)
{
	char err[256] = "?";
	const char *r = reply_cases[_i].reply;
	int rc = hsdo_rtapi_set_server_reply(r, strlen(r), err, sizeof(err));

	ck_assert_msg(rc == reply_cases[_i].rc, "'%s': rc %d", r, rc);
	if (rc == 0)
		ck_assert_str_eq(err, "");
	else
		ck_assert_msg(strstr(r, err) != NULL && err[0] != '\0', "err '%s'", err);
}
END_TEST

START_TEST(reply_error_text)
{
	char err[256];
	const char *r = "IP changed from '127.0.0.2' to '127.0.0.1', problem converting port "
		"'abc' to an int by 'stats socket command'\n\n";

	ck_assert_int_eq(hsdo_rtapi_set_server_reply(r, strlen(r), err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_str_eq(err, "IP changed from '127.0.0.2' to '127.0.0.1', problem converting "
		"port 'abc' to an int by 'stats socket command'");
	ck_assert_int_eq(hsdo_rtapi_set_server_reply("No such server.\n", 16, err, 8),
		-HSDO_ENOTFOUND);
	ck_assert_str_eq(err, "No such");
	ck_assert_int_eq(hsdo_rtapi_set_server_reply("x\x1b[2J\n", 6, err, sizeof(err)),
		-HSDO_EINVAL);
	ck_assert_str_eq(err, "x?[2J");
	ck_assert_int_eq(hsdo_rtapi_set_server_reply(NULL, 0, NULL, 0), 0);
}
END_TEST

/* Every reply recorded from HAProxy: replies/ok_* succeed, err_* fail. */
START_TEST(reply_recorded)
{
	char *dir = hsdo_test_data_path("rtapi/replies");
	struct dirent *de;
	DIR *d = opendir(dir);
	int nok = 0, nerr = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		char rel[512], err[256];
		size_t len;
		char *buf;
		int rc;

		if (de->d_name[0] == '.')
			continue;
		snprintf(rel, sizeof(rel), "rtapi/replies/%s", de->d_name);
		buf = hsdo_test_load_data(rel, &len);
		rc = hsdo_rtapi_set_server_reply(buf, len, err, sizeof(err));
		if (strncmp(de->d_name, "ok_", 3) == 0) {
			ck_assert_msg(rc == 0, "%s: rc %d (%s)", de->d_name, rc, err);
			nok++;
		} else {
			ck_assert_msg(strncmp(de->d_name, "err_", 4) == 0, "%s", de->d_name);
			ck_assert_msg(rc < 0, "%s classified as success", de->d_name);
			ck_assert_msg(err[0] != '\0', "%s: no error text", de->d_name);
			nerr++;
		}
		free(buf);
	}
	closedir(d);
	free(dir);
	ck_assert_int_ge(nok, 5);
	ck_assert_int_ge(nerr, 10);
}
END_TEST

static Suite *rtapi_suite(void)
{
	Suite *s = suite_create("rtapi");
	TCase *tc = tcase_create("escape");

	tcase_add_loop_test(tc, escape_table, 0, (int)(sizeof(escape_cases) / sizeof(escape_cases[0])));
	tcase_add_test(tc, escape_bounds);
	suite_add_tcase(s, tc);

	tc = tcase_create("servers_state");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, parse_fresh_all);
	tcase_add_test(tc, parse_mixed);
	tcase_add_test(tc, parse_unknown_backend);
	tcase_add_loop_test(tc, parse_every_prefix, 0, (int)(sizeof(transcripts) / sizeof(transcripts[0])));
	tcase_add_loop_test(tc, parse_mutations, 0, (int)(sizeof(transcripts) / sizeof(transcripts[0])));
	tcase_add_test(tc, parse_columns_reordered_extra);
	tcase_add_test(tc, parse_empty_backend);
	tcase_add_loop_test(tc, parse_bad_table, 0, (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, parse_name_too_long);
	tcase_add_test(tc, parse_bounds);
	tcase_add_test(tc, parse_null_args);
	tcase_add_test(tc, parse_alloc_failures);
	suite_add_tcase(s, tc);

	tc = tcase_create("admin");
	tcase_add_loop_test(tc, admin_masks, 0, (int)(sizeof(admin_cases) / sizeof(admin_cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("replies");
	tcase_add_loop_test(tc, reply_table, 0, (int)(sizeof(reply_cases) / sizeof(reply_cases[0])));
	tcase_add_test(tc, reply_error_text);
	tcase_add_test(tc, reply_recorded);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(rtapi_suite());
}
