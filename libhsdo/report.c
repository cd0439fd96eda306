/* The fleet-health report codec (see hsdo/report.h). Pure: no clock, no I/O. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/report.h"
#include "hsdo/slot.h"
#include "item_json.h"
#include "json.h"

#define ID_MAX (HSDO_REPORT_ID_LEN - 1)
/* "100000:f:d:4294967295:4294967295 " */
#define ENTRY_MAX 40

static const char verdict_chars[HSDO_VERDICT_COUNT] = { 'i', 'o', 'f' };
static const char check_chars[HSDO_CHECK_COUNT] = { '-', 'u', 'd' };

const char *hsdo_verdict_str(enum hsdo_verdict v)
{
	static const char *const names[HSDO_VERDICT_COUNT] = { "idle", "ok", "failing" };

	return (unsigned)v < HSDO_VERDICT_COUNT ? names[v] : "unknown";
}

const char *hsdo_check_str(enum hsdo_check c)
{
	static const char *const names[HSDO_CHECK_COUNT] = { "none", "up", "down" };

	return (unsigned)c < HSDO_CHECK_COUNT ? names[c] : "unknown";
}

bool hsdo_report_id_valid(const char *id)
{
	size_t i;

	if (id == NULL || id[0] == '\0' || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return false;
	for (i = 0; id[i] != '\0'; i++) {
		char c = id[i];

		if (i >= ID_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

int hsdo_report_check(const struct hsdo_report *r, char *err, size_t errlen)
{
	size_t i;

	if (r == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no report");
	if (memchr(r->client_id, '\0', sizeof(r->client_id)) == NULL ||
	    !hsdo_report_id_valid(r->client_id))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "client id is not 1..%d of "
				   "[A-Za-z0-9._-]", ID_MAX);
	if (r->written_ms < 0 || r->written_ms > HSDO_REPORT_TIME_MAX_S * 1000 ||
	    r->expires_s < 0 || r->expires_s > HSDO_REPORT_TIME_MAX_S)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "report times out of range");
	if (r->n > HSDO_REPORT_SLOTS_MAX || (r->n > 0 && r->slots == NULL))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "%zu entries (at most %d)", r->n,
				   HSDO_REPORT_SLOTS_MAX);
	for (i = 0; i < r->n; i++) {
		const struct hsdo_report_slot *e = &r->slots[i];

		if (e->slot < 1 || e->slot > HSDO_SLOTS_MAX ||
		    (i > 0 && e->slot <= r->slots[i - 1].slot))
			return hsdo_seterr(err, errlen, -HSDO_EINVAL, "entry %zu: slot %" PRIu32
					   " out of range or out of order", i + 1, e->slot);
		if ((unsigned)e->verdict >= HSDO_VERDICT_COUNT ||
		    (unsigned)e->check >= HSDO_CHECK_COUNT || e->errors > e->responses)
			return hsdo_seterr(err, errlen, -HSDO_EINVAL, "entry %zu (slot %" PRIu32
					   "): bad verdict, check or counts", i + 1, e->slot);
	}
	return 0;
}

/* ---- encode ----------------------------------------------------------------------- */

/* The Slots string; NULL on allocation failure. */
static char *slots_string(const struct hsdo_report *r)
{
	size_t i, off = 0, cap = r->n * ENTRY_MAX + 1;
	char *buf = hsdo_malloc(cap);
	int k;

	if (buf == NULL)
		return NULL;
	buf[0] = '\0';
	for (i = 0; i < r->n; i++) {
		const struct hsdo_report_slot *e = &r->slots[i];

		k = snprintf(buf + off, cap - off, "%s%" PRIu32 ":%c:%c:%" PRIu32 ":%" PRIu32,
			     i ? " " : "", e->slot, verdict_chars[e->verdict],
			     check_chars[e->check], e->responses, e->errors);
		if (k < 0 || (size_t)k >= cap - off) {
			hsdo_free(buf);
			return NULL;
		}
		off += (size_t)k;
	}
	return buf;
}

cJSON *hsdo_report_encode(const struct hsdo_report *r)
{
	cJSON *o;
	char *slots = NULL;
	bool ok;

	if (hsdo_report_check(r, NULL, 0) != 0)
		return NULL;
	if (r->n > 0 && (slots = slots_string(r)) == NULL)
		return NULL;
	hsdo_json_begin();
	o = cJSON_CreateObject();
	ok = o != NULL &&
	     hsdo_item_json_add(o, "ClientId", "S", cJSON_CreateString(r->client_id)) &&
	     hsdo_item_json_add_n(o, "Version", HSDO_REPORT_VERSION) &&
	     hsdo_item_json_add_n(o, "Generation", r->generation) &&
	     hsdo_item_json_add_n(o, "Written", (uint64_t)r->written_ms) &&
	     hsdo_item_json_add_n(o, "Expires", (uint64_t)r->expires_s) &&
	     (slots == NULL || hsdo_item_json_add(o, "Slots", "S", cJSON_CreateString(slots)));
	hsdo_free(slots);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* ---- decode ----------------------------------------------------------------------- */

/* A decimal without sign or leading zero (but "0") at *p, up to max;
 * advances *p. */
static bool take_u32(const char **p, uint32_t max, uint32_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9') {
		v = v * 10 + (uint64_t)(s[n] - '0');
		if (++n > 10 || v > max)
			return false;
	}
	if (n == 0 || (n > 1 && s[0] == '0'))
		return false;
	*out = (uint32_t)v;
	*p = s + n;
	return true;
}

static int char_index(const char *set, size_t n, char c)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (set[i] == c)
			return (int)i;
	return -1;
}

/* Parse the Slots string into r->slots (allocated). */
static int parse_slots(const char *s, struct hsdo_report *r, char *err, size_t errlen)
{
	size_t cap = 0, i;
	const char *p;
	int v, c;

	for (p = s, cap = 1; *p != '\0'; p++)
		cap += *p == ' ';
	if (cap > HSDO_REPORT_SLOTS_MAX)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "Slots: more than %d entries",
				   HSDO_REPORT_SLOTS_MAX);
	r->slots = hsdo_calloc(cap, sizeof(*r->slots));
	if (r->slots == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	for (p = s, i = 0; i < cap; i++) {
		struct hsdo_report_slot *e = &r->slots[i];

		if (!take_u32(&p, HSDO_SLOTS_MAX, &e->slot) || e->slot == 0 || *p++ != ':' ||
		    (v = char_index(verdict_chars, HSDO_VERDICT_COUNT, *p)) < 0 || p[1] != ':' ||
		    (c = char_index(check_chars, HSDO_CHECK_COUNT, p[2])) < 0 || p[3] != ':')
			goto bad;
		p += 4;
		e->verdict = (enum hsdo_verdict)v;
		e->check = (enum hsdo_check)c;
		if (!take_u32(&p, UINT32_MAX, &e->responses) || *p++ != ':' ||
		    !take_u32(&p, UINT32_MAX, &e->errors) || e->errors > e->responses ||
		    (i > 0 && e->slot <= r->slots[i - 1].slot))
			goto bad;
		if (*p != (i + 1 < cap ? ' ' : '\0'))
			goto bad;
		p++;
		r->n++;
	}
	return 0;
bad:
	return hsdo_seterr(err, errlen, -HSDO_EPROTO, "Slots: entry %zu is not "
			   "\"<slot>:<i|o|f>:<-|u|d>:<responses>:<errors>\" with ascending "
			   "slots 1..%d and errors <= responses", i + 1, HSDO_SLOTS_MAX);
}

int hsdo_report_decode(const cJSON *item, struct hsdo_report *out, char *err, size_t errlen)
{
	const cJSON *id, *ver, *gen, *wr, *ex, *sl;
	struct hsdo_report r;
	uint64_t n;
	int rc;

	memset(&r, 0, sizeof(r));
	/* The version first: another version's item may lack what ours needs. */
	if ((rc = hsdo_item_json_attr(item, "ClientId", "S", true, &id, err, errlen)) != 0 ||
	    (rc = hsdo_item_json_attr(item, "Version", "N", true, &ver, err, errlen)) != 0 ||
	    (rc = hsdo_item_json_n(ver, "Version", 0, UINT64_MAX, &n, err, errlen)) != 0)
		return rc;
	if (n != HSDO_REPORT_VERSION)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "Version %" PRIu64 " is not %d: "
				   "written by another HSDO version", n, HSDO_REPORT_VERSION);
	if ((rc = hsdo_item_json_attr(item, "Generation", "N", true, &gen, err, errlen)) != 0 ||
	    (rc = hsdo_item_json_attr(item, "Written", "N", true, &wr, err, errlen)) != 0 ||
	    (rc = hsdo_item_json_attr(item, "Expires", "N", true, &ex, err, errlen)) != 0 ||
	    (rc = hsdo_item_json_attr(item, "Slots", "S", false, &sl, err, errlen)) != 0)
		return rc;
	if (!hsdo_report_id_valid(id->valuestring))
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "ClientId: not 1..%d of "
				   "[A-Za-z0-9._-]", ID_MAX);
	memcpy(r.client_id, id->valuestring, strlen(id->valuestring) + 1);
	if ((rc = hsdo_item_json_n(gen, "Generation", 0, UINT64_MAX, &r.generation, err,
				   errlen)) != 0 ||
	    (rc = hsdo_item_json_n(wr, "Written", 0, (uint64_t)HSDO_REPORT_TIME_MAX_S * 1000,
				   &n, err, errlen)) != 0)
		return rc;
	r.written_ms = (int64_t)n;
	if ((rc = hsdo_item_json_n(ex, "Expires", 0, (uint64_t)HSDO_REPORT_TIME_MAX_S, &n, err,
				   errlen)) != 0)
		return rc;
	r.expires_s = (int64_t)n;
	if (sl != NULL && (rc = parse_slots(sl->valuestring, &r, err, errlen)) != 0) {
		hsdo_report_free(&r);
		return rc;
	}
	*out = r;
	return 0;
}

