/* cJSON through hsdo_malloc, and the strict parse: see json.h. */
#include <string.h>

#include <cjson/cJSON.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "json.h"

static bool json_nomem;

static void *json_malloc(size_t n)
{
	void *p = hsdo_malloc(n);

	if (p == NULL)
		json_nomem = true;
	return p;
}

static void json_free(void *p)
{
	hsdo_free(p);
}

void hsdo_json_begin(void)
{
	static cJSON_Hooks hooks = { json_malloc, json_free };

	cJSON_InitHooks(&hooks);
	json_nomem = false;
}

bool hsdo_json_nomem(void)
{
	return json_nomem;
}

static void wipe(cJSON *j)
{
	for (; j != NULL; j = j->next) {
		if (j->valuestring != NULL)
			explicit_bzero(j->valuestring, strlen(j->valuestring));
		wipe(j->child);
	}
}

void hsdo_json_delete_wiped(cJSON *j)
{
	wipe(j);
	cJSON_Delete(j);
}

/* Offset of the first "\u0000" escape in buf at or after from, or len.
 * Backslashes only appear in JSON strings, where each escapes the next
 * character. */
static size_t nul_escape(const char *buf, size_t len, size_t from)
{
	size_t i;

	for (i = from; i + 5 < len; i++) {
		if (buf[i] != '\\')
			continue;
		if (buf[i + 1] == 'u' && memcmp(buf + i + 2, "0000", 4) == 0)
			return i;
		i++;   /* the escaped character */
	}
	return len;
}

/* cJSON_ParseWithLengthOpts (*end in buf) that does not lose a NUL: cJSON
 * decodes "\u0000" into a NUL byte that ends the C string
 * ("127.0.0.9\u0000set server..." would read as 127.0.0.9), so every
 * "\u0000" is parsed as "\uffff", a noncharacter the item decoder rejects
 * as not text. The copy is wiped (the input may hold secrets). */
static cJSON *parse_nul_safe(const char *buf, size_t len, const char **end)
{
	const char *cend = NULL;
	size_t at = nul_escape(buf, len, 0);
	char *copy;
	cJSON *root;

	if (at == len)
		return cJSON_ParseWithLengthOpts(buf, len, end, 0);
	copy = hsdo_malloc(len);
	if (copy == NULL) {
		json_nomem = true;
		return NULL;
	}
	memcpy(copy, buf, len);
	for (; at < len; at = nul_escape(copy, len, at + 6))
		memcpy(copy + at + 2, "ffff", 4);
	root = cJSON_ParseWithLengthOpts(copy, len, &cend, 0);
	*end = cend != NULL ? buf + (cend - copy) : NULL;
	explicit_bzero(copy, len);
	hsdo_free(copy);
	return root;
}

static int fault(struct hsdo_json_error *e, enum hsdo_json_fault f, size_t at, int rc)
{
	e->fault = f;
	e->at = at;
	return rc;
}

int hsdo_json_parse(const char *buf, size_t len, size_t max, cJSON **root,
		    struct hsdo_json_error *e)
{
	const char *end = NULL;
	size_t off;

	*root = NULL;
	if (buf == NULL || len == 0)
		return fault(e, HSDO_JSON_EMPTY, 0, -HSDO_EPROTO);
	if (len > max)
		return fault(e, HSDO_JSON_TOOBIG, 0, -HSDO_ETOOBIG);
	hsdo_json_begin();
	*root = parse_nul_safe(buf, len, &end);
	if (*root == NULL) {
		if (hsdo_json_nomem())
			return fault(e, HSDO_JSON_NOMEM, 0, -HSDO_ENOMEM);
		off = end != NULL && end >= buf ? (size_t)(end - buf) : 0;
		return fault(e, HSDO_JSON_INVALID, off, -HSDO_EPROTO);
	}
	for (off = (size_t)(end - buf); off < len; off++) {
		if (buf[off] != ' ' && buf[off] != '\t' && buf[off] != '\n' && buf[off] != '\r') {
			hsdo_json_delete_wiped(*root);
			*root = NULL;
			return fault(e, HSDO_JSON_TRAILING, off, -HSDO_EPROTO);
		}
	}
	return fault(e, HSDO_JSON_FAULT_COUNT, 0, 0);
}

int hsdo_json_parse_body(const char *buf, size_t len, size_t max, cJSON **root,
			 char *err, size_t errlen)
{
	struct hsdo_json_error e;
	int rc = hsdo_json_parse(buf, len, max, root, &e);

	switch (rc == 0 ? HSDO_JSON_FAULT_COUNT : e.fault) {
	case HSDO_JSON_EMPTY:
		return hsdo_seterr(err, errlen, rc, "empty body");
	case HSDO_JSON_TOOBIG:
		return hsdo_seterr(err, errlen, rc, "body of %zu bytes over %zu", len, max);
	case HSDO_JSON_NOMEM:
		return hsdo_seterr(err, errlen, rc, "out of memory parsing JSON");
	case HSDO_JSON_INVALID:
		return hsdo_seterr(err, errlen, rc, "invalid JSON at byte %zu", e.at);
	case HSDO_JSON_TRAILING:
		return hsdo_seterr(err, errlen, rc, "trailing data at byte %zu", e.at);
	default:
		return rc;
	}
}
