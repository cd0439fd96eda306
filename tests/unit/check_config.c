/* Configuration module: defaults, every key from the file and from the
 * environment, the backend list forms, every validation rule with its exact
 * `FILE:LINE: KEY: reason` message, syntax errors, unknown-key warnings,
 * role rules, loading from disk, allocation failures, and the diag list. */
#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hsdo/alloc.h"
#include "hsdo/config.h"
#include "hsdo/diag.h"
#include "hsdo/err.h"
#include "hsdo_test.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define ENV(...) ((char *[]){ __VA_ARGS__, NULL })
#define FNAME "env.yaml"

/* ---- helpers ------------------------------------------------------------- */

static struct hsdo_config *g_c;
static struct hsdo_diag g_d;
static int g_rc;
static char g_text[16384];

static void teardown(void)
{
	hsdo_config_free(g_c);
	g_c = NULL;
	hsdo_diag_free(&g_d);
	hsdo_alloc_fail_at(0, 0);
}

/* All diagnostics, one per line, for assertion messages. */
static const char *diags(void)
{
	size_t i, used = 0;
	int w;

	g_text[0] = '\0';
	for (i = 0; i < g_d.n; i++) {
		w = snprintf(g_text + used, sizeof(g_text) - used, "\n  [%s] %s",
			     hsdo_diag_level_str(g_d.v[i].level), g_d.v[i].msg);
		if (w < 0 || (size_t)w >= sizeof(g_text) - used)
			break;
		used += (size_t)w;
	}
	return g_text;
}

/* Parse yaml (NULL: no file) with env for role into g_c/g_d/g_rc. */
static int run(const char *yaml, char *const *env, enum hsdo_role role)
{
	hsdo_config_free(g_c);
	g_c = NULL;
	hsdo_diag_free(&g_d);
	g_rc = hsdo_config_parse(yaml, yaml ? strlen(yaml) : 0, yaml ? FNAME : NULL,
				 env, role, &g_c, &g_d);
	return g_rc;
}

static void expect_ok(void)
{
	ck_assert_msg(g_rc == 0, "rc %d, diagnostics:%s", g_rc, diags());
	ck_assert_ptr_nonnull(g_c);
}

static void expect_fail(void)
{
	ck_assert_msg(g_rc == -HSDO_ECONFIG, "rc %d, diagnostics:%s", g_rc, diags());
	ck_assert_ptr_null(g_c);
}

static bool has_diag(enum hsdo_diag_level lvl, const char *msg)
{
	size_t i;

	for (i = 0; i < g_d.n; i++)
		if (g_d.v[i].level == lvl && strcmp(g_d.v[i].msg, msg) == 0)
			return true;
	return false;
}

/* The warning every parse without STORE and DYNAMODB_TABLE_NAME gives. */
#define STORE_AUTO_WARNING "STORE: not set and DYNAMODB_TABLE_NAME is empty: using the file " \
	"store (STORE_FILE_PATH); set STORE=file to choose it, or DYNAMODB_TABLE_NAME for DynamoDB"

/* Diagnostics other than STORE_AUTO_WARNING. */
static size_t ndiag(void)
{
	size_t i, n = 0;

	for (i = 0; i < g_d.n; i++)
		if (strstr(g_d.v[i].msg, STORE_AUTO_WARNING) == NULL)
			n++;
	return n;
}

#define expect_diag(lvl, msg) \
	ck_assert_msg(has_diag((lvl), (msg)), "missing [%s] \"%s\"; got:%s", \
		      hsdo_diag_level_str(lvl), (msg), diags())

static const char *join(const struct hsdo_config_list *l)
{
	static char buf[1024];
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < l->n && used < sizeof(buf); i++)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s", i ? "," : "", l->v[i]);
	return buf;
}

static const char *join_backends(const struct hsdo_config_backends *b)
{
	static char buf[2048];
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < b->n && used < sizeof(buf); i++)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s:%s:%u", i ? "," : "",
					 b->v[i].name, b->v[i].base_name, (unsigned)b->v[i].port);
	return buf;
}

/* ---- defaults -------------------------------------------------------------- */

START_TEST(defaults_every_key)
{
	struct hsdo_config *c;

	run(NULL, NULL, HSDO_ROLE_ANY);
	expect_ok();
	ck_assert_uint_eq(ndiag(), 0);
	c = g_c;
	ck_assert_int_eq(c->server_mode, HSDO_CONFIG_SERVER_MODE_STATIC);
	ck_assert_uint_eq(c->server_asg_names.n, 0);
	ck_assert_str_eq(c->server_consul_api_url, "");
	ck_assert_uint_eq(c->server_consul_service_name.n, 0);
	ck_assert_str_eq(c->server_static_file, "/etc/hsdo/instances.yaml");
	ck_assert_int_eq(c->server_haproxy_backend_server_min_weight, 1);
	ck_assert_int_eq(c->server_haproxy_backend_server_max_weight, 10);
	ck_assert_int_eq(c->server_haproxy_backend_server_increase_weight, 1);
	ck_assert_int_eq(c->server_haproxy_backend_server_increase_weight_interval_ms, 30000);
	ck_assert_int_eq(c->server_drain_time_ms, 30000);
	ck_assert_str_eq(c->client_haproxy_socket_path, "/var/run/haproxy/admin.sock");
	ck_assert_int_eq(c->client_haproxy_timeout_ms, 2000);
	ck_assert_int_eq(c->client_full_read_interval_ms, 60000);
	ck_assert_str_eq(c->client_haproxy_backend_name, "");
	ck_assert_str_eq(c->client_haproxy_backend_base_name, "");
	ck_assert_int_eq(c->client_haproxy_backend_server_port, 80);
	ck_assert_uint_eq(c->client_haproxy_backend_list.n, 0);
	ck_assert(!c->client_dedicated_asg);
	ck_assert_uint_eq(c->client_asg_names.n, 0);
	ck_assert_str_eq(c->client_haproxy_fallback_backend_name, "");
	ck_assert_str_eq(c->client_haproxy_fallback_backend_base_name, "");
	ck_assert_str_eq(c->client_haproxy_fallback_backend.name, "");
	ck_assert(!c->client_all_servers_in_fallback_backend);
	ck_assert_int_eq(c->interval_ms, 1000);
	ck_assert_int_eq(c->haproxy_backend_servers_list_size, 10);
	ck_assert(!c->debug);
	ck_assert_int_eq(c->store, HSDO_CONFIG_STORE_FILE);
	ck_assert_str_eq(c->store_file_path, "/var/lib/hsdo/slots.json");
	ck_assert_str_eq(c->dynamodb_table_name, "");
	ck_assert_str_eq(c->aws_default_region, "eu-west-1");
	ck_assert_str_eq(c->exporter_addr, "127.0.0.1");
	ck_assert_int_eq(c->exporter_port, 6789);
	ck_assert_str_eq(c->spoa_listen, "127.0.0.1:12345");
	ck_assert_int_eq(c->log_target, HSDO_CONFIG_LOG_STDERR);
}
END_TEST

static const char dump_defaults_text[] =
	"SERVER_MODE = static\n"
	"SERVER_ASG_NAMES = \n"
	"SERVER_LIFECYCLE_HOOK_NAME = \n"
	"SERVER_CONSUL_API_URL = \n"
	"SERVER_CONSUL_SERVICE_NAME = \n"
	"SERVER_STATIC_FILE = /etc/hsdo/instances.yaml\n"
	"SERVER_HAPROXY_BACKEND_SERVER_MIN_WEIGHT = 1\n"
	"SERVER_HAPROXY_BACKEND_SERVER_MAX_WEIGHT = 10\n"
	"SERVER_HAPROXY_BACKEND_SERVER_INCREASE_WEIGHT = 1\n"
	"SERVER_HAPROXY_BACKEND_SERVER_INCREASE_WEIGHT_INTERVAL = 30\n"
	"SERVER_DRAIN_TIME = 30\n"
	"SERVER_ID = \n"
	"SERVER_LEASE_TTL = 15\n"
	"SERVER_VALVE_REMOVE_PERCENT = 50\n"
	"SERVER_VALVE_SECONDS = 30\n"
	"CLIENT_HAPROXY_SOCKET_PATH = /var/run/haproxy/admin.sock\n"
	"CLIENT_HAPROXY_TIMEOUT = 2\n"
	"CLIENT_FULL_READ_INTERVAL = 60\n"
	"CLIENT_HAPROXY_BACKEND_NAME = \n"
	"CLIENT_HAPROXY_BACKEND_BASE_NAME = \n"
	"CLIENT_HAPROXY_BACKEND_SERVER_PORT = 80\n"
	"CLIENT_HAPROXY_BACKEND_LIST = \n"
	"CLIENT_DEDICATED_ASG = false\n"
	"CLIENT_ASG_NAMES = \n"
	"CLIENT_HAPROXY_FALLBACK_BACKEND_NAME = \n"
	"CLIENT_HAPROXY_FALLBACK_BACKEND_BASE_NAME = \n"
	"CLIENT_ALL_SERVERS_IN_FALLBACK_BACKEND = false\n"
	"INTERVAL = 1\n"
	"HAPROXY_BACKEND_SERVERS_LIST_SIZE = 10\n"
	"DEBUG = false\n"
	"STORE = file\n"
	"STORE_FILE_PATH = /var/lib/hsdo/slots.json\n"
	"DYNAMODB_TABLE_NAME = \n"
	"AWS_DEFAULT_REGION = eu-west-1\n"
	"AWS_CA_BUNDLE = \n"
	"EXPORTER_ADDR = 127.0.0.1\n"
	"EXPORTER_PORT = 6789\n"
	"HEALTHZ_STALL_TIMEOUT = 10\n"
	"SPOA_LISTEN = 127.0.0.1:12345\n"
	"LOG_TARGET = stderr\n"
	"HEALTH_EJECT = false\n"
	"HEALTH_WINDOW = 30\n"
	"HEALTH_MIN_REQUESTS = 20\n"
	"HEALTH_ERROR_RATIO = 0.5\n"
	"CLIENT_ID = \n"
	"HEALTH_REPORT_INTERVAL = 10\n"
	"HEALTH_TABLE_NAME = \n"
	"HEALTH_QUORUM = 0.5\n"
	"HEALTH_EJECT_TIME = 30\n"
	"HEALTH_MAX_EJECTED_PERCENT = 20\n"
	"HEALTH_ASG_SET_UNHEALTHY = false\n"
	"HEALTH_ASG_AFTER = 300\n";

/* Write the dump of g_c to a heap string (free()). */
static char *dump_string(const struct hsdo_config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(hsdo_config_dump(c, f), 0);
	fclose(f);
	return buf;
}

START_TEST(dump_defaults)
{
	char *text;

	run("", NULL, HSDO_ROLE_ANY);
	expect_ok();
	text = dump_string(g_c);
	ck_assert_str_eq(text, dump_defaults_text);
	free(text);
}
END_TEST

/* Every value the dump prints parses back, from the environment, to the
 * same config. */
START_TEST(dump_round_trips_through_env)
{
	static const char yaml[] =
		"SERVER_MODE: consul\n"
		"SERVER_CONSUL_API_URL: http://127.0.0.1:8500\n"
		"SERVER_CONSUL_SERVICE_NAME: [web, api]\n"
		"SERVER_DRAIN_TIME: 0.25\n"
		"CLIENT_HAPROXY_BACKEND_LIST: {be_a: {baseName: a, serverPort: 81}, be_b: {baseName: b}}\n"
		"CLIENT_DEDICATED_ASG: yes\n"
		"CLIENT_ASG_NAMES: asg-1, asg-2\n"
		"DYNAMODB_TABLE_NAME: hsdo-slots\n"
		"LOG_TARGET: syslog\n";
	char *first, *second, *line, *nl, *envv[64];
	struct hsdo_config *c1;
	size_t n = 0;

	run(yaml, NULL, HSDO_ROLE_ANY);
	expect_ok();
	c1 = g_c;
	g_c = NULL;
	first = dump_string(c1);
	/* "KEY = value\n" -> "KEY=value" */
	for (line = first; *line != '\0' && n < NELEM(envv) - 1; line = nl + 1) {
		char *eq = strstr(line, " = ");

		nl = strchr(line, '\n');
		ck_assert_ptr_nonnull(nl);
		ck_assert_ptr_nonnull(eq);
		*nl = '\0';
		memmove(eq + 1, eq + 3, strlen(eq + 3) + 1);
		eq[0] = '=';
		envv[n++] = line;
	}
	envv[n] = NULL;
	ck_assert_uint_eq(n, 52);
	run(NULL, envv, HSDO_ROLE_ANY);
	expect_ok();
	ck_assert_uint_eq(ndiag(), 0);
	second = dump_string(g_c);
	free(first);
	first = dump_string(c1);
	hsdo_config_free(c1);
	ck_assert_str_eq(second, first);
	ck_assert_ptr_nonnull(strstr(first, "CLIENT_HAPROXY_BACKEND_LIST = be_a:a:81,be_b:b:80\n"));
	ck_assert_ptr_nonnull(strstr(first, "SERVER_DRAIN_TIME = 0.25\n"));
	free(first);
	free(second);
}
END_TEST

