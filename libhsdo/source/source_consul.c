/* The Consul source: /v1/health/service/<name>?passing for each configured
 * service, with blocking queries (index + wait), over the HTTP transport.
 * The reply parser (cJSON) is pure. See source.h and docs/sources.md. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/http.h"
#include "hsdo/source.h"
#include "hsdo/source_consul.h"
#include "hsdo/url.h"
#include "json.h"
#include "source_int.h"

#define ERR_LEN       512
#define URL_MAX       8192
#define TOKEN_MAX     4096
#define WAIT_DEFAULT_MS 30000L
#define WAIT_MAX_MS   600000L          /* Consul caps wait at 10 minutes */
#define BODY_SHOW     160

/* ---- the reply parser (pure) ------------------------------------------------------- */

static int parse_json(const char *buf, size_t len, cJSON **root, const char *service,
		      char *err, size_t errlen)
{
	struct hsdo_json_error e;
	int rc = hsdo_json_parse(buf, len, HSDO_HTTP_BODY_MAX_DEFAULT, root, &e);

	if (rc == 0)
		return 0;
	switch (e.fault) {
	case HSDO_JSON_EMPTY:
		return hsdo_seterr(err, errlen, rc, "consul %s: empty reply", service);
	case HSDO_JSON_TOOBIG:
		return hsdo_seterr(err, errlen, rc, "consul %s: reply of %zu bytes", service, len);
	case HSDO_JSON_NOMEM:
		return hsdo_seterr(err, errlen, rc, "out of memory");
	case HSDO_JSON_INVALID:
		return hsdo_seterr(err, errlen, rc, "consul %s: invalid JSON at byte %zu", service,
				   e.at);
	default:
		return hsdo_seterr(err, errlen, rc, "consul %s: trailing data at byte %zu", service,
				   e.at);
	}
}

/* A string member: NULL when absent or JSON null, "" marks a wrong type. */
static const char *str_member(const cJSON *o, const char *name, bool *bad)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (v == NULL || cJSON_IsNull(v))
		return NULL;
	if (!cJSON_IsString(v) || v->valuestring == NULL) {
		*bad = true;
		return NULL;
	}
	return v->valuestring;
}

static bool id_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* One entry; 1 = listed, 0 = skipped (reason in why), < 0 = error. */
static int parse_entry(const cJSON *e, size_t idx, const char *service, struct hsdo_instance *in,
		       char *why, size_t whylen, char *err, size_t errlen)
{
	const cJSON *node, *svc, *port;
	const char *nname, *sid, *saddr, *naddr, *ip;
	bool bad = false;
	char show[64];
	int n;

	memset(in, 0, sizeof(*in));
	if (!cJSON_IsObject(e))
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "consul %s: entry %zu is not an object",
				   service, idx);
	node = cJSON_GetObjectItemCaseSensitive(e, "Node");
	svc = cJSON_GetObjectItemCaseSensitive(e, "Service");
	if (!cJSON_IsObject(node) || !cJSON_IsObject(svc))
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "consul %s: entry %zu: missing Node or Service object", service, idx);
	nname = str_member(node, "Node", &bad);
	sid = str_member(svc, "ID", &bad);
	saddr = str_member(svc, "Address", &bad);
	naddr = str_member(node, "Address", &bad);
	if (bad || nname == NULL || nname[0] == '\0' || sid == NULL || sid[0] == '\0')
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "consul %s: entry %zu: Node.Node and Service.ID must be non-empty "
				   "strings (Addresses strings)", service, idx);
	port = cJSON_GetObjectItemCaseSensitive(svc, "Port");
	if (port != NULL && !cJSON_IsNull(port)) {
		if (!cJSON_IsNumber(port) || port->valuedouble < 0 || port->valuedouble > 65535 ||
		    port->valuedouble != (double)(int)port->valuedouble)
			return hsdo_seterr(err, errlen, -HSDO_EPROTO,
					   "consul %s: entry %zu: Service.Port is not a port number",
					   service, idx);
		in->port = (uint16_t)port->valuedouble;
	}
	n = snprintf(in->id, sizeof(in->id), "%s/%s", nname, sid);
	if (n < 0 || (size_t)n >= sizeof(in->id) || !id_ok(in->id)) {
		char show2[64];

		snprintf(why, whylen, "consul %.64s: node %s service %s: no usable instance id "
			 "(printable ASCII without spaces, at most %d bytes)", service,
			 hsdo_source_show(nname, strlen(nname), show, sizeof(show)),
			 hsdo_source_show(sid, strlen(sid), show2, sizeof(show2)), HSDO_NAME_LEN - 1);
		return 0;
	}
	ip = saddr != NULL && saddr[0] != '\0' ? saddr : naddr;
	if (ip == NULL || ip[0] == '\0' || strlen(ip) >= sizeof(in->ip) || !hsdo_ip_valid(ip)) {
		snprintf(why, whylen, "consul %.64s: %.100s: address %s is not an IP address "
			 "(HAProxy needs one)", service, in->id,
			 ip ? hsdo_source_show(ip, strlen(ip), show, sizeof(show)) : "(none)");
		return 0;
	}
	memcpy(in->ip, ip, strlen(ip) + 1);
	memcpy(in->group, service, strlen(service) + 1);
	return 1;
}