/* ---- file ------------------------------------------------------------------------- */

char *hsdo_report_render_file(const struct hsdo_report *r, size_t *len)
{
	cJSON *doc, *item;
	char *out;

	if ((item = hsdo_report_encode(r)) == NULL)
		return NULL;
	hsdo_json_begin();
	doc = cJSON_CreateObject();
	if (doc == NULL || cJSON_AddStringToObject(doc, "format", HSDO_REPORT_FORMAT) == NULL ||
	    cJSON_AddNumberToObject(doc, "version", HSDO_REPORT_VERSION) == NULL ||
	    !cJSON_AddItemToObject(doc, "report", item)) {
		cJSON_Delete(item);   /* not in doc: adding it is the last step */
		cJSON_Delete(doc);
		return NULL;
	}
	out = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	if (out != NULL && len != NULL)
		*len = strlen(out);
	return out;
}

int hsdo_report_parse_file(const char *buf, size_t len, struct hsdo_report *out,
			   char *err, size_t errlen)
{
	const cJSON *f, *v, *item;
	cJSON *doc = NULL;
	int rc;

	if (len > HSDO_REPORT_DOC_MAX)
		return hsdo_seterr(err, errlen, -HSDO_ETOOBIG, "%zu bytes, over %zu", len,
				   HSDO_REPORT_DOC_MAX);
	if ((rc = hsdo_item_json_parse_value(buf, len, &doc, err, errlen)) != 0)
		return rc;
	f = cJSON_GetObjectItemCaseSensitive(doc, "format");
	v = cJSON_GetObjectItemCaseSensitive(doc, "version");
	item = cJSON_GetObjectItemCaseSensitive(doc, "report");
	if (!cJSON_IsObject(doc) || !cJSON_IsString(f) ||
	    strcmp(f->valuestring, HSDO_REPORT_FORMAT) != 0)
		rc = hsdo_seterr(err, errlen, -HSDO_EPROTO, "not a %s document", HSDO_REPORT_FORMAT);
	else if (!cJSON_IsNumber(v) || v->valuedouble != HSDO_REPORT_VERSION)
		rc = hsdo_seterr(err, errlen, -HSDO_EPROTO, "version is not %d", HSDO_REPORT_VERSION);
	else if (!cJSON_IsObject(item))
		rc = hsdo_seterr(err, errlen, -HSDO_EPROTO, "no \"report\" object");
	else
		rc = hsdo_report_decode(item, out, err, errlen);
	cJSON_Delete(doc);
	return rc;
}

