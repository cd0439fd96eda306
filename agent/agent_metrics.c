/* The agent's metrics: see agent_metrics.h and docs/metrics.md. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "hsdo/aws.h"
#include "hsdo/clock.h"
#include "hsdo/config.h"
#include "hsdo/eject.h"
#include "hsdo/err.h"
#include "hsdo/log.h"
#include "hsdo/metrics.h"
#include "hsdo/server.h"
#include "hsdo/source.h"
#include "hsdo/store.h"

#include "agent.h"
#include "agent_metrics.h"
#include "spoa.h"

enum {
	M_SERVER_WEIGHT = 0,
	M_SLOTS,
	M_TABLE_GENERATION,
	M_CYCLES,
	M_CYCLE_DURATION,
	M_STORE_READS,
	M_RTAPI_COMMANDS,
	M_RTAPI_CONNECTIONS,
	M_CLIENT_UNVERSIONED,
	M_CLIENT_UNANNOUNCED,
	M_BUILD_INFO,
	M_CPU,
	M_RSS,
	M_VSZ,
	M_START_TIME,
	M_OPEN_FDS,
	M_MAX_FDS,
	/* server mode and AWS */
	M_SERVER_CYCLES,
	M_SERVER_SLOT_WRITES,
	M_SERVER_VALVE_HELD,
	M_SERVER_VALVE_HELD_SECONDS,
	M_SERVER_OVERFLOW,
	M_SERVER_LEADER,
	M_SERVER_LEASE_EPOCH,
	M_SOURCE_INSTANCES,
	M_SOURCE_LISTS,
	M_LIFECYCLE,
	M_AWS_REQUESTS,
	M_AWS_RETRIES,
	/* SPOE agent (client mode; docs/spoa.md) */
	M_SPOE_LISTENING,
	M_SPOE_CONNECTIONS,
	M_SPOE_ACCEPTED,
	M_SPOE_REJECTED,
	M_SPOE_MESSAGES,
	M_SPOE_FRAME_ERRORS,
	M_SPOE_RESPONSES,
	M_SPOE_WINDOW,
	M_SPOE_WINDOW_SECONDS,
	M_SPOE_DROPPED,
	/* fleet health (docs/health.md) */
	M_HEALTH_WRITES,
	M_HEALTH_VERDICTS,
	M_HEALTH_READS,
	M_HEALTH_REPORTS,
	M_HEALTH_EJECTIONS,
	M_HEALTH_READMISSIONS,
	M_HEALTH_CAPPED,
	M_HEALTH_EJECTED,
	M_HEALTH_OUTLIERS,
	M_HEALTH_OUTLIER,
	M_HEALTH_ASG,
	M_SPOE_BUFFERS,
	M_COUNT
};

/* A cycle is a few store reads and Runtime API round trips on local
 * sockets: milliseconds, up to CLIENT_HAPROXY_TIMEOUT when HAProxy hangs. */