/* conf/env.yaml documents exactly the defaults, and the docs table and the
 * example mention every key the dump prints. */
static char *source_file(const char *rel)
{
	const char *src = getenv("HSDO_SOURCE_DIR");
	char *data = NULL, path[1024];
	char *text;

	/* Outside ctest, find the tree from the compiled-in tests/data path. */
	if (src == NULL) {
		data = hsdo_test_data_path("../..");
		ck_assert_ptr_nonnull(data);
		src = data;
	}
	snprintf(path, sizeof(path), "%s/%s", src, rel);
	free(data);
	text = hsdo_test_read_file(path, NULL);
	ck_assert_msg(text != NULL, "cannot read %s", path);
	return text;
}

START_TEST(example_config_is_the_defaults)
{
	char *yaml = source_file("conf/env.yaml");
	char *text;

	run(yaml, NULL, HSDO_ROLE_ANY);
	free(yaml);
	expect_ok();
	ck_assert_msg(ndiag() == 0, "%s", diags());
	text = dump_string(g_c);
	ck_assert_str_eq(text, dump_defaults_text);
	free(text);
}
END_TEST

START_TEST(docs_and_example_list_every_key)
{
	char *doc = source_file("docs/configuration.md");
	char *yaml = source_file("conf/env.yaml");
	const char *line = dump_defaults_text, *eq;
	char key[128], pat[160];
	size_t n = 0;

	for (; (eq = strstr(line, " = ")) != NULL; line = strchr(eq, '\n') + 1, n++) {
		snprintf(key, sizeof(key), "%.*s", (int)(eq - line), line);
		snprintf(pat, sizeof(pat), "| `%s` |", key);
		ck_assert_msg(strstr(doc, pat) != NULL, "docs/configuration.md lacks a row for %s", key);
		snprintf(pat, sizeof(pat), "\n%s: ", key);
		ck_assert_msg(strstr(yaml, pat) != NULL, "conf/env.yaml lacks %s", key);
	}
	ck_assert_uint_eq(n, 52);
	free(doc);
	free(yaml);
}
END_TEST

/* ---- every key from the file and from the environment --------------------- */

enum vt { VT_BOOL, VT_INT, VT_MS, VT_STR, VT_ENUM, VT_LIST };

struct set_case {
	const char *key;
	const char *value;   /* the environment text; also the YAML scalar */
	const char *alt;     /* another valid value, for "env beats file" */
	enum vt type;
	size_t off;
	int64_t num;         /* expected for BOOL/INT/MS/ENUM */
	const char *str;     /* expected for STR/LIST (comma-joined) */
};

#define F(f) offsetof(struct hsdo_config, f)

static const struct set_case set_cases[] = {
	{ "SERVER_MODE", "aws", "consul", VT_ENUM, F(server_mode), HSDO_CONFIG_SERVER_MODE_AWS, NULL },
	{ "SERVER_ASG_NAMES", "asg-a,asg-b", "x", VT_LIST, F(server_asg_names), 0, "asg-a,asg-b" },
	{ "SERVER_LIFECYCLE_HOOK_NAME", "hsdo-drain/web_1", "h", VT_STR,
	  F(server_lifecycle_hook_name), 0, "hsdo-drain/web_1" },
	{ "SERVER_CONSUL_API_URL", "https://consul:8501", "http://x", VT_STR,
	  F(server_consul_api_url), 0, "https://consul:8501" },
	{ "SERVER_CONSUL_SERVICE_NAME", "web", "x,y", VT_LIST, F(server_consul_service_name), 0, "web" },
	{ "SERVER_STATIC_FILE", "/tmp/i.yaml", "/x", VT_STR, F(server_static_file), 0, "/tmp/i.yaml" },
	{ "SERVER_HAPROXY_BACKEND_SERVER_MIN_WEIGHT", "0", "2", VT_INT,
	  F(server_haproxy_backend_server_min_weight), 0, NULL },
	{ "SERVER_HAPROXY_BACKEND_SERVER_MAX_WEIGHT", "256", "20", VT_INT,
	  F(server_haproxy_backend_server_max_weight), 256, NULL },
	{ "SERVER_HAPROXY_BACKEND_SERVER_INCREASE_WEIGHT", "5", "2", VT_INT,
	  F(server_haproxy_backend_server_increase_weight), 5, NULL },
	{ "SERVER_HAPROXY_BACKEND_SERVER_INCREASE_WEIGHT_INTERVAL", "0.5", "7", VT_MS,
	  F(server_haproxy_backend_server_increase_weight_interval_ms), 500, NULL },
	{ "SERVER_DRAIN_TIME", "0", "9", VT_MS, F(server_drain_time_ms), 0, NULL },
	{ "CLIENT_HAPROXY_SOCKET_PATH", "/run/h.sock", "/x", VT_STR,
	  F(client_haproxy_socket_path), 0, "/run/h.sock" },
	{ "CLIENT_HAPROXY_TIMEOUT", "1.5", "3", VT_MS, F(client_haproxy_timeout_ms), 1500, NULL },
	{ "CLIENT_FULL_READ_INTERVAL", "0", "30", VT_MS, F(client_full_read_interval_ms), 0, NULL },
	{ "CLIENT_HAPROXY_BACKEND_NAME", "be_x", "be_y", VT_STR, F(client_haproxy_backend_name), 0, "be_x" },
	{ "CLIENT_HAPROXY_BACKEND_BASE_NAME", "srv", "s2", VT_STR,
	  F(client_haproxy_backend_base_name), 0, "srv" },
	{ "CLIENT_HAPROXY_BACKEND_SERVER_PORT", "8443", "81", VT_INT,
	  F(client_haproxy_backend_server_port), 8443, NULL },
	{ "CLIENT_DEDICATED_ASG", "true", "false", VT_BOOL, F(client_dedicated_asg), 1, NULL },
	{ "CLIENT_ASG_NAMES", "a1, a2 ,a3", "z", VT_LIST, F(client_asg_names), 0, "a1,a2,a3" },
	{ "CLIENT_HAPROXY_FALLBACK_BACKEND_NAME", "be_fb", "be_z", VT_STR,
	  F(client_haproxy_fallback_backend_name), 0, "be_fb" },
	{ "CLIENT_HAPROXY_FALLBACK_BACKEND_BASE_NAME", "fb", "z", VT_STR,
	  F(client_haproxy_fallback_backend_base_name), 0, "fb" },
	{ "CLIENT_ALL_SERVERS_IN_FALLBACK_BACKEND", "on", "no", VT_BOOL,
	  F(client_all_servers_in_fallback_backend), 1, NULL },
	{ "INTERVAL", "5", "2", VT_MS, F(interval_ms), 5000, NULL },
	{ "HAPROXY_BACKEND_SERVERS_LIST_SIZE", "100000", "20", VT_INT,
	  F(haproxy_backend_servers_list_size), 100000, NULL },
	{ "DEBUG", "YES", "off", VT_BOOL, F(debug), 1, NULL },
	{ "STORE", "file", "dynamodb", VT_ENUM, F(store), HSDO_CONFIG_STORE_FILE, NULL },
	{ "STORE_FILE_PATH", "/srv/slots.json", "/x", VT_STR, F(store_file_path), 0, "/srv/slots.json" },
	{ "DYNAMODB_TABLE_NAME", "my.table-1", "other", VT_STR, F(dynamodb_table_name), 0, "my.table-1" },
	{ "AWS_DEFAULT_REGION", "us-east-2", "eu-west-3", VT_STR, F(aws_default_region), 0, "us-east-2" },
	{ "EXPORTER_ADDR", "::1", "0.0.0.0", VT_STR, F(exporter_addr), 0, "::1" },
	{ "EXPORTER_PORT", "9000", "9100", VT_INT, F(exporter_port), 9000, NULL },
	{ "HEALTHZ_STALL_TIMEOUT", "2.5", "30", VT_MS, F(healthz_stall_timeout_ms), 2500, NULL },
	{ "SPOA_LISTEN", "localhost:9999", "[::1]:1", VT_STR, F(spoa_listen), 0, "localhost:9999" },
	{ "SPOA_LISTEN", "off", "[::1]:1", VT_STR, F(spoa_listen), 0, "off" },
	{ "LOG_TARGET", "syslog", "stderr", VT_ENUM, F(log_target), HSDO_CONFIG_LOG_SYSLOG, NULL },
};

static void check_set_case(const struct set_case *sc, const struct hsdo_config *c)
{
	const char *p = (const char *)c + sc->off;
	int e;

	switch (sc->type) {
	case VT_BOOL:
		ck_assert_msg(*(const bool *)p == (sc->num != 0), "%s", sc->key);
		break;
	case VT_INT:
		ck_assert_msg(*(const int *)p == sc->num, "%s = %d", sc->key, *(const int *)p);
		break;
	case VT_MS:
		ck_assert_msg(*(const int64_t *)p == sc->num, "%s = %lld ms", sc->key,
			      (long long)*(const int64_t *)p);
		break;
	case VT_STR:
		ck_assert_str_eq(*(char *const *)p, sc->str);
		break;
	case VT_ENUM:
		memcpy(&e, p, sizeof(e));
		ck_assert_msg(e == sc->num, "%s = %d", sc->key, e);
		break;
	case VT_LIST:
		ck_assert_str_eq(join((const struct hsdo_config_list *)(const void *)p), sc->str);
		break;
	}
}

/* Keys that are only valid with a partner: STORE=dynamodb (the default with
 * a table name) needs the table, backend names come in name/base pairs. */
static const char *yaml_companion(const struct set_case *sc)
{
	static const char *const pairs[][2] = {
		{ "DYNAMODB_TABLE_NAME", "STORE: file\n" },
		{ "CLIENT_HAPROXY_BACKEND_NAME", "CLIENT_HAPROXY_BACKEND_BASE_NAME: b\n" },
		{ "CLIENT_HAPROXY_BACKEND_BASE_NAME", "CLIENT_HAPROXY_BACKEND_NAME: n\n" },
		{ "CLIENT_HAPROXY_FALLBACK_BACKEND_NAME", "CLIENT_HAPROXY_FALLBACK_BACKEND_BASE_NAME: b\n" },
		{ "CLIENT_HAPROXY_FALLBACK_BACKEND_BASE_NAME", "CLIENT_HAPROXY_FALLBACK_BACKEND_NAME: n\n" },
	};
	size_t i;

	for (i = 0; i < NELEM(pairs); i++)
		if (strcmp(sc->key, pairs[i][0]) == 0)
			return pairs[i][1];
	return "# hsdo\n";
}

START_TEST(set_from_file)
{
	const struct set_case *sc = &set_cases[_i];
	char yaml[512];

	snprintf(yaml, sizeof(yaml), "%s%s: %s\n", yaml_companion(sc), sc->key, sc->value);
	run(yaml, NULL, HSDO_ROLE_ANY);
	expect_ok();
	ck_assert_msg(ndiag() == 0, "%s", diags());
	check_set_case(sc, g_c);
}
END_TEST

/* Scalars are accepted quoted too (INTERVAL: "5"). */
START_TEST(set_from_file_quoted)
{
	const struct set_case *sc = &set_cases[_i];
	char yaml[512];

	snprintf(yaml, sizeof(yaml), "%s%s: \"%s\"\n", yaml_companion(sc), sc->key, sc->value);
	run(yaml, NULL, HSDO_ROLE_ANY);
	expect_ok();
	check_set_case(sc, g_c);
}
END_TEST

/* The environment sets keys the file does not mention. */
START_TEST(set_from_env)
{
	const struct set_case *sc = &set_cases[_i];
	char var[512];

	snprintf(var, sizeof(var), "%s=%s", sc->key, sc->value);
	run(yaml_companion(sc), ENV(var), HSDO_ROLE_ANY);
	expect_ok();
	ck_assert_msg(ndiag() == 0, "%s", diags());
	check_set_case(sc, g_c);
}
END_TEST

START_TEST(env_beats_file)
{
	const struct set_case *sc = &set_cases[_i];
	char yaml[512], var[512];

	snprintf(yaml, sizeof(yaml), "%s%s: \"%s\"\n", yaml_companion(sc), sc->key, sc->alt);
	snprintf(var, sizeof(var), "%s=%s", sc->key, sc->value);
	run(yaml, ENV(var), HSDO_ROLE_ANY);
	expect_ok();
	check_set_case(sc, g_c);
}
END_TEST

START_TEST(env_first_entry_wins)
{
	run(NULL, ENV("INTERVAL=2", "INTERVAL=3"), HSDO_ROLE_ANY);
	expect_ok();
	ck_assert_int_eq(g_c->interval_ms, 2000);
}
END_TEST

/* ---- typed values --------------------------------------------------------- */

struct text_case {
	const char *text;
	bool ok;
	int64_t want;
};

static const struct text_case bool_cases[] = {
	{ "true", true, 1 }, { "TRUE", true, 1 }, { "yes", true, 1 }, { "On", true, 1 },
	{ "1", true, 1 }, { "false", true, 0 }, { "No", true, 0 }, { "OFF", true, 0 },
	{ "0", true, 0 }, { " true ", true, 1 }, { "y", false, 0 }, { "2", false, 0 },
	{ "truee", false, 0 }, { "", false, 0 },
};

