/* hsdo-agent: command line, configuration, signals and the event loop.
 * All decisions live in libhsdo; this file only wires them to libev. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "hsdo/aws.h"
#include "hsdo/aws_ops.h"
#include "hsdo/config.h"
#include "hsdo/diag.h"
#include "hsdo/err.h"
#include "hsdo/http.h"
#include "hsdo/log.h"
#include "hsdo/reports_ddb.h"
#include "hsdo/store_ddb.h"

#include "agent.h"
#include "agent_log.h"

extern char **environ;

#define EXIT_USAGE 2

/* The installed configuration file: HSDO_CONFDIR/env.yaml when HSDO_CONFDIR
 * is absolute (a system prefix: /etc/hsdo), else relative to the directory
 * of the running binary (<prefix>/bin/../etc/hsdo), so an installed tree
 * finds its file wherever it was installed or moved. */
static const char *installed_config(void)
{
	static char path[PATH_MAX + 64];
	char exe[PATH_MAX];
	const char *up = HSDO_CONFDIR;
	ssize_t n;
	char *slash;

	if (path[0] != '\0')
		return path;
	if (up[0] == '/') {
		snprintf(path, sizeof(path), "%s/env.yaml", up);
		return path;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0 || (size_t)n >= sizeof(exe) - 1)
		return "(unknown: /proc/self/exe unreadable)";
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';     /* the binary's directory */
	/* Take one directory off per leading "../", so messages show a plain path. */
	while (strncmp(up, "../", 3) == 0 && (slash = strrchr(exe, '/')) != NULL && slash != exe) {
		*slash = '\0';
		up += 3;
	}
	snprintf(path, sizeof(path), "%s/%s/env.yaml", exe, up);
	return path;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: hsdo-agent --server|--client [--debug] [--config FILE]\n"
	      "                  [--check-config] [--once] [--dry-run]\n"
	      "       hsdo-agent --check-config [--config FILE]\n"
	      "       hsdo-agent --create-table [--config FILE]\n"
	      "       hsdo-agent --version | --help\n"
	      "\n"
	      "  -s, --server        discover instances and write the slot table\n"
	      "  -c, --client        make the local HAProxy follow the slot table\n"
	      "  -d, --debug         log at debug level (same as DEBUG=true)\n"
	      "  -f, --config FILE   configuration file (default: ./conf/env.yaml, then\n"
	      "                      %s;\n"
	      "                      environment variables override every key)\n"
	      "  -n, --check-config  validate the configuration, say which file was read,\n"
	      "                      print every error or 'configuration OK', and exit;\n"
	      "                      with --debug, also every value and where it came\n"
	      "                      from, and the AWS region and credentials in use\n"
	      "      --once          run one cycle and exit (0 when it succeeded)\n"
	      "      --dry-run       one cycle that changes nothing, printed on stdout,\n"
	      "                      then exit (implies --once): --client prints the\n"
	      "                      Runtime API commands it would send, --server the\n"
	      "                      slot table it would write and each change\n"
	      "      --create-table  create the DynamoDB table DYNAMODB_TABLE_NAME (and,\n"
	      "                      with HEALTH_EJECT, HEALTH_TABLE_NAME) if missing, wait\n"
	      "                      until ACTIVE, and exit (for development: production\n"
	      "                      tables come from IaC)\n"
	      "  -V, --version       print the version and exit\n"
	      "  -h, --help          print this help and exit\n"
	      "\n"
	      "Signals: SIGHUP reloads the configuration (kept if the new one is\n"
	      "invalid); SIGTERM and SIGINT stop cleanly.\n"
	      "Unless --once, /metrics and /healthz are served on\n"
	      "EXPORTER_ADDR:EXPORTER_PORT (default 127.0.0.1:6789).\n", installed_config());
}

/* Where the agent looks without --config, in order: ./conf/env.yaml (the
 * original's place, relative to the working directory), then the installed
 * file; NULL past the last. hsdo-agent(8) and docs/configuration.md say
 * the same. */
static const char *config_candidate(size_t i)
{
	return i == 0 ? "conf/env.yaml" : i == 1 ? installed_config() : NULL;
}

/* The file to read: --config, else the first candidate that exists; NULL
 * when none does (defaults + environment). */
static const char *resolve_config_path(const char *opt)
{
	size_t i;

	if (opt != NULL)
		return opt;
	for (i = 0; config_candidate(i) != NULL; i++)
		if (access(config_candidate(i), R_OK) == 0)
			return config_candidate(i);
	return NULL;
}

/* Which file the configuration came from, or that none was found: a
 * configuration of defaults alone must never pass unnoticed. */
