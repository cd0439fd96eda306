/* The SPOE agent: see spoa.h.
 *
 * One struct conn per HAProxy connection, in a list. Reads (16 KiB at most
 * per wake-up, so that many busy peers share the loop fairly) go into one
 * 64 KiB buffer shared by every connection; every complete frame in it is
 * handled at once and its answer appended to the connection's output
 * buffer, which is sent with one send() at the end of the batch. Only a
 * frame cut by the read is kept by the connection (a buffer of its size,
 * freed once the frame is whole), and an output buffer is given back once
 * it has drained: an idle connection holds no buffer. When more than out_high bytes wait to be
 * sent, reading stops until HAProxy has taken half of them, so a peer that
 * does not read costs at most out_high plus one batch; and while all the
 * connections' buffers together exceed buffers_max, every connection with
 * output waiting stops reading. Memory freed by many connections leaving
 * is handed back to the system (malloc_trim) at most once a second.
 *
 * Closing on our side: the AGENT-DISCONNECT (or, for a health check, the
 * AGENT-HELLO) is flushed, then shutdown(SHUT_WR), then the input is read
 * and dropped until HAProxy closes or linger_timeout passes. Closing with
 * unread input would send a reset, which may destroy the frame we sent.
 *
 * Each connection has one ev_timer, set lazily: it never moves on the hot
 * path; when it fires it checks the deadlines (HELLO or a started frame not
 * complete within frame_timeout, nothing in or out for idle_timeout) and
 * sleeps again until the nearest one, at most frame_timeout. */
#define _GNU_SOURCE   /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hsdo/alloc.h"
#include "hsdo/clock.h"
#include "hsdo/err.h"
#include "hsdo/health.h"
#include "hsdo/log.h"
#include "hsdo/slot.h"
#include "hsdo/spop.h"

#include "agent.h"
#include "spoa.h"

#define IN_CAP          (64u * 1024)   /* > 4 + the largest max-frame-size */
#define READ_MAX        (16u * 1024)   /* one read: many busy peers share the loop fairly */
#define TRIM_AFTER      (4u << 20)     /* bytes freed by closed connections before a trim */
#define TRIM_EVERY      1.0            /* s between two trims at most */
#define FRAME_MAX_OURS  65532u
#define ACCEPT_BATCH    64             /* accepts per wake-up */
#define ACCEPT_PAUSE    0.1            /* s: after EMFILE/ENFILE */
#define ACK_ROOM        128            /* > the largest ACK we send */
#define ERRLOG_EVERY    60.0           /* s: one warning per error reason */
#define MAX_RESP        8              /* responses of one NOTIFY kept before counting */
#define VAR_NAME        "slot_state"
#define PEER_LEN        64

enum conn_state {
	ST_HELLO = 0,   /* waiting for HAPROXY-HELLO */
	ST_READY,       /* NOTIFY frames */
	ST_CLOSING,     /* our last frame queued: flush, shut, drain */
};

struct conn {
	struct spoa *s;
	struct conn *prev, *next;
	int fd;
	ev_io rio, wio;
	ev_timer timer;
	enum conn_state state;
	bool reading, wr_shut;
	uint32_t max_frame;
	ev_tstamp accepted, last_io, frame_start, close_at;
	uint8_t *in;                   /* a frame cut by the last read, or NULL */
	size_t in_len, in_cap;
	uint8_t *out;
	size_t out_off, out_len, out_cap;
	char peer[PEER_LEN];
};

struct spoa_backend {
	char name[HSDO_CONFIG_BACKEND_LEN];
	char base[HSDO_CONFIG_BACKEND_LEN];
	size_t name_len;
};

struct spoa {
	struct ev_loop *loop;
	struct spoa_params p;
	char listen[320];
	int lfd;
	ev_io lio;
	ev_timer retry;             /* bind retry, and the pause after EMFILE */
	char last_listen_error[256];
	struct conn *conns;
	struct spoa_backend *backends;
	size_t nbackends;
	uint8_t *states;            /* enum hsdo_slot_state of slot i + 1 */
	size_t nstates;
	bool have_table;
	struct hsdo_health *health;
	uint8_t *scratch;           /* IN_CAP: the read buffer of every connection */
	size_t freed;               /* buffer bytes freed by closings since the last trim */
	ev_tstamp trimmed_at;
	struct spoa_stats st;
	ev_tstamp errlog_at[SPOA_ERR_COUNT];
	uint64_t errlog_quiet[SPOA_ERR_COUNT];
};

/* One response message of a NOTIFY. */
struct resp {
	struct hsdo_spop_bytes be, srv;
	int64_t srv_id, status;     /* -1: absent */
};