START_TEST(bool_forms)
{
	const struct text_case *tc = &bool_cases[_i];
	char var[64];

	snprintf(var, sizeof(var), "DEBUG=%s", tc->text);
	run(NULL, ENV(var), HSDO_ROLE_ANY);
	if (!tc->ok) {
		expect_fail();
		return;
	}
	expect_ok();
	ck_assert_int_eq(g_c->debug, tc->want);
}
END_TEST

static const struct text_case duration_cases[] = {
	{ "5", true, 5000 }, { "0.5", true, 500 }, { "1.25", true, 1250 }, { "2.000", true, 2000 },
	{ "5.", true, 5000 }, { ".5", true, 500 }, { "0.001", true, 1 }, { "0.0010", true, 1 },
	{ "86400", true, 86400000 }, { "+3", true, 3000 }, { " 7 ", true, 7000 },
	{ "86400.001", false, 0 }, { "0.0005", false, 0 }, { "0", false, 0 }, { "-1", false, 0 },
	{ "1e3", false, 0 }, { "5s", false, 0 }, { ".", false, 0 }, { "", false, 0 },
	{ "1 000", false, 0 }, { "99999999999999999999", false, 0 }, { "0x10", false, 0 },
};

START_TEST(duration_forms)
{
	const struct text_case *tc = &duration_cases[_i];
	char var[64];

	snprintf(var, sizeof(var), "INTERVAL=%s", tc->text);
	run(NULL, ENV(var), HSDO_ROLE_ANY);
	if (!tc->ok) {
		expect_fail();
		ck_assert_uint_eq(g_d.nerrors, 1);
		ck_assert_msg(strncmp(g_d.v[0].msg, "environment: INTERVAL: ", 23) == 0, "%s", diags());
		return;
	}
	expect_ok();
	ck_assert_int_eq(g_c->interval_ms, tc->want);
}
END_TEST

static const struct text_case int_cases[] = {
	{ "1", true, 1 }, { "65535", true, 65535 }, { "080", true, 80 }, { "+9", true, 9 },
	{ "0", false, 0 }, { "65536", false, 0 }, { "-80", false, 0 }, { "80.0", false, 0 },
	{ "8e1", false, 0 }, { "0x50", false, 0 }, { "abc", false, 0 }, { "", false, 0 },
	{ "99999999999999999999999", false, 0 },
};

START_TEST(int_forms)
{
	const struct text_case *tc = &int_cases[_i];
	char var[64];

	snprintf(var, sizeof(var), "EXPORTER_PORT=%s", tc->text);
	run(NULL, ENV(var), HSDO_ROLE_ANY);
	if (!tc->ok) {
		expect_fail();
		return;
	}
	expect_ok();
	ck_assert_int_eq(g_c->exporter_port, tc->want);
}
END_TEST

static const struct text_case ratio_cases[] = {
	{ "0.5", true, 500000 }, { "1", true, 1000000 }, { ".25", true, 250000 },
	{ "0.000001", true, 1 }, { " 0.75 ", true, 750000 }, { "1.000000", true, 1000000 },
	{ "0.1000000", true, 100000 }, { "0", false, 0 }, { "1.000001", false, 0 },
	{ "0.0000001", false, 0 }, { "+0.5", false, 0 }, { "5e-1", false, 0 }, { "50%", false, 0 },
	{ ".", false, 0 }, { "", false, 0 }, { "0,5", false, 0 },
};

START_TEST(ratio_forms)
{
	const struct text_case *tc = &ratio_cases[_i];
	char var[64];

	snprintf(var, sizeof(var), "HEALTH_ERROR_RATIO=%s", tc->text);
	run(NULL, ENV(var), HSDO_ROLE_ANY);
	if (!tc->ok) {
		expect_fail();
		ck_assert_uint_eq(g_d.nerrors, 1);
		return;
	}
	expect_ok();
	ck_assert_int_eq((int64_t)(g_c->health_error_ratio * 1e6 + 0.5), tc->want);
}
END_TEST

/* Fleet health's defaults, and the health table named after the slot table. */
START_TEST(health_defaults)
{
	run("DYNAMODB_TABLE_NAME: hsdo-slots\n"
	    "CLIENT_HAPROXY_BACKEND_LIST: {be: {baseName: s}}\n", NULL, HSDO_ROLE_CLIENT);
	expect_ok();
	ck_assert(!g_c->health_eject);
	ck_assert_int_eq(g_c->health_window_ms, 30000);
	ck_assert_int_eq(g_c->health_min_requests, 20);
	ck_assert(g_c->health_error_ratio == 0.5);
	ck_assert_str_eq(g_c->client_id, "");
	ck_assert_int_eq(g_c->health_report_interval_ms, 10000);
	ck_assert_str_eq(g_c->health_table_name, "hsdo-slots-health");
	ck_assert(g_c->health_quorum == 0.5);
	ck_assert_int_eq(g_c->health_eject_time_ms, 30000);
	ck_assert_int_eq(g_c->health_max_ejected_percent, 20);
	ck_assert(!g_c->health_asg_set_unhealthy);
	ck_assert_int_eq(g_c->health_asg_after_ms, 300000);
	run("DYNAMODB_TABLE_NAME: hsdo-slots\nHEALTH_TABLE_NAME: reports\n", NULL,
	    HSDO_ROLE_ANY);
	expect_ok();
	ck_assert_str_eq(g_c->health_table_name, "reports");
	run("SERVER_MODE: aws\nSERVER_ASG_NAMES: [a]\nHEALTH_ASG_SET_UNHEALTHY: true\n", NULL,
	    HSDO_ROLE_SERVER);
	expect_ok();
	/* a typo of a health key is named */
	run(NULL, ENV("HEALTH_EJECT_TIMES=5"), HSDO_ROLE_ANY);
	expect_diag(HSDO_DIAG_WARNING, "environment: HEALTH_EJECT_TIMES: unknown variable (did you "
		    "mean HEALTH_EJECT_TIME?)");
}
END_TEST

START_TEST(lists_from_sequence_and_string)
{
	run("SERVER_ASG_NAMES:\n  - a\n  - \"b\"\n  -\n  - ' c '\nCLIENT_ASG_NAMES: x, ,y,\n"
	    "SERVER_CONSUL_SERVICE_NAME: []\n", NULL, HSDO_ROLE_ANY);
	expect_ok();
	ck_assert_str_eq(join(&g_c->server_asg_names), "a,b,c");
	ck_assert_str_eq(join(&g_c->client_asg_names), "x,y");
	ck_assert_uint_eq(g_c->server_consul_service_name.n, 0);
	/* The environment replaces the file's list, it does not append. */
	run("SERVER_ASG_NAMES: [a, b]\n", ENV("SERVER_ASG_NAMES=c"), HSDO_ROLE_ANY);
	expect_ok();
	ck_assert_str_eq(join(&g_c->server_asg_names), "c");
	run("SERVER_ASG_NAMES: [a, b]\n", ENV("SERVER_ASG_NAMES="), HSDO_ROLE_ANY);
	expect_ok();
	ck_assert_uint_eq(g_c->server_asg_names.n, 0);
}
END_TEST

START_TEST(null_and_empty_values)
{
	/* An original env.yaml writes SERVER_MODE: "" on clients. */
	run("SERVER_MODE: \"\"\nSTORE:\nSERVER_CONSUL_API_URL: ~\nSERVER_ASG_NAMES: null\n"
	    "CLIENT_HAPROXY_BACKEND_LIST:\nDYNAMODB_TABLE_NAME: 'null'\n", NULL, HSDO_ROLE_ANY);
	expect_ok();
	ck_assert_int_eq(g_c->server_mode, HSDO_CONFIG_SERVER_MODE_STATIC);
	ck_assert_str_eq(g_c->server_consul_api_url, "");
	ck_assert_uint_eq(g_c->server_asg_names.n, 0);
	ck_assert_uint_eq(g_c->client_haproxy_backend_list.n, 0);
	/* Quoted "null" is the string null. */
	ck_assert_str_eq(g_c->dynamodb_table_name, "null");
	ck_assert_int_eq(g_c->store, HSDO_CONFIG_STORE_DYNAMODB);
}
END_TEST

START_TEST(store_default_rule)
{
	run(NULL, NULL, HSDO_ROLE_ANY);
	expect_ok();
	ck_assert_int_eq(g_c->store, HSDO_CONFIG_STORE_FILE);
	run("DYNAMODB_TABLE_NAME: hsdo\n", NULL, HSDO_ROLE_ANY);
	expect_ok();
	ck_assert_int_eq(g_c->store, HSDO_CONFIG_STORE_DYNAMODB);
	run(NULL, ENV("DYNAMODB_TABLE_NAME=hsdo"), HSDO_ROLE_CLIENT);
	ck_assert_int_eq(g_rc, -HSDO_ECONFIG);   /* no backend, but the store was dynamodb */
	ck_assert(!has_diag(HSDO_DIAG_ERROR, "environment: DYNAMODB_TABLE_NAME: required when STORE is dynamodb"));
	run("DYNAMODB_TABLE_NAME: hsdo\nSTORE: file\n", NULL, HSDO_ROLE_ANY);
	expect_ok();
	ck_assert_int_eq(g_c->store, HSDO_CONFIG_STORE_FILE);
	run("STORE: DynamoDB\nDYNAMODB_TABLE_NAME: hsdo\n", NULL, HSDO_ROLE_ANY);
	expect_ok();
	ck_assert_int_eq(g_c->store, HSDO_CONFIG_STORE_DYNAMODB);
}
END_TEST

/* The env.yaml of the Python original still loads. */
START_TEST(original_env_yaml_loads)
{
	static const char yaml[] =
		"SERVER_MODE: \"\"\n"
		"SERVER_ASG_NAMES: \"\"\n"
		"SERVER_CONSUL_API_URL: \"\"\n"
		"SERVER_CONSUL_SERVICE_NAME: \"\"\n"
		"SERVER_HAPROXY_BACKEND_SERVER_MIN_WEIGHT: 1\n"
		"SERVER_HAPROXY_BACKEND_SERVER_MAX_WEIGHT: 10\n"
		"SERVER_HAPROXY_BACKEND_SERVER_INCREASE_WEIGHT: 1\n"
		"SERVER_HAPROXY_BACKEND_SERVER_INCREASE_WEIGHT_INTERVAL: 30\n"
		"CLIENT_HAPROXY_SOCKET_PATH: /var/run/haproxy/admin.sock\n"
		"CLIENT_HAPROXY_BACKEND_NAME: \"\"\n"
		"CLIENT_HAPROXY_BACKEND_BASE_NAME: \"\"\n"
		"CLIENT_HAPROXY_BACKEND_SERVER_PORT: 80\n"
		"CLIENT_DEDICATED_ASG: \"false\"\n"
		"CLIENT_ASG_NAMES: \"\"\n"
		"CLIENT_HAPROXY_FALLBACK_BACKEND_NAME: \"\"\n"
		"CLIENT_HAPROXY_FALLBACK_BACKEND_BASE_NAME: \"\"\n"
		"CLIENT_ALL_SERVERS_IN_FALLBACK_BACKEND: \"false\"\n"
		"INTERVAL: 1\n"
		"HAPROXY_BACKEND_SERVERS_LIST_SIZE: 10\n"
		"DEBUG: \"false\"\n"
		"DYNAMODB_TABLE_NAME: \"\"\n"
		"AWS_DEFAULT_REGION: eu-west-1\n"
		"EXPORTER_PORT: 9000\n"
		"CLIENT_HAPROXY_BACKEND_LIST:\n"
		"  be_app:\n"
		"    baseName: app\n"
		"    serverPort: 8080\n";

	run(yaml, ENV("DYNAMODB_TABLE_NAME=hsdo-prod", "INTERVAL=5", "EXPORTER_PORT=9123",
		      "HAPROXY_BACKEND_SERVERS_LIST_SIZE=20"), HSDO_ROLE_CLIENT);
	expect_ok();
	ck_assert_uint_eq(ndiag(), 0);
	ck_assert_int_eq(g_c->store, HSDO_CONFIG_STORE_DYNAMODB);
	ck_assert_int_eq(g_c->interval_ms, 5000);
	ck_assert_int_eq(g_c->exporter_port, 9123);
	ck_assert_int_eq(g_c->haproxy_backend_servers_list_size, 20);
	ck_assert_str_eq(join_backends(&g_c->client_haproxy_backend_list), "be_app:app:8080");
}
END_TEST

/* ---- backend list ------------------------------------------------------- */

START_TEST(backend_list_from_yaml)
{
	run("CLIENT_HAPROXY_BACKEND_SERVER_PORT: 9090\n"
	    "CLIENT_HAPROXY_BACKEND_LIST:\n"
	    "  be_app:\n"
	    "    baseName: app\n"
	    "    serverPort: \"8080\"\n"
	    "  be_api: {baseName: api}\n",
	    NULL, HSDO_ROLE_CLIENT);
	expect_ok();
	ck_assert_str_eq(join_backends(&g_c->client_haproxy_backend_list), "be_app:app:8080,be_api:api:9090");
}
END_TEST

