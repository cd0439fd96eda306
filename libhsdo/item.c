/* DynamoDB item codec for one slot (see hsdo/item.h for the contract). Pure
 * but for the process's time zone (zone.h), in which LastWeightUpdate is
 * written, as the original writes it: no clock, no I/O; times are converted
 * with days-from-civil arithmetic. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/civil.h"
#include "hsdo/err.h"
#include "hsdo/item.h"
#include "hsdo/slot.h"
#include "hsdo/zone.h"
#include "item_json.h"
#include "json.h"

#define US_PER_SEC  INT64_C(1000000)
#define SEC_PER_DAY INT64_C(86400)
/* 0001-01-01 00:00:00 .. 9999-12-31 23:59:59.999999, Python's datetime range. */
#define TIME_MIN_US (INT64_C(-62135596800) * US_PER_SEC)
#define TIME_MAX_US (INT64_C(253402300799) * US_PER_SEC + 999999)
/* The same range in Unix ms, from 1970 on: Ejected and EjectedSince. */
#define TIME_MAX_MS (INT64_C(253402300799) * 1000 + 999)

#define NONE "none"

/* ---- time ------------------------------------------------------------------ */

/* Floor division, so times before 1970 format correctly. */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int hsdo_item_format_time(int64_t us, char *buf, size_t len)
{
	int64_t secs, days, sod, frac, y;
	unsigned m, d;
	int n;

	if (buf == NULL || len < HSDO_ITEM_TIME_LEN)
		return -HSDO_ETOOBIG;
	if (us < TIME_MIN_US || us > TIME_MAX_US)
		return -HSDO_EINVAL;
	secs = floor_div(us, US_PER_SEC);
	frac = us - secs * US_PER_SEC;
	days = floor_div(secs, SEC_PER_DAY);
	sod = secs - days * SEC_PER_DAY;
	hsdo_civil_from_days(days, &y, &m, &d);
	n = snprintf(buf, len, "%04" PRId64 "-%02u-%02u %02u:%02u:%02u.%06u",
		     y, m, d, (unsigned)(sod / 3600), (unsigned)(sod / 60 % 60),
		     (unsigned)(sod % 60), (unsigned)frac);
	if (n < 0 || (size_t)n >= len)
		return -HSDO_ETOOBIG;
	return 0;
}

/* Exactly n ASCII digits at s into *v. */
static bool take_digits(const char *s, size_t n, unsigned *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return true;
}

/* Optional ".d{1,6}" then end of string; *frac in microseconds. */
static bool take_fraction(const char *s, unsigned *frac, bool zero_only)
{
	size_t n = 0;

	*frac = 0;
	if (*s == '\0')
		return true;
	if (*s++ != '.')
		return false;
	while (n < 6 && s[n] >= '0' && s[n] <= '9') {
		if (zero_only && s[n] != '0')
			return false;
		*frac = *frac * 10 + (unsigned)(s[n] - '0');
		n++;
	}
	if (n == 0 || s[n] != '\0')
		return false;
	for (; n < 6; n++)
		*frac *= 10;
	return true;
}

int hsdo_item_parse_time(const char *s, int64_t *us)
{
	static const char sentinel[] = "0-0-0 00:00:00";
	unsigned y, mo, d, h, mi, sec, frac;

	if (s == NULL || us == NULL)
		return -HSDO_EINVAL;
	if (strncmp(s, sentinel, sizeof(sentinel) - 1) == 0) {
		if (!take_fraction(s + sizeof(sentinel) - 1, &frac, true))
			return -HSDO_EINVAL;
		*us = 0;
		return 0;
	}
	/* YYYY-MM-DD HH:MM:SS: the fixed part is 19 characters; each check
	 * stops at a NUL, so a short string never reads past its end. */
	if (!take_digits(s, 4, &y) || s[4] != '-' ||
	    !take_digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !take_digits(s + 8, 2, &d) || s[10] != ' ' ||
	    !take_digits(s + 11, 2, &h) || s[13] != ':' ||
	    !take_digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !take_digits(s + 17, 2, &sec) ||
	    !take_fraction(s + 19, &frac, false))
		return -HSDO_EINVAL;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || !hsdo_civil_valid(y, mo, d) ||
	    h > 23 || mi > 59 || sec > 59)
		return -HSDO_EINVAL;
	*us = (hsdo_civil_days_from(y, mo, d) * SEC_PER_DAY +
	       (int64_t)h * 3600 + (int64_t)mi * 60 + sec) * US_PER_SEC + frac;
	return 0;
}

