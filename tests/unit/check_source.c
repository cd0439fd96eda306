/* Discovery sources, pure parts: the static YAML list (good files, every
 * malformed shape with FILE:LINE, hostile nesting and anchors, prefixes,
 * allocation failures), the Consul health reply (samples, address
 * fallback, missing fields, blocking-query index rules, URLs), and the
 * Auto Scaling + EC2 merge (every lifecycle state, health, EC2 state, no
 * IP, gone instances, hooks, duplicates, the AWS samples), the
 * CompleteLifecycleAction body and InvalidInstanceID.NotFound messages;
 * plus the interface wrappers and hsdo_source_open_config. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hsdo/alloc.h"
#include "hsdo/aws_query.h"
#include "hsdo/config.h"
#include "hsdo/err.h"
#include "hsdo/http.h"
#include "hsdo/source.h"
#include "hsdo/source_static.h"
#include "hsdo/source_consul.h"
#include "hsdo/source_aws.h"
#include "hsdo_test.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define FN "inst.yaml"

static char g_err[1024];

static int sparse(const char *text, struct hsdo_source_result *r)
{
	g_err[0] = '\0';
	return hsdo_source_static_parse(text, strlen(text), FN, r, g_err, sizeof(g_err));
}

static void assert_zeroed(const struct hsdo_source_result *r)
{
	ck_assert_ptr_null(r->instances);
	ck_assert_ptr_null(r->groups);
	ck_assert_ptr_null(r->awaiting);
	ck_assert_uint_eq(r->n, 0);
	ck_assert_uint_eq(r->ngroups, 0);
}

static const struct hsdo_source_group *group_of(const struct hsdo_source_result *r,
						const char *name)
{
	size_t i;

	for (i = 0; i < r->ngroups; i++)
		if (strcmp(r->groups[i].name, name) == 0)
			return &r->groups[i];
	ck_abort_msg("no group %s", name);
	return NULL;
}

static const struct hsdo_instance *inst_of(const struct hsdo_source_result *r, const char *id)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->instances[i].id, id) == 0)
			return &r->instances[i];
	return NULL;
}

static void assert_sorted_unique(const struct hsdo_source_result *r)
{
	size_t i, leaving = 0;

	for (i = 0; i < r->n; i++) {
		if (i > 0)
			ck_assert_msg(strcmp(r->instances[i - 1].id, r->instances[i].id) < 0,
				      "%s before %s", r->instances[i - 1].id, r->instances[i].id);
		leaving += r->instances[i].leaving;
	}
	ck_assert_uint_eq(leaving, r->nleaving);
}

/* ---- static list ----------------------------------------------------------------- */

static const char good_static[] =
	"# the web tier\n"
	"- name: web-2\n"
	"  ip: 10.0.0.2\n"
	"  group: web\n"
	"  az: eu-west-1b\n"
	"- {name: web-1, ip: \"10.0.0.1\", port: 8080, group: web, az: eu-west-1a}\n"
	"- name: api-1\n"
	"  ip: \"2001:db8::1\"\n"
	"  port: \"9000\"\n"
	"  group: \"api tier\"\n"
	"- name: web-3\n"
	"  ip: 10.0.0.3\n"
	"  group: web\n"
	"  leaving: true\n"
	"- name: solo\n"
	"  ip: 192.168.0.9\n"
	"  leaving: No\n"
	"  port: ~\n";

/* A long list in scrambled order comes out sorted by id with each
 * instance whole (the sort moves the records in place, cycle by cycle),
 * and the array holds what was kept, not what was reserved. */
START_TEST(static_scrambled_sorted_in_place)
{
	enum { N = 3001 };
	struct hsdo_source_result r;
	size_t i, len = 0, cap = (size_t)N * 96;
	char *text = malloc(cap);

	ck_assert_ptr_nonnull(text);
	for (i = 0; i < N; i++) {
		size_t k = (i * 1597) % N;   /* 1597 and N coprime: a permutation */

		len += (size_t)snprintf(text + len, cap - len,
					"- {name: i-%05zu, ip: 10.0.%zu.%zu, group: g%zu%s}\n", k,
					k / 250, k % 250, k % 3, k % 7 == 0 ? ", leaving: true" : "");
	}
	ck_assert_int_eq(hsdo_source_static_parse(text, len, FN, &r, g_err, sizeof(g_err)), 0);
	free(text);
	ck_assert_uint_eq(r.n, N);
	assert_sorted_unique(&r);
	for (i = 0; i < N; i++) {
		char id[16], ip[24], group[8];

		snprintf(id, sizeof(id), "i-%05zu", i);
		snprintf(ip, sizeof(ip), "10.0.%zu.%zu", i / 250, i % 250);
		snprintf(group, sizeof(group), "g%zu", i % 3);
		ck_assert_str_eq(r.instances[i].id, id);
		ck_assert_str_eq(r.instances[i].ip, ip);
		ck_assert_str_eq(r.instances[i].group, group);
		ck_assert(r.instances[i].leaving == (i % 7 == 0));
	}
	hsdo_source_result_free(&r);
}
END_TEST

START_TEST(static_good)
{
	struct hsdo_source_result r;
	const struct hsdo_instance *in;
	const struct hsdo_source_group *g;

	ck_assert_int_eq(sparse(good_static, &r), 0);
	ck_assert_uint_eq(r.n, 5);
	assert_sorted_unique(&r);
	ck_assert_str_eq(r.instances[0].id, "api-1");
	ck_assert_str_eq(r.instances[1].id, "solo");
	ck_assert_str_eq(r.instances[2].id, "web-1");
	ck_assert_str_eq(r.instances[4].id, "web-3");
	in = inst_of(&r, "web-1");
	ck_assert_str_eq(in->ip, "10.0.0.1");
	ck_assert_uint_eq(in->port, 8080);
	ck_assert_str_eq(in->group, "web");
	ck_assert_str_eq(in->az, "eu-west-1a");
	ck_assert(!in->leaving);
	in = inst_of(&r, "api-1");
	ck_assert_str_eq(in->ip, "2001:db8::1");
	ck_assert_uint_eq(in->port, 9000);
	ck_assert_str_eq(in->group, "api tier");
	ck_assert_str_eq(in->az, "");
	in = inst_of(&r, "web-3");
	ck_assert(in->leaving);
	ck_assert_uint_eq(in->port, 0);
	in = inst_of(&r, "solo");
	ck_assert(!in->leaving);
	ck_assert_str_eq(in->group, "");
	ck_assert_uint_eq(r.nleaving, 1);
	ck_assert_uint_eq(r.duplicates, 0);
	ck_assert_uint_eq(r.nawaiting, 0);
	ck_assert_str_eq(r.warning, "");
	/* groups in order of appearance */
	ck_assert_uint_eq(r.ngroups, 3);
	ck_assert_str_eq(r.groups[0].name, "web");
	ck_assert_str_eq(r.groups[1].name, "api tier");
	ck_assert_str_eq(r.groups[2].name, "");
	g = group_of(&r, "web");
	ck_assert_uint_eq(g->seen, 3);
	ck_assert_uint_eq(g->ready, 2);
	ck_assert_uint_eq(g->leaving, 1);
	ck_assert_uint_eq(g->skipped, 0);
	hsdo_source_result_free(&r);
	assert_zeroed(&r);
	hsdo_source_result_free(NULL);
}
END_TEST

START_TEST(static_empty_list)
{
	struct hsdo_source_result r;

	ck_assert_int_eq(sparse("[]\n", &r), 0);
	ck_assert_uint_eq(r.n, 0);
	ck_assert_uint_eq(r.ngroups, 0);
	hsdo_source_result_free(&r);
	ck_assert_int_eq(sparse("# nothing yet\n---\n[]\n", &r), 0);
	hsdo_source_result_free(&r);
}
END_TEST

