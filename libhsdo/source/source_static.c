/* The static source: a YAML list of instances in a file, parsed again only
 * when the file changes. The parser is pure; the source adds one stat()
 * per list. See source.h and docs/sources.md. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/source.h"
#include "hsdo/source_static.h"
#include "source_int.h"
#include "yaml_guard.h"

#define ERR_LEN 512

/* ---- the parser (pure) ------------------------------------------------------------ */

enum field { F_NAME = 0, F_IP, F_PORT, F_GROUP, F_AZ, F_LEAVING, F_COUNT };

static const char *const field_names[F_COUNT] = {
	"name", "ip", "port", "group", "az", "leaving",
};

struct sctx {
	const char *fname;
	yaml_document_t *doc;
	char *err;
	size_t errlen;
};

static int fail(struct sctx *x, size_t line, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct sctx *x, size_t line, int code, const char *fmt, ...)
{
	char msg[ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return hsdo_seterr(x->err, x->errlen, code, "%s:%zu: %s", x->fname, line, msg);
}

static size_t node_line(const yaml_node_t *n)
{
	return n->start_mark.line + 1;
}

/* Copy a scalar into a fixed field. Names (instance ids) are printable
 * ASCII without spaces, like EC2 ids; groups and zones may hold spaces and
 * UTF-8 but no control characters (they end up in stored items, metrics
 * labels and logs). */
static int take_text(struct sctx *x, const yaml_node_t *v, const char *who, const char *key,
		     bool strict, char *dst, size_t dstlen)
{
	const unsigned char *s = v->data.scalar.value;
	size_t len = v->data.scalar.length, i;

	if (len >= dstlen)
		return fail(x, node_line(v), -HSDO_EPROTO, "%s: %s is longer than %zu bytes", who,
			    key, dstlen - 1);
	for (i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			return fail(x, node_line(v), -HSDO_EPROTO,
				    "%s: %s must not contain control characters", who, key);
		if (strict && (s[i] == ' ' || s[i] > 0x7f))
			return fail(x, node_line(v), -HSDO_EPROTO,
				    "%s: %s must be printable ASCII without spaces", who, key);
	}
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

static int parse_port(struct sctx *x, const yaml_node_t *v, const char *who, uint16_t *port)
{
	const char *s = (const char *)v->data.scalar.value;
	size_t len = v->data.scalar.length, i;
	unsigned long p = 0;

	for (i = 0; i < len && len <= 5; i++) {
		if (s[i] < '0' || s[i] > '9')
			break;
		p = p * 10 + (unsigned long)(s[i] - '0');
	}
	if (len == 0 || len > 5 || i != len || p < 1 || p > 65535) {
		char show[64];

		return fail(x, node_line(v), -HSDO_EPROTO,
			    "%s: port must be a number in 1..65535, got %s", who,
			    hsdo_source_show(s, len, show, sizeof(show)));
	}
	*port = (uint16_t)p;
	return 0;
}

static int parse_leaving(struct sctx *x, const yaml_node_t *v, const char *who, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	const char *s = (const char *)v->data.scalar.value;
	size_t len = v->data.scalar.length, i;
	char show[64];

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (len == strlen(yes[i]) && strncasecmp(s, yes[i], len) == 0) {
			*out = true;
			return 0;
		}
		if (len == strlen(no[i]) && strncasecmp(s, no[i], len) == 0) {
			*out = false;
			return 0;
		}
	}
	return fail(x, node_line(v), -HSDO_EPROTO, "%s: leaving must be true or false, got %s",
		    who, hsdo_source_show(s, len, show, sizeof(show)));
}

/* One list entry (the idx-th, 1-based) into *in. */
static int parse_entry(struct sctx *x, const yaml_node_t *m, size_t idx,
		       struct hsdo_instance *in)
{
	const yaml_node_t *vals[F_COUNT] = { NULL };
	size_t lines[F_COUNT] = { 0 };
	const yaml_node_pair_t *p;
	char who[HSDO_NAME_LEN + 32], show[64];
	size_t f;
	int rc;

	memset(in, 0, sizeof(*in));
	if (m->type != YAML_MAPPING_NODE)
		return fail(x, node_line(m), -HSDO_EPROTO,
			    "instance %zu: expected a mapping with name and ip, got %s", idx,
			    hsdo_yaml_node_is_null(m) ? "nothing" : hsdo_yaml_node_kind(m));
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
		const yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
		const char *ks;
		size_t kl;

		if (k == NULL || v == NULL)
			continue;
		if (k->type != YAML_SCALAR_NODE)
			return fail(x, node_line(k), -HSDO_EPROTO,
				    "instance %zu: keys must be scalars, got %s", idx, hsdo_yaml_node_kind(k));
		ks = (const char *)k->data.scalar.value;
		kl = k->data.scalar.length;
		for (f = 0; f < F_COUNT; f++)
			if (kl == strlen(field_names[f]) && memcmp(ks, field_names[f], kl) == 0)
				break;
		if (f == F_COUNT)
			return fail(x, node_line(k), -HSDO_EPROTO,
				    "instance %zu: unknown key %s (expected name, ip, port, group, "
				    "az or leaving)", idx, hsdo_source_show(ks, kl, show, sizeof(show)));
		if (vals[f] != NULL)
			return fail(x, node_line(k), -HSDO_EPROTO,
				    "instance %zu: duplicate key %s (first on line %zu)", idx,
				    field_names[f], lines[f]);
		if (v->type != YAML_SCALAR_NODE)
			return fail(x, node_line(v), -HSDO_EPROTO,
				    "instance %zu: %s must be a scalar, got %s", idx, field_names[f],
				    hsdo_yaml_node_kind(v));
		vals[f] = v;
		lines[f] = node_line(k);
	}
	if (vals[F_NAME] == NULL || hsdo_yaml_node_is_null(vals[F_NAME]) || vals[F_NAME]->data.scalar.length == 0)
		return fail(x, vals[F_NAME] ? node_line(vals[F_NAME]) : node_line(m), -HSDO_EPROTO,
			    "instance %zu: %s name", idx, vals[F_NAME] ? "empty" : "missing");
	snprintf(who, sizeof(who), "instance %zu", idx);
	rc = take_text(x, vals[F_NAME], who, "name", true, in->id, sizeof(in->id));
	if (rc != 0)
		return rc;
	snprintf(who, sizeof(who), "instance '%s'", in->id);
	if (vals[F_IP] == NULL || hsdo_yaml_node_is_null(vals[F_IP]))
		return fail(x, vals[F_IP] ? node_line(vals[F_IP]) : node_line(m), -HSDO_EPROTO,
			    "%s: missing ip", who);
	{
		const char *ip = (const char *)vals[F_IP]->data.scalar.value;
		size_t il = vals[F_IP]->data.scalar.length;

		if (il < sizeof(in->ip) && memchr(ip, '\0', il) == NULL) {
			memcpy(in->ip, ip, il);
			in->ip[il] = '\0';
		}
		if (in->ip[0] == '\0' || !hsdo_ip_valid(in->ip))
			return fail(x, node_line(vals[F_IP]), -HSDO_EPROTO,
				    "%s: ip %s is not an IPv4 or IPv6 address", who,
				    hsdo_source_show(ip, il, show, sizeof(show)));
	}
	if (vals[F_PORT] != NULL && !hsdo_yaml_node_is_null(vals[F_PORT]) &&
	    (rc = parse_port(x, vals[F_PORT], who, &in->port)) != 0)
		return rc;
	if (vals[F_GROUP] != NULL && !hsdo_yaml_node_is_null(vals[F_GROUP]) &&
	    (rc = take_text(x, vals[F_GROUP], who, "group", false, in->group, sizeof(in->group))) != 0)
		return rc;
	if (vals[F_AZ] != NULL && !hsdo_yaml_node_is_null(vals[F_AZ]) &&
	    (rc = take_text(x, vals[F_AZ], who, "az", true, in->az, sizeof(in->az))) != 0)
		return rc;
	if (vals[F_LEAVING] != NULL && !hsdo_yaml_node_is_null(vals[F_LEAVING]) &&
	    (rc = parse_leaving(x, vals[F_LEAVING], who, &in->leaving)) != 0)
		return rc;
	return 0;
}