static void describe_config_source(const char *path, char *buf, size_t len)
{
	size_t i, used;

	if (path != NULL) {
		snprintf(buf, len, "configuration file %s", path);
		return;
	}
	used = (size_t)snprintf(buf, len, "no configuration file (looked for");
	for (i = 0; config_candidate(i) != NULL && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s %s", i ? "," : "",
					 config_candidate(i));
	if (used < len)
		snprintf(buf + used, len - used, "): defaults and environment only");
}

static void print_diag(const struct hsdo_diag *d, FILE *f)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		fprintf(f, "%s: %s\n",
			d->v[i].level == HSDO_DIAG_ERROR ? "error" : "warning", d->v[i].msg);
}

static void log_diag(const struct hsdo_diag *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		hsdo_log(d->v[i].level == HSDO_DIAG_ERROR ? HSDO_LOG_ERR : HSDO_LOG_WARN,
			 "%s", d->v[i].msg);
}

/* --create-table: blocking transport, one table, then exit. */
static int create_table(const struct hsdo_config *cfg)
{
	struct hsdo_http_options ho;
	struct hsdo_aws_options ao;
	struct hsdo_http *http = NULL;
	struct hsdo_aws *aws = NULL;
	char err[512] = "";
	int rc;

	if (cfg->dynamodb_table_name[0] == '\0') {
		fputs("hsdo-agent: --create-table: DYNAMODB_TABLE_NAME is not set\n", stderr);
		return -HSDO_ECONFIG;
	}
	agent_aws_options(cfg, HSDO_AWS_PRINCIPAL_TABLE_ADMIN, &ho, &ao);
	rc = hsdo_http_new(&ho, NULL, &http, err, sizeof(err));
	if (rc == 0)
		rc = hsdo_aws_new(&ao, http, &aws, err, sizeof(err));
	if (rc == 0)
		rc = hsdo_store_ddb_create_table(aws, cfg->dynamodb_table_name, err, sizeof(err));
	if (rc == 0)
		printf("table %s in %s is ACTIVE\n", cfg->dynamodb_table_name, hsdo_aws_region(aws));
	else
		fprintf(stderr, "hsdo-agent: --create-table %s: %s%s%s\n", cfg->dynamodb_table_name,
			hsdo_strerror(rc), err[0] ? ": " : "", err);
	/* The fleet health reports' table (docs/health.md), TTL on Expires. */
	if (rc == 0 && cfg->health_eject) {
		bool ttl = false;

		rc = hsdo_reports_ddb_create_table(aws, cfg->health_table_name, &ttl, err,
						   sizeof(err));
		if (rc == 0)
			printf("table %s in %s is ACTIVE (%s)\n", cfg->health_table_name,
			       hsdo_aws_region(aws), ttl ? "TTL on Expires" : "no TTL: see the log");
		else
			fprintf(stderr, "hsdo-agent: --create-table %s: %s%s%s\n",
				cfg->health_table_name, hsdo_strerror(rc), err[0] ? ": " : "", err);
	}
	hsdo_aws_free(aws);
	hsdo_http_free(http);
	return rc;
}

static void on_stop_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct agent *a = w->data;

	(void)revents;
	hsdo_log_info("received %s, stopping", strsignal(w->signum));
	agent_notify_stopping(&a->notify);
	ev_break(loop, EVBREAK_ALL);
}

