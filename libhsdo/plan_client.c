/* Client planner: desired slot table + HAProxy servers state -> minimal
 * Runtime API commands. Linear in slots x backends plus state lines: the
 * HAProxy state is indexed once by (backend, slot number). */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/plan_client.h"

#define NO_SERVER UINT32_MAX

/* Per-slot verdict, computed once before the per-backend pass. */
#define SLOT_WANT_PRIMARY  0x01u
#define SLOT_WANT_FALLBACK 0x02u
#define SLOT_INVALID       0x04u

/* The longest tail after "set server <B>/<base>": slot digits, then
 * " addr <IPv6> port 65535". */
#define CMD_TAIL_MAX (10 + 6 + (HSDO_IP_LEN - 1) + 6 + 5)

struct backend {
	const struct hsdo_plan_client_backend *def;
	bool primary;
	bool seen;                     /* some state line names this backend */
	char prefix[HSDO_PLAN_CLIENT_LINE_LEN]; /* "set server <B>/<base>", escaped */
	uint32_t *idx;                 /* slot-1 -> index in the state, or NO_SERVER */
};

struct plan {
	const struct hsdo_table *desired;
	const struct hsdo_plan_client_settings *st;
	const struct hsdo_servers_state *hap;
	struct backend *bk;
	size_t nbk;
	uint32_t *idx;                 /* nbk * desired->n */
	unsigned char *flags;          /* desired->n */
	struct hsdo_plan_client_result *out;
	size_t cmdcap, skipcap;
	size_t *off;                   /* cmds[i].line = out->text + off[i], once done */
	size_t offcap, textlen, textcap;
};

static const char *const op_str[HSDO_CMD_OP_COUNT] = {
	[HSDO_CMD_ADDR] = "addr",
	[HSDO_CMD_WEIGHT] = "weight",
	[HSDO_CMD_STATE_READY] = "state ready",
	[HSDO_CMD_STATE_DRAIN] = "state drain",
	[HSDO_CMD_STATE_MAINT] = "state maint",
};

const char *hsdo_plan_client_op_str(enum hsdo_plan_client_op op)
{
	if ((unsigned)op >= HSDO_CMD_OP_COUNT)
		return "unknown";
	return op_str[op];
}

/* ---- output ------------------------------------------------------------------- */

/* Grow *arr (of *cap elements of size sz) so one more fits. */
static int grow(void **arr, size_t *cap, size_t n, size_t sz)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	p = hsdo_reallocarray(*arr, ncap, sz);
	if (p == NULL)
		return -HSDO_ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* Append one command line to the result's text; its offset goes to
 * p->off[ncmds] (the slot grow() just made room for). */
static int text_append(struct plan *p, const char *line)
{
	struct hsdo_plan_client_result *r = p->out;
	size_t len = strlen(line) + 1, ncap;
	char *t;

	if (p->textcap - p->textlen < len) {
		ncap = p->textcap ? p->textcap * 2 : 4096;
		while (ncap - p->textlen < len)
			ncap *= 2;
		t = hsdo_realloc(r->text, ncap);
		if (t == NULL)
			return -HSDO_ENOMEM;
		r->text = t;
		p->textcap = ncap;
	}
	memcpy(r->text + p->textlen, line, len);
	p->off[r->ncmds] = p->textlen;
	p->textlen += len;
	return 0;
}

