/* AWS credentials from the environment, the shared INI files and the
 * IMDS / ECS JSON documents; region and endpoint resolution. Pure: no
 * I/O, no getenv, no clock. Secrets are never echoed into err and are
 * wiped before free (including cJSON's copies of them). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/civil.h"
#include "hsdo/creds.h"
#include "hsdo/err.h"
#include "env.h"
#include "json.h"

static const char *const service_names[HSDO_CREDS_SVC_COUNT] = {
	[HSDO_CREDS_SVC_DYNAMODB] = "dynamodb",
	[HSDO_CREDS_SVC_EC2] = "ec2",
	[HSDO_CREDS_SVC_AUTO_SCALING] = "autoscaling",
};

static const char *const service_env[HSDO_CREDS_SVC_COUNT] = {
	[HSDO_CREDS_SVC_DYNAMODB] = "AWS_ENDPOINT_URL_DYNAMODB",
	[HSDO_CREDS_SVC_EC2] = "AWS_ENDPOINT_URL_EC2",
	[HSDO_CREDS_SVC_AUTO_SCALING] = "AWS_ENDPOINT_URL_AUTO_SCALING",
};

const char *hsdo_creds_service_str(enum hsdo_creds_service svc)
{
	if ((unsigned)svc >= HSDO_CREDS_SVC_COUNT)
		return "unknown";
	return service_names[svc];
}

static void wipe_str(char **s)
{
	if (*s != NULL)
		hsdo_freezero(*s, strlen(*s));
	*s = NULL;
}

void hsdo_creds_free(struct hsdo_creds *c)
{
	if (c == NULL)
		return;
	wipe_str(&c->access_key_id);
	wipe_str(&c->secret_access_key);
	wipe_str(&c->session_token);
	memset(c, 0, sizeof(*c));
}

static void set_source(struct hsdo_creds *c, const char *src)
{
	snprintf(c->source, sizeof(c->source), "%s", src != NULL ? src : "");
}

/* A credential value: 1..VALUE_MAX printable, non-space ASCII bytes. The
 * message names `what` (and `line` when > 0), never the value. */
static int check_value(const char *what, unsigned line, const char *v, size_t n,
		       char *err, size_t errlen)
{
	char where[32] = "";
	size_t i;

	if (line > 0)
		snprintf(where, sizeof(where), "line %u: ", line);
	if (n == 0)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "%s%s is empty", where, what);
	if (n > HSDO_CREDS_VALUE_MAX)
		return hsdo_seterr(err, errlen, -HSDO_ETOOBIG, "%s%s longer than %d bytes",
				   where, what, HSDO_CREDS_VALUE_MAX);
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch < 0x21 || ch > 0x7e)
			return hsdo_seterr(err, errlen, -HSDO_EPROTO,
					   "%s%s has an invalid character at offset %zu",
					   where, what, i);
	}
	return 0;
}