/* LastWeightUpdate of instant utc_us: the local wall clock, as the original
 * writes it. */
static int time_text(int64_t utc_us, char *buf, size_t len)
{
	int64_t local;

	if (hsdo_zone_utc_to_local(utc_us, &local) != 0)
		return -HSDO_EINVAL;
	return hsdo_item_format_time(local, buf, len);
}

/* The instant a LastWeightUpdate means; the free-slot value is 0. */
static int time_of_text(const char *s, int64_t *utc_us)
{
	int64_t local;

	if (hsdo_item_parse_time(s, &local) != 0)
		return -HSDO_EINVAL;
	if (strncmp(s, "0-0-0 ", 6) == 0) {
		*utc_us = 0;
		return 0;
	}
	return hsdo_zone_local_to_utc(local, utc_us);
}

/* ---- encode ---------------------------------------------------------------- */

/* At most 32 bytes of an untrusted string for an error message (hsdo_show). */
static const char *quote(const char *s, char *buf, size_t len)
{
	size_t max = len - 4 < 32 ? len - 4 : 32;

	return hsdo_show(s, strnlen(s, max + 1), max, false, buf, len);
}

/* True if a fixed-size field holds a NUL (is a C string). */
static bool field_ok(const char *f, size_t len)
{
	return f != NULL && memchr(f, '\0', len) != NULL;
}

/* The first control character of s (its value) and where, or -1. */
static int not_text(const char *s, size_t *at)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i;

	for (i = 0; u[i] != '\0'; i++)
		if (u[i] < 0x20 || u[i] == 0x7f) {
			*at = i;
			return u[i];
		}
	return -1;
}

int hsdo_item_check(const struct hsdo_slot *s, char *err, size_t errlen)
{
	char tbuf[HSDO_ITEM_TIME_LEN], q[40];
	const char *what = "ServerName";
	size_t at = 0;
	int bad;

	if (s == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no slot");
	if (s->id < 1 || s->id > HSDO_SLOTS_MAX)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "slot id %" PRIu32
				   " out of range 1..%d", s->id, HSDO_SLOTS_MAX);
	if ((unsigned)s->state >= HSDO_SLOT_STATE_COUNT)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "slot %" PRIu32
				   ": unknown state %u", s->id, (unsigned)s->state);
	if (s->state == HSDO_SLOT_FREE)
		return 0;
	if (!field_ok(s->ip, HSDO_IP_LEN) || !field_ok(s->name, HSDO_NAME_LEN) ||
	    !field_ok(s->group, HSDO_GROUP_LEN) || !field_ok(s->az, HSDO_AZ_LEN) ||
	    !field_ok(s->eject_reason, HSDO_EJECT_REASON_LEN))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "slot %" PRIu32
				   ": unterminated string field", s->id);
	if (s->weight > HSDO_WEIGHT_MAX)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "slot %" PRIu32
				   ": weight %" PRIu32 " out of range 0..%d",
				   s->id, s->weight, HSDO_WEIGHT_MAX);
	if (!hsdo_ip_valid(s->ip))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "slot %" PRIu32 ": address \"%s\" "
				   "is not an IPv4 or IPv6 address", s->id, quote(s->ip, q, sizeof(q)));
	if ((bad = not_text(s->name, &at)) >= 0 || (what = "ASG", bad = not_text(s->group, &at)) >= 0 ||
	    (what = "AZ", bad = not_text(s->az, &at)) >= 0)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "slot %" PRIu32 ": %s: control "
				   "character 0x%02x at byte %zu", s->id, what, bad, at);
	if (time_text(s->last_weight_update_us, tbuf, sizeof(tbuf)) != 0)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "slot %" PRIu32
				   ": time %" PRId64 " us outside years 1..9999",
				   s->id, s->last_weight_update_us);
	if (s->ejected_until_ms < 0 || s->ejected_until_ms > TIME_MAX_MS ||
	    s->eject_since_ms < 0 || s->eject_since_ms > TIME_MAX_MS ||
	    (s->state == HSDO_SLOT_EJECTED && s->ejected_until_ms == 0))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "slot %" PRIu32
				   ": ejection times out of range (until %" PRId64 ", since %"
				   PRId64 " ms)", s->id, s->ejected_until_ms, s->eject_since_ms);
	return 0;
}