int hsdo_source_consul_parse(const char *buf, size_t len, const char *service,
			     struct hsdo_source_result *out, char *err, size_t errlen)
{
	struct hsdo_source_builder b;
	struct hsdo_source_group *g, saved;
	struct hsdo_instance in;
	char why[HSDO_SOURCE_WARNING_LEN];
	const cJSON *e;
	cJSON *root = NULL;
	size_t n0, g0, idx = 0;
	const void *inst0, *groups0;
	bool had_warning;
	int rc;

	if (out == NULL || service == NULL || service[0] == '\0')
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "invalid arguments");
	if (strlen(service) >= HSDO_GROUP_LEN)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "service name longer than %d bytes",
				   HSDO_GROUP_LEN - 1);
	rc = parse_json(buf, len, &root, service, err, errlen);
	if (rc != 0)
		return rc;
	if (!cJSON_IsArray(root)) {
		cJSON_Delete(root);
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "consul %s: reply is not a JSON array",
				   service);
	}
	/* Undo on error: the capacities are unknown here, so count on
	 * grow's doubling from the current n (capacity >= n). */
	b.r = out;
	b.cap = out->n;
	b.gcap = out->ngroups;
	b.acap = out->nawaiting;
	n0 = out->n;
	g0 = out->ngroups;
	inst0 = out->instances;
	groups0 = out->groups;
	had_warning = out->warning[0] != '\0';
	g = hsdo_source_group(&b, service, &rc, err, errlen);
	if (g == NULL) {
		cJSON_Delete(root);
		return rc;
	}
	saved = *g;
	cJSON_ArrayForEach(e, root) {
		idx++;
		why[0] = '\0';
		rc = parse_entry(e, idx, service, &in, why, sizeof(why), err, errlen);
		if (rc < 0)
			break;
		g->seen++;   /* g stays valid: only instances grow below */
		if (rc == 0) {
			g->skipped++;
			hsdo_source_warn(out, "%s", why);
			continue;
		}
		g->ready++;
		rc = hsdo_source_push(&b, &in, err, errlen);
		if (rc != 0)
			break;
	}
	cJSON_Delete(root);
	if (rc < 0) {
		out->n = n0;
		if (inst0 == NULL) {          /* leave no allocation behind */
			hsdo_free(out->instances);
			out->instances = NULL;
		}
		if (groups0 == NULL) {
			hsdo_free(out->groups);
			out->groups = NULL;
		}
		if (out->ngroups > g0)
			out->ngroups = g0;
		else
			for (g = out->groups; g < out->groups + out->ngroups; g++)
				if (strcmp(g->name, service) == 0)
					*g = saved;
		if (!had_warning)
			out->warning[0] = '\0';
		return rc;
	}
	return 0;
}

uint64_t hsdo_source_consul_next_index(uint64_t prev, const char *header)
{
	uint64_t v = 0;
	const char *p;

	if (header == NULL || header[0] == '\0')
		return 0;
	for (p = header; *p != '\0'; p++) {
		uint64_t d = (uint64_t)(*p - '0');

		if (*p < '0' || *p > '9' || v > UINT64_MAX / 10 ||
		    (v == UINT64_MAX / 10 && d > UINT64_MAX % 10))
			return 0;
		v = v * 10 + d;
	}
	if (v < prev)
		return 0;   /* went backwards: start over (Consul's rule) */
	return v == 0 ? 1 : v;  /* never block on 0 (Consul's sanity rule) */
}

