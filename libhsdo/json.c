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
	*root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
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