/* Add {name: {type: v}} to o; takes v (freed on failure). */
static bool add_av(cJSON *o, const char *name, const char *type, cJSON *v)
{
	cJSON *av;

	if (v == NULL)
		return false;
	av = cJSON_CreateObject();
	if (av == NULL || !cJSON_AddItemToObjectCS(av, type, v)) {
		cJSON_Delete(av);
		cJSON_Delete(v);
		return false;
	}
	if (!cJSON_AddItemToObjectCS(o, name, av)) {
		cJSON_Delete(av);
		return false;
	}
	return true;
}

static bool add_s(cJSON *o, const char *name, const char *s)
{
	return add_av(o, name, "S", cJSON_CreateString(s[0] ? s : NONE));
}

static bool add_n(cJSON *o, const char *name, uint64_t n)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, n);
	return add_av(o, name, "N", cJSON_CreateString(buf));
}

/* Ejected, EjectReason (ejected slots), EjectCount and EjectedSince
 * (ejected slots, and active ones that were ejected before). */
static bool add_eject(cJSON *o, const struct hsdo_slot *s)
{
	bool ejected = s->state == HSDO_SLOT_EJECTED;

	if (ejected && (!add_n(o, "Ejected", (uint64_t)s->ejected_until_ms) ||
			!add_s(o, "EjectReason", s->eject_reason)))
		return false;
	if ((ejected || s->state == HSDO_SLOT_ACTIVE) && s->eject_count > 0 &&
	    (!add_n(o, "EjectCount", s->eject_count) ||
	     !add_n(o, "EjectedSince", (uint64_t)s->eject_since_ms)))
		return false;
	return true;
}

cJSON *hsdo_item_encode(const struct hsdo_slot *s)
{
	char tbuf[HSDO_ITEM_TIME_LEN];
	bool live;
	cJSON *o;

	if (hsdo_item_check(s, NULL, 0) != 0)
		return NULL;
	live = s->state != HSDO_SLOT_FREE;
	if (live && time_text(s->last_weight_update_us, tbuf, sizeof(tbuf)) != 0)
		return NULL;
	hsdo_json_begin();
	o = cJSON_CreateObject();
	if (o == NULL)
		return NULL;
	if (!add_n(o, "BackendServerID", s->id) ||
	    !add_s(o, "IPAddress", live ? s->ip : "") ||
	    !add_s(o, "ServerName", live ? s->name : "") ||
	    !add_s(o, "ASG", live ? s->group : "") ||
	    !add_n(o, "Weight", s->state == HSDO_SLOT_ACTIVE ? s->weight : 0) ||
	    !add_av(o, "BackendServerStatus", "S",
		    cJSON_CreateString(live ? "enabled" : "disabled")) ||
	    !add_av(o, "LastWeightUpdate", "S",
		    cJSON_CreateString(live ? tbuf : HSDO_ITEM_TIME_NONE)) ||
	    (live && s->port != 0 && !add_n(o, "Port", s->port)) ||
	    (live && s->az[0] != '\0' && !add_s(o, "AZ", s->az)) ||
	    (s->state == HSDO_SLOT_DRAINING &&
	     !add_av(o, "Draining", "BOOL", cJSON_CreateBool(1))) ||
	    !add_eject(o, s)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* ---- decode ---------------------------------------------------------------- */

enum attr {
	A_ID = 0,
	A_IP,
	A_NAME,
	A_ASG,
	A_WEIGHT,
	A_STATUS,
	A_TIME,
	A_PORT,
	A_AZ,
	A_DRAINING,
	A_EJECTED,
	A_EJECT_REASON,
	A_EJECT_COUNT,
	A_EJECTED_SINCE,
	A_COUNT
};

static const struct attr_spec {
	const char *name;
	const char *type;
	bool required;
} attrs[A_COUNT] = {
	[A_ID]       = { "BackendServerID",     "N",    true },
	[A_IP]       = { "IPAddress",           "S",    true },
	[A_NAME]     = { "ServerName",          "S",    true },
	[A_ASG]      = { "ASG",                 "S",    false },
	[A_WEIGHT]   = { "Weight",              "N",    true },
	[A_STATUS]   = { "BackendServerStatus", "S",    true },
	[A_TIME]     = { "LastWeightUpdate",    "S",    true },
	[A_PORT]     = { "Port",                "N",    false },
	[A_AZ]       = { "AZ",                  "S",    false },
	[A_DRAINING] = { "Draining",            "BOOL", false },
	[A_EJECTED]  = { "Ejected",             "N",    false },
	[A_EJECT_REASON] = { "EjectReason",     "S",    false },
	[A_EJECT_COUNT]  = { "EjectCount",      "N",    false },
	[A_EJECTED_SINCE] = { "EjectedSince",   "N",    false },
};

/* The value inside an attribute value {type: value}, checked for type. */
static int av_value(const cJSON *av, const struct attr_spec *a, const cJSON **val,
		    char *err, size_t errlen)
{
	const cJSON *c;
	char q[40];

	if (!cJSON_IsObject(av) || av->child == NULL || av->child->next != NULL ||
	    av->child->string == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "%s: not a DynamoDB attribute value (want {\"%s\": ...})",
				   a->name, a->type);
	c = av->child;
	if (strcmp(c->string, a->type) != 0)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "%s: expected type %s, got %s", a->name, a->type,
				   quote(c->string, q, sizeof(q)));
	if (strcmp(a->type, "BOOL") == 0 ? !cJSON_IsBool(c) : !cJSON_IsString(c))
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "%s: %s value is not a JSON %s", a->name, a->type,
				   strcmp(a->type, "BOOL") == 0 ? "boolean" : "string");
	*val = c;
	return 0;
}