struct named {
	const char *id;
	size_t line;
};

static int named_cmp(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	return c != 0 ? c : (x->line < y->line ? -1 : x->line > y->line);
}

/* Names must be unique: report the second line of the first clash (in
 * file order). */
static int check_unique(struct sctx *x, const struct hsdo_source_result *r, const size_t *lines)
{
	struct named *v;
	size_t i, bad = 0, first = 0;
	int rc = 0;

	if (r->n < 2)
		return 0;
	v = hsdo_reallocarray(NULL, r->n, sizeof(*v));
	if (v == NULL)
		return hsdo_seterr(x->err, x->errlen, -HSDO_ENOMEM, "out of memory");
	for (i = 0; i < r->n; i++) {
		v[i].id = r->instances[i].id;
		v[i].line = lines[i];
	}
	qsort(v, r->n, sizeof(*v), named_cmp);
	for (i = 1; i < r->n; i++) {
		if (strcmp(v[i].id, v[i - 1].id) != 0)
			continue;
		if (bad == 0 || v[i].line < bad) {
			bad = v[i].line;
			first = v[i - 1].line;
			rc = 1;
		}
	}
	if (rc != 0) {
		for (i = 1; i < r->n; i++)
			if (v[i].line == bad)
				break;
		rc = fail(x, bad, -HSDO_EPROTO, "instance '%s': duplicate name (first on line %zu)",
			  v[i].id, first);
	}
	hsdo_free(v);
	return rc;
}

