#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#if HSDO_WITH_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "hsdo/clock.h"

#include "agent_notify.h"

/* One datagram; nothing to do when systemd is not listening. */
static void send_state(const struct agent_notify *n, const char *state)
{
	if (!n->enabled)
		return;
#if HSDO_WITH_SYSTEMD
	(void)sd_notify(0, state);
#else
	(void)state;
#endif
}

static void on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent_notify *n = w->data;

	(void)loop;
	(void)revents;
	send_state(n, "WATCHDOG=1");
}

void agent_notify_start(struct agent_notify *n, struct ev_loop *loop, bool enabled)
{
	uint64_t usec = 0;

	memset(n, 0, sizeof(*n));
	n->loop = loop;
	n->enabled = enabled;
	ev_init(&n->watchdog, on_watchdog);
	n->watchdog.data = n;
#if HSDO_WITH_SYSTEMD
	if (enabled && sd_watchdog_enabled(0, &usec) <= 0)
		usec = 0;
#endif
	if (!enabled || usec == 0)
		return;
	n->watchdog.repeat = (ev_tstamp)usec / 2e6;
	ev_timer_again(loop, &n->watchdog);
	send_state(n, "WATCHDOG=1");
}

void agent_notify_stop(struct agent_notify *n)
{
	if (n->loop != NULL && ev_is_active(&n->watchdog))
		ev_timer_stop(n->loop, &n->watchdog);
}

static void status_line(char *buf, size_t len, const char *status)
{
	size_t i;

	snprintf(buf, len, "STATUS=%s", status);
	for (i = 0; buf[i] != '\0'; i++)
		if (buf[i] == '\n')
			buf[i] = ' ';   /* one line: a newline would start a new field */
}

void agent_notify_ready(struct agent_notify *n, const char *status)
{
	char msg[sizeof(n->status) + 32];

	if (n->ready) {
		agent_notify_status(n, status);
		return;
	}
	n->ready = true;
	snprintf(n->status, sizeof(n->status), "%s", status);
	memcpy(msg, "READY=1\n", 8);
	status_line(msg + 8, sizeof(msg) - 8, status);
	send_state(n, msg);
}

void agent_notify_reloading(struct agent_notify *n)
{
	char msg[96];

	/* MONOTONIC_USEC: what Type=notify-reload (systemd 253) checks. */
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)hsdo_clock_mono_us());
	n->ready = false;
	send_state(n, msg);
}

void agent_notify_stopping(struct agent_notify *n)
{
	send_state(n, "STOPPING=1");
}

void agent_notify_status(struct agent_notify *n, const char *status)
{
	char msg[sizeof(n->status) + 16];

	if (strncmp(n->status, status, sizeof(n->status) - 1) == 0)
		return;
	snprintf(n->status, sizeof(n->status), "%s", status);
	status_line(msg, sizeof(msg), status);
	send_state(n, msg);
}