/* SIGHUP: parse into a new config and swap only if it validates. */
static void on_reload_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct agent *a = w->data;
	struct hsdo_config *next = NULL;
	struct hsdo_diag diag = { 0 };
	int rc;

	(void)loop;
	(void)revents;
	hsdo_log_info("received SIGHUP, reloading %s",
		      a->config_path ? a->config_path : "(no file: defaults and environment)");
	agent_notify_reloading(&a->notify);
	rc = hsdo_config_load(a->config_path, environ, a->role, &next, &diag);
	log_diag(&diag);
	hsdo_diag_free(&diag);
	if (rc != 0) {
		hsdo_log_err("reload failed (%s); keeping the running configuration",
			     hsdo_strerror(rc));
		agent_notify_ready(&a->notify, "reload failed; running configuration kept");
		return;
	}
	rc = agent_apply_config(a, next);
	if (rc < 0) {
		hsdo_log_err("reload failed; keeping the running configuration");
		hsdo_config_free(next);
		agent_notify_ready(&a->notify, "reload failed; running configuration kept");
		return;
	}
	if (rc == 0) {   /* 1: deferred, agent_cycle_done() says READY */
		hsdo_log_info("configuration reloaded");
		agent_notify_ready(&a->notify, "configuration reloaded");
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "server", no_argument, NULL, 's' },
		{ "client", no_argument, NULL, 'c' },
		{ "debug", no_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'f' },
		{ "check-config", no_argument, NULL, 'n' },
		{ "once", no_argument, NULL, 'o' },
		{ "dry-run", no_argument, NULL, 'r' },
		{ "create-table", no_argument, NULL, 'T' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct agent a;
	struct hsdo_config *cfg = NULL;
	struct hsdo_diag diag = { 0 };
	const char *config_opt = NULL;
	char source[512];
	bool server = false, client = false, check = false, mktable = false;
	int opt, rc;

	memset(&a, 0, sizeof(a));
	while ((opt = getopt_long(argc, argv, "scdf:nVh", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': server = true; break;
		case 'c': client = true; break;
		case 'd': a.debug_flag = true; break;
		case 'f': config_opt = optarg; break;
		case 'n': check = true; break;
		case 'o': a.once = true; break;
		case 'r': a.dry_run = a.once = true; break;
		case 'T': mktable = true; break;
		case 'V':
			printf("hsdo-agent %s\n", HSDO_VERSION);
			return EXIT_SUCCESS;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hsdo-agent: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (server && client) {
		fputs("hsdo-agent: --server and --client are exclusive: run one process per role\n",
		      stderr);
		return EXIT_USAGE;
	}
	if (!server && !client && !check && !mktable) {
		fputs("hsdo-agent: choose --server or --client (or --check-config)\n", stderr);
		usage(stderr);
		return EXIT_USAGE;
	}
	a.role = server ? HSDO_ROLE_SERVER : client ? HSDO_ROLE_CLIENT : HSDO_ROLE_ANY;
	a.config_path = resolve_config_path(config_opt);

	rc = hsdo_config_load(a.config_path, environ, a.role, &cfg, &diag);
	print_diag(&diag, stderr);
	hsdo_diag_free(&diag);
	if (rc != 0) {
		fprintf(stderr, "hsdo-agent: %s: %s\n",
			a.config_path ? a.config_path : "configuration", hsdo_strerror(rc));
		return EXIT_FAILURE;
	}
	if (mktable && !check) {
		rc = create_table(cfg);
		hsdo_config_free(cfg);
		return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
	}
	describe_config_source(a.config_path, source, sizeof(source));
	if (check) {
		printf("%s\n", source);
		if (a.debug_flag) {
			hsdo_config_dump_origins(cfg, stdout);
			agent_print_aws(cfg, a.role, stdout);
		}
		hsdo_config_free(cfg);
		puts("configuration OK");
		return EXIT_SUCCESS;
	}

	/* Not the default loop: it would reap every child (waitpid(-1)) and
	 * lose a credential_process's exit status. */
	a.loop = ev_loop_new(EVFLAG_AUTO);
	if (a.loop == NULL) {
		fputs("hsdo-agent: cannot initialise libev\n", stderr);
		hsdo_config_free(cfg);
		return EXIT_FAILURE;
	}
	if (agent_apply_config(&a, cfg) != 0) {
		hsdo_config_free(cfg);
		agent_log_close();
		return EXIT_FAILURE;
	}
	hsdo_log_info("hsdo-agent %s starting in %s mode%s%s", HSDO_VERSION,
		      server ? "server" : "client", a.dry_run ? " (dry run)" : "",
		      a.once ? " (once)" : "");
	if (a.config_path != NULL)
		hsdo_log_info("%s", source);
	else
		hsdo_log_warn("%s", source);

	signal(SIGPIPE, SIG_IGN);
	ev_signal_init(&a.sig_term, on_stop_signal, SIGTERM);
	ev_signal_init(&a.sig_int, on_stop_signal, SIGINT);
	ev_signal_init(&a.sig_hup, on_reload_signal, SIGHUP);
	a.sig_term.data = &a;
	a.sig_int.data = &a;
	a.sig_hup.data = &a;
	/* systemd: the watchdog runs from now on, READY=1 once serving. */
	agent_notify_start(&a.notify, a.loop, !a.once);
	ev_signal_start(a.loop, &a.sig_term);
	ev_signal_start(a.loop, &a.sig_int);
	ev_signal_start(a.loop, &a.sig_hup);

	rc = agent_start(&a);
	if (rc == 0 && (!a.once || a.cycle_running))
		ev_run(a.loop, 0);

	agent_stop(&a);
	agent_notify_stop(&a.notify);
	ev_signal_stop(a.loop, &a.sig_term);
	ev_signal_stop(a.loop, &a.sig_int);
	ev_signal_stop(a.loop, &a.sig_hup);
	ev_loop_destroy(a.loop);
	hsdo_log_info("stopped");
	agent_log_close();
	return rc == 0 && a.exit_code == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
