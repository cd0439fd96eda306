/* The SPOE agent (SPOA) of client mode: a libev server on SPOA_LISTEN that
 * HAProxy's `filter spoe` connects to (spoe/hsdo.spoe.conf, docs/spoa.md).
 *
 * Many HAProxy connections at once, each with its own read and write
 * buffers, non-blocking. It answers HAPROXY-HELLO (version 2.0 only; health
 * checks included; max-frame-size never above HAProxy's; announces
 * pipelining, never fragmentation), and every NOTIFY with an ACK on the
 * connection it came from, with the same stream-id and frame-id, in order,
 * however many are pipelined and wherever the reads cut them. A message
 * carrying `be_name` (and `srv_name`, `srv_id`, `status`) is one response:
 * it is counted per backend and slot (hsdo/health.h), and the ACK sets
 * txn.<var-prefix>.slot_state to the state the slot has in the table the
 * agent last handed over: "active", "draining", "ejected", "free" or
 * "unknown".
 *
 * A protocol error ends only its connection: AGENT-DISCONNECT with the SPOP
 * status, then close. Output beyond a high-water mark stops reading from
 * that connection until HAProxy has read it (backpressure). A listen
 * address that cannot be bound is logged and retried; it never stops the
 * agent. Everything runs on the caller's loop thread. */
#ifndef HSDO_AGENT_SPOA_H
#define HSDO_AGENT_SPOA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "hsdo/config.h"
#include "hsdo/health.h"
#include "hsdo/slot.h"

/* Why a connection was closed by the agent (hsdo_spoe_frame_errors_total
 * reasons), with the SPOP status sent in the AGENT-DISCONNECT. */
enum spoa_error {
	SPOA_ERR_TOO_BIG = 0,     /* 3: frame over the negotiated size */
	SPOA_ERR_INVALID,         /* 4: malformed frame or payload */
	SPOA_ERR_UNEXPECTED,      /* 4: NOTIFY before HELLO, HELLO twice */
	SPOA_ERR_FRAGMENTED,      /* 10: FIN clear, ABORT, continuation */
	SPOA_ERR_MISSING_KEY,     /* 5/6/7: HELLO lacks a required key */
	SPOA_ERR_BAD_VERSION,     /* 8: "2.0" not offered */
	SPOA_ERR_BAD_FRAME_SIZE,  /* 9: HAProxy's max-frame-size < 256 */
	SPOA_ERR_TIMEOUT,         /* 2: HELLO or frame incomplete, or idle */
	SPOA_ERR_RESOURCE,        /* 13: output buffer bound, allocation */
	SPOA_ERR_COUNT
};

/* "too_big", "invalid", "unexpected", "fragmented", "missing_key",
 * "bad_version", "bad_frame_size", "timeout", "resource"; "unknown". */
const char *spoa_error_str(enum spoa_error e);

struct spoa_params {
	uint32_t max_frame_size;   /* ours, 256..65532; HAProxy's if smaller */
	unsigned max_conns;        /* beyond: AGENT-DISCONNECT 13, close */
	double frame_timeout;      /* s: a HELLO, or a frame once started, must be complete */
	double idle_timeout;       /* s: no byte in or out (HAProxy's `timeout idle` is shorter) */
	double linger_timeout;     /* s: after our DISCONNECT, wait this long for HAProxy to close */
	double retry_interval;     /* s: between two attempts to bind SPOA_LISTEN */
	size_t out_high;           /* bytes of pending output that stop reading */
	size_t buffers_max;        /* all connections' buffers: over it, those with
				    * output waiting stop reading */
	struct hsdo_health_params health;
};

/* The defaults: 16380, 1024 connections, 10 s, 300 s, 2 s, 5 s, 64 KiB,
 * 32 MiB, and hsdo_health_params_default. */
void spoa_params_default(struct spoa_params *p);

struct spoa_stats {
	bool listening;
	uint16_t port;                 /* bound port, 0 while not listening */
	uint64_t conns_open;
	uint64_t conns_accepted;       /* every accepted connection, health checks too */
	uint64_t conns_rejected;       /* over max_conns */
	uint64_t hellos, healthchecks; /* HELLOs answered; of which health checks */
	uint64_t notifies;             /* NOTIFY frames, each answered by one ACK */
	uint64_t messages;             /* SPOE messages in them */
	uint64_t responses;            /* messages counted as a response */
	uint64_t haproxy_disconnects;  /* HAPROXY-DISCONNECT frames answered */
	uint64_t errors[SPOA_ERR_COUNT];
	uint64_t bytes_in, bytes_out;
	size_t out_pending_max;        /* most output ever pending on one connection */
	size_t buffer_bytes;           /* held by the connections' buffers now */
};

struct spoa;

/* Start listening on cfg->spoa_listen from loop, with the backends of cfg
 * (see spoa_set_config); p NULL: the defaults, with the window of
 * HEALTH_WINDOW (a change of it applies at the next restart). 0 (also when the
 * address cannot be bound yet: that is logged and retried), or -HSDO_EINVAL
 * (malformed address or parameters) / -HSDO_ENOMEM with the reason in err. */
int spoa_start(struct ev_loop *loop, const struct hsdo_config *cfg,
		    const struct spoa_params *p, struct spoa **out,
		    char *err, size_t errlen);
/* Close every connection and the listener, free everything; NULL is a no-op. */
void spoa_stop(struct spoa *s);

/* Take the backends of cfg (CLIENT_HAPROXY_BACKEND_LIST or the single
 * backend, and the fallback backend): a response of backend B from server
 * <base of B><N> is slot N. A changed SPOA_LISTEN is logged and applies at
 * the next restart. cfg is copied from. s NULL is a no-op. */
void spoa_set_config(struct spoa *s, const struct hsdo_config *cfg);
/* The slot table the ACKs report states from (copied; NULL: none, every
 * state is "unknown"). s NULL is a no-op. */
void spoa_set_table(struct spoa *s, const struct hsdo_table *t);

/* Counters so far (a copy). */
void spoa_get_stats(const struct spoa *s, struct spoa_stats *out);
/* The per backend/slot aggregation, borrowed (valid until stop). */
const struct hsdo_health *spoa_health(const struct spoa *s);

#endif