START_TEST(backend_list_from_env_one_line)
{
	run("CLIENT_HAPROXY_BACKEND_LIST:\n  be_file: {baseName: f, serverPort: 1}\n",
	    ENV("CLIENT_HAPROXY_BACKEND_LIST=be_a:a:81, be_b:b:82 ,be_c:c"), HSDO_ROLE_CLIENT);
	expect_ok();
	ck_assert_str_eq(join_backends(&g_c->client_haproxy_backend_list), "be_a:a:81,be_b:b:82,be_c:c:80");
	/* The one-line form is accepted as a scalar in the file too. */
	run("CLIENT_HAPROXY_BACKEND_LIST: \"x:y:1\"\n", NULL, HSDO_ROLE_CLIENT);
	expect_ok();
	ck_assert_str_eq(join_backends(&g_c->client_haproxy_backend_list), "x:y:1");
}
END_TEST

START_TEST(single_backend_becomes_list_of_one)
{
	run("CLIENT_HAPROXY_BACKEND_NAME: be_app\nCLIENT_HAPROXY_BACKEND_BASE_NAME: app\n",
	    ENV("CLIENT_HAPROXY_BACKEND_SERVER_PORT=8081"), HSDO_ROLE_CLIENT);
	expect_ok();
	ck_assert_uint_eq(ndiag(), 0);
	ck_assert_str_eq(join_backends(&g_c->client_haproxy_backend_list), "be_app:app:8081");
	/* Fallback backend uses the same port. */
	run(NULL, ENV("CLIENT_HAPROXY_BACKEND_NAME=be", "CLIENT_HAPROXY_BACKEND_BASE_NAME=b",
		      "CLIENT_HAPROXY_FALLBACK_BACKEND_NAME=be_fb",
		      "CLIENT_HAPROXY_FALLBACK_BACKEND_BASE_NAME=fb",
		      "CLIENT_HAPROXY_BACKEND_SERVER_PORT=8082"), HSDO_ROLE_CLIENT);
	expect_ok();
	ck_assert_str_eq(g_c->client_haproxy_fallback_backend.name, "be_fb");
	ck_assert_str_eq(g_c->client_haproxy_fallback_backend.base_name, "fb");
	ck_assert_uint_eq(g_c->client_haproxy_fallback_backend.port, 8082);
}
END_TEST

START_TEST(backend_list_wins_with_warning)
{
	run("CLIENT_HAPROXY_BACKEND_NAME: old\n"
	    "CLIENT_HAPROXY_BACKEND_BASE_NAME: o\n"
	    "CLIENT_HAPROXY_BACKEND_LIST: {be_new: {baseName: n, serverPort: 80}}\n",
	    NULL, HSDO_ROLE_CLIENT);
	expect_ok();
	ck_assert_str_eq(join_backends(&g_c->client_haproxy_backend_list), "be_new:n:80");
	ck_assert_uint_eq(ndiag(), 1);
	expect_diag(HSDO_DIAG_WARNING,
		    "env.yaml:1: CLIENT_HAPROXY_BACKEND_NAME: ignored because CLIENT_HAPROXY_BACKEND_LIST is set");
}
END_TEST

/* The valve in seconds; its deprecated predecessor, read as that many
 * INTERVALs (with a warning), or ignored when SERVER_VALVE_SECONDS is set. */
START_TEST(valve_seconds_and_deprecated_cycles)
{
	run("INTERVAL: 0.2\nSERVER_VALVE_SECONDS: 3\n", NULL, HSDO_ROLE_SERVER);
	expect_ok();
	ck_assert_int_eq(g_c->server_valve_ms, 3000);
	ck_assert_msg(strstr(diags(), "SERVER_VALVE") == NULL, "%s", diags());
	hsdo_config_free(g_c);
	g_c = NULL;
	run("INTERVAL: 0.2\nSERVER_VALVE_CYCLES: 3\n", NULL, HSDO_ROLE_SERVER);
	expect_ok();
	ck_assert_int_eq(g_c->server_valve_ms, 600);
	expect_diag(HSDO_DIAG_WARNING, "env.yaml:2: SERVER_VALVE_CYCLES: deprecated: read as "
		    "SERVER_VALVE_SECONDS 0.6 (3 cycles of INTERVAL 0.2); set SERVER_VALVE_SECONDS "
		    "instead");
	hsdo_config_free(g_c);
	g_c = NULL;
	hsdo_diag_free(&g_d);
	run("SERVER_VALVE_CYCLES: 0\n", ENV("SERVER_VALVE_SECONDS=12"), HSDO_ROLE_SERVER);
	expect_ok();
	ck_assert_int_eq(g_c->server_valve_ms, 12000);
	expect_diag(HSDO_DIAG_WARNING, "env.yaml:1: SERVER_VALVE_CYCLES: deprecated and ignored: "
		    "SERVER_VALVE_SECONDS is set");
	hsdo_config_free(g_c);
	g_c = NULL;
	hsdo_diag_free(&g_d);
	run(NULL, ENV("SERVER_VALVE_CYCLES=0"), HSDO_ROLE_SERVER);   /* the valve off, still */
	expect_ok();
	ck_assert_int_eq(g_c->server_valve_ms, 0);
}
END_TEST

/* Lists and backend lists are bounded, in both forms, with one error. */
START_TEST(list_and_backend_bounds)
{
	size_t i, len = 0, cap = 300 * 32;
	char *env = malloc(cap), *yaml = malloc(cap * 4);

	ck_assert_ptr_nonnull(env);
	ck_assert_ptr_nonnull(yaml);
	len = (size_t)snprintf(env, cap, "CLIENT_HAPROXY_BACKEND_LIST=");
	for (i = 0; i < 257; i++)
		len += (size_t)snprintf(env + len, cap - len, "b%zu:s:1,", i);
	run(NULL, ENV(env), HSDO_ROLE_ANY);
	expect_fail();
	ck_assert_uint_eq(g_d.nerrors, 1);
	expect_diag(HSDO_DIAG_ERROR, "environment: CLIENT_HAPROXY_BACKEND_LIST: too many backends (at most 256)");

	len = (size_t)snprintf(yaml, cap * 4, "CLIENT_HAPROXY_BACKEND_LIST:\n");
	for (i = 0; i < 257; i++)
		len += (size_t)snprintf(yaml + len, cap * 4 - len, "  b%zu: {baseName: s}\n", i);
	run(yaml, NULL, HSDO_ROLE_ANY);
	expect_fail();
	ck_assert_uint_eq(g_d.nerrors, 1);
	expect_diag(HSDO_DIAG_ERROR, "env.yaml:258: CLIENT_HAPROXY_BACKEND_LIST: too many backends (at most 256)");
	free(env);

	len = (size_t)snprintf(yaml, cap * 4, "SERVER_ASG_NAMES:\n");
	for (i = 0; i < 1001; i++)
		len += (size_t)snprintf(yaml + len, cap * 4 - len, "- a%zu\n", i);
	run(yaml, NULL, HSDO_ROLE_ANY);
	free(yaml);
	expect_fail();
	ck_assert_uint_eq(g_d.nerrors, 1);
	expect_diag(HSDO_DIAG_ERROR, "env.yaml:1002: SERVER_ASG_NAMES: too many items (at most 1000)");
}
END_TEST

/* ---- validation: one case per rule ---------------------------------------- */

struct rule_case {
	const char *yaml;          /* NULL: no file */
	char *env[4];
	enum hsdo_role role;
	const char *msg;           /* exact error expected among the diagnostics */
};

#define CLIENT_OK "CLIENT_HAPROXY_BACKEND_LIST: {be: {baseName: s}}\n"