/* Replace *dst by a copy of v/n, wiping the old value. */
static int set_secret(char **dst, const char *v, size_t n, char *err, size_t errlen)
{
	char *s = hsdo_strndup(v, n);

	if (s == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	wipe_str(dst);
	*dst = s;
	return 0;
}

int hsdo_creds_from_env(char *const *envp, struct hsdo_creds *out, char *err, size_t errlen)
{
	const char *id, *secret, *token;
	int rc;

	if (out == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no output");
	memset(out, 0, sizeof(*out));
	id = hsdo_env_get(envp, "AWS_ACCESS_KEY_ID");
	secret = hsdo_env_get(envp, "AWS_SECRET_ACCESS_KEY");
	token = hsdo_env_get(envp, "AWS_SESSION_TOKEN");
	if (id == NULL && secret == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOTFOUND,
				   "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set");
	if (id == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL,
				   "AWS_ACCESS_KEY_ID is not set but AWS_SECRET_ACCESS_KEY is");
	if (secret == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL,
				   "AWS_SECRET_ACCESS_KEY is not set but AWS_ACCESS_KEY_ID is");
	if ((rc = check_value("AWS_ACCESS_KEY_ID", 0, id, strlen(id), err, errlen)) != 0 ||
	    (rc = check_value("AWS_SECRET_ACCESS_KEY", 0, secret, strlen(secret), err,
			      errlen)) != 0 ||
	    (token != NULL && (rc = check_value("AWS_SESSION_TOKEN", 0, token, strlen(token),
						err, errlen)) != 0))
		return rc;
	if ((rc = set_secret(&out->access_key_id, id, strlen(id), err, errlen)) != 0 ||
	    (rc = set_secret(&out->secret_access_key, secret, strlen(secret), err,
			     errlen)) != 0 ||
	    (token != NULL && (rc = set_secret(&out->session_token, token, strlen(token), err,
					       errlen)) != 0)) {
		hsdo_creds_free(out);
		return rc;
	}
	set_source(out, "env");
	return 0;
}

/* ---- shared INI files ------------------------------------------------------ */

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Trim [*s, *e) of surrounding whitespace. */
static void trim(const char **s, const char **e)
{
	while (*s < *e && is_ws(**s))
		(*s)++;
	while (*e > *s && is_ws((*e)[-1]))
		(*e)--;
}

static bool slice_eq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static bool slice_ieq(const char *s, size_t n, const char *lit)
{
	size_t i;

	if (strlen(lit) != n)
		return false;
	for (i = 0; i < n; i++) {
		char a = s[i];

		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (a != lit[i])
			return false;
	}
	return true;
}

static bool region_valid(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n >= HSDO_CREDS_REGION_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* Does section name [s, s+n) select `profile` in a file of this kind? The
 * SDKs read "[name]" in credentials; "[profile name]" or "[default]" in
 * config (and "[profile default]" too). */
static bool section_matches(const char *s, size_t n, enum hsdo_creds_file kind,
			    const char *profile)
{
	const char *e = s + n;

	if (kind == HSDO_CREDS_FILE_CREDENTIALS)
		return slice_eq(s, n, profile);
	if (slice_eq(s, n, "default"))
		return strcmp(profile, "default") == 0;
	if (n > 7 && memcmp(s, "profile", 7) == 0 && is_ws(s[7])) {
		s += 7;
		trim(&s, &e);
		return slice_eq(s, (size_t)(e - s), profile);
	}
	return false;
}

struct ini_state {
	enum hsdo_creds_file kind;
	const char *profile;
	struct hsdo_creds *out;
	char *region;
	size_t regionlen;
	bool in_section, in_target, found, had_property;
};

static int ini_header(struct ini_state *st, unsigned line, const char *s, const char *e,
		      char *err, size_t errlen)
{
	const char *close = memchr(s, ']', (size_t)(e - s));
	const char *rest, *ns = s + 1, *ne;

	if (close == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "line %u: section header without ']'", line);
	for (rest = close + 1; rest < e && is_ws(*rest); rest++)
		;
	if (rest < e && *rest != '#' && *rest != ';')
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "line %u: text after section header", line);
	ne = close;
	trim(&ns, &ne);
	if (ns == ne)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "line %u: empty section name", line);
	st->in_section = true;
	st->had_property = false;
	st->in_target = section_matches(ns, (size_t)(ne - ns), st->kind, st->profile);
	if (st->in_target)
		st->found = true;
	return 0;
}

static int ini_property(struct ini_state *st, unsigned line, const char *s, const char *e,
			char *err, size_t errlen)
{
	const char *eq = memchr(s, '=', (size_t)(e - s));
	const char *ks = s, *ke, *vs, *ve = e;
	char **dst = NULL;
	const char *what = NULL;
	int rc;

	if (eq == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "line %u: expected 'key = value'", line);
	ke = eq;
	vs = eq + 1;
	trim(&ks, &ke);
	trim(&vs, &ve);
	if (ks == ke)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "line %u: missing key", line);
	if (!st->in_section)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "line %u: key outside any section", line);
	st->had_property = true;
	if (!st->in_target)
		return 0;
	if (slice_ieq(ks, (size_t)(ke - ks), "aws_access_key_id")) {
		dst = &st->out->access_key_id;
		what = "aws_access_key_id";
	} else if (slice_ieq(ks, (size_t)(ke - ks), "aws_secret_access_key")) {
		dst = &st->out->secret_access_key;
		what = "aws_secret_access_key";
	} else if (slice_ieq(ks, (size_t)(ke - ks), "aws_session_token")) {
		dst = &st->out->session_token;
		what = "aws_session_token";
	} else if (st->kind == HSDO_CREDS_FILE_CONFIG &&
		   slice_ieq(ks, (size_t)(ke - ks), "region")) {
		if (!region_valid(vs, (size_t)(ve - vs)))
			return hsdo_seterr(err, errlen, -HSDO_EPROTO,
					   "line %u: region must be 1..%d of [a-z0-9-]", line,
					   HSDO_CREDS_REGION_MAX - 1);
		if (st->region != NULL && st->regionlen > 0)
			snprintf(st->region, st->regionlen, "%.*s", (int)(ve - vs), vs);
		return 0;
	} else {
		return 0;
	}
	if ((rc = check_value(what, line, vs, (size_t)(ve - vs), err, errlen)) != 0)
		return rc;
	return set_secret(dst, vs, (size_t)(ve - vs), err, errlen);
}