const char *spoa_error_str(enum spoa_error e)
{
	static const char *const names[SPOA_ERR_COUNT] = {
		"too_big", "invalid", "unexpected", "fragmented", "missing_key",
		"bad_version", "bad_frame_size", "timeout", "resource",
	};

	return (unsigned)e < SPOA_ERR_COUNT ? names[e] : "unknown";
}

void spoa_params_default(struct spoa_params *p)
{
	memset(p, 0, sizeof(*p));
	p->max_frame_size = HSDO_SPOP_FRAME_DEFAULT;
	p->max_conns = 1024;
	p->frame_timeout = 10.0;
	p->idle_timeout = 300.0;
	p->linger_timeout = 2.0;
	p->retry_interval = 5.0;
	p->out_high = 64u * 1024;
	p->buffers_max = 32u << 20;
	hsdo_health_params_default(&p->health);
}

static size_t out_hard_max(const struct spoa *s)
{
	return s->p.out_high + 4 * IN_CAP;
}

/* Give a connection's buffer back; the bytes it held leave the count. */
static void buf_release(struct spoa *s, uint8_t **p, size_t *cap)
{
	hsdo_free(*p);
	*p = NULL;
	s->st.buffer_bytes -= *cap;
	s->freed += *cap;
	*cap = 0;
}

/* Closings freed a lot: hand the memory back to the system (glibc keeps
 * freed heap pages otherwise), at most once per TRIM_EVERY. */
static void maybe_trim(struct spoa *s)
{
	ev_tstamp now = ev_now(s->loop);

	if (s->freed < TRIM_AFTER || now - s->trimmed_at < TRIM_EVERY)
		return;
	agent_give_memory_back();
	s->freed = 0;
	s->trimmed_at = now;
}

/* ---- connections: life and death -------------------------------------------------- */

static void conn_close(struct conn *c)
{
	struct spoa *s = c->s;

	ev_io_stop(s->loop, &c->rio);
	ev_io_stop(s->loop, &c->wio);
	ev_timer_stop(s->loop, &c->timer);
	close(c->fd);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	s->st.conns_open--;
	hsdo_log_debug("SPOE agent: connection from %s closed", c->peer);
	buf_release(s, &c->in, &c->in_cap);
	buf_release(s, &c->out, &c->out_cap);
	hsdo_free(c);
	s->freed += sizeof(*c);
	maybe_trim(s);
}

static void timer_in(struct conn *c, ev_tstamp after)
{
	ev_timer_stop(c->s->loop, &c->timer);
	ev_timer_set(&c->timer, after > 0 ? after : 0.001, 0.);
	ev_timer_start(c->s->loop, &c->timer);
}

static void set_reading(struct conn *c, bool on)
{
	if (on == c->reading)
		return;
	c->reading = on;
	if (on)
		ev_io_start(c->s->loop, &c->rio);
	else
		ev_io_stop(c->s->loop, &c->rio);
}

/* Room for `need` more bytes of output; false past the bound. */
static bool out_room(struct conn *c, size_t need)
{
	size_t cap;
	uint8_t *p;

	if (c->out_cap - c->out_len >= need)
		return true;
	if (c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
		if (c->out_cap - c->out_len >= need)
			return true;
	}
	cap = c->out_cap ? c->out_cap : 4096;
	while (cap - c->out_len < need)
		cap *= 2;
	if (cap > out_hard_max(c->s)) {
		cap = out_hard_max(c->s);
		if (cap - c->out_len < need)
			return false;
	}
	p = hsdo_realloc(c->out, cap);
	if (p == NULL)
		return false;
	c->s->st.buffer_bytes += cap - c->out_cap;
	c->out = p;
	c->out_cap = cap;
	return true;
}

/* Log a connection error: one warning per reason a minute, the rest debug. */
static void log_error(struct conn *c, enum spoa_error e, enum hsdo_spop_status status,
		      const char *detail)
{
	struct spoa *s = c->s;
	ev_tstamp now = ev_now(s->loop);

	if (s->errlog_at[e] == 0 || now - s->errlog_at[e] >= ERRLOG_EVERY) {
		if (s->errlog_quiet[e] > 0)
			hsdo_log_warn("SPOE agent: connection from %s closed with status %d (%s): %s "
				      "(%llu more '%s' errors since the last warning)", c->peer,
				      (int)status, hsdo_spop_status_str(status), detail,
				      (unsigned long long)s->errlog_quiet[e], spoa_error_str(e));
		else
			hsdo_log_warn("SPOE agent: connection from %s closed with status %d (%s): %s",
				      c->peer, (int)status, hsdo_spop_status_str(status), detail);
		s->errlog_at[e] = now;
		s->errlog_quiet[e] = 0;
		return;
	}
	s->errlog_quiet[e]++;
	hsdo_log_debug("SPOE agent: connection from %s closed with status %d (%s): %s", c->peer,
		       (int)status, hsdo_spop_status_str(status), detail);
}