/* A DynamoDB N holding a plain decimal integer within lo..hi. */
static int n_value(const cJSON *v, const struct attr_spec *a, uint64_t lo, uint64_t hi,
		   uint64_t *out, char *err, size_t errlen)
{
	const char *s = v->valuestring, *p = s;
	bool neg = false, big = false;
	uint64_t n = 0;
	char q[40];

	if (*p == '-') {
		neg = true;
		p++;
	}
	if (*p == '\0')
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "%s: N \"%s\" is not a decimal integer", a->name,
				   quote(s, q, sizeof(q)));
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return hsdo_seterr(err, errlen, -HSDO_EPROTO,
					   "%s: N \"%s\" is not a plain decimal integer",
					   a->name, quote(s, q, sizeof(q)));
		if (n > (UINT64_MAX - 9) / 10)
			big = true;
		else
			n = n * 10 + (uint64_t)(*p - '0');
	}
	if (big || (neg && n != 0) || n < lo || n > hi)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "%s: %s out of range %" PRIu64 "..%" PRIu64, a->name,
				   quote(s, q, sizeof(q)), lo, hi);
	*out = n;
	return 0;
}

/* An S of at most dstlen - 1 bytes, "none" as "", into *dst (borrowed from
 * v: the caller interns it). Text only: no control character, no NUL
 * (which hsdo_json_parse turns into U+FFFF), whatever the attribute: these
 * values reach logs, metrics labels and HAProxy. */
static int s_value(const cJSON *v, const struct attr_spec *a, const char **dst, size_t dstlen,
		   char *err, size_t errlen)
{
	const char *s = v->valuestring, *ff;
	size_t len = strlen(s), at = 0;
	int bad = not_text(s, &at);

	if (bad >= 0)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "%s: control character 0x%02x at byte %zu (not text)",
				   a->name, bad, at);
	if ((ff = strstr(s, "\xef\xbf\xbf")) != NULL)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "%s: NUL (\\u0000) or U+FFFF at byte %zu (not text)",
				   a->name, (size_t)(ff - s));
	if (strcmp(s, NONE) == 0) {
		*dst = "";
		return 0;
	}
	if (len >= dstlen)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "%s: too long (%zu bytes, at most %zu)", a->name, len,
				   dstlen - 1);
	*dst = s;
	return 0;
}

/* The fleet-health attributes into s (the caller decides what the state
 * keeps of them). */