int hsdo_source_consul_url(const char *base, const char *service, uint64_t index, long wait_ms,
			   char *out, size_t outlen)
{
	size_t bl, used;
	int rc, n;

	if (base == NULL || service == NULL || service[0] == '\0' || out == NULL || outlen == 0)
		return -HSDO_EINVAL;
	out[0] = '\0';
	bl = strlen(base);
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	if (bl == 0)
		return -HSDO_EINVAL;
	n = snprintf(out, outlen, "%.*s/v1/health/service/", (int)bl, base);
	if (n < 0 || (size_t)n >= outlen)
		goto toobig;
	used = (size_t)n;
	rc = hsdo_url_encode(service, strlen(service), true, out + used, outlen - used);
	if (rc < 0)
		goto toobig;
	used += (size_t)rc;
	if (index > 0 && wait_ms >= 0) {
		if (wait_ms % 1000 == 0)
			n = snprintf(out + used, outlen - used, "?passing&index=%" PRIu64 "&wait=%lds",
				     index, wait_ms / 1000);
		else
			n = snprintf(out + used, outlen - used, "?passing&index=%" PRIu64 "&wait=%ldms",
				     index, wait_ms);
	} else {
		n = snprintf(out + used, outlen - used, "?passing");
	}
	if (n < 0 || (size_t)n >= outlen - used)
		goto toobig;
	return (int)(used + (size_t)n);
toobig:
	out[0] = '\0';
	return -HSDO_ETOOBIG;
}

/* ---- the source ------------------------------------------------------------------------- */

struct consul_src;

struct svc {
	struct consul_src *src;
	char *name;
	uint64_t index;
	bool have;          /* part holds an answer */
	bool inflight;
	bool fresh;         /* answered since the last delivered list */
	bool changed;       /* index moved since the last delivered list */
	struct hsdo_source_result part;
};

struct consul_src {
	struct hsdo_source base;
	struct hsdo_http *http;
	char *url;
	char *token;        /* NULL: none; wiped on free */
	size_t toklen;
	long wait_ms;
	struct svc *svcs;
	size_t nsvcs;
	bool listing;
	hsdo_source_done_fn done;
	void *arg;
	bool submitting;
	int err_rc;         /* error to deliver to the pending list */
	char err[ERR_LEN];
	int refs;           /* transfers in flight + frames on the stack */
	bool dead;          /* freed by the user; released when refs drops to 0 */
	bool delivered;
	struct hsdo_source_result res;
};

static void release(struct consul_src *s)
{
	size_t i;

	for (i = 0; i < s->nsvcs; i++) {
		hsdo_free(s->svcs[i].name);
		hsdo_source_result_free(&s->svcs[i].part);
	}
	hsdo_free(s->svcs);
	hsdo_source_result_free(&s->res);
	if (s->token != NULL)
		hsdo_freezero(s->token, s->toklen);
	hsdo_free(s->url);
	hsdo_free(s);
}

static void unref(struct consul_src *s)
{
	if (--s->refs == 0 && s->dead)
		release(s);
}

/* Deliver to the pending list; the callback may free or list again. */
static void deliver(struct consul_src *s, int rc, const struct hsdo_source_result *res,
		    const char *err)
{
	hsdo_source_done_fn done = s->done;
	void *arg = s->arg;

	s->listing = false;
	s->done = NULL;
	s->arg = NULL;
	done(arg, rc, res, err);
}

static int combine(struct consul_src *s, struct hsdo_source_result *r, char *err, size_t errlen)
{
	struct hsdo_source_builder b = { r, 0, 0, 0 };
	struct hsdo_source_group *g;
	size_t i, j;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < s->nsvcs && rc == 0; i++) {
		const struct hsdo_source_result *p = &s->svcs[i].part;

		g = hsdo_source_group(&b, s->svcs[i].name, &rc, err, errlen);
		if (g == NULL)
			break;
		for (j = 0; j < p->ngroups; j++) {
			g->seen += p->groups[j].seen;
			g->ready += p->groups[j].ready;
			g->leaving += p->groups[j].leaving;
			g->skipped += p->groups[j].skipped;
		}
		for (j = 0; j < p->n && rc == 0; j++)
			rc = hsdo_source_push(&b, &p->instances[j], err, errlen);
		if (p->warning[0] != '\0')
			hsdo_source_warn(r, "%s", p->warning);
	}
	if (rc == 0 && hsdo_source_finish(r) != 0)
		rc = hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	if (rc != 0)
		hsdo_source_result_free(r);
	return rc;
}