int hsdo_creds_parse_ini(const char *buf, size_t len, enum hsdo_creds_file kind,
			 const char *profile, struct hsdo_creds *out, char *region,
			 size_t regionlen, char *err, size_t errlen)
{
	struct ini_state st = { 0 };
	const char *p = buf, *end = buf + len;
	unsigned line = 0;
	int rc = 0;

	if (region != NULL && regionlen > 0)
		region[0] = '\0';
	if (out == NULL || (buf == NULL && len > 0) || (unsigned)kind >= HSDO_CREDS_FILE_COUNT)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "invalid argument");
	memset(out, 0, sizeof(*out));
	if (len > HSDO_CREDS_FILE_MAX)
		return hsdo_seterr(err, errlen, -HSDO_ETOOBIG, "file of %zu bytes over %d", len,
				   HSDO_CREDS_FILE_MAX);
	st.kind = kind;
	st.profile = profile != NULL ? profile : "default";
	st.out = out;
	st.region = region;
	st.regionlen = regionlen;
	while (p < end && rc == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl != NULL ? nl : end, *s = p;
		bool indented = s < e && is_ws(*s);

		line++;
		p = nl != NULL ? nl + 1 : end;
		if (memchr(s, '\0', (size_t)(e - s)) != NULL) {
			rc = hsdo_seterr(err, errlen, -HSDO_EPROTO, "line %u: NUL byte", line);
			break;
		}
		trim(&s, &e);
		if (s == e || *s == '#' || *s == ';')
			continue;
		/* An indented line after a property continues it (nested settings
		 * such as "s3 =\n  max_concurrent_requests = 10"): not ours. */
		if (indented && st.had_property)
			continue;
		if (*s == '[')
			rc = ini_header(&st, line, s, e, err, errlen);
		else
			rc = ini_property(&st, line, s, e, err, errlen);
	}
	if (rc == 0 && !st.found)
		rc = hsdo_seterr(err, errlen, -HSDO_ENOTFOUND, "profile not found");
	if (rc == 0 && (out->access_key_id == NULL) != (out->secret_access_key == NULL))
		rc = hsdo_seterr(err, errlen, -HSDO_EPROTO, "profile has %s but no %s",
				 out->access_key_id != NULL ? "aws_access_key_id" :
							      "aws_secret_access_key",
				 out->access_key_id != NULL ? "aws_secret_access_key" :
							      "aws_access_key_id");
	if (rc == 0 && out->access_key_id == NULL && out->session_token != NULL)
		rc = hsdo_seterr(err, errlen, -HSDO_EPROTO,
				 "profile has aws_session_token but no keys");
	if (rc != 0) {
		hsdo_creds_free(out);
		if (region != NULL && regionlen > 0)
			region[0] = '\0';
		return rc;
	}
	set_source(out, kind == HSDO_CREDS_FILE_CONFIG ? "config" : "credentials");
	return 0;
}

