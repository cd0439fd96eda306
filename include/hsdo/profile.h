/* AWS shared files (~/.aws/credentials and ~/.aws/config): every profile,
 * and what a profile means as a way to get credentials, the way the AWS
 * SDKs read them.
 *
 * Pure: both files are given as bytes; nothing reads a file, the
 * environment or the clock. Values may be secrets: they are wiped before
 * they are freed and never copied into an error message. */
#ifndef HSDO_PROFILE_H
#define HSDO_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "hsdo/creds.h"

#define HSDO_PROFILE_NAME_MAX   128   /* a profile name, with NUL */
#define HSDO_PROFILE_ROLES_MAX  8     /* AssumeRole hops in one chain */
#define HSDO_PROFILE_WHERE_MAX  320   /* "FILE:LINE", with NUL */

/* The two shared files, parsed. */
struct hsdo_profiles;

/* What a chain of credentials starts from. */
enum hsdo_creds_base {
	HSDO_CREDS_BASE_NONE = 0,        /* the profile has no credentials of its own */
	HSDO_CREDS_BASE_STATIC,          /* aws_access_key_id + aws_secret_access_key */
	HSDO_CREDS_BASE_PROCESS,         /* credential_process */
	HSDO_CREDS_BASE_WEB_IDENTITY,    /* web_identity_token_file + role_arn, or the
					  * AWS_WEB_IDENTITY_TOKEN_FILE variables */
	HSDO_CREDS_BASE_ENV,             /* credential_source = Environment */
	HSDO_CREDS_BASE_IMDS,            /* credential_source = Ec2InstanceMetadata */
	HSDO_CREDS_BASE_ECS,             /* credential_source = EcsContainer */
	HSDO_CREDS_BASE_COUNT
};

/* One STS call: AssumeRole (signed with the credentials before it) or, for
 * the web identity base, AssumeRoleWithWebIdentity (unsigned). */
struct hsdo_creds_role {
	char *role_arn;                  /* owned */
	char *session_name;              /* owned; NULL: the default */
	char *external_id;               /* owned; NULL: none */
	int duration_s;                  /* 0: STS's default (3600) */
	char profile[HSDO_PROFILE_NAME_MAX]; /* the profile that asks for it */
};

/* How to get a profile's credentials: the base, then roles[0..nroles) in
 * order, each assumed with the credentials the step before gave. */
struct hsdo_creds_plan {
	enum hsdo_creds_base base;
	struct hsdo_creds keys;          /* STATIC */
	char *process;                   /* PROCESS: the command line, owned */
	char *token_file;                /* WEB_IDENTITY, owned */
	struct hsdo_creds_role web;      /* WEB_IDENTITY: role and session name */
	struct hsdo_creds_role roles[HSDO_PROFILE_ROLES_MAX];
	size_t nroles;
	char profile[HSDO_PROFILE_NAME_MAX];   /* the profile resolved ("" from env) */
	char region[HSDO_CREDS_REGION_MAX];    /* that profile's region, "" when none */
	char region_where[HSDO_PROFILE_WHERE_MAX]; /* "FILE:LINE" of that region */
	char where[HSDO_PROFILE_WHERE_MAX];    /* "FILE:LINE" of what chose the base */
};

/* "none", "static", "process", "web-identity", "environment", "imds", "ecs". */
const char *hsdo_creds_base_str(enum hsdo_creds_base b);

/* Parse both files (NULL with length 0: that file is absent). cred_name and
 * conf_name label positions ("FILE:LINE"). 0 with *out (hsdo_profiles_free),
 * or -HSDO_EPROTO "FILE: line N: ..." (syntax, a bad value), -HSDO_ETOOBIG,
 * -HSDO_ENOMEM. ~/.aws/credentials sections are "[name]"; ~/.aws/config
 * ones "[profile name]" or "[default]" (others are not profiles). */
int hsdo_profiles_parse(const char *cred, size_t cred_len, const char *cred_name,
			const char *conf, size_t conf_len, const char *conf_name,
			struct hsdo_profiles **out, char *err, size_t errlen);
void hsdo_profiles_free(struct hsdo_profiles *p);

/* Whether either file has a section for profile. */
bool hsdo_profiles_has(const struct hsdo_profiles *p, const char *profile);

/* The value of key ("region", "role_arn"...) in profile, borrowed, or NULL;
 * the credentials file wins over the config file, a later line over an
 * earlier one; "region" is read from the config file only. where (may be
 * NULL) gets "FILE:LINE". */
const char *hsdo_profiles_get(const struct hsdo_profiles *p, const char *profile,
			      const char *key, char *where, size_t wherelen);

/* Resolve profile into *plan, following source_profile links (cycles and
 * chains longer than HSDO_PROFILE_ROLES_MAX are errors). A profile with
 * role_arn and source_profile or credential_source is an AssumeRole on top
 * of its source (a source profile's own keys win over its role_arn, as in
 * the SDKs); otherwise keys, then web_identity_token_file + role_arn, then
 * credential_process; none of them is base NONE. -HSDO_ENOTFOUND when the
 * profile is in neither file; -HSDO_EPROTO naming the profile and the line
 * for a profile that cannot work (half a key pair, an unknown
 * credential_source, SSO, mfa_serial...). plan is freed on failure. */
int hsdo_profiles_resolve(const struct hsdo_profiles *p, const char *profile,
			  struct hsdo_creds_plan *plan, char *err, size_t errlen);

/* The web identity of AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
 * (+ AWS_ROLE_SESSION_NAME) in envp, as a plan. -HSDO_ENOTFOUND when
 * neither is set, -HSDO_EINVAL naming the missing one when only one is. */
int hsdo_creds_plan_from_env(char *const *envp, struct hsdo_creds_plan *plan, char *err,
			     size_t errlen);

/* Wipe and free what a plan owns and zero it; NULL is a no-op. */
void hsdo_creds_plan_free(struct hsdo_creds_plan *plan);

#endif