static const struct rule_case rule_cases[] = {
	/* bounds */
	{ "SERVER_HAPROXY_BACKEND_SERVER_MIN_WEIGHT: 257\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: SERVER_HAPROXY_BACKEND_SERVER_MIN_WEIGHT: must be between 0 and 256, got 257" },
	{ NULL, { "SERVER_HAPROXY_BACKEND_SERVER_MAX_WEIGHT=-1" }, HSDO_ROLE_ANY,
	  "environment: SERVER_HAPROXY_BACKEND_SERVER_MAX_WEIGHT: must be between 0 and 256, got -1" },
	{ "SERVER_HAPROXY_BACKEND_SERVER_MIN_WEIGHT: 5\nSERVER_HAPROXY_BACKEND_SERVER_MAX_WEIGHT: 4\n",
	  { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: SERVER_HAPROXY_BACKEND_SERVER_MIN_WEIGHT: must not be greater than "
	  "SERVER_HAPROXY_BACKEND_SERVER_MAX_WEIGHT (4)" },
	{ "SERVER_HAPROXY_BACKEND_SERVER_INCREASE_WEIGHT: 0\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: SERVER_HAPROXY_BACKEND_SERVER_INCREASE_WEIGHT: must be between 1 and 256, got 0" },
	{ "HAPROXY_BACKEND_SERVERS_LIST_SIZE: 0\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: HAPROXY_BACKEND_SERVERS_LIST_SIZE: must be between 1 and 100000, got 0" },
	{ NULL, { "HAPROXY_BACKEND_SERVERS_LIST_SIZE=100001" }, HSDO_ROLE_ANY,
	  "environment: HAPROXY_BACKEND_SERVERS_LIST_SIZE: must be between 1 and 100000, got 100001" },
	{ "EXPORTER_PORT: 65536\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: EXPORTER_PORT: must be between 1 and 65535, got 65536" },
	{ NULL, { "CLIENT_HAPROXY_BACKEND_SERVER_PORT=0" }, HSDO_ROLE_ANY,
	  "environment: CLIENT_HAPROXY_BACKEND_SERVER_PORT: must be between 1 and 65535, got 0" },
	{ "INTERVAL: 0\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: INTERVAL: must be greater than 0 and at most 86400 seconds, got 0" },
	{ "CLIENT_HAPROXY_TIMEOUT: 0.000\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: CLIENT_HAPROXY_TIMEOUT: must be greater than 0 and at most 3600 seconds, got 0" },
	{ NULL, { "SERVER_HAPROXY_BACKEND_SERVER_INCREASE_WEIGHT_INTERVAL=0" }, HSDO_ROLE_ANY,
	  "environment: SERVER_HAPROXY_BACKEND_SERVER_INCREASE_WEIGHT_INTERVAL: must be greater than 0 "
	  "and at most 86400 seconds, got 0" },
	{ "SERVER_DRAIN_TIME: -0.5\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: SERVER_DRAIN_TIME: must be between 0 and 86400 seconds, got -0.5" },
	{ "SERVER_DRAIN_TIME: 0.0001\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: SERVER_DRAIN_TIME: '0.0001' is finer than a millisecond" },
	/* types */
	{ "DEBUG: maybe\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: DEBUG: expected a boolean (true/false, yes/no, on/off, 1/0), got 'maybe'" },
	{ NULL, { "EXPORTER_PORT=9k" }, HSDO_ROLE_ANY,
	  "environment: EXPORTER_PORT: expected an integer, got '9k'" },
	{ NULL, { "INTERVAL=soon" }, HSDO_ROLE_ANY,
	  "environment: INTERVAL: expected a number of seconds (like 5 or 0.5), got 'soon'" },
	{ "SERVER_MODE: k8s\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: SERVER_MODE: expected one of aws, consul, static, got 'k8s'" },
	{ NULL, { "LOG_TARGET=journal" }, HSDO_ROLE_ANY,
	  "environment: LOG_TARGET: expected one of stderr, syslog, got 'journal'" },
	{ NULL, { "STORE=s3" }, HSDO_ROLE_ANY,
	  "environment: STORE: expected one of dynamodb, file, got 's3'" },
	{ "INTERVAL:\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: INTERVAL: empty value, expected a number of seconds" },
	{ "EXPORTER_PORT: {a: 1}\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: EXPORTER_PORT: expected an integer, got a mapping" },
	{ "DEBUG: false\nDYNAMODB_TABLE_NAME:\n  - a\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:3: DYNAMODB_TABLE_NAME: expected a string, got a list" },
	{ "SERVER_ASG_NAMES: {a: b}\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: SERVER_ASG_NAMES: expected a list or a comma-separated string, got a mapping" },
	{ "CLIENT_HAPROXY_BACKEND_LIST: [a, b]\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: CLIENT_HAPROXY_BACKEND_LIST: expected a mapping of backend to {baseName, serverPort}, "
	  "got a list" },
	{ "SERVER_ASG_NAMES:\n  - a\n  - [b]\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:3: SERVER_ASG_NAMES: list items must be scalars, got a list" },
	{ "STORE_FILE_PATH: \"a\\0b\"\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: STORE_FILE_PATH: contains a NUL byte" },
	{ "STORE_FILE_PATH: \"a\\nb\"\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: STORE_FILE_PATH: contains a control character" },
	{ "INTERVAL: 1\nDEBUG: true\nINTERVAL: 2\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:3: INTERVAL: duplicate key (first set on line 1)" },
	/* strings */
	{ NULL, { "EXPORTER_ADDR=" }, HSDO_ROLE_ANY, "environment: EXPORTER_ADDR: must not be empty" },
	{ NULL, { "CLIENT_HAPROXY_SOCKET_PATH=" }, HSDO_ROLE_ANY,
	  "environment: CLIENT_HAPROXY_SOCKET_PATH: must not be empty" },
	{ "CLIENT_HAPROXY_SOCKET_PATH: /run/haproxy/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: CLIENT_HAPROXY_SOCKET_PATH: too long (at most 107 bytes)" },
	{ NULL, { "SPOA_LISTEN=localhost" }, HSDO_ROLE_ANY,
	  "environment: SPOA_LISTEN: 'localhost' expected host:port or [ipv6]:port with a port in 1..65535, or off" },
	{ NULL, { "SPOA_LISTEN=::1:80" }, HSDO_ROLE_ANY,
	  "environment: SPOA_LISTEN: '::1:80' expected host:port or [ipv6]:port with a port in 1..65535, or off" },
	{ "SERVER_CONSUL_API_URL: consul:8500\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: SERVER_CONSUL_API_URL: 'consul:8500' must start with http:// or https://" },
	{ "DYNAMODB_TABLE_NAME: my table\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: DYNAMODB_TABLE_NAME: 'my table' may only contain letters, digits, '_', '-' and '.'" },
	{ "SERVER_LIFECYCLE_HOOK_NAME: drain hook\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: SERVER_LIFECYCLE_HOOK_NAME: 'drain hook' may only contain letters, digits, '-', "
	  "'_' and '/'" },
	{ NULL, { "SERVER_LIFECYCLE_HOOK_NAME=hook:1" }, HSDO_ROLE_SERVER,
	  "environment: SERVER_LIFECYCLE_HOOK_NAME: 'hook:1' may only contain letters, digits, '-', "
	  "'_' and '/'" },
	{ "AWS_DEFAULT_REGION: EU-WEST-1\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: AWS_DEFAULT_REGION: 'EU-WEST-1' may only contain lower-case letters, digits and '-'" },
	/* backend names */
	{ "CLIENT_HAPROXY_BACKEND_NAME: \"be app\"\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: CLIENT_HAPROXY_BACKEND_NAME: 'be app' must not contain whitespace, ';' or '/'" },
	{ NULL, { "CLIENT_HAPROXY_FALLBACK_BACKEND_BASE_NAME=a;b" }, HSDO_ROLE_ANY,
	  "environment: CLIENT_HAPROXY_FALLBACK_BACKEND_BASE_NAME: 'a;b' must not contain whitespace, ';' or '/'" },
	{ "CLIENT_HAPROXY_BACKEND_LIST:\n  be/x: {baseName: s}\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:2: CLIENT_HAPROXY_BACKEND_LIST: backend name 'be/x' must not contain whitespace, ';' or '/'" },
	{ NULL, { "CLIENT_HAPROXY_BACKEND_LIST=be::80" }, HSDO_ROLE_ANY,
	  "environment: CLIENT_HAPROXY_BACKEND_LIST: backend 'be': baseName must not be empty" },
	{ NULL, { "CLIENT_HAPROXY_BACKEND_LIST=be" }, HSDO_ROLE_ANY,
	  "environment: CLIENT_HAPROXY_BACKEND_LIST: 'be': expected backend:baseName:port" },
	{ NULL, { "CLIENT_HAPROXY_BACKEND_LIST=be:s:0" }, HSDO_ROLE_ANY,
	  "environment: CLIENT_HAPROXY_BACKEND_LIST: backend 'be': serverPort must be a port number in "
	  "1..65535, got '0'" },
	{ NULL, { "CLIENT_HAPROXY_BACKEND_LIST=a:s:1,a:t:2" }, HSDO_ROLE_ANY,
	  "environment: CLIENT_HAPROXY_BACKEND_LIST: backend 'a' listed twice" },
	{ "CLIENT_HAPROXY_BACKEND_LIST:\n  be:\n    serverPort: 80\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:2: CLIENT_HAPROXY_BACKEND_LIST: backend 'be': baseName is required" },
	{ "CLIENT_HAPROXY_BACKEND_LIST:\n  be:\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:2: CLIENT_HAPROXY_BACKEND_LIST: backend 'be': expected a mapping with baseName and "
	  "serverPort, got nothing" },
	{ "CLIENT_HAPROXY_BACKEND_LIST:\n  be:\n    baseName: s\n    serverPort: [1]\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:4: CLIENT_HAPROXY_BACKEND_LIST: backend 'be': serverPort must be a number, got a list" },
	{ NULL, { "CLIENT_HAPROXY_BACKEND_NAME=be" }, HSDO_ROLE_ANY,
	  "environment: CLIENT_HAPROXY_BACKEND_BASE_NAME: required with CLIENT_HAPROXY_BACKEND_NAME" },
	{ "CLIENT_HAPROXY_BACKEND_BASE_NAME: s\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml: CLIENT_HAPROXY_BACKEND_NAME: required with CLIENT_HAPROXY_BACKEND_BASE_NAME" },
	{ "CLIENT_HAPROXY_FALLBACK_BACKEND_NAME: fb\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml: CLIENT_HAPROXY_FALLBACK_BACKEND_BASE_NAME: required with "
	  "CLIENT_HAPROXY_FALLBACK_BACKEND_NAME" },
	/* store */
	{ NULL, { "STORE=dynamodb" }, HSDO_ROLE_ANY,
	  "environment: DYNAMODB_TABLE_NAME: required when STORE is dynamodb" },
	{ "DYNAMODB_TABLE_NAME: t-1\nAWS_DEFAULT_REGION: \"\"\n", { NULL }, HSDO_ROLE_SERVER,
	  "env.yaml:2: AWS_DEFAULT_REGION: required when STORE is dynamodb" },
	{ "STORE: file\nSTORE_FILE_PATH: ''\n", { NULL }, HSDO_ROLE_CLIENT,
	  "env.yaml:2: STORE_FILE_PATH: required when STORE is file" },
	/* server role */
	{ "SERVER_MODE: aws\n", { NULL }, HSDO_ROLE_SERVER,
	  "env.yaml: SERVER_ASG_NAMES: required when SERVER_MODE is aws" },
	{ NULL, { "SERVER_MODE=aws", "AWS_DEFAULT_REGION=", "SERVER_ASG_NAMES=a" }, HSDO_ROLE_SERVER,
	  "environment: AWS_DEFAULT_REGION: required when SERVER_MODE is aws" },
	{ "SERVER_MODE: consul\nSERVER_CONSUL_SERVICE_NAME: web\n", { NULL }, HSDO_ROLE_SERVER,
	  "env.yaml: SERVER_CONSUL_API_URL: required when SERVER_MODE is consul" },
	{ "SERVER_MODE: consul\nSERVER_CONSUL_API_URL: http://c\n", { NULL }, HSDO_ROLE_SERVER,
	  "env.yaml: SERVER_CONSUL_SERVICE_NAME: required when SERVER_MODE is consul" },
	{ NULL, { "SERVER_STATIC_FILE=" }, HSDO_ROLE_SERVER,
	  "environment: SERVER_STATIC_FILE: required when SERVER_MODE is static" },
	/* client role */
	{ "DEBUG: true\n", { NULL }, HSDO_ROLE_CLIENT,
	  "env.yaml: CLIENT_HAPROXY_BACKEND_LIST: at least one backend is required (or set "
	  "CLIENT_HAPROXY_BACKEND_NAME and CLIENT_HAPROXY_BACKEND_BASE_NAME)" },
	{ CLIENT_OK "CLIENT_DEDICATED_ASG: true\nCLIENT_HAPROXY_FALLBACK_BACKEND_NAME: fb\n"
	  "CLIENT_HAPROXY_FALLBACK_BACKEND_BASE_NAME: f\n", { NULL }, HSDO_ROLE_CLIENT,
	  "env.yaml: CLIENT_ASG_NAMES: required when CLIENT_DEDICATED_ASG is true" },
	{ CLIENT_OK, { "CLIENT_DEDICATED_ASG=1", "CLIENT_ASG_NAMES=a" }, HSDO_ROLE_CLIENT,
	  "env.yaml: CLIENT_HAPROXY_FALLBACK_BACKEND_NAME: required when CLIENT_DEDICATED_ASG is true" },
	{ CLIENT_OK, { "CLIENT_DEDICATED_ASG=1", "CLIENT_ASG_NAMES=a" }, HSDO_ROLE_CLIENT,
	  "env.yaml: CLIENT_HAPROXY_FALLBACK_BACKEND_BASE_NAME: required when CLIENT_DEDICATED_ASG is true" },
	/* fleet health */
	{ "HEALTH_ERROR_RATIO: 0\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: HEALTH_ERROR_RATIO: expected a number from 0.000001 to 1, got '0'" },
	{ NULL, { "HEALTH_QUORUM=1.5" }, HSDO_ROLE_ANY,
	  "environment: HEALTH_QUORUM: expected a number from 0 to 1, got '1.5'" },
	{ NULL, { "HEALTH_QUORUM=0.1234567" }, HSDO_ROLE_ANY,
	  "environment: HEALTH_QUORUM: expected a number from 0 to 1 with at most 6 decimals, "
	  "got '0.1234567'" },
	{ NULL, { "HEALTH_QUORUM=-0.5" }, HSDO_ROLE_ANY,
	  "environment: HEALTH_QUORUM: expected a number from 0 to 1, got '-0.5'" },
	{ "HEALTH_EJECT_TIME: 301\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: HEALTH_EJECT_TIME: must be between 1 and 300 seconds, got 301" },
	{ "HEALTH_MAX_EJECTED_PERCENT: 0\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: HEALTH_MAX_EJECTED_PERCENT: must be between 1 and 100, got 0" },
	{ "CLIENT_ID: a/b\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: CLIENT_ID: 'a/b' may only contain letters, digits, '.', '_' and '-' (and is "
	  "not . or ..)" },
	{ "DYNAMODB_TABLE_NAME: slots\nHEALTH_TABLE_NAME: slots\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:2: HEALTH_TABLE_NAME: must not be the slot table (DYNAMODB_TABLE_NAME): the "
	  "original HSDO would read the reports as slots" },
	{ "HEALTH_ASG_SET_UNHEALTHY: true\n", { NULL }, HSDO_ROLE_SERVER,
	  "env.yaml:1: HEALTH_ASG_SET_UNHEALTHY: needs SERVER_MODE aws (Auto Scaling is what "
	  "replaces the instance)" },
	/* file structure */
	{ "- INTERVAL\n- 1\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: expected a mapping of KEY: value at the top level, got a list" },
	{ "just text\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:1: expected a mapping of KEY: value at the top level, got a scalar" },
	{ "DEBUG: true\n[a]: 1\n", { NULL }, HSDO_ROLE_ANY,
	  "env.yaml:2: keys must be setting names, got a list" },
};

START_TEST(validation_rule)
{
	const struct rule_case *rc = &rule_cases[_i];

	run(rc->yaml, rc->env, rc->role);
	expect_fail();
	expect_diag(HSDO_DIAG_ERROR, rc->msg);
	ck_assert_uint_ge(g_d.nerrors, 1);
}
END_TEST

/* The rules above pass when their role does not ask for the key. */
START_TEST(role_rules_need_the_role)
{
	run("SERVER_MODE: aws\n", NULL, HSDO_ROLE_ANY);
	expect_ok();
	run("SERVER_MODE: aws\n", NULL, HSDO_ROLE_CLIENT);
	ck_assert(!has_diag(HSDO_DIAG_ERROR, "env.yaml: SERVER_ASG_NAMES: required when SERVER_MODE is aws"));
	run("SERVER_MODE: aws\nSERVER_ASG_NAMES: a\n", NULL, HSDO_ROLE_SERVER);
	expect_ok();
	run("DEBUG: true\n", NULL, HSDO_ROLE_SERVER);
	expect_ok();
	run("DEBUG: true\n", NULL, HSDO_ROLE_ANY);
	expect_ok();
	run(CLIENT_OK, NULL, HSDO_ROLE_CLIENT);
	expect_ok();
	run(CLIENT_OK "CLIENT_DEDICATED_ASG: true\n", NULL, HSDO_ROLE_SERVER);
	expect_ok();
}
END_TEST

/* Every error of a call is reported, each with its own location. */
START_TEST(all_errors_in_one_call)
{
	static const char yaml[] =
		"# hsdo\n"
		"INTERVAL: fast\n"
		"DEBUG: maybe\n"
		"EXPORTER_PORT: 65536\n"
		"SERVER_ASG_NAMES:\n"
		"  - a\n"
		"  - {b: 1}\n"
		"SERVER_HAPROXY_BACKEND_SERVER_MIN_WEIGHT: 9\n"
		"INTERVALS: 3\n";
	static const char *const want[] = {
		"env.yaml:2: INTERVAL: expected a number of seconds (like 5 or 0.5), got 'fast'",
		"env.yaml:3: DEBUG: expected a boolean (true/false, yes/no, on/off, 1/0), got 'maybe'",
		"env.yaml:4: EXPORTER_PORT: must be between 1 and 65535, got 65536",
		"env.yaml:7: SERVER_ASG_NAMES: list items must be scalars, got a mapping",
		"env.yaml:9: INTERVALS: unknown key (did you mean INTERVAL?)",
		"environment: CLIENT_HAPROXY_BACKEND_SERVER_PORT: expected an integer, got 'x'",
		"environment: HAPROXY_BACKEND_SERVERS_LIST_SIZE: must be between 1 and 100000, got 0",
		"environment: CLIENT_HAPROXY_BACKEND_LIS: unknown variable (did you mean CLIENT_HAPROXY_BACKEND_LIST?)",
		"env.yaml: " STORE_AUTO_WARNING,
		"env.yaml:8: SERVER_HAPROXY_BACKEND_SERVER_MIN_WEIGHT: must not be greater than "
		"SERVER_HAPROXY_BACKEND_SERVER_MAX_WEIGHT (5)",
	};
	size_t i;

	run(yaml, ENV("HAPROXY_BACKEND_SERVERS_LIST_SIZE=0", "CLIENT_HAPROXY_BACKEND_SERVER_PORT=x",
		      "SERVER_HAPROXY_BACKEND_SERVER_MAX_WEIGHT=5", "CLIENT_HAPROXY_BACKEND_LIS=a:b:1",
		      "HOME=/root"),
	    HSDO_ROLE_ANY);
	expect_fail();
	ck_assert_msg(g_d.n == NELEM(want), "%s", diags());
	ck_assert_uint_eq(g_d.nerrors, NELEM(want) - 3);
	for (i = 0; i < NELEM(want); i++)
		ck_assert_str_eq(g_d.v[i].msg, want[i]);
	ck_assert_int_eq(g_d.v[4].level, HSDO_DIAG_WARNING);
	ck_assert_int_eq(g_d.v[7].level, HSDO_DIAG_WARNING);
	ck_assert_int_eq(g_d.v[8].level, HSDO_DIAG_WARNING);
}
END_TEST

/* A file error is still an error when the environment overrides the key. */
START_TEST(file_error_kept_under_env_override)
{
	run("INTERVAL: x\n", ENV("INTERVAL=2"), HSDO_ROLE_ANY);
	expect_fail();
	ck_assert_uint_eq(g_d.nerrors, 1);
	expect_diag(HSDO_DIAG_ERROR, "env.yaml:1: INTERVAL: expected a number of seconds (like 5 or 0.5), got 'x'");
}
END_TEST

/* ---- syntax errors ------------------------------------------------------ */

struct syntax_case {
	const char *yaml;
	const char *prefix;   /* the message starts with this */
};

static const struct syntax_case syntax_cases[] = {
	{ "INTERVAL: [1, 2\nDEBUG: true\n", "env.yaml:2: syntax error: did not find expected ',' or ']'" },
	{ "INTERVAL: 1\n  DEBUG: true\n", "env.yaml:2: syntax error: mapping values are not allowed" },
	{ "DEBUG: true\nINTERVAL: \"5\n", "env.yaml:3: syntax error: found unexpected end of stream" },
	{ "DEBUG: true\n\tINTERVAL: 5\n", "env.yaml:2: syntax error: found a tab character that violates indentation" },
	{ "a: 1\nb: 2\nc: \x01\n", "env.yaml:3: syntax error: control characters are not allowed" },
	{ "a: 1\nb: \xff\n", "env.yaml:2: syntax error: invalid leading UTF-8 octet" },
	{ "INTERVAL: 1\n---\nDEBUG: true\n", "env.yaml:2: syntax error: only one YAML document is allowed" },
	{ "DEBUG: *nope\n", "env.yaml:1: syntax error: found undefined alias" },
	{ "a: &x 1\nb: &x 2\nc: 3\n", "env.yaml:2: syntax error: second occurrence (found duplicate anchor" },
	{ "{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\n",
	  "env.yaml:1: nesting deeper than 32 levels" },
};

START_TEST(syntax_error_lines)
{
	const struct syntax_case *sc = &syntax_cases[_i];

	run(sc->yaml, NULL, HSDO_ROLE_CLIENT);
	expect_fail();
	/* Only the syntax error: no cross-key noise from an unread file. */
	ck_assert_msg(ndiag() == 1, "%s", diags());
	ck_assert_msg(strncmp(g_d.v[0].msg, sc->prefix, strlen(sc->prefix)) == 0,
		      "want prefix \"%s\", got%s", sc->prefix, diags());
}
END_TEST

START_TEST(syntax_error_still_reports_env)
{
	run("INTERVAL: [\n", ENV("EXPORTER_PORT=0"), HSDO_ROLE_ANY);
	expect_fail();
	ck_assert_msg(g_d.nerrors == 2, "%s", diags());
	expect_diag(HSDO_DIAG_ERROR, "environment: EXPORTER_PORT: must be between 1 and 65535, got 0");
}
END_TEST

START_TEST(empty_and_comment_only_files)
{
	static const char *const ok[] = { "", "# nothing\n", "---\n", "--- ~\n", "{}\n", "\n\n\n", "--- # only a comment\n...\n" };
	size_t i;

	for (i = 0; i < NELEM(ok); i++) {
		run(ok[i], NULL, HSDO_ROLE_ANY);
		expect_ok();
		ck_assert_msg(ndiag() == 0, "'%s':%s", ok[i], diags());
		ck_assert_int_eq(g_c->interval_ms, 1000);
	}
}
END_TEST

START_TEST(anchors_and_aliases)
{
	run("SERVER_ASG_NAMES: &asgs [a, b]\nCLIENT_ASG_NAMES: *asgs\nINTERVAL: &i 3\nCLIENT_HAPROXY_TIMEOUT: *i\n",
	    NULL, HSDO_ROLE_ANY);
	expect_ok();
	ck_assert_str_eq(join(&g_c->client_asg_names), "a,b");
	ck_assert_int_eq(g_c->client_haproxy_timeout_ms, 3000);
}
END_TEST

START_TEST(too_large_buffer)
{
	size_t len = HSDO_CONFIG_FILE_MAX + 1;
	char *buf = malloc(len);

	ck_assert_ptr_nonnull(buf);
	memset(buf, '#', len);
	g_rc = hsdo_config_parse(buf, len, "big.yaml", NULL, HSDO_ROLE_ANY, &g_c, &g_d);
	free(buf);
	expect_fail();
	expect_diag(HSDO_DIAG_ERROR, "big.yaml: file too large (1048577 bytes, at most 1048576)");
}
END_TEST

/* ---- unknown keys ---------------------------------------------------------- */

struct unknown_case {
	const char *yaml;
	char *env[3];
	const char *msg;     /* NULL: no diagnostic at all */
};

static const struct unknown_case unknown_cases[] = {
	{ "DEBUG: true\nSERVER_MOD: aws\n", { NULL }, "env.yaml:2: SERVER_MOD: unknown key (did you mean SERVER_MODE?)" },
	{ "interval: 3\n", { NULL }, "env.yaml:1: interval: unknown key (did you mean INTERVAL?)" },
	{ "CLIENT_HAPROXY_BACKEND_SERVER_PROT: 80\n", { NULL },
	  "env.yaml:1: CLIENT_HAPROXY_BACKEND_SERVER_PROT: unknown key (did you mean CLIENT_HAPROXY_BACKEND_SERVER_PORT?)" },
	{ "FOO: bar\n", { NULL }, "env.yaml:1: FOO: unknown key" },
	{ "\"\": 1\n", { NULL }, "env.yaml:1: : unknown key" },
	{ "\"ab\\x01c\": 1\n", { NULL }, "env.yaml:1: ab?c: unknown key" },
	{ NULL, { "EXPORTER_PROT=1" }, "environment: EXPORTER_PROT: unknown variable (did you mean EXPORTER_PORT?)" },
	{ NULL, { "HSDO_AGENT=/usr/bin/hsdo-agent" }, NULL },
	{ NULL, { "STORE_PATH=/x" }, "environment: STORE_PATH: unknown variable" },
	{ NULL, { "SERVER_ASG_NAME=a" }, "environment: SERVER_ASG_NAME: unknown variable (did you mean SERVER_ASG_NAMES?)" },
	{ NULL, { "PATH=/bin", "AWS_ACCESS_KEY_ID=x" }, NULL },
	{ NULL, { "DYNAMODB_TABLENAME=t" }, "environment: DYNAMODB_TABLENAME: unknown variable (did you mean DYNAMODB_TABLE_NAME?)" },
	{ NULL, { "INTERVALL=1" }, "environment: INTERVALL: unknown variable (did you mean INTERVAL?)" },
	{ NULL, { "DEBUGG=1" }, "environment: DEBUGG: unknown variable (did you mean DEBUG?)" },
	{ NULL, { "DYNAMODB_ENDPOINT=x" }, "environment: DYNAMODB_ENDPOINT: unknown variable" },
	{ NULL, { "LOG_LEVEL=debug" }, "environment: LOG_LEVEL: unknown variable" },
	{ NULL, { "AWS_REGOIN=eu-west-3" }, "environment: AWS_REGOIN: unknown variable (did you mean AWS_REGION?)" },
	{ NULL, { "AWS_PROFLE=prod" }, "environment: AWS_PROFLE: unknown variable (did you mean AWS_PROFILE?)" },
	{ NULL, { "AWS_EXECUTION_ENV=AWS_ECS_EC2", "AWS_STS_REGIONAL_ENDPOINTS=regional" }, NULL },
	{ NULL, { "AWS_WEB_IDENTITY_TOKEN_FILE=/t", "AWS_ROLE_ARN=arn:aws:iam::1:role/r" }, NULL },
	{ NULL, { "CONSUL_HTTP_TOKEN=x", "HSDO_SOURCE_DIR=/src" }, NULL },
};

START_TEST(unknown_keys_warn)
{
	const struct unknown_case *uc = &unknown_cases[_i];

	run(uc->yaml, uc->env, HSDO_ROLE_ANY);
	expect_ok();
	if (uc->msg == NULL) {
		ck_assert_msg(ndiag() == 0, "%s", diags());
		return;
	}
	ck_assert_msg(ndiag() == 1, "%s", diags());
	ck_assert_uint_eq(g_d.nerrors, 0);
	expect_diag(HSDO_DIAG_WARNING, uc->msg);
}
END_TEST

/* What systemd, ECS, EKS and a login shell put in the environment draws
 * no warning: only names that look like ours do. */
START_TEST(typical_environment_is_quiet)
{
	run(NULL, ENV("HOME=/var/lib/hsdo", "PATH=/usr/bin", "USER=hsdo", "LOGNAME=hsdo",
		      "SHELL=/bin/sh", "TERM=xterm", "LANG=C.UTF-8", "PWD=/", "OLDPWD=/",
		      "HOSTNAME=ip-10-0-0-1", "SHLVL=1", "TZ=UTC", "MAIL=/var/mail/hsdo",
		      "INVOCATION_ID=1", "JOURNAL_STREAM=8:1", "NOTIFY_SOCKET=/run/systemd/notify",
		      "WATCHDOG_USEC=1", "WATCHDOG_PID=1", "MAINPID=1", "SYSTEMD_EXEC_PID=1",
		      "RUNTIME_DIRECTORY=/run/hsdo", "STATE_DIRECTORY=/var/lib/hsdo",
		      "LOGS_DIRECTORY=/var/log/hsdo", "CONFIGURATION_DIRECTORY=/etc/hsdo",
		      "CREDENTIALS_DIRECTORY=/run/c", "ECS_CONTAINER_METADATA_URI_V4=http://x",
		      "AWS_EXECUTION_ENV=AWS_ECS_EC2", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/c",
		      "AWS_REGION=eu-west-3", "AWS_DEFAULT_REGION=eu-west-3",
		      "AWS_STS_REGIONAL_ENDPOINTS=regional", "AWS_ROLE_ARN=arn:aws:iam::1:role/r",
		      "AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/token",
		      "KUBERNETES_SERVICE_HOST=10.0.0.1", "KUBERNETES_PORT=tcp://10.0.0.1:443",
		      "DEBIAN_FRONTEND=noninteractive", "STORE=file"),
	    HSDO_ROLE_ANY);
	expect_ok();
	ck_assert_msg(g_d.n == 0, "%s", diags());
}
END_TEST

/* Every AWS_* / CONSUL_* name the AWS and Consul clients read is known to
 * the configuration, so the typo check never flags a variable we honour. */
START_TEST(env_known_covers_the_clients)
{
	static const char *const files[] = {
		"libhsdo/aws/aws.c", "libhsdo/aws/aws_creds.c", "libhsdo/aws/creds.c",
		"libhsdo/aws/profile.c",
		"libhsdo/source/source_consul.c",
	};
	size_t i, n, found = 0;

	for (i = 0; i < NELEM(files); i++) {
		char *text = source_file(files[i]);
		const char *p = text;

		while ((p = strchr(p, '"')) != NULL) {
			p++;
			n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
			if (p[n] == '"' && (strncmp(p, "AWS_", 4) == 0 || strncmp(p, "CONSUL_", 7) == 0)) {
				ck_assert_msg(hsdo_config_env_known(p, n), "%s reads %.*s, unknown to "
					      "hsdo_config_env_known", files[i], (int)n, p);
				found++;
				p += n + 1;
			}
		}
		free(text);
	}
	ck_assert_uint_ge(found, 20);
	ck_assert(!hsdo_config_env_known("AWS_REGOIN", 10));
	ck_assert(hsdo_config_env_known("DYNAMODB_TABLE_NAME", 19));
}
END_TEST

/* STORE left to its default picks the file store out loud when there is
 * no table; never when the choice is explicit or DynamoDB. */
START_TEST(store_auto_file_is_said)
{
	run(NULL, NULL, HSDO_ROLE_ANY);
	expect_ok();
	ck_assert(g_c->store_auto);
	expect_diag(HSDO_DIAG_WARNING, "environment: " STORE_AUTO_WARNING);
	run("INTERVAL: 2\nSTORE: \"\"\n", NULL, HSDO_ROLE_ANY);
	expect_ok();
	expect_diag(HSDO_DIAG_WARNING, "env.yaml:2: " STORE_AUTO_WARNING);
	run(NULL, ENV("DYNAMODB_TABLENAME=slots"), HSDO_ROLE_ANY);
	expect_ok();
	ck_assert_int_eq(g_c->store, HSDO_CONFIG_STORE_FILE);
	expect_diag(HSDO_DIAG_WARNING, "environment: " STORE_AUTO_WARNING);
	expect_diag(HSDO_DIAG_WARNING, "environment: DYNAMODB_TABLENAME: unknown variable (did "
		    "you mean DYNAMODB_TABLE_NAME?)");
	run(NULL, ENV("STORE=file"), HSDO_ROLE_ANY);
	expect_ok();
	ck_assert(!g_c->store_auto);
	ck_assert_uint_eq(g_d.n, 0);
	run(NULL, ENV("DYNAMODB_TABLE_NAME=slots"), HSDO_ROLE_ANY);
	expect_ok();
	ck_assert(g_c->store_auto);
	ck_assert_int_eq(g_c->store, HSDO_CONFIG_STORE_DYNAMODB);
	ck_assert_uint_eq(g_d.n, 0);
}
END_TEST

/* --check-config --debug: each value with where it came from. */
START_TEST(dump_with_origins)
{
	char *buf = NULL;
	size_t len = 0;
	enum hsdo_config_origin o;
	size_t line;
	FILE *f;

	run("# c\nINTERVAL: 3\nSERVER_CONSUL_API_URL: https://ops:s3cret@consul:8501/x\n",
	    ENV("EXPORTER_PORT=9100"), HSDO_ROLE_ANY);
	expect_ok();
	ck_assert_str_eq(g_c->source_file, FNAME);
	f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(hsdo_config_dump_origins(g_c, f), 0);
	fclose(f);
	ck_assert_msg(strstr(buf, "\nINTERVAL = 3  # env.yaml:2\n") != NULL, "%s", buf);
	ck_assert_msg(strstr(buf, "\nSERVER_CONSUL_API_URL = https://ops:***@consul:8501/x  # env.yaml:3\n")
		      != NULL, "%s", buf);
	ck_assert_msg(strstr(buf, "s3cret") == NULL, "%s", buf);
	ck_assert_msg(strstr(buf, "\nEXPORTER_PORT = 9100  # environment\n") != NULL, "%s", buf);
	ck_assert_msg(strstr(buf, "\nDEBUG = false  # default\n") != NULL, "%s", buf);
	ck_assert_msg(strstr(buf, "\nSTORE = file  # default (from DYNAMODB_TABLE_NAME)\n") != NULL,
		      "%s", buf);
	free(buf);
	ck_assert_int_eq(hsdo_config_origin_of(g_c, "INTERVAL", &o, &line), 0);
	ck_assert_int_eq(o, HSDO_CONFIG_FROM_FILE);
	ck_assert_uint_eq(line, 2);
	ck_assert_int_eq(hsdo_config_origin_of(g_c, "EXPORTER_PORT", &o, &line), 0);
	ck_assert_int_eq(o, HSDO_CONFIG_FROM_ENV);
	ck_assert_int_eq(hsdo_config_origin_of(g_c, "NOPE", &o, &line), -HSDO_ENOTFOUND);
	ck_assert_str_eq(hsdo_config_origin_str(HSDO_CONFIG_FROM_ENV), "environment");
	ck_assert_str_eq(hsdo_config_origin_str(HSDO_CONFIG_FROM_COUNT), "unknown");
	run(NULL, NULL, HSDO_ROLE_ANY);
	expect_ok();
	ck_assert_str_eq(g_c->source_file, "");
}
END_TEST

START_TEST(backend_unknown_field_warns)
{
	run("CLIENT_HAPROXY_BACKEND_LIST:\n  be:\n    baseName: s\n    serverport: 81\n", NULL, HSDO_ROLE_CLIENT);
	expect_ok();
	expect_diag(HSDO_DIAG_WARNING, "env.yaml:4: CLIENT_HAPROXY_BACKEND_LIST: backend 'be': serverport: "
		    "unknown key (did you mean serverPort?)");
	ck_assert_uint_eq(g_c->client_haproxy_backend_list.v[0].port, 80);
}
END_TEST

/* ---- loading files ------------------------------------------------------- */

START_TEST(load_from_file)
{
	static const char yaml[] = "INTERVAL: 2\nDYNAMODB_TABLE_NAME: t-1\nFOO: 1\n";
	char *dir = hsdo_test_tmpdir("config");
	char path[512];

	ck_assert_ptr_nonnull(dir);
	snprintf(path, sizeof(path), "%s/env.yaml", dir);
	ck_assert_int_eq(hsdo_test_write_file(path, yaml, strlen(yaml)), 0);
	g_rc = hsdo_config_load(path, ENV("DEBUG=on"), HSDO_ROLE_ANY, &g_c, &g_d);
	expect_ok();
	ck_assert_int_eq(g_c->interval_ms, 2000);
	ck_assert(g_c->debug);
	ck_assert_int_eq(g_c->store, HSDO_CONFIG_STORE_DYNAMODB);
	/* Messages name the path. */
	snprintf(g_text, sizeof(g_text), "%s:3: FOO: unknown key", path);
	ck_assert_uint_eq(ndiag(), 1);
	ck_assert_str_eq(g_d.v[0].msg, g_text);
	hsdo_test_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(load_missing_path)
{
	static struct hsdo_config sentinel;
	struct hsdo_config *c = &sentinel;
	char *dir = hsdo_test_tmpdir("config");
	char path[512], want[600];

	ck_assert_ptr_nonnull(dir);
	snprintf(path, sizeof(path), "%s/missing.yaml", dir);
	g_rc = hsdo_config_load(path, NULL, HSDO_ROLE_ANY, &c, &g_d);
	ck_assert_ptr_eq(c, &sentinel);   /* untouched on failure */
	ck_assert_int_eq(g_rc, -HSDO_ECONFIG);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
	ck_assert_uint_eq(g_d.nerrors, 1);
	ck_assert_str_eq(g_d.v[0].msg, want);
	/* A directory (or a FIFO: hsdo/file.h) is refused, never read. */
	hsdo_diag_free(&g_d);
	g_rc = hsdo_config_load(dir, NULL, HSDO_ROLE_ANY, &g_c, &g_d);
	ck_assert_int_eq(g_rc, -HSDO_ECONFIG);
	ck_assert_ptr_null(g_c);
	snprintf(want, sizeof(want), "%s: not a regular file (a directory)", dir);
	ck_assert_msg(strncmp(g_d.v[0].msg, want, strlen(want)) == 0, "%s", diags());
	hsdo_test_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(load_null_path_is_env_only)
{
	g_rc = hsdo_config_load(NULL, ENV("INTERVAL=4"), HSDO_ROLE_SERVER, &g_c, &g_d);
	expect_ok();
	ck_assert_int_eq(g_c->interval_ms, 4000);
	hsdo_config_free(g_c);
	g_c = NULL;
	/* Without a file, missing keys are blamed on the environment. */
	g_rc = hsdo_config_load(NULL, NULL, HSDO_ROLE_CLIENT, &g_c, &g_d);
	expect_fail();
	expect_diag(HSDO_DIAG_ERROR, "environment: CLIENT_HAPROXY_BACKEND_LIST: at least one backend is "
		    "required (or set CLIENT_HAPROXY_BACKEND_NAME and CLIENT_HAPROXY_BACKEND_BASE_NAME)");
}
END_TEST

START_TEST(load_too_large_file)
{
	char *dir = hsdo_test_tmpdir("config");
	char path[512], want[600];
	size_t len = HSDO_CONFIG_FILE_MAX + 10;
	char *buf = malloc(len);

	ck_assert_ptr_nonnull(dir);
	ck_assert_ptr_nonnull(buf);
	memset(buf, '\n', len);
	snprintf(path, sizeof(path), "%s/big.yaml", dir);
	ck_assert_int_eq(hsdo_test_write_file(path, buf, len), 0);
	g_rc = hsdo_config_load(path, NULL, HSDO_ROLE_ANY, &g_c, &g_d);
	ck_assert_int_eq(g_rc, -HSDO_ECONFIG);
	snprintf(want, sizeof(want), "%s: file too large (more than 1048576 bytes)", path);
	expect_diag(HSDO_DIAG_ERROR, want);
	/* Exactly the limit is fine. */
	ck_assert_int_eq(hsdo_test_write_file(path, buf, HSDO_CONFIG_FILE_MAX), 0);
	hsdo_diag_free(&g_d);
	g_rc = hsdo_config_load(path, NULL, HSDO_ROLE_ANY, &g_c, &g_d);
	expect_ok();
	free(buf);
	hsdo_test_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(invalid_arguments)
{
	struct hsdo_config *c = NULL;

	ck_assert_int_eq(hsdo_config_parse("", 0, NULL, NULL, HSDO_ROLE_ANY, NULL, NULL), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_config_parse(NULL, 3, NULL, NULL, HSDO_ROLE_ANY, &c, NULL), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_config_parse("", 0, NULL, NULL, HSDO_ROLE_COUNT, &c, NULL), -HSDO_EINVAL);
	ck_assert_ptr_null(c);
	/* diag may be NULL: errors still fail the parse. */
	ck_assert_int_eq(hsdo_config_parse("INTERVAL: 0\n", 12, NULL, NULL, HSDO_ROLE_ANY, &c, NULL),
			 -HSDO_ECONFIG);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(hsdo_config_parse("FOO: 1\n", 7, NULL, NULL, HSDO_ROLE_ANY, &c, NULL), 0);
	hsdo_config_free(c);
	hsdo_config_free(NULL);
	ck_assert_int_eq(hsdo_config_dump(NULL, stdout), -HSDO_EINVAL);
}
END_TEST

START_TEST(enum_strings)
{
	ck_assert_str_eq(hsdo_config_role_str(HSDO_ROLE_CLIENT), "client");
	ck_assert_str_eq(hsdo_config_role_str(HSDO_ROLE_COUNT), "unknown");
	ck_assert_str_eq(hsdo_config_server_mode_str(HSDO_CONFIG_SERVER_MODE_CONSUL), "consul");
	ck_assert_str_eq(hsdo_config_server_mode_str(HSDO_CONFIG_SERVER_MODE_COUNT), "unknown");
	ck_assert_str_eq(hsdo_config_store_str(HSDO_CONFIG_STORE_DYNAMODB), "dynamodb");
	ck_assert_str_eq(hsdo_config_store_str(HSDO_CONFIG_STORE_COUNT), "unknown");
	ck_assert_str_eq(hsdo_config_log_target_str(HSDO_CONFIG_LOG_SYSLOG), "syslog");
	ck_assert_str_eq(hsdo_config_log_target_str(HSDO_CONFIG_LOG_TARGET_COUNT), "unknown");
	ck_assert_str_eq(hsdo_diag_level_str(HSDO_DIAG_WARNING), "warning");
	ck_assert_str_eq(hsdo_diag_level_str(HSDO_DIAG_LEVEL_COUNT), "unknown");
}
END_TEST

struct hostport_case {
	const char *s;
	int rc;
	const char *host;
	unsigned port;
};

static const struct hostport_case hostport_cases[] = {
	{ "127.0.0.1:12345", 0, "127.0.0.1", 12345 }, { "localhost:1", 0, "localhost", 1 },
	{ "[::1]:65535", 0, "::1", 65535 }, { "*:80", 0, "*", 80 },
	{ "localhost", -HSDO_EINVAL, NULL, 0 }, { ":80", -HSDO_EINVAL, NULL, 0 },
	{ "h:0", -HSDO_EINVAL, NULL, 0 }, { "h:65536", -HSDO_EINVAL, NULL, 0 },
	{ "h:", -HSDO_EINVAL, NULL, 0 }, { "h:+80", -HSDO_EINVAL, NULL, 0 },
	{ "::1:80", -HSDO_EINVAL, NULL, 0 }, { "[::1]80", -HSDO_EINVAL, NULL, 0 },
	{ "[]:80", -HSDO_EINVAL, NULL, 0 }, { "a b:80", -HSDO_EINVAL, NULL, 0 },
	{ "h:000080", -HSDO_EINVAL, NULL, 0 },
	{ "averyveryverylonghostname:80", -HSDO_ETOOBIG, NULL, 0 },
};

START_TEST(split_hostport)
{
	const struct hostport_case *hc = &hostport_cases[_i];
	char host[16] = "";
	uint16_t port = 0;

	ck_assert_int_eq(hsdo_config_split_hostport(hc->s, host, sizeof(host), &port), hc->rc);
	if (hc->rc == 0) {
		ck_assert_str_eq(host, hc->host);
		ck_assert_uint_eq(port, hc->port);
	}
}
END_TEST

/* ---- allocation failures ------------------------------------------------- */

static const char full_yaml[] =
	"SERVER_MODE: aws\n"
	"SERVER_ASG_NAMES: [a, b, c, d, e, f]\n"
	"SERVER_CONSUL_SERVICE_NAME: x,y,z\n"
	"CLIENT_HAPROXY_BACKEND_NAME: old\n"
	"CLIENT_HAPROXY_BACKEND_BASE_NAME: o\n"
	"CLIENT_HAPROXY_BACKEND_LIST:\n"
	"  be1: {baseName: a, serverPort: 1}\n"
	"  be2: {baseName: b, serverPort: 2}\n"
	"  be3: {baseName: c, serverPort: 3}\n"
	"  be4: {baseName: d, serverPort: 4}\n"
	"  be5: {baseName: e, serverPort: 5, extra: 1}\n"
	"CLIENT_ASG_NAMES: [q]\n"
	"CLIENT_HAPROXY_FALLBACK_BACKEND_NAME: fb\n"
	"CLIENT_HAPROXY_FALLBACK_BACKEND_BASE_NAME: f\n"
	"DYNAMODB_TABLE_NAME: tbl\n"
	"INTERVALL: 3\n";

struct oom_case {
	const char *yaml;
	char *env[4];
	enum hsdo_role role;
	int want;              /* result without allocation failures */
};

static const struct oom_case oom_cases[] = {
	{ full_yaml, { "SERVER_ASG_NAMES=p,q", "CLIENT_HAPROXY_BACKEND_LIST=x:y:1,z:w", "HSDO_X=1" },
	  HSDO_ROLE_SERVER, 0 },
	{ full_yaml, { "CLIENT_DEDICATED_ASG=true" }, HSDO_ROLE_CLIENT, 0 },
	{ "INTERVAL: x\nDEBUG: y\nFOO: 1\nSERVER_ASG_NAMES: [[1]]\n",
	  { "EXPORTER_PORT=0", "CLIENT_HAPROXY_BACKEND_LIST=a:b:c" }, HSDO_ROLE_CLIENT, -HSDO_ECONFIG },
	{ "INTERVAL: [\n", { "EXPORTER_PORT=0" }, HSDO_ROLE_ANY, -HSDO_ECONFIG },
	{ NULL, { "CLIENT_HAPROXY_BACKEND_NAME=a", "CLIENT_HAPROXY_BACKEND_BASE_NAME=b" }, HSDO_ROLE_CLIENT, 0 },
};

/* Fail the n-th allocation for every n until one run makes fewer than n:
 * each run must end in the clean result or -HSDO_ENOMEM, never leak (LSan)
 * and never hand out a half-built config. */
static void oom_loop(const struct oom_case *oc, int sticky)
{
	unsigned long n, made;
	int rc, nomem = 0;
	char *want_dump = NULL, *got;

	run(oc->yaml, oc->env, oc->role);
	ck_assert_msg(g_rc == oc->want, "rc %d:%s", g_rc, diags());
	if (g_rc == 0)
		want_dump = dump_string(g_c);
	for (n = 1; n < 100000; n++) {
		hsdo_alloc_fail_at(n, sticky);
		rc = run(oc->yaml, oc->env, oc->role);
		made = hsdo_alloc_fail_at(0, 0);
		if (rc == -HSDO_ENOMEM) {
			ck_assert_ptr_null(g_c);
			nomem++;
			continue;
		}
		ck_assert_msg(rc == oc->want, "n=%lu rc=%d:%s", n, rc, diags());
		ck_assert(rc == 0 ? g_c != NULL : g_c == NULL);
		/* A failure that was swallowed would show as a wrong value. */
		if (rc == 0) {
			got = dump_string(g_c);
			ck_assert_str_eq(got, want_dump);
			free(got);
		}
		if (made < n)
			break;
	}
	free(want_dump);
	ck_assert_msg(nomem > 0, "no allocation was made");
	ck_assert_uint_lt(n, 100000);
}

START_TEST(alloc_failures)
{
	oom_loop(&oom_cases[_i], 0);
}
END_TEST

START_TEST(alloc_failures_sticky)
{
	oom_loop(&oom_cases[_i], 1);
}
END_TEST

START_TEST(load_alloc_failures)
{
	char *dir = hsdo_test_tmpdir("config");
	char path[512];
	unsigned long n, made;
	int rc;

	ck_assert_ptr_nonnull(dir);
	snprintf(path, sizeof(path), "%s/env.yaml", dir);
	ck_assert_int_eq(hsdo_test_write_file(path, full_yaml, strlen(full_yaml)), 0);
	for (n = 1; n < 100000; n++) {
		hsdo_config_free(g_c);
		g_c = NULL;
		hsdo_diag_free(&g_d);
		hsdo_alloc_fail_at(n, 0);
		rc = hsdo_config_load(path, NULL, HSDO_ROLE_SERVER, &g_c, &g_d);
		made = hsdo_alloc_fail_at(0, 0);
		ck_assert_msg(rc == 0 || rc == -HSDO_ENOMEM, "n=%lu rc=%d", n, rc);
		if (rc == 0 && made < n)
			break;
	}
	ck_assert_uint_gt(n, 1);
	ck_assert_int_eq(rc, 0);
	hsdo_test_rmtree(dir);
	free(dir);
}
END_TEST

/* ---- diag ---------------------------------------------------------------- */

START_TEST(diag_collects_and_frees)
{
	struct hsdo_diag d = { 0 };

	ck_assert_int_eq(hsdo_diag_add(&d, HSDO_DIAG_ERROR, "a %d", 1), 0);
	ck_assert_int_eq(hsdo_diag_add(&d, HSDO_DIAG_WARNING, "%s", "b"), 0);
	ck_assert_uint_eq(d.n, 2);
	ck_assert_uint_eq(d.nerrors, 1);
	ck_assert_str_eq(d.v[0].msg, "a 1");
	ck_assert_int_eq(d.v[1].level, HSDO_DIAG_WARNING);
	ck_assert_int_eq(hsdo_diag_add(&d, HSDO_DIAG_LEVEL_COUNT, "x"), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_diag_add(NULL, HSDO_DIAG_ERROR, "x"), -HSDO_EINVAL);
	hsdo_diag_free(&d);
	ck_assert_ptr_null(d.v);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_uint_eq(d.nerrors, 0);
	hsdo_diag_free(&d);
	hsdo_diag_free(NULL);
}
END_TEST

START_TEST(diag_is_bounded)
{
	struct hsdo_diag d = { 0 };
	char longmsg[3000];
	int i;

	memset(longmsg, 'x', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	ck_assert_int_eq(hsdo_diag_add(&d, HSDO_DIAG_WARNING, "%s", longmsg), 0);
	ck_assert_uint_eq(strlen(d.v[0].msg), HSDO_DIAG_MSG_MAX - 1);
	for (i = 1; i < 1000; i++)
		ck_assert_int_eq(hsdo_diag_add(&d, HSDO_DIAG_ERROR, "e%d", i), 0);
	ck_assert_uint_eq(d.n, HSDO_DIAG_MAX);
	ck_assert_uint_eq(d.nerrors, 999);
	ck_assert_str_eq(d.v[HSDO_DIAG_MAX - 2].msg, "e254");
	ck_assert_str_eq(d.v[HSDO_DIAG_MAX - 1].msg, "too many diagnostics, the rest are not shown");
	ck_assert_int_eq(d.v[HSDO_DIAG_MAX - 1].level, HSDO_DIAG_ERROR);
	hsdo_diag_free(&d);
	/* Only warnings: the marker is a warning too. */
	for (i = 0; i < 300; i++)
		ck_assert_int_eq(hsdo_diag_add(&d, HSDO_DIAG_WARNING, "w%d", i), 0);
	ck_assert_uint_eq(d.n, HSDO_DIAG_MAX);
	ck_assert_uint_eq(d.nerrors, 0);
	ck_assert_int_eq(d.v[HSDO_DIAG_MAX - 1].level, HSDO_DIAG_WARNING);
	hsdo_diag_free(&d);
}
END_TEST

START_TEST(diag_alloc_failure)
{
	struct hsdo_diag d = { 0 };

	hsdo_alloc_fail_at(1, 0);
	ck_assert_int_eq(hsdo_diag_add(&d, HSDO_DIAG_ERROR, "x"), -HSDO_ENOMEM);
	ck_assert_uint_eq(d.n, 0);
	hsdo_alloc_fail_at(2, 0);
	ck_assert_int_eq(hsdo_diag_add(&d, HSDO_DIAG_ERROR, "x"), -HSDO_ENOMEM);
	hsdo_alloc_fail_at(0, 0);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_ptr_null(d.v);
	ck_assert_int_eq(hsdo_diag_add(&d, HSDO_DIAG_ERROR, "y"), 0);
	ck_assert_str_eq(d.v[0].msg, "y");
	hsdo_diag_free(&d);
}
END_TEST

/* A config with hundreds of errors stays bounded. */
START_TEST(many_errors_bounded)
{
	size_t i, len = 0, cap = 400 * 32;
	char *yaml = malloc(cap);

	ck_assert_ptr_nonnull(yaml);
	for (i = 0; i < 400; i++)
		len += (size_t)snprintf(yaml + len, cap - len, "K%zu: 1\nINTERVAL: 1\n", i);
	run(yaml, NULL, HSDO_ROLE_ANY);
	free(yaml);
	expect_fail();
	ck_assert_uint_eq(g_d.n, HSDO_DIAG_MAX);
	ck_assert_uint_eq(g_d.nerrors, 399);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("defaults");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, defaults_every_key);
	tcase_add_test(tc, dump_defaults);
	tcase_add_test(tc, dump_round_trips_through_env);
	tcase_add_test(tc, example_config_is_the_defaults);
	tcase_add_test(tc, docs_and_example_list_every_key);
	suite_add_tcase(s, tc);

	tc = tcase_create("values");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_loop_test(tc, set_from_file, 0, NELEM(set_cases));
	tcase_add_loop_test(tc, set_from_file_quoted, 0, NELEM(set_cases));
	tcase_add_loop_test(tc, set_from_env, 0, NELEM(set_cases));
	tcase_add_loop_test(tc, env_beats_file, 0, NELEM(set_cases));
	tcase_add_test(tc, env_first_entry_wins);
	tcase_add_loop_test(tc, bool_forms, 0, NELEM(bool_cases));
	tcase_add_loop_test(tc, duration_forms, 0, NELEM(duration_cases));
	tcase_add_loop_test(tc, ratio_forms, 0, NELEM(ratio_cases));
	tcase_add_test(tc, health_defaults);
	tcase_add_loop_test(tc, int_forms, 0, NELEM(int_cases));
	tcase_add_test(tc, lists_from_sequence_and_string);
	tcase_add_test(tc, null_and_empty_values);
	tcase_add_test(tc, store_default_rule);
	tcase_add_test(tc, original_env_yaml_loads);
	suite_add_tcase(s, tc);

	tc = tcase_create("backends");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, backend_list_from_yaml);
	tcase_add_test(tc, backend_list_from_env_one_line);
	tcase_add_test(tc, single_backend_becomes_list_of_one);
	tcase_add_test(tc, backend_list_wins_with_warning);
	tcase_add_test(tc, backend_unknown_field_warns);
	tcase_add_test(tc, list_and_backend_bounds);
	tcase_add_test(tc, valve_seconds_and_deprecated_cycles);
	suite_add_tcase(s, tc);

	tc = tcase_create("validation");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_loop_test(tc, validation_rule, 0, NELEM(rule_cases));
	tcase_add_test(tc, role_rules_need_the_role);
	tcase_add_test(tc, all_errors_in_one_call);
	tcase_add_test(tc, file_error_kept_under_env_override);
	tcase_add_loop_test(tc, syntax_error_lines, 0, NELEM(syntax_cases));
	tcase_add_test(tc, syntax_error_still_reports_env);
	tcase_add_test(tc, empty_and_comment_only_files);
	tcase_add_test(tc, anchors_and_aliases);
	tcase_add_test(tc, too_large_buffer);
	tcase_add_loop_test(tc, unknown_keys_warn, 0, NELEM(unknown_cases));
	tcase_add_test(tc, typical_environment_is_quiet);
	tcase_add_test(tc, env_known_covers_the_clients);
	tcase_add_test(tc, store_auto_file_is_said);
	tcase_add_test(tc, dump_with_origins);
	tcase_add_loop_test(tc, split_hostport, 0, NELEM(hostport_cases));
	tcase_add_test(tc, invalid_arguments);
	tcase_add_test(tc, enum_strings);
	tcase_add_test(tc, many_errors_bounded);
	suite_add_tcase(s, tc);

	tc = tcase_create("load");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, load_from_file);
	tcase_add_test(tc, load_missing_path);
	tcase_add_test(tc, load_null_path_is_env_only);
	tcase_add_test(tc, load_too_large_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("alloc");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, alloc_failures, 0, NELEM(oom_cases));
	tcase_add_loop_test(tc, alloc_failures_sticky, 0, NELEM(oom_cases));
	tcase_add_test(tc, load_alloc_failures);
	tcase_add_test(tc, diag_collects_and_frees);
	tcase_add_test(tc, diag_is_bounded);
	tcase_add_test(tc, diag_alloc_failure);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(config_suite());
}