static const struct {
	const char *text;
	const char *msg;        /* exact error */
} static_bad[] = {
	{ "", FN ":1: no instance list (write [] for none)" },
	{ "# only a comment\n\n", FN ":1: no instance list (write [] for none)" },
	{ "\n\n~\n", FN ":3: no instance list (write [] for none)" },
	{ "instances:\n  - name: a\n", FN ":1: expected a list of instances, got a mapping" },
	{ "just text\n", FN ":1: expected a list of instances, got a scalar" },
	{ "- name: a\n  ip: 10.0.0.1\n- web-2\n",
	  FN ":3: instance 2: expected a mapping with name and ip, got a scalar" },
	{ "- name: a\n  ip: 10.0.0.1\n-\n",
	  FN ":3: instance 2: expected a mapping with name and ip, got nothing" },
	{ "- [a, b]\n", FN ":1: instance 1: expected a mapping with name and ip, got a list" },
	{ "- ip: 10.0.0.1\n  group: g\n", FN ":1: instance 1: missing name" },
	{ "- name: \"\"\n  ip: 10.0.0.1\n", FN ":1: instance 1: empty name" },
	{ "- name:\n  ip: 10.0.0.1\n", FN ":1: instance 1: empty name" },
	{ "- name: a\n", FN ":1: instance 'a': missing ip" },
	{ "- name: a\n  ip:\n", FN ":2: instance 'a': missing ip" },
	{ "- name: a\n  ip: 10.0.0.256\n",
	  FN ":2: instance 'a': ip '10.0.0.256' is not an IPv4 or IPv6 address" },
	{ "- name: a\n  ip: web.example.com\n",
	  FN ":2: instance 'a': ip 'web.example.com' is not an IPv4 or IPv6 address" },
	{ "- name: a\n  ip: \"\"\n", FN ":2: instance 'a': ip '' is not an IPv4 or IPv6 address" },
	{ "- name: a\n  ip: 10.0.0.1\n  port: 0\n",
	  FN ":3: instance 'a': port must be a number in 1..65535, got '0'" },
	{ "- name: a\n  ip: 10.0.0.1\n  port: 65536\n",
	  FN ":3: instance 'a': port must be a number in 1..65535, got '65536'" },
	{ "- name: a\n  ip: 10.0.0.1\n  port: -1\n",
	  FN ":3: instance 'a': port must be a number in 1..65535, got '-1'" },
	{ "- name: a\n  ip: 10.0.0.1\n  port: http\n",
	  FN ":3: instance 'a': port must be a number in 1..65535, got 'http'" },
	{ "- name: a\n  ip: 10.0.0.1\n  port: 080080\n",
	  FN ":3: instance 'a': port must be a number in 1..65535, got '080080'" },
	{ "- name: a\n  ip: 10.0.0.1\n  leavng: true\n",
	  FN ":3: instance 1: unknown key 'leavng' (expected name, ip, port, group, az or leaving)" },
	{ "- name: a\n  ip: 10.0.0.1\n  ip: 10.0.0.2\n",
	  FN ":3: instance 1: duplicate key ip (first on line 2)" },
	{ "- name: a\n  ip: 10.0.0.1\n  leaving: maybe\n",
	  FN ":3: instance 'a': leaving must be true or false, got 'maybe'" },
	{ "- name: a\n  ip: 10.0.0.1\n  leaving: 1\n",
	  FN ":3: instance 'a': leaving must be true or false, got '1'" },
	{ "- name: web 1\n  ip: 10.0.0.1\n",
	  FN ":1: instance 1: name must be printable ASCII without spaces" },
	{ "- name: \"w\\u00e9b\"\n  ip: 10.0.0.1\n",
	  FN ":1: instance 1: name must be printable ASCII without spaces" },
	{ "- name: a\n  ip: 10.0.0.1\n  group: \"a\\tb\"\n",
	  FN ":3: instance 'a': group must not contain control characters" },
	{ "- name: a\n  ip: 10.0.0.1\n  az: eu-west-1a-but-much-longer-than-a-zone\n",
	  FN ":3: instance 'a': az is longer than 31 bytes" },
	{ "- name: [a]\n  ip: 10.0.0.1\n", FN ":1: instance 1: name must be a scalar, got a list" },
	{ "- name: a\n  ip: {v4: 10.0.0.1}\n", FN ":2: instance 1: ip must be a scalar, got a mapping" },
	{ "- {[k]: v}\n", FN ":1: instance 1: keys must be scalars, got a list" },
	{ "- name: a\n  ip: 10.0.0.1\n- name: b\n  ip: 10.0.0.2\n- name: a\n  ip: 10.0.0.3\n",
	  FN ":5: instance 'a': duplicate name (first on line 1)" },
	{ "- name: a\n  ip: [10.0.0.1\n",
	  FN ":3: syntax error: did not find expected ',' or ']' (while parsing a flow sequence on line 2)" },
	{ "- name: a\n\tip: 10.0.0.1\n",
	  FN ":2: syntax error: found a tab character that violates indentation (while scanning a "
	  "plain scalar on line 1)" },
	{ "[]\n---\n[]\n", FN ":2: syntax error: only one YAML document is allowed" },
	{ "- name: a\n  ip: 10.0.0.1\n  group: \"\\x01\"\n",
	  FN ":3: instance 'a': group must not contain control characters" },
};

START_TEST(static_malformed)
{
	struct hsdo_source_result r;
	int rc = sparse(static_bad[_i].text, &r);

	ck_assert_msg(rc == -HSDO_EPROTO, "case %d: rc %d (%s)", _i, rc, g_err);
	ck_assert_str_eq(g_err, static_bad[_i].msg);
	assert_zeroed(&r);
}
END_TEST

START_TEST(static_long_fields)
{
	char name[HSDO_NAME_LEN + 1], text[2 * HSDO_NAME_LEN + 128];
	struct hsdo_source_result r;

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	/* 256 bytes: one too many */
	snprintf(text, sizeof(text), "- name: %s\n  ip: 10.0.0.1\n", name);
	ck_assert_int_eq(sparse(text, &r), -HSDO_EPROTO);
	ck_assert_str_eq(g_err, FN ":1: instance 1: name is longer than 255 bytes");
	/* 255 bytes fit */
	name[HSDO_NAME_LEN - 1] = '\0';
	snprintf(text, sizeof(text), "- name: %s\n  ip: 10.0.0.1\n", name);
	ck_assert_int_eq(sparse(text, &r), 0);
	ck_assert_str_eq(r.instances[0].id, name);
	hsdo_source_result_free(&r);
	snprintf(text, sizeof(text), "- name: a\n  ip: 10.0.0.1\n  group: %s%s\n", name, "g");
	ck_assert_int_eq(sparse(text, &r), -HSDO_EPROTO);
	ck_assert_str_eq(g_err, FN ":3: instance 'a': group is longer than 255 bytes");
}
END_TEST

/* Hostile documents are refused by the shared YAML guard before libyaml
 * builds anything. */
START_TEST(static_hostile)
{
	struct hsdo_source_result r;
	size_t depth = 100000, i, n;
	char *buf = malloc(2 * depth + 64), *p;
	int rc;

	/* deep flow nesting */
	for (i = 0; i < depth; i++)
		buf[i] = '[';
	for (i = 0; i < depth; i++)
		buf[depth + i] = ']';
	buf[2 * depth] = '\0';
	rc = hsdo_source_static_parse(buf, 2 * depth, FN, &r, g_err, sizeof(g_err));
	ck_assert_int_eq(rc, -HSDO_EPROTO);
	ck_assert_str_eq(g_err, FN ":1: nesting deeper than 32 levels");
	free(buf);

	/* anchors */
	n = 1001;
	buf = malloc(n * 40 + 16);
	for (i = 0, p = buf; i < n; i++)
		p += snprintf(p, 40, "- &a%zu {name: i%zu, ip: 10.0.0.1}\n", i, i);
	rc = hsdo_source_static_parse(buf, (size_t)(p - buf), FN, &r, g_err, sizeof(g_err));
	ck_assert_int_eq(rc, -HSDO_EPROTO);
	ck_assert_str_eq(g_err, FN ":1001: more than 1000 anchors");
	free(buf);

	/* billion laughs: aliases of aliases */
	buf = malloc(1 << 16);
	p = buf + snprintf(buf, 64, "- &a [x, x, x, x, x, x, x, x, x, x]\n");
	for (i = 0; i < 1100; i++)
		p += snprintf(p, 8, "- *a\n");
	rc = hsdo_source_static_parse(buf, (size_t)(p - buf), FN, &r, g_err, sizeof(g_err));
	ck_assert_int_eq(rc, -HSDO_EPROTO);
	ck_assert_str_eq(g_err, FN ":1002: more than 1000 aliases");
	free(buf);

	/* a few aliases are fine YAML, but an alias of a list is not an entry */
	rc = sparse("- &x {name: a, ip: 10.0.0.1}\n- *x\n", &r);
	ck_assert_int_eq(rc, -HSDO_EPROTO);
	ck_assert_str_eq(g_err, FN ":1: instance 'a': duplicate name (first on line 1)");
	assert_zeroed(&r);
}
END_TEST

