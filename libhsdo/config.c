/* Configuration parsing: one table of settings, applied from defaults, then
 * the YAML file (libyaml document API), then the environment, then checked
 * across keys. Every problem is reported into a struct hsdo_diag so the
 * user sees them all at once; nothing here logs or exits. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "hsdo/alloc.h"
#include "hsdo/config.h"
#include "hsdo/diag.h"
#include "hsdo/eject.h"
#include "hsdo/err.h"
#include "hsdo/report.h"
#include "hsdo/file.h"
#include "hsdo/slot.h"
#include "env.h"
#include "yaml_guard.h"

#define MS_PER_S       1000
#define DAY_MS         (86400LL * MS_PER_S)
#define LIST_ITEMS_MAX 1000     /* ASG names, Consul services */
#define LIST_ITEM_LEN  1024
#define BACKENDS_MAX   256
#define PATH_LEN_MAX   4095
#define SHOW_MAX       48       /* bytes of a bad value quoted in a message */
#define SUGGEST_LEN_MAX 128

enum cfg_type {
	CT_BOOL = 0,
	CT_INT,        /* int field; min/max are the bounds */
	CT_DURATION,   /* int64_t ms field; min/max in ms; seconds in text */
	CT_STRING,     /* char * field; max is the length bound */
	CT_ENUM,       /* enum field; values[] are the names */
	CT_LIST,       /* struct hsdo_config_list; max is the item bound */
	CT_BACKENDS,   /* struct hsdo_config_backends; max is the entry bound */
	CT_RATIO,      /* double field; min/max in millionths; a decimal in text */
	CT_TYPE_COUNT
};

/* A string check returns NULL when s (non-empty) is acceptable, else the
 * reason. */
typedef const char *cfg_check_fn(const char *s);

struct cfg_key {
	const char *name;
	enum cfg_type type;
	size_t off;                  /* offset of the field in struct hsdo_config */
	const char *def;             /* default, in environment syntax */
	int64_t min, max;
	enum hsdo_role role;         /* documentation and dump grouping only */
	bool nonempty;               /* an empty value is an error in any role */
	const char *const *values;   /* CT_ENUM names, indexed by enum value */
	cfg_check_fn *check;         /* CT_STRING extra validation */
	const char *help;
	bool deprecated;             /* still read, warned about, not dumped */
};

static const char *check_backend_name(const char *s);
static const char *check_no_space(const char *s);
static const char *check_url(const char *s);
static const char *check_hostport(const char *s);
static const char *check_dynamodb_table(const char *s);
static const char *check_region(const char *s);
static const char *check_hook_name(const char *s);
static const char *check_client_id(const char *s);

static const char *const server_mode_names[HSDO_CONFIG_SERVER_MODE_COUNT + 1] = {
	[HSDO_CONFIG_SERVER_MODE_AWS] = "aws",
	[HSDO_CONFIG_SERVER_MODE_CONSUL] = "consul",
	[HSDO_CONFIG_SERVER_MODE_STATIC] = "static",
	NULL
};
static const char *const store_names[HSDO_CONFIG_STORE_COUNT + 1] = {
	[HSDO_CONFIG_STORE_DYNAMODB] = "dynamodb",
	[HSDO_CONFIG_STORE_FILE] = "file",
	NULL
};
static const char *const log_target_names[HSDO_CONFIG_LOG_TARGET_COUNT + 1] = {
	[HSDO_CONFIG_LOG_STDERR] = "stderr",
	[HSDO_CONFIG_LOG_SYSLOG] = "syslog",
	NULL
};
static const char *const role_names[HSDO_ROLE_COUNT] = {
	[HSDO_ROLE_ANY] = "any",
	[HSDO_ROLE_SERVER] = "server",
	[HSDO_ROLE_CLIENT] = "client",
};

_Static_assert(sizeof(enum hsdo_config_server_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum hsdo_config_store) == sizeof(int), "enum size");
_Static_assert(sizeof(enum hsdo_config_log_target) == sizeof(int), "enum size");

/* Indexes into cfg_keys[], for the cross-key rules. */
enum {
	K_SERVER_MODE = 0,
	K_SERVER_ASG_NAMES,
	K_SERVER_LIFECYCLE_HOOK_NAME,
	K_SERVER_CONSUL_API_URL,
	K_SERVER_CONSUL_SERVICE_NAME,
	K_SERVER_STATIC_FILE,
	K_MIN_WEIGHT,
	K_MAX_WEIGHT,
	K_INCREASE_WEIGHT,
	K_INCREASE_WEIGHT_INTERVAL,
	K_SERVER_DRAIN_TIME,
	K_SERVER_ID,
	K_SERVER_LEASE_TTL,
	K_SERVER_VALVE_REMOVE_PERCENT,
	K_SERVER_VALVE_SECONDS,
	K_SERVER_VALVE_CYCLES,
	K_CLIENT_HAPROXY_SOCKET_PATH,
	K_CLIENT_HAPROXY_TIMEOUT,
	K_CLIENT_FULL_READ_INTERVAL,
	K_BACKEND_NAME,
	K_BACKEND_BASE_NAME,
	K_BACKEND_SERVER_PORT,
	K_BACKEND_LIST,
	K_CLIENT_DEDICATED_ASG,
	K_CLIENT_ASG_NAMES,
	K_FALLBACK_NAME,
	K_FALLBACK_BASE_NAME,
	K_ALL_IN_FALLBACK,
	K_INTERVAL,
	K_LIST_SIZE,
	K_DEBUG,
	K_STORE,
	K_STORE_FILE_PATH,
	K_DYNAMODB_TABLE_NAME,
	K_AWS_DEFAULT_REGION,
	K_AWS_CA_BUNDLE,
	K_EXPORTER_ADDR,
	K_EXPORTER_PORT,
	K_HEALTHZ_STALL_TIMEOUT,
	K_SPOA_LISTEN,
	K_LOG_TARGET,
	K_HEALTH_EJECT,
	K_HEALTH_WINDOW,
	K_HEALTH_MIN_REQUESTS,
	K_HEALTH_ERROR_RATIO,
	K_CLIENT_ID,
	K_HEALTH_REPORT_INTERVAL,
	K_HEALTH_TABLE_NAME,
	K_HEALTH_QUORUM,
	K_HEALTH_EJECT_TIME,
	K_HEALTH_MAX_EJECTED_PERCENT,
	K_HEALTH_ASG_SET_UNHEALTHY,
	K_HEALTH_ASG_AFTER,
	K_COUNT
};

/* One macro per type (redis's createIntConfig): each names only what its
 * type uses. Durations are given in seconds in text and bounded in ms. */
#define KEY_(nm, t, field, dflt, lo, hi, rl) \
	.name = nm, .type = t, .off = offsetof(struct hsdo_config, field), .def = dflt, \
	.min = lo, .max = hi, .role = HSDO_ROLE_##rl
#define KEY_BOOL(nm, field, dflt, rl, hlp) \
	{ KEY_(nm, CT_BOOL, field, dflt, 0, 0, rl), .help = hlp }
#define KEY_INT(nm, field, dflt, lo, hi, rl, hlp) \
	{ KEY_(nm, CT_INT, field, dflt, lo, hi, rl), .help = hlp }
#define KEY_SECONDS(nm, field, dflt, lo_ms, hi_ms, rl, hlp) \
	{ KEY_(nm, CT_DURATION, field, dflt, lo_ms, hi_ms, rl), .help = hlp }
/* need: REQUIRED (an empty value is an error in any role) or OPTIONAL */
#define KEY_STRING(nm, field, dflt, maxlen, rl, need, chk, hlp) \
	{ KEY_(nm, CT_STRING, field, dflt, 0, maxlen, rl), .nonempty = need, .check = chk, \
	  .help = hlp }
#define KEY_ENUM(nm, field, dflt, names, rl, hlp) \
	{ KEY_(nm, CT_ENUM, field, dflt, 0, 0, rl), .values = names, .help = hlp }
#define KEY_LIST(nm, field, maxitems, rl, hlp) \
	{ KEY_(nm, CT_LIST, field, "", 0, maxitems, rl), .help = hlp }
#define KEY_BACKENDS(nm, field, maxentries, rl, hlp) \
	{ KEY_(nm, CT_BACKENDS, field, "", 0, maxentries, rl), .help = hlp }
/* A decimal between lo and hi, bounded in millionths. */
#define KEY_RATIO(nm, field, dflt, lo_ppm, hi_ppm, rl, hlp) \
	{ KEY_(nm, CT_RATIO, field, dflt, lo_ppm, hi_ppm, rl), .help = hlp }
#define REQUIRED true
#define OPTIONAL false