/* Our last frame is queued: flush it, then shut and drain (see the top). */
static void begin_close(struct conn *c)
{
	c->state = ST_CLOSING;
	c->in_len = 0;
	buf_release(c->s, &c->in, &c->in_cap);
	c->close_at = ev_now(c->s->loop) + c->s->p.linger_timeout;
	set_reading(c, true);
	timer_in(c, c->s->p.linger_timeout);
}

/* A protocol error: AGENT-DISCONNECT with `status` after what is queued. */
static void conn_fail(struct conn *c, enum spoa_error e, enum hsdo_spop_status status,
		      const char *detail)
{
	int n;

	c->s->st.errors[e]++;
	log_error(c, e, status, detail);
	if (out_room(c, 256)) {
		n = hsdo_spop_agent_disconnect_encode((uint32_t)status, NULL, c->out + c->out_len,
						      c->out_cap - c->out_len);
		if (n > 0)
			c->out_len += (size_t)n;
	}
	begin_close(c);
}

/* Send what is pending. -1 when the connection was closed (c is gone). */
static int flush(struct conn *c)
{
	struct spoa *s = c->s;
	size_t pending;
	ssize_t n;

	while (c->out_off < c->out_len) {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n > 0) {
			c->out_off += (size_t)n;
			s->st.bytes_out += (uint64_t)n;
			c->last_io = ev_now(s->loop);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		conn_close(c);   /* reset or broken pipe: HAProxy is gone */
		return -1;
	}
	pending = c->out_len - c->out_off;
	if (pending > s->st.out_pending_max)
		s->st.out_pending_max = pending;
	if (pending == 0) {
		c->out_off = c->out_len = 0;
		buf_release(s, &c->out, &c->out_cap);
		ev_io_stop(s->loop, &c->wio);
		if (c->state == ST_CLOSING && !c->wr_shut) {
			shutdown(c->fd, SHUT_WR);
			c->wr_shut = true;
		}
	} else {
		ev_io_start(s->loop, &c->wio);
	}
	if (c->state == ST_CLOSING)
		return 0;
	if (pending > s->p.out_high || (pending > 0 && s->st.buffer_bytes > s->p.buffers_max)) {
		set_reading(c, false);
	} else if (!c->reading && pending <= s->p.out_high / 2) {
		set_reading(c, true);
		if (c->in_len > 0)
			c->frame_start = ev_now(s->loop);
	}
	return 0;
}

/* ---- frames --------------------------------------------------------------------------- */

static const struct spoa_backend *find_backend(const struct spoa *s,
					       const struct hsdo_spop_bytes *name)
{
	size_t i;

	for (i = 0; i < s->nbackends; i++)
		if (s->backends[i].name_len == name->len &&
		    memcmp(s->backends[i].name, name->ptr, name->len) == 0)
			return &s->backends[i];
	return NULL;
}

/* Slot and state of a response (see docs/spoa.md, "Which slot"). */
static const char *resolve(const struct spoa *s, const struct resp *r, uint32_t *slot)
{
	const struct spoa_backend *b = find_backend(s, &r->be);
	bool from_table = false;

	*slot = 0;
	if (r->srv.len > 0) {
		if (b != NULL && hsdo_slot_from_name(b->base, (const char *)r->srv.ptr, r->srv.len,
						     UINT32_MAX, slot) == 0)
			from_table = true;
		else if (r->srv_id > 0 && r->srv_id <= (int64_t)UINT32_MAX)
			*slot = (uint32_t)r->srv_id;
	} else if (r->srv_id > 0 && r->srv_id <= (int64_t)UINT32_MAX) {
		*slot = (uint32_t)r->srv_id;
		from_table = b != NULL;   /* server-template numbers its servers 1..N */
	}
	if (!from_table || !s->have_table || *slot == 0 || *slot > s->nstates)
		return "unknown";
	return hsdo_slot_state_str((enum hsdo_slot_state)s->states[*slot - 1]);
}

static int64_t int_value(const struct hsdo_spop_data *d)
{
	switch (d->type) {
	case HSDO_SPOP_DATA_INT32:
	case HSDO_SPOP_DATA_INT64:
		return d->i;
	case HSDO_SPOP_DATA_UINT32:
	case HSDO_SPOP_DATA_UINT64:
		return d->u <= (uint64_t)INT64_MAX ? (int64_t)d->u : -1;
	default:
		return -1;
	}
}

static bool is_str(const struct hsdo_spop_data *d)
{
	return d->type == HSDO_SPOP_DATA_STRING || d->type == HSDO_SPOP_DATA_BINARY;
}

static bool name_is(const struct hsdo_spop_bytes *n, const char *lit, size_t len)
{
	return n->len == len && memcmp(n->ptr, lit, len) == 0;
}
#define NAME_IS(n, lit) name_is(n, lit, sizeof(lit) - 1)