START_TEST(static_bounds)
{
	struct hsdo_source_result r;
	size_t n = HSDO_SOURCE_INSTANCES_MAX + 1, i;
	char *buf = malloc(n * 48 + 16), *p = buf;
	int rc;

	/* file size is checked before anything is read */
	memset(buf, ' ', 64);
	rc = hsdo_source_static_parse(buf, HSDO_SOURCE_STATIC_FILE_MAX + 1, FN, &r, g_err,
				      sizeof(g_err));
	ck_assert_int_eq(rc, -HSDO_ETOOBIG);
	ck_assert_ptr_nonnull(strstr(g_err, "file too large"));
	for (i = 0; i < n; i++)
		p += snprintf(p, 48, "- {name: i%zu, ip: 10.0.%zu.%zu}\n", i, (i >> 8) & 255,
			      i & 255);
	rc = hsdo_source_static_parse(buf, (size_t)(p - buf), FN, &r, g_err, sizeof(g_err));
	ck_assert_int_eq(rc, -HSDO_ETOOBIG);
	ck_assert_str_eq(g_err, FN ":100001: more than 100000 instances");
	assert_zeroed(&r);
	/* one fewer is fine */
	p = strrchr(buf, '-');
	rc = hsdo_source_static_parse(buf, (size_t)(p - buf), FN, &r, g_err, sizeof(g_err));
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(r.n, HSDO_SOURCE_INSTANCES_MAX);
	assert_sorted_unique(&r);
	hsdo_source_result_free(&r);
	free(buf);
	ck_assert_int_eq(hsdo_source_static_parse(NULL, 3, FN, &r, g_err, sizeof(g_err)),
			 -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_source_static_parse("[]", 2, FN, NULL, g_err, sizeof(g_err)),
			 -HSDO_EINVAL);
	/* no file name: a placeholder */
	ck_assert_int_eq(hsdo_source_static_parse("x", 1, NULL, &r, g_err, sizeof(g_err)),
			 -HSDO_EPROTO);
	ck_assert_str_eq(g_err, "<static>:1: expected a list of instances, got a scalar");
}
END_TEST

/* Every prefix of a good file parses or fails cleanly, never partially. */
START_TEST(static_prefixes)
{
	size_t len = strlen(good_static), k;

	for (k = 0; k <= len; k++) {
		struct hsdo_source_result r;
		char *b = malloc(k + 1);
		int rc;

		memcpy(b, good_static, k);
		rc = hsdo_source_static_parse(b, k, FN, &r, g_err, sizeof(g_err));
		if (rc == 0) {
			assert_sorted_unique(&r);
			ck_assert_uint_le(r.n, 5);
			hsdo_source_result_free(&r);
		} else {
			ck_assert_int_eq(rc, -HSDO_EPROTO);
			ck_assert_msg(strncmp(g_err, FN ":", strlen(FN) + 1) == 0, "%s", g_err);
			assert_zeroed(&r);
		}
		free(b);
	}
}
END_TEST

START_TEST(static_alloc_failures)
{
	unsigned long k;
	int rc = -1;

	for (k = 1; rc != 0; k++) {
		struct hsdo_source_result r;

		hsdo_alloc_fail_at(k, 1);
		rc = sparse(good_static, &r);
		hsdo_alloc_fail_at(0, 0);
		if (rc != 0) {
			ck_assert_int_eq(rc, -HSDO_ENOMEM);
			assert_zeroed(&r);
		} else {
			ck_assert_uint_eq(r.n, 5);
			hsdo_source_result_free(&r);
		}
	}
	ck_assert_uint_gt(k, 3);
}
END_TEST

/* ---- Consul ---------------------------------------------------------------------- */

static int cparse(const char *json, const char *svc, struct hsdo_source_result *r)
{
	g_err[0] = '\0';
	return hsdo_source_consul_parse(json, strlen(json), svc, r, g_err, sizeof(g_err));
}

START_TEST(consul_sample)
{
	struct hsdo_source_result r;
	size_t len;
	char *buf = hsdo_test_load_data("consul-samples/health-service-redis.json", &len);

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(hsdo_source_consul_parse(buf, len, "redis", &r, g_err, sizeof(g_err)), 0);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_str_eq(r.instances[0].id, "foobar/redis");
	ck_assert_str_eq(r.instances[0].ip, "10.1.10.12");
	ck_assert_uint_eq(r.instances[0].port, 8000);
	ck_assert_str_eq(r.instances[0].group, "redis");
	ck_assert_str_eq(r.instances[0].az, "");
	ck_assert(!r.instances[0].leaving);
	ck_assert_uint_eq(r.ngroups, 1);
	ck_assert_str_eq(r.groups[0].name, "redis");
	ck_assert_uint_eq(r.groups[0].seen, 1);
	ck_assert_uint_eq(r.groups[0].ready, 1);
	hsdo_source_result_free(&r);
	free(buf);

	/* the catalog endpoint's flat shape is not mistaken for it */
	buf = hsdo_test_load_data("consul-samples/catalog-service-web.json", &len);
	ck_assert_int_eq(hsdo_source_consul_parse(buf, len, "web", &r, g_err, sizeof(g_err)),
			 -HSDO_EPROTO);
	ck_assert_str_eq(g_err, "consul web: entry 1: missing Node or Service object");
	assert_zeroed(&r);
	free(buf);
}
END_TEST

#define ENTRY(node, naddr, sid, saddr, port) \
	"{\"Node\":{\"Node\":\"" node "\",\"Address\":\"" naddr "\"},"              \
	"\"Service\":{\"ID\":\"" sid "\",\"Service\":\"web\",\"Address\":\"" saddr \
	"\",\"Port\":" port "},\"Checks\":[]}"

START_TEST(consul_addresses)
{
	struct hsdo_source_result r;
	const struct hsdo_instance *in;

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(cparse("[" ENTRY("n1", "10.0.0.1", "web", "", "80") ","
				ENTRY("n2", "10.0.0.2", "web", "10.9.9.2", "8080") ","
				ENTRY("n3", "10.0.0.3", "web", "web3.internal", "80") ","
				ENTRY("n4", "", "web-4", "", "80") ","
				ENTRY("n5", "10.0.0.5", "web", "2001:db8::5", "0") "]",
				"web", &r), 0);
	ck_assert_uint_eq(r.n, 3);
	/* Service.Address empty: Node.Address */
	in = inst_of(&r, "n1/web");
	ck_assert_ptr_nonnull(in);
	ck_assert_str_eq(in->ip, "10.0.0.1");
	ck_assert_uint_eq(in->port, 80);
	/* Service.Address wins */
	in = inst_of(&r, "n2/web");
	ck_assert_str_eq(in->ip, "10.9.9.2");
	ck_assert_uint_eq(in->port, 8080);
	in = inst_of(&r, "n5/web");
	ck_assert_str_eq(in->ip, "2001:db8::5");
	ck_assert_uint_eq(in->port, 0);
	/* a host name or no address at all: skipped, counted, named */
	ck_assert_ptr_null(inst_of(&r, "n3/web"));
	ck_assert_ptr_null(inst_of(&r, "n4/web-4"));
	ck_assert_uint_eq(r.groups[0].seen, 5);
	ck_assert_uint_eq(r.groups[0].ready, 3);
	ck_assert_uint_eq(r.groups[0].skipped, 2);
	ck_assert_str_eq(r.warning, "consul web: n3/web: address 'web3.internal' is not an IP "
		"address (HAProxy needs one)");
	hsdo_source_result_free(&r);
}
END_TEST