static const struct cfg_key cfg_keys[K_COUNT] = {
	[K_SERVER_MODE] = KEY_ENUM("SERVER_MODE", server_mode,
		"static", server_mode_names, SERVER,
		"where the server discovers instances: aws, consul or static"),
	[K_SERVER_ASG_NAMES] = KEY_LIST("SERVER_ASG_NAMES", server_asg_names,
		LIST_ITEMS_MAX, SERVER,
		"Auto Scaling groups whose instances fill the slots (aws)"),
	[K_SERVER_LIFECYCLE_HOOK_NAME] = KEY_STRING("SERVER_LIFECYCLE_HOOK_NAME",
		server_lifecycle_hook_name,
		"", 255, SERVER, OPTIONAL, check_hook_name,
		"termination lifecycle hook the server completes after the drain (aws)"),
	[K_SERVER_CONSUL_API_URL] = KEY_STRING("SERVER_CONSUL_API_URL", server_consul_api_url,
		"", 2048, SERVER, OPTIONAL, check_url,
		"Consul HTTP API base URL (consul)"),
	[K_SERVER_CONSUL_SERVICE_NAME] = KEY_LIST("SERVER_CONSUL_SERVICE_NAME",
		server_consul_service_name,
		LIST_ITEMS_MAX, SERVER,
		"Consul services whose instances fill the slots (consul)"),
	[K_SERVER_STATIC_FILE] = KEY_STRING("SERVER_STATIC_FILE", server_static_file,
		"/etc/hsdo/instances.yaml", PATH_LEN_MAX, SERVER, OPTIONAL, NULL,
		"file listing the instances (static)"),
	[K_MIN_WEIGHT] = KEY_INT("SERVER_HAPROXY_BACKEND_SERVER_MIN_WEIGHT",
		server_haproxy_backend_server_min_weight,
		"1", 0, HSDO_WEIGHT_MAX, SERVER,
		"weight a new server starts at"),
	[K_MAX_WEIGHT] = KEY_INT("SERVER_HAPROXY_BACKEND_SERVER_MAX_WEIGHT",
		server_haproxy_backend_server_max_weight,
		"10", 0, HSDO_WEIGHT_MAX, SERVER,
		"weight the ramp stops at"),
	[K_INCREASE_WEIGHT] = KEY_INT("SERVER_HAPROXY_BACKEND_SERVER_INCREASE_WEIGHT",
		server_haproxy_backend_server_increase_weight,
		"1", 1, HSDO_WEIGHT_MAX, SERVER,
		"weight added at each ramp step"),
	[K_INCREASE_WEIGHT_INTERVAL] = KEY_SECONDS("SERVER_HAPROXY_BACKEND_SERVER_INCREASE_WEIGHT_INTERVAL",
		server_haproxy_backend_server_increase_weight_interval_ms,
		"30", 1, DAY_MS, SERVER,
		"seconds between ramp steps"),
	[K_SERVER_DRAIN_TIME] = KEY_SECONDS("SERVER_DRAIN_TIME", server_drain_time_ms,
		"30", 0, DAY_MS, SERVER,
		"seconds a leaving server stays at weight 0 before its slot is freed"),
	[K_SERVER_ID] = KEY_STRING("SERVER_ID", server_id,
		"", 120, SERVER, OPTIONAL, NULL,
		"this server's name in the writer lease (default host:pid)"),
	[K_SERVER_LEASE_TTL] = KEY_SECONDS("SERVER_LEASE_TTL", server_lease_ttl_ms,
		"15", 0, 3600LL * MS_PER_S, SERVER,
		"seconds a server's writer lease lasts; a standby takes over after it (0 = no lease)"),
	[K_SERVER_VALVE_REMOVE_PERCENT] = KEY_INT("SERVER_VALVE_REMOVE_PERCENT",
		server_valve_remove_percent,
		"50", 0, 100, SERVER,
		"a cycle taking more than this share of in-service slots out is held"),
	[K_SERVER_VALVE_SECONDS] = KEY_SECONDS("SERVER_VALVE_SECONDS", server_valve_ms,
		"30", 0, DAY_MS, SERVER,
		"seconds a held change must persist before it applies (0 = valve off)"),
	[K_SERVER_VALVE_CYCLES] = { KEY_(
		"SERVER_VALVE_CYCLES", CT_INT, server_valve_cycles, "0", 0, 10000, SERVER),
		.help = "deprecated: SERVER_VALVE_SECONDS (read as that many INTERVALs)",
		.deprecated = true },
	[K_CLIENT_HAPROXY_SOCKET_PATH] = KEY_STRING("CLIENT_HAPROXY_SOCKET_PATH",
		client_haproxy_socket_path,
		"/var/run/haproxy/admin.sock", 107, CLIENT, REQUIRED, NULL,
		"HAProxy Runtime API socket (level admin)"),
	[K_CLIENT_HAPROXY_TIMEOUT] = KEY_SECONDS("CLIENT_HAPROXY_TIMEOUT",
		client_haproxy_timeout_ms,
		"2", 1, 3600LL * MS_PER_S, CLIENT,
		"seconds to wait for a Runtime API reply"),
	[K_CLIENT_FULL_READ_INTERVAL] = KEY_SECONDS("CLIENT_FULL_READ_INTERVAL",
		client_full_read_interval_ms,
		"60", 0, DAY_MS, CLIENT,
		"read the whole table at least this often, even when its generation is unchanged "
		"(0 = never)"),
	[K_BACKEND_NAME] = KEY_STRING("CLIENT_HAPROXY_BACKEND_NAME", client_haproxy_backend_name,
		"", HSDO_CONFIG_BACKEND_LEN - 1, CLIENT, OPTIONAL, check_backend_name,
		"single backend, used when CLIENT_HAPROXY_BACKEND_LIST is empty"),
	[K_BACKEND_BASE_NAME] = KEY_STRING("CLIENT_HAPROXY_BACKEND_BASE_NAME",
		client_haproxy_backend_base_name,
		"", HSDO_CONFIG_BACKEND_LEN - 1, CLIENT, OPTIONAL, check_backend_name,
		"server-template prefix of that single backend"),
	[K_BACKEND_SERVER_PORT] = KEY_INT("CLIENT_HAPROXY_BACKEND_SERVER_PORT",
		client_haproxy_backend_server_port,
		"80", 1, 65535, CLIENT,
		"server port of the single and fallback backends"),
	[K_BACKEND_LIST] = KEY_BACKENDS("CLIENT_HAPROXY_BACKEND_LIST", client_haproxy_backend_list,
		BACKENDS_MAX, CLIENT,
		"backends to fill: backend -> {baseName, serverPort}"),
	[K_CLIENT_DEDICATED_ASG] = KEY_BOOL("CLIENT_DEDICATED_ASG", client_dedicated_asg,
		"false", CLIENT,
		"only CLIENT_ASG_NAMES go to the backends, the rest to the fallback"),
	[K_CLIENT_ASG_NAMES] = KEY_LIST("CLIENT_ASG_NAMES", client_asg_names,
		LIST_ITEMS_MAX, CLIENT,
		"ASGs that go to the backends (dedicated ASG)"),
	[K_FALLBACK_NAME] = KEY_STRING("CLIENT_HAPROXY_FALLBACK_BACKEND_NAME",
		client_haproxy_fallback_backend_name,
		"", HSDO_CONFIG_BACKEND_LEN - 1, CLIENT, OPTIONAL, check_backend_name,
		"backend for servers of other ASGs (dedicated ASG)"),
	[K_FALLBACK_BASE_NAME] = KEY_STRING("CLIENT_HAPROXY_FALLBACK_BACKEND_BASE_NAME",
		client_haproxy_fallback_backend_base_name,
		"", HSDO_CONFIG_BACKEND_LEN - 1, CLIENT, OPTIONAL, check_backend_name,
		"server-template prefix of the fallback backend"),
	[K_ALL_IN_FALLBACK] = KEY_BOOL("CLIENT_ALL_SERVERS_IN_FALLBACK_BACKEND",
		client_all_servers_in_fallback_backend,
		"false", CLIENT,
		"also put the dedicated ASGs' servers in the fallback backend"),
	[K_INTERVAL] = KEY_SECONDS("INTERVAL", interval_ms,
		"1", 1, DAY_MS, ANY,
		"seconds between two loops"),
	[K_LIST_SIZE] = KEY_INT("HAPROXY_BACKEND_SERVERS_LIST_SIZE",
		haproxy_backend_servers_list_size,
		"10", 1, HSDO_SLOTS_MAX, ANY,
		"number of slots (the server-template count)"),
	[K_DEBUG] = KEY_BOOL("DEBUG", debug,
		"false", ANY,
		"debug logging"),
	[K_STORE] = KEY_ENUM("STORE", store,
		"", store_names, ANY,
		"slot store: dynamodb or file (default: dynamodb if DYNAMODB_TABLE_NAME is set)"),
	[K_STORE_FILE_PATH] = KEY_STRING("STORE_FILE_PATH", store_file_path,
		"/var/lib/hsdo/slots.json", PATH_LEN_MAX, ANY, OPTIONAL, NULL,
		"slot table file (STORE=file)"),
	[K_DYNAMODB_TABLE_NAME] = KEY_STRING("DYNAMODB_TABLE_NAME", dynamodb_table_name,
		"", 255, ANY, OPTIONAL, check_dynamodb_table,
		"DynamoDB table holding the slots (STORE=dynamodb)"),
	[K_AWS_DEFAULT_REGION] = KEY_STRING("AWS_DEFAULT_REGION", aws_default_region,
		"eu-west-1", 64, ANY, OPTIONAL, check_region,
		"AWS region for DynamoDB, EC2 and Auto Scaling"),
	[K_AWS_CA_BUNDLE] = KEY_STRING("AWS_CA_BUNDLE", aws_ca_bundle,
		"", PATH_LEN_MAX, ANY, OPTIONAL, NULL,
		"PEM CA bundle for HTTPS to AWS and Consul (default: the system's)"),
	[K_EXPORTER_ADDR] = KEY_STRING("EXPORTER_ADDR", exporter_addr,
		"127.0.0.1", 255, ANY, REQUIRED, check_no_space,
		"address the Prometheus exporter listens on"),
	[K_EXPORTER_PORT] = KEY_INT("EXPORTER_PORT", exporter_port,
		"6789", 1, 65535, ANY,
		"port the Prometheus exporter listens on"),
	[K_HEALTHZ_STALL_TIMEOUT] = KEY_SECONDS("HEALTHZ_STALL_TIMEOUT", healthz_stall_timeout_ms,
		"10", MS_PER_S, 3600LL * MS_PER_S, ANY,
		"seconds a cycle, store call, HAProxy call or the event loop may be "
		"outstanding before /healthz answers 503"),
	[K_SPOA_LISTEN] = KEY_STRING("SPOA_LISTEN", spoa_listen,
		"127.0.0.1:12345", 300, ANY, REQUIRED, check_hostport,
		"host:port the SPOE agent listens on, or off"),
	[K_LOG_TARGET] = KEY_ENUM("LOG_TARGET", log_target,
		"stderr", log_target_names, ANY,
		"where the agent logs: stderr or syslog"),
	[K_HEALTH_EJECT] = KEY_BOOL("HEALTH_EJECT", health_eject,
		"false", ANY,
		"fleet health: clients publish reports, the server ejects what a quorum sees failing"),
	[K_HEALTH_WINDOW] = KEY_SECONDS("HEALTH_WINDOW", health_window_ms,
		"30", MS_PER_S, 3600LL * MS_PER_S, CLIENT,
		"seconds of responses a client judges each slot on (the SPOE window)"),
	[K_HEALTH_MIN_REQUESTS] = KEY_INT("HEALTH_MIN_REQUESTS", health_min_requests,
		"20", 1, 1000000000, CLIENT,
		"responses in the window a client needs to judge a slot"),
	[K_HEALTH_ERROR_RATIO] = KEY_RATIO("HEALTH_ERROR_RATIO", health_error_ratio,
		"0.5", 1, 1000000, CLIENT,
		"share of errors (5xx, no status) that makes a slot failing for a client"),
	[K_CLIENT_ID] = KEY_STRING("CLIENT_ID", client_id,
		"", HSDO_REPORT_ID_LEN - 1, CLIENT, OPTIONAL, check_client_id,
		"this client's name in its health report (default: the host name)"),
	[K_HEALTH_REPORT_INTERVAL] = KEY_SECONDS("HEALTH_REPORT_INTERVAL",
		health_report_interval_ms,
		"10", MS_PER_S, 3600LL * MS_PER_S, CLIENT,
		"seconds between two health reports of a client when nothing changes"),
	[K_HEALTH_TABLE_NAME] = KEY_STRING("HEALTH_TABLE_NAME", health_table_name,
		"", 255, ANY, OPTIONAL, check_dynamodb_table,
		"DynamoDB table of the health reports (default <DYNAMODB_TABLE_NAME>-health)"),
	[K_HEALTH_QUORUM] = KEY_RATIO("HEALTH_QUORUM", health_quorum,
		"0.5", 0, 1000000, SERVER,
		"a slot is ejected when more than this share of the reports that judge it say failing"),
	[K_HEALTH_EJECT_TIME] = KEY_SECONDS("HEALTH_EJECT_TIME", health_eject_time_ms,
		"30", MS_PER_S, HSDO_EJECT_TIME_MAX_MS, SERVER,
		"seconds an ejection lasts, times the number of ejections (at most 300)"),
	[K_HEALTH_MAX_EJECTED_PERCENT] = KEY_INT("HEALTH_MAX_EJECTED_PERCENT",
		health_max_ejected_percent,
		"20", 1, 100, SERVER,
		"most of a group's in-service slots ejected at once, in % (at least one)"),
	[K_HEALTH_ASG_SET_UNHEALTHY] = KEY_BOOL("HEALTH_ASG_SET_UNHEALTHY",
		health_asg_set_unhealthy,
		"false", SERVER,
		"tell Auto Scaling an instance that stays ejected is Unhealthy (SERVER_MODE aws)"),
	[K_HEALTH_ASG_AFTER] = KEY_SECONDS("HEALTH_ASG_AFTER", health_asg_after_ms,
		"300", 0, DAY_MS, SERVER,
		"seconds an instance must have been failing before SetInstanceHealth"),
};

_Static_assert(K_COUNT <= HSDO_CONFIG_KEYS_MAX, "HSDO_CONFIG_KEYS_MAX too small");

/* Variables that are not settings but that the AWS and Consul clients read
 * (libhsdo/aws/, libhsdo/source/source_consul.c; check_config.c proves the
 * list covers every name those files read). They are known, and close
 * misspellings of them are warned about like those of settings. */
static const char *const env_foreign[] = {
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
	"AWS_REGION", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
	"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
	"AWS_EC2_METADATA_DISABLED", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
	"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB",
	"AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL_AUTO_SCALING", "AWS_ENDPOINT_URL_STS",
	"CONSUL_HTTP_TOKEN", "CONSUL_HTTP_TOKEN_FILE",
};