/* Read one message; true when it is a response (it carries be_name). */
static bool parse_resp(struct hsdo_spop_msg *msg, struct resp *r)
{
	struct hsdo_spop_arg a;

	memset(r, 0, sizeof(*r));
	r->srv_id = r->status = -1;
	while (hsdo_spop_arg_next(msg, &a) == 1) {
		if (NAME_IS(&a.name, "status"))
			r->status = int_value(&a.value);
		else if (NAME_IS(&a.name, "be_name") && is_str(&a.value))
			r->be = a.value.bytes;
		else if (NAME_IS(&a.name, "srv_name") && is_str(&a.value))
			r->srv = a.value.bytes;
		else if (NAME_IS(&a.name, "srv_id"))
			r->srv_id = int_value(&a.value);
	}
	return r->be.len > 0;
}

static void count_resp(struct spoa *s, const struct resp *r, int64_t now_ms,
		       const char **state)
{
	uint32_t slot;

	*state = resolve(s, r, &slot);
	s->st.responses++;
	(void)hsdo_health_record(s->health, (const char *)r->be.ptr, r->be.len, slot,
				 hsdo_health_class_of(r->status), now_ms);
}

static void on_notify(struct conn *c, const struct hsdo_spop_frame *f, int64_t *now_ms)
{
	struct spoa *s = c->s;
	struct hsdo_spop_iter it, again;
	struct hsdo_spop_msg msg;
	struct hsdo_spop_action act;
	enum hsdo_spop_status st;
	struct resp rs[MAX_RESP], r;
	const char *state = NULL;
	size_t n = 0, room, i;
	bool overflow = false;
	int rc;

	if (hsdo_spop_notify_begin(f, &it, &st) != 0) {
		conn_fail(c, st == HSDO_SPOP_ST_FRAG_NOT_SUPPORTED ? SPOA_ERR_FRAGMENTED :
			  SPOA_ERR_INVALID, st, "invalid NOTIFY frame");
		return;
	}
	again = it;
	/* Count nothing from a frame that turns out malformed: keep the
	 * responses until the end is reached (re-read if there are many). */
	while ((rc = hsdo_spop_msg_next(&it, &msg)) == 1) {
		s->st.messages++;
		if (!parse_resp(&msg, &r))
			continue;
		if (n < MAX_RESP)
			rs[n++] = r;
		else
			overflow = true;
	}
	if (rc < 0) {
		conn_fail(c, SPOA_ERR_INVALID, HSDO_SPOP_ST_INVALID, "malformed NOTIFY payload");
		return;
	}
	if (n > 0 && *now_ms < 0)
		*now_ms = hsdo_clock_mono_ms();
	if (!overflow) {
		for (i = 0; i < n; i++)
			count_resp(s, &rs[i], *now_ms, &state);
	} else {
		while (hsdo_spop_msg_next(&again, &msg) == 1)
			if (parse_resp(&msg, &r))
				count_resp(s, &r, *now_ms, &state);
	}
	memset(&act, 0, sizeof(act));
	act.type = HSDO_SPOP_ACTION_SET_VAR;
	act.scope = HSDO_SPOP_SCOPE_TXN;
	act.name = hsdo_spop_cstr(VAR_NAME);
	act.value.type = HSDO_SPOP_DATA_STRING;
	act.value.bytes = hsdo_spop_cstr(state);
	if (!out_room(c, ACK_ROOM)) {
		conn_fail(c, SPOA_ERR_RESOURCE, HSDO_SPOP_ST_RES, "output buffer bound reached");
		return;
	}
	room = c->out_cap - c->out_len;
	if (room > (size_t)c->max_frame + HSDO_SPOP_LEN_SIZE)
		room = (size_t)c->max_frame + HSDO_SPOP_LEN_SIZE;
	rc = hsdo_spop_ack_encode(f->stream_id, f->frame_id, &act, state != NULL ? 1 : 0,
				  c->out + c->out_len, room);
	if (rc < 0) {
		conn_fail(c, SPOA_ERR_RESOURCE, HSDO_SPOP_ST_RES, "ACK does not fit");
		return;
	}
	c->out_len += (size_t)rc;
	s->st.notifies++;
}

