/* Discovery sources: the interface wrappers, results, and opening the
 * configured source. The backends are source_static.c, source_consul.c and
 * source_aws.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/file.h"
#include "hsdo/source.h"
#include "hsdo/source_static.h"
#include "hsdo/source_consul.h"
#include "hsdo/source_aws.h"
#include "env.h"
#include "source_int.h"

#define TOKEN_FILE_MAX 4096

/* ---- results ------------------------------------------------------------------ */

void hsdo_source_result_free(struct hsdo_source_result *r)
{
	if (r == NULL)
		return;
	hsdo_free(r->instances);
	hsdo_free(r->groups);
	hsdo_free(r->awaiting);
	memset(r, 0, sizeof(*r));
}

static int dup_array(void **dst, const void *src, size_t n, size_t size)
{
	*dst = NULL;
	if (n == 0)
		return 0;
	*dst = hsdo_reallocarray(NULL, n, size);
	if (*dst == NULL)
		return -HSDO_ENOMEM;
	memcpy(*dst, src, n * size);
	return 0;
}

int hsdo_source_result_copy(struct hsdo_source_result *dst, const struct hsdo_source_result *src)
{
	struct hsdo_source_result t;

	if (dst == NULL || src == NULL)
		return -HSDO_EINVAL;
	t = *src;
	if (dup_array((void **)&t.instances, src->instances, src->n, sizeof(*t.instances)) != 0)
		return -HSDO_ENOMEM;
	if (dup_array((void **)&t.groups, src->groups, src->ngroups, sizeof(*t.groups)) != 0) {
		hsdo_free(t.instances);
		return -HSDO_ENOMEM;
	}
	if (dup_array((void **)&t.awaiting, src->awaiting, src->nawaiting,
		      sizeof(*t.awaiting)) != 0) {
		hsdo_free(t.instances);
		hsdo_free(t.groups);
		return -HSDO_ENOMEM;
	}
	*dst = t;
	return 0;
}

int hsdo_source_push(struct hsdo_source_builder *b, const struct hsdo_instance *in,
		     char *err, size_t errlen)
{
	struct hsdo_source_result *r = b->r;
	int rc = hsdo_grow((void **)&r->instances, &b->cap, r->n, sizeof(*r->instances),
			   HSDO_SOURCE_INSTANCES_MAX, "instances", err, errlen);

	if (rc != 0)
		return rc;
	r->instances[r->n++] = *in;
	return 0;
}

int hsdo_source_reserve(struct hsdo_source_builder *b, size_t n, char *err, size_t errlen)
{
	struct hsdo_source_result *r = b->r;
	void *p;

	if (n > HSDO_SOURCE_INSTANCES_MAX)
		n = HSDO_SOURCE_INSTANCES_MAX;
	if (n <= b->cap)
		return 0;
	p = hsdo_reallocarray(r->instances, n, sizeof(*r->instances));
	if (p == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory for %zu instances", n);
	r->instances = p;
	b->cap = n;
	return 0;
}

struct hsdo_source_group *hsdo_source_group(struct hsdo_source_builder *b, const char *name,
					    int *rc, char *err, size_t errlen)
{
	struct hsdo_source_result *r = b->r;
	struct hsdo_source_group *g;
	size_t i;

	for (i = r->ngroups; i > 0; i--)   /* the last one is the likeliest */
		if (strcmp(r->groups[i - 1].name, name) == 0)
			return &r->groups[i - 1];
	if (strlen(name) >= HSDO_GROUP_LEN) {
		*rc = hsdo_seterr(err, errlen, -HSDO_EINVAL, "group name longer than %d bytes",
				  HSDO_GROUP_LEN - 1);
		return NULL;
	}
	*rc = hsdo_grow((void **)&r->groups, &b->gcap, r->ngroups, sizeof(*r->groups),
			HSDO_SOURCE_GROUPS_MAX, "groups", err, errlen);
	if (*rc != 0)
		return NULL;
	g = &r->groups[r->ngroups++];
	memset(g, 0, sizeof(*g));
	memcpy(g->name, name, strlen(name) + 1);
	return g;
}

int hsdo_source_push_awaiting(struct hsdo_source_builder *b, const char *id, const char *group,
			      char *err, size_t errlen)
{
	struct hsdo_source_result *r = b->r;
	struct hsdo_source_lifecycle *l;
	int rc;

	if (strlen(id) >= sizeof(l->id) || strlen(group) >= sizeof(l->group))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "id or group too long");
	rc = hsdo_grow((void **)&r->awaiting, &b->acap, r->nawaiting, sizeof(*r->awaiting),
		       HSDO_SOURCE_INSTANCES_MAX, "instances awaiting a lifecycle action", err,
		       errlen);
	if (rc != 0)
		return rc;
	l = &r->awaiting[r->nawaiting++];
	memset(l, 0, sizeof(*l));
	memcpy(l->id, id, strlen(id) + 1);
	memcpy(l->group, group, strlen(group) + 1);
	return 0;
}