/* ---- IMDS / ECS JSON ------------------------------------------------------- */

static bool digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

/* RFC 3339 UTC "YYYY-MM-DDTHH:MM:SS[.frac](Z|+00:00|-00:00)" → Unix seconds. */
static int parse_rfc3339(const char *s, int64_t *out)
{
	size_t n = strlen(s), i = 19;
	int y, mo, d, h, mi, se;

	if (n < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) ||
	    s[16] != ':' || !digits(s + 17, 2, &se))
		return -1;
	if (!hsdo_civil_valid(y, (unsigned)mo, (unsigned)d) || h > 23 || mi > 59 || se > 60 || y < 1970)
		return -1;
	if (s[i] == '.') {
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == 20)
			return -1;
	}
	if (!((i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) ||
	      (i + 6 == n && (strcmp(s + i, "+00:00") == 0 || strcmp(s + i, "-00:00") == 0))))
		return -1;
	*out = hsdo_civil_days_from(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se;
	return 0;
}

static bool code_printable(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= 64 || !((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
				 (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' ||
				 s[i] == '.'))
			return false;
	return true;
}

/* A string member `name`: *v is NULL when absent (or null and optional). */
static int json_string(const cJSON *root, const char *name, bool required, const char **v,
		       char *err, size_t errlen)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, name);

	*v = NULL;
	if (it == NULL || (!required && cJSON_IsNull(it))) {
		if (required)
			return hsdo_seterr(err, errlen, -HSDO_EPROTO, "%s missing", name);
		return 0;
	}
	if (!cJSON_IsString(it) || it->valuestring == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "%s is not a string", name);
	*v = it->valuestring;
	return 0;
}

static int json_fill(const cJSON *root, struct hsdo_creds *out, char *err, size_t errlen)
{
	const char *code, *id, *secret, *token, *exp;
	int rc;

	if (!cJSON_IsObject(root))
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "not a JSON object");
	if ((rc = json_string(root, "Code", false, &code, err, errlen)) != 0)
		return rc;
	if (code != NULL && strcmp(code, "Success") != 0)
		return hsdo_seterr(err, errlen, -HSDO_EAWS, "credentials Code is %s",
				   code_printable(code) ? code : "(unprintable)");
	if ((rc = json_string(root, "AccessKeyId", true, &id, err, errlen)) != 0 ||
	    (rc = json_string(root, "SecretAccessKey", true, &secret, err, errlen)) != 0 ||
	    (rc = json_string(root, "Token", false, &token, err, errlen)) != 0 ||
	    (rc = json_string(root, "Expiration", false, &exp, err, errlen)) != 0)
		return rc;
	if ((rc = check_value("AccessKeyId", 0, id, strlen(id), err, errlen)) != 0 ||
	    (rc = check_value("SecretAccessKey", 0, secret, strlen(secret), err, errlen)) != 0 ||
	    (token != NULL &&
	     (rc = check_value("Token", 0, token, strlen(token), err, errlen)) != 0))
		return rc;
	if (exp != NULL && parse_rfc3339(exp, &out->expiration_s) != 0)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "Expiration is not RFC 3339 UTC");
	if ((rc = set_secret(&out->access_key_id, id, strlen(id), err, errlen)) != 0 ||
	    (rc = set_secret(&out->secret_access_key, secret, strlen(secret), err, errlen)) != 0 ||
	    (token != NULL &&
	     (rc = set_secret(&out->session_token, token, strlen(token), err, errlen)) != 0))
		return rc;
	return 0;
}