/* ---- the rest --------------------------------------------------------------------- */

bool hsdo_report_fresh(const struct hsdo_report *r, int64_t now_ms)
{
	return r->expires_s > 0 && now_ms / 1000 < r->expires_s;
}

int hsdo_report_copy(struct hsdo_report *dst, const struct hsdo_report *src)
{
	*dst = *src;
	dst->slots = NULL;
	if (src->n == 0)
		return 0;
	dst->slots = hsdo_calloc(src->n, sizeof(*dst->slots));
	if (dst->slots == NULL) {
		dst->n = 0;
		return -HSDO_ENOMEM;
	}
	memcpy(dst->slots, src->slots, src->n * sizeof(*src->slots));
	return 0;
}

void hsdo_report_free(struct hsdo_report *r)
{
	if (r == NULL)
		return;
	hsdo_free(r->slots);
	memset(r, 0, sizeof(*r));
}

int hsdo_report_set_add(struct hsdo_report_set *s, struct hsdo_report *r)
{
	int rc = hsdo_grow((void **)&s->v, &s->cap, s->n, sizeof(*s->v), HSDO_REPORT_SET_MAX,
			   "reports", NULL, 0);

	if (rc != 0)
		return rc;
	s->v[s->n++] = *r;
	memset(r, 0, sizeof(*r));
	return 0;
}

void hsdo_report_set_bad(struct hsdo_report_set *s, const char *where, const char *why)
{
	if (s->bad++ == 0)
		snprintf(s->first_bad, sizeof(s->first_bad), "%.100s: %.140s", where, why);
}

void hsdo_report_set_free(struct hsdo_report_set *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		hsdo_report_free(&s->v[i]);
	hsdo_free(s->v);
	memset(s, 0, sizeof(*s));
}
