/* Configuration: conf/env.yaml plus environment overrides, described by one
 * table of settings (see libhsdo/config.c and docs/configuration.md).
 * Parsing is pure: it takes bytes and an environment array, returns a
 * struct and a list of diagnostics, and never logs or exits. */
#ifndef HSDO_CONFIG_H
#define HSDO_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hsdo/diag.h"

#define HSDO_CONFIG_FILE_MAX     (1024 * 1024) /* bytes */
#define HSDO_CONFIG_BACKEND_LEN  128
#define HSDO_CONFIG_KEYS_MAX     64            /* room for the settings table */

enum hsdo_role {
	HSDO_ROLE_ANY = 0,   /* types, bounds and role-independent rules only */
	HSDO_ROLE_SERVER,
	HSDO_ROLE_CLIENT,
	HSDO_ROLE_COUNT
};

enum hsdo_config_server_mode {
	HSDO_CONFIG_SERVER_MODE_AWS = 0,
	HSDO_CONFIG_SERVER_MODE_CONSUL,
	HSDO_CONFIG_SERVER_MODE_STATIC,
	HSDO_CONFIG_SERVER_MODE_COUNT
};

enum hsdo_config_store {
	HSDO_CONFIG_STORE_DYNAMODB = 0,
	HSDO_CONFIG_STORE_FILE,
	HSDO_CONFIG_STORE_COUNT
};

/* Where an effective value came from. */
enum hsdo_config_origin {
	HSDO_CONFIG_FROM_DEFAULT = 0,
	HSDO_CONFIG_FROM_FILE,
	HSDO_CONFIG_FROM_ENV,
	HSDO_CONFIG_FROM_COUNT
};

enum hsdo_config_log_target {
	HSDO_CONFIG_LOG_STDERR = 0,
	HSDO_CONFIG_LOG_SYSLOG,
	HSDO_CONFIG_LOG_TARGET_COUNT
};

/* A list of non-empty strings (ASG names, Consul services). */
struct hsdo_config_list {
	char **v;
	size_t n;
};

/* One HAProxy backend fed from the slot table: servers <base_name>1..N on
 * port `port`. */
struct hsdo_config_backend {
	char name[HSDO_CONFIG_BACKEND_LEN];
	char base_name[HSDO_CONFIG_BACKEND_LEN];
	uint16_t port;
};

struct hsdo_config_backends {
	struct hsdo_config_backend *v;
	size_t n;
};

/* Field names are the lower-cased setting names. Durations are in
 * milliseconds. Strings are never NULL ("" when unset). */
struct hsdo_config {
	/* server role */
	enum hsdo_config_server_mode server_mode;
	struct hsdo_config_list server_asg_names;
	char *server_lifecycle_hook_name;     /* "" = no hook to complete */
	char *server_consul_api_url;
	struct hsdo_config_list server_consul_service_name;
	char *server_static_file;
	int server_haproxy_backend_server_min_weight;
	int server_haproxy_backend_server_max_weight;
	int server_haproxy_backend_server_increase_weight;
	int64_t server_haproxy_backend_server_increase_weight_interval_ms;
	int64_t server_drain_time_ms;
	char *server_id;                      /* "" = host:pid */
	int64_t server_lease_ttl_ms;          /* 0 = no lease */
	int server_valve_remove_percent;
	int64_t server_valve_ms;              /* 0 = valve off */
	int server_valve_cycles;              /* deprecated: as set, 0 when not */

	/* client role */
	char *client_haproxy_socket_path;
	int64_t client_haproxy_timeout_ms;
	int64_t client_full_read_interval_ms; /* 0 = never */
	char *client_haproxy_backend_name;
	char *client_haproxy_backend_base_name;
	int client_haproxy_backend_server_port;
	/* Effective list: CLIENT_HAPROXY_BACKEND_LIST, or the single
	 * CLIENT_HAPROXY_BACKEND_NAME/BASE_NAME backend when the list is empty. */
	struct hsdo_config_backends client_haproxy_backend_list;
	bool client_dedicated_asg;
	struct hsdo_config_list client_asg_names;
	char *client_haproxy_fallback_backend_name;
	char *client_haproxy_fallback_backend_base_name;
	/* The two names above with CLIENT_HAPROXY_BACKEND_SERVER_PORT; name[0]
	 * is '\0' when no fallback backend is configured. */
	struct hsdo_config_backend client_haproxy_fallback_backend;
	bool client_all_servers_in_fallback_backend;