static int add_skip(struct plan *p, uint32_t slot, const char *backend,
	const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int add_skip(struct plan *p, uint32_t slot, const char *backend,
	const char *fmt, ...)
{
	struct hsdo_plan_client_result *r = p->out;
	struct hsdo_plan_client_skip *s;
	va_list ap;
	int rc;

	rc = grow((void **)&r->skips, &p->skipcap, r->nskips, sizeof(*r->skips));
	if (rc != 0)
		return rc;
	s = &r->skips[r->nskips++];
	s->slot = slot;
	s->backend = backend;
	va_start(ap, fmt);
	(void)vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
	va_end(ap);
	return 0;
}

/* Append "<prefix><slot><tail>" as a command. Lengths were bounded when the
 * prefixes were built, so the line always fits. */
static int add_cmd(struct plan *p, const struct backend *b, uint32_t slot,
	enum hsdo_plan_client_op op, const char *ip, unsigned port, unsigned weight)
{
	struct hsdo_plan_client_result *r = p->out;
	struct hsdo_plan_client_cmd *c;
	char eip[HSDO_IP_LEN * 2], line[HSDO_PLAN_CLIENT_LINE_LEN];
	int rc;

	switch (op) {
	case HSDO_CMD_ADDR:
		if (hsdo_rtapi_escape(eip, sizeof(eip), ip) < 0)
			return -HSDO_EINVAL; /* unreachable: ip is a valid literal */
		rc = snprintf(line, sizeof(line), "%s%u addr %s port %u",
			b->prefix, slot, eip, port);
		break;
	case HSDO_CMD_WEIGHT:
		rc = snprintf(line, sizeof(line), "%s%u weight %u",
			b->prefix, slot, weight);
		break;
	default:
		rc = snprintf(line, sizeof(line), "%s%u %s",
			b->prefix, slot, op_str[op]);
		break;
	}
	if (rc < 0 || (size_t)rc >= sizeof(line))
		return -HSDO_EINVAL;
	if ((rc = grow((void **)&r->cmds, &p->cmdcap, r->ncmds, sizeof(*r->cmds))) != 0 ||
	    (rc = grow((void **)&p->off, &p->offcap, r->ncmds, sizeof(*p->off))) != 0 ||
	    (rc = text_append(p, line)) != 0)
		return rc;
	c = &r->cmds[r->ncmds];
	c->op = op;
	c->slot = slot;
	c->backend = b->def->name;
	c->line = NULL;                /* set once the text stops moving */
	r->ncmds++;
	return 0;
}

/* ---- settings and index ------------------------------------------------------ */

static int setup_backend(struct backend *b, const struct hsdo_plan_client_backend *def,
	bool primary)
{
	char ename[HSDO_PLAN_CLIENT_LINE_LEN], ebase[HSDO_PLAN_CLIENT_LINE_LEN];
	int nl, nb, rc;

	if (def->name == NULL || def->base_name == NULL || def->name[0] == '\0' ||
	    def->base_name[0] == '\0')
		return -HSDO_EINVAL;
	nl = hsdo_rtapi_escape(ename, sizeof(ename), def->name);
	nb = hsdo_rtapi_escape(ebase, sizeof(ebase), def->base_name);
	if (nl < 0 || nb < 0)
		return -HSDO_EINVAL;
	rc = snprintf(b->prefix, sizeof(b->prefix), "set server %s/%s", ename, ebase);
	if (rc < 0 || (size_t)rc + CMD_TAIL_MAX >= sizeof(b->prefix))
		return -HSDO_EINVAL;
	b->def = def;
	b->primary = primary;
	b->seen = false;
	return 0;
}

static int setup_backends(struct plan *p)
{
	const struct hsdo_plan_client_settings *st = p->st;
	size_t i, j;
	int rc;

	p->nbk = st->nprimary + (st->fallback != NULL ? 1 : 0);
	if (p->nbk == 0 || p->nbk > HSDO_PLAN_CLIENT_BACKENDS_MAX ||
	    (st->nprimary > 0 && st->primary == NULL) ||
	    (st->nasg > 0 && st->asg_names == NULL))
		return -HSDO_EINVAL;
	p->bk = hsdo_calloc(p->nbk, sizeof(*p->bk));
	if (p->bk == NULL)
		return -HSDO_ENOMEM;
	for (i = 0; i < st->nprimary; i++)
		if ((rc = setup_backend(&p->bk[i], &st->primary[i], true)) != 0)
			return rc;
	if (st->fallback != NULL &&
	    (rc = setup_backend(&p->bk[i], st->fallback, false)) != 0)
		return rc;
	/* The same backend twice would get contradicting commands. */
	for (i = 0; i < p->nbk; i++)
		for (j = i + 1; j < p->nbk; j++)
			if (strcmp(p->bk[i].def->name, p->bk[j].def->name) == 0)
				return -HSDO_EINVAL;
	return 0;
}

static int build_index(struct plan *p)
{
	const struct hsdo_servers_state *h = p->hap;
	size_t n = p->desired->n, i, b, k;
	struct backend *last = NULL;

	if (n > 0) {
		p->idx = hsdo_reallocarray(NULL, p->nbk, n * sizeof(*p->idx));
		if (p->idx == NULL)
			return -HSDO_ENOMEM;
		for (k = 0; k < p->nbk * n; k++)
			p->idx[k] = NO_SERVER;
	}
	for (b = 0; b < p->nbk; b++)
		p->bk[b].idx = p->idx != NULL ? p->idx + b * n : NULL;
	for (i = 0; i < h->n; i++) {
		const struct hsdo_srv_state *s = &h->srv[i];
		struct backend *bk = NULL;
		uint32_t slot;

		/* State lines come grouped by backend: try the last match first. */
		if (last != NULL && strcmp(s->be_name, last->def->name) == 0) {
			bk = last;
		} else {
			for (b = 0; b < p->nbk; b++) {
				if (strcmp(s->be_name, p->bk[b].def->name) == 0) {
					bk = &p->bk[b];
					break;
				}
			}
		}
		if (bk == NULL)
			continue;
		last = bk;
		bk->seen = true;
		if (i >= NO_SERVER)
			continue;
		if (hsdo_slot_from_name(bk->def->base_name, s->srv_name, strlen(s->srv_name),
					(uint32_t)n, &slot) == 0 && bk->idx[slot - 1] == NO_SERVER)
			bk->idx[slot - 1] = (uint32_t)i;
	}
	return 0;
}

/* ---- per-slot checks ---------------------------------------------------------- */

static bool in_asgs(const struct hsdo_plan_client_settings *st, const char *group)
{
	size_t i;

	for (i = 0; i < st->nasg; i++)
		if (st->asg_names[i] != NULL && strcmp(st->asg_names[i], group) == 0)
			return true;
	return false;
}

/* Printable, bounded copy of a desired field for a skip reason. */
static const char *show_field(char *out, size_t outlen, const char *s, size_t max)
{
	size_t i, len = strnlen(s, max);

	for (i = 0; i < len && i + 1 < outlen; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[i] = '\0';
	return out;
}

/* Validate every used slot and decide which backends want it. */
static int classify_slots(struct plan *p)
{
	const struct hsdo_plan_client_settings *st = p->st;
	const char *last_group = NULL;
	bool last_in = false;
	size_t i, b;
	char txt[64];
	int rc;

	if (p->desired->n == 0)
		return 0;
	p->flags = hsdo_calloc(p->desired->n, 1);
	if (p->flags == NULL)
		return -HSDO_ENOMEM;
	for (i = 0; i < p->desired->n; i++) {
		const struct hsdo_slot *s = &p->desired->slots[i];
		uint32_t id = (uint32_t)(i + 1);
		unsigned char f = 0;
		bool in;

		if (s->id != id) {
			p->flags[i] = SLOT_INVALID;
			rc = add_skip(p, id, NULL, "slot %u: table entry has id %u", (unsigned)id,
				(unsigned)s->id);
			if (rc != 0)
				return rc;
			continue;
		}
		if (s->state == HSDO_SLOT_FREE)
			continue;
		if (s->state != HSDO_SLOT_ACTIVE && s->state != HSDO_SLOT_DRAINING &&
		    s->state != HSDO_SLOT_EJECTED) {
			rc = add_skip(p, id, NULL, "slot %u: unknown state %d", (unsigned)id,
				(int)s->state);
			p->flags[i] = SLOT_INVALID;
			if (rc != 0)
				return rc;
			continue;
		}
		if (memchr(s->ip, '\0', sizeof(s->ip)) == NULL || !hsdo_ip_valid(s->ip)) {
			p->flags[i] = SLOT_INVALID;
			rc = add_skip(p, id, NULL, "slot %u: invalid address '%s'", (unsigned)id,
				show_field(txt, sizeof(txt), s->ip, sizeof(s->ip)));
			if (rc != 0)
				return rc;
			continue;
		}
		if (s->weight > HSDO_WEIGHT_MAX) {
			p->flags[i] = SLOT_INVALID;
			rc = add_skip(p, id, NULL, "slot %u: invalid weight %u (max %u)", (unsigned)id,
				(unsigned)s->weight, HSDO_WEIGHT_MAX);
			if (rc != 0)
				return rc;
			continue;
		}
		if (!st->dedicated_asg) {
			in = true;
		} else {
			const char *g = memchr(s->group, '\0', sizeof(s->group)) ? s->group : "";

			if (last_group == NULL || strcmp(g, last_group) != 0) {
				last_in = in_asgs(st, g);
				last_group = g;
			}
			in = last_in;
		}
		if (in) {
			f = SLOT_WANT_PRIMARY;
			if (st->fallback != NULL && st->all_in_fallback)
				f |= SLOT_WANT_FALLBACK;
		} else if (st->fallback != NULL) {
			f = SLOT_WANT_FALLBACK;
		}
		/* A wanting backend with no port and no slot port: no usable port. */
		for (b = 0; s->port == 0 && b < p->nbk; b++) {
			const struct backend *bk = &p->bk[b];

			if ((f & (bk->primary ? SLOT_WANT_PRIMARY : SLOT_WANT_FALLBACK)) &&
			    bk->def->port == 0) {
				f = SLOT_INVALID;
				rc = add_skip(p, id, NULL,
					"slot %u: invalid port 0 (no slot port and backend '%s' has none)",
					(unsigned)id, bk->def->name);
				if (rc != 0)
					return rc;
				break;
			}
		}
		p->flags[i] = f;
	}
	return 0;
}

/* ---- the plan ------------------------------------------------------------------ */

/* Same address, textually or once parsed (HAProxy prints the canonical form;
 * the table may not). An empty HAProxy address ('-') never matches. */
static bool same_addr(const char *want, const char *have)
{
	unsigned char a[16], b[16];

	if (strcmp(want, have) == 0)
		return true;
	if (inet_pton(AF_INET, want, a) == 1)
		return inet_pton(AF_INET, have, b) == 1 && memcmp(a, b, 4) == 0;
	if (inet_pton(AF_INET6, want, a) == 1)
		return inet_pton(AF_INET6, have, b) == 1 && memcmp(a, b, 16) == 0;
	return false;
}

static int plan_server(struct plan *p, const struct backend *b, size_t i)
{
	const struct hsdo_slot *s = &p->desired->slots[i];
	const struct hsdo_srv_state *h;
	unsigned char f = p->flags[i];
	uint32_t id = (uint32_t)(i + 1);
	unsigned admin, port;
	bool wanted;
	int rc;

	if (f & SLOT_INVALID)
		return 0;
	if (b->idx[i] == NO_SERVER)
		return add_skip(p, id, b->def->name, "%s/%s%u: server not in HAProxy's state",
			b->def->name, b->def->base_name, (unsigned)id);
	h = &p->hap->srv[b->idx[i]];
	admin = h->admin_state;
	wanted = (f & (b->primary ? SLOT_WANT_PRIMARY : SLOT_WANT_FALLBACK)) != 0;
	if (!wanted || s->state == HSDO_SLOT_FREE) {
		if (admin & HSDO_RTAPI_ADMF_MAINT)
			return 0;
		return add_cmd(p, b, id, HSDO_CMD_STATE_MAINT, NULL, 0, 0);
	}
	port = s->port != 0 ? s->port : b->def->port;
	if (port != h->port || !same_addr(s->ip, h->addr)) {
		rc = add_cmd(p, b, id, HSDO_CMD_ADDR, s->ip, port, 0);
		if (rc != 0)
			return rc;
	}
	if (s->state == HSDO_SLOT_DRAINING || s->state == HSDO_SLOT_EJECTED) {
		/* `state drain` also lifts FMAINT, so a maint slot drains. An
		 * ejected slot drains the same way: its instance is still
		 * there, and it comes back with `state ready`. */
		if ((admin & HSDO_RTAPI_ADMF_FDRAIN) && !(admin & HSDO_RTAPI_ADMF_FMAINT))
			return 0;
		return add_cmd(p, b, id, HSDO_CMD_STATE_DRAIN, NULL, 0, 0);
	}
	if (h->uweight != s->weight) {
		rc = add_cmd(p, b, id, HSDO_CMD_WEIGHT, NULL, 0, s->weight);
		if (rc != 0)
			return rc;
	}
	/* `state ready` clears FMAINT and FDRAIN only. IDRAIN, IMAINT and RMAINT
	 * come from a tracked server or DNS; re-sending ready every pass would
	 * never converge, so report them instead. */
	if (admin & (HSDO_RTAPI_ADMF_FMAINT | HSDO_RTAPI_ADMF_FDRAIN)) {
		rc = add_cmd(p, b, id, HSDO_CMD_STATE_READY, NULL, 0, 0);
		if (rc != 0)
			return rc;
	}
	if (admin & (HSDO_RTAPI_ADMF_IMAINT | HSDO_RTAPI_ADMF_RMAINT))
		return add_skip(p, id, b->def->name,
			"%s/%s%u: maintenance from a tracked server or DNS (admin 0x%02x) "
			"cannot be cleared with 'state ready'",
			b->def->name, b->def->base_name, (unsigned)id, admin);
	return 0;
}

static int plan_all(struct plan *p)
{
	size_t b, i;
	int rc;

	if ((rc = setup_backends(p)) != 0)
		return rc;
	if ((rc = classify_slots(p)) != 0)
		return rc;
	if ((rc = build_index(p)) != 0)
		return rc;
	for (b = 0; b < p->nbk; b++) {
		const struct backend *bk = &p->bk[b];

		if (!bk->seen) {
			rc = add_skip(p, 0, bk->def->name,
				"backend '%s' not in HAProxy's state: nothing planned for it",
				bk->def->name);
			if (rc != 0)
				return rc;
			continue;
		}
		for (i = 0; i < p->desired->n; i++)
			if ((rc = plan_server(p, bk, i)) != 0)
				return rc;
	}
	return 0;
}

int hsdo_plan_client(const struct hsdo_table *desired,
	const struct hsdo_plan_client_settings *st,
	const struct hsdo_servers_state *haproxy,
	struct hsdo_plan_client_result *out)
{
	struct plan p;
	int rc;

	if (out == NULL)
		return -HSDO_EINVAL;
	memset(out, 0, sizeof(*out));
	if (desired == NULL || st == NULL || haproxy == NULL ||
	    (desired->n > 0 && desired->slots == NULL) || desired->n > HSDO_SLOTS_MAX ||
	    (haproxy->n > 0 && haproxy->srv == NULL))
		return -HSDO_EINVAL;
	memset(&p, 0, sizeof(p));
	p.desired = desired;
	p.st = st;
	p.hap = haproxy;
	p.out = out;
	rc = plan_all(&p);
	if (rc == 0)
		for (size_t i = 0; i < out->ncmds; i++)
			out->cmds[i].line = out->text + p.off[i];
	hsdo_free(p.off);
	hsdo_free(p.flags);
	hsdo_free(p.idx);
	hsdo_free(p.bk);
	if (rc != 0)
		hsdo_plan_client_result_free(out);
	return rc;
}

void hsdo_plan_client_result_free(struct hsdo_plan_client_result *r)
{
	if (r == NULL)
		return;
	hsdo_free(r->cmds);
	hsdo_free(r->skips);
	hsdo_free(r->text);
	memset(r, 0, sizeof(*r));
}