static const double cycle_buckets[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

static const struct hsdo_metrics_family_desc families[M_COUNT] = {
	[M_SERVER_WEIGHT] = { "hsdo_server_weight",
		"Weight of each used slot (active or draining) in the slot table the agent holds.",
		HSDO_METRICS_GAUGE, { "id", "name", "ip", "asg" }, NULL, 0 },
	[M_SLOTS] = { "hsdo_slots", "Slots of the slot table the agent holds, by state.",
		HSDO_METRICS_GAUGE, { "state" }, NULL, 0 },
	[M_TABLE_GENERATION] = { "hsdo_table_generation",
		"Generation of the slot table the agent holds.", HSDO_METRICS_GAUGE, { NULL }, NULL, 0 },
	[M_CYCLES] = { "hsdo_cycles", "Cycles run, by mode and result.",
		HSDO_METRICS_COUNTER, { "mode", "result" }, NULL, 0 },
	[M_CYCLE_DURATION] = { "hsdo_cycle_duration_seconds", "Duration of the cycles.",
		HSDO_METRICS_HISTOGRAM, { "mode" }, cycle_buckets,
		sizeof(cycle_buckets) / sizeof(cycle_buckets[0]) },
	[M_STORE_READS] = { "hsdo_store_reads",
		"Slot store reads (generation polls and table reads), by store and result.",
		HSDO_METRICS_COUNTER, { "store", "result" }, NULL, 0 },
	[M_RTAPI_COMMANDS] = { "hsdo_runtime_api_commands",
		"HAProxy Runtime API set server commands sent, by result.",
		HSDO_METRICS_COUNTER, { "result" }, NULL, 0 },
	[M_RTAPI_CONNECTIONS] = { "hsdo_runtime_api_connections",
		"HAProxy Runtime API connections opened.", HSDO_METRICS_COUNTER, { NULL }, NULL, 0 },
	[M_CLIENT_UNVERSIONED] = { "hsdo_client_table_unversioned",
		"1 while the slot table has no generation (written by an original HSDO server): "
		"it is read whole every cycle.", HSDO_METRICS_GAUGE, { NULL }, NULL, 0 },
	[M_CLIENT_UNANNOUNCED] = { "hsdo_client_unannounced_changes",
		"Changes a periodic full read found under an unchanged generation "
		"(a writer did not bump it).", HSDO_METRICS_COUNTER, { NULL }, NULL, 0 },
	[M_BUILD_INFO] = { "hsdo_build_info", "Always 1; the version of hsdo-agent as a label.",
		HSDO_METRICS_GAUGE, { "version" }, NULL, 0 },
	[M_CPU] = { "process_cpu_seconds", "Total user and system CPU time spent in seconds.",
		HSDO_METRICS_COUNTER, { NULL }, NULL, 0 },
	[M_RSS] = { "process_resident_memory_bytes", "Resident memory size in bytes.",
		HSDO_METRICS_GAUGE, { NULL }, NULL, 0 },
	[M_VSZ] = { "process_virtual_memory_bytes", "Virtual memory size in bytes.",
		HSDO_METRICS_GAUGE, { NULL }, NULL, 0 },
	[M_START_TIME] = { "process_start_time_seconds",
		"Start time of the process since unix epoch in seconds.",
		HSDO_METRICS_GAUGE, { NULL }, NULL, 0 },
	[M_OPEN_FDS] = { "process_open_fds", "Number of open file descriptors.",
		HSDO_METRICS_GAUGE, { NULL }, NULL, 0 },
	[M_MAX_FDS] = { "process_max_fds", "Maximum number of open file descriptors.",
		HSDO_METRICS_GAUGE, { NULL }, NULL, 0 },
	[M_SERVER_CYCLES] = { "hsdo_server_cycles",
		"Server cycles by outcome (wrote, unchanged, standby, held, conflict, error).",
		HSDO_METRICS_COUNTER, { "outcome" }, NULL, 0 },
	[M_SERVER_SLOT_WRITES] = { "hsdo_server_slot_writes",
		"Slot items written by this server.", HSDO_METRICS_COUNTER, { NULL }, NULL, 0 },
	[M_SERVER_VALVE_HELD] = { "hsdo_server_valve_held_cycles",
		"Consecutive cycles the safety valve has held a change (0: none held).",
		HSDO_METRICS_GAUGE, { NULL }, NULL, 0 },
	[M_SERVER_VALVE_HELD_SECONDS] = { "hsdo_server_valve_held_seconds",
		"How long the safety valve has held the current change (0: none held); it "
		"applies at SERVER_VALVE_SECONDS.", HSDO_METRICS_GAUGE, { NULL }, NULL, 0 },
	[M_SERVER_OVERFLOW] = { "hsdo_server_overflow_instances",
		"In-service instances left without a slot in the last cycle.",
		HSDO_METRICS_GAUGE, { NULL }, NULL, 0 },
	[M_SERVER_LEADER] = { "hsdo_server_lease_holder",
		"1 when this server holds the writer lease, 0 when it is a standby.",
		HSDO_METRICS_GAUGE, { NULL }, NULL, 0 },
	[M_SERVER_LEASE_EPOCH] = { "hsdo_server_lease_epoch",
		"Epoch (fencing token) of the writer lease as last seen.",
		HSDO_METRICS_GAUGE, { NULL }, NULL, 0 },
	[M_SOURCE_INSTANCES] = { "hsdo_source_instances",
		"Instances the discovery source reported in its last good list, by group and state.",
		HSDO_METRICS_GAUGE, { "source", "group", "state" }, NULL, 0 },
	[M_SOURCE_LISTS] = { "hsdo_source_lists", "Discovery source lists by result.",
		HSDO_METRICS_COUNTER, { "source", "result" }, NULL, 0 },
	[M_LIFECYCLE] = { "hsdo_lifecycle_completions",
		"CompleteLifecycleAction calls by result.", HSDO_METRICS_COUNTER, { "result" }, NULL, 0 },
	[M_AWS_REQUESTS] = { "hsdo_aws_requests", "AWS API calls by service, operation and result.",
		HSDO_METRICS_COUNTER, { "service", "operation", "result" }, NULL, 0 },
	[M_AWS_RETRIES] = { "hsdo_aws_retries",
		"AWS API retries by service and operation (throttling, 5xx, network).",
		HSDO_METRICS_COUNTER, { "service", "operation" }, NULL, 0 },
	[M_SPOE_LISTENING] = { "hsdo_spoe_listening",
		"1 when the SPOE agent listens on SPOA_LISTEN, 0 while it retries.",
		HSDO_METRICS_GAUGE, { NULL }, NULL, 0 },
	[M_SPOE_CONNECTIONS] = { "hsdo_spoe_connections",
		"HAProxy connections to the SPOE agent open now.", HSDO_METRICS_GAUGE, { NULL }, NULL, 0 },
	[M_SPOE_ACCEPTED] = { "hsdo_spoe_connections_accepted",
		"HAProxy connections to the SPOE agent accepted (health checks included).",
		HSDO_METRICS_COUNTER, { NULL }, NULL, 0 },
	[M_SPOE_REJECTED] = { "hsdo_spoe_connections_rejected",
		"HAProxy connections refused because the SPOE agent had its maximum open.",
		HSDO_METRICS_COUNTER, { NULL }, NULL, 0 },
	[M_SPOE_MESSAGES] = { "hsdo_spoe_messages",
		"SPOE messages received in NOTIFY frames (every NOTIFY is answered by an ACK).",
		HSDO_METRICS_COUNTER, { NULL }, NULL, 0 },
	[M_SPOE_FRAME_ERRORS] = { "hsdo_spoe_frame_errors",
		"SPOE connections the agent closed with an AGENT-DISCONNECT error, by reason.",
		HSDO_METRICS_COUNTER, { "reason" }, NULL, 0 },
	[M_SPOE_RESPONSES] = { "hsdo_spoe_responses",
		"HTTP responses reported by HAProxy's SPOE, by backend, slot and status class.",
		HSDO_METRICS_COUNTER, { "backend", "slot", "class" }, NULL, 0 },
	[M_SPOE_WINDOW] = { "hsdo_spoe_window_responses",
		"HTTP responses reported by HAProxy's SPOE in the sliding window "
		"(hsdo_spoe_window_seconds), by backend, slot and status class.",
		HSDO_METRICS_GAUGE, { "backend", "slot", "class" }, NULL, 0 },
	[M_SPOE_WINDOW_SECONDS] = { "hsdo_spoe_window_seconds",
		"Length of the sliding window of hsdo_spoe_window_responses.",
		HSDO_METRICS_GAUGE, { NULL }, NULL, 0 },
	[M_SPOE_DROPPED] = { "hsdo_spoe_responses_dropped",
		"Responses not aggregated: a new backend/slot beyond the key bound, or an "
		"unusable backend name.", HSDO_METRICS_COUNTER, { NULL }, NULL, 0 },
	[M_HEALTH_WRITES] = { "hsdo_health_reports_written",
		"Fleet health reports this client wrote, by result.",
		HSDO_METRICS_COUNTER, { "result" }, NULL, 0 },
	[M_HEALTH_VERDICTS] = { "hsdo_health_verdicts",
		"Slots by this client's verdict in its last cycle (ok, failing, idle).",
		HSDO_METRICS_GAUGE, { "verdict" }, NULL, 0 },
	[M_HEALTH_READS] = { "hsdo_health_reports_read",
		"Reads of every fleet health report by the server, by result.",
		HSDO_METRICS_COUNTER, { "result" }, NULL, 0 },
	[M_HEALTH_REPORTS] = { "hsdo_health_reports",
		"Reports in the server's last read: fresh, expired (or superseded), bad.",
		HSDO_METRICS_GAUGE, { "state" }, NULL, 0 },
	[M_HEALTH_EJECTIONS] = { "hsdo_health_ejections",
		"Slots ejected, by reason (errors, check).",
		HSDO_METRICS_COUNTER, { "reason" }, NULL, 0 },
	[M_HEALTH_READMISSIONS] = { "hsdo_health_readmissions",
		"Ejected slots back in service.", HSDO_METRICS_COUNTER, { NULL }, NULL, 0 },
	[M_HEALTH_CAPPED] = { "hsdo_health_capped",
		"Slots a quorum calls failing that the cap keeps in service, last cycle.",
		HSDO_METRICS_GAUGE, { NULL }, NULL, 0 },
	[M_HEALTH_EJECTED] = { "hsdo_health_ejected", "Slots ejected now.",
		HSDO_METRICS_GAUGE, { NULL }, NULL, 0 },
	[M_HEALTH_OUTLIERS] = { "hsdo_health_outlier_clients",
		"Clients whose votes the last cycle ignored as outliers.",
		HSDO_METRICS_GAUGE, { NULL }, NULL, 0 },
	[M_HEALTH_OUTLIER] = { "hsdo_health_outlier",
		"1 for each client the last cycle took for an outlier.",
		HSDO_METRICS_GAUGE, { "client" }, NULL, 0 },
	[M_HEALTH_ASG] = { "hsdo_health_asg_calls",
		"SetInstanceHealth Unhealthy calls, by result (ok, not_found, error).",
		HSDO_METRICS_COUNTER, { "result" }, NULL, 0 },
	[M_SPOE_BUFFERS] = { "hsdo_spoe_buffer_bytes",
		"Bytes the SPOE agent's connections hold in buffers now (cut frames, output "
		"HAProxy has not read yet).", HSDO_METRICS_GAUGE, { NULL }, NULL, 0 },
};

static const char *mode_str(const struct agent *a)
{
	return a->role == HSDO_ROLE_CLIENT ? "client" : "server";
}

/* Log a failed update once per distinct cause; the next ones are debug. */
static void update_failed(struct agent *a, int rc, const char *what)
{
	if (a->metrics_error != rc) {
		hsdo_log_warn("metrics: %s: %s (not exported)", what, hsdo_strerror(rc));
		a->metrics_error = rc;
	} else {
		hsdo_log_debug("metrics: %s: %s (not exported)", what, hsdo_strerror(rc));
	}
}

static void m_add(struct agent *a, size_t fam, const char *const *v, double delta)
{
	int rc;

	if (a->metrics == NULL)
		return;
	rc = hsdo_metrics_add(a->metrics, fam, v, delta);
	if (rc != 0)
		update_failed(a, rc, families[fam].name);
}

static void m_set(struct agent *a, size_t fam, const char *const *v, double value)
{
	int rc;

	if (a->metrics == NULL)
		return;
	rc = hsdo_metrics_set(a->metrics, fam, v, value);
	if (rc != 0)
		update_failed(a, rc, families[fam].name);
}

/* Read a small /proc file whole; its length, or -1. */
static ssize_t read_proc(const char *path, char *buf, size_t len)
{
	ssize_t n, total = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((size_t)total < len - 1) {
		n = read(fd, buf + total, len - 1 - (size_t)total);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += n;
	}
	close(fd);
	buf[total] = '\0';
	return total;
}

/* Fields 3.. of /proc/self/stat, after the command name (which may hold
 * spaces and parentheses): field k is out[k - 3]. Returns how many. */
static size_t stat_fields(char *buf, unsigned long long *out, size_t max)
{
	char *p = strrchr(buf, ')'), *end;
	size_t n = 0;

	if (p == NULL)
		return 0;
	p++;
	while (n < max) {
		while (*p == ' ')
			p++;
		if (*p == '\0' || *p == '\n')
			break;
		if (n == 0) {          /* the state letter */
			out[n++] = 0;
			p++;
			continue;
		}
		errno = 0;
		out[n] = strtoull(p, &end, 10);
		if (end == p || errno != 0)
			break;
		n++;
		p = end;
	}
	return n;
}

/* Process start time from /proc: boot time + starttime ticks. */
static double start_time(void)
{
	char buf[4096], *p, *end;
	unsigned long long f[24], btime;
	long tck = sysconf(_SC_CLK_TCK);

	if (tck <= 0 || read_proc("/proc/self/stat", buf, sizeof(buf)) < 0 ||
	    stat_fields(buf, f, 24) < 20)
		return -1;
	if (read_proc("/proc/stat", buf, sizeof(buf)) < 0 || (p = strstr(buf, "\nbtime ")) == NULL)
		return -1;
	errno = 0;
	btime = strtoull(p + 7, &end, 10);
	if (end == p + 7 || errno != 0)
		return -1;
	return (double)btime + (double)f[22 - 3] / (double)tck;
}

static void refresh_process(struct agent *a)
{
	char buf[4096];
	unsigned long long f[24], size, resident;
	long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	struct rlimit rl;
	struct dirent *de;
	DIR *dir;
	double fds = 0;

	if (tck > 0 && read_proc("/proc/self/stat", buf, sizeof(buf)) > 0 &&
	    stat_fields(buf, f, 24) >= 13)
		m_set(a, M_CPU, NULL, (double)(f[14 - 3] + f[15 - 3]) / (double)tck);
	if (page > 0 && read_proc("/proc/self/statm", buf, sizeof(buf)) > 0 &&
	    sscanf(buf, "%llu %llu", &size, &resident) == 2) {
		m_set(a, M_VSZ, NULL, (double)size * (double)page);
		m_set(a, M_RSS, NULL, (double)resident * (double)page);
	}
	dir = opendir("/proc/self/fd");
	if (dir != NULL) {
		while ((de = readdir(dir)) != NULL)
			if (de->d_name[0] != '.')
				fds++;
		closedir(dir);
		m_set(a, M_OPEN_FDS, NULL, fds - 1);   /* not the one listing them */
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		m_set(a, M_MAX_FDS, NULL, (double)rl.rlim_cur);
}

/* The fleet health series an alert may watch, at 0 from the start. */
static void health_zero(struct agent *a)
{
	static const char *const results[] = { "ok", "error" };
	static const char *const reasons[] = { "errors", "check" };
	static const char *const asg[] = { "ok", "not_found", "error" };
	size_t i;

	for (i = 0; i < 2; i++) {
		const char *r[] = { results[i] }, *why[] = { reasons[i] };

		m_add(a, a->role == HSDO_ROLE_CLIENT ? M_HEALTH_WRITES : M_HEALTH_READS, r, 0);
		if (a->role == HSDO_ROLE_SERVER)
			m_add(a, M_HEALTH_EJECTIONS, why, 0);
	}
	if (a->role != HSDO_ROLE_SERVER)
		return;
	m_add(a, M_HEALTH_READMISSIONS, NULL, 0);
	m_set(a, M_HEALTH_EJECTED, NULL, 0);
	m_set(a, M_HEALTH_OUTLIERS, NULL, 0);
	if (a->cfg->health_asg_set_unhealthy)
		for (i = 0; i < 3; i++) {
			const char *r[] = { asg[i] };

			m_add(a, M_HEALTH_ASG, r, 0);
		}
}

int agent_metrics_init(struct agent *a)
{
	static const char *const results[] = { "ok", "error" };
	const char *version[] = { HSDO_VERSION };
	char err[256] = "";
	double t;
	size_t i;
	int rc;

	rc = hsdo_metrics_new(families, M_COUNT, &a->metrics, err, sizeof(err));
	if (rc != 0) {
		hsdo_log_err("metrics: %s%s%s", hsdo_strerror(rc), err[0] ? ": " : "", err);
		return rc;
	}
	a->metrics_error = 0;
	m_set(a, M_BUILD_INFO, version, 1);
	t = start_time();
	if (t >= 0)
		m_set(a, M_START_TIME, NULL, t);
	/* Every series an alert may watch exists from the start, at 0. */
	for (i = 0; i < 2; i++) {
		const char *cyc[] = { mode_str(a), results[i] };
		const char *st[] = { hsdo_store_name(a->store), results[i] };
		const char *res[] = { results[i] };

		m_add(a, M_CYCLES, cyc, 0);
		m_add(a, M_STORE_READS, st, 0);
		if (a->role == HSDO_ROLE_CLIENT)
			m_add(a, M_RTAPI_COMMANDS, res, 0);
	}
	if (a->role == HSDO_ROLE_CLIENT) {
		m_add(a, M_RTAPI_CONNECTIONS, NULL, 0);
		m_add(a, M_CLIENT_UNANNOUNCED, NULL, 0);
	}
	if (a->cfg->health_eject)
		health_zero(a);
	{
		const char *mode[] = { mode_str(a) };

		rc = hsdo_metrics_touch(a->metrics, M_CYCLE_DURATION, mode);
		if (rc != 0)
			update_failed(a, rc, families[M_CYCLE_DURATION].name);
	}
	return 0;
}

void agent_metrics_free(struct agent *a)
{
	hsdo_metrics_free(a->metrics);
	a->metrics = NULL;
}

void agent_metrics_cycle(struct agent *a, bool ok, double seconds)
{
	const char *cyc[] = { mode_str(a), ok ? "ok" : "error" }, *mode[] = { mode_str(a) };
	int rc;

	m_add(a, M_CYCLES, cyc, 1);
	if (a->metrics == NULL)
		return;
	rc = hsdo_metrics_observe(a->metrics, M_CYCLE_DURATION, mode, seconds);
	if (rc != 0)
		update_failed(a, rc, families[M_CYCLE_DURATION].name);
}

void agent_metrics_store_reads(struct agent *a, size_t reads, size_t errors)
{
	const char *ok[] = { hsdo_store_name(a->store), "ok" };
	const char *bad[] = { hsdo_store_name(a->store), "error" };

	if (errors > reads)
		errors = reads;
	if (reads > errors)
		m_add(a, M_STORE_READS, ok, (double)(reads - errors));
	if (errors > 0)
		m_add(a, M_STORE_READS, bad, (double)errors);
}

void agent_metrics_client_table(struct agent *a, bool unversioned, size_t unannounced)
{
	m_set(a, M_CLIENT_UNVERSIONED, NULL, unversioned ? 1 : 0);
	if (unannounced > 0)
		m_add(a, M_CLIENT_UNANNOUNCED, NULL, (double)unannounced);
}

void agent_metrics_table(struct agent *a, const struct hsdo_table *t)
{
	size_t i, count[HSDO_SLOT_STATE_COUNT] = { 0 }, skipped = 0;
	char id[16];
	int rc, first = 0;

	if (a->metrics == NULL)
		return;
	hsdo_metrics_clear(a->metrics, M_SERVER_WEIGHT);
	hsdo_metrics_clear(a->metrics, M_SLOTS);
	hsdo_metrics_clear(a->metrics, M_TABLE_GENERATION);
	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++) {
		const struct hsdo_slot *s = &t->slots[i];
		const char *v[] = { id, s->name, s->ip, s->group };

		count[s->state < HSDO_SLOT_STATE_COUNT ? s->state : HSDO_SLOT_FREE]++;
		if (s->state == HSDO_SLOT_FREE)
			continue;
		snprintf(id, sizeof(id), "%u", s->id);
		rc = hsdo_metrics_set(a->metrics, M_SERVER_WEIGHT, v, (double)s->weight);
		if (rc != 0 && skipped++ == 0)
			first = rc;
	}
	if (skipped > 0)
		hsdo_log_warn("metrics: %zu slots of generation %llu have no hsdo_server_weight "
			      "series: %s", skipped, (unsigned long long)t->generation,
			      hsdo_strerror(first));
	for (i = 0; i < HSDO_SLOT_STATE_COUNT; i++) {
		const char *v[] = { hsdo_slot_state_str((enum hsdo_slot_state)i) };

		m_set(a, M_SLOTS, v, (double)count[i]);
	}
	m_set(a, M_TABLE_GENERATION, NULL, (double)t->generation);
}

void agent_metrics_rtapi(struct agent *a, size_t ok, size_t errors, uint64_t connections)
{
	const char *okv[] = { "ok" }, *errv[] = { "error" };

	if (ok > 0)
		m_add(a, M_RTAPI_COMMANDS, okv, (double)ok);
	if (errors > 0)
		m_add(a, M_RTAPI_COMMANDS, errv, (double)errors);
	if (connections > a->rtapi_conns_seen)
		m_add(a, M_RTAPI_CONNECTIONS, NULL, (double)(connections - a->rtapi_conns_seen));
	a->rtapi_conns_seen = connections;
}

void agent_metrics_server(struct agent *a, const struct hsdo_server_report *rep)
{
	const char *o[] = { hsdo_server_outcome_str(rep->outcome) };

	m_add(a, M_SERVER_CYCLES, o, 1);
	if (rep->outcome == HSDO_SERVER_WROTE)
		m_add(a, M_SERVER_SLOT_WRITES, NULL, (double)rep->written);
	m_set(a, M_SERVER_VALVE_HELD, NULL,
	      rep->outcome == HSDO_SERVER_HELD ? (double)rep->held_cycles : 0);
	m_set(a, M_SERVER_VALVE_HELD_SECONDS, NULL,
	      rep->outcome == HSDO_SERVER_HELD ? (double)rep->held_us / 1e6 : 0);
	if (rep->planned)
		m_set(a, M_SERVER_OVERFLOW, NULL, (double)rep->overflow);
	if (rep->outcome != HSDO_SERVER_ERROR) {
		m_set(a, M_SERVER_LEADER, NULL, rep->outcome == HSDO_SERVER_STANDBY ? 0 : 1);
		m_set(a, M_SERVER_LEASE_EPOCH, NULL, (double)rep->lease.epoch);
	}
}

void agent_metrics_source(struct agent *a, const char *source, const struct hsdo_source_result *r)
{
	const char *res[] = { source, r != NULL ? "ok" : "error" };
	size_t i;

	m_add(a, M_SOURCE_LISTS, res, 1);
	if (r == NULL || a->metrics == NULL)
		return;
	hsdo_metrics_clear(a->metrics, M_SOURCE_INSTANCES);
	for (i = 0; i < r->ngroups; i++) {
		const char *ready[] = { source, r->groups[i].name, "ready" };
		const char *leaving[] = { source, r->groups[i].name, "leaving" };
		const char *skipped[] = { source, r->groups[i].name, "not_ready" };

		m_set(a, M_SOURCE_INSTANCES, ready, (double)r->groups[i].ready);
		m_set(a, M_SOURCE_INSTANCES, leaving, (double)r->groups[i].leaving);
		m_set(a, M_SOURCE_INSTANCES, skipped, (double)r->groups[i].skipped);
	}
}

void agent_metrics_lifecycle(struct agent *a, bool ok)
{
	const char *v[] = { ok ? "ok" : "error" };

	m_add(a, M_LIFECYCLE, v, 1);
}

void agent_metrics_health_write(struct agent *a, bool ok)
{
	const char *v[] = { ok ? "ok" : "error" };

	m_add(a, M_HEALTH_WRITES, v, 1);
}

void agent_metrics_health_verdicts(struct agent *a, size_t ok, size_t failing, size_t idle)
{
	const char *o[] = { "ok" }, *f[] = { "failing" }, *i[] = { "idle" };

	m_set(a, M_HEALTH_VERDICTS, o, (double)ok);
	m_set(a, M_HEALTH_VERDICTS, f, (double)failing);
	m_set(a, M_HEALTH_VERDICTS, i, (double)idle);
}

void agent_metrics_health_server(struct agent *a, const struct hsdo_server_report *rep)
{
	const struct hsdo_eject_result *ej = rep->eject;
	const char *res[] = { rep->reports_rc == 0 ? "ok" : "error" };
	const char *fresh[] = { "fresh" }, *expired[] = { "expired" }, *bad[] = { "bad" };
	size_t i;

	if (rep->reports_read || rep->reports_rc != 0)
		m_add(a, M_HEALTH_READS, res, 1);
	if (ej == NULL)
		return;
	if (rep->reports_read) {
		m_set(a, M_HEALTH_REPORTS, fresh, (double)ej->fresh);
		m_set(a, M_HEALTH_REPORTS, expired, (double)ej->expired);
		m_set(a, M_HEALTH_REPORTS, bad, (double)rep->reports_bad);
	}
	if (rep->outcome == HSDO_SERVER_WROTE) {
		for (i = 0; i < ej->nevents; i++) {
			const char *why[] = { hsdo_eject_cause_str(ej->events[i].cause) };

			if (ej->events[i].kind == HSDO_EJECT_EJECTED)
				m_add(a, M_HEALTH_EJECTIONS, why, 1);
		}
		if (ej->counts[HSDO_EJECT_READMITTED] > 0)
			m_add(a, M_HEALTH_READMISSIONS, NULL,
			      (double)ej->counts[HSDO_EJECT_READMITTED]);
	}
	if (rep->outcome == HSDO_SERVER_WROTE || rep->outcome == HSDO_SERVER_UNCHANGED)
		m_set(a, M_HEALTH_EJECTED, NULL, (double)ej->ejected);
	m_set(a, M_HEALTH_CAPPED, NULL, (double)ej->counts[HSDO_EJECT_CAPPED]);
	m_set(a, M_HEALTH_OUTLIERS, NULL, (double)ej->outlier_count);
	if (a->metrics == NULL)
		return;
	hsdo_metrics_clear(a->metrics, M_HEALTH_OUTLIER);
	for (i = 0; i < ej->noutliers; i++) {
		const char *v[] = { ej->outliers[i].client_id };

		m_set(a, M_HEALTH_OUTLIER, v, 1);
	}
}

void agent_metrics_health_asg(struct agent *a, const char *result)
{
	const char *v[] = { result };

	m_add(a, M_HEALTH_ASG, v, 1);
}

/* AWS counters live in the AWS client; copy them at each scrape. */
static void refresh_aws(struct agent *a)
{
	struct hsdo_aws_op_stats st[64];
	size_t i, n;

	if (a->aws == NULL)
		return;
	n = hsdo_aws_stats(a->aws, st, sizeof(st) / sizeof(st[0]));
	for (i = 0; i < n; i++) {
		const char *ok[] = { st[i].service, st[i].operation, "ok" };
		const char *bad[] = { st[i].service, st[i].operation, "error" };
		const char *rt[] = { st[i].service, st[i].operation };

		m_set(a, M_AWS_REQUESTS, ok, (double)st[i].ok);
		m_set(a, M_AWS_REQUESTS, bad, (double)st[i].errors);
		m_set(a, M_AWS_RETRIES, rt, (double)st[i].retries);
	}
}

/* The SPOE agent counts in its own structures; copy them at each scrape. */
static void refresh_spoa(struct agent *a)
{
	const struct hsdo_health *h = spoa_health(a->spoa);
	struct spoa_stats st;
	struct hsdo_health_stats hs;
	int64_t now = hsdo_clock_mono_ms();
	char slot[16];
	size_t i, c;

	if (a->spoa == NULL)
		return;
	spoa_get_stats(a->spoa, &st);
	m_set(a, M_SPOE_LISTENING, NULL, st.listening ? 1 : 0);
	m_set(a, M_SPOE_CONNECTIONS, NULL, (double)st.conns_open);
	m_set(a, M_SPOE_ACCEPTED, NULL, (double)st.conns_accepted);
	m_set(a, M_SPOE_REJECTED, NULL, (double)st.conns_rejected);
	m_set(a, M_SPOE_MESSAGES, NULL, (double)st.messages);
	for (i = 0; i < SPOA_ERR_COUNT; i++) {
		const char *v[] = { spoa_error_str((enum spoa_error)i) };

		m_set(a, M_SPOE_FRAME_ERRORS, v, (double)st.errors[i]);
	}
	m_set(a, M_SPOE_WINDOW_SECONDS, NULL, (double)hsdo_health_window_ms(h) / 1000.0);
	m_set(a, M_SPOE_DROPPED, NULL, (double)hsdo_health_dropped(h));
	m_set(a, M_SPOE_BUFFERS, NULL, (double)st.buffer_bytes);
	for (i = 0; i < hsdo_health_count(h); i++) {
		hsdo_health_get(h, i, now, &hs);
		if (hs.slot == 0)
			snprintf(slot, sizeof(slot), "none");
		else
			snprintf(slot, sizeof(slot), "%u", (unsigned)hs.slot);
		for (c = 0; c < HSDO_HEALTH_CLASS_COUNT; c++) {
			const char *v[] = { hs.backend, slot,
					    hsdo_health_class_str((enum hsdo_health_class)c) };

			if (hs.total[c] == 0)
				continue;
			m_set(a, M_SPOE_RESPONSES, v, (double)hs.total[c]);
			m_set(a, M_SPOE_WINDOW, v, (double)hs.window[c]);
		}
	}
}

int agent_metrics_render(void *arg, char **body, size_t *len)
{
	struct agent *a = arg;

	if (a->metrics == NULL)
		return -HSDO_EINVAL;
	refresh_process(a);
	refresh_aws(a);
	refresh_spoa(a);
	return hsdo_metrics_render(a->metrics, body, len);
}