START_TEST(consul_fields)
{
	struct hsdo_source_result r;
	const struct hsdo_instance *in;

	memset(&r, 0, sizeof(r));
	/* Port absent or null: 0 (the backend's port); unknown members ignored */
	ck_assert_int_eq(cparse("[{\"Node\":{\"Node\":\"a\",\"Address\":\"10.0.0.1\",\"X\":[1]},"
				"\"Service\":{\"ID\":\"s1\",\"Tags\":null},\"Extra\":true},"
				"{\"Node\":{\"Node\":\"b\",\"Address\":\"10.0.0.2\"},"
				"\"Service\":{\"ID\":\"s2\",\"Port\":null,\"Address\":null}}]",
				"web", &r), 0);
	ck_assert_uint_eq(r.n, 2);
	in = inst_of(&r, "a/s1");
	ck_assert_uint_eq(in->port, 0);
	ck_assert_str_eq(in->group, "web");
	hsdo_source_result_free(&r);
	/* an empty answer: the service has no passing instance */
	ck_assert_int_eq(cparse(" [ ]\n", "web", &r), 0);
	ck_assert_uint_eq(r.n, 0);
	ck_assert_uint_eq(r.ngroups, 1);
	ck_assert_uint_eq(r.groups[0].seen, 0);
	hsdo_source_result_free(&r);
}
END_TEST

static const struct {
	const char *json;
	int rc;
	const char *msg;
} consul_bad[] = {
	{ "", -HSDO_EPROTO, "consul web: empty reply" },
	{ "{}", -HSDO_EPROTO, "consul web: reply is not a JSON array" },
	{ "[", -HSDO_EPROTO, "consul web: invalid JSON at byte 0" },
	{ "[{\"a\":tru}]", -HSDO_EPROTO, "consul web: invalid JSON at byte 6" },
	{ "[] x", -HSDO_EPROTO, "consul web: trailing data at byte 3" },
	{ "[1]", -HSDO_EPROTO, "consul web: entry 1 is not an object" },
	{ "[{\"Node\":{\"Node\":\"a\"}}]", -HSDO_EPROTO,
	  "consul web: entry 1: missing Node or Service object" },
	{ "[{\"Service\":{\"ID\":\"a\"},\"Node\":\"n\"}]", -HSDO_EPROTO,
	  "consul web: entry 1: missing Node or Service object" },
	{ "[{\"Node\":{\"Address\":\"10.0.0.1\"},\"Service\":{\"ID\":\"a\"}}]", -HSDO_EPROTO,
	  "consul web: entry 1: Node.Node and Service.ID must be non-empty strings (Addresses strings)" },
	{ "[{\"Node\":{\"Node\":\"n\",\"Address\":\"10.0.0.1\"},\"Service\":{\"ID\":\"\"}}]",
	  -HSDO_EPROTO,
	  "consul web: entry 1: Node.Node and Service.ID must be non-empty strings (Addresses strings)" },
	{ "[{\"Node\":{\"Node\":\"n\",\"Address\":7},\"Service\":{\"ID\":\"a\"}}]", -HSDO_EPROTO,
	  "consul web: entry 1: Node.Node and Service.ID must be non-empty strings (Addresses strings)" },
	{ "[" ENTRY("n", "10.0.0.1", "a", "", "\"80\"") "]", -HSDO_EPROTO,
	  "consul web: entry 1: Service.Port is not a port number" },
	{ "[" ENTRY("n", "10.0.0.1", "a", "", "65536") "]", -HSDO_EPROTO,
	  "consul web: entry 1: Service.Port is not a port number" },
	{ "[" ENTRY("n", "10.0.0.1", "a", "", "8.5") "]", -HSDO_EPROTO,
	  "consul web: entry 1: Service.Port is not a port number" },
	{ "[" ENTRY("n", "10.0.0.1", "a", "", "-1") "]", -HSDO_EPROTO,
	  "consul web: entry 1: Service.Port is not a port number" },
	{ "[" ENTRY("n", "10.0.0.1", "a", "", "80") "," ENTRY("n", "10.0.0.1", "a", "", "1e6") "]",
	  -HSDO_EPROTO, "consul web: entry 2: Service.Port is not a port number" },
};

START_TEST(consul_malformed)
{
	struct hsdo_source_result r;
	int rc;

	memset(&r, 0, sizeof(r));
	rc = cparse(consul_bad[_i].json, "web", &r);
	ck_assert_int_eq(rc, consul_bad[_i].rc);
	ck_assert_str_eq(g_err, consul_bad[_i].msg);
	assert_zeroed(&r);
}
END_TEST

/* Several services append into one result; a failure leaves it as it was. */
START_TEST(consul_append_and_undo)
{
	struct hsdo_source_result r;
	char id[300], json[600];

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(cparse("[" ENTRY("n1", "10.0.0.1", "web", "", "80") ","
				ENTRY("n2", "10.0.0.2", "web", "x.y", "80") "]", "web", &r), 0);
	ck_assert_int_eq(cparse("[" ENTRY("n1", "10.0.0.1", "api", "", "81") "]", "api", &r), 0);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_uint_eq(r.ngroups, 2);
	ck_assert_str_eq(r.groups[1].name, "api");
	ck_assert_str_eq(r.instances[1].group, "api");
	/* fails on its second entry: nothing of it stays */
	ck_assert_int_eq(cparse("[" ENTRY("n7", "10.0.0.7", "db", "", "5432") ",{}]", "db", &r),
			 -HSDO_EPROTO);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_uint_eq(r.ngroups, 2);
	/* again for a service already present: its counts are restored */
	ck_assert_int_eq(cparse("[" ENTRY("n9", "10.0.0.9", "web", "", "80") ",3]", "web", &r),
			 -HSDO_EPROTO);
	ck_assert_uint_eq(r.groups[0].seen, 2);
	ck_assert_uint_eq(r.groups[0].ready, 1);
	ck_assert_uint_eq(r.groups[0].skipped, 1);
	ck_assert_str_eq(r.warning, "consul web: n2/web: address 'x.y' is not an IP address "
		"(HAProxy needs one)");
	hsdo_source_result_free(&r);
	/* an id over 255 bytes or with a space is skipped, not fatal */
	memset(id, 'i', 260);
	id[260] = '\0';
	snprintf(json, sizeof(json), "[{\"Node\":{\"Node\":\"n\",\"Address\":\"10.0.0.1\"},"
		 "\"Service\":{\"ID\":\"%s\"}},{\"Node\":{\"Node\":\"n b\",\"Address\":\"10.0.0.1\"},"
		 "\"Service\":{\"ID\":\"x\"}}]", id);
	ck_assert_int_eq(cparse(json, "web", &r), 0);
	ck_assert_uint_eq(r.n, 0);
	ck_assert_uint_eq(r.groups[0].skipped, 2);
	ck_assert_str_eq(r.warning, "consul web: node 'n' service 'iiiiiiiiiiiiiiiiiiiiiiiiiiiiii"
			 "iiiiiiiiiiiiiiiiii...': no usable instance id (printable ASCII without "
			 "spaces, at most 255 bytes)");
	hsdo_source_result_free(&r);
	/* arguments */
	ck_assert_int_eq(cparse("[]", "", &r), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_source_consul_parse("[]", 2, "web", NULL, g_err, sizeof(g_err)),
			 -HSDO_EINVAL);
}
END_TEST