static int decode_eject(const cJSON *const *v, struct hsdo_slot *s, char *err, size_t errlen)
{
	uint64_t n;
	int rc;

	if (v[A_EJECTED] != NULL) {
		if ((rc = n_value(v[A_EJECTED], &attrs[A_EJECTED], 1, TIME_MAX_MS, &n, err,
				  errlen)) != 0)
			return rc;
		s->ejected_until_ms = (int64_t)n;
	}
	if (v[A_EJECT_REASON] != NULL &&
	    (rc = s_value(v[A_EJECT_REASON], &attrs[A_EJECT_REASON], &s->eject_reason,
			  HSDO_EJECT_REASON_LEN, err, errlen)) != 0)
		return rc;
	if (v[A_EJECT_COUNT] != NULL) {
		if ((rc = n_value(v[A_EJECT_COUNT], &attrs[A_EJECT_COUNT], 0, UINT32_MAX, &n,
				  err, errlen)) != 0)
			return rc;
		s->eject_count = (uint32_t)n;
	}
	if (v[A_EJECTED_SINCE] != NULL) {
		if ((rc = n_value(v[A_EJECTED_SINCE], &attrs[A_EJECTED_SINCE], 0, TIME_MAX_MS,
				  &n, err, errlen)) != 0)
			return rc;
		s->eject_since_ms = (int64_t)n;
	}
	return 0;
}

int hsdo_item_decode(const cJSON *item, struct hsdo_strset *strs, struct hsdo_slot *out,
		     char *err, size_t errlen)
{
	const cJSON *av[A_COUNT] = { NULL }, *v[A_COUNT] = { NULL }, *c;
	struct hsdo_slot s;
	uint64_t n;
	char q[40];
	int i, rc;

	if (!cJSON_IsObject(item))
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "item is not a JSON object");
	for (c = item->child; c != NULL; c = c->next) {
		if (c->string == NULL)
			continue;
		for (i = 0; i < A_COUNT; i++) {
			if (strcmp(c->string, attrs[i].name) != 0)
				continue;
			if (av[i] != NULL)
				return hsdo_seterr(err, errlen, -HSDO_EPROTO,
						   "duplicate attribute %s", attrs[i].name);
			av[i] = c;
			break;
		}
	}
	for (i = 0; i < A_COUNT; i++) {
		if (av[i] == NULL) {
			if (attrs[i].required)
				return hsdo_seterr(err, errlen, -HSDO_EPROTO,
						   "missing attribute %s", attrs[i].name);
			continue;
		}
		rc = av_value(av[i], &attrs[i], &v[i], err, errlen);
		if (rc != 0)
			return rc;
	}

	if (strs == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no string set");
	memset(&s, 0, sizeof(s));
	hsdo_slot_clear(&s);
	if ((rc = n_value(v[A_ID], &attrs[A_ID], 1, HSDO_SLOTS_MAX, &n, err, errlen)) != 0)
		return rc;
	s.id = (uint32_t)n;
	if ((rc = s_value(v[A_IP], &attrs[A_IP], &s.ip, HSDO_IP_LEN, err, errlen)) != 0 ||
	    (rc = s_value(v[A_NAME], &attrs[A_NAME], &s.name, HSDO_NAME_LEN, err, errlen)) != 0)
		return rc;
	if (v[A_ASG] != NULL &&
	    (rc = s_value(v[A_ASG], &attrs[A_ASG], &s.group, HSDO_GROUP_LEN, err, errlen)) != 0)
		return rc;
	if ((rc = n_value(v[A_WEIGHT], &attrs[A_WEIGHT], 0, HSDO_WEIGHT_MAX, &n, err, errlen)) != 0)
		return rc;
	s.weight = (uint32_t)n;
	if (strcmp(v[A_STATUS]->valuestring, "enabled") == 0)
		s.state = HSDO_SLOT_ACTIVE;
	else if (strcmp(v[A_STATUS]->valuestring, "disabled") == 0)
		s.state = HSDO_SLOT_FREE;
	else
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "BackendServerStatus: unknown status \"%s\" (want enabled or disabled)",
				   quote(v[A_STATUS]->valuestring, q, sizeof(q)));
	if (time_of_text(v[A_TIME]->valuestring, &s.last_weight_update_us) != 0)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "LastWeightUpdate: bad timestamp \"%s\" (want YYYY-MM-DD HH:MM:SS[.ffffff])",
				   quote(v[A_TIME]->valuestring, q, sizeof(q)));
	if (v[A_PORT] != NULL) {
		if ((rc = n_value(v[A_PORT], &attrs[A_PORT], 1, 65535, &n, err, errlen)) != 0)
			return rc;
		s.port = (uint16_t)n;
	}
	if (v[A_AZ] != NULL &&
	    (rc = s_value(v[A_AZ], &attrs[A_AZ], &s.az, HSDO_AZ_LEN, err, errlen)) != 0)
		return rc;

	if (s.state != HSDO_SLOT_FREE && !hsdo_ip_valid(s.ip))
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "IPAddress: \"%s\" is not an IPv4 or IPv6 address (the item is "
				   "enabled)", s.ip[0] ? quote(s.ip, q, sizeof(q)) : "none");
	if ((rc = decode_eject(v, &s, err, errlen)) != 0)
		return rc;
	if (s.state == HSDO_SLOT_FREE) {
		hsdo_slot_clear(&s);
	} else if (v[A_DRAINING] != NULL && cJSON_IsTrue(v[A_DRAINING]) && s.weight == 0) {
		/* with a Weight, a Draining left by a writer that does not know
		 * it (item.h): the slot is active */
		s.state = HSDO_SLOT_DRAINING;
		hsdo_slot_clear_eject(&s);
	} else if (v[A_EJECTED] != NULL && s.weight == 0) {
		s.state = HSDO_SLOT_EJECTED;
	} else if (v[A_EJECTED] != NULL) {
		/* the same for an Ejected next to a Weight: the original server
		 * filled the slot again over our ejection */
		hsdo_slot_clear_eject(&s);
	} else {
		s.ejected_until_ms = 0;
		s.eject_reason = "";
	}
	if (hsdo_slot_intern(&s, strs) != 0)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory for the strings");
	*out = s;
	return 0;
}