static void maybe_deliver(struct consul_src *s)
{
	struct hsdo_source_result r;
	char err[ERR_LEN];
	bool fresh = false, changed = false;
	size_t i;
	int rc;

	if (!s->listing || s->submitting || s->dead)
		return;
	if (s->err_rc != 0) {
		rc = s->err_rc;
		s->err_rc = 0;
		memcpy(err, s->err, sizeof(err));
		deliver(s, rc, NULL, err);
		return;
	}
	for (i = 0; i < s->nsvcs; i++) {
		if (!s->svcs[i].have)
			return;
		fresh |= s->svcs[i].fresh;
		changed |= s->svcs[i].changed;
	}
	if (!fresh)
		return;
	rc = combine(s, &r, err, sizeof(err));
	if (rc != 0) {
		deliver(s, rc, NULL, err);
		return;
	}
	for (i = 0; i < s->nsvcs; i++)
		s->svcs[i].fresh = s->svcs[i].changed = false;
	r.unchanged = s->delivered && !changed;
	hsdo_source_result_free(&s->res);
	s->res = r;
	s->delivered = true;
	deliver(s, 0, &s->res, "");
}

/* An error for service v: it starts over (no data, index 0); the pending
 * list, if any, fails with it. Errors while no list waits are dropped: the
 * next list asks again and waits for a fresh answer. */
