/* AWS credentials, region and endpoint resolution, without an SDK.
 *
 * Pure: every function takes byte buffers, an environment array (envp, a
 * NULL-terminated "NAME=value" list as given to main or execve) and `now`;
 * none reads files, the process environment or the clock. Credential
 * strings are secrets: they never appear in error messages and are wiped
 * before they are freed. */
#ifndef HSDO_CREDS_H
#define HSDO_CREDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HSDO_CREDS_VALUE_MAX    8192          /* one key, secret or token */
#define HSDO_CREDS_FILE_MAX     (1024 * 1024) /* an INI file or JSON body */
#define HSDO_CREDS_REGION_MAX   64            /* region buffer, with NUL */
#define HSDO_CREDS_URL_MAX      2048          /* endpoint URL, without NUL */
#define HSDO_CREDS_REFRESH_S    300           /* refresh this long before expiry */
#define HSDO_CREDS_PROCESS_OUTPUT_MAX (64 * 1024) /* credential_process stdout */
#define HSDO_CREDS_PROCESS_TIMEOUT_S  30      /* then the process is killed */

struct hsdo_creds {
	char *access_key_id;     /* owned; NULL when unset */
	char *secret_access_key; /* owned; NULL when unset */
	char *session_token;     /* owned; NULL when none */
	int64_t expiration_s;    /* Unix seconds; 0 = never expires */
	char source[32];         /* "env", "credentials", "config", "imds", "ecs"... */
};

/* Services with an AWS_ENDPOINT_URL_<SERVICE> override. */
enum hsdo_creds_service {
	HSDO_CREDS_SVC_DYNAMODB = 0,
	HSDO_CREDS_SVC_EC2,
	HSDO_CREDS_SVC_AUTO_SCALING,
	HSDO_CREDS_SVC_STS,
	HSDO_CREDS_SVC_COUNT
};

/* Where the region came from, in the order they are tried. */
enum hsdo_creds_region_source {
	HSDO_CREDS_REGION_NONE = 0,
	HSDO_CREDS_REGION_ENV,            /* AWS_REGION */
	HSDO_CREDS_REGION_ENV_DEFAULT,    /* AWS_DEFAULT_REGION */
	HSDO_CREDS_REGION_PROFILE,        /* the profile's region in the config file */
	HSDO_CREDS_REGION_IMDS,           /* the instance's, from instance metadata */
	HSDO_CREDS_REGION_CONFIG,         /* the configuration's fallback */
	HSDO_CREDS_REGION_SOURCE_COUNT
};

/* Wipe and free the three strings and zero *c; NULL is a no-op. */
void hsdo_creds_free(struct hsdo_creds *c);

/* Credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and optional
 * AWS_SESSION_TOKEN in envp (empty counts as unset). -HSDO_ENOTFOUND when
 * neither key is set, -HSDO_EINVAL naming the missing one when only one is.
 * On failure *out is zeroed and owns nothing. */
int hsdo_creds_from_env(char *const *envp, struct hsdo_creds *out, char *err, size_t errlen);

/* A credential value: 1..HSDO_CREDS_VALUE_MAX printable, non-blank ASCII
 * bytes. 0, or -HSDO_EPROTO / -HSDO_ETOOBIG with a message naming `what`
 * (and "line N" when line > 0), never the value. */
int hsdo_creds_check_value(const char *what, unsigned line, const char *v, size_t n,
			   char *err, size_t errlen);

/* Whether s[0..n) is a region name: 1..63 of [a-z0-9-]. */
bool hsdo_creds_region_valid(const char *s, size_t n);

/* Parse an IMDS or ECS credentials JSON body. A "Code" other than
 * "Success" is -HSDO_EAWS; "Expiration" (RFC 3339, UTC) sets expiration_s.
 * `source` (truncated to fit) is copied into out->source. */
int hsdo_creds_parse_json(const char *buf, size_t len, const char *source,
			  struct hsdo_creds *out, char *err, size_t errlen);

/* Parse credential_process output: JSON with "Version": 1, AccessKeyId,
 * SecretAccessKey, optional SessionToken and Expiration (RFC 3339 UTC).
 * out->source is "process". Errors as hsdo_creds_parse_json. */
int hsdo_creds_parse_process(const char *buf, size_t len, struct hsdo_creds *out, char *err,
			     size_t errlen);

/* Credentials from their parts (an STS reply, a JSON document): the values
 * checked as hsdo_creds_check_value, expiration (may be NULL) RFC 3339 UTC,
 * source (may be NULL: left as is). On failure *out owns nothing new. */
int hsdo_creds_from_strings(const char *id, const char *secret, const char *token,
			    const char *expiration, const char *source, struct hsdo_creds *out,
			    char *err, size_t errlen);

/* True when c is NULL, has no access key, or expires within
 * HSDO_CREDS_REFRESH_S seconds of now_s (or already has). */
bool hsdo_creds_need_refresh(const struct hsdo_creds *c, int64_t now_s);

/* Region from AWS_REGION, else AWS_DEFAULT_REGION, else profile_region
 * (may be NULL), checked with hsdo_creds_region_valid, into out/outlen;
 * *src (may be NULL) says which. -HSDO_ENOTFOUND when none is set (the
 * caller goes on with instance metadata, then its configuration),
 * -HSDO_EINVAL when the chosen one is bad. */
int hsdo_creds_region(char *const *envp, const char *profile_region, char *out,
		      size_t outlen, enum hsdo_creds_region_source *src, char *err,
		      size_t errlen);
const char *hsdo_creds_region_source_str(enum hsdo_creds_region_source s);

/* Endpoint URL for svc: AWS_ENDPOINT_URL_<SERVICE>, else AWS_ENDPOINT_URL,
 * else https://<service>.<region>.amazonaws.com. An override must start
 * with http:// or https://. *url is heap (hsdo_free) on success. */
int hsdo_creds_endpoint(char *const *envp, enum hsdo_creds_service svc, const char *region,
			char **url, char *err, size_t errlen);

/* Name of a service for logs and signing ("dynamodb", "ec2", "autoscaling",
 * "sts"). */
const char *hsdo_creds_service_str(enum hsdo_creds_service svc);

#endif