static void on_hello(struct conn *c, const struct hsdo_spop_frame *f)
{
	struct spoa *s = c->s;
	struct hsdo_spop_hello h;
	struct hsdo_spop_agent_hello reply;
	enum hsdo_spop_status st;
	int n;

	if (hsdo_spop_hello_decode(f, &h, &st) != 0) {
		conn_fail(c, st == HSDO_SPOP_ST_NO_VSN || st == HSDO_SPOP_ST_NO_FRAME_SIZE ||
			  st == HSDO_SPOP_ST_NO_CAP ? SPOA_ERR_MISSING_KEY :
			  st == HSDO_SPOP_ST_FRAG_NOT_SUPPORTED ? SPOA_ERR_FRAGMENTED :
			  SPOA_ERR_INVALID, st, "invalid HAPROXY-HELLO");
		return;
	}
	if (hsdo_spop_hello_negotiate(&h, s->p.max_frame_size, &reply, &st) != 0) {
		conn_fail(c, st == HSDO_SPOP_ST_BAD_VSN ? SPOA_ERR_BAD_VERSION :
			  st == HSDO_SPOP_ST_BAD_FRAME_SIZE ? SPOA_ERR_BAD_FRAME_SIZE :
			  SPOA_ERR_INVALID, st, "HAPROXY-HELLO cannot be answered");
		return;
	}
	if (!out_room(c, 256) ||
	    (n = hsdo_spop_agent_hello_encode(&reply, c->out + c->out_len,
					      c->out_cap - c->out_len)) < 0) {
		conn_fail(c, SPOA_ERR_RESOURCE, HSDO_SPOP_ST_RES, "AGENT-HELLO does not fit");
		return;
	}
	c->out_len += (size_t)n;
	c->max_frame = reply.max_frame_size;
	s->st.hellos++;
	if (reply.healthcheck) {
		/* `option spop-check`: HAProxy closes after the AGENT-HELLO. */
		s->st.healthchecks++;
		begin_close(c);
		return;
	}
	c->state = ST_READY;
	hsdo_log_debug("SPOE agent: connection from %s ready, max-frame-size %u", c->peer,
		       (unsigned)c->max_frame);
}

static void on_disconnect(struct conn *c, const struct hsdo_spop_frame *f)
{
	struct hsdo_spop_disconnect d;
	enum hsdo_spop_status st;
	int n;

	if (hsdo_spop_disconnect_decode(f, &d, &st) != 0) {
		conn_fail(c, SPOA_ERR_INVALID, st, "invalid HAPROXY-DISCONNECT");
		return;
	}
	c->s->st.haproxy_disconnects++;
	hsdo_log_debug("SPOE agent: HAProxy at %s disconnects: status %u (%.*s)", c->peer,
		       (unsigned)d.status_code, (int)(d.message.len < 200 ? d.message.len : 200),
		       d.message.len ? (const char *)d.message.ptr : "");
	if (out_room(c, 256)) {
		n = hsdo_spop_agent_disconnect_encode(HSDO_SPOP_ST_NORMAL, NULL, c->out + c->out_len,
						      c->out_cap - c->out_len);
		if (n > 0)
			c->out_len += (size_t)n;
	}
	begin_close(c);
}

static void on_frame(struct conn *c, const struct hsdo_spop_frame *f, int64_t *now_ms)
{
	enum hsdo_spop_status st;

	if (hsdo_spop_frame_check(f, &st) != 0) {
		conn_fail(c, st == HSDO_SPOP_ST_FRAG_NOT_SUPPORTED ? SPOA_ERR_FRAGMENTED :
			  SPOA_ERR_INVALID, st, "invalid frame header");
		return;
	}
	switch (f->type) {
	case HSDO_SPOP_FRAME_NOTIFY:
		if (c->state != ST_READY)
			conn_fail(c, SPOA_ERR_UNEXPECTED, HSDO_SPOP_ST_INVALID, "NOTIFY before HELLO");
		else
			on_notify(c, f, now_ms);
		return;
	case HSDO_SPOP_FRAME_HAPROXY_HELLO:
		if (c->state != ST_HELLO)
			conn_fail(c, SPOA_ERR_UNEXPECTED, HSDO_SPOP_ST_INVALID, "a second HELLO");
		else
			on_hello(c, f);
		return;
	default:   /* HAPROXY-DISCONNECT: frame_check let only 1..3 through */
		on_disconnect(c, f);
		return;
	}
}

/* Handle every complete frame of buf[0..len); keep what is left (a frame
 * cut by the read) in the connection's own buffer, sized to it. */
static void process(struct conn *c, const uint8_t *buf, size_t len)
{
	struct spoa *s = c->s;
	struct hsdo_spop_frame f;
	int64_t now_ms = -1;
	size_t off = 0, left;
	uint8_t *p;
	int rc;

	while (c->state != ST_CLOSING) {
		rc = hsdo_spop_frame_decode(buf + off, len - off, c->max_frame, &f);
		if (rc == -HSDO_EAGAIN)
			break;
		if (rc < 0) {
			conn_fail(c, rc == -HSDO_ETOOBIG ? SPOA_ERR_TOO_BIG : SPOA_ERR_INVALID,
				  hsdo_spop_frame_error_status(rc), rc == -HSDO_ETOOBIG ?
				  "frame larger than max-frame-size" : "invalid frame");
			break;
		}
		off += (size_t)rc;
		on_frame(c, &f, &now_ms);
	}
	if (c->state == ST_CLOSING)
		return;   /* begin_close dropped the input */
	left = len - off;
	if (left == 0) {
		c->in_len = 0;
		buf_release(s, &c->in, &c->in_cap);
		c->frame_start = 0;
		return;
	}
	if (left > c->in_cap) {
		p = hsdo_realloc(c->in, left);
		if (p == NULL) {
			conn_fail(c, SPOA_ERR_RESOURCE, HSDO_SPOP_ST_RES, "out of memory for a frame");
			return;
		}
		s->st.buffer_bytes += left - c->in_cap;
		c->in = p;
		c->in_cap = left;
	}
	memmove(c->in, buf + off, left);
	c->in_len = left;
	if (off > 0 || c->frame_start == 0)
		c->frame_start = ev_now(s->loop);
}