/* AWS_ is the SDKs' namespace, full of variables HSDO has no use for
 * (AWS_EXECUTION_ENV on ECS, AWS_LAMBDA_*...): a variable there is only
 * warned about when it is close to a name HSDO knows. Every other
 * settings prefix (SERVER_, CLIENT_, DYNAMODB_...) warns on any name. */
#define ENV_SHARED_PREFIX "AWS_"

static const char *const backend_fields[] = { "baseName", "serverPort" };

enum origin_kind { ORIGIN_DEFAULT = 0, ORIGIN_FILE, ORIGIN_ENV };

/* Where a value came from, for `FILE:LINE:` / `environment:` prefixes. */
struct origin {
	enum origin_kind kind;
	size_t line;                /* 1-based, ORIGIN_FILE only */
};

struct cfg_ctx {
	struct hsdo_config *c;
	struct hsdo_diag *diag;
	const char *fname;          /* label for file messages */
	bool have_file;
	struct origin origin[K_COUNT];
	size_t file_line[K_COUNT];  /* line a key was first set on in the file */
	bool bad[K_COUNT];          /* last value given for the key was rejected */
	bool empty_enum[K_COUNT];   /* enum given as "" (STORE: automatic) */
	size_t nerrors;
	int oom;
};

/* ---- small helpers -------------------------------------------------------- */

/* names[v], or "unknown" outside 0..count-1. */
static const char *enum_name(const char *const *names, unsigned count, unsigned v)
{
	return v < count ? names[v] : "unknown";
}

const char *hsdo_config_role_str(enum hsdo_role role)
{
	return enum_name(role_names, HSDO_ROLE_COUNT, (unsigned)role);
}

const char *hsdo_config_server_mode_str(enum hsdo_config_server_mode mode)
{
	return enum_name(server_mode_names, HSDO_CONFIG_SERVER_MODE_COUNT, (unsigned)mode);
}

const char *hsdo_config_store_str(enum hsdo_config_store store)
{
	return enum_name(store_names, HSDO_CONFIG_STORE_COUNT, (unsigned)store);
}

const char *hsdo_config_log_target_str(enum hsdo_config_log_target target)
{
	return enum_name(log_target_names, HSDO_CONFIG_LOG_TARGET_COUNT, (unsigned)target);
}

const char *hsdo_config_origin_str(enum hsdo_config_origin origin)
{
	static const char *const names[HSDO_CONFIG_FROM_COUNT] = {
		[HSDO_CONFIG_FROM_DEFAULT] = "default",
		[HSDO_CONFIG_FROM_FILE] = "file",
		[HSDO_CONFIG_FROM_ENV] = "environment",
	};

	if ((unsigned)origin >= HSDO_CONFIG_FROM_COUNT)
		return "unknown";
	return names[origin];
}

static void *field(struct hsdo_config *c, size_t k)
{
	return (char *)c + cfg_keys[k].off;
}

static const void *cfield(const struct hsdo_config *c, size_t k)
{
	return (const char *)c + cfg_keys[k].off;
}

static int get_enum(const struct hsdo_config *c, size_t k)
{
	int v;

	memcpy(&v, cfield(c, k), sizeof(v));
	return v;
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* Trim ASCII blanks from both ends of s[0..*len); returns the new start. */
static const char *trim(const char *s, size_t *len)
{
	while (*len > 0 && is_space(s[0])) {
		s++;
		(*len)--;
	}
	while (*len > 0 && is_space(s[*len - 1]))
		(*len)--;
	return s;
}

/* At most SHOW_MAX bytes of s, quoted, for a message (hsdo_show): values and
 * key names may be arbitrary bytes. */
static const char *show(const char *s, size_t len, char *buf, size_t bufsz)
{
	return hsdo_show(s, len, SHOW_MAX, true, buf, bufsz);
}

/* Like show() but without quotes, for key names at the start of messages. */
static const char *show_name(const char *s, size_t len, char *buf, size_t bufsz)
{
	size_t n;

	show(s, len, buf, bufsz);
	n = strlen(buf);
	if (n < 2)
		return buf;
	memmove(buf, buf + 1, n - 2);
	buf[n - 2] = '\0';
	return buf;
}

/* Report one diagnostic. key may be NULL (syntax errors). */
static void report(struct cfg_ctx *x, enum hsdo_diag_level lvl, const struct origin *o,
		   const char *key, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void report(struct cfg_ctx *x, enum hsdo_diag_level lvl, const struct origin *o,
		   const char *key, const char *fmt, ...)
{
	char msg[HSDO_DIAG_MSG_MAX / 2];
	char where[HSDO_DIAG_MSG_MAX / 4];
	va_list ap;

	if (lvl == HSDO_DIAG_ERROR)
		x->nerrors++;
	if (x->diag == NULL)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (o->kind == ORIGIN_FILE)
		(void)snprintf(where, sizeof(where), "%s:%zu", x->fname, o->line);
	else if (o->kind == ORIGIN_ENV || !x->have_file)
		(void)snprintf(where, sizeof(where), "environment");
	else
		(void)snprintf(where, sizeof(where), "%s", x->fname);
	if (hsdo_diag_add(x->diag, lvl, "%s: %s%s%s", where, key ? key : "",
			  key ? ": " : "", msg) == -HSDO_ENOMEM)
		x->oom = 1;
}

/* Case-insensitive Levenshtein distance, both strings at most
 * SUGGEST_LEN_MAX bytes. */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t row[SUGGEST_LEN_MAX + 1];
	size_t i, j, diag, up, cost;

	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			unsigned char ca = (unsigned char)a[i - 1], cb = (unsigned char)b[j - 1];

			if (ca >= 'a' && ca <= 'z')
				ca = (unsigned char)(ca - 'a' + 'A');
			if (cb >= 'a' && cb <= 'z')
				cb = (unsigned char)(cb - 'a' + 'A');
			cost = ca == cb ? 0 : 1;
			up = row[j];
			row[j] = diag + cost;
			if (up + 1 < row[j])
				row[j] = up + 1;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			diag = up;
		}
	}
	return row[lb];
}

/* The closest of names[0..n) to s, or NULL when none is reasonably close
 * (distance at most 2, or a fifth of the name for long names). */
static const char *suggest(const char *s, size_t len, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t i, d, bestd = SIZE_MAX, nl, limit;

	if (len > SUGGEST_LEN_MAX)
		return NULL;
	for (i = 0; i < n; i++) {
		nl = strlen(names[i]);
		if (nl > SUGGEST_LEN_MAX)
			continue;
		limit = nl / 5 < 2 ? 2 : nl / 5;
		if ((len > nl ? len - nl : nl - len) > limit)
			continue;   /* the distance is at least the length difference */
		d = edit_distance(s, len, names[i], nl);
		if (d <= limit && d < bestd) {
			bestd = d;
			best = names[i];
		}
	}
	return best;
}

#define NFOREIGN (sizeof(env_foreign) / sizeof(env_foreign[0]))

/* The closest setting (or, for environment variables, also the closest
 * variable of env_foreign), or NULL. */
static const char *suggest_key(const char *s, size_t len, bool foreign)
{
	const char *names[K_COUNT + NFOREIGN];
	size_t i, n = 0;

	for (i = 0; i < K_COUNT; i++)
		names[n++] = cfg_keys[i].name;
	for (i = 0; foreign && i < NFOREIGN; i++)
		names[n++] = env_foreign[i];
	return suggest(s, len, names, n);
}

/* Warn about an unknown key or variable. Only when the warning can still
 * be stored: the diag list is bounded, a file of unknown keys is not, and
 * the suggestion costs an edit distance per known key. */
static void report_unknown(struct cfg_ctx *x, const struct origin *o,
			   const char *s, size_t len, const char *what)
{
	char name[SHOW_MAX + 8];
	const char *hint;

	if (x->diag == NULL || x->diag->n >= HSDO_DIAG_MAX)
		return;
	hint = x->diag->n < HSDO_DIAG_MAX - 1 ? suggest_key(s, len, o->kind == ORIGIN_ENV) : NULL;
	show_name(s, len, name, sizeof(name));
	if (hint != NULL)
		report(x, HSDO_DIAG_WARNING, o, NULL, "%s: unknown %s (did you mean %s?)",
		       name, what, hint);
	else
		report(x, HSDO_DIAG_WARNING, o, NULL, "%s: unknown %s", name, what);
}

/* Index of the key named s[0..len), or -1. Exact, case-sensitive. */
static int find_key(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < K_COUNT; i++)
		if (strlen(cfg_keys[i].name) == len && memcmp(cfg_keys[i].name, s, len) == 0)
			return (int)i;
	return -1;
}

bool hsdo_config_env_known(const char *name, size_t len)
{
	size_t i;

	if (name == NULL)
		return false;
	if (find_key(name, len) >= 0)
		return true;
	for (i = 0; i < NFOREIGN; i++)
		if (strlen(env_foreign[i]) == len && memcmp(env_foreign[i], name, len) == 0)
			return true;
	return false;
}

/* Does s start with the first word ("SERVER_", "DYNAMODB_"...) of a
 * setting's name? AWS_ is left out (ENV_SHARED_PREFIX). */
static bool has_key_prefix(const char *s, size_t len)
{
	const char *us;
	size_t i, plen;

	for (i = 0; i < K_COUNT; i++) {
		us = strchr(cfg_keys[i].name, '_');
		if (us == NULL)
			continue;
		plen = (size_t)(us - cfg_keys[i].name) + 1;
		if (plen == strlen(ENV_SHARED_PREFIX) &&
		    memcmp(cfg_keys[i].name, ENV_SHARED_PREFIX, plen) == 0)
			continue;
		if (len > plen && memcmp(s, cfg_keys[i].name, plen) == 0)
			return true;
	}
	return false;
}

/* ---- value parsers (pure) ------------------------------------------------- */

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static int parse_int(const char *s, int64_t *out)
{
	const char *p = s;
	char *end;
	long long v;

	if (*p == '-' || *p == '+')
		p++;
	if (!is_digit(*p))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* Seconds as an integer or a decimal with at most millisecond precision:
 * "5", "0.5", "1.250". -1 if malformed, -2 if finer than 1 ms. */
static int parse_duration(const char *s, int64_t *ms)
{
	int64_t whole = 0, frac = 0;
	int nd = 0, nf = 0, neg = 0;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	for (; is_digit(*s); s++) {
		if (++nd > 12)
			return -1;
		whole = whole * 10 + (*s - '0');
	}
	if (*s == '.') {
		for (s++; is_digit(*s); s++) {
			if (nf < 3)
				frac = frac * 10 + (*s - '0');
			else if (*s != '0')
				return -2;
			nf++;
		}
		for (; nf < 3; nf++)
			frac *= 10;
	}
	if (*s != '\0' || (nd == 0 && nf == 0))
		return -1;
	*ms = whole * MS_PER_S + frac;
	if (neg)
		*ms = -*ms;
	return 0;
}

/* Seconds text for a millisecond count: 30000 -> "30", 500 -> "0.5". */
static const char *fmt_seconds(int64_t ms, char *buf, size_t bufsz)
{
	unsigned long long a = ms < 0 ? (unsigned long long)-(ms + 1) + 1 : (unsigned long long)ms;
	unsigned long long whole = a / MS_PER_S, frac = a % MS_PER_S;
	size_t n;

	if (frac == 0) {
		(void)snprintf(buf, bufsz, "%s%llu", ms < 0 ? "-" : "", whole);
		return buf;
	}
	(void)snprintf(buf, bufsz, "%s%llu.%03llu", ms < 0 ? "-" : "", whole, frac);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
	return buf;
}

static const char *check_backend_name(const char *s)
{
	for (; *s; s++)
		if (is_space(*s) || *s == ';' || *s == '/')
			return "must not contain whitespace, ';' or '/'";
	return NULL;
}

static const char *check_no_space(const char *s)
{
	for (; *s; s++)
		if (is_space(*s))
			return "must not contain whitespace";
	return NULL;
}

static const char *check_url(const char *s)
{
	if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
		return "must start with http:// or https://";
	return check_no_space(s);
}

static const char *check_hostport(const char *s)
{
	char host[256];
	uint16_t port;

	if (strcmp(s, "off") == 0)
		return NULL;  /* SPOA_LISTEN: no SPOE agent */
	if (hsdo_config_split_hostport(s, host, sizeof(host), &port) != 0)
		return "expected host:port or [ipv6]:port with a port in 1..65535, or off";
	return NULL;
}

static const char *check_dynamodb_table(const char *s)
{
	size_t n = strlen(s);

	if (n < 3)
		return "must be 3 to 255 characters long";
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || is_digit(*s) ||
		      *s == '_' || *s == '-' || *s == '.'))
			return "may only contain letters, digits, '_', '-' and '.'";
	return NULL;
}