START_TEST(consul_alloc_failures)
{
	static const char json[] = "[" ENTRY("n1", "10.0.0.1", "web", "", "80") ","
		ENTRY("n2", "10.0.0.2", "web", "", "80") "]";
	unsigned long k;
	int rc = -1;

	for (k = 1; rc != 0; k++) {
		struct hsdo_source_result r;

		memset(&r, 0, sizeof(r));
		hsdo_alloc_fail_at(k, 1);
		rc = cparse(json, "web", &r);
		hsdo_alloc_fail_at(0, 0);
		if (rc != 0) {
			ck_assert_int_eq(rc, -HSDO_ENOMEM);
			ck_assert_uint_eq(r.n, 0);
		} else {
			ck_assert_uint_eq(r.n, 2);
		}
		hsdo_source_result_free(&r);
	}
	ck_assert_uint_gt(k, 3);
}
END_TEST

static const struct {
	uint64_t prev;
	const char *hdr;
	uint64_t want;
} index_cases[] = {
	{ 0, "5", 5 },
	{ 5, "5", 5 },            /* wait ran out: same index, block again */
	{ 5, "7", 7 },
	{ 7, "3", 0 },            /* went backwards: start over */
	{ 0, "0", 1 },            /* never block on 0 */
	{ 9, "0", 0 },
	{ 3, "", 0 },             /* missing header: plain polling */
	{ 3, NULL, 0 },
	{ 3, "12a", 0 },
	{ 3, "-4", 0 },
	{ 3, " 4", 0 },
	{ 0, "18446744073709551615", 18446744073709551615ull },
	{ 0, "18446744073709551616", 0 },
	{ 0, "99999999999999999999999", 0 },
};

START_TEST(consul_index)
{
	ck_assert_uint_eq(hsdo_source_consul_next_index(index_cases[_i].prev, index_cases[_i].hdr),
			  index_cases[_i].want);
}
END_TEST

START_TEST(consul_urls)
{
	char out[256];
	int rc;

	rc = hsdo_source_consul_url("http://127.0.0.1:8500", "web", 0, 30000, out, sizeof(out));
	ck_assert_str_eq(out, "http://127.0.0.1:8500/v1/health/service/web?passing");
	ck_assert_int_eq(rc, (int)strlen(out));
	hsdo_source_consul_url("https://consul.example:8501/prefix//", "web", 42, 30000, out,
			       sizeof(out));
	ck_assert_str_eq(out, "https://consul.example:8501/prefix/v1/health/service/web"
			 "?passing&index=42&wait=30s");
	hsdo_source_consul_url("http://c", "a b/c?d&e", 7, 1500, out, sizeof(out));
	ck_assert_str_eq(out, "http://c/v1/health/service/a%20b%2Fc%3Fd%26e?passing&index=7"
			 "&wait=1500ms");
	hsdo_source_consul_url("http://c", "web", 7, -1, out, sizeof(out));
	ck_assert_str_eq(out, "http://c/v1/health/service/web?passing");
	hsdo_source_consul_url("http://c", "web", 7, 0, out, sizeof(out));
	ck_assert_str_eq(out, "http://c/v1/health/service/web?passing&index=7&wait=0s");
	rc = hsdo_source_consul_url("http://c", "web", 7, 30000, out, 40);
	ck_assert_int_eq(rc, -HSDO_ETOOBIG);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(hsdo_source_consul_url("///", "web", 0, 0, out, sizeof(out)),
			 -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_source_consul_url("http://c", "", 0, 0, out, sizeof(out)),
			 -HSDO_EINVAL);
}
END_TEST

/* ---- AWS ------------------------------------------------------------------------------ */

static struct hsdo_asg_instance asg(const char *id, const char *lc, const char *health)
{
	struct hsdo_asg_instance a;

	memset(&a, 0, sizeof(a));
	snprintf(a.id, sizeof(a.id), "%s", id);
	snprintf(a.lifecycle, sizeof(a.lifecycle), "%s", lc);
	snprintf(a.health, sizeof(a.health), "%s", health);
	snprintf(a.az, sizeof(a.az), "eu-west-1a");
	return a;
}

static struct hsdo_ec2_instance ec2i(const char *id, const char *state, const char *ip)
{
	struct hsdo_ec2_instance e;

	memset(&e, 0, sizeof(e));
	snprintf(e.id, sizeof(e.id), "%s", id);
	snprintf(e.state, sizeof(e.state), "%s", state);
	snprintf(e.ip, sizeof(e.ip), "%s", ip);
	snprintf(e.az, sizeof(e.az), "eu-west-1b");
	return e;
}

static const struct {
	const char *lc, *health, *state, *ip;   /* state NULL: EC2 does not know it */
	enum hsdo_source_aws_verdict want;
} classify_cases[] = {
	{ "InService", "Healthy", "running", "10.0.0.1", HSDO_SOURCE_AWS_READY },
	{ "InService", "Unhealthy", "running", "10.0.0.1", HSDO_SOURCE_AWS_LEAVING },
	{ "InService", "Healthy", "running", "", HSDO_SOURCE_AWS_SKIP },
	{ "InService", "Healthy", "pending", "10.0.0.1", HSDO_SOURCE_AWS_SKIP },
	{ "InService", "Healthy", "stopping", "10.0.0.1", HSDO_SOURCE_AWS_LEAVING },
	{ "InService", "Healthy", "stopped", "10.0.0.1", HSDO_SOURCE_AWS_LEAVING },
	{ "InService", "Healthy", "shutting-down", "10.0.0.1", HSDO_SOURCE_AWS_LEAVING },
	{ "InService", "Healthy", "terminated", "", HSDO_SOURCE_AWS_LEAVING },
	{ "InService", "Healthy", NULL, NULL, HSDO_SOURCE_AWS_LEAVING },
	{ "Terminating", "Healthy", "running", "10.0.0.1", HSDO_SOURCE_AWS_LEAVING },
	{ "Terminating:Wait", "Healthy", "running", "10.0.0.1", HSDO_SOURCE_AWS_LEAVING },
	{ "Terminating:Proceed", "Healthy", "running", "10.0.0.1", HSDO_SOURCE_AWS_LEAVING },
	{ "Terminated", "Unhealthy", "terminated", "", HSDO_SOURCE_AWS_LEAVING },
	{ "Detaching", "Healthy", "running", "10.0.0.1", HSDO_SOURCE_AWS_LEAVING },
	{ "Detached", "Healthy", "running", "10.0.0.1", HSDO_SOURCE_AWS_LEAVING },
	{ "EnteringStandby", "Healthy", "running", "10.0.0.1", HSDO_SOURCE_AWS_LEAVING },
	{ "Standby", "Healthy", "running", "10.0.0.1", HSDO_SOURCE_AWS_LEAVING },
	{ "Standby", "Healthy", NULL, NULL, HSDO_SOURCE_AWS_LEAVING },
	{ "Pending", "Healthy", "pending", "10.0.0.1", HSDO_SOURCE_AWS_SKIP },
	{ "Pending", "Healthy", NULL, NULL, HSDO_SOURCE_AWS_SKIP },   /* EC2 not caught up */
	{ "Pending:Wait", "Healthy", "running", "10.0.0.1", HSDO_SOURCE_AWS_SKIP },
	{ "Pending:Proceed", "Healthy", "running", "10.0.0.1", HSDO_SOURCE_AWS_SKIP },
	{ "Quarantined", "Healthy", "running", "10.0.0.1", HSDO_SOURCE_AWS_SKIP },
	{ "Warmed:Pending", "Healthy", "running", "10.0.0.1", HSDO_SOURCE_AWS_SKIP },
	{ "Warmed:Running", "Healthy", "running", "10.0.0.1", HSDO_SOURCE_AWS_SKIP },
	{ "Warmed:Stopped", "Healthy", "stopped", "10.0.0.1", HSDO_SOURCE_AWS_SKIP },
	{ "Warmed:Terminating:Wait", "Healthy", "running", "10.0.0.1", HSDO_SOURCE_AWS_SKIP },
	{ "Warmed:Hibernated", "Healthy", "stopped", "10.0.0.1", HSDO_SOURCE_AWS_SKIP },
	{ "SomethingNew", "Healthy", "running", "10.0.0.1", HSDO_SOURCE_AWS_SKIP },
	{ "inservice", "Healthy", "running", "10.0.0.1", HSDO_SOURCE_AWS_SKIP },
};