/* ---- libev callbacks ------------------------------------------------------------------- */

static void on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = w->data;
	struct spoa *s = c->s;
	uint8_t *buf = s->scratch;
	ssize_t n;

	(void)loop;
	(void)revents;
	if (c->state == ST_CLOSING) {
		n = recv(c->fd, buf, IN_CAP, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			conn_close(c);
		return;
	}
	/* The cut frame first, then what the socket has after it. */
	if (c->in_len > 0)
		memcpy(buf, c->in, c->in_len);
	n = recv(c->fd, buf + c->in_len, IN_CAP - c->in_len < READ_MAX ? IN_CAP - c->in_len :
		 READ_MAX, 0);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		/* EOF or reset: HAProxy closed (3.x may close idle connections
		 * without a DISCONNECT). */
		conn_close(c);
		return;
	}
	s->st.bytes_in += (uint64_t)n;
	c->last_io = ev_now(s->loop);
	process(c, buf, c->in_len + (size_t)n);
	(void)flush(c);
}

static void on_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = w->data;

	(void)loop;
	(void)revents;
	(void)flush(c);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn *c = w->data;
	const struct spoa_params *p = &c->s->p;
	ev_tstamp now = ev_now(loop), next = p->frame_timeout, t;

	(void)revents;
	switch (c->state) {
	case ST_CLOSING:
		if (now >= c->close_at) {
			conn_close(c);
			return;
		}
		timer_in(c, c->close_at - now);
		return;
	case ST_HELLO:
		if (now - c->accepted >= p->frame_timeout) {
			conn_fail(c, SPOA_ERR_TIMEOUT, HSDO_SPOP_ST_TIMEOUT, "no HELLO in time");
			(void)flush(c);
			return;
		}
		timer_in(c, c->accepted + p->frame_timeout - now);
		return;
	case ST_READY:
		if (c->reading && c->frame_start > 0 && now - c->frame_start >= p->frame_timeout) {
			conn_fail(c, SPOA_ERR_TIMEOUT, HSDO_SPOP_ST_TIMEOUT,
				  "a frame was started and not finished in time");
			(void)flush(c);
			return;
		}
		if (now - c->last_io >= p->idle_timeout) {
			conn_fail(c, SPOA_ERR_TIMEOUT, HSDO_SPOP_ST_TIMEOUT, "idle");
			(void)flush(c);
			return;
		}
		t = c->last_io + p->idle_timeout - now;
		if (t < next)
			next = t;
		if (c->reading && c->frame_start > 0) {
			t = c->frame_start + p->frame_timeout - now;
			if (t < next)
				next = t;
		}
		timer_in(c, next);
		return;
	}
}

static void peer_name(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			const struct sockaddr_in *v4 = (const struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
			port = ntohs(v4->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
			port = ntohs(v6->sin6_port);
		}
	}
	if (strchr(host, ':') != NULL)
		snprintf(buf, len, "[%s]:%u", host, port);
	else
		snprintf(buf, len, "%s:%u", host, port);
}

/* No room: AGENT-DISCONNECT 13 at once, then close. */
static void reject(struct spoa *s, int fd, const char *why)
{
	uint8_t buf[128], sink[512];
	int n = hsdo_spop_agent_disconnect_encode(HSDO_SPOP_ST_RES, why, buf, sizeof(buf));

	s->st.conns_rejected++;
	if (n > 0)
		(void)send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	shutdown(fd, SHUT_WR);
	while (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0)
		;
	close(fd);
}