static const char *check_region(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || is_digit(*s) || *s == '-'))
			return "may only contain lower-case letters, digits and '-'";
	return NULL;
}

/* Auto Scaling's pattern for lifecycle hook names: [A-Za-z0-9\-_\/]+. */
static const char *check_hook_name(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || is_digit(*s) ||
		      *s == '-' || *s == '_' || *s == '/'))
			return "may only contain letters, digits, '-', '_' and '/'";
	return NULL;
}

static const char *check_client_id(const char *s)
{
	if (!hsdo_report_id_valid(s))
		return "may only contain letters, digits, '.', '_' and '-' (and is not . or ..)";
	return NULL;
}

/* A decimal like "0.5", "1", ".25": at most 6 decimals, into millionths.
 * -1 if malformed, -2 if finer than a millionth. */
static int parse_ratio(const char *s, int64_t *ppm)
{
	int64_t whole = 0, frac = 0;
	int nd = 0, nf = 0;

	for (; is_digit(*s); s++) {
		if (++nd > 9)
			return -1;
		whole = whole * 10 + (*s - '0');
	}
	if (*s == '.') {
		for (s++; is_digit(*s); s++) {
			if (nf < 6)
				frac = frac * 10 + (*s - '0');
			else if (*s != '0')
				return -2;
			nf++;
		}
		for (; nf < 6; nf++)
			frac *= 10;
	}
	if (*s != '\0' || (nd == 0 && nf == 0))
		return -1;
	*ppm = whole * 1000000 + frac;
	return 0;
}

static const char *fmt_ratio(int64_t ppm, char *buf, size_t bufsz)
{
	size_t n;

	(void)snprintf(buf, bufsz, "%lld.%06lld", (long long)(ppm / 1000000),
		       (long long)(ppm % 1000000));
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = '\0';
	return buf;
}

int hsdo_config_split_hostport(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	const char *h, *colon, *p;
	size_t hl;
	int64_t v;

	if (s == NULL || host == NULL || port == NULL)
		return -HSDO_EINVAL;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return -HSDO_EINVAL;
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return -HSDO_EINVAL;
		h = s;
		hl = (size_t)(colon - s);
		if (memchr(h, ':', hl) != NULL)
			return -HSDO_EINVAL;   /* bare IPv6 needs brackets */
	}
	if (hl == 0)
		return -HSDO_EINVAL;
	for (p = h; p < h + hl; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '[' || *p == ']')
			return -HSDO_EINVAL;
	p = colon + 1;
	if (!is_digit(p[0]) || strlen(p) > 5)
		return -HSDO_EINVAL;
	if (parse_int(p, &v) != 0 || v < 1 || v > 65535)
		return -HSDO_EINVAL;
	if (hl >= hostlen)
		return -HSDO_ETOOBIG;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (uint16_t)v;
	return 0;
}

/* Why a raw value cannot be used at all, or NULL. */
static const char *raw_problem(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\0')
			return "contains a NUL byte";
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return "contains a control character";
	}
	return NULL;
}

/* ---- lists and backends -------------------------------------------------- */

static void list_free(struct hsdo_config_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		hsdo_free(l->v[i]);
	hsdo_free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Append a copy of s[0..len) (already trimmed, non-empty). */
static int list_push(struct hsdo_config_list *l, const char *s, size_t len)
{
	char **nv;
	char *dup;

	if ((l->n & (l->n - 1)) == 0) {   /* 0 or a power of two: grow */
		nv = hsdo_reallocarray(l->v, l->n ? l->n * 2 : 1, sizeof(*nv));
		if (nv == NULL)
			return -HSDO_ENOMEM;
		l->v = nv;
	}
	dup = hsdo_strndup(s, len);
	if (dup == NULL)
		return -HSDO_ENOMEM;
	l->v[l->n++] = dup;
	return 0;
}

static int backends_push(struct hsdo_config_backends *b, const struct hsdo_config_backend *be)
{
	struct hsdo_config_backend *nv;

	if ((b->n & (b->n - 1)) == 0) {
		nv = hsdo_reallocarray(b->v, b->n ? b->n * 2 : 1, sizeof(*nv));
		if (nv == NULL)
			return -HSDO_ENOMEM;
		b->v = nv;
	}
	b->v[b->n++] = *be;
	return 0;
}

/* Check one list item; 0, or -HSDO_ECONFIG after reporting. */
static int list_item_ok(struct cfg_ctx *x, size_t k, const struct origin *o,
			const struct hsdo_config_list *l, const char *s, size_t len)
{
	char v[SHOW_MAX + 8];

	if (len > LIST_ITEM_LEN) {
		report(x, HSDO_DIAG_ERROR, o, cfg_keys[k].name, "item %s is too long (at most %d bytes)",
		       show(s, len, v, sizeof(v)), LIST_ITEM_LEN);
		return -HSDO_ECONFIG;
	}
	if (l->n >= (size_t)cfg_keys[k].max) {
		report(x, HSDO_DIAG_ERROR, o, cfg_keys[k].name, "too many items (at most %lld)",
		       (long long)cfg_keys[k].max);
		return -HSDO_ECONFIG;
	}
	return 0;
}

/* Parse a comma-separated list into l (items trimmed, empty ones skipped). */
static int list_from_string(struct cfg_ctx *x, size_t k, const struct origin *o,
			    struct hsdo_config_list *l, const char *s, size_t len)
{
	const char *item, *end = s + len, *comma;
	size_t ilen;
	int rc;

	for (;;) {
		comma = memchr(s, ',', (size_t)(end - s));
		ilen = (size_t)((comma ? comma : end) - s);
		item = trim(s, &ilen);
		if (ilen > 0) {
			rc = list_item_ok(x, k, o, l, item, ilen);
			if (rc == 0)
				rc = list_push(l, item, ilen);
			if (rc != 0)
				return rc;
		}
		if (comma == NULL)
			return 0;
		s = comma + 1;
	}
}

/* Validate and append one backend; the name/base checks are the ones of
 * CLIENT_HAPROXY_BACKEND_NAME. port 0 means "CLIENT_HAPROXY_BACKEND_SERVER_PORT". */
static int backend_add(struct cfg_ctx *x, size_t k, const struct origin *o,
		       struct hsdo_config_backends *b,
		       const char *name, size_t nlen, const char *base, size_t blen, int port)
{
	struct hsdo_config_backend be;
	char v[SHOW_MAX + 8];
	const char *why;
	size_t i;
	int bad = 0;

	memset(&be, 0, sizeof(be));
	show(name, nlen, v, sizeof(v));
	if (nlen == 0) {
		report(x, HSDO_DIAG_ERROR, o, cfg_keys[k].name, "empty backend name");
		return -HSDO_ECONFIG;
	}
	if (nlen >= sizeof(be.name) || blen >= sizeof(be.base_name)) {
		report(x, HSDO_DIAG_ERROR, o, cfg_keys[k].name,
		       "backend %s: names must be at most %zu characters", v, sizeof(be.name) - 1);
		return -HSDO_ECONFIG;
	}
	memcpy(be.name, name, nlen);
	memcpy(be.base_name, base, blen);
	if ((why = raw_problem(be.name, nlen)) != NULL || (why = check_backend_name(be.name)) != NULL) {
		report(x, HSDO_DIAG_ERROR, o, cfg_keys[k].name, "backend name %s %s", v, why);
		bad = 1;
	}
	if (blen == 0) {
		report(x, HSDO_DIAG_ERROR, o, cfg_keys[k].name, "backend %s: baseName must not be empty", v);
		bad = 1;
	} else if ((why = raw_problem(be.base_name, blen)) != NULL ||
		   (why = check_backend_name(be.base_name)) != NULL) {
		report(x, HSDO_DIAG_ERROR, o, cfg_keys[k].name, "backend %s: baseName %s", v, why);
		bad = 1;
	}
	for (i = 0; i < b->n; i++) {
		if (strcmp(b->v[i].name, be.name) == 0) {
			report(x, HSDO_DIAG_ERROR, o, cfg_keys[k].name, "backend %s listed twice", v);
			bad = 1;
			break;
		}
	}
	if (bad)
		return -HSDO_ECONFIG;
	be.port = (uint16_t)port;
	return backends_push(b, &be);
}

/* Port text for a backend entry: 1..65535; -1 (after reporting) if bad. */
static int backend_port(struct cfg_ctx *x, size_t k, const struct origin *o,
			const char *bname, size_t blen, const char *s, size_t len)
{
	char v[SHOW_MAX + 8], n[SHOW_MAX + 8], buf[16];
	int64_t port;

	s = trim(s, &len);
	if (len == 0 || len >= sizeof(buf) || raw_problem(s, len) != NULL) {
		port = -1;
	} else {
		memcpy(buf, s, len);
		buf[len] = '\0';
		if (parse_int(buf, &port) != 0)
			port = -1;
	}
	if (port < 1 || port > 65535) {
		report(x, HSDO_DIAG_ERROR, o, cfg_keys[k].name,
		       "backend %s: serverPort must be a port number in 1..65535, got %s",
		       show(bname, blen, n, sizeof(n)), show(s, len, v, sizeof(v)));
		return -1;
	}
	return (int)port;
}

/* One-line form "backend:baseName[:port],backend2:base2[:port2]". */
static int backends_from_string(struct cfg_ctx *x, size_t k, const struct origin *o,
				struct hsdo_config_backends *b, const char *s, size_t len)
{
	const char *end = s + len, *comma, *item, *c1, *c2;
	char v[SHOW_MAX + 8];
	size_t ilen;
	int rc, port, bad = 0;

	for (; s != NULL; s = comma ? comma + 1 : NULL) {
		comma = memchr(s, ',', (size_t)(end - s));
		ilen = (size_t)((comma ? comma : end) - s);
		item = trim(s, &ilen);
		if (ilen == 0)
			continue;
		if (b->n >= (size_t)cfg_keys[k].max) {
			report(x, HSDO_DIAG_ERROR, o, cfg_keys[k].name, "too many backends (at most %lld)",
			       (long long)cfg_keys[k].max);
			return -HSDO_ECONFIG;
		}
		c1 = memchr(item, ':', ilen);
		c2 = c1 ? memchr(c1 + 1, ':', (size_t)(item + ilen - c1 - 1)) : NULL;
		if (c1 == NULL || (c2 != NULL && memchr(c2 + 1, ':', (size_t)(item + ilen - c2 - 1)) != NULL)) {
			report(x, HSDO_DIAG_ERROR, o, cfg_keys[k].name,
			       "%s: expected backend:baseName:port", show(item, ilen, v, sizeof(v)));
			bad = 1;
			continue;
		}
		port = 0;
		if (c2 != NULL) {
			port = backend_port(x, k, o, item, (size_t)(c1 - item), c2 + 1,
					    (size_t)(item + ilen - c2 - 1));
			if (port < 0) {
				bad = 1;
				continue;
			}
		}
		{
			size_t nlen = (size_t)(c1 - item);
			size_t blen = (size_t)((c2 ? c2 : item + ilen) - c1 - 1);
			const char *name = trim(item, &nlen), *base = trim(c1 + 1, &blen);

			rc = backend_add(x, k, o, b, name, nlen, base, blen, port);
		}
		if (rc == -HSDO_ENOMEM)
			return rc;
		if (rc != 0)
			bad = 1;
	}
	return bad ? -HSDO_ECONFIG : 0;
}

/* ---- setting one key ------------------------------------------------------ */

static const char *type_expect(enum cfg_type t);

static int set_string(struct cfg_ctx *x, size_t k, const char *s, size_t len)
{
	char **f = field(x->c, k);
	char *dup = hsdo_strndup(s, len);

	if (dup == NULL)
		return -HSDO_ENOMEM;
	hsdo_free(*f);
	*f = dup;
	return 0;
}

static void set_list(struct cfg_ctx *x, size_t k, struct hsdo_config_list *nl)
{
	struct hsdo_config_list *l = field(x->c, k);

	list_free(l);
	*l = *nl;
}

static void set_backends(struct cfg_ctx *x, size_t k, struct hsdo_config_backends *nb)
{
	struct hsdo_config_backends *b = field(x->c, k);

	hsdo_free(b->v);
	*b = *nb;
}

/* Set key k from text (an environment value, a default or a YAML scalar).
 * Returns 0, -HSDO_ECONFIG after reporting, or -HSDO_ENOMEM. */
/* The setters of set_from_text, one per type. Scalars get buf (the trimmed
 * value, NUL-terminated, cut at 63 bytes: a longer one cannot be valid,
 * which toolong says) and v (the value quoted for messages). */
static int set_bool(struct cfg_ctx *x, size_t k, const struct origin *o, const char *buf,
		    const char *v)
{
	bool bv;

	if (parse_bool(buf, &bv) != 0) {
		report(x, HSDO_DIAG_ERROR, o, cfg_keys[k].name,
		       "expected a boolean (true/false, yes/no, on/off, 1/0), got %s", v);
		return -HSDO_ECONFIG;
	}
	*(bool *)field(x->c, k) = bv;
	return 0;
}

static int set_int(struct cfg_ctx *x, size_t k, const struct origin *o, const char *buf,
		   bool toolong, const char *v)
{
	const struct cfg_key *key = &cfg_keys[k];
	int64_t n;

	if (toolong || parse_int(buf, &n) != 0) {
		report(x, HSDO_DIAG_ERROR, o, key->name, "expected an integer, got %s", v);
		return -HSDO_ECONFIG;
	}
	if (n < key->min || n > key->max) {
		report(x, HSDO_DIAG_ERROR, o, key->name, "must be between %lld and %lld, got %lld",
		       (long long)key->min, (long long)key->max, (long long)n);
		return -HSDO_ECONFIG;
	}
	*(int *)field(x->c, k) = (int)n;
	return 0;
}

static int set_duration(struct cfg_ctx *x, size_t k, const struct origin *o, const char *buf,
			bool toolong, const char *v)
{
	const struct cfg_key *key = &cfg_keys[k];
	char lo[32], hi[32], got[32];
	int64_t n;
	int rc;

	rc = toolong ? -1 : parse_duration(buf, &n);
	if (rc == -2) {
		report(x, HSDO_DIAG_ERROR, o, key->name, "%s is finer than a millisecond", v);
		return -HSDO_ECONFIG;
	}
	if (rc != 0) {
		report(x, HSDO_DIAG_ERROR, o, key->name,
		       "expected a number of seconds (like 5 or 0.5), got %s", v);
		return -HSDO_ECONFIG;
	}
	if (n < key->min || n > key->max) {
		fmt_seconds(key->max, hi, sizeof(hi));
		fmt_seconds(n, got, sizeof(got));
		if (key->min == 1)
			report(x, HSDO_DIAG_ERROR, o, key->name,
			       "must be greater than 0 and at most %s seconds, got %s", hi, got);
		else
			report(x, HSDO_DIAG_ERROR, o, key->name,
			       "must be between %s and %s seconds, got %s",
			       fmt_seconds(key->min, lo, sizeof(lo)), hi, got);
		return -HSDO_ECONFIG;
	}
	*(int64_t *)field(x->c, k) = n;
	return 0;
}

static int set_ratio(struct cfg_ctx *x, size_t k, const struct origin *o, const char *buf,
		     bool toolong, const char *v)
{
	const struct cfg_key *key = &cfg_keys[k];
	char lo[32], hi[32];
	int64_t n;
	int rc;

	rc = toolong ? -1 : parse_ratio(buf, &n);
	if (rc != 0 || n < key->min || n > key->max) {
		report(x, HSDO_DIAG_ERROR, o, key->name, "expected a number from %s to %s%s, got %s",
		       fmt_ratio(key->min, lo, sizeof(lo)), fmt_ratio(key->max, hi, sizeof(hi)),
		       rc == -2 ? " with at most 6 decimals" : "", v);
		return -HSDO_ECONFIG;
	}
	*(double *)field(x->c, k) = (double)n / 1e6;
	return 0;
}

static int set_enum(struct cfg_ctx *x, size_t k, const struct origin *o, const char *buf,
		    const char *v)
{
	const struct cfg_key *key = &cfg_keys[k];
	char names[128] = "";
	size_t used = 0;
	int i, w;

	for (i = 0; key->values[i] != NULL; i++) {
		if (strcasecmp(buf, key->values[i]) == 0) {
			memcpy(field(x->c, k), &i, sizeof(i));
			x->empty_enum[k] = false;
			return 0;
		}
	}
	for (i = 0; key->values[i] != NULL; i++) {
		w = snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "",
			     key->values[i]);
		if (w < 0 || (size_t)w >= sizeof(names) - used)
			break;
		used += (size_t)w;
	}
	report(x, HSDO_DIAG_ERROR, o, key->name, "expected one of %s, got %s", names, v);
	return -HSDO_ECONFIG;
}