START_TEST(aws_classify)
{
	struct hsdo_asg_instance a = asg("i-1", classify_cases[_i].lc, classify_cases[_i].health);
	struct hsdo_ec2_instance e;
	enum hsdo_source_aws_verdict v;

	if (classify_cases[_i].state != NULL) {
		e = ec2i("i-1", classify_cases[_i].state, classify_cases[_i].ip);
		v = hsdo_source_aws_classify(&a, &e);
	} else {
		v = hsdo_source_aws_classify(&a, NULL);
	}
	ck_assert_msg(v == classify_cases[_i].want, "%s/%s/%s: %s, want %s",
		      classify_cases[_i].lc, classify_cases[_i].health,
		      classify_cases[_i].state ? classify_cases[_i].state : "(gone)",
		      hsdo_source_aws_verdict_str(v),
		      hsdo_source_aws_verdict_str(classify_cases[_i].want));
	ck_assert_str_eq(hsdo_source_aws_verdict_str(HSDO_SOURCE_AWS_VERDICT_COUNT), "unknown");
}
END_TEST

START_TEST(aws_build_states)
{
	struct hsdo_asg_instance web[] = {
		asg("i-ready", "InService", "Healthy"),
		asg("i-unhealthy", "InService", "Unhealthy"),
		asg("i-wait", "Terminating:Wait", "Healthy"),
		asg("i-term", "Terminating", "Healthy"),
		asg("i-standby", "Standby", "Healthy"),
		asg("i-pending", "Pending", "Healthy"),
		asg("i-noip", "InService", "Healthy"),
		asg("i-stopped", "InService", "Healthy"),
		asg("i-gone", "InService", "Healthy"),
		asg("i-gone-wait", "Terminating:Wait", "Healthy"),
	};
	struct hsdo_asg_instance api[] = {
		asg("i-api", "InService", "Healthy"),
		asg("i-ready", "Terminating", "Healthy"),   /* same id, another group */
	};
	struct hsdo_asg_instance other[] = { asg("i-other", "InService", "Healthy") };
	struct hsdo_asg_group groups[] = {
		{ "web", web, NELEM(web) }, { "not-asked", other, 1 }, { "api", api, NELEM(api) },
	};
	struct hsdo_ec2_instance ec2[] = {
		ec2i("i-stopped", "stopped", "10.0.0.8"), ec2i("i-ready", "running", "10.0.0.1"),
		ec2i("i-unhealthy", "running", "10.0.0.2"), ec2i("i-wait", "running", "10.0.0.3"),
		ec2i("i-term", "running", "10.0.0.4"), ec2i("i-standby", "running", "10.0.0.5"),
		ec2i("i-pending", "pending", ""), ec2i("i-noip", "running", ""),
		ec2i("i-api", "running", "10.1.0.1"), ec2i("i-other", "running", "10.2.0.1"),
	};
	const char *wanted[] = { "web", "api", "missing", "web" };
	struct hsdo_source_result r;
	const struct hsdo_instance *in;
	const struct hsdo_source_group *g;
	int hook;

	for (hook = 0; hook <= 1; hook++) {
		g_err[0] = '\0';
		ck_assert_int_eq(hsdo_source_aws_build(wanted, NELEM(wanted), groups, NELEM(groups),
						       ec2, NELEM(ec2), hook, &r, g_err,
						       sizeof(g_err)), 0);
		assert_sorted_unique(&r);
		/* listed: ready ones, and leaving ones with an address */
		ck_assert_uint_eq(r.n, 7);
		in = inst_of(&r, "i-ready");
		ck_assert(!in->leaving);           /* the ready copy wins over api's */
		ck_assert_str_eq(in->ip, "10.0.0.1");
		ck_assert_str_eq(in->group, "web");
		ck_assert_str_eq(in->az, "eu-west-1a");  /* the ASG's zone */
		ck_assert_uint_eq(in->port, 0);
		ck_assert(!inst_of(&r, "i-api")->leaving);
		ck_assert(inst_of(&r, "i-unhealthy")->leaving);
		ck_assert(inst_of(&r, "i-wait")->leaving);
		ck_assert_str_eq(inst_of(&r, "i-wait")->ip, "10.0.0.3");
		ck_assert(inst_of(&r, "i-term")->leaving);
		ck_assert(inst_of(&r, "i-standby")->leaving);
		ck_assert(inst_of(&r, "i-stopped")->leaving);
		ck_assert_ptr_null(inst_of(&r, "i-pending"));
		ck_assert_ptr_null(inst_of(&r, "i-noip"));
		ck_assert_ptr_null(inst_of(&r, "i-gone"));     /* no address: drains as vanished */
		ck_assert_ptr_null(inst_of(&r, "i-other"));    /* group not asked for */
		ck_assert_uint_eq(r.nleaving, 5);
		ck_assert_uint_eq(r.duplicates, 1);
		/* groups: the configured ones, in order, once */
		ck_assert_uint_eq(r.ngroups, 3);
		ck_assert_str_eq(r.groups[0].name, "web");
		ck_assert_str_eq(r.groups[1].name, "api");
		ck_assert_str_eq(r.groups[2].name, "missing");
		g = &r.groups[0];
		ck_assert_uint_eq(g->seen, 10);
		ck_assert_uint_eq(g->ready, 1);
		ck_assert_uint_eq(g->leaving, 7);
		ck_assert_uint_eq(g->skipped, 2);
		g = &r.groups[1];
		ck_assert_uint_eq(g->seen, 2);
		ck_assert_uint_eq(g->ready, 1);
		ck_assert_uint_eq(g->leaving, 1);
		ck_assert_uint_eq(r.groups[2].seen, 0);
		ck_assert_str_eq(r.warning, "Auto Scaling group 'missing' not found");
		/* only with a hook: Terminating:Wait awaits a lifecycle action */
		if (hook) {
			ck_assert_uint_eq(r.nawaiting, 2);
			ck_assert_str_eq(r.awaiting[0].id, "i-gone-wait");
			ck_assert_str_eq(r.awaiting[0].group, "web");
			ck_assert_str_eq(r.awaiting[1].id, "i-wait");
		} else {
			ck_assert_uint_eq(r.nawaiting, 0);
			ck_assert_ptr_null(r.awaiting);
		}
		hsdo_source_result_free(&r);
	}
}
END_TEST

/* Many instances over many groups: ids sorted, counts add up. */
START_TEST(aws_build_many)
{
	size_t ng = 7, per = 150, i, j;
	struct hsdo_asg_group *groups = calloc(ng, sizeof(*groups));
	struct hsdo_ec2_instance *ec2 = calloc(ng * per, sizeof(*ec2));
	const char **wanted = calloc(ng, sizeof(*wanted));
	struct hsdo_source_result r;
	char id[32], ip[32];

	for (i = 0; i < ng; i++) {
		snprintf(groups[i].name, sizeof(groups[i].name), "asg-%zu", i);
		wanted[i] = groups[i].name;
		groups[i].instances = calloc(per, sizeof(*groups[i].instances));
		groups[i].ninstances = per;
		for (j = 0; j < per; j++) {
			snprintf(id, sizeof(id), "i-%04zx%04zx", j, i);
			snprintf(ip, sizeof(ip), "10.%zu.%zu.%zu", i, j / 250, j % 250 + 1);
			groups[i].instances[j] = asg(id, j % 10 == 0 ? "Terminating" : "InService",
						     "Healthy");
			ec2[i * per + j] = ec2i(id, "running", ip);
		}
	}
	ck_assert_int_eq(hsdo_source_aws_build(wanted, ng, groups, ng, ec2, ng * per, false, &r,
					       g_err, sizeof(g_err)), 0);
	ck_assert_uint_eq(r.n, ng * per);
	assert_sorted_unique(&r);
	ck_assert_uint_eq(r.nleaving, ng * per / 10);
	for (i = 0; i < ng; i++) {
		ck_assert_uint_eq(r.groups[i].seen, per);
		ck_assert_uint_eq(r.groups[i].leaving, per / 10);
		free(groups[i].instances);
	}
	hsdo_source_result_free(&r);
	ck_assert_int_eq(hsdo_source_aws_build(wanted, 1, NULL, 0, NULL, 0, false, &r, g_err,
					       sizeof(g_err)), 0);
	ck_assert_uint_eq(r.n, 0);
	ck_assert_uint_eq(r.ngroups, 1);
	hsdo_source_result_free(&r);
	ck_assert_int_eq(hsdo_source_aws_build(wanted, 1, NULL, 1, NULL, 0, false, &r, g_err,
					       sizeof(g_err)), -HSDO_EINVAL);
	free(groups);
	free(ec2);
	free(wanted);
}
END_TEST

