/* HAProxy Runtime API (stats socket) helpers: quoting values for a command
 * line, parsing `show servers state` and classifying `set server` replies.
 * Pure: bytes in, structs out; the socket I/O lives in the agent.
 *
 * Reference: HAProxy 2.6 doc/management.txt §9.3, and what the client
 * relies on, as measured: docs/haproxy-runtime-api.md. */
#ifndef HSDO_RTAPI_H
#define HSDO_RTAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsdo/slot.h"

/* srv_admin_state bits (HAProxy server-t.h). */
#define HSDO_RTAPI_ADMF_FMAINT 0x01u /* forced maintenance (CLI) */
#define HSDO_RTAPI_ADMF_IMAINT 0x02u /* inherited from a tracked server */
#define HSDO_RTAPI_ADMF_CMAINT 0x04u /* `disabled` in the config: NOT maint */
#define HSDO_RTAPI_ADMF_FDRAIN 0x08u /* forced drain (CLI) */
#define HSDO_RTAPI_ADMF_IDRAIN 0x10u /* inherited drain */
#define HSDO_RTAPI_ADMF_RMAINT 0x20u /* DNS resolution failure */
#define HSDO_RTAPI_ADMF_HMAINT 0x40u /* FQDN set from the CLI */
#define HSDO_RTAPI_ADMF_MAINT  0x23u /* FMAINT | IMAINT | RMAINT */
#define HSDO_RTAPI_ADMF_DRAIN  0x18u /* FDRAIN | IDRAIN */

/* srv_op_state values. */
#define HSDO_RTAPI_OP_STOPPED  0u
#define HSDO_RTAPI_OP_STARTING 1u
#define HSDO_RTAPI_OP_RUNNING  2u
#define HSDO_RTAPI_OP_STOPPING 3u

/* Bounds on what the parser accepts. */
#define HSDO_RTAPI_STATE_MAX_BYTES (64u << 20) /* whole reply */
#define HSDO_RTAPI_LINE_MAX        8192u       /* one line */
#define HSDO_RTAPI_COLUMNS_MAX     256u        /* header columns */
#define HSDO_RTAPI_SERVERS_MAX     (4u * HSDO_SLOTS_MAX)
#define HSDO_RTAPI_NAME_LEN        128u        /* be_name / srv_name */

/* One server line of `show servers state`. */
struct hsdo_srv_state {
	uint32_t be_id;
	uint32_t srv_id;
	char be_name[HSDO_RTAPI_NAME_LEN];
	char srv_name[HSDO_RTAPI_NAME_LEN];
	char addr[HSDO_IP_LEN];        /* "" when HAProxy printed '-' */
	unsigned op_state;             /* HSDO_RTAPI_OP_* */
	unsigned admin_state;          /* HSDO_RTAPI_ADMF_* bits */
	uint32_t uweight;
	uint32_t iweight;              /* 0 if the column is absent */
	uint16_t port;                 /* 0 = unset */
	unsigned check_state;          /* 0 if the column is absent */
	unsigned check_result;         /* 0 if the column is absent */
};

struct hsdo_servers_state {
	struct hsdo_srv_state *srv;    /* owned; hsdo_rtapi_servers_state_free */
	size_t n;
};

/* Escape src as one Runtime API argument: backslash before ';' and '\'
 * (management.txt §9.3) and before space and tab, which HAProxy also splits
 * on. Returns the length written to dst (NUL-terminated), -HSDO_ETOOBIG, or
 * -HSDO_EINVAL for a control byte (a newline cannot be escaped). */
int hsdo_rtapi_escape(char *dst, size_t dstlen, const char *src);

/* Parse a whole `show servers state [<backend>]` reply (not NUL-terminated),
 * columns by header name. 0 and *out (free with _servers_state_free), or
 * -HSDO_ENOTFOUND ("Can't find backend."), -HSDO_EAGAIN (cut short),
 * -HSDO_EPROTO/ETOOBIG/ENOMEM, with "line N: column: ..." in err. */
int hsdo_rtapi_parse_servers_state(const char *buf, size_t len,
	struct hsdo_servers_state *out, char *err, size_t errlen);
/* Release s->srv and zero *s; NULL is a no-op. */
void hsdo_rtapi_servers_state_free(struct hsdo_servers_state *s);
/* Linear search by backend and server name; NULL when absent. The result
 * points into s. */
const struct hsdo_srv_state *hsdo_rtapi_find_server(const struct hsdo_servers_state *s,
	const char *backend, const char *server);

/* True when admin_state puts the server in maintenance (admin & 0x23).
 * CMAINT (0x04) alone is not maintenance: an enabled `disabled` template
 * slot keeps it and serves traffic. */
bool hsdo_rtapi_admin_is_maint(unsigned admin_state);
/* True when admin_state drains the server (admin & 0x18). */
bool hsdo_rtapi_admin_is_drain(unsigned admin_state);

/* Classify a `set server` reply: 0 if empty (whitespace only, even 0 bytes),
 * "nothing changed" (3.x), or every ", " clause is "IP changed", "no need to
 * change" (2.6), "port changed";
 * else -HSDO_ENOTFOUND ("No such") or -HSDO_EINVAL with the line in err. A
 * partial "IP changed ..., problem converting port ..." is a failure. */
int hsdo_rtapi_set_server_reply(const char *reply, size_t len, char *err, size_t errlen);

#endif