static void conn_new(struct spoa *s, int fd)
{
	struct conn *c;
	int one = 1;

	c = hsdo_calloc(1, sizeof(*c));
	if (c == NULL) {
		reject(s, fd, "resource allocation error");
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->s = s;
	c->fd = fd;
	c->state = ST_HELLO;
	c->max_frame = s->p.max_frame_size;
	c->accepted = c->last_io = ev_now(s->loop);
	peer_name(fd, c->peer, sizeof(c->peer));
	ev_io_init(&c->rio, on_read, fd, EV_READ);
	c->rio.data = c;
	ev_io_init(&c->wio, on_write, fd, EV_WRITE);
	c->wio.data = c;
	ev_init(&c->timer, on_timer);
	c->timer.data = c;
	set_reading(c, true);
	timer_in(c, s->p.frame_timeout);
	c->next = s->conns;
	if (s->conns != NULL)
		s->conns->prev = c;
	s->conns = c;
	s->st.conns_open++;
	s->st.conns_accepted++;
	hsdo_log_debug("SPOE agent: connection from %s", c->peer);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct spoa *s = w->data;
	int i, fd;

	(void)revents;
	for (i = 0; i < ACCEPT_BATCH; i++) {
		fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* Level-triggered: pause, or the loop spins. */
				hsdo_log_warn("SPOE agent: cannot accept: %s; pausing %.1f s",
					      strerror(errno), ACCEPT_PAUSE);
				ev_io_stop(loop, &s->lio);
				ev_timer_stop(loop, &s->retry);
				ev_timer_set(&s->retry, ACCEPT_PAUSE, 0.);
				ev_timer_start(loop, &s->retry);
			}
			return;
		}
		if (s->st.conns_open >= s->p.max_conns) {
			char peer[PEER_LEN];

			peer_name(fd, peer, sizeof(peer));
			if (s->st.conns_rejected == 0)
				hsdo_log_warn("SPOE agent: %u connections open, refusing %s (and "
					      "the next ones over the limit, counted in "
					      "hsdo_spoe_connections_rejected_total)",
					      s->p.max_conns, peer);
			else
				hsdo_log_debug("SPOE agent: %u connections open, refusing %s",
					       s->p.max_conns, peer);
			reject(s, fd, "too many connections");
			continue;
		}
		conn_new(s, fd);
	}
}

/* ---- the listener ------------------------------------------------------------------------ */

static int listen_open(struct spoa *s, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[256], port[8];
	uint16_t p;
	int fd = -1, one = 1, rc, saved = 0;

	if (hsdo_config_split_hostport(s->listen, host, sizeof(host), &p) != 0)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "'%s' is not host:port", s->listen);
	snprintf(port, sizeof(port), "%u", (unsigned)p);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0)
		return hsdo_seterr(err, errlen, -HSDO_EIO, "%s: %s", host, gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return hsdo_seterr(err, errlen, -HSDO_EIO, "%s", strerror(saved ? saved : EINVAL));
	s->lfd = fd;
	s->st.port = p;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		s->st.port = ntohs(ss.ss_family == AF_INET6 ?
				   ((struct sockaddr_in6 *)&ss)->sin6_port :
				   ((struct sockaddr_in *)&ss)->sin_port);
	ev_io_init(&s->lio, on_accept, fd, EV_READ);
	s->lio.data = s;
	ev_io_start(s->loop, &s->lio);
	s->st.listening = true;
	return 0;
}

/* Bind now, or log (once per distinct reason) and try again later. */
static void listen_try(struct spoa *s)
{
	char err[256] = "";

	if (listen_open(s, err, sizeof(err)) == 0) {
		hsdo_log_info("SPOE agent listening on %s (%u connections at most, max-frame-size %u)",
			      s->listen, s->p.max_conns, (unsigned)s->p.max_frame_size);
		s->last_listen_error[0] = '\0';
		return;
	}
	if (strcmp(err, s->last_listen_error) != 0) {
		hsdo_log_err("SPOE agent: cannot listen on %s: %s (SPOA_LISTEN); HAProxy serves "
			     "without it (option set-on-error); retrying every %.0f s",
			     s->listen, err, s->p.retry_interval);
		snprintf(s->last_listen_error, sizeof(s->last_listen_error), "%s", err);
	}
	ev_timer_set(&s->retry, s->p.retry_interval, 0.);
	ev_timer_start(s->loop, &s->retry);
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct spoa *s = w->data;

	(void)revents;
	if (s->st.listening)
		ev_io_start(loop, &s->lio);   /* the pause after EMFILE ended */
	else
		listen_try(s);
}

/* ---- public ----------------------------------------------------------------------------- */

void spoa_set_config(struct spoa *s, const struct hsdo_config *cfg)
{
	const struct hsdo_config_backends *l = &cfg->client_haproxy_backend_list;
	const struct hsdo_config_backend *fb = &cfg->client_haproxy_fallback_backend;
	struct spoa_backend *v;
	size_t i, n = l->n + (fb->name[0] != '\0');

	if (s == NULL)
		return;
	if (strcmp(cfg->spoa_listen, s->listen) != 0)
		hsdo_log_warn("SPOA_LISTEN changed: the SPOE agent stays on %s until hsdo-agent "
			      "restarts", s->listen);
	v = n > 0 ? hsdo_calloc(n, sizeof(*v)) : NULL;
	if (n > 0 && v == NULL) {
		hsdo_log_err("SPOE agent: out of memory; keeping the previous backends");
		return;
	}
	for (i = 0; i < l->n; i++) {
		snprintf(v[i].name, sizeof(v[i].name), "%s", l->v[i].name);
		snprintf(v[i].base, sizeof(v[i].base), "%s", l->v[i].base_name);
	}
	if (fb->name[0] != '\0') {
		snprintf(v[i].name, sizeof(v[i].name), "%s", fb->name);
		snprintf(v[i].base, sizeof(v[i].base), "%s", fb->base_name);
	}
	for (i = 0; i < n; i++)
		v[i].name_len = strlen(v[i].name);
	hsdo_free(s->backends);
	s->backends = v;
	s->nbackends = n;
}

