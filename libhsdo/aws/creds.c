/* AWS credentials from the environment, the shared INI files and the
 * IMDS / ECS JSON documents; region and endpoint resolution. Pure: no
 * I/O, no getenv, no clock. Secrets are never echoed into err and are
 * wiped before free (including cJSON's copies of them). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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
	[HSDO_CREDS_SVC_STS] = "sts",
};

static const char *const service_env[HSDO_CREDS_SVC_COUNT] = {
	[HSDO_CREDS_SVC_DYNAMODB] = "AWS_ENDPOINT_URL_DYNAMODB",
	[HSDO_CREDS_SVC_EC2] = "AWS_ENDPOINT_URL_EC2",
	[HSDO_CREDS_SVC_AUTO_SCALING] = "AWS_ENDPOINT_URL_AUTO_SCALING",
	[HSDO_CREDS_SVC_STS] = "AWS_ENDPOINT_URL_STS",
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

int hsdo_creds_check_value(const char *what, unsigned line, const char *v, size_t n,
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
	if ((rc = hsdo_creds_check_value("AWS_ACCESS_KEY_ID", 0, id, strlen(id), err, errlen)) != 0 ||
	    (rc = hsdo_creds_check_value("AWS_SECRET_ACCESS_KEY", 0, secret, strlen(secret), err,
			      errlen)) != 0 ||
	    (token != NULL && (rc = hsdo_creds_check_value("AWS_SESSION_TOKEN", 0, token, strlen(token),
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

bool hsdo_creds_region_valid(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n >= HSDO_CREDS_REGION_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
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

/* Field names of a credentials document: IMDS/ECS and credential_process
 * spell the session token differently. */
struct json_names {
	const char *token;
	bool version1;          /* credential_process: "Version": 1 required */
	bool code;              /* IMDS: "Code" other than "Success" fails */
};

static int json_fill(const cJSON *root, const struct json_names *nm, struct hsdo_creds *out,
		     char *err, size_t errlen)
{
	const char *code, *id, *secret, *token, *exp;
	const cJSON *ver;
	int rc;

	if (!cJSON_IsObject(root))
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "not a JSON object");
	if (nm->version1) {
		ver = cJSON_GetObjectItemCaseSensitive(root, "Version");
		if (!cJSON_IsNumber(ver) || ver->valuedouble != 1.0)
			return hsdo_seterr(err, errlen, -HSDO_EPROTO, "Version is not 1");
	}
	if (nm->code) {
		if ((rc = json_string(root, "Code", false, &code, err, errlen)) != 0)
			return rc;
		if (code != NULL && strcmp(code, "Success") != 0)
			return hsdo_seterr(err, errlen, -HSDO_EAWS, "credentials Code is %s",
					   code_printable(code) ? code : "(unprintable)");
	}
	if ((rc = json_string(root, "AccessKeyId", true, &id, err, errlen)) != 0 ||
	    (rc = json_string(root, "SecretAccessKey", true, &secret, err, errlen)) != 0 ||
	    (rc = json_string(root, nm->token, false, &token, err, errlen)) != 0 ||
	    (rc = json_string(root, "Expiration", false, &exp, err, errlen)) != 0)
		return rc;
	return hsdo_creds_from_strings(id, secret, token, exp, NULL, out, err, errlen);
}

int hsdo_creds_from_strings(const char *id, const char *secret, const char *token,
			    const char *expiration, const char *source, struct hsdo_creds *out,
			    char *err, size_t errlen)
{
	int rc;

	if (out == NULL || id == NULL || secret == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "invalid argument");
	if ((rc = hsdo_creds_check_value("AccessKeyId", 0, id, strlen(id), err, errlen)) != 0 ||
	    (rc = hsdo_creds_check_value("SecretAccessKey", 0, secret, strlen(secret), err,
					 errlen)) != 0 ||
	    (token != NULL && (rc = hsdo_creds_check_value("SessionToken", 0, token,
							    strlen(token), err, errlen)) != 0))
		return rc;
	if (expiration != NULL && parse_rfc3339(expiration, &out->expiration_s) != 0)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "Expiration is not RFC 3339 UTC");
	if ((rc = set_secret(&out->access_key_id, id, strlen(id), err, errlen)) != 0 ||
	    (rc = set_secret(&out->secret_access_key, secret, strlen(secret), err, errlen)) != 0 ||
	    (token != NULL &&
	     (rc = set_secret(&out->session_token, token, strlen(token), err, errlen)) != 0)) {
		hsdo_creds_free(out);
		return rc;
	}
	if (source != NULL)
		set_source(out, source);
	return 0;
}