/* Strings, lists and backend lists take the raw value s[0..len). */
static int set_string_text(struct cfg_ctx *x, size_t k, const struct origin *o,
			   const char *s, size_t len)
{
	const struct cfg_key *key = &cfg_keys[k];
	char v[SHOW_MAX + 8];
	const char *why;
	char *tmp;

	if (len == 0 && key->nonempty) {
		report(x, HSDO_DIAG_ERROR, o, key->name, "must not be empty");
		return -HSDO_ECONFIG;
	}
	if (len > (size_t)key->max) {
		report(x, HSDO_DIAG_ERROR, o, key->name, "too long (at most %lld bytes)",
		       (long long)key->max);
		return -HSDO_ECONFIG;
	}
	if (len > 0 && key->check != NULL) {
		if ((tmp = hsdo_strndup(s, len)) == NULL)
			return -HSDO_ENOMEM;
		why = key->check(tmp);
		hsdo_free(tmp);
		if (why != NULL) {
			report(x, HSDO_DIAG_ERROR, o, key->name, "%s %s", show(s, len, v, sizeof(v)),
			       why);
			return -HSDO_ECONFIG;
		}
	}
	return set_string(x, k, s, len);
}

static int set_list_text(struct cfg_ctx *x, size_t k, const struct origin *o,
			 const char *s, size_t len)
{
	struct hsdo_config_list nl = { NULL, 0 };
	int rc;

	if ((rc = list_from_string(x, k, o, &nl, s, len)) != 0) {
		list_free(&nl);
		return rc;
	}
	set_list(x, k, &nl);
	return 0;
}

static int set_backends_text(struct cfg_ctx *x, size_t k, const struct origin *o,
			     const char *s, size_t len)
{
	struct hsdo_config_backends nb = { NULL, 0 };
	int rc;

	if ((rc = backends_from_string(x, k, o, &nb, s, len)) != 0) {
		hsdo_free(nb.v);
		return rc;
	}
	set_backends(x, k, &nb);
	return 0;
}

/* Set key k from text s[0..len) (file or environment syntax). */
static int set_from_text(struct cfg_ctx *x, size_t k, const struct origin *o,
			 const char *s, size_t len)
{
	const struct cfg_key *key = &cfg_keys[k];
	char v[SHOW_MAX + 8], buf[64];
	const char *t, *why;
	size_t tlen = len;

	if ((why = raw_problem(s, len)) != NULL) {
		report(x, HSDO_DIAG_ERROR, o, key->name, "%s", why);
		return -HSDO_ECONFIG;
	}
	switch (key->type) {
	case CT_STRING:
		return set_string_text(x, k, o, s, len);
	case CT_LIST:
		return set_list_text(x, k, o, s, len);
	case CT_BACKENDS:
		return set_backends_text(x, k, o, s, len);
	default:
		break;
	}
	t = trim(s, &tlen);
	if (tlen == 0 && key->type == CT_ENUM) {
		if (key->def[0] != '\0' && o->kind != ORIGIN_DEFAULT)
			return set_from_text(x, k, o, key->def, strlen(key->def));
		x->empty_enum[k] = true;
		return 0;
	}
	if (tlen == 0) {
		report(x, HSDO_DIAG_ERROR, o, key->name, "empty value, expected %s",
		       type_expect(key->type));
		return -HSDO_ECONFIG;
	}
	if (tlen >= sizeof(buf))
		tlen = sizeof(buf) - 1;   /* too long to be valid: fails below */
	memcpy(buf, t, tlen);
	buf[tlen] = '\0';
	show(t, len - (size_t)(t - s), v, sizeof(v));
	switch (key->type) {
	case CT_BOOL:
		return set_bool(x, k, o, buf, v);
	case CT_INT:
		return set_int(x, k, o, buf, tlen == sizeof(buf) - 1, v);
	case CT_DURATION:
		return set_duration(x, k, o, buf, tlen == sizeof(buf) - 1, v);
	case CT_RATIO:
		return set_ratio(x, k, o, buf, tlen == sizeof(buf) - 1, v);
	case CT_ENUM:
		return set_enum(x, k, o, buf, v);
	default:
		return -HSDO_EINVAL;
	}
}

/* ---- YAML ---------------------------------------------------------------- */

static size_t node_line(const yaml_node_t *n)
{
	return n->start_mark.line + 1;
}

static const char *type_expect(enum cfg_type t)
{
	switch (t) {
	case CT_BOOL:
		return "a boolean";
	case CT_INT:
		return "an integer";
	case CT_DURATION:
		return "a number of seconds";
	case CT_RATIO:
		return "a number between 0 and 1";
	case CT_STRING:
	case CT_ENUM:
		return "a string";
	case CT_LIST:
		return "a list or a comma-separated string";
	case CT_BACKENDS:
		return "a mapping of backend to {baseName, serverPort}";
	default:
		return "a value";
	}
}

static int list_from_seq(struct cfg_ctx *x, size_t k, yaml_document_t *doc, yaml_node_t *seq)
{
	struct hsdo_config_list nl = { NULL, 0 };
	yaml_node_item_t *it;
	yaml_node_t *n;
	struct origin o = { ORIGIN_FILE, 0 };
	const char *s, *why;
	size_t len;
	int rc = 0, bad = 0;

	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		n = yaml_document_get_node(doc, *it);
		if (n == NULL)
			continue;
		o.line = node_line(n);
		if (n->type != YAML_SCALAR_NODE) {
			report(x, HSDO_DIAG_ERROR, &o, cfg_keys[k].name,
			       "list items must be scalars, got %s", hsdo_yaml_node_kind(n));
			bad = 1;
			continue;
		}
		if (hsdo_yaml_node_is_null(n))
			continue;
		len = n->data.scalar.length;
		s = trim((const char *)n->data.scalar.value, &len);
		if (len == 0)
			continue;
		if ((why = raw_problem(s, len)) != NULL) {
			report(x, HSDO_DIAG_ERROR, &o, cfg_keys[k].name, "list item %s", why);
			bad = 1;
			continue;
		}
		rc = list_item_ok(x, k, &o, &nl, s, len);
		if (rc == 0)
			rc = list_push(&nl, s, len);
		if (rc == -HSDO_ENOMEM)
			break;
		if (rc != 0) {
			bad = 1;
			if (nl.n >= (size_t)cfg_keys[k].max)
				break;
		}
	}
	if (rc == -HSDO_ENOMEM || bad) {
		list_free(&nl);
		return rc == -HSDO_ENOMEM ? rc : -HSDO_ECONFIG;
	}
	set_list(x, k, &nl);
	return 0;
}

