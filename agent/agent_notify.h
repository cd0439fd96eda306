/* systemd's service notifications (sd_notify(3), libsystemd): READY=1 when
 * the agent serves, RELOADING=1 / READY=1 around a SIGHUP reload,
 * STOPPING=1, STATUS= lines for `systemctl status`, and WATCHDOG=1 from a
 * timer on the event loop, so a loop that stalls stops the pings and
 * systemd restarts the service (WatchdogSec=). Outside systemd (no
 * NOTIFY_SOCKET) and in a build without libsystemd (HSDO_WITH_SYSTEMD=OFF),
 * every call does nothing. */
#ifndef HSDO_AGENT_NOTIFY_H
#define HSDO_AGENT_NOTIFY_H

#include <stdbool.h>

#include <ev.h>

struct agent_notify {
	struct ev_loop *loop;
	bool enabled;                /* false: --once, or before agent_notify_start */
	ev_timer watchdog;           /* active when systemd asked for a watchdog */
	bool ready;                  /* READY=1 sent since the start or last reload */
	char status[256];            /* last STATUS= sent */
};

/* Start notifying (enabled false: never, as with --once) and the watchdog
 * timer on loop, every half of WATCHDOG_USEC, when systemd set one for this
 * process. */
void agent_notify_start(struct agent_notify *n, struct ev_loop *loop, bool enabled);
void agent_notify_stop(struct agent_notify *n);
/* READY=1 with a STATUS= line; later calls only update the status. */
void agent_notify_ready(struct agent_notify *n, const char *status);
/* RELOADING=1 (with MONOTONIC_USEC=); the next agent_notify_ready() sends
 * READY=1 again. */
void agent_notify_reloading(struct agent_notify *n);
void agent_notify_stopping(struct agent_notify *n);
/* STATUS=<status> when it differs from the last one sent. */
void agent_notify_status(struct agent_notify *n, const char *status);

#endif