static int parse_list(struct sctx *x, const yaml_node_t *root, struct hsdo_source_result *r)
{
	struct hsdo_source_builder b = { r, 0, 0, 0 };
	const yaml_node_item_t *it;
	size_t idx = 0, *lines = NULL, lcap = 0;
	struct hsdo_instance in;
	struct hsdo_source_group *g;
	int rc;

	rc = hsdo_source_reserve(&b, (size_t)(root->data.sequence.items.top -
					      root->data.sequence.items.start), x->err, x->errlen);
	if (rc != 0)
		return rc;
	for (it = root->data.sequence.items.start; it < root->data.sequence.items.top; it++) {
		const yaml_node_t *m = yaml_document_get_node(x->doc, *it);

		if (m == NULL)
			continue;
		idx++;
		rc = parse_entry(x, m, idx, &in);
		if (rc != 0)
			break;
		if (r->n >= HSDO_SOURCE_INSTANCES_MAX) {
			rc = fail(x, node_line(m), -HSDO_ETOOBIG, "more than %u instances",
				  HSDO_SOURCE_INSTANCES_MAX);
			break;
		}
		if (r->n == lcap) {
			size_t ncap = lcap ? lcap * 2 : 16;
			size_t *nl = hsdo_reallocarray(lines, ncap, sizeof(*lines));

			if (nl == NULL) {
				rc = hsdo_seterr(x->err, x->errlen, -HSDO_ENOMEM, "out of memory");
				break;
			}
			lines = nl;
			lcap = ncap;
		}
		lines[r->n] = node_line(m);
		rc = hsdo_source_push(&b, &in, x->err, x->errlen);
		if (rc == 0 && (g = hsdo_source_group(&b, in.group, &rc, x->err, x->errlen)) != NULL) {
			g->seen++;
			if (in.leaving)
				g->leaving++;
			else
				g->ready++;
		}
		if (rc != 0)
			break;
	}
	if (rc == 0)
		rc = check_unique(x, r, lines);
	hsdo_free(lines);
	if (rc == 0 && hsdo_source_finish(r) != 0)
		rc = hsdo_seterr(x->err, x->errlen, -HSDO_ENOMEM, "out of memory");
	return rc;
}

int hsdo_source_static_parse(const char *buf, size_t len, const char *fname,
			     struct hsdo_source_result *out, char *err, size_t errlen)
{
	struct hsdo_yaml_problem pb;
	struct sctx x = { fname ? fname : "<static>", NULL, err, errlen };
	yaml_parser_t p;
	yaml_document_t doc;
	const yaml_node_t *root;
	int rc;