/* One backend entry: name -> {baseName: X, serverPort: N}. */
/* What a backend's mapping said so far: its fields and where. */
struct backend_seen {
	const char *base;
	size_t blen, base_line, port_line;
	int port;
	bool bad;
};

/* One key: value of a backend's mapping (v: the backend, shown). */
static void backend_field(struct cfg_ctx *x, size_t k, const char *name, size_t nlen,
			  const char *v, struct backend_seen *f, yaml_node_t *sk,
			  yaml_node_t *sv)
{
	struct origin so = { ORIGIN_FILE, node_line(sk) };
	const char *ss, *hint;
	size_t slen;
	char sub[SHOW_MAX + 8];

	if (sk->type != YAML_SCALAR_NODE) {
		report(x, HSDO_DIAG_ERROR, &so, cfg_keys[k].name,
		       "backend %s: keys must be scalars, got %s", v, hsdo_yaml_node_kind(sk));
		f->bad = true;
		return;
	}
	ss = (const char *)sk->data.scalar.value;
	slen = sk->data.scalar.length;
	if (slen == 8 && memcmp(ss, "baseName", 8) == 0) {
		if (f->base_line != 0) {
			report(x, HSDO_DIAG_ERROR, &so, cfg_keys[k].name,
			       "backend %s: duplicate baseName (first on line %zu)", v, f->base_line);
			f->bad = true;
		} else if (sv->type != YAML_SCALAR_NODE) {
			report(x, HSDO_DIAG_ERROR, &so, cfg_keys[k].name,
			       "backend %s: baseName must be a string, got %s", v, hsdo_yaml_node_kind(sv));
			f->bad = true;
		} else {
			f->base = hsdo_yaml_node_is_null(sv) ? "" : (const char *)sv->data.scalar.value;
			f->blen = hsdo_yaml_node_is_null(sv) ? 0 : sv->data.scalar.length;
		}
		f->base_line = so.line;
	} else if (slen == 10 && memcmp(ss, "serverPort", 10) == 0) {
		if (f->port_line != 0) {
			report(x, HSDO_DIAG_ERROR, &so, cfg_keys[k].name,
			       "backend %s: duplicate serverPort (first on line %zu)", v, f->port_line);
			f->bad = true;
		} else if (sv->type != YAML_SCALAR_NODE) {
			report(x, HSDO_DIAG_ERROR, &so, cfg_keys[k].name,
			       "backend %s: serverPort must be a number, got %s", v, hsdo_yaml_node_kind(sv));
			f->bad = true;
		} else {
			f->port = backend_port(x, k, &so, name, nlen,
					       (const char *)sv->data.scalar.value, sv->data.scalar.length);
			f->bad = f->bad || f->port < 0;
		}
		f->port_line = so.line;
	} else {
		hint = suggest(ss, slen, backend_fields, 2);
		show_name(ss, slen, sub, sizeof(sub));
		if (hint != NULL)
			report(x, HSDO_DIAG_WARNING, &so, cfg_keys[k].name,
			       "backend %s: %s: unknown key (did you mean %s?)", v, sub, hint);
		else
			report(x, HSDO_DIAG_WARNING, &so, cfg_keys[k].name,
			       "backend %s: %s: unknown key", v, sub);
	}
}

static int backend_from_node(struct cfg_ctx *x, size_t k, yaml_document_t *doc,
			     struct hsdo_config_backends *b, yaml_node_t *kn, yaml_node_t *vn)
{
	struct origin o = { ORIGIN_FILE, node_line(kn) };
	const char *name = (const char *)kn->data.scalar.value;
	size_t nlen = kn->data.scalar.length;
	struct backend_seen f = { 0 };
	char v[SHOW_MAX + 8];
	yaml_node_pair_t *p;
	yaml_node_t *sk, *sv;
	int rc;

	show(name, nlen, v, sizeof(v));
	if (vn->type != YAML_MAPPING_NODE) {
		report(x, HSDO_DIAG_ERROR, &o, cfg_keys[k].name,
		       "backend %s: expected a mapping with baseName and serverPort, got %s",
		       v, hsdo_yaml_node_is_null(vn) ? "nothing" : hsdo_yaml_node_kind(vn));
		return -HSDO_ECONFIG;
	}
	for (p = vn->data.mapping.pairs.start; p < vn->data.mapping.pairs.top; p++) {
		sk = yaml_document_get_node(doc, p->key);
		sv = yaml_document_get_node(doc, p->value);
		if (sk != NULL && sv != NULL)
			backend_field(x, k, name, nlen, v, &f, sk, sv);
	}
	if (f.base_line == 0) {
		report(x, HSDO_DIAG_ERROR, &o, cfg_keys[k].name, "backend %s: baseName is required", v);
		return -HSDO_ECONFIG;
	}
	if (f.base == NULL) {      /* reported above; still check the name */
		f.base = "-";
		f.blen = 1;
	}
	/* Check the name even when a field was bad, to report it too; b is
	 * thrown away by the caller in that case. */
	rc = backend_add(x, k, &o, b, name, nlen, f.base, f.blen, f.port < 0 ? 0 : f.port);
	return f.bad && rc == 0 ? -HSDO_ECONFIG : rc;
}

static int backends_from_map(struct cfg_ctx *x, size_t k, yaml_document_t *doc, yaml_node_t *map)
{
	struct hsdo_config_backends nb = { NULL, 0 };
	yaml_node_pair_t *p;
	yaml_node_t *kn, *vn;
	int rc = 0, bad = 0;

	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		kn = yaml_document_get_node(doc, p->key);
		vn = yaml_document_get_node(doc, p->value);
		if (kn == NULL || vn == NULL)
			continue;
		if (kn->type != YAML_SCALAR_NODE) {
			struct origin o = { ORIGIN_FILE, node_line(kn) };

			report(x, HSDO_DIAG_ERROR, &o, cfg_keys[k].name,
			       "backend names must be scalars, got %s", hsdo_yaml_node_kind(kn));
			bad = 1;
			continue;
		}
		if (nb.n >= (size_t)cfg_keys[k].max) {
			struct origin o = { ORIGIN_FILE, node_line(kn) };

			report(x, HSDO_DIAG_ERROR, &o, cfg_keys[k].name,
			       "too many backends (at most %lld)", (long long)cfg_keys[k].max);
			bad = 1;
			break;
		}
		rc = backend_from_node(x, k, doc, &nb, kn, vn);
		if (rc == -HSDO_ENOMEM)
			break;
		if (rc != 0)
			bad = 1;
	}
	if (rc == -HSDO_ENOMEM || bad) {
		hsdo_free(nb.v);
		return rc == -HSDO_ENOMEM ? rc : -HSDO_ECONFIG;
	}
	set_backends(x, k, &nb);
	return 0;
}

/* Set key k from the YAML value node vn. */
static int set_from_node(struct cfg_ctx *x, size_t k, yaml_document_t *doc, yaml_node_t *vn)
{
	const struct cfg_key *key = &cfg_keys[k];
	struct origin vo = { ORIGIN_FILE, node_line(vn) };

	switch (vn->type) {
	case YAML_SCALAR_NODE:
		if (hsdo_yaml_node_is_null(vn))
			return set_from_text(x, k, &vo, "", 0);
		return set_from_text(x, k, &vo, (const char *)vn->data.scalar.value,
				     vn->data.scalar.length);
	case YAML_SEQUENCE_NODE:
		if (key->type == CT_LIST)
			return list_from_seq(x, k, doc, vn);
		break;
	case YAML_MAPPING_NODE:
		if (key->type == CT_BACKENDS)
			return backends_from_map(x, k, doc, vn);
		break;
	default:
		break;
	}
	report(x, HSDO_DIAG_ERROR, &vo, key->name, "expected %s, got %s",
	       type_expect(key->type), hsdo_yaml_node_kind(vn));
	return -HSDO_ECONFIG;
}

static void report_yaml_error(struct cfg_ctx *x, const yaml_parser_t *p, const char *buf, size_t len)
{
	struct hsdo_yaml_problem pb;
	struct origin o = { ORIGIN_FILE, 0 };

	if (hsdo_yaml_parser_problem(p, buf, len, &pb) == -HSDO_ENOMEM) {
		x->oom = 1;
		return;
	}
	o.line = pb.line;
	report(x, HSDO_DIAG_ERROR, &o, NULL, "%s", pb.msg);
}

/* The shared YAML limits (yaml_guard.h) before building the document.
 * Returns 0 or -HSDO_ECONFIG / -HSDO_ENOMEM (reported). */
static int yaml_prescan(struct cfg_ctx *x, const char *buf, size_t len)
{
	struct hsdo_yaml_problem pb;
	struct origin o = { ORIGIN_FILE, 0 };
	int rc = hsdo_yaml_guard(buf, len, &pb);

	if (rc == -HSDO_ENOMEM) {
		x->oom = 1;
		return rc;
	}
	if (rc != 0) {
		o.line = pb.line;
		report(x, HSDO_DIAG_ERROR, &o, NULL, "%s", pb.msg);
		return -HSDO_ECONFIG;
	}
	return 0;
}

/* One top-level KEY: value of the file: unknown and duplicate keys are
 * reported, a known one is set (a bad value marks the key bad; running out
 * of memory stops the file). */
static void apply_file_key(struct cfg_ctx *x, yaml_document_t *doc, yaml_node_t *kn,
			   yaml_node_t *vn)
{
	struct origin o = { ORIGIN_FILE, node_line(kn) };
	int k, rc;

	if (kn->type != YAML_SCALAR_NODE) {
		report(x, HSDO_DIAG_ERROR, &o, NULL, "keys must be setting names, got %s",
		       hsdo_yaml_node_kind(kn));
		return;
	}
	k = find_key((const char *)kn->data.scalar.value, kn->data.scalar.length);
	if (k < 0) {
		report_unknown(x, &o, (const char *)kn->data.scalar.value,
			       kn->data.scalar.length, "key");
	} else if (x->file_line[k] != 0) {
		report(x, HSDO_DIAG_ERROR, &o, cfg_keys[k].name,
		       "duplicate key (first set on line %zu)", x->file_line[k]);
	} else {
		x->file_line[k] = o.line;
		x->origin[k] = o;
		rc = set_from_node(x, k, doc, vn);
		x->bad[k] = rc != 0;
		if (rc == -HSDO_ENOMEM)
			x->oom = 1;
	}
}

static int apply_file(struct cfg_ctx *x, const char *buf, size_t len)
{
	yaml_parser_t p;
	yaml_document_t doc;
	yaml_node_t *root, *kn, *vn;
	yaml_node_pair_t *pair;
	struct origin o = { ORIGIN_FILE, 1 };
	int rc = 0;

	if (len > HSDO_CONFIG_FILE_MAX) {
		o.kind = ORIGIN_DEFAULT;
		report(x, HSDO_DIAG_ERROR, &o, NULL, "file too large (%zu bytes, at most %d)",
		       len, HSDO_CONFIG_FILE_MAX);
		return -HSDO_ECONFIG;
	}
	if (len == 0)
		return 0;
	rc = yaml_prescan(x, buf, len);
	if (rc != 0)
		return rc;
	if (!yaml_parser_initialize(&p))
		return -HSDO_ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&p, &doc)) {
		report_yaml_error(x, &p, buf, len);
		yaml_parser_delete(&p);
		return x->oom ? -HSDO_ENOMEM : -HSDO_ECONFIG;
	}
	root = yaml_document_get_root_node(&doc);
	if (root == NULL || hsdo_yaml_node_is_null(root))
		goto out;
	if (root->type != YAML_MAPPING_NODE) {
		o.line = node_line(root);
		report(x, HSDO_DIAG_ERROR, &o, NULL,
		       "expected a mapping of KEY: value at the top level, got %s", hsdo_yaml_node_kind(root));
		rc = -HSDO_ECONFIG;
		goto out;
	}
	for (pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
		kn = yaml_document_get_node(&doc, pair->key);
		vn = yaml_document_get_node(&doc, pair->value);
		if (kn != NULL && vn != NULL)
			apply_file_key(x, &doc, kn, vn);
		if (x->oom)
			break;
	}
