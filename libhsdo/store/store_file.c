/* The embedded `file` store (see hsdo/store_file.h): a pure document
 * parser/renderer, and the I/O around it (locked read-check-write, atomic
 * replace by rename, fsync of the file and its directory). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/file.h"
#include "hsdo/item.h"
#include "hsdo/slot.h"
#include "hsdo/store.h"
#include "hsdo/store_file.h"
#include "json.h"
#include "store/file_io.h"

/* ---- document: parse ------------------------------------------------------- */

/* A JSON number holding an integer in 0..max, exactly. */
static bool json_uint(const cJSON *v, uint64_t max, uint64_t *out)
{
	double d;

	if (!cJSON_IsNumber(v))
		return false;
	d = v->valuedouble;
	if (!(d >= 0.0 && d <= (double)max) || d != (double)(uint64_t)d)
		return false;
	*out = (uint64_t)d;
	return true;
}

/* The BackendServerID of a (possibly malformed) item, for error messages. */
static void item_id_hint(const cJSON *item, char *buf, size_t len)
{
	const cJSON *av = cJSON_GetObjectItemCaseSensitive(item, "BackendServerID");
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(av, "N");
	size_t i;

	buf[0] = '\0';
	if (!cJSON_IsString(n))
		return;
	for (i = 0; i < len - 1 && i < 20 && n->valuestring[i] != '\0'; i++)
		buf[i] = n->valuestring[i] >= 0x20 && n->valuestring[i] < 0x7f ?
			 n->valuestring[i] : '?';
	buf[i] = '\0';
}

static int parse_doc(const cJSON *root, struct hsdo_table *out, char *err, size_t errlen)
{
	const cJSON *fmt, *ver, *gen, *slots, *c;
	struct hsdo_table t;
	struct hsdo_slot s;
	uint32_t *first = NULL;
	uint64_t version, generation;
	char ierr[256], hint[24];
	size_t n = 0, i;
	int rc;

	if (!cJSON_IsObject(root))
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "document is not a JSON object");
	fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
	if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, HSDO_STORE_FILE_FORMAT) != 0)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "format: not an \"" HSDO_STORE_FILE_FORMAT "\" document");
	ver = cJSON_GetObjectItemCaseSensitive(root, "version");
	if (!json_uint(ver, UINT32_MAX, &version))
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "version: missing or not a non-negative integer");
	if (version != HSDO_STORE_FILE_VERSION)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "version: unsupported version %" PRIu64 " (this build reads %d)",
				   version, HSDO_STORE_FILE_VERSION);
	/* No generation: a document written by hand or by a tool that does
	 * not keep one; it reads as generation 0, unversioned (store.h). */
	gen = cJSON_GetObjectItemCaseSensitive(root, "generation");
	generation = 0;
	if (gen != NULL && !json_uint(gen, HSDO_STORE_FILE_GEN_MAX, &generation))
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "generation: not an integer in 0..%" PRIu64,
				   HSDO_STORE_FILE_GEN_MAX);
	slots = cJSON_GetObjectItemCaseSensitive(root, "slots");
	if (!cJSON_IsArray(slots))
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "slots: missing or not an array");
	for (c = slots->child; c != NULL; c = c->next)
		if (++n > HSDO_SLOTS_MAX)
			return hsdo_seterr(err, errlen, -HSDO_EPROTO,
					   "slots: more than %d slots", HSDO_SLOTS_MAX);

	if ((rc = hsdo_table_init(&t, n)) != 0)
		return hsdo_seterr(err, errlen, rc, "out of memory for %zu slots", n);
	first = hsdo_calloc(n, sizeof(*first));
	if (first == NULL) {
		hsdo_table_free(&t);
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory for %zu slots", n);
	}
	for (c = slots->child, i = 0; c != NULL; c = c->next, i++) {
		rc = hsdo_item_decode(c, t.strs, &s, ierr, sizeof(ierr));
		if (rc != 0) {
			item_id_hint(c, hint, sizeof(hint));
			if (hint[0] != '\0')
				rc = hsdo_seterr(err, errlen, rc, "slots[%zu] (BackendServerID %s): %s",
						 i, hint, ierr);
			else
				rc = hsdo_seterr(err, errlen, rc, "slots[%zu]: %s", i, ierr);
			goto fail;
		}
		if (s.id > n) {
			rc = hsdo_seterr(err, errlen, -HSDO_EPROTO,
					 "slots[%zu]: BackendServerID %" PRIu32 " in a table of %zu "
					 "slots (ids must be 1..%zu with no gap)", i, s.id, n, n);
			goto fail;
		}
		if (first[s.id - 1] != 0) {
			rc = hsdo_seterr(err, errlen, -HSDO_EPROTO,
					 "slots[%zu]: duplicate BackendServerID %" PRIu32
					 " (also slots[%" PRIu32 "])", i, s.id, first[s.id - 1] - 1);
			goto fail;
		}
		first[s.id - 1] = (uint32_t)i + 1;
		t.slots[s.id - 1] = s;
	}
	/* n items with distinct ids in 1..n: every slot was filled. */
	hsdo_free(first);
	t.generation = generation;
	*out = t;
	return 0;