void spoa_set_table(struct spoa *s, const struct hsdo_table *t)
{
	uint8_t *states;
	size_t i;

	if (s == NULL)
		return;
	if (t == NULL || t->n == 0) {
		s->have_table = false;
		return;
	}
	if (t->n > s->nstates) {
		states = hsdo_realloc(s->states, t->n);
		if (states == NULL) {
			hsdo_log_err("SPOE agent: out of memory; slot states are those of the "
				     "previous table");
			return;
		}
		s->states = states;
	}
	for (i = 0; i < t->n; i++)
		s->states[i] = (uint8_t)t->slots[i].state;
	s->nstates = t->n;
	s->have_table = true;
}

int spoa_start(struct ev_loop *loop, const struct hsdo_config *cfg,
		    const struct spoa_params *p, struct spoa **out,
		    char *err, size_t errlen)
{
	struct spoa_params def;
	struct spoa *s;
	char host[256];
	uint16_t port;
	int rc;

	if (p == NULL) {
		spoa_params_default(&def);
		/* The window fleet health judges slots on (HEALTH_WINDOW). */
		if (cfg->health_window_ms > 0)
			def.health.window_ms = cfg->health_window_ms;
		p = &def;
	}
	if (p->max_frame_size < HSDO_SPOP_FRAME_MIN || p->max_frame_size > FRAME_MAX_OURS ||
	    p->max_conns < 1 || !(p->frame_timeout > 0) || !(p->idle_timeout > 0) ||
	    !(p->linger_timeout > 0) || !(p->retry_interval > 0) || p->out_high < 4096 ||
	    p->buffers_max < p->out_high)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "invalid SPOE agent parameters");
	if (cfg->spoa_listen == NULL || strlen(cfg->spoa_listen) >= sizeof(s->listen) ||
	    hsdo_config_split_hostport(cfg->spoa_listen, host, sizeof(host), &port) != 0)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "'%s' is not host:port",
				   cfg->spoa_listen ? cfg->spoa_listen : "");
	s = hsdo_calloc(1, sizeof(*s));
	if (s == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	s->loop = loop;
	s->p = *p;
	s->lfd = -1;
	snprintf(s->listen, sizeof(s->listen), "%s", cfg->spoa_listen);
	s->scratch = hsdo_malloc(IN_CAP);
	if (s->scratch == NULL) {
		hsdo_free(s);
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	}
	rc = hsdo_health_new(&p->health, hsdo_clock_mono_ms(), &s->health);
	if (rc != 0) {
		hsdo_free(s->scratch);
		hsdo_free(s);
		return hsdo_seterr(err, errlen, rc, "response aggregation: %s", hsdo_strerror(rc));
	}
	spoa_set_config(s, cfg);
	ev_init(&s->retry, on_retry);
	s->retry.data = s;
	listen_try(s);
	*out = s;
	return 0;
}

void spoa_stop(struct spoa *s)
{
	uint8_t buf[64];
	int n;

	if (s == NULL)
		return;
	/* A polite goodbye where nothing else is pending; HAProxy reconnects
	 * to the next agent that listens. */
	n = hsdo_spop_agent_disconnect_encode(HSDO_SPOP_ST_NORMAL, NULL, buf, sizeof(buf));
	while (s->conns != NULL) {
		struct conn *c = s->conns;

		if (c->state == ST_READY && c->out_len == c->out_off && n > 0)
			(void)send(c->fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
		conn_close(c);
	}
	ev_timer_stop(s->loop, &s->retry);
	if (s->lfd >= 0) {
		ev_io_stop(s->loop, &s->lio);
		close(s->lfd);
	}
	hsdo_health_free(s->health);
	hsdo_free(s->backends);
	hsdo_free(s->states);
	hsdo_free(s->scratch);
	hsdo_free(s);
}

void spoa_get_stats(const struct spoa *s, struct spoa_stats *out)
{
	if (s == NULL) {
		memset(out, 0, sizeof(*out));
		return;
	}
	*out = s->st;
}

const struct hsdo_health *spoa_health(const struct spoa *s)
{
	return s != NULL ? s->health : NULL;
}