out:
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
	return x->oom ? -HSDO_ENOMEM : rc;
}

/* ---- environment ------------------------------------------------------- */

static int apply_env(struct cfg_ctx *x, char *const *envp)
{
	struct origin o = { ORIGIN_ENV, 0 };
	const char *v, *eq;
	size_t k, nlen;
	int rc;

	if (envp == NULL)
		return 0;
	for (k = 0; k < K_COUNT; k++) {
		v = hsdo_env_value(envp, cfg_keys[k].name);
		if (v == NULL)
			continue;
		x->origin[k] = o;
		rc = set_from_text(x, k, &o, v, strlen(v));
		x->bad[k] = rc != 0;
		if (rc == -HSDO_ENOMEM)
			x->oom = 1;
		if (x->oom)
			return -HSDO_ENOMEM;
	}
	/* A variable that is not known but looks like a setting (a settings
	 * prefix, or a small edit distance from a known name) is most likely
	 * a typo that would otherwise be silently ignored. */
	for (; *envp != NULL; envp++) {
		eq = strchr(*envp, '=');
		nlen = eq ? (size_t)(eq - *envp) : strlen(*envp);
		if (hsdo_config_env_known(*envp, nlen))
			continue;
		if (x->diag == NULL || x->diag->n >= HSDO_DIAG_MAX)
			break;
		if (has_key_prefix(*envp, nlen) || suggest_key(*envp, nlen, true) != NULL)
			report_unknown(x, &o, *envp, nlen, "variable");
		if (x->oom)
			return -HSDO_ENOMEM;
	}
	return 0;
}

/* ---- cross-key rules ------------------------------------------------------ */

static bool str_empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

/* Report an error on key k where its value came from. */
#define KEY_ERROR(x, k, ...) \
	report((x), HSDO_DIAG_ERROR, &(x)->origin[k], cfg_keys[k].name, __VA_ARGS__)

static void require(struct cfg_ctx *x, size_t k, bool missing, const char *when)
{
	if (missing && !x->bad[k])
		KEY_ERROR(x, k, "required %s", when);
}

/* The single backend of older versions (CLIENT_HAPROXY_BACKEND_NAME +
 * BASE_NAME) becomes the backend list's one entry; every entry without a
 * port takes CLIENT_HAPROXY_BACKEND_SERVER_PORT. */
static void finalize_backends(struct cfg_ctx *x)
{
	struct hsdo_config *c = x->c;
	struct hsdo_config_backends *bl = &c->client_haproxy_backend_list;
	bool has_name = !str_empty(c->client_haproxy_backend_name);
	bool has_base = !str_empty(c->client_haproxy_backend_base_name);
	struct hsdo_config_backend *one;
	size_t i;

	if (bl->n > 0 && (has_name || has_base)) {
		report(x, HSDO_DIAG_WARNING, &x->origin[has_name ? K_BACKEND_NAME : K_BACKEND_BASE_NAME],
		       cfg_keys[has_name ? K_BACKEND_NAME : K_BACKEND_BASE_NAME].name,
		       "ignored because CLIENT_HAPROXY_BACKEND_LIST is set");
	} else if (bl->n == 0 && !x->bad[K_BACKEND_LIST] && (has_name || has_base)) {
		if (!has_name && !x->bad[K_BACKEND_NAME])
			KEY_ERROR(x, K_BACKEND_NAME, "required with CLIENT_HAPROXY_BACKEND_BASE_NAME");
		else if (!has_base && !x->bad[K_BACKEND_BASE_NAME])
			KEY_ERROR(x, K_BACKEND_BASE_NAME, "required with CLIENT_HAPROXY_BACKEND_NAME");
		else if (has_name && has_base) {
			if ((one = hsdo_calloc(1, sizeof(*one))) == NULL) {
				x->oom = 1;
				return;
			}
			/* Both fit: the table bounds them to 127 bytes. */
			(void)hsdo_strlcpy_field(one->name, sizeof(one->name), c->client_haproxy_backend_name);
			(void)hsdo_strlcpy_field(one->base_name, sizeof(one->base_name),
						 c->client_haproxy_backend_base_name);
			bl->v = one;
			bl->n = 1;
		}
	}
	for (i = 0; i < bl->n; i++)
		if (bl->v[i].port == 0)
			bl->v[i].port = (uint16_t)c->client_haproxy_backend_server_port;
}

/* The fallback backend's two keys go together. */
static void finalize_fallback(struct cfg_ctx *x)
{
	struct hsdo_config *c = x->c;
	bool has_fname = !str_empty(c->client_haproxy_fallback_backend_name);
	bool has_fbase = !str_empty(c->client_haproxy_fallback_backend_base_name);
	struct hsdo_config_backend *fb = &c->client_haproxy_fallback_backend;

	if (has_fname && !has_fbase)
		require(x, K_FALLBACK_BASE_NAME, true, "with CLIENT_HAPROXY_FALLBACK_BACKEND_NAME");
	else if (has_fbase && !has_fname)
		require(x, K_FALLBACK_NAME, true, "with CLIENT_HAPROXY_FALLBACK_BACKEND_BASE_NAME");
	else if (has_fname && has_fbase) {
		(void)hsdo_strlcpy_field(fb->name, sizeof(fb->name), c->client_haproxy_fallback_backend_name);
		(void)hsdo_strlcpy_field(fb->base_name, sizeof(fb->base_name),
					 c->client_haproxy_fallback_backend_base_name);
		fb->port = (uint16_t)c->client_haproxy_backend_server_port;
	}
}

/* What the store and the server's source need. */
static void finalize_store_and_source(struct cfg_ctx *x, enum hsdo_role role)
{
	struct hsdo_config *c = x->c;
	bool dynamo, aws;

	dynamo = c->store == HSDO_CONFIG_STORE_DYNAMODB && !x->bad[K_STORE];
	require(x, K_DYNAMODB_TABLE_NAME, dynamo && str_empty(c->dynamodb_table_name),
		"when STORE is dynamodb");
	require(x, K_STORE_FILE_PATH, c->store == HSDO_CONFIG_STORE_FILE && !x->bad[K_STORE] &&
		str_empty(c->store_file_path), "when STORE is file");
	aws = role == HSDO_ROLE_SERVER && c->server_mode == HSDO_CONFIG_SERVER_MODE_AWS &&
	      !x->bad[K_SERVER_MODE];
	require(x, K_AWS_DEFAULT_REGION, (dynamo || aws) && str_empty(c->aws_default_region),
		dynamo ? "when STORE is dynamodb" : "when SERVER_MODE is aws");
	if (role != HSDO_ROLE_SERVER || x->bad[K_SERVER_MODE])
		return;
	switch (c->server_mode) {
	case HSDO_CONFIG_SERVER_MODE_AWS:
		require(x, K_SERVER_ASG_NAMES, c->server_asg_names.n == 0, "when SERVER_MODE is aws");
		break;
	case HSDO_CONFIG_SERVER_MODE_CONSUL:
		require(x, K_SERVER_CONSUL_API_URL, str_empty(c->server_consul_api_url),
			"when SERVER_MODE is consul");
		require(x, K_SERVER_CONSUL_SERVICE_NAME, c->server_consul_service_name.n == 0,
			"when SERVER_MODE is consul");
		break;
	case HSDO_CONFIG_SERVER_MODE_STATIC:
		require(x, K_SERVER_STATIC_FILE, str_empty(c->server_static_file),
			"when SERVER_MODE is static");
		break;
	case HSDO_CONFIG_SERVER_MODE_COUNT:
		break;
	}
}

/* What client mode needs: a backend, and the dedicated-ASG keys. */
static void finalize_client(struct cfg_ctx *x, bool one_only)
{
	struct hsdo_config *c = x->c;
	bool has_fname = !str_empty(c->client_haproxy_fallback_backend_name);
	bool has_fbase = !str_empty(c->client_haproxy_fallback_backend_base_name);
	const char *w = "when CLIENT_DEDICATED_ASG is true";

	if (c->client_haproxy_backend_list.n == 0 && !x->bad[K_BACKEND_LIST] &&
	    !x->bad[K_BACKEND_NAME] && !x->bad[K_BACKEND_BASE_NAME] && !one_only)
		KEY_ERROR(x, K_BACKEND_LIST, "at least one backend is required (or set "
			  "CLIENT_HAPROXY_BACKEND_NAME and CLIENT_HAPROXY_BACKEND_BASE_NAME)");
	if (c->client_dedicated_asg && !x->bad[K_CLIENT_DEDICATED_ASG]) {
		require(x, K_CLIENT_ASG_NAMES, c->client_asg_names.n == 0, w);
		require(x, K_FALLBACK_NAME, !has_fname && !has_fbase, w);
		require(x, K_FALLBACK_BASE_NAME, !has_fname && !has_fbase, w);
	}
}

/* Fleet health: the health table's default name, Auto Scaling's needs. */
static void finalize_health(struct cfg_ctx *x, enum hsdo_role role)
{
	struct hsdo_config *c = x->c;
	char *name;

	if (str_empty(c->health_table_name) && !str_empty(c->dynamodb_table_name) &&
	    !x->bad[K_DYNAMODB_TABLE_NAME]) {
		if (strlen(c->dynamodb_table_name) + 7 > 255) {
			KEY_ERROR(x, K_HEALTH_TABLE_NAME, "required: DYNAMODB_TABLE_NAME is too long "
				  "to add -health to it");
		} else if ((name = hsdo_strdup_printf("%s-health", c->dynamodb_table_name)) == NULL) {
			x->oom = 1;
			return;
		} else {
			hsdo_free(c->health_table_name);
			c->health_table_name = name;
		}
	}
	if (!str_empty(c->health_table_name) && !str_empty(c->dynamodb_table_name) &&
	    strcmp(c->health_table_name, c->dynamodb_table_name) == 0)
		KEY_ERROR(x, K_HEALTH_TABLE_NAME, "must not be the slot table (DYNAMODB_TABLE_NAME): "
			  "the original HSDO would read the reports as slots");
	if (role == HSDO_ROLE_SERVER && c->health_asg_set_unhealthy &&
	    !x->bad[K_HEALTH_ASG_SET_UNHEALTHY] && !x->bad[K_SERVER_MODE] &&
	    c->server_mode != HSDO_CONFIG_SERVER_MODE_AWS)
		KEY_ERROR(x, K_HEALTH_ASG_SET_UNHEALTHY, "needs SERVER_MODE aws (Auto Scaling is "
			  "what replaces the instance)");
}

/* The rules across keys, once every source of values has been applied. */
/* SERVER_VALVE_CYCLES, deprecated: it counted cycles, so its hold shrank
 * with INTERVAL (3 cycles of 0.2 s gave way after 0.6 s). It still works,
 * as that many INTERVALs, with a warning; SERVER_VALVE_SECONDS wins. */