	/* both roles */
	int64_t interval_ms;
	int haproxy_backend_servers_list_size;
	bool debug;
	enum hsdo_config_store store;         /* resolved, never "auto" */
	char *store_file_path;
	char *dynamodb_table_name;
	char *aws_default_region;
	char *aws_ca_bundle;                  /* "" = system CA store */
	char *exporter_addr;
	int exporter_port;
	int64_t healthz_stall_timeout_ms;
	char *spoa_listen;                    /* validated "host:port" */
	enum hsdo_config_log_target log_target;

	/* fleet health (docs/health.md) */
	bool health_eject;
	int64_t health_window_ms;
	int health_min_requests;
	double health_error_ratio;            /* (0, 1] */
	char *client_id;                      /* "" = the host name */
	int64_t health_report_interval_ms;
	char *health_table_name;              /* <DYNAMODB_TABLE_NAME>-health when unset */
	double health_quorum;                 /* [0, 1] */
	int64_t health_eject_time_ms;
	int health_max_ejected_percent;
	bool health_asg_set_unhealthy;
	int64_t health_asg_after_ms;

	/* provenance, for --check-config --debug */
	char *source_file;                    /* the file read; "" = none (defaults + environment) */
	bool store_auto;                      /* STORE was unset: chosen from DYNAMODB_TABLE_NAME */
	unsigned char origin[HSDO_CONFIG_KEYS_MAX];   /* enum hsdo_config_origin, table order */
	uint32_t origin_line[HSDO_CONFIG_KEYS_MAX];   /* 1-based line of a file value */
};

/* Names of enum values as the configuration spells them (static strings;
 * "unknown" when out of range). */
const char *hsdo_config_role_str(enum hsdo_role role);
const char *hsdo_config_server_mode_str(enum hsdo_config_server_mode mode);
const char *hsdo_config_store_str(enum hsdo_config_store store);
const char *hsdo_config_log_target_str(enum hsdo_config_log_target target);
const char *hsdo_config_origin_str(enum hsdo_config_origin origin);

/* Parse YAML buf[0..len) (buf NULL: no file; filename names it in messages),
 * apply envp ("KEY=VALUE", NULL-terminated, may be NULL), validate for role.
 * 0: *out is a new config (hsdo_config_free), diag may hold warnings; else
 * -HSDO_ECONFIG/-HSDO_ENOMEM/-HSDO_EINVAL, *out untouched, diag has errors. */
int hsdo_config_parse(const char *buf, size_t len, const char *filename,
		      char *const *envp, enum hsdo_role role,
		      struct hsdo_config **out, struct hsdo_diag *diag);

/* hsdo_config_parse on the contents of path (at most HSDO_CONFIG_FILE_MAX
 * bytes); path NULL means defaults plus environment only. A missing or
 * unreadable file is an error naming the path. diag may be NULL. */
int hsdo_config_load(const char *path, char *const *envp, enum hsdo_role role,
		     struct hsdo_config **out, struct hsdo_diag *diag);

/* Free a config from hsdo_config_parse/load; NULL is a no-op. */
void hsdo_config_free(struct hsdo_config *c);

/* Write one "KEY = value" line per setting of the effective config, in
 * table order (lists comma-joined, durations in seconds, the backend list
 * in its one-line form). Returns 0 or -HSDO_EIO. */
int hsdo_config_dump(const struct hsdo_config *c, FILE *f);

/* The same lines with where each value came from and secrets masked
 * (the password of a URL's user:password@): "KEY = value  # FILE:LINE",
 * "# environment" or "# default". Returns 0 or -HSDO_EIO. */
int hsdo_config_dump_origins(const struct hsdo_config *c, FILE *f);

/* Origin of setting `key` in c (and its file line, 0 otherwise);
 * -HSDO_ENOTFOUND when no setting has that name. */
int hsdo_config_origin_of(const struct hsdo_config *c, const char *key,
			  enum hsdo_config_origin *origin, size_t *line);

/* Whether an environment variable name means something to HSDO: a setting,
 * or a variable the AWS or Consul clients read (AWS_REGION, AWS_PROFILE,
 * CONSUL_HTTP_TOKEN...). Names that are neither but resemble one draw an
 * "unknown variable" warning. */
bool hsdo_config_env_known(const char *name, size_t len);

/* Split "host:port" or "[v6addr]:port" into host (brackets removed) and a
 * port in 1..65535. Returns 0, or -HSDO_EINVAL / -HSDO_ETOOBIG (host does
 * not fit hostlen). */
int hsdo_config_split_hostport(const char *s, char *host, size_t hostlen, uint16_t *port);

#endif