static void svc_error(struct svc *v, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void svc_error(struct svc *v, int rc, const char *fmt, ...)
{
	struct consul_src *s = v->src;
	va_list ap;

	v->have = false;
	v->index = 0;
	hsdo_source_result_free(&v->part);
	if (!s->listing || s->err_rc != 0)
		return;
	s->err_rc = rc;
	va_start(ap, fmt);
	(void)vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
}

/* The start of a non-200 body, printable, with the token (should a proxy
 * echo it) masked. */
static void body_excerpt(const struct consul_src *s, const char *body, size_t len, char *out,
			 size_t outlen)
{
	size_t i, o = 0, tl = s->token != NULL ? strlen(s->token) : 0;

	for (i = 0; i < len && o + 8 < outlen && o < BODY_SHOW; i++) {
		if (tl > 0 && len - i >= tl && memcmp(body + i, s->token, tl) == 0) {
			memcpy(out + o, "<token>", 7);
			o += 7;
			i += tl - 1;
			continue;
		}
		if (body[i] == '\n' || body[i] == '\r')
			break;
		out[o++] = (unsigned char)body[i] >= 0x20 && (unsigned char)body[i] < 0x7f ? body[i]
											   : '?';
	}
	out[o] = '\0';
}

static void on_reply(void *arg, int rc, const struct hsdo_http_response *resp, const char *err)
{
	struct svc *v = arg;
	struct consul_src *s = v->src;
	struct hsdo_source_result part;
	char perr[ERR_LEN], ex[BODY_SHOW + 16];
	uint64_t idx;

	v->inflight = false;
	if (s->dead) {
		unref(s);
		return;
	}
	/* The transfer's reference now holds this frame: unref at the end. */
	if (rc != 0) {
		svc_error(v, rc, "consul %s: %s", v->name, err);
	} else if (resp->status != 200) {
		body_excerpt(s, resp->body, resp->len, ex, sizeof(ex));
		svc_error(v, resp->status == 403 || resp->status == 401 ? -HSDO_ECONFIG : -HSDO_EHTTP,
			  "consul %s: HTTP %ld%s%s", v->name, resp->status, ex[0] ? ": " : "", ex);
	} else {
		memset(&part, 0, sizeof(part));
		rc = hsdo_source_consul_parse(resp->body, resp->len, v->name, &part, perr,
					      sizeof(perr));
		if (rc != 0) {
			hsdo_source_result_free(&part);
			svc_error(v, rc, "%s", perr);
		} else {
			idx = hsdo_source_consul_next_index(v->index, resp->consul_index);
			v->changed |= !v->have || idx != v->index || idx == 0;
			hsdo_source_result_free(&v->part);
			v->part = part;
			v->index = idx;
			v->have = true;
			v->fresh = true;
		}
	}
	maybe_deliver(s);
	unref(s);
}

static int submit(struct consul_src *s, struct svc *v)
{
	struct hsdo_http_request req;
	char *url, *hdr = NULL;
	size_t hlen = 0;
	int rc, n;

	url = hsdo_malloc(URL_MAX);
	if (url == NULL)
		return -HSDO_ENOMEM;
	rc = hsdo_source_consul_url(s->url, v->name, v->index, s->wait_ms, url, URL_MAX);
	if (rc < 0) {
		hsdo_free(url);
		return rc;
	}
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = url;
	req.headers[0] = "Accept: application/json";
	if (s->token != NULL) {
		hlen = strlen(s->token) + 32;
		hdr = hsdo_malloc(hlen);
		if (hdr == NULL) {
			hsdo_free(url);
			return -HSDO_ENOMEM;
		}
		n = snprintf(hdr, hlen, "X-Consul-Token: %s", s->token);
		if (n < 0 || (size_t)n >= hlen) {
			hsdo_freezero(hdr, hlen);
			hsdo_free(url);
			return -HSDO_EINVAL;
		}
		req.headers[1] = hdr;
	}
	/* Consul adds up to wait/16 of jitter before answering. */
	if (v->index > 0 && s->wait_ms >= 0)
		req.timeout_ms = s->wait_ms + s->wait_ms / 16 + 10000;
	v->inflight = true;
	s->refs++;
	rc = hsdo_http_submit(s->http, &req, on_reply, v);
	if (rc != 0) {
		v->inflight = false;
		s->refs--;
	}
	if (hdr != NULL)
		hsdo_freezero(hdr, hlen);
	hsdo_free(url);
	return rc;
}

static int consul_list(struct hsdo_source *src, hsdo_source_done_fn done, void *arg)
{
	struct consul_src *s = src->impl;
	size_t i;
	int rc;

	if (s->listing || s->dead)
		return -HSDO_EINVAL;
	s->listing = true;
	s->done = done;
	s->arg = arg;
	s->err_rc = 0;
	s->refs++;
	s->submitting = true;
	for (i = 0; i < s->nsvcs && !s->dead; i++) {
		struct svc *v = &s->svcs[i];

		if (v->inflight)
			continue;
		rc = submit(s, v);
		if (rc != 0)
			svc_error(v, rc, "consul %s: cannot send the request: %s", v->name,
				  hsdo_strerror(rc));
	}
	s->submitting = false;
	maybe_deliver(s);
	unref(s);
	return 0;
}

static void consul_free(struct hsdo_source *src)
{
	struct consul_src *s = src->impl;

	if (s->dead)
		return;
	s->dead = true;
	s->refs++;
	if (s->listing)
		deliver(s, -HSDO_EAGAIN, NULL, "cancelled");
	unref(s);
}

static const struct hsdo_source_ops consul_ops = {
	.name = "consul",
	.list = consul_list,
	.complete_lifecycle = NULL,
	.set_unhealthy = NULL,
	.free = consul_free,
};

int hsdo_source_consul_open(const char *url, const char *const *services, size_t n,
			    const char *token, struct hsdo_http *http,
			    const struct hsdo_source_consul_options *opt,
			    struct hsdo_source **out, char *err, size_t errlen)
{
	struct consul_src *s;
	char probe[64];
	size_t i;

	if (out == NULL || http == NULL || url == NULL ||
	    (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL,
				   "consul: an http:// or https:// API URL and a transport are needed");
	if (n == 0 || services == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "consul: no service names");
	if (n > HSDO_SOURCE_GROUPS_MAX)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "consul: more than %u services",
				   HSDO_SOURCE_GROUPS_MAX);
	for (i = 0; i < n; i++)
		if (services[i] == NULL || services[i][0] == '\0' ||
		    strlen(services[i]) >= HSDO_GROUP_LEN)
			return hsdo_seterr(err, errlen, -HSDO_EINVAL,
					   "consul: service %zu is empty or longer than %d bytes",
					   i + 1, HSDO_GROUP_LEN - 1);
	if (strlen(url) > URL_MAX / 2 ||
	    hsdo_source_consul_url(url, "x", 0, 0, probe, sizeof(probe)) == -HSDO_EINVAL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "consul: bad API URL");
	if (token != NULL && (strlen(token) > TOKEN_MAX || strpbrk(token, "\r\n") != NULL))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "consul: malformed token");
	if (opt != NULL && opt->wait_ms > WAIT_MAX_MS)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "consul: wait above 10 minutes");
	s = hsdo_calloc(1, sizeof(*s));
	if (s == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	s->base.ops = &consul_ops;
	s->base.impl = s;
	s->http = http;
	s->wait_ms = opt != NULL && opt->wait_ms != 0 ? opt->wait_ms : WAIT_DEFAULT_MS;
	s->url = hsdo_strdup(url);
	s->svcs = hsdo_calloc(n, sizeof(*s->svcs));
	if (s->url == NULL || s->svcs == NULL)
		goto nomem;
	s->nsvcs = n;
	for (i = 0; i < n; i++) {
		s->svcs[i].src = s;
		s->svcs[i].name = hsdo_strdup(services[i]);
		if (s->svcs[i].name == NULL)
			goto nomem;
	}
	if (token != NULL && token[0] != '\0') {
		s->toklen = strlen(token) + 1;
		s->token = hsdo_strdup(token);
		if (s->token == NULL)
			goto nomem;
	}
	*out = &s->base;
	return 0;
nomem:
	release(s);
	return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
}
