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

struct hsdo_creds {
	char *access_key_id;     /* owned; NULL when unset */
	char *secret_access_key; /* owned; NULL when unset */
	char *session_token;     /* owned; NULL when none */
	int64_t expiration_s;    /* Unix seconds; 0 = never expires */
	char source[32];         /* "env", "credentials", "config", "imds", "ecs"... */
};

/* Which shared file an INI buffer holds: ~/.aws/credentials uses
 * "[name]" sections, ~/.aws/config "[profile name]" and "[default]". */
enum hsdo_creds_file {
	HSDO_CREDS_FILE_CREDENTIALS = 0,
	HSDO_CREDS_FILE_CONFIG,
	HSDO_CREDS_FILE_COUNT
};

/* Services with an AWS_ENDPOINT_URL_<SERVICE> override. */
enum hsdo_creds_service {
	HSDO_CREDS_SVC_DYNAMODB = 0,
	HSDO_CREDS_SVC_EC2,
	HSDO_CREDS_SVC_AUTO_SCALING,
	HSDO_CREDS_SVC_COUNT
};

/* Wipe and free the three strings and zero *c; NULL is a no-op. */
void hsdo_creds_free(struct hsdo_creds *c);

/* Credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and optional
 * AWS_SESSION_TOKEN in envp (empty counts as unset). -HSDO_ENOTFOUND when
 * neither key is set, -HSDO_EINVAL naming the missing one when only one is.
 * On failure *out is zeroed and owns nothing. */
int hsdo_creds_from_env(char *const *envp, struct hsdo_creds *out, char *err, size_t errlen);

/* Parse a whole shared INI file (buf/len, need not be NUL-terminated) and
 * take `profile` ("default" when NULL) from it: the aws_* keys into *out
 * (all NULL when the profile has none) and, for the config file only,
 * `region` into region/regionlen ("" when absent; may be NULL/0).
 * -HSDO_ENOTFOUND when no section names the profile; syntax errors are
 * -HSDO_EPROTO with "line N: ...". On failure *out owns nothing. */
int hsdo_creds_parse_ini(const char *buf, size_t len, enum hsdo_creds_file kind,
			 const char *profile, struct hsdo_creds *out, char *region,
			 size_t regionlen, char *err, size_t errlen);

/* Parse an IMDS or ECS credentials JSON body. A "Code" other than
 * "Success" is -HSDO_EAWS; "Expiration" (RFC 3339, UTC) sets expiration_s.
 * `source` (truncated to fit) is copied into out->source. */
int hsdo_creds_parse_json(const char *buf, size_t len, const char *source,
			  struct hsdo_creds *out, char *err, size_t errlen);

/* True when c is NULL, has no access key, or expires within
 * HSDO_CREDS_REFRESH_S seconds of now_s (or already has). */
bool hsdo_creds_need_refresh(const struct hsdo_creds *c, int64_t now_s);

/* Region from AWS_REGION, else AWS_DEFAULT_REGION, else config_region
 * (may be NULL), checked to be 1..63 of [a-z0-9-], into out/outlen.
 * -HSDO_ENOTFOUND when none is set, -HSDO_EINVAL when the chosen one is bad. */
int hsdo_creds_region(char *const *envp, const char *config_region, char *out,
		      size_t outlen, char *err, size_t errlen);

/* Endpoint URL for svc: AWS_ENDPOINT_URL_<SERVICE>, else AWS_ENDPOINT_URL,
 * else https://<service>.<region>.amazonaws.com. An override must start
 * with http:// or https://. *url is heap (hsdo_free) on success. */
int hsdo_creds_endpoint(char *const *envp, enum hsdo_creds_service svc, const char *region,
			char **url, char *err, size_t errlen);

/* Name of a service for logs ("dynamodb", "ec2", "autoscaling"). */
const char *hsdo_creds_service_str(enum hsdo_creds_service svc);

#endif
