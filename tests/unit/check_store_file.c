/* The embedded file store: slot creation, round trips, generations and
 * conflicts, corrupt documents (the caller keeps its last good table),
 * concurrent writers in several processes, temp-file hygiene and
 * allocation failures. */
#include <check.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/slot.h"
#include "hsdo/store.h"
#include "hsdo/store_file.h"
#include "hsdo_test.h"

#define T_2023 INT64_C(1683022272123456)

struct fixture {
	char *dir;
	char path[512];
	struct hsdo_store *st;
};

static void fx_open(struct fixture *fx)
{
	char err[512] = "";

	fx->dir = hsdo_test_tmpdir("store");
	ck_assert_ptr_nonnull(fx->dir);
	snprintf(fx->path, sizeof(fx->path), "%s/slots.json", fx->dir);
	ck_assert_msg(hsdo_store_file_open(fx->path, &fx->st, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(hsdo_store_name(fx->st), "file");
}

static void fx_close(struct fixture *fx)
{
	hsdo_store_free(fx->st);
	hsdo_test_rmtree(fx->dir);
	free(fx->dir);
}

/* s is a slot of t, or a stack slot (t NULL) given literals. */
static void set_active(struct hsdo_table *t, struct hsdo_slot *s, const char *ip, const char *name,
		       uint32_t w)
{
	s->state = HSDO_SLOT_ACTIVE;
	if (t == NULL) {
		s->ip = ip;
		s->name = name;
		s->group = "my-asg";
	} else {
		ck_assert_int_eq(hsdo_table_set(t, &s->ip, HSDO_IP_LEN, ip), 0);
		ck_assert_int_eq(hsdo_table_set(t, &s->name, HSDO_NAME_LEN, name), 0);
		ck_assert_int_eq(hsdo_table_set(t, &s->group, HSDO_GROUP_LEN, "my-asg"), 0);
	}
	s->weight = w;
	s->last_weight_update_us = T_2023;
}

static void read_ok(struct hsdo_store *st, struct hsdo_table *t)
{
	char err[512] = "";

	ck_assert_msg(hsdo_store_read_table(st, t, err, sizeof(err)) == 0, "%s", err);
}

static uint64_t gen_of(struct hsdo_store *st)
{
	char err[512] = "";
	uint64_t g = 12345;

	ck_assert_msg(hsdo_store_read_generation(st, &g, err, sizeof(err)) == 0, "%s", err);
	return g;
}

/* Entries of dir other than the two the store owns. */
static int stray_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    strcmp(e->d_name, "slots.json") == 0 || strcmp(e->d_name, "slots.json.lock") == 0)
			continue;
		fprintf(stderr, "stray file: %s\n", e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

static bool tables_equal(const struct hsdo_table *a, const struct hsdo_table *b)
{
	size_t i;

	if (a->n != b->n || a->generation != b->generation)
		return false;
	for (i = 0; i < a->n; i++)
		if (!hsdo_slot_equal(&a->slots[i], &b->slots[i]))
			return false;
	return true;
}

/* ---- basics ------------------------------------------------------------------ */

START_TEST(missing_file)
{
	struct fixture fx;
	struct hsdo_table t = { NULL, 0, 77, NULL };
	char err[512] = "";
	uint32_t id = 1;

	fx_open(&fx);
	ck_assert_int_eq(hsdo_store_read_table(fx.st, &t, err, sizeof(err)), -HSDO_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(err, fx.path));
	ck_assert_uint_eq(t.generation, 77);
	ck_assert_uint_eq(gen_of(fx.st), 0);
	ck_assert_int_eq(hsdo_table_init(&t, 1), 0);
	ck_assert_int_eq(hsdo_store_write_slots(fx.st, &t, &id, 1, 0, 0, err, sizeof(err)),
			 -HSDO_ENOTFOUND);
	ck_assert_int_eq(hsdo_store_write_slots(fx.st, &t, &id, 1, 3, 0, err, sizeof(err)),
			 -HSDO_ECONFLICT);
	hsdo_table_free(&t);
	ck_assert_int_eq(access(fx.path, F_OK), -1);
	fx_close(&fx);
}
END_TEST

START_TEST(open_errors)
{
	struct hsdo_store *st = NULL;
	char err[512] = "";

	ck_assert_int_eq(hsdo_store_file_open("/nonexistent-hsdo-dir/x/slots.json", &st, err,
					      sizeof(err)), -HSDO_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent-hsdo-dir/x"));
	ck_assert_int_eq(hsdo_store_file_open("", &st, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_store_file_open("/tmp/", &st, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_ptr_null(st);
	hsdo_store_free(NULL);
	ck_assert_str_eq(hsdo_store_name(NULL), "none");
}
END_TEST

START_TEST(ensure_creates_and_keeps)
{
	struct fixture fx;
	struct hsdo_table t;
	char err[512] = "";
	uint32_t id = 2;
	size_t i;

	fx_open(&fx);
	ck_assert_msg(hsdo_store_ensure_slots(fx.st, 5, err, sizeof(err)) == 0, "%s", err);
	read_ok(fx.st, &t);
	ck_assert_uint_eq(t.n, 5);
	ck_assert_uint_eq(t.generation, 1);
	for (i = 0; i < t.n; i++) {
		ck_assert_uint_eq(t.slots[i].id, i + 1);
		ck_assert_int_eq(t.slots[i].state, HSDO_SLOT_FREE);
	}
	set_active(&t, &t.slots[1], "10.0.0.2", "i-2", 3);
	ck_assert_int_eq(hsdo_store_write_slots(fx.st, &t, &id, 1, 1, 0, err, sizeof(err)), 0);
	hsdo_table_free(&t);

	/* fewer than present: nothing written, generation kept */
	ck_assert_int_eq(hsdo_store_ensure_slots(fx.st, 3, err, sizeof(err)), 0);
	ck_assert_int_eq(hsdo_store_ensure_slots(fx.st, 5, err, sizeof(err)), 0);
	ck_assert_uint_eq(gen_of(fx.st), 2);
	/* more: appended, existing kept */
	ck_assert_int_eq(hsdo_store_ensure_slots(fx.st, 8, err, sizeof(err)), 0);
	read_ok(fx.st, &t);
	ck_assert_uint_eq(t.n, 8);
	ck_assert_uint_eq(t.generation, 3);
	ck_assert_int_eq(t.slots[1].state, HSDO_SLOT_ACTIVE);
	ck_assert_str_eq(t.slots[1].ip, "10.0.0.2");
	ck_assert_uint_eq(t.slots[7].id, 8);
	ck_assert_int_eq(t.slots[7].state, HSDO_SLOT_FREE);
	hsdo_table_free(&t);

	ck_assert_int_eq(hsdo_store_ensure_slots(fx.st, 0, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_store_ensure_slots(fx.st, HSDO_SLOTS_MAX + 1, err, sizeof(err)),
			 -HSDO_EINVAL);
	ck_assert_int_eq(stray_files(fx.dir), 0);
	fx_close(&fx);
}
END_TEST

START_TEST(write_read_roundtrip)
{
	struct fixture fx;
	struct hsdo_table t, back;
	char err[512] = "";
	uint32_t ids[] = { 1, 3 };
	struct stat sb;

	fx_open(&fx);
	ck_assert_int_eq(hsdo_store_ensure_slots(fx.st, 4, err, sizeof(err)), 0);
	read_ok(fx.st, &t);
	set_active(&t, &t.slots[0], "10.0.0.1", "i-1", 7);
	t.slots[0].port = 8080;
	ck_assert_int_eq(hsdo_table_set(&t, &t.slots[0].az, HSDO_AZ_LEN, "eu-west-1a"), 0);
	set_active(&t, &t.slots[2], "2001:db8::3", "i-3", 0);
	t.slots[2].state = HSDO_SLOT_DRAINING;
	/* slot 4 changed locally but not listed: must not be written */
	set_active(&t, &t.slots[3], "10.0.0.4", "i-4", 1);
	ck_assert_msg(hsdo_store_write_slots(fx.st, &t, ids, 2, 1, 0, err, sizeof(err)) == 0, "%s", err);
	read_ok(fx.st, &back);
	ck_assert_uint_eq(back.generation, 2);
	ck_assert(hsdo_slot_equal(&back.slots[0], &t.slots[0]));
	ck_assert(hsdo_slot_equal(&back.slots[2], &t.slots[2]));
	ck_assert_int_eq(back.slots[1].state, HSDO_SLOT_FREE);
	ck_assert_int_eq(back.slots[3].state, HSDO_SLOT_FREE);
	ck_assert_uint_eq(gen_of(fx.st), 2);
	ck_assert_int_eq(stat(fx.path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0644);
	hsdo_table_free(&back);
	hsdo_table_free(&t);
	ck_assert_int_eq(stray_files(fx.dir), 0);
	fx_close(&fx);
}
END_TEST

/* The generation poll is cached by the file's identity: a write through
 * another handle (a new file renamed over the path), or an edit in place,
 * must be seen by the next poll. */
START_TEST(generation_cache_sees_changes)
{
	struct fixture fx;
	struct hsdo_store *other = NULL;
	struct hsdo_table t;
	char err[512] = "", *doc;
	uint32_t id = 1;
	size_t len;

	fx_open(&fx);
	ck_assert_int_eq(hsdo_store_ensure_slots(fx.st, 2, err, sizeof(err)), 0);
	ck_assert_uint_eq(gen_of(fx.st), 1);
	ck_assert_uint_eq(gen_of(fx.st), 1);  /* cached */
	ck_assert_msg(hsdo_store_file_open(fx.path, &other, err, sizeof(err)) == 0, "%s", err);
	read_ok(other, &t);
	set_active(&t, &t.slots[0], "10.0.0.1", "i-1", 5);
	ck_assert_msg(hsdo_store_write_slots(other, &t, &id, 1, 1, 0, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(gen_of(fx.st), 2);
	/* Same inode, rewritten in place with another generation. */
	t.generation = 9;
	doc = hsdo_store_file_render(&t, &len);
	ck_assert_ptr_nonnull(doc);
	ck_assert_int_eq(hsdo_test_write_file(fx.path, doc, len), 0);
	hsdo_free(doc);
	ck_assert_uint_eq(gen_of(fx.st), 9);
	/* Corrupted in place: an error, not the cached value. */
	ck_assert_int_eq(hsdo_test_write_file(fx.path, "{", 1), 0);
	ck_assert_int_eq(hsdo_store_read_generation(fx.st, &(uint64_t){ 0 }, err, sizeof(err)),
			 -HSDO_EPROTO);
	hsdo_table_free(&t);
	hsdo_store_free(other);
	fx_close(&fx);
}
END_TEST

START_TEST(conflict_writes_nothing)
{
	struct fixture fx;
	struct hsdo_table t;
	char err[512] = "", *before, *after;
	uint32_t id = 1;
	size_t blen, alen;

	fx_open(&fx);
	ck_assert_int_eq(hsdo_store_ensure_slots(fx.st, 2, err, sizeof(err)), 0);
	read_ok(fx.st, &t);
	set_active(&t, &t.slots[0], "10.0.0.1", "i-1", 1);
	ck_assert_int_eq(hsdo_store_write_slots(fx.st, &t, &id, 1, 1, 0, err, sizeof(err)), 0);
	ck_assert_uint_eq(gen_of(fx.st), 2);
	before = hsdo_test_read_file(fx.path, &blen);
	ck_assert_ptr_nonnull(before);

	set_active(&t, &t.slots[0], "10.0.0.9", "i-9", 9);
	ck_assert_int_eq(hsdo_store_write_slots(fx.st, &t, &id, 1, 1, 0, err, sizeof(err)),
			 -HSDO_ECONFLICT);
	ck_assert_msg(strstr(err, "generation is 2, expected 1") != NULL, "%s", err);
	ck_assert_int_eq(hsdo_store_write_slots(fx.st, &t, &id, 1, 3, 0, err, sizeof(err)),
			 -HSDO_ECONFLICT);
	after = hsdo_test_read_file(fx.path, &alen);
	ck_assert_ptr_nonnull(after);
	ck_assert_uint_eq(alen, blen);
	ck_assert(memcmp(before, after, blen) == 0);
	ck_assert_uint_eq(gen_of(fx.st), 2);
	free(before);
	free(after);
	hsdo_table_free(&t);
	ck_assert_int_eq(stray_files(fx.dir), 0);
	fx_close(&fx);
}
END_TEST

START_TEST(write_rejects_bad_input)
{
	struct fixture fx;
	struct hsdo_table t, big;
	char err[512] = "";
	uint32_t id;

	fx_open(&fx);
	ck_assert_int_eq(hsdo_store_ensure_slots(fx.st, 2, err, sizeof(err)), 0);
	read_ok(fx.st, &t);
	id = 3;    /* not in the caller's table */
	ck_assert_int_eq(hsdo_store_write_slots(fx.st, &t, &id, 1, 1, 0, err, sizeof(err)), -HSDO_EINVAL);
	id = 1;
	set_active(&t, &t.slots[0], "10.0.0.1", "i-1", HSDO_WEIGHT_MAX + 1);
	ck_assert_int_eq(hsdo_store_write_slots(fx.st, &t, &id, 1, 1, 0, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_msg(strstr(err, "weight 257") != NULL, "%s", err);
	/* in the caller's table but not in the store */
	ck_assert_int_eq(hsdo_table_init(&big, 3), 0);
	id = 3;
	ck_assert_int_eq(hsdo_store_write_slots(fx.st, &big, &id, 1, 1, 0, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_msg(strstr(err, "slot 3 does not exist") != NULL, "%s", err);
	ck_assert_uint_eq(gen_of(fx.st), 1);
	hsdo_table_free(&big);
	hsdo_table_free(&t);
	fx_close(&fx);
}
END_TEST

/* ---- the document ------------------------------------------------------------ */

static const char doc_small[] =
	"{\"format\":\"hsdo-slots\",\"version\":1,\"generation\":7,\"slots\":[\n"
	"{\"BackendServerID\":{\"N\":\"1\"},\"IPAddress\":{\"S\":\"10.0.0.1\"},"
	"\"ServerName\":{\"S\":\"i-1\"},\"ASG\":{\"S\":\"my-asg\"},\"Weight\":{\"N\":\"4\"},"
	"\"BackendServerStatus\":{\"S\":\"enabled\"},"
	"\"LastWeightUpdate\":{\"S\":\"2023-05-02 10:11:12.123456\"}},\n"
	"{\"BackendServerID\":{\"N\":\"2\"},\"IPAddress\":{\"S\":\"none\"},"
	"\"ServerName\":{\"S\":\"none\"},\"ASG\":{\"S\":\"none\"},\"Weight\":{\"N\":\"0\"},"
	"\"BackendServerStatus\":{\"S\":\"disabled\"},"
	"\"LastWeightUpdate\":{\"S\":\"0-0-0 00:00:00.000000\"}}\n"
	"]}\n";

START_TEST(render_exact)
{
	struct hsdo_table t;
	size_t len;
	char *doc;

	ck_assert_int_eq(hsdo_table_init(&t, 2), 0);
	t.generation = 7;
	set_active(&t, &t.slots[0], "10.0.0.1", "i-1", 4);
	doc = hsdo_store_file_render(&t, &len);
	ck_assert_ptr_nonnull(doc);
	ck_assert_str_eq(doc, doc_small);
	ck_assert_uint_eq(len, strlen(doc_small));
	hsdo_free(doc);
	hsdo_table_free(&t);
}
END_TEST

START_TEST(parse_forms)
{
	static const char unsorted[] =
		"{\"slots\":[{\"BackendServerID\":{\"N\":\"2\"},\"IPAddress\":{\"S\":\"none\"},"
		"\"ServerName\":{\"S\":\"none\"},\"Weight\":{\"N\":\"0\"},"
		"\"BackendServerStatus\":{\"S\":\"disabled\"},\"LastWeightUpdate\":{\"S\":\"0-0-0 00:00:00\"}},"
		"{\"BackendServerID\":{\"N\":\"1\"},\"IPAddress\":{\"S\":\"none\"},"
		"\"ServerName\":{\"S\":\"none\"},\"Weight\":{\"N\":\"0\"},"
		"\"BackendServerStatus\":{\"S\":\"disabled\"},\"LastWeightUpdate\":{\"S\":\"0-0-0 00:00:00\"}}],"
		"\"generation\":9007199254740991,\"version\":1,\"format\":\"hsdo-slots\",\"future\":[1]}";
	static const char empty[] = " {\"format\":\"hsdo-slots\",\"version\":1,\"generation\":0,\"slots\":[]} \n";
	struct hsdo_table t, t2;
	char err[512] = "", *doc;
	size_t len;

	ck_assert_msg(hsdo_store_file_parse(doc_small, strlen(doc_small), &t, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_uint_eq(t.n, 2);
	ck_assert_uint_eq(t.generation, 7);
	ck_assert_uint_eq(t.slots[0].weight, 4);
	doc = hsdo_store_file_render(&t, &len);
	ck_assert_ptr_nonnull(doc);
	ck_assert_int_eq(hsdo_store_file_parse(doc, len, &t2, err, sizeof(err)), 0);
	ck_assert(tables_equal(&t, &t2));
	hsdo_free(doc);
	hsdo_table_free(&t2);
	hsdo_table_free(&t);

	ck_assert_msg(hsdo_store_file_parse(unsorted, strlen(unsorted), &t, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_uint_eq(t.n, 2);
	ck_assert_uint_eq(t.slots[0].id, 1);
	ck_assert_uint_eq(t.slots[1].id, 2);
	ck_assert_uint_eq(t.generation, UINT64_C(9007199254740991));
	hsdo_table_free(&t);

	ck_assert_int_eq(hsdo_store_file_parse(empty, strlen(empty), &t, err, sizeof(err)), 0);
	ck_assert_uint_eq(t.n, 0);
	hsdo_table_free(&t);
}
END_TEST

START_TEST(render_refuses_bad_tables)
{
	struct hsdo_table t;
	size_t len;

	ck_assert_int_eq(hsdo_table_init(&t, 2), 0);
	t.slots[1].id = 5;
	ck_assert_ptr_null(hsdo_store_file_render(&t, &len));
	t.slots[1].id = 2;
	t.generation = UINT64_C(9007199254740992);
	ck_assert_ptr_null(hsdo_store_file_render(&t, &len));
	t.generation = 1;
	set_active(&t, &t.slots[0], "10.0.0.1", "i", HSDO_WEIGHT_MAX + 1);
	ck_assert_ptr_null(hsdo_store_file_render(&t, &len));
	hsdo_table_free(&t);
}
END_TEST

#define HEAD(v, g) "{\"format\":\"hsdo-slots\",\"version\":" v ",\"generation\":" g ",\"slots\":["
#define SLOT(id, w) "{\"BackendServerID\":{\"N\":\"" id "\"},\"IPAddress\":{\"S\":\"10.0.0." id "\"}," \
	"\"ServerName\":{\"S\":\"i-" id "\"},\"ASG\":{\"S\":\"g\"},\"Weight\":{\"N\":\"" w "\"}," \
	"\"BackendServerStatus\":{\"S\":\"enabled\"},\"LastWeightUpdate\":{\"S\":\"2023-05-02 10:11:12\"}}"

static const struct {
	const char *doc;   /* NULL: the first half of doc_small */
	int rc;
	const char *reason;
	size_t len;        /* 0: strlen(doc) */
} corrupt[] = {
	{ NULL, -HSDO_EPROTO, "invalid JSON at byte", 0 },
	{ "", -HSDO_EPROTO, "empty document", 0 },
	{ "hello", -HSDO_EPROTO, "invalid JSON", 0 },
	{ "\x00\x01\x02garbage", -HSDO_EPROTO, "invalid JSON", 10 },
	{ "[]", -HSDO_EPROTO, "document is not a JSON object", 0 },
	{ HEAD("1", "3") SLOT("1", "1") "]} {}", -HSDO_EPROTO, "trailing data", 0 },
	{ "{\"format\":\"other\",\"version\":1,\"generation\":1,\"slots\":[]}", -HSDO_EPROTO,
	  "format: not an \"hsdo-slots\" document", 0 },
	{ "{\"version\":1,\"generation\":1,\"slots\":[]}", -HSDO_EPROTO, "format:", 0 },
	{ HEAD("2", "3") "]}", -HSDO_EPROTO, "version: unsupported version 2", 0 },
	{ HEAD("\"1\"", "3") "]}", -HSDO_EPROTO, "version: missing or not", 0 },
	{ HEAD("1", "-1") "]}", -HSDO_EPROTO, "generation: not an integer", 0 },
	{ HEAD("1", "1.5") "]}", -HSDO_EPROTO, "generation: not an integer", 0 },
	{ HEAD("1", "1e300") "]}", -HSDO_EPROTO, "generation: not an integer", 0 },
	{ HEAD("1", "9007199254740992") "]}", -HSDO_EPROTO, "generation: not an integer", 0 },
	{ "{\"format\":\"hsdo-slots\",\"version\":1,\"generation\":3}", -HSDO_EPROTO,
	  "slots: missing or not an array", 0 },
	{ HEAD("1", "3") SLOT("1", "1") "," SLOT("2", "300") "]}", -HSDO_EPROTO,
	  "slots[1] (BackendServerID 2): Weight: 300 out of range 0..256", 0 },
	{ HEAD("1", "3") SLOT("1", "1") ",{\"BackendServerID\":{\"N\":\"2\"}}]}", -HSDO_EPROTO,
	  "slots[1] (BackendServerID 2): missing attribute IPAddress", 0 },
	{ HEAD("1", "3") SLOT("1", "1") ",7]}", -HSDO_EPROTO,
	  "slots[1]: item is not a JSON object", 0 },
	{ HEAD("1", "3") SLOT("1", "1") "," SLOT("2", "1") "," SLOT("1", "2") "]}", -HSDO_EPROTO,
	  "slots[2]: duplicate BackendServerID 1 (also slots[0])", 0 },
	{ HEAD("1", "3") SLOT("1", "1") "," SLOT("2", "1") "," SLOT("4", "2") "]}", -HSDO_EPROTO,
	  "slots[2]: BackendServerID 4 in a table of 3 slots (ids must be 1..3 with no gap)", 0 },
	{ HEAD("1", "3") SLOT("2", "1") "]}", -HSDO_EPROTO, "BackendServerID 2 in a table of 1 slots", 0 },
};

/* A corrupt document fails read_table with a reason and leaves the caller's
 * last good table alone; writers refuse to build on it. */
START_TEST(corrupt_document)
{
	struct fixture fx;
	struct hsdo_table good, copy;
	char err[512] = "", *before, *after;
	const char *doc = corrupt[_i].doc;
	size_t len, blen, alen;
	uint32_t id = 1;
	uint64_t g;

	fx_open(&fx);
	ck_assert_int_eq(hsdo_store_ensure_slots(fx.st, 2, err, sizeof(err)), 0);
	read_ok(fx.st, &good);
	set_active(&good, &good.slots[0], "10.0.0.1", "i-1", 1);
	ck_assert_int_eq(hsdo_table_copy(&copy, &good), 0);

	if (doc == NULL) {
		doc = doc_small;
		len = strlen(doc_small) / 2;
	} else {
		len = corrupt[_i].len ? corrupt[_i].len : strlen(doc);
	}
	ck_assert_int_eq(hsdo_test_write_file(fx.path, doc, len), 0);
	before = hsdo_test_read_file(fx.path, &blen);

	ck_assert_int_eq(hsdo_store_read_table(fx.st, &good, err, sizeof(err)), corrupt[_i].rc);
	ck_assert_msg(strstr(err, corrupt[_i].reason) != NULL, "case %d: \"%s\", want \"%s\"",
		      _i, err, corrupt[_i].reason);
	ck_assert_ptr_nonnull(strstr(err, fx.path));
	ck_assert(tables_equal(&good, &copy));
	ck_assert_int_eq(hsdo_store_read_generation(fx.st, &g, err, sizeof(err)), corrupt[_i].rc);
	ck_assert_int_eq(hsdo_store_write_slots(fx.st, &good, &id, 1, good.generation, 0, err,
						sizeof(err)), corrupt[_i].rc);
	ck_assert_int_eq(hsdo_store_ensure_slots(fx.st, 4, err, sizeof(err)), corrupt[_i].rc);
	after = hsdo_test_read_file(fx.path, &alen);
	ck_assert_uint_eq(alen, blen);
	ck_assert(memcmp(before, after, blen) == 0);
	free(before);
	free(after);
	hsdo_table_free(&good);
	hsdo_table_free(&copy);
	ck_assert_int_eq(stray_files(fx.dir), 0);
	fx_close(&fx);
}
END_TEST

/* A document without "generation" (written by hand): generation 0, an
 * unversioned table; a write of ours states 0 and gives it generation 1. */
START_TEST(document_without_generation)
{
	const char *doc = "{\"format\":\"hsdo-slots\",\"version\":1,\"slots\":["
		SLOT("1", "4") "]}";
	struct fixture fx;
	struct hsdo_table t;
	char err[512] = "";
	uint32_t id = 1;

	fx_open(&fx);
	ck_assert_int_eq(hsdo_test_write_file(fx.path, doc, strlen(doc)), 0);
	ck_assert_uint_eq(gen_of(fx.st), 0);
	read_ok(fx.st, &t);
	ck_assert_uint_eq(t.n, 1);
	ck_assert_uint_eq(t.generation, 0);
	ck_assert_uint_eq(t.slots[0].weight, 4);
	t.slots[0].weight = 5;
	ck_assert_msg(hsdo_store_write_slots(fx.st, &t, &id, 1, 0, 0, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_uint_eq(gen_of(fx.st), 1);
	hsdo_table_free(&t);
	fx_close(&fx);
}
END_TEST

START_TEST(parse_limits)
{
	struct hsdo_table t = { NULL, 0, 5, NULL };
	char err[512] = "";

	ck_assert_int_eq(hsdo_store_file_parse("{}", HSDO_STORE_FILE_MAX + 1, &t, err, sizeof(err)),
			 -HSDO_ETOOBIG);
	ck_assert_int_eq(hsdo_store_file_parse(NULL, 0, &t, err, sizeof(err)), -HSDO_EPROTO);
	ck_assert_uint_eq(t.generation, 5);
}
END_TEST

START_TEST(oversized_file_refused)
{
	struct fixture fx;
	struct hsdo_table t = { NULL, 0, 5, NULL };
	char err[512] = "";
	FILE *f;

	fx_open(&fx);
	f = fopen(fx.path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, (long)HSDO_STORE_FILE_MAX, SEEK_SET), 0);
	ck_assert_int_eq(fputc(' ', f), ' ');
	fclose(f);
	ck_assert_int_eq(hsdo_store_read_table(fx.st, &t, err, sizeof(err)), -HSDO_ETOOBIG);
	ck_assert_uint_eq(t.generation, 5);
	fx_close(&fx);
}
END_TEST

/* A FIFO (no writer) at the path: every operation fails at once, naming
 * it, and never opens it for a blocking read (this test would hang: the
 * runner's timeout catches it). The lease path too. */
START_TEST(fifo_refused)
{
	struct fixture fx;
	struct hsdo_table t = { NULL, 0, 5, NULL };
	struct hsdo_lease l;
	char err[512] = "", lease[600];
	uint64_t gen = 9;

	fx_open(&fx);
	ck_assert_int_eq(mkfifo(fx.path, 0644), 0);
	ck_assert_int_eq(hsdo_store_read_generation(fx.st, &gen, err, sizeof(err)), -HSDO_EIO);
	ck_assert_msg(strstr(err, "not a regular file (a FIFO)") != NULL, "%s", err);
	ck_assert_int_eq(hsdo_store_read_table(fx.st, &t, err, sizeof(err)), -HSDO_EIO);
	ck_assert_uint_eq(t.generation, 5);
	ck_assert_int_eq(hsdo_store_ensure_slots(fx.st, 3, err, sizeof(err)), -HSDO_EIO);
	ck_assert_int_eq(unlink(fx.path), 0);
	snprintf(lease, sizeof(lease), "%s.lease", fx.path);
	ck_assert_int_eq(mkfifo(lease, 0644), 0);
	ck_assert_int_eq(hsdo_store_lease(fx.st, "me", 1000, 5000, &l, err, sizeof(err)), -HSDO_EIO);
	ck_assert_msg(strstr(err, "not a regular file (a FIFO)") != NULL, "%s", err);
	fx_close(&fx);
}
END_TEST

/* A client's bound (hsdo_store_file_set_max_slots): a slot beyond it fails
 * the read naming it, a document larger than the slots can take is not
 * read at all; 0 lifts the bound. */
START_TEST(max_slots_bound)
{
	struct fixture fx;
	struct hsdo_table t = { NULL, 0, 5, NULL };
	char err[512] = "", *big;
	uint64_t gen = 0;
	size_t len = (size_t)300 << 10;

	fx_open(&fx);
	ck_assert_int_eq(hsdo_store_ensure_slots(fx.st, 10, err, sizeof(err)), 0);
	hsdo_store_file_set_max_slots(fx.st, 8);
	ck_assert_int_eq(hsdo_store_read_table(fx.st, &t, err, sizeof(err)), -HSDO_EPROTO);
	ck_assert_msg(strstr(err, "slot 9 (BackendServerID 9) is beyond the 8 slots") != NULL,
		      "%s", err);
	ck_assert_uint_eq(t.generation, 5);
	hsdo_store_file_set_max_slots(fx.st, 10);
	read_ok(fx.st, &t);
	ck_assert_uint_eq(t.n, 10);
	hsdo_table_free(&t);
	/* 300 KiB of spaces after a valid document: more than 8 slots take. */
	big = malloc(len);
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', len);
	memcpy(big, "{\"format\":\"hsdo-slots\",\"version\":1,\"generation\":3,\"slots\":[]}", 61);
	ck_assert_int_eq(hsdo_test_write_file(fx.path, big, len), 0);
	free(big);
	hsdo_store_file_set_max_slots(fx.st, 8);
	ck_assert_int_eq(hsdo_store_read_generation(fx.st, &gen, err, sizeof(err)), -HSDO_ETOOBIG);
	ck_assert_msg(strstr(err, "larger than 8 slots can take") != NULL, "%s", err);
	hsdo_store_file_set_max_slots(fx.st, 0);
	ck_assert_int_eq(hsdo_store_read_generation(fx.st, &gen, err, sizeof(err)), 0);
	ck_assert_uint_eq(gen, 3);
	hsdo_store_file_set_max_slots(NULL, 3);
	fx_close(&fx);
}
END_TEST

/* ---- concurrency ------------------------------------------------------------- */

#define WRITERS    4
#define WRITES_PER 75
#define NSLOTS     8

static void writer(const char *path, int k)
{
	struct hsdo_store *st;
	struct hsdo_table t;
	char err[512], ip[HSDO_IP_LEN];
	uint32_t id = (uint32_t)k + 1;
	int done = 0, rc;

	if (hsdo_store_file_open(path, &st, err, sizeof(err)) != 0)
		_exit(10);
	while (done < WRITES_PER) {
		if (hsdo_store_read_table(st, &t, err, sizeof(err)) != 0) {
			fprintf(stderr, "writer %d: read: %s\n", k, err);
			_exit(11);
		}
		snprintf(ip, sizeof(ip), "10.%d.0.%d", k, done % 250);
		t.slots[id - 1].state = HSDO_SLOT_ACTIVE;
		hsdo_table_setf(&t, &t.slots[id - 1].ip, HSDO_IP_LEN, "%s", ip);
		t.slots[id - 1].weight = (uint32_t)done + 1;
		rc = hsdo_store_write_slots(st, &t, &id, 1, t.generation, 0, err, sizeof(err));
		hsdo_table_free(&t);
		/* A conflict, or the lock held past its bounded wait: try again. */
		if (rc == 0)
			done++;
		else if (rc != -HSDO_ECONFLICT && rc != -HSDO_EAGAIN) {
			fprintf(stderr, "writer %d: write: %s\n", k, err);
			_exit(12);
		}
	}
	hsdo_store_free(st);
	_exit(0);
}

static void reader(const char *path, const char *stop)
{
	struct hsdo_store *st;
	struct hsdo_table t;
	char err[512];
	uint64_t last = 0;
	long reads = 0;

	if (hsdo_store_file_open(path, &st, err, sizeof(err)) != 0)
		_exit(20);
	while (access(stop, F_OK) != 0 || reads == 0) {
		if (hsdo_store_read_table(st, &t, err, sizeof(err)) != 0) {
			fprintf(stderr, "reader: %s\n", err);
			_exit(21);
		}
		if (t.n != NSLOTS || t.generation < last) {
			fprintf(stderr, "reader: n %zu generation %llu after %llu\n", t.n,
				(unsigned long long)t.generation, (unsigned long long)last);
			_exit(22);
		}
		last = t.generation;
		hsdo_table_free(&t);
		reads++;
	}
	hsdo_store_free(st);
	_exit(0);
}

START_TEST(concurrent_writers)
{
	struct fixture fx;
	struct hsdo_table t;
	char err[512] = "", stop[600];
	pid_t pids[WRITERS + 1];
	int i, status;

	fx_open(&fx);
	snprintf(stop, sizeof(stop), "%s/stop", fx.dir);
	ck_assert_int_eq(hsdo_store_ensure_slots(fx.st, NSLOTS, err, sizeof(err)), 0);
	for (i = 0; i <= WRITERS; i++) {
		pids[i] = fork();
		ck_assert_int_ne(pids[i], -1);
		if (pids[i] == 0) {
			if (i == WRITERS)
				reader(fx.path, stop);
			writer(fx.path, i);
		}
	}
	for (i = 0; i < WRITERS; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "writer %d: status %d", i, status);
	}
	ck_assert_int_eq(hsdo_test_write_file(stop, "", 0), 0);
	ck_assert_int_eq(waitpid(pids[WRITERS], &status, 0), pids[WRITERS]);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "reader: status %d", status);
	ck_assert_int_eq(unlink(stop), 0);

	read_ok(fx.st, &t);
	/* ensure_slots was write 1 */
	ck_assert_uint_eq(t.generation, 1 + WRITERS * WRITES_PER);
	for (i = 0; i < WRITERS; i++) {
		ck_assert_int_eq(t.slots[i].state, HSDO_SLOT_ACTIVE);
		ck_assert_uint_eq(t.slots[i].weight, WRITES_PER);
	}
	ck_assert_int_eq(t.slots[WRITERS].state, HSDO_SLOT_FREE);
	hsdo_table_free(&t);
	ck_assert_int_eq(stray_files(fx.dir), 0);
	fx_close(&fx);
}
END_TEST

/* ---- allocation failures ------------------------------------------------------- */

START_TEST(alloc_failure_open)
{
	struct hsdo_store *st = NULL;
	char err[512], *dir = hsdo_test_tmpdir("store"), path[512];
	unsigned long i;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/slots.json", dir);
	for (i = 1; i < 100; i++) {
		hsdo_alloc_fail_at(i, 1);
		rc = hsdo_store_file_open(path, &st, err, sizeof(err));
		hsdo_alloc_fail_at(0, 0);
		if (rc == 0)
			break;
		ck_assert_int_eq(rc, -HSDO_ENOMEM);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_gt(i, 3);
	hsdo_store_free(st);
	hsdo_test_rmtree(dir);
	free(dir);
}
END_TEST

/* Each operation, failing at every allocation in turn: -HSDO_ENOMEM, the
 * document unchanged and no temp file; then it succeeds. */
START_TEST(alloc_failure_ops)
{
	struct fixture fx;
	struct hsdo_table t, last = { NULL, 0, 99, NULL };
	char err[512] = "";
	uint32_t ids[] = { 1, 2 };
	unsigned long i;
	uint64_t g = 0;
	int rc = -1;

	fx_open(&fx);
	for (i = 1; i < 1000; i++) {
		hsdo_alloc_fail_at(i, 1);
		rc = hsdo_store_ensure_slots(fx.st, 3, err, sizeof(err));
		hsdo_alloc_fail_at(0, 0);
		if (rc == 0)
			break;
		ck_assert_msg(rc == -HSDO_ENOMEM, "ensure step %lu: %s", i, err);
		ck_assert_int_eq(access(fx.path, F_OK), -1);
		ck_assert_int_eq(stray_files(fx.dir), 0);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_gt(i, 3);

	read_ok(fx.st, &t);
	set_active(&t, &t.slots[0], "10.0.0.1", "i-1", 2);
	set_active(&t, &t.slots[1], "10.0.0.2", "i-2", 3);
	for (i = 1; i < 1000; i++) {
		hsdo_alloc_fail_at(i, 1);
		rc = hsdo_store_write_slots(fx.st, &t, ids, 2, 1, 0, err, sizeof(err));
		hsdo_alloc_fail_at(0, 0);
		if (rc == 0)
			break;
		ck_assert_msg(rc == -HSDO_ENOMEM, "write step %lu: %s", i, err);
		ck_assert_uint_eq(gen_of(fx.st), 1);
		ck_assert_int_eq(stray_files(fx.dir), 0);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_gt(i, 10);
	hsdo_table_free(&t);

	for (i = 1; i < 1000; i++) {
		hsdo_alloc_fail_at(i, 1);
		rc = hsdo_store_read_table(fx.st, &last, err, sizeof(err));
		hsdo_alloc_fail_at(0, 0);
		if (rc == 0)
			break;
		ck_assert_msg(rc == -HSDO_ENOMEM, "read step %lu: %s", i, err);
		ck_assert_uint_eq(last.generation, 99);
		ck_assert_ptr_null(last.slots);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(last.generation, 2);
	ck_assert_str_eq(last.slots[1].ip, "10.0.0.2");
	hsdo_table_free(&last);

	for (i = 1; i < 1000; i++) {
		hsdo_alloc_fail_at(i, 1);
		rc = hsdo_store_read_generation(fx.st, &g, err, sizeof(err));
		hsdo_alloc_fail_at(0, 0);
		if (rc == 0)
			break;
		ck_assert_msg(rc == -HSDO_ENOMEM, "generation step %lu: %s", i, err);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(g, 2);
	fx_close(&fx);
}
END_TEST

START_TEST(alloc_failure_render)
{
	struct hsdo_table t;
	unsigned long i;
	size_t len;
	char *doc = NULL;

	ck_assert_int_eq(hsdo_table_init(&t, 3), 0);
	set_active(&t, &t.slots[2], "10.0.0.3", "i-3", 1);
	for (i = 1; i < 1000; i++) {
		hsdo_alloc_fail_at(i, 1);
		doc = hsdo_store_file_render(&t, &len);
		hsdo_alloc_fail_at(0, 0);
		if (doc != NULL)
			break;
	}
	ck_assert_ptr_nonnull(doc);
	ck_assert_uint_gt(i, 10);
	hsdo_free(doc);
	hsdo_table_free(&t);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Two servers share the store: the lease goes to one, the other is told
 * who holds it; after expiry the other takes over with a higher epoch and
 * the deposed holder's writes are refused whole, even with the right
 * generation. */
START_TEST(lease_and_fencing)
{
	struct fixture fx;
	struct hsdo_lease a, b, c;
	struct hsdo_table t, got;
	char err[512] = "";
	uint32_t id = 1;

	fx_open(&fx);
	ck_assert_int_eq(hsdo_store_ensure_slots(fx.st, 2, err, sizeof(err)), 0);
	ck_assert_msg(hsdo_store_lease(fx.st, "srv-a", 1000, 5000, &a, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_str_eq(a.holder, "srv-a");
	ck_assert_uint_eq(a.epoch, 1);
	ck_assert(a.taken_over);
	ck_assert_int_eq(a.expires_ms, 6000);
	/* Renewal keeps the epoch. */
	ck_assert_int_eq(hsdo_store_lease(fx.st, "srv-a", 3000, 5000, &a, err, sizeof(err)), 0);
	ck_assert_uint_eq(a.epoch, 1);
	ck_assert(!a.taken_over);
	ck_assert_int_eq(a.expires_ms, 8000);
	/* B is refused while it is valid, and told who holds it. */
	ck_assert_int_eq(hsdo_store_lease(fx.st, "srv-b", 7999, 5000, &b, err, sizeof(err)),
			 -HSDO_ECONFLICT);
	ck_assert_str_eq(b.holder, "srv-a");
	ck_assert_ptr_nonnull(strstr(err, "srv-a"));
	/* A writes under its epoch. */
	read_ok(fx.st, &t);
	set_active(&t, &t.slots[0], "10.0.0.1", "i-a", 10);
	ck_assert_msg(hsdo_store_write_slots(fx.st, &t, &id, 1, t.generation, a.epoch, err,
					     sizeof(err)) == 0, "%s", err);
	/* A pauses past expiry; B takes over with epoch 2 and writes. */
	ck_assert_int_eq(hsdo_store_lease(fx.st, "srv-b", 8000, 5000, &b, err, sizeof(err)), 0);
	ck_assert_uint_eq(b.epoch, 2);
	ck_assert(b.taken_over);
	hsdo_table_free(&t);
	read_ok(fx.st, &t);
	set_active(&t, &t.slots[0], "10.0.0.2", "i-b", 20);
	ck_assert_int_eq(hsdo_store_write_slots(fx.st, &t, &id, 1, t.generation, b.epoch, err,
						sizeof(err)), 0);
	/* A resumes with the current generation in hand: still refused. */
	set_active(&t, &t.slots[0], "10.0.0.9", "i-stale", 1);
	t.generation++;
	ck_assert_int_eq(hsdo_store_write_slots(fx.st, &t, &id, 1, t.generation, a.epoch, err,
						sizeof(err)), -HSDO_ECONFLICT);
	ck_assert_ptr_nonnull(strstr(err, "deposed"));
	read_ok(fx.st, &got);
	ck_assert_str_eq(got.slots[0].name, "i-b");
	/* A's lease attempt now fails while B's lease is valid. */
	ck_assert_int_eq(hsdo_store_lease(fx.st, "srv-a", 9000, 5000, &c, err, sizeof(err)),
			 -HSDO_ECONFLICT);
	ck_assert_str_eq(c.holder, "srv-b");
	ck_assert_uint_eq(c.epoch, 2);
	/* Bad arguments. */
	ck_assert_int_eq(hsdo_store_lease(fx.st, "", 9000, 5000, &c, err, sizeof(err)),
			 -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_store_lease(fx.st, "x", 9000, 0, &c, err, sizeof(err)),
			 -HSDO_EINVAL);
	hsdo_table_free(&t);
	hsdo_table_free(&got);
	fx_close(&fx);
}
END_TEST

/* A corrupt lease file is an error, never silently a free lease. */
START_TEST(lease_corrupt)
{
	struct fixture fx;
	struct hsdo_lease l;
	struct hsdo_table t;
	char err[512] = "", lp[600];
	uint32_t id = 1;

	fx_open(&fx);
	ck_assert_int_eq(hsdo_store_ensure_slots(fx.st, 1, err, sizeof(err)), 0);
	snprintf(lp, sizeof(lp), "%s.lease", fx.path);
	ck_assert_int_eq(hsdo_test_write_file(lp, "{\"holder\":3}", 12), 0);
	ck_assert_int_eq(hsdo_store_lease(fx.st, "a", 1, 10, &l, err, sizeof(err)), -HSDO_EPROTO);
	ck_assert_ptr_nonnull(strstr(err, ".lease"));
	read_ok(fx.st, &t);
	ck_assert_int_eq(hsdo_store_write_slots(fx.st, &t, &id, 1, t.generation, 1, err,
						sizeof(err)), -HSDO_EPROTO);
	/* Unfenced writers (epoch 0) do not read the lease. */
	ck_assert_int_eq(hsdo_store_write_slots(fx.st, &t, &id, 1, t.generation, 0, err,
						sizeof(err)), 0);
	hsdo_table_free(&t);
	fx_close(&fx);
}
END_TEST

static Suite *store_file_suite(void)
{
	Suite *s = suite_create("store_file");
	TCase *tc;

	tc = tcase_create("basics");
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, generation_cache_sees_changes);
	tcase_add_test(tc, document_without_generation);
	tcase_add_test(tc, open_errors);
	tcase_add_test(tc, ensure_creates_and_keeps);
	tcase_add_test(tc, write_read_roundtrip);
	tcase_add_test(tc, conflict_writes_nothing);
	tcase_add_test(tc, lease_and_fencing);
	tcase_add_test(tc, lease_corrupt);
	tcase_add_test(tc, write_rejects_bad_input);
	suite_add_tcase(s, tc);

	tc = tcase_create("document");
	tcase_add_test(tc, render_exact);
	tcase_add_test(tc, parse_forms);
	tcase_add_test(tc, render_refuses_bad_tables);
	tcase_add_loop_test(tc, corrupt_document, 0, N(corrupt));
	tcase_add_test(tc, parse_limits);
	tcase_add_test(tc, oversized_file_refused);
	tcase_add_test(tc, fifo_refused);
	tcase_add_test(tc, max_slots_bound);
	suite_add_tcase(s, tc);

	tc = tcase_create("concurrency");
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, concurrent_writers);
	suite_add_tcase(s, tc);

	tc = tcase_create("alloc");
	tcase_add_test(tc, alloc_failure_open);
	tcase_add_test(tc, alloc_failure_ops);
	tcase_add_test(tc, alloc_failure_render);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(store_file_suite());
}