fail:
	hsdo_free(first);
	hsdo_table_free(&t);
	return rc;
}

int hsdo_store_file_parse(const char *buf, size_t len, struct hsdo_table *out,
			  char *err, size_t errlen)
{
	struct hsdo_json_error e;
	cJSON *root;
	int rc = hsdo_json_parse(buf, len, HSDO_STORE_FILE_MAX, &root, &e);

	if (rc == 0) {
		rc = parse_doc(root, out, err, errlen);
		cJSON_Delete(root);
		return rc;
	}
	switch (e.fault) {
	case HSDO_JSON_EMPTY:
		return hsdo_seterr(err, errlen, rc, "empty document");
	case HSDO_JSON_TOOBIG:
		return hsdo_seterr(err, errlen, rc, "document of %zu bytes is over the %zu byte limit",
				   len, HSDO_STORE_FILE_MAX);
	case HSDO_JSON_NOMEM:
		return hsdo_seterr(err, errlen, rc, "out of memory parsing the document");
	case HSDO_JSON_INVALID:
		return hsdo_seterr(err, errlen, rc,
				   "invalid JSON at byte %zu of %zu (truncated or corrupt)", e.at, len);
	default:
		return hsdo_seterr(err, errlen, rc, "trailing data after the document at byte %zu",
				   e.at);
	}
}

/* ---- document: render ------------------------------------------------------ */

struct outbuf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void out_add(struct outbuf *b, const char *s, size_t n)
{
	size_t cap;
	char *p;