static int parse_doc(const char *buf, size_t len, const struct json_names *nm,
		     const char *source, struct hsdo_creds *out, char *err, size_t errlen)
{
	cJSON *root;
	int rc;

	if (out == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no output");
	memset(out, 0, sizeof(*out));
	rc = hsdo_json_parse_body(buf, len, HSDO_CREDS_FILE_MAX, &root, err, errlen);
	if (rc == 0)
		rc = json_fill(root, nm, out, err, errlen);
	hsdo_json_delete_wiped(root);
	if (rc != 0) {
		hsdo_creds_free(out);
		return rc;
	}
	set_source(out, source);
	return 0;
}

int hsdo_creds_parse_json(const char *buf, size_t len, const char *source,
			  struct hsdo_creds *out, char *err, size_t errlen)
{
	static const struct json_names nm = { "Token", false, true };

	return parse_doc(buf, len, &nm, source, out, err, errlen);
}

int hsdo_creds_parse_process(const char *buf, size_t len, struct hsdo_creds *out, char *err,
			     size_t errlen)
{
	static const struct json_names nm = { "SessionToken", true, false };

	return parse_doc(buf, len, &nm, "process", out, err, errlen);
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

static const char *const region_source_names[HSDO_CREDS_REGION_SOURCE_COUNT] = {
	[HSDO_CREDS_REGION_NONE] = "none",
	[HSDO_CREDS_REGION_ENV] = "AWS_REGION",
	[HSDO_CREDS_REGION_ENV_DEFAULT] = "AWS_DEFAULT_REGION",
	[HSDO_CREDS_REGION_PROFILE] = "profile",
	[HSDO_CREDS_REGION_IMDS] = "instance metadata",
	[HSDO_CREDS_REGION_CONFIG] = "configuration",
};

const char *hsdo_creds_region_source_str(enum hsdo_creds_region_source s)
{
	if ((unsigned)s >= HSDO_CREDS_REGION_SOURCE_COUNT)
		return "unknown";
	return region_source_names[s];
}

int hsdo_creds_region(char *const *envp, const char *profile_region, char *out,
		      size_t outlen, enum hsdo_creds_region_source *src, char *err,
		      size_t errlen)
{
	enum hsdo_creds_region_source from = HSDO_CREDS_REGION_ENV;
	const char *v;

	if (out == NULL || outlen == 0)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no output");
	out[0] = '\0';
	if (src != NULL)
		*src = HSDO_CREDS_REGION_NONE;
	if ((v = hsdo_env_get(envp, "AWS_REGION")) == NULL) {
		from = HSDO_CREDS_REGION_ENV_DEFAULT;
		if ((v = hsdo_env_get(envp, "AWS_DEFAULT_REGION")) == NULL) {
			from = HSDO_CREDS_REGION_PROFILE;
			v = profile_region != NULL && profile_region[0] != '\0' ? profile_region : NULL;
		}
	}
	if (v == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOTFOUND, "no region configured");
	if (!hsdo_creds_region_valid(v, strlen(v)))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL,
				   "%s must be 1..%d of [a-z0-9-]", from == HSDO_CREDS_REGION_PROFILE ?
				   "the profile's region" : region_source_names[from],
				   HSDO_CREDS_REGION_MAX - 1);
	if (strlen(v) >= outlen)
		return hsdo_seterr(err, errlen, -HSDO_ETOOBIG, "region buffer too small");
	memcpy(out, v, strlen(v) + 1);
	if (src != NULL)
		*src = from;
	return 0;
}

static bool prefix_ieq(const char *s, const char *lit)
{
	return strncasecmp(s, lit, strlen(lit)) == 0;
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
		if (region == NULL || !hsdo_creds_region_valid(region, strlen(region)))
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