static void finalize_valve(struct cfg_ctx *x)
{
	struct hsdo_config *c = x->c;
	const struct origin *o = &x->origin[K_SERVER_VALVE_CYCLES];
	char a[32], b[32];

	if (o->kind == ORIGIN_DEFAULT || x->bad[K_SERVER_VALVE_CYCLES])
		return;
	if (x->origin[K_SERVER_VALVE_SECONDS].kind != ORIGIN_DEFAULT) {
		report(x, HSDO_DIAG_WARNING, o, cfg_keys[K_SERVER_VALVE_CYCLES].name,
		       "deprecated and ignored: SERVER_VALVE_SECONDS is set");
		return;
	}
	c->server_valve_ms = (int64_t)c->server_valve_cycles * c->interval_ms;
	report(x, HSDO_DIAG_WARNING, o, cfg_keys[K_SERVER_VALVE_CYCLES].name,
	       "deprecated: read as SERVER_VALVE_SECONDS %s (%d cycles of INTERVAL %s); "
	       "set SERVER_VALVE_SECONDS instead",
	       fmt_seconds(c->server_valve_ms, a, sizeof(a)), c->server_valve_cycles,
	       fmt_seconds(c->interval_ms, b, sizeof(b)));
}

static void finalize(struct cfg_ctx *x, enum hsdo_role role)
{
	struct hsdo_config *c = x->c;
	/* one of the two single-backend keys alone: already reported */
	bool one_only = str_empty(c->client_haproxy_backend_name) !=
			str_empty(c->client_haproxy_backend_base_name);

	/* STORE unset or empty: keep an original (DynamoDB) config working,
	 * and say so when that means the file store: a misspelt or missing
	 * DYNAMODB_TABLE_NAME must not quietly turn a fleet's store local. */
	if (x->empty_enum[K_STORE]) {
		c->store_auto = true;
		c->store = str_empty(c->dynamodb_table_name) ? HSDO_CONFIG_STORE_FILE
							     : HSDO_CONFIG_STORE_DYNAMODB;
		if (c->store == HSDO_CONFIG_STORE_FILE && !x->bad[K_DYNAMODB_TABLE_NAME])
			report(x, HSDO_DIAG_WARNING, &x->origin[K_STORE], cfg_keys[K_STORE].name,
			       "not set and DYNAMODB_TABLE_NAME is empty: using the file store "
			       "(STORE_FILE_PATH); set STORE=file to choose it, or "
			       "DYNAMODB_TABLE_NAME for DynamoDB");
	}
	finalize_backends(x);
	if (x->oom)
		return;
	finalize_fallback(x);
	if (!x->bad[K_MIN_WEIGHT] && !x->bad[K_MAX_WEIGHT] &&
	    c->server_haproxy_backend_server_min_weight > c->server_haproxy_backend_server_max_weight)
		KEY_ERROR(x, K_MIN_WEIGHT, "must not be greater than %s (%d)", cfg_keys[K_MAX_WEIGHT].name,
			  c->server_haproxy_backend_server_max_weight);
	finalize_store_and_source(x, role);
	finalize_valve(x);
	if (role == HSDO_ROLE_CLIENT)
		finalize_client(x, one_only);
	finalize_health(x, role);
}

/* ---- public API ----------------------------------------------------------- */

void hsdo_config_free(struct hsdo_config *c)
{
	size_t k;

	if (c == NULL)
		return;
	hsdo_free(c->source_file);
	for (k = 0; k < K_COUNT; k++) {
		switch (cfg_keys[k].type) {
		case CT_STRING:
			hsdo_free(*(char **)field(c, k));
			break;
		case CT_LIST:
			list_free(field(c, k));
			break;
		case CT_BACKENDS:
			hsdo_free(((struct hsdo_config_backends *)field(c, k))->v);
			break;
		default:
			break;
		}
	}
	hsdo_free(c);
}

int hsdo_config_parse(const char *buf, size_t len, const char *filename,
		      char *const *envp, enum hsdo_role role,
		      struct hsdo_config **out, struct hsdo_diag *diag)
{
	struct cfg_ctx *x;
	struct origin def = { ORIGIN_DEFAULT, 0 };
	bool file_ok = true;
	size_t k;
	int rc = 0;

	if (out == NULL || (unsigned)role >= HSDO_ROLE_COUNT || (buf == NULL && len > 0))
		return -HSDO_EINVAL;
	x = hsdo_calloc(1, sizeof(*x));
	if (x == NULL)
		return -HSDO_ENOMEM;
	x->diag = diag;
	x->have_file = buf != NULL;
	x->fname = filename != NULL ? filename : "<config>";
	x->c = hsdo_calloc(1, sizeof(*x->c));
	if (x->c == NULL) {
		rc = -HSDO_ENOMEM;
		goto out;
	}
	for (k = 0; k < K_COUNT && !x->oom; k++)
		if (set_from_text(x, k, &def, cfg_keys[k].def, strlen(cfg_keys[k].def)) == -HSDO_ENOMEM)
			x->oom = 1;
	if (x->oom)
		rc = -HSDO_ENOMEM;
	if (rc == 0 && buf != NULL) {
		rc = apply_file(x, buf, len);
		/* The file could not be read as a whole: still report the
		 * environment's errors, but skip the cross-key rules, which
		 * would only complain about what the file was meant to set. */
		if (rc == -HSDO_ECONFIG) {
			file_ok = false;
			rc = 0;
		}
	}
	if (rc == 0)
		rc = apply_env(x, envp);
	if (rc == 0 && file_ok)
		finalize(x, role);
	if (rc == 0 && !x->oom) {
		x->c->source_file = hsdo_strdup(buf != NULL ? x->fname : "");
		if (x->c->source_file == NULL)
			x->oom = 1;
		for (k = 0; k < K_COUNT; k++) {
			x->c->origin[k] = (unsigned char)(x->origin[k].kind == ORIGIN_FILE ?
				HSDO_CONFIG_FROM_FILE : x->origin[k].kind == ORIGIN_ENV ?
				HSDO_CONFIG_FROM_ENV : HSDO_CONFIG_FROM_DEFAULT);
			x->c->origin_line[k] = (uint32_t)x->origin[k].line;
		}
	}
	if (rc == 0 && x->oom)
		rc = -HSDO_ENOMEM;
	if (rc == 0 && x->nerrors > 0)
		rc = -HSDO_ECONFIG;
out:
	if (rc == 0)
		*out = x->c;
	else
		hsdo_config_free(x->c);
	hsdo_free(x);
	return rc;
}

int hsdo_config_load(const char *path, char *const *envp, enum hsdo_role role,
		     struct hsdo_config **out, struct hsdo_diag *diag)
{
	char *buf = NULL, why[PATH_LEN_MAX + 128];
	size_t len = 0;
	int rc;

	if (path == NULL)
		return hsdo_config_parse(NULL, 0, NULL, envp, role, out, diag);
	if (out == NULL)
		return -HSDO_EINVAL;
	/* Non-blocking and regular files only: a reload (SIGHUP) runs on the
	 * agent's loop, and a FIFO put at the path must not hang it. */
	rc = hsdo_file_read(path, HSDO_CONFIG_FILE_MAX, &buf, &len, NULL, why, sizeof(why));
	if (rc == -HSDO_ENOTFOUND)
		snprintf(why, sizeof(why), "%s: cannot open: %s", path, strerror(ENOENT));
	else if (rc == -HSDO_ETOOBIG)
		snprintf(why, sizeof(why), "%s: file too large (more than %d bytes)", path,
			 HSDO_CONFIG_FILE_MAX);
	if (rc == -HSDO_ENOMEM)
		return rc;
	if (rc != 0) {
		if (diag != NULL && hsdo_diag_add(diag, HSDO_DIAG_ERROR, "%s", why) == -HSDO_ENOMEM)
			return -HSDO_ENOMEM;
		return -HSDO_ECONFIG;
	}
	rc = hsdo_config_parse(buf, len, path, envp, role, out, diag);
	hsdo_free(buf);
	return rc;
}

static int dump_list(FILE *f, const struct hsdo_config_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (fprintf(f, "%s%s", i ? "," : "", l->v[i]) < 0)
			return -1;
	return 0;
}

/* A string value for display: the password of a URL's userinfo
 * ("https://user:secret@host") becomes "***". */
static int put_masked(FILE *f, const char *v)
{
	const char *scheme = strstr(v, "://"), *auth, *at, *colon;

	if (scheme == NULL)
		return fputs(v, f) < 0;
	auth = scheme + 3;
	at = auth + strcspn(auth, "/?#@");
	colon = memchr(auth, ':', (size_t)(at - auth));
	if (*at != '@' || colon == NULL)
		return fputs(v, f) < 0;
	return fprintf(f, "%.*s***%s", (int)(colon + 1 - v), v, at) < 0;
}

static int put_origin(FILE *f, const struct hsdo_config *c, size_t k)
{
	switch ((enum hsdo_config_origin)c->origin[k]) {
	case HSDO_CONFIG_FROM_FILE:
		return fprintf(f, "  # %s:%u", c->source_file, (unsigned)c->origin_line[k]) < 0;
	case HSDO_CONFIG_FROM_ENV:
		return fputs("  # environment", f) < 0;
	default:
		if (k == K_STORE && c->store_auto)
			return fputs("  # default (from DYNAMODB_TABLE_NAME)", f) < 0;
		return fputs("  # default", f) < 0;
	}
}

int hsdo_config_origin_of(const struct hsdo_config *c, const char *key,
			  enum hsdo_config_origin *origin, size_t *line)
{
	int k;

	if (c == NULL || key == NULL)
		return -HSDO_EINVAL;
	k = find_key(key, strlen(key));
	if (k < 0)
		return -HSDO_ENOTFOUND;
	if (origin != NULL)
		*origin = (enum hsdo_config_origin)c->origin[k];
	if (line != NULL)
		*line = c->origin_line[k];
	return 0;
}

static int dump(const struct hsdo_config *c, FILE *f, bool origins)
{
	const struct hsdo_config_backends *b;
	char sec[32];
	size_t k, i;
	int bad = 0;

	if (c == NULL || f == NULL)
		return -HSDO_EINVAL;
	for (k = 0; k < K_COUNT && !bad; k++) {
		const void *p = cfield(c, k);
		const struct cfg_key *key = &cfg_keys[k];

		if (key->deprecated)
			continue;   /* its effect is in the key that replaces it */
		if (fprintf(f, "%s = ", key->name) < 0)
			return -HSDO_EIO;
		switch (key->type) {
		case CT_BOOL:
			bad = fputs(*(const bool *)p ? "true" : "false", f) < 0;
			break;
		case CT_INT:
			bad = fprintf(f, "%d", *(const int *)p) < 0;
			break;
		case CT_DURATION:
			bad = fputs(fmt_seconds(*(const int64_t *)p, sec, sizeof(sec)), f) < 0;
			break;
		case CT_RATIO:
			bad = fputs(fmt_ratio((int64_t)(*(const double *)p * 1e6 + 0.5), sec,
					      sizeof(sec)), f) < 0;
			break;
		case CT_STRING:
			if (origins)
				bad = put_masked(f, *(char *const *)p ? *(char *const *)p : "");
			else
				bad = fputs(*(char *const *)p ? *(char *const *)p : "", f) < 0;
			break;
		case CT_ENUM: {
			int v = get_enum(c, k), n;

			for (n = 0; key->values[n] != NULL; n++)
				;
			bad = fputs(v >= 0 && v < n ? key->values[v] : "unknown", f) < 0;
			break;
		}
		case CT_LIST:
			bad = dump_list(f, p) != 0;
			break;
		case CT_BACKENDS:
			b = p;
			for (i = 0; i < b->n && !bad; i++)
				bad = fprintf(f, "%s%s:%s:%u", i ? "," : "", b->v[i].name,
					      b->v[i].base_name, (unsigned)b->v[i].port) < 0;
			break;
		case CT_TYPE_COUNT:
			break;
		}
		if (!bad && origins)
			bad = put_origin(f, c, k);
		if (!bad && fputc('\n', f) == EOF)
			bad = 1;
	}
	if (bad || ferror(f))
		return -HSDO_EIO;
	return 0;
}

int hsdo_config_dump(const struct hsdo_config *c, FILE *f)
{
	return dump(c, f, false);
}

int hsdo_config_dump_origins(const struct hsdo_config *c, FILE *f)
{
	return dump(c, f, true);
}