/* The AWS docs samples, through the real parsers, into one instance. */
START_TEST(aws_samples)
{
	struct hsdo_asg_groups g;
	struct hsdo_ec2_instances e;
	struct hsdo_source_result r;
	const char *wanted[] = { "my-asg" };
	size_t len;
	char *buf;

	buf = hsdo_test_load_data("aws-samples/awsdocs/autoscaling-describe-auto-scaling-groups.xml",
				  &len);
	ck_assert_int_eq(hsdo_asg_parse_groups(buf, len, &g, g_err, sizeof(g_err)), 0);
	free(buf);
	buf = hsdo_test_load_data("aws-samples/awsdocs/ec2-describe-instances-2016-11-15.xml", &len);
	ck_assert_int_eq(hsdo_ec2_parse_instances(buf, len, &e, g_err, sizeof(g_err)), 0);
	free(buf);
	ck_assert_int_eq(hsdo_source_aws_build(wanted, 1, g.groups, g.n, e.instances, e.n, true,
					       &r, g_err, sizeof(g_err)), 0);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_str_eq(r.instances[0].id, "i-1234567890abcdef0");
	ck_assert_str_eq(r.instances[0].ip, "192.168.1.88");
	ck_assert_str_eq(r.instances[0].group, "my-asg");
	ck_assert_str_eq(r.instances[0].az, "us-east-1c");
	ck_assert(!r.instances[0].leaving);
	ck_assert_uint_eq(r.groups[0].ready, 1);
	ck_assert_uint_eq(r.nawaiting, 0);
	hsdo_source_result_free(&r);
	hsdo_asg_groups_free(&g);
	hsdo_ec2_instances_free(&e);
}
END_TEST

START_TEST(aws_build_alloc_failures)
{
	struct hsdo_asg_instance web[] = {
		asg("i-1", "InService", "Healthy"), asg("i-2", "Terminating:Wait", "Healthy"),
	};
	struct hsdo_asg_group groups[] = { { "web", web, 2 } };
	struct hsdo_ec2_instance ec2[] = { ec2i("i-1", "running", "10.0.0.1"),
					   ec2i("i-2", "running", "10.0.0.2") };
	const char *wanted[] = { "web" };
	unsigned long k;
	int rc = -1;

	for (k = 1; rc != 0; k++) {
		struct hsdo_source_result r;

		hsdo_alloc_fail_at(k, 1);
		rc = hsdo_source_aws_build(wanted, 1, groups, 1, ec2, 2, true, &r, g_err,
					   sizeof(g_err));
		hsdo_alloc_fail_at(0, 0);
		if (rc != 0) {
			ck_assert_int_eq(rc, -HSDO_ENOMEM);
			assert_zeroed(&r);
		} else {
			ck_assert_uint_eq(r.n, 2);
			ck_assert_uint_eq(r.nawaiting, 1);
			hsdo_source_result_free(&r);
		}
	}
	ck_assert_uint_gt(k, 3);
}
END_TEST

START_TEST(aws_complete_body)
{
	char out[512];
	size_t want_len;
	const char *want = "Action=CompleteLifecycleAction&Version=2011-01-01"
			   "&AutoScalingGroupName=my%20asg%2Fx&LifecycleHookName=hsdo-drain"
			   "&InstanceId=i-0123456789abcdef0&LifecycleActionResult=CONTINUE";
	int rc;

	rc = hsdo_asg_complete_lifecycle_body("my asg/x", "hsdo-drain", "i-0123456789abcdef0", out,
					   sizeof(out), g_err, sizeof(g_err));
	ck_assert_str_eq(out, want);
	want_len = strlen(want);
	ck_assert_int_eq(rc, (int)want_len);
	rc = hsdo_asg_complete_lifecycle_body("my asg/x", "hsdo-drain", "i-0123456789abcdef0", out,
					   want_len, g_err, sizeof(g_err));
	ck_assert_int_eq(rc, -HSDO_ETOOBIG);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(hsdo_asg_complete_lifecycle_body("", "h", "i-1", out, sizeof(out), NULL, 0),
			 -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_asg_complete_lifecycle_body("g", NULL, "i-1", out, sizeof(out), NULL, 0),
			 -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_asg_complete_lifecycle_body("g", "h", "", out, sizeof(out), NULL, 0),
			 -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_asg_complete_lifecycle_body("g", "h", "i-01234567890abcdef01", out,
						       sizeof(out), NULL, 0), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_asg_complete_lifecycle_body("g", "h", "i-1", NULL, 9, NULL, 0),
			 -HSDO_EINVAL);
}
END_TEST

START_TEST(aws_set_health_body)
{
	char out[256];
	const char *want = "Action=SetInstanceHealth&Version=2011-01-01"
			   "&InstanceId=i-0123456789abcdef0&HealthStatus=Unhealthy"
			   "&ShouldRespectGracePeriod=true";
	int rc;

	rc = hsdo_asg_set_instance_health_body("i-0123456789abcdef0", true, out, sizeof(out), g_err,
					       sizeof(g_err));
	ck_assert_str_eq(out, want);
	ck_assert_int_eq(rc, (int)strlen(want));
	rc = hsdo_asg_set_instance_health_body("i-1", false, out, sizeof(out), g_err,
					       sizeof(g_err));
	ck_assert_ptr_nonnull(strstr(out, "&ShouldRespectGracePeriod=false"));
	ck_assert_int_eq(hsdo_asg_set_instance_health_body("i-1", true, out, 40, NULL, 0),
			 -HSDO_ETOOBIG);
	ck_assert_int_eq(hsdo_asg_set_instance_health_body("", true, out, sizeof(out), NULL, 0),
			 -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_asg_set_instance_health_body("i-01234567890abcdef01", true, out,
							   sizeof(out), NULL, 0), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_asg_set_instance_health_body("i-1", true, NULL, 9, NULL, 0),
			 -HSDO_EINVAL);
}
END_TEST

START_TEST(aws_notfound_messages)
{
	const char *ids[] = { "i-1", "i-2", "i-3", "i-33" };
	bool gone[4] = { false };

	ck_assert_uint_eq(hsdo_source_aws_notfound_ids("The instance ID 'i-3' does not exist",
						       ids, 4, gone), 1);
	ck_assert(!gone[0] && !gone[1] && gone[2] && !gone[3]);
	memset(gone, 0, sizeof(gone));
	ck_assert_uint_eq(hsdo_source_aws_notfound_ids(
				  "The instance IDs 'i-1, i-33,i-9' do not exist", ids, 4, gone), 2);
	ck_assert(gone[0] && !gone[1] && !gone[2] && gone[3]);
	/* nothing new to mark: 0, so the caller does not loop */
	ck_assert_uint_eq(hsdo_source_aws_notfound_ids("The instance ID 'i-1' does not exist",
						       ids, 4, gone), 0);
	ck_assert_uint_eq(hsdo_source_aws_notfound_ids("no quotes", ids, 4, gone), 0);
	ck_assert_uint_eq(hsdo_source_aws_notfound_ids("'i-2", ids, 4, gone), 0);
	ck_assert_uint_eq(hsdo_source_aws_notfound_ids("''", ids, 4, gone), 0);
	ck_assert_uint_eq(hsdo_source_aws_notfound_ids(NULL, ids, 4, gone), 0);
	ck_assert(!gone[1]);
}
END_TEST

