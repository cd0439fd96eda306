#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "agent_log.h"

static bool log_to_syslog;

static void log_handler(enum hsdo_log_level level, const char *msg, void *arg)
{
	static const int prio[HSDO_LOG_LEVEL_COUNT] = {
		LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG,
	};
	struct timespec ts;
	struct tm tm;
	char when[32];

	(void)arg;
	if (log_to_syslog) {
		syslog(prio[level], "%s", msg);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s: %s\n", when, ts.tv_nsec / 1000000L,
		hsdo_log_level_str(level), msg);
}

void agent_log_setup(bool use_syslog, bool debug)
{
	if (use_syslog && !log_to_syslog)
		openlog("hsdo-agent", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (!use_syslog && log_to_syslog)
		closelog();
	log_to_syslog = use_syslog;
	hsdo_log_set_handler(log_handler, NULL, debug ? HSDO_LOG_DEBUG : HSDO_LOG_INFO);
}

void agent_log_close(void)
{
	if (log_to_syslog)
		closelog();
	log_to_syslog = false;
	hsdo_log_set_handler(NULL, NULL, HSDO_LOG_INFO);
}

bool agent_log_same_cause(const char *a, const char *b)
{
	char ka[1024], kb[1024];

	hsdo_log_cause(a, ka, sizeof(ka));
	hsdo_log_cause(b, kb, sizeof(kb));
	return strcmp(ka, kb) == 0;
}