int hsdo_creds_parse_json(const char *buf, size_t len, const char *source,
			  struct hsdo_creds *out, char *err, size_t errlen)
{
	cJSON *root;
	int rc;

	if (out == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no output");
	memset(out, 0, sizeof(*out));
	rc = hsdo_json_parse_body(buf, len, HSDO_CREDS_FILE_MAX, &root, err, errlen);
	if (rc == 0)
		rc = json_fill(root, out, err, errlen);
	hsdo_json_delete_wiped(root);
	if (rc != 0) {
		hsdo_creds_free(out);
		return rc;
	}
	set_source(out, source);
	return 0;
}

bool hsdo_creds_need_refresh(const struct hsdo_creds *c, int64_t now_s)
{
	if (c == NULL || c->access_key_id == NULL)
		return true;
	if (c->expiration_s == 0)
		return false;
	return now_s >= c->expiration_s - HSDO_CREDS_REFRESH_S;
}

/* ---- region and endpoints -------------------------------------------------- */

int hsdo_creds_region(char *const *envp, const char *config_region, char *out,
		      size_t outlen, char *err, size_t errlen)
{
	const char *v, *from = "AWS_REGION";

	if (out == NULL || outlen == 0)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no output");
	out[0] = '\0';
	if ((v = hsdo_env_get(envp, "AWS_REGION")) == NULL) {
		from = "AWS_DEFAULT_REGION";
		if ((v = hsdo_env_get(envp, "AWS_DEFAULT_REGION")) == NULL) {
			from = "config region";
			v = config_region != NULL && config_region[0] != '\0' ? config_region : NULL;
		}
	}
	if (v == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOTFOUND, "no region configured");
	if (!region_valid(v, strlen(v)))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL,
				   "%s must be 1..%d of [a-z0-9-]", from,
				   HSDO_CREDS_REGION_MAX - 1);
	if (strlen(v) >= outlen)
		return hsdo_seterr(err, errlen, -HSDO_ETOOBIG, "region buffer too small");
	memcpy(out, v, strlen(v) + 1);
	return 0;
}

static bool prefix_ieq(const char *s, const char *lit)
{
	return slice_ieq(s, strlen(lit), lit);
}

static bool url_valid(const char *u)
{
	size_t n = strlen(u), skip, i;

	if (n > HSDO_CREDS_URL_MAX)
		return false;
	if (n >= 8 && prefix_ieq(u, "https://"))
		skip = 8;
	else if (n >= 7 && prefix_ieq(u, "http://"))
		skip = 7;
	else
		return false;
	if (n == skip || u[skip] == '/')
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f)
			return false;
	return true;
}

int hsdo_creds_endpoint(char *const *envp, enum hsdo_creds_service svc, const char *region,
			char **url, char *err, size_t errlen)
{
	const char *v, *from;
	char *s;
	size_t n;

	if (url == NULL || (unsigned)svc >= HSDO_CREDS_SVC_COUNT)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "invalid argument");
	*url = NULL;
	from = service_env[svc];
	if ((v = hsdo_env_get(envp, from)) == NULL) {
		from = "AWS_ENDPOINT_URL";
		v = hsdo_env_get(envp, from);
	}
	if (v != NULL) {
		if (!url_valid(v))
			return hsdo_seterr(err, errlen, -HSDO_EINVAL,
					   "%s must be an http:// or https:// URL", from);
		s = hsdo_strdup(v);
	} else {
		if (region == NULL || !region_valid(region, strlen(region)))
			return hsdo_seterr(err, errlen, -HSDO_EINVAL,
					   "region must be 1..%d of [a-z0-9-]",
					   HSDO_CREDS_REGION_MAX - 1);
		n = strlen("https://") + strlen(service_names[svc]) + 1 + strlen(region) +
		    strlen(".amazonaws.com") + 1;
		if ((s = hsdo_malloc(n)) != NULL)
			snprintf(s, n, "https://%s.%s.amazonaws.com", service_names[svc], region);
	}
	if (s == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	*url = s;
	return 0;
}