	if (out == NULL || (buf == NULL && len > 0))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "invalid arguments");
	memset(out, 0, sizeof(*out));
	if (len > HSDO_SOURCE_STATIC_FILE_MAX)
		return hsdo_seterr(err, errlen, -HSDO_ETOOBIG, "%s: file too large (%zu bytes, at most %u)",
				   x.fname, len, HSDO_SOURCE_STATIC_FILE_MAX);
	rc = len == 0 ? 0 : hsdo_yaml_guard(buf, len, &pb);
	if (rc == -HSDO_ENOMEM)
		return hsdo_seterr(err, errlen, rc, "out of memory");
	if (rc != 0)
		return fail(&x, pb.line, -HSDO_EPROTO, "%s", pb.msg);
	if (!yaml_parser_initialize(&p))
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)(len ? buf : ""), len);
	if (!yaml_parser_load(&p, &doc)) {
		rc = hsdo_yaml_parser_problem(&p, buf, len, &pb);
		yaml_parser_delete(&p);
		if (rc == -HSDO_ENOMEM)
			return hsdo_seterr(err, errlen, rc, "out of memory");
		return fail(&x, pb.line, -HSDO_EPROTO, "%s", pb.msg);
	}
	x.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (root == NULL || hsdo_yaml_node_is_null(root))
		/* A file caught half-written reads as empty: say so rather
		 * than drain every server. "[]" lists no instances. */
		rc = fail(&x, root ? node_line(root) : 1, -HSDO_EPROTO,
			  "no instance list (write [] for none)");
	else if (root->type != YAML_SEQUENCE_NODE)
		rc = fail(&x, node_line(root), -HSDO_EPROTO,
			  "expected a list of instances, got %s", hsdo_yaml_node_kind(root));
	else
		rc = parse_list(&x, root, out);
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
	if (rc != 0)
		hsdo_source_result_free(out);
	return rc;
}

/* ---- the source ------------------------------------------------------------------------ */

struct file_key {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim, ctim;
};

/* A file changed again within the timestamp granularity of its last read
 * (the kernel's coarse clock: a few ms; some file systems: 1 s or 2 s)
 * can keep its size and times: while its mtime is this recent, every list
 * reads it again (git's "racy" rule). */
#define RACY_NS (INT64_C(2) * 1000000000)

struct static_src {
	struct hsdo_source base;
	char *path;
	bool have_key;              /* key describes the file last parsed */
	bool racy;                  /* ... but was read too soon to trust it */
	struct file_key key;
	int rc;                     /* outcome of that parse */
	char err[ERR_LEN];
	struct hsdo_source_result res;  /* last good list */
	bool delivered;
};

static void key_of(const struct stat *st, struct file_key *k)
{
	memset(k, 0, sizeof(*k));
	k->dev = st->st_dev;
	k->ino = st->st_ino;
	k->size = st->st_size;
	k->mtim = st->st_mtim;
	k->ctim = st->st_ctim;
}

static bool key_eq(const struct file_key *a, const struct file_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtim.tv_sec == b->mtim.tv_sec && a->mtim.tv_nsec == b->mtim.tv_nsec &&
	       a->ctim.tv_sec == b->ctim.tv_sec && a->ctim.tv_nsec == b->ctim.tv_nsec;
}

static bool same_list(const struct hsdo_source_result *a, const struct hsdo_source_result *b)
{
	return a->n == b->n && a->ngroups == b->ngroups &&
	       (a->n == 0 || memcmp(a->instances, b->instances, a->n * sizeof(*a->instances)) == 0) &&
	       (a->ngroups == 0 ||
		memcmp(a->groups, b->groups, a->ngroups * sizeof(*a->groups)) == 0);
}

/* Read and parse the file; the key is taken before reading, so a write
 * during the read changes it and the next list reads again. */