/* qsort is not stable: sort (instance, original position) pairs. */
struct ord {
	const struct hsdo_instance *in;
	size_t pos;
};

static int ord_cmp(const void *a, const void *b)
{
	const struct ord *x = a, *y = b;
	int c = strcmp(x->in->id, y->in->id);

	if (c != 0)
		return c;
	if (x->in->leaving != y->in->leaving)
		return x->in->leaving ? 1 : -1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int await_cmp(const void *a, const void *b)
{
	const struct hsdo_source_lifecycle *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	return c != 0 ? c : strcmp(x->group, y->group);
}

/* Put a in the order o gives (o[k].pos: the index that goes to k), in
 * place: each cycle of the permutation moves through one spare element. */
static void permute(struct hsdo_instance *a, struct ord *o, size_t n)
{
	struct hsdo_instance tmp;
	size_t k, j, src;

	for (k = 0; k < n; k++) {
		if (o[k].pos == k)
			continue;
		tmp = a[k];
		for (j = k; o[j].pos != k; j = src) {
			src = o[j].pos;
			a[j] = a[src];
			o[j].pos = j;
		}
		a[j] = tmp;
		o[j].pos = j;
	}
}

int hsdo_source_finish(struct hsdo_source_result *r)
{
	struct hsdo_instance *a = r->instances, *p;
	struct ord *o = NULL;
	size_t i, k;

	r->nleaving = 0;
	if (r->n > 0) {
		o = hsdo_reallocarray(NULL, r->n, sizeof(*o));
		if (o == NULL)
			return -HSDO_ENOMEM;
		for (i = 0; i < r->n; i++) {
			o[i].in = &a[i];
			o[i].pos = i;
		}
		qsort(o, r->n, sizeof(*o), ord_cmp);
		permute(a, o, r->n);
		hsdo_free(o);
		for (i = 0, k = 0; i < r->n; i++) {
			if (k > 0 && strcmp(a[k - 1].id, a[i].id) == 0) {
				r->duplicates++;
				continue;
			}
			if (k != i)
				a[k] = a[i];
			if (a[k].leaving)
				r->nleaving++;
			k++;
		}
		r->n = k;
		/* what a builder reserved past the list goes back */
		if ((p = hsdo_reallocarray(a, k, sizeof(*a))) != NULL)
			r->instances = p;
	}
	if (r->nawaiting > 1) {
		qsort(r->awaiting, r->nawaiting, sizeof(*r->awaiting), await_cmp);
		for (i = 1, k = 1; i < r->nawaiting; i++)
			if (strcmp(r->awaiting[k - 1].id, r->awaiting[i].id) != 0)
				r->awaiting[k++] = r->awaiting[i];
		r->nawaiting = k;
	}
	return 0;
}

void hsdo_source_warn(struct hsdo_source_result *r, const char *fmt, ...)
{
	va_list ap;

	if (r->warning[0] != '\0')
		return;
	va_start(ap, fmt);
	(void)vsnprintf(r->warning, sizeof(r->warning), fmt, ap);
	va_end(ap);
}

const char *hsdo_source_show(const char *s, size_t len, char *buf, size_t bufsz)
{
	return hsdo_show(s, len, 48, true, buf, bufsz);
}

/* ---- the interface ---------------------------------------------------------------- */

int hsdo_source_list(struct hsdo_source *s, hsdo_source_done_fn done, void *arg)
{
	if (s == NULL || s->ops == NULL || s->ops->list == NULL || done == NULL)
		return -HSDO_EINVAL;
	return s->ops->list(s, done, arg);
}

int hsdo_source_complete_lifecycle(struct hsdo_source *s, const char *group, const char *id,
				   hsdo_source_op_done_fn done, void *arg)
{
	if (s == NULL || s->ops == NULL || s->ops->complete_lifecycle == NULL || done == NULL ||
	    group == NULL || id == NULL)
		return -HSDO_EINVAL;
	return s->ops->complete_lifecycle(s, group, id, done, arg);
}

int hsdo_source_set_unhealthy(struct hsdo_source *s, const char *id,
			      hsdo_source_op_done_fn done, void *arg)
{
	if (s == NULL || s->ops == NULL || s->ops->set_unhealthy == NULL || done == NULL ||
	    id == NULL)
		return -HSDO_EINVAL;
	return s->ops->set_unhealthy(s, id, done, arg);
}

void hsdo_source_free(struct hsdo_source *s)
{
	if (s == NULL)
		return;
	if (s->ops != NULL && s->ops->free != NULL)
		s->ops->free(s);
}

const char *hsdo_source_name(const struct hsdo_source *s)
{
	if (s == NULL || s->ops == NULL || s->ops->name == NULL)
		return "none";
	return s->ops->name;
}

/* ---- from the configuration ---------------------------------------------------------- */

/* CONSUL_HTTP_TOKEN, else the first line of CONSUL_HTTP_TOKEN_FILE, into
 * *tok (hsdo_freezero; NULL when neither is set). */
static int consul_token(char *const *envp, char **tok, size_t *toklen, char *err, size_t errlen)
{
	const char *v = hsdo_env_get(envp, "CONSUL_HTTP_TOKEN");
	const char *path = hsdo_env_get(envp, "CONSUL_HTTP_TOKEN_FILE");
	char *buf = NULL, why[600];
	size_t n = 0, len = 0;
	int rc;

	*tok = NULL;
	*toklen = 0;
	if (v != NULL) {
		*tok = hsdo_strdup(v);
		*toklen = strlen(v) + 1;
		return *tok == NULL ? -HSDO_ENOMEM : 0;
	}
	if (path == NULL)
		return 0;
	rc = hsdo_file_read(path, TOKEN_FILE_MAX, &buf, &len, NULL, why, sizeof(why));
	if (rc == -HSDO_ENOMEM)
		return rc;
	if (rc != 0)
		return hsdo_seterr(err, errlen, -HSDO_ECONFIG, "CONSUL_HTTP_TOKEN_FILE %s", why);
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		buf[--n] = '\0';
	*tok = buf;
	*toklen = len + 1;   /* the whole buffer is wiped, not only the first line */
	return 0;
}

int hsdo_source_open_config(const struct hsdo_config *c, char *const *envp,
			    struct hsdo_http *http, struct hsdo_aws *aws,
			    struct hsdo_source **out, char *err, size_t errlen)
{
	char *tok;
	size_t toklen;
	int rc;

	if (c == NULL || out == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no configuration");
	switch (c->server_mode) {
	case HSDO_CONFIG_SERVER_MODE_STATIC:
		return hsdo_source_static_open(c->server_static_file, out, err, errlen);
	case HSDO_CONFIG_SERVER_MODE_CONSUL:
		if (http == NULL)
			return hsdo_seterr(err, errlen, -HSDO_EINVAL, "consul source needs a transport");
		rc = consul_token(envp, &tok, &toklen, err, errlen);
		if (rc != 0)
			return rc;
		rc = hsdo_source_consul_open(c->server_consul_api_url,
					     (const char *const *)c->server_consul_service_name.v,
					     c->server_consul_service_name.n, tok, http, NULL, out,
					     err, errlen);
		if (tok != NULL)
			hsdo_freezero(tok, toklen);
		return rc;
	case HSDO_CONFIG_SERVER_MODE_AWS:
		if (aws == NULL)
			return hsdo_seterr(err, errlen, -HSDO_EINVAL, "aws source needs an AWS client");
		return hsdo_source_aws_open((const char *const *)c->server_asg_names.v,
					    c->server_asg_names.n, c->server_lifecycle_hook_name,
					    aws, NULL, out, err, errlen);
	case HSDO_CONFIG_SERVER_MODE_COUNT:
		break;
	}
	return hsdo_seterr(err, errlen, -HSDO_EINVAL, "unknown SERVER_MODE");
}