int hsdo_item_json_parse_value(const char *buf, size_t len, cJSON **out, char *err,
			       size_t errlen)
{
	struct hsdo_json_error e;
	cJSON *root;
	int rc = hsdo_json_parse(buf, len, HSDO_ITEM_JSON_MAX, &root, &e);

	if (rc != 0) {
		switch (e.fault) {
		case HSDO_JSON_EMPTY:
			return hsdo_seterr(err, errlen, rc, "empty input");
		case HSDO_JSON_TOOBIG:
			return hsdo_seterr(err, errlen, rc, "item of %zu bytes over %zu", len,
					   HSDO_ITEM_JSON_MAX);
		case HSDO_JSON_NOMEM:
			return hsdo_seterr(err, errlen, rc, "out of memory parsing item");
		case HSDO_JSON_INVALID:
			return hsdo_seterr(err, errlen, rc, "invalid JSON at byte %zu", e.at);
		default:
			return hsdo_seterr(err, errlen, rc,
					   "trailing data after the item at byte %zu", e.at);
		}
	}
	*out = root;
	return 0;
}

int hsdo_item_json_attr(const cJSON *item, const char *name, const char *type, bool required,
			const cJSON **val, char *err, size_t errlen)
{
	const struct attr_spec a = { name, type, required };
	const cJSON *c, *av = NULL;

	*val = NULL;
	if (!cJSON_IsObject(item))
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "item is not a JSON object");
	for (c = item->child; c != NULL; c = c->next) {
		if (c->string == NULL || strcmp(c->string, name) != 0)
			continue;
		if (av != NULL)
			return hsdo_seterr(err, errlen, -HSDO_EPROTO, "duplicate attribute %s", name);
		av = c;
	}
	if (av == NULL)
		return required ? hsdo_seterr(err, errlen, -HSDO_EPROTO, "missing attribute %s",
					      name) : 0;
	return av_value(av, &a, val, err, errlen);
}

int hsdo_item_json_n(const cJSON *val, const char *name, uint64_t lo, uint64_t hi,
		     uint64_t *out, char *err, size_t errlen)
{
	const struct attr_spec a = { name, "N", true };

	return n_value(val, &a, lo, hi, out, err, errlen);
}

bool hsdo_item_json_add(cJSON *o, const char *name, const char *type, cJSON *v)
{
	return add_av(o, name, type, v);
}

bool hsdo_item_json_add_n(cJSON *o, const char *name, uint64_t n)
{
	return add_n(o, name, n);
}

int hsdo_item_decode_json(const char *buf, size_t len, struct hsdo_strset *strs,
			  struct hsdo_slot *out, char *err, size_t errlen)
{
	cJSON *root = NULL;
	int rc;

	if ((rc = hsdo_item_json_parse_value(buf, len, &root, err, errlen)) != 0)
		return rc;
	rc = hsdo_item_decode(root, strs, out, err, errlen);
	cJSON_Delete(root);
	return rc;
}