	if (b->failed)
		return;
	if (n >= b->cap - b->len) {
		cap = b->cap ? b->cap : 4096;
		while (n >= cap - b->len) {
			if (cap > HSDO_STORE_FILE_MAX) {
				b->failed = true;
				return;
			}
			cap *= 2;
		}
		p = hsdo_realloc(b->p, cap);
		if (p == NULL) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

char *hsdo_store_file_render(const struct hsdo_table *t, size_t *len)
{
	struct outbuf b = { NULL, 0, 0, false };
	char head[128], *item;
	cJSON *j;
	size_t i;
	int n;

	if (t == NULL || len == NULL || t->n > HSDO_SLOTS_MAX ||
	    t->generation > HSDO_STORE_FILE_GEN_MAX || (t->n != 0 && t->slots == NULL))
		return NULL;
	for (i = 0; i < t->n; i++)
		if (t->slots[i].id != i + 1 || hsdo_item_check(&t->slots[i], NULL, 0) != 0)
			return NULL;
	n = snprintf(head, sizeof(head),
		     "{\"format\":\"" HSDO_STORE_FILE_FORMAT "\",\"version\":%d,"
		     "\"generation\":%" PRIu64 ",\"slots\":[\n",
		     HSDO_STORE_FILE_VERSION, t->generation);
	if (n < 0 || (size_t)n >= sizeof(head))
		return NULL;
	out_add(&b, head, (size_t)n);
	for (i = 0; i < t->n && !b.failed; i++) {
		j = hsdo_item_encode(&t->slots[i]);
		item = j != NULL ? cJSON_PrintUnformatted(j) : NULL;
		cJSON_Delete(j);
		if (item == NULL) {
			b.failed = true;
			break;
		}
		out_add(&b, item, strlen(item));
		cJSON_free(item);
		out_add(&b, i + 1 < t->n ? ",\n" : "\n", i + 1 < t->n ? 2 : 1);
	}
	out_add(&b, "]}\n", 3);
	if (b.failed) {
		hsdo_free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/* ---- the store --------------------------------------------------------------- */

struct file_store {
	char *path;
	char *lock_path;
	char *lease_path;
	char *dir;
	char *tmp_template;   /* "<dir>/.<base>.tmp-XXXXXX", copied per write */
	/* The generation of the file last parsed, keyed by its identity:
	 * writers rename a new file over the path, so an unchanged device,
	 * inode, size and mtime mean an unchanged document, and the poll of an
	 * idle cycle costs one stat() instead of a parse of the whole table. */
	bool gen_cached;
	struct stat gen_st;
	uint64_t gen;
	size_t max_slots;     /* 0: HSDO_SLOTS_MAX (hsdo_store_file_set_max_slots) */
};

/* What a document of max_slots slots can take, whatever its writer's
 * spacing and escapes (an item is under 4 KiB even fully \u-escaped). */
#define DOC_BASE     ((size_t)64 << 10)
#define DOC_PER_SLOT ((size_t)16 << 10)

static struct file_store *fs_of(struct hsdo_store *st)
{
	return st->impl;
}

static size_t doc_max(const struct file_store *fs)
{
	if (fs->max_slots == 0 || fs->max_slots > (HSDO_STORE_FILE_MAX - DOC_BASE) / DOC_PER_SLOT)
		return HSDO_STORE_FILE_MAX;
	return DOC_BASE + fs->max_slots * DOC_PER_SLOT;
}

/* Read and parse the document; a missing file is -HSDO_ENOTFOUND. */
static int load(struct file_store *fs, struct hsdo_table *t, char *err, size_t errlen)
{
	struct hsdo_table got;
	char *buf = NULL, perr[320];
	size_t len = 0;
	int rc;

	rc = hsdo_file_read(fs->path, doc_max(fs), &buf, &len, NULL, err, errlen);
	if (rc == -HSDO_ETOOBIG && fs->max_slots > 0)
		return hsdo_seterr(err, errlen, rc, "%s: larger than %zu slots can take (%zu bytes "
				   "at most)", fs->path, fs->max_slots, doc_max(fs));
	if (rc != 0)
		return rc;
	rc = hsdo_store_file_parse(buf, len, &got, perr, sizeof(perr));
	hsdo_free(buf);
	if (rc != 0)
		return hsdo_seterr(err, errlen, rc, "%s: %s", fs->path, perr);
	if (fs->max_slots > 0 && got.n > fs->max_slots) {
		rc = hsdo_seterr(err, errlen, -HSDO_EPROTO, "%s: slot %zu (BackendServerID %zu) is "
				 "beyond the %zu slots of HAPROXY_BACKEND_SERVERS_LIST_SIZE (the "
				 "table has %zu)", fs->path, fs->max_slots + 1, fs->max_slots + 1,
				 fs->max_slots, got.n);
		hsdo_table_free(&got);
		return rc;
	}
	*t = got;
	return 0;
}

/* Same, but a missing file is an empty table at generation 0. */
static int load_or_empty(struct file_store *fs, struct hsdo_table *t, char *err, size_t errlen)
{
	int rc = load(fs, t, err, errlen);

	if (rc == -HSDO_ENOTFOUND) {
		rc = hsdo_table_init(t, 0);
		if (rc != 0)
			return hsdo_seterr(err, errlen, rc, "out of memory");
	}
	return rc;
}

static int lock_take(struct file_store *fs, int *fdp, char *err, size_t errlen)
{
	int fd, e, waited;

	fd = open(fs->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0644);
	if (fd == -1) {
		e = errno;
		return hsdo_seterr(err, errlen, -HSDO_EIO, "%s: open: %s", fs->lock_path, strerror(e));
	}
	/* Bounded: a writer stopped while holding the lock (SIGSTOP, a
	 * debugger) must not freeze every other process; give up after
	 * HSDO_STORE_FILE_LOCK_MS and let the caller retry next cycle. */
	for (waited = 0; flock(fd, LOCK_EX | LOCK_NB) == -1; waited += 5) {
		e = errno;
		if (e == EINTR)
			continue;
		if (e != EWOULDBLOCK || waited >= HSDO_STORE_FILE_LOCK_MS) {
			close(fd);
			if (e == EWOULDBLOCK)
				return hsdo_seterr(err, errlen, -HSDO_EAGAIN,
						   "%s: still locked by another writer after %d ms",
						   fs->lock_path, HSDO_STORE_FILE_LOCK_MS);
			return hsdo_seterr(err, errlen, -HSDO_EIO, "%s: flock: %s",
					   fs->lock_path, strerror(e));
		}
		nanosleep(&(struct timespec){ .tv_sec = 0, .tv_nsec = 5000000 }, NULL);
	}
	*fdp = fd;
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int hsdo_file_replace(const char *dir, const char *tmp_template, const char *target,
		      const char *doc, size_t len, bool durable, char *err, size_t errlen)
{
	char *tmp;
	const char *what;
	int fd, dfd, e, rc;

	tmp = hsdo_strdup(tmp_template);
	if (tmp == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	fd = mkstemp(tmp);
	if (fd == -1) {
		e = errno;
		rc = hsdo_seterr(err, errlen, -HSDO_EIO, "%s: mkstemp: %s", tmp, strerror(e));
		hsdo_free(tmp);
		return rc;
	}
	what = NULL;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		what = "fcntl";
	else if (fchmod(fd, 0644) == -1)
		what = "fchmod";
	else if (write_all(fd, doc, len) == -1)
		what = "write";
	else if (durable && fsync(fd) == -1)
		what = "fsync";
	e = errno;
	if (close(fd) == -1 && what == NULL) {
		what = "close";
		e = errno;
	}
	if (what == NULL && rename(tmp, target) == -1) {
		what = "rename";
		e = errno;
	}
	if (what != NULL) {
		rc = hsdo_seterr(err, errlen, -HSDO_EIO, "%s: %s: %s", tmp, what, strerror(e));
		(void)unlink(tmp);
		hsdo_free(tmp);
		return rc;
	}
	hsdo_free(tmp);
	if (!durable)
		return 0;
	/* The new document is in place; make the rename itself durable. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1 || (fsync(dfd) == -1 && errno != EINVAL)) {
		e = errno;
		if (dfd != -1)
			close(dfd);
		return hsdo_seterr(err, errlen, -HSDO_EIO,
				   "%s: written, but fsync of directory %s failed: %s",
				   target, dir, strerror(e));
	}
	close(dfd);
	return 0;
}

/* Render t and replace the document. Call with the lock held. */
static int store_doc(struct file_store *fs, const struct hsdo_table *t, char *err, size_t errlen)
{
	size_t len;
	char *doc;
	int rc;

	doc = hsdo_store_file_render(t, &len);
	if (doc == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory rendering the table");
	if (len > HSDO_STORE_FILE_MAX) {
		hsdo_free(doc);
		return hsdo_seterr(err, errlen, -HSDO_ETOOBIG,
				   "%s: document of %zu bytes is over the %zu byte limit",
				   fs->path, len, HSDO_STORE_FILE_MAX);
	}
	rc = hsdo_file_replace(fs->dir, fs->tmp_template, fs->path, doc, len, true, err, errlen);
	hsdo_free(doc);
	return rc;
}

/* ---- the writer lease: "<path>.lease", {"holder":S,"epoch":N,"expires_ms":N},
 * read and replaced under the same lock as the document. Whole-document
 * writes are atomic under that lock, so fencing needs no per-slot stamp:
 * a write whose epoch is not the lease's is refused as a whole. */

static int lease_load(struct file_store *fs, struct hsdo_lease *l, char *err, size_t errlen)
{
	const cJSON *h, *e, *x;
	struct hsdo_json_error jerr;
	char *buf = NULL;
	size_t len = 0;
	cJSON *root;
	uint64_t epoch, exp;
	int rc;

	memset(l, 0, sizeof(*l));
	rc = hsdo_file_read(fs->lease_path, HSDO_STORE_FILE_MAX, &buf, &len, NULL, err, errlen);
	if (rc == -HSDO_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	rc = hsdo_json_parse(buf, len, HSDO_STORE_FILE_MAX, &root, &jerr);
	hsdo_free(buf);
	if (rc == -HSDO_ENOMEM)
		return hsdo_seterr(err, errlen, rc, "%s: out of memory", fs->lease_path);
	if (rc != 0)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "%s: not JSON", fs->lease_path);
	h = cJSON_GetObjectItemCaseSensitive(root, "holder");
	e = cJSON_GetObjectItemCaseSensitive(root, "epoch");
	x = cJSON_GetObjectItemCaseSensitive(root, "expires_ms");
	if (!cJSON_IsString(h) || strlen(h->valuestring) >= sizeof(l->holder) ||
	    !json_uint(e, HSDO_STORE_FILE_GEN_MAX, &epoch) ||
	    !json_uint(x, HSDO_STORE_FILE_GEN_MAX, &exp)) {
		cJSON_Delete(root);
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "%s: want {\"holder\":string,\"epoch\":N,\"expires_ms\":N}",
				   fs->lease_path);
	}
	snprintf(l->holder, sizeof(l->holder), "%s", h->valuestring);
	l->epoch = epoch;
	l->expires_ms = (int64_t)exp;
	cJSON_Delete(root);
	return 0;
}

static int lease_store(struct file_store *fs, const struct hsdo_lease *l, char *err, size_t errlen)
{
	cJSON *root;
	char *doc;
	int rc;

	hsdo_json_begin();
	root = cJSON_CreateObject();
	if (root == NULL || cJSON_AddStringToObject(root, "holder", l->holder) == NULL ||
	    cJSON_AddNumberToObject(root, "epoch", (double)l->epoch) == NULL ||
	    cJSON_AddNumberToObject(root, "expires_ms", (double)l->expires_ms) == NULL ||
	    (doc = cJSON_PrintUnformatted(root)) == NULL) {
		cJSON_Delete(root);
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	}
	cJSON_Delete(root);
	rc = hsdo_file_replace(fs->dir, fs->tmp_template, fs->lease_path, doc, strlen(doc), true,
			       err, errlen);
	cJSON_free(doc);
	return rc;
}

static int file_lease(struct hsdo_store *st, const char *me, int64_t now_ms, int64_t ttl_ms,
		      struct hsdo_lease *out, char *err, size_t errlen)
{
	struct file_store *fs = fs_of(st);
	struct hsdo_lease cur;
	int lock, rc;

	if (me == NULL || me[0] == '\0' || strlen(me) >= sizeof(cur.holder) || ttl_ms <= 0 ||
	    now_ms < 0 || now_ms > INT64_MAX - ttl_ms)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "lease: bad holder or time");
	if ((rc = lock_take(fs, &lock, err, errlen)) != 0)
		return rc;
	if ((rc = lease_load(fs, &cur, err, errlen)) != 0)
		goto out;
	if (cur.holder[0] != '\0' && strcmp(cur.holder, me) != 0 && cur.expires_ms > now_ms) {
		*out = cur;
		out->taken_over = false;
		rc = hsdo_seterr(err, errlen, -HSDO_ECONFLICT,
				 "lease held by %s (epoch %" PRIu64 ") for %" PRId64 " ms more",
				 cur.holder, cur.epoch, cur.expires_ms - now_ms);
		goto out;
	}
	cur.taken_over = strcmp(cur.holder, me) != 0 || cur.epoch == 0;
	if (cur.taken_over) {
		if (cur.epoch >= HSDO_STORE_FILE_GEN_MAX) {
			rc = hsdo_seterr(err, errlen, -HSDO_ETOOBIG, "%s: epoch exhausted",
					 fs->lease_path);
			goto out;
		}
		cur.epoch++;
		snprintf(cur.holder, sizeof(cur.holder), "%s", me);
	}
	cur.expires_ms = now_ms + ttl_ms;
	if ((rc = lease_store(fs, &cur, err, errlen)) == 0)
		*out = cur;
out:
	close(lock);
	return rc;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static int file_read_generation(struct hsdo_store *st, uint64_t *gen, char *err, size_t errlen)
{
	struct file_store *fs = fs_of(st);
	struct hsdo_table t;
	struct stat sb;
	bool have_sb;
	int rc;

	have_sb = stat(fs->path, &sb) == 0;
	if (have_sb && fs->gen_cached && same_file(&sb, &fs->gen_st)) {
		*gen = fs->gen;
		return 0;
	}
	fs->gen_cached = false;
	rc = load(fs, &t, err, errlen);
	if (rc == -HSDO_ENOTFOUND) {
		*gen = 0;
		return 0;
	}
	if (rc != 0)
		return rc;
	*gen = t.generation;
	hsdo_table_free(&t);
	/* Stat'ed before the parse: if the file was replaced in between, the
	 * next call sees another identity and parses again. */
	if (have_sb) {
		fs->gen_st = sb;
		fs->gen = *gen;
		fs->gen_cached = true;
	}
	return 0;
}

static int file_read_table(struct hsdo_store *st, struct hsdo_table *out, char *err, size_t errlen)
{
	return load(fs_of(st), out, err, errlen);
}

static int file_ensure_slots(struct hsdo_store *st, size_t n, char *err, size_t errlen)
{
	struct file_store *fs = fs_of(st);
	struct hsdo_table cur, next;
	int lock, rc;

	if (n < 1 || n > HSDO_SLOTS_MAX)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "slot count %zu out of range 1..%d",
				   n, HSDO_SLOTS_MAX);
	if ((rc = lock_take(fs, &lock, err, errlen)) != 0)
		return rc;
	if ((rc = load_or_empty(fs, &cur, err, errlen)) != 0)
		goto out;
	if (cur.n >= n)
		goto out_cur;
	if (cur.generation >= HSDO_STORE_FILE_GEN_MAX) {
		rc = hsdo_seterr(err, errlen, -HSDO_ETOOBIG, "%s: generation exhausted", fs->path);
		goto out_cur;
	}
	if ((rc = hsdo_table_copy_grow(&next, &cur, n)) != 0) {
		rc = hsdo_seterr(err, errlen, rc, "out of memory for %zu slots", n);
		goto out_cur;
	}
	next.generation = cur.generation + 1;
	rc = store_doc(fs, &next, err, errlen);
	hsdo_table_free(&next);
out_cur:
	hsdo_table_free(&cur);
out:
	close(lock);
	return rc;
}

static int file_write_slots(struct hsdo_store *st, const struct hsdo_table *t,
			    const uint32_t *ids, size_t nids, uint64_t expected_gen,
			    uint64_t epoch, char *err, size_t errlen)
{
	struct file_store *fs = fs_of(st);
	struct hsdo_table cur;
	char ierr[200];
	uint32_t id;
	size_t i;
	int lock, rc;

	if (t == NULL || (nids != 0 && ids == NULL))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no table or ids");
	for (i = 0; i < nids; i++) {
		id = ids[i];
		if (id < 1 || id > t->n || t->slots[id - 1].id != id)
			return hsdo_seterr(err, errlen, -HSDO_EINVAL,
					   "slot id %" PRIu32 " is not in the given table of %zu slots",
					   id, t->n);
		if (hsdo_item_check(&t->slots[id - 1], ierr, sizeof(ierr)) != 0)
			return hsdo_seterr(err, errlen, -HSDO_EINVAL, "%s", ierr);
	}
	if ((rc = lock_take(fs, &lock, err, errlen)) != 0)
		return rc;
	if (epoch != 0) {
		struct hsdo_lease l;

		if ((rc = lease_load(fs, &l, err, errlen)) != 0)
			goto out;
		if (l.epoch != epoch) {
			rc = hsdo_seterr(err, errlen, -HSDO_ECONFLICT,
					 "%s: lease epoch is %" PRIu64 " (holder %s), this writer's is %"
					 PRIu64 ": deposed", fs->lease_path, l.epoch,
					 l.holder[0] ? l.holder : "none", epoch);
			goto out;
		}
	}
	if ((rc = load_or_empty(fs, &cur, err, errlen)) != 0)
		goto out;
	if (cur.generation != expected_gen) {
		rc = hsdo_seterr(err, errlen, -HSDO_ECONFLICT,
				 "%s: generation is %" PRIu64 ", expected %" PRIu64,
				 fs->path, cur.generation, expected_gen);
		goto out_cur;
	}
	if (cur.generation >= HSDO_STORE_FILE_GEN_MAX) {
		rc = hsdo_seterr(err, errlen, -HSDO_ETOOBIG, "%s: generation exhausted", fs->path);
		goto out_cur;
	}
	for (i = 0; i < nids; i++) {
		id = ids[i];
		if (id > cur.n) {
			rc = hsdo_seterr(err, errlen, cur.n ? -HSDO_EINVAL : -HSDO_ENOTFOUND,
					 "%s: slot %" PRIu32 " does not exist (the store has %zu "
					 "slots; ensure_slots first)", fs->path, id, cur.n);
			goto out_cur;
		}
		if ((rc = hsdo_table_put(&cur, id - 1, &t->slots[id - 1])) != 0) {
			rc = hsdo_seterr(err, errlen, rc, "out of memory for slot %" PRIu32, id);
			goto out_cur;
		}
	}
	cur.generation++;
	rc = store_doc(fs, &cur, err, errlen);
out_cur:
	hsdo_table_free(&cur);
out:
	close(lock);
	return rc;
}

static void file_free(struct hsdo_store *st)
{
	struct file_store *fs = fs_of(st);

	if (fs != NULL) {
		hsdo_free(fs->path);
		hsdo_free(fs->lock_path);
		hsdo_free(fs->lease_path);
		hsdo_free(fs->dir);
		hsdo_free(fs->tmp_template);
		hsdo_free(fs);
	}
	hsdo_free(st);
}

void hsdo_store_file_set_max_slots(struct hsdo_store *st, size_t max_slots)
{
	if (st != NULL && st->ops != NULL && strcmp(st->ops->name, "file") == 0)
		fs_of(st)->max_slots = max_slots;
}

static const struct hsdo_store_ops file_ops = {
	.name = "file",
	.read_generation = file_read_generation,
	.read_table = file_read_table,
	.ensure_slots = file_ensure_slots,
	.write_slots = file_write_slots,
	.lease = file_lease,
	.free = file_free,
};

int hsdo_store_file_open(const char *path, struct hsdo_store **out, char *err, size_t errlen)
{
	struct hsdo_store *st;
	struct file_store *fs;
	const char *slash, *base;
	char dir[PATH_MAX];
	struct stat sb;
	int e, dlen;

	if (path == NULL || path[0] == '\0')
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "empty store path");
	if (strlen(path) > PATH_MAX - 64)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "store path too long");
	slash = strrchr(path, '/');
	base = slash != NULL ? slash + 1 : path;
	if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "%s: not a file path", path);
	if (slash == NULL)
		dlen = snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		dlen = snprintf(dir, sizeof(dir), "/");
	else
		dlen = snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (dlen < 0 || (size_t)dlen >= sizeof(dir))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "store path too long");
	if (stat(dir, &sb) == -1) {
		e = errno;
		return hsdo_seterr(err, errlen, e == ENOENT ? -HSDO_ENOTFOUND : -HSDO_EIO,
				   "%s: directory %s: %s", path, dir, strerror(e));
	}
	if (!S_ISDIR(sb.st_mode))
		return hsdo_seterr(err, errlen, -HSDO_ENOTFOUND, "%s: %s is not a directory",
				   path, dir);

	st = hsdo_calloc(1, sizeof(*st));
	fs = hsdo_calloc(1, sizeof(*fs));
	if (st == NULL || fs == NULL) {
		hsdo_free(st);
		hsdo_free(fs);
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	}
	st->ops = &file_ops;
	st->impl = fs;
	fs->path = hsdo_strdup(path);
	fs->lock_path = hsdo_strdup_printf("%s.lock", path);
	fs->lease_path = hsdo_strdup_printf("%s.lease", path);
	fs->dir = hsdo_strdup(dir);
	fs->tmp_template = hsdo_strdup_printf("%s/.%s.tmp-XXXXXX", dir, base);
	if (fs->path == NULL || fs->lock_path == NULL || fs->lease_path == NULL || fs->dir == NULL ||
	    fs->tmp_template == NULL) {
		hsdo_store_free(st);
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	}
	*out = st;
	return 0;
}