/* ---- the interface ---------------------------------------------------------------------- */

static int g_calls;

static void never_done(void *arg, int rc, const struct hsdo_source_result *res, const char *err)
{
	(void)arg;
	(void)rc;
	(void)res;
	(void)err;
	g_calls++;
}

static void op_done(void *arg, int rc, const char *err)
{
	(void)arg;
	(void)rc;
	(void)err;
	g_calls++;
}

START_TEST(interface_wrappers)
{
	struct hsdo_source *s = NULL;
	struct hsdo_source_result a, b;

	ck_assert_str_eq(hsdo_source_name(NULL), "none");
	hsdo_source_free(NULL);
	ck_assert_int_eq(hsdo_source_list(NULL, never_done, NULL), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_source_static_open("", &s, g_err, sizeof(g_err)), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_source_static_open("/nonexistent/x.yaml", &s, g_err, sizeof(g_err)), 0);
	ck_assert_str_eq(hsdo_source_name(s), "static");
	ck_assert_int_eq(hsdo_source_list(s, NULL, NULL), -HSDO_EINVAL);
	g_calls = 0;
	ck_assert_int_eq(hsdo_source_complete_lifecycle(s, "g", "i-1", op_done, NULL),
			 -HSDO_EINVAL);
	ck_assert_int_eq(g_calls, 0);
	hsdo_source_free(s);

	/* copy */
	ck_assert_int_eq(sparse(good_static, &a), 0);
	ck_assert_int_eq(hsdo_source_result_copy(&b, &a), 0);
	ck_assert_uint_eq(b.n, a.n);
	ck_assert_ptr_ne(b.instances, a.instances);
	ck_assert_int_eq(memcmp(b.instances, a.instances, a.n * sizeof(*a.instances)), 0);
	ck_assert_int_eq(memcmp(b.groups, a.groups, a.ngroups * sizeof(*a.groups)), 0);
	hsdo_source_result_free(&b);
	hsdo_alloc_fail_at(2, 1);
	ck_assert_int_eq(hsdo_source_result_copy(&b, &a), -HSDO_ENOMEM);
	hsdo_alloc_fail_at(0, 0);
	hsdo_source_result_free(&a);
}
END_TEST

static struct hsdo_config *load_config(char *const *env)
{
	struct hsdo_config *c = NULL;
	struct hsdo_diag d = { 0 };

	ck_assert_int_eq(hsdo_config_parse(NULL, 0, NULL, env, HSDO_ROLE_SERVER, &c, &d), 0);
	hsdo_diag_free(&d);
	return c;
}

START_TEST(open_from_config)
{
	char *env_static[] = { "SERVER_STATIC_FILE=/tmp/hsdo-none.yaml", NULL };
	char *env_consul[] = { "SERVER_MODE=consul", "SERVER_CONSUL_API_URL=http://127.0.0.1:1",
			       "SERVER_CONSUL_SERVICE_NAME=web,api", NULL };
	char *env_aws[] = { "SERVER_MODE=aws", "SERVER_ASG_NAMES=a,b",
			    "SERVER_LIFECYCLE_HOOK_NAME=drain", NULL };
	char *dir = hsdo_test_tmpdir("source"), path[512], tokvar[600];
	char *agent_env[] = { "CONSUL_HTTP_TOKEN_FILE=/nonexistent/token", NULL };
	char *agent_env2[] = { tokvar, NULL };
	struct hsdo_config *c;
	struct hsdo_source *s = NULL;
	struct hsdo_http *h = NULL;

	c = load_config(env_static);
	ck_assert_int_eq(hsdo_source_open_config(c, NULL, NULL, NULL, &s, g_err, sizeof(g_err)), 0);
	ck_assert_str_eq(hsdo_source_name(s), "static");
	hsdo_source_free(s);
	hsdo_config_free(c);

	c = load_config(env_consul);
	ck_assert_int_eq(hsdo_source_open_config(c, NULL, NULL, NULL, &s, g_err, sizeof(g_err)),
			 -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_http_new(NULL, NULL, &h, g_err, sizeof(g_err)), 0);
	ck_assert_int_eq(hsdo_source_open_config(c, NULL, h, NULL, &s, g_err, sizeof(g_err)), 0);
	ck_assert_str_eq(hsdo_source_name(s), "consul");
	hsdo_source_free(s);
	/* an unreadable token file is a configuration error naming it */
	ck_assert_int_eq(hsdo_source_open_config(c, agent_env, h, NULL, &s, g_err, sizeof(g_err)),
			 -HSDO_ECONFIG);
	ck_assert_ptr_nonnull(strstr(g_err, "/nonexistent/token"));
	snprintf(path, sizeof(path), "%s/token", dir);
	ck_assert_int_eq(hsdo_test_write_file(path, "s3cr3t\n", 7), 0);
	snprintf(tokvar, sizeof(tokvar), "CONSUL_HTTP_TOKEN_FILE=%s", path);
	ck_assert_int_eq(hsdo_source_open_config(c, agent_env2, h, NULL, &s, g_err, sizeof(g_err)),
			 0);
	hsdo_source_free(s);
	hsdo_config_free(c);

	c = load_config(env_aws);
	ck_assert_str_eq(c->server_lifecycle_hook_name, "drain");
	ck_assert_int_eq(hsdo_source_open_config(c, NULL, h, NULL, &s, g_err, sizeof(g_err)),
			 -HSDO_EINVAL);
	ck_assert_ptr_nonnull(strstr(g_err, "AWS client"));
	hsdo_config_free(c);
	ck_assert_int_eq(hsdo_source_open_config(NULL, NULL, h, NULL, &s, g_err, sizeof(g_err)),
			 -HSDO_EINVAL);
	hsdo_http_free(h);
	hsdo_test_rmtree(dir);
	free(dir);
}
END_TEST

static Suite *source_suite(void)
{
	Suite *s = suite_create("source");
	TCase *tc = tcase_create("static");

	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, static_good);
	tcase_add_test(tc, static_scrambled_sorted_in_place);
	tcase_add_test(tc, static_empty_list);
	tcase_add_loop_test(tc, static_malformed, 0, (int)NELEM(static_bad));
	tcase_add_test(tc, static_long_fields);
	tcase_add_test(tc, static_hostile);
	tcase_add_test(tc, static_bounds);
	tcase_add_test(tc, static_prefixes);
	tcase_add_test(tc, static_alloc_failures);
	suite_add_tcase(s, tc);

	tc = tcase_create("consul");
	tcase_add_test(tc, consul_sample);
	tcase_add_test(tc, consul_addresses);
	tcase_add_test(tc, consul_fields);
	tcase_add_loop_test(tc, consul_malformed, 0, (int)NELEM(consul_bad));
	tcase_add_test(tc, consul_append_and_undo);
	tcase_add_test(tc, consul_alloc_failures);
	tcase_add_loop_test(tc, consul_index, 0, (int)NELEM(index_cases));
	tcase_add_test(tc, consul_urls);
	suite_add_tcase(s, tc);

	tc = tcase_create("aws");
	tcase_add_loop_test(tc, aws_classify, 0, (int)NELEM(classify_cases));
	tcase_add_test(tc, aws_build_states);
	tcase_add_test(tc, aws_build_many);
	tcase_add_test(tc, aws_samples);
	tcase_add_test(tc, aws_build_alloc_failures);
	tcase_add_test(tc, aws_complete_body);
	tcase_add_test(tc, aws_set_health_body);
	tcase_add_test(tc, aws_notfound_messages);
	suite_add_tcase(s, tc);

	tc = tcase_create("interface");
	tcase_add_test(tc, interface_wrappers);
	tcase_add_test(tc, open_from_config);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(source_suite());
}