static int reload(struct static_src *s, char *err, size_t errlen)
{
	struct hsdo_source_result r;
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, rc;

	/* O_NONBLOCK: a FIFO put in the file's place must not hang the loop. */
	fd = open(s->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return hsdo_seterr(err, errlen, -HSDO_EIO, "%s: cannot open: %s", s->path,
				   strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = hsdo_seterr(err, errlen, -HSDO_EIO, "%s: cannot stat: %s", s->path,
				 strerror(errno));
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return hsdo_seterr(err, errlen, -HSDO_EIO, "%s: not a regular file", s->path);
	}
	if ((uint64_t)st.st_size > HSDO_SOURCE_STATIC_FILE_MAX) {
		close(fd);
		key_of(&st, &s->key);
		s->have_key = true;
		return s->rc = hsdo_seterr(s->err, sizeof(s->err), -HSDO_ETOOBIG,
					   "%s: file too large (%lld bytes, at most %u)", s->path,
					   (long long)st.st_size, HSDO_SOURCE_STATIC_FILE_MAX);
	}
	buf = hsdo_malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	}
	while (len <= (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = hsdo_seterr(err, errlen, -HSDO_EIO, "%s: cannot read: %s", s->path,
					 strerror(errno));
			close(fd);
			hsdo_free(buf);
			return rc;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	key_of(&st, &s->key);
	s->have_key = true;
	{
		struct timespec now;
		int64_t age;

		clock_gettime(CLOCK_REALTIME, &now);
		age = ((int64_t)now.tv_sec - (int64_t)st.st_mtim.tv_sec) * 1000000000 +
		      (now.tv_nsec - st.st_mtim.tv_nsec);
		s->racy = age < RACY_NS;
	}
	if (len != (size_t)st.st_size) {
		/* Changed under us: do not keep the key, read again next time. */
		s->have_key = false;
		hsdo_free(buf);
		return hsdo_seterr(err, errlen, -HSDO_EIO, "%s: changed while being read", s->path);
	}
	rc = hsdo_source_static_parse(buf, len, s->path, &r, s->err, sizeof(s->err));
	hsdo_free(buf);
	s->rc = rc;
	if (rc == -HSDO_ENOMEM) {
		s->have_key = false;   /* not the file's fault: try again */
		return hsdo_seterr(err, errlen, rc, "%s", s->err);
	}
	if (rc != 0)
		return rc;
	/* Same list as delivered last (a racy re-read, a touch): unchanged. */
	r.unchanged = s->delivered && same_list(&r, &s->res);
	hsdo_source_result_free(&s->res);
	s->res = r;
	s->err[0] = '\0';
	return 0;
}

static int static_list(struct hsdo_source *src, hsdo_source_done_fn done, void *arg)
{
	struct static_src *s = src->impl;
	struct file_key k;
	struct stat st;
	char err[ERR_LEN] = "";
	int rc;

	if (stat(s->path, &st) != 0) {
		rc = hsdo_seterr(err, sizeof(err), -HSDO_EIO, "%s: cannot stat: %s", s->path,
				 strerror(errno));
		done(arg, rc, NULL, err);
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = hsdo_seterr(err, sizeof(err), -HSDO_EIO, "%s: not a regular file", s->path);
		done(arg, rc, NULL, err);
		return 0;
	}
	key_of(&st, &k);
	if (s->have_key && !s->racy && key_eq(&k, &s->key)) {
		if (s->rc != 0) {
			done(arg, s->rc, NULL, s->err);
			return 0;
		}
		s->res.unchanged = s->delivered;
		s->delivered = true;
		done(arg, 0, &s->res, "");
		return 0;
	}
	rc = reload(s, err, sizeof(err));
	if (rc != 0) {
		done(arg, rc, NULL, err[0] != '\0' ? err : s->err);
		return 0;
	}
	s->delivered = true;
	done(arg, 0, &s->res, "");
	return 0;
}

static void static_free(struct hsdo_source *src)
{
	struct static_src *s = src->impl;

	hsdo_source_result_free(&s->res);
	hsdo_free(s->path);
	hsdo_free(s);
}

static const struct hsdo_source_ops static_ops = {
	.name = "static",
	.list = static_list,
	.complete_lifecycle = NULL,
	.set_unhealthy = NULL,
	.free = static_free,
};

int hsdo_source_static_open(const char *path, struct hsdo_source **out,
			    char *err, size_t errlen)
{
	struct static_src *s;

	if (path == NULL || path[0] == '\0' || out == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no static file given");
	s = hsdo_calloc(1, sizeof(*s));
	if (s == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	s->path = hsdo_strdup(path);
	if (s->path == NULL) {
		hsdo_free(s);
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	}
	s->base.ops = &static_ops;
	s->base.impl = s;
	*out = &s->base;
	return 0;
}
