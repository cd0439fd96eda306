/* The AWS client's credential chain and region (see aws.h), the I/O side
 * of creds.c and profile.c.
 *
 * Resolution (at hsdo_aws_new): environment keys; web identity from the
 * environment; the profile of the shared files (keys, role_arn with
 * source_profile or credential_source, web_identity_token_file,
 * credential_process); container credentials; IMDSv2. Region: AWS_REGION,
 * AWS_DEFAULT_REGION, the profile's, the instance's (IMDS), then the
 * configuration's.
 *
 * What is not static is fetched by one fetcher, a small state machine run
 * by fetch_step(): the region from IMDS when needed, then the base
 * credentials (IMDS, container, credential_process, web identity) when
 * they are missing or due, then every AssumeRole of the plan, each signed
 * with the credentials before it. A credential_process child is polled
 * (a non-blocking pipe and waitpid(WNOHANG)) on delayed calls, so the
 * event loop never waits for it; a blocking transport waits in poll(2). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hsdo/alloc.h"
#include "hsdo/aws.h"
#include "hsdo/aws_query.h"
#include "hsdo/clock.h"
#include "hsdo/creds.h"
#include "hsdo/err.h"
#include "hsdo/file.h"
#include "hsdo/http.h"
#include "hsdo/log.h"
#include "hsdo/profile.h"
#include "aws_int.h"
#include "env.h"

extern char **environ;

#define META_TIMEOUT_MS    1000L        /* IMDS and ECS: connect and total */
#define META_BODY_MAX      ((size_t)64 << 10)
#define IMDS_TOKEN_TTL_S   21600
#define IMDS_DEFAULT       "http://169.254.169.254"
#define IMDS_DEFAULT_V6    "http://[fd00:ec2::254]"
#define ECS_HOST           "http://169.254.170.2"
#define IMDS_CREDS_PATH    "/latest/meta-data/iam/security-credentials/"
#define IMDS_REGION_PATH   "/latest/meta-data/placement/region"
#define STS_TIMEOUT_MS     10000L
#define FETCH_SPACING_S    10           /* background refreshes after a failure */
#define PROC_POLL_MS       20

/* ---- files --------------------------------------------------------------------- */

/* Read a whole (small) file; -HSDO_ENOTFOUND when it does not exist, else
 * -HSDO_ECONFIG for any file that cannot be read (hsdo/file.h: never blocks
 * on a FIFO: token files are read at each use, on the agent's loop). The
 * buffer may hold secrets: free it with hsdo_freezero(buf, len + 1). */
static int read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	int rc = hsdo_file_read(path, HSDO_CREDS_FILE_MAX, buf, len, NULL, err, errlen);

	if (rc == -HSDO_EIO || rc == -HSDO_ETOOBIG)
		rc = -HSDO_ECONFIG;
	return rc;
}

/* A one-line token file (web identity, container authorization), read at
 * each use since both are rotated under us. Heap, wipe it. */
static char *token_from_file(const char *path, char *err, size_t errlen)
{
	char *buf, *t;
	size_t len;
	int rc = read_file(path, &buf, &len, err, errlen);

	if (rc == -HSDO_ENOTFOUND)
		hsdo_seterr(err, errlen, rc, "%s: no such file", path);
	if (rc != 0)
		return NULL;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
		len--;
	t = len > 0 && memchr(buf, '\n', len) == NULL && memchr(buf, '\r', len) == NULL ?
	    hsdo_strndup(buf, len) : NULL;
	if (t == NULL)
		hsdo_seterr(err, errlen, -HSDO_ECONFIG, "%s: empty or multi-line token", path);
	hsdo_freezero(buf, len + 1);
	return t;
}

/* ---- resolution ------------------------------------------------------------------- */

/* AWS_CONTAINER_CREDENTIALS_FULL_URI: https anywhere, http only to a
 * loopback or container-agent address (what the SDKs allow). */
static bool full_uri_allowed(const char *u)
{
	static const char *const hosts[] = {
		"127.", "localhost", "[::1]", "169.254.170.2", "169.254.170.23", "[fd00:ec2::23]",
	};
	const char *h;
	size_t i;

	if (strncasecmp(u, "https://", 8) == 0)
		return u[8] != '\0';
	if (strncasecmp(u, "http://", 7) != 0)
		return false;
	h = u + 7;
	for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		size_t n = strlen(hosts[i]);

		if (strncasecmp(h, hosts[i], n) == 0 &&
		    (hosts[i][n - 1] == '.' || h[n] == '\0' || h[n] == ':' || h[n] == '/'))
			return true;
	}
	return false;
}

/* Container credentials: -HSDO_ENOTFOUND when the environment names none. */
static int setup_ecs(struct hsdo_aws *a, char *const *envp, char *err, size_t errlen)
{
	const char *rel = hsdo_env_get(envp, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = hsdo_env_get(envp, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *tok = hsdo_env_get(envp, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
	const char *tokf = hsdo_env_get(envp, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");

	if (rel == NULL && full == NULL)
		return -HSDO_ENOTFOUND;
	if (rel != NULL) {
		if (rel[0] != '/' || strpbrk(rel, " \r\n") != NULL)
			return hsdo_seterr(err, errlen, -HSDO_ECONFIG,
					   "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with /");
		a->ecs_url = hsdo_strdup_printf("%s%s", ECS_HOST, rel);
	} else {
		if (!full_uri_allowed(full) || strpbrk(full, " \r\n") != NULL)
			return hsdo_seterr(err, errlen, -HSDO_ECONFIG,
					   "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http "
					   "to a loopback or container-agent address");
		a->ecs_url = hsdo_strdup(full);
	}
	if (a->ecs_url == NULL || (tok != NULL && (a->ecs_token = hsdo_strdup(tok)) == NULL) ||
	    (tok == NULL && tokf != NULL && (a->ecs_token_file = hsdo_strdup(tokf)) == NULL))
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	if (a->ecs_token != NULL && strpbrk(a->ecs_token, "\r\n") != NULL)
		return hsdo_seterr(err, errlen, -HSDO_ECONFIG,
				   "AWS_CONTAINER_AUTHORIZATION_TOKEN has a line break");
	return 0;
}

/* Instance metadata's base URL, unless AWS_EC2_METADATA_DISABLED=true. */
static int setup_imds(struct hsdo_aws *a, char *const *envp, char *err, size_t errlen)
{
	const char *dis = hsdo_env_get(envp, "AWS_EC2_METADATA_DISABLED");
	const char *ep = hsdo_env_get(envp, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *mode = hsdo_env_get(envp, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	size_t n;

	if (dis != NULL && strcasecmp(dis, "true") == 0)
		return 0;
	if (ep == NULL)
		ep = mode != NULL && strcasecmp(mode, "IPv6") == 0 ? IMDS_DEFAULT_V6 : IMDS_DEFAULT;
	if ((strncasecmp(ep, "http://", 7) != 0 && strncasecmp(ep, "https://", 8) != 0) ||
	    strpbrk(ep, " \r\n?#") != NULL)
		return hsdo_seterr(err, errlen, -HSDO_ECONFIG,
				   "AWS_EC2_METADATA_SERVICE_ENDPOINT must be an http(s) URL");
	a->imds_base = hsdo_strdup(ep);
	if (a->imds_base == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	n = strlen(a->imds_base);
	while (n > 0 && a->imds_base[n - 1] == '/')
		a->imds_base[--n] = '\0';
	return 0;
}

/* Both shared files, parsed (either may be absent: then *out has nothing
 * from it). */
static int shared_files(char *const *envp, struct hsdo_profiles **out, char *err,
			size_t errlen)
{
	const char *home = hsdo_env_get(envp, "HOME");
	const char *cpath = hsdo_env_get(envp, "AWS_SHARED_CREDENTIALS_FILE");
	const char *gpath = hsdo_env_get(envp, "AWS_CONFIG_FILE");
	char *cdef = NULL, *gdef = NULL, *cbuf = NULL, *gbuf = NULL;
	size_t clen = 0, glen = 0;
	int rc = 0;

	*out = NULL;
	if ((cpath == NULL && home != NULL &&
	     (cpath = cdef = hsdo_strdup_printf("%s/.aws/credentials", home)) == NULL) ||
	    (gpath == NULL && home != NULL &&
	     (gpath = gdef = hsdo_strdup_printf("%s/.aws/config", home)) == NULL)) {
		rc = hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
		goto out;
	}
	if (cpath != NULL && (rc = read_file(cpath, &cbuf, &clen, err, errlen)) != 0 &&
	    rc != -HSDO_ENOTFOUND)
		goto out;
	if (gpath != NULL && (rc = read_file(gpath, &gbuf, &glen, err, errlen)) != 0 &&
	    rc != -HSDO_ENOTFOUND)
		goto out;
	rc = hsdo_profiles_parse(cbuf, clen, cpath != NULL ? cpath : "(no credentials file)",
				 gbuf, glen, gpath != NULL ? gpath : "(no config file)", out, err,
				 errlen);
	if (rc != 0 && rc != -HSDO_ENOMEM)
		rc = -HSDO_ECONFIG;
out:
	if (cbuf != NULL)
		hsdo_freezero(cbuf, clen + 1);
	if (gbuf != NULL)
		hsdo_freezero(gbuf, glen + 1);
	hsdo_free(cdef);
	hsdo_free(gdef);
	return rc;
}

static void chain_add(struct hsdo_aws *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void chain_add(struct hsdo_aws *a, const char *fmt, ...)
{
	size_t used = strlen(a->chain);
	va_list ap;

	if (used >= sizeof(a->chain) - 1)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(a->chain + used, sizeof(a->chain) - used, fmt, ap);
	va_end(ap);
}

/* The base of a plan from the files or the environment: what it needs at
 * hand (keys, a container URL, instance metadata). */
static int setup_base(struct hsdo_aws *a, char *const *envp, char *err, size_t errlen)
{
	struct hsdo_creds_plan *p = &a->plan;
	int rc;

	switch (p->base) {
	case HSDO_CREDS_BASE_STATIC:
		a->basec = p->keys;
		memset(&p->keys, 0, sizeof(p->keys));
		chain_add(a, "keys (%s)", p->where);
		return 0;
	case HSDO_CREDS_BASE_ENV:
		rc = hsdo_creds_from_env(envp, &a->basec, err, errlen);
		if (rc == -HSDO_ENOTFOUND)
			return hsdo_seterr(err, errlen, -HSDO_ECONFIG, "%s: credential_source "
					   "Environment, but AWS_ACCESS_KEY_ID and "
					   "AWS_SECRET_ACCESS_KEY are not set", p->where);
		chain_add(a, "environment keys (credential_source, %s)", p->where);
		return rc == 0 ? 0 : rc == -HSDO_ENOMEM ? rc : -HSDO_ECONFIG;
	case HSDO_CREDS_BASE_ECS:
		rc = setup_ecs(a, envp, err, errlen);
		if (rc == -HSDO_ENOTFOUND)
			return hsdo_seterr(err, errlen, -HSDO_ECONFIG, "%s: credential_source "
					   "EcsContainer, but AWS_CONTAINER_CREDENTIALS_RELATIVE_URI "
					   "and _FULL_URI are not set", p->where);
		chain_add(a, "container credentials (%s)", a->ecs_url != NULL ? a->ecs_url : "");
		return rc;
	case HSDO_CREDS_BASE_IMDS:
		if (a->imds_base == NULL)
			return hsdo_seterr(err, errlen, -HSDO_ECONFIG, "%s: credential_source "
					   "Ec2InstanceMetadata, but AWS_EC2_METADATA_DISABLED is true",
					   p->where);
		chain_add(a, "instance metadata (%s)", a->imds_base);
		return 0;
	case HSDO_CREDS_BASE_PROCESS:
		chain_add(a, "credential_process (%s)", p->where);
		return 0;
	case HSDO_CREDS_BASE_WEB_IDENTITY:
		chain_add(a, "AssumeRoleWithWebIdentity %s, token file %s (%s)", p->web.role_arn,
			  p->token_file, p->where);
		return 0;
	default:
		return hsdo_seterr(err, errlen, -HSDO_ECONFIG, "no credentials");
	}
}

/* The profile's plan into a->plan: 1 when it gives credentials (static
 * keys land in a->creds), 0 when it has none of its own. */
static int from_profile(struct hsdo_aws *a, struct hsdo_profiles *profiles, const char *profile,
			char *err, size_t errlen)
{
	char perr[AWS_ERR_LEN];
	int rc;

	rc = hsdo_profiles_resolve(profiles, profile, &a->plan, perr, sizeof(perr));
	if (rc != 0)
		return hsdo_seterr(err, errlen, rc == -HSDO_ENOMEM ? rc : -HSDO_ECONFIG, "%s", perr);
	if (a->plan.base == HSDO_CREDS_BASE_NONE) {
		hsdo_creds_plan_free(&a->plan);
		return 0;
	}
	if (a->plan.base == HSDO_CREDS_BASE_STATIC && a->plan.nroles == 0) {
		a->creds = a->plan.keys;
		memset(&a->plan.keys, 0, sizeof(a->plan.keys));
		snprintf(a->source, sizeof(a->source), "%s", a->creds.source);
		snprintf(a->chain, sizeof(a->chain), "profile %s: keys (%s)", profile, a->plan.where);
		return 1;
	}
	chain_add(a, "profile %s: ", profile);
	return 1;
}

/* Where the credentials come from, into a->creds (static) or a->plan
 * (fetched): a profile named by AWS_PROFILE first (as the JavaScript and
 * Go SDKs do: it may take the environment's keys as its
 * credential_source), then the environment's keys, the environment's web
 * identity, the default profile, the container, instance metadata. */
static int resolve_creds(struct hsdo_aws *a, char *const *envp, struct hsdo_profiles *profiles,
			 const char *profile, bool explicit_profile, char *err, size_t errlen)
{
	size_t i;
	int rc = 0;

	if (explicit_profile && (rc = from_profile(a, profiles, profile, err, errlen)) < 0)
		return rc;
	if (rc == 1 && hsdo_env_get(envp, "AWS_ACCESS_KEY_ID") != NULL &&
	    a->plan.base != HSDO_CREDS_BASE_ENV)
		hsdo_log_warn("aws: both AWS_PROFILE and AWS_ACCESS_KEY_ID are set: using profile "
			      "%s", profile);
	if (rc == 0) {
		rc = hsdo_creds_from_env(envp, &a->creds, err, errlen);
		if (rc == 0) {
			snprintf(a->source, sizeof(a->source), "env");
			snprintf(a->chain, sizeof(a->chain), "environment (AWS_ACCESS_KEY_ID)");
			return 0;
		}
		if (rc != -HSDO_ENOTFOUND)
			return rc == -HSDO_ENOMEM ? rc : -HSDO_ECONFIG;
		rc = hsdo_creds_plan_from_env(envp, &a->plan, err, errlen);
		if (rc == -HSDO_EINVAL || rc == -HSDO_ENOMEM)
			return rc == -HSDO_ENOMEM ? rc : -HSDO_ECONFIG;
		rc = rc == 0;
	}
	if (rc == 0 && !explicit_profile && hsdo_profiles_has(profiles, profile) &&
	    (rc = from_profile(a, profiles, profile, err, errlen)) < 0)
		return rc;
	if (a->creds.access_key_id != NULL)
		return 0;
	if (rc == 0) {
		/* Nothing static: the container's or the instance's. */
		rc = setup_ecs(a, envp, err, errlen);
		if (rc == 0)
			a->plan.base = HSDO_CREDS_BASE_ECS;
		else if (rc != -HSDO_ENOTFOUND)
			return rc;
		else if (a->imds_base != NULL)
			a->plan.base = HSDO_CREDS_BASE_IMDS;
		else
			return hsdo_seterr(err, errlen, -HSDO_ECONFIG,
					   "no AWS credentials: none in the environment, no web "
					   "identity, none in the shared files for profile %s, no "
					   "container credentials, and instance metadata is disabled "
					   "(AWS_EC2_METADATA_DISABLED)", profile);
		if (a->plan.base == HSDO_CREDS_BASE_ECS)
			chain_add(a, "container credentials (%s)", a->ecs_url);
		else
			chain_add(a, "instance metadata (%s)", a->imds_base);
	} else if ((rc = setup_base(a, envp, err, errlen)) != 0) {
		return rc;
	}
	for (i = 0; i < a->plan.nroles; i++)
		chain_add(a, ", then AssumeRole %s (profile %s)", a->plan.roles[i].role_arn,
			  a->plan.roles[i].profile);
	a->dynamic = true;
	return 0;
}

/* The endpoints, once the region is known (overrides were kept from the
 * environment at resolution). */
static int setup_endpoints(struct hsdo_aws *a, char *err, size_t errlen)
{
	char *envp[HSDO_CREDS_SVC_COUNT + 2];
	size_t n = 0;
	char *url;
	int s, rc;

	for (s = 0; s < HSDO_CREDS_SVC_COUNT + 1; s++)
		if (a->endpoint_env[s] != NULL)
			envp[n++] = a->endpoint_env[s];
	envp[n] = NULL;
	for (s = 0; s < HSDO_CREDS_SVC_COUNT; s++) {
		hsdo_aws_endpoint_free(&a->ep[s]);
		rc = hsdo_creds_endpoint(envp, (enum hsdo_creds_service)s, a->region, &url, err,
					 errlen);
		if (rc != 0)
			return rc == -HSDO_ENOMEM ? rc : -HSDO_ECONFIG;
		rc = hsdo_aws_endpoint_set(&a->ep[s], url, err, errlen);
		hsdo_free(url);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Keep AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> for setup_endpoints. */
static int keep_endpoint_env(struct hsdo_aws *a, char *const *envp, char *err, size_t errlen)
{
	static const char *const names[HSDO_CREDS_SVC_COUNT + 1] = {
		"AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL_AUTO_SCALING",
		"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL",
	};
	const char *v;
	int s;

	_Static_assert(HSDO_CREDS_SVC_COUNT == 4, "one override name per service");
	for (s = 0; s < HSDO_CREDS_SVC_COUNT + 1; s++) {
		if ((v = hsdo_env_get(envp, names[s])) == NULL)
			continue;
		a->endpoint_env[s] = hsdo_strdup_printf("%s=%s", names[s], v);
		if (a->endpoint_env[s] == NULL)
			return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	}
	return 0;
}

static int resolve_region(struct hsdo_aws *a, char *const *envp, struct hsdo_profiles *profiles,
			  const char *profile, char *err, size_t errlen)
{
	char where[HSDO_PROFILE_WHERE_MAX] = "";
	const char *pr = profiles != NULL ? hsdo_profiles_get(profiles, profile, "region", where,
								sizeof(where)) : NULL;
	int rc;

	rc = hsdo_creds_region(envp, pr, a->region, sizeof(a->region), &a->region_src, err,
			       errlen);
	if (rc == 0) {
		if (a->region_src == HSDO_CREDS_REGION_PROFILE)
			snprintf(a->region_where, sizeof(a->region_where), "profile %.100s, %.200s",
				 profile, where);
		return 0;
	}
	if (rc != -HSDO_ENOTFOUND)
		return rc == -HSDO_ENOMEM ? rc : -HSDO_ECONFIG;
	if (a->imds_base != NULL) {
		a->region_pending = true;
		return 0;
	}
	if (a->fallback_region[0] != '\0') {
		snprintf(a->region, sizeof(a->region), "%s", a->fallback_region);
		a->region_src = HSDO_CREDS_REGION_CONFIG;
		return 0;
	}
	return hsdo_seterr(err, errlen, -HSDO_ECONFIG,
			   "no AWS region: set AWS_REGION, a region in the profile, or the "
			   "configuration's AWS_DEFAULT_REGION");
}

static void fetch_start(struct hsdo_aws *a, bool region_only);

int hsdo_aws_creds_resolve(struct hsdo_aws *a, char *const *envp, char *err, size_t errlen)
{
	const char *profile_env = hsdo_env_get(envp, "AWS_PROFILE");
	const char *profile = profile_env != NULL ? profile_env : "default";
	struct hsdo_profiles *profiles = NULL;
	int rc;

	a->proc_fd = -1;
	if (a->opt.region != NULL && hsdo_creds_region_valid(a->opt.region, strlen(a->opt.region)))
		snprintf(a->fallback_region, sizeof(a->fallback_region), "%s", a->opt.region);
	if ((rc = shared_files(envp, &profiles, err, errlen)) != 0)
		return rc;
	if (profile_env != NULL && !hsdo_profiles_has(profiles, profile)) {
		rc = hsdo_seterr(err, errlen, -HSDO_ECONFIG,
				 "AWS_PROFILE %s: no such profile in the shared files", profile);
		goto out;
	}
	if ((rc = setup_imds(a, envp, err, errlen)) != 0 ||
	    (rc = resolve_creds(a, envp, profiles, profile, profile_env != NULL, err,
				errlen)) != 0 ||
	    (rc = resolve_region(a, envp, profiles, profile, err, errlen)) != 0 ||
	    (rc = keep_endpoint_env(a, envp, err, errlen)) != 0)
		goto out;
	if (!a->region_pending)
		rc = setup_endpoints(a, err, errlen);
	else if (hsdo_http_blocking(a->http)) {
		/* tools and --check-config learn the region now */
		fetch_start(a, true);
		if (a->region_pending)
			rc = hsdo_seterr(err, errlen, -HSDO_ECONFIG, "%s", a->fetch_err);
	}
out:
	hsdo_profiles_free(profiles);
	return rc;
}

void hsdo_aws_creds_release(struct hsdo_aws *a)
{
	int st;

	if (a->proc_pid > 0) {
		kill(a->proc_pid, SIGKILL);
		while (waitpid(a->proc_pid, &st, 0) < 0 && errno == EINTR)
			;
		a->proc_pid = 0;
	}
	if (a->proc_fd >= 0)
		close(a->proc_fd);
	a->proc_fd = -1;
	if (a->proc_out != NULL)
		hsdo_freezero(a->proc_out, a->proc_len);
	a->proc_out = NULL;
	hsdo_creds_plan_free(&a->plan);
	hsdo_creds_free(&a->basec);
	hsdo_creds_free(&a->stepc);
	hsdo_free(a->ecs_url);
	if (a->ecs_token != NULL)
		hsdo_freezero(a->ecs_token, strlen(a->ecs_token));
	hsdo_free(a->ecs_token_file);
	hsdo_free(a->imds_base);
	if (a->imds_token != NULL)
		hsdo_freezero(a->imds_token, strlen(a->imds_token));
	a->ecs_url = a->ecs_token = a->ecs_token_file = a->imds_base = a->imds_token = NULL;
}

/* ---- the fetcher --------------------------------------------------------------------- */

static void fetch_step(struct hsdo_aws *a);

static const char *step_name(enum aws_fetch_step s)
{
	switch (s) {
	case F_TOKEN: return "instance metadata token";
	case F_REGION: return "instance metadata region";
	case F_ROLE: return "instance metadata role";
	case F_CREDS: return "instance metadata credentials";
	case F_ECS: return "container credentials";
	case F_PROCESS: return "credential_process";
	case F_WEB: return "sts AssumeRoleWithWebIdentity";
	case F_ASSUME: return "sts AssumeRole";
	default: return "credentials";
	}
}

static void on_refresh_timer(void *arg);

static void schedule_refresh(struct hsdo_aws *a)
{
	int64_t now = hsdo_aws_now(a), due;

	if (hsdo_http_blocking(a->http) || a->timer_pending || a->creds.expiration_s == 0)
		return;
	due = a->creds.expiration_s - HSDO_CREDS_REFRESH_S;
	if (due <= now)
		due = now + (a->creds.expiration_s - now) / 2;
	if (due <= now)
		return;
	if (hsdo_http_after(a->http, (long)((due - now) * 1000), on_refresh_timer, a) == 0)
		a->timer_pending = true;
}

/* The fetch is over: install or report, then resume every waiter. */
static void fetch_done(struct hsdo_aws *a, int rc, const char *err)
{
	int64_t now = hsdo_aws_now(a);

	a->fetching = false;
	a->fstep = F_IDLE;
	a->fetch_not_before = now + FETCH_SPACING_S;
	if (rc == 0) {
		a->fetch_err[0] = '\0';
		if (!a->region_only) {
			if (a->creds.expiration_s != 0 && now >= a->creds.expiration_s) {
				/* fetching again would loop: the clock is off */
				rc = -HSDO_ECONFIG;
				snprintf(a->fetch_err, sizeof(a->fetch_err),
					 "%s credentials expired at %" PRId64 ", before now (%" PRId64
					 "): is the clock right?", a->source, a->creds.expiration_s,
					 now);
				hsdo_log_warn("aws: %s", a->fetch_err);
			}
			hsdo_log_debug("aws: credentials from %s, expiring at %" PRId64, a->source,
				       a->creds.expiration_s);
			schedule_refresh(a);
		}
	} else {
		snprintf(a->fetch_err, sizeof(a->fetch_err), "%s", err);
		hsdo_aws_redact(a, a->fetch_err, sizeof(a->fetch_err));
		hsdo_log_warn("aws: no credentials: %s", a->fetch_err);
	}
	a->region_only = false;
	hsdo_aws_fetched(a, rc, a->fetch_err);
}

static void fail(struct hsdo_aws *a, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct hsdo_aws *a, int rc, const char *fmt, ...)
{
	char msg[AWS_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fetch_done(a, rc, msg);
}

static bool role_valid(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n >= AWS_ROLE_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("+=,.@_-", c) != NULL))
			return false;
	}
	return true;
}

/* A fresh base: install it and go on. */
static void base_fetched(struct hsdo_aws *a, struct hsdo_creds *fresh)
{
	hsdo_creds_free(&a->basec);
	a->basec = *fresh;
	memset(fresh, 0, sizeof(*fresh));
	a->base_done = true;
	fetch_step(a);
}

static void region_fetched(struct hsdo_aws *a, const char *region, const char *why)
{
	char err[AWS_ERR_LEN];

	if (region != NULL) {
		snprintf(a->region, sizeof(a->region), "%s", region);
		a->region_src = HSDO_CREDS_REGION_IMDS;
	} else if (a->fallback_region[0] != '\0') {
		hsdo_log_info("aws: no region from instance metadata (%s): using the "
			      "configuration's %s", why, a->fallback_region);
		snprintf(a->region, sizeof(a->region), "%s", a->fallback_region);
		a->region_src = HSDO_CREDS_REGION_CONFIG;
	} else {
		fail(a, -HSDO_ECONFIG, "no AWS region: not in the environment, the profile or the "
		     "configuration, and none from instance metadata (%s)", why);
		return;
	}
	a->region_pending = false;
	if (setup_endpoints(a, err, sizeof(err)) != 0) {
		a->region_pending = true;
		fail(a, -HSDO_ECONFIG, "%s", err);
		return;
	}
	fetch_step(a);
}

static void sts_reply(struct hsdo_aws *a, const struct hsdo_http_response *resp)
{
	const struct hsdo_creds_role *r = a->fstep == F_WEB ? &a->plan.web :
					  &a->plan.roles[a->role_i];
	struct hsdo_creds fresh;
	char perr[AWS_ERR_LEN];
	int rc;

	memset(&fresh, 0, sizeof(fresh));
	rc = hsdo_sts_parse_credentials(resp->body, resp->len, a->fstep == F_WEB, &fresh, perr,
					sizeof(perr));
	if (rc == 0 && resp->status != 200)
		rc = hsdo_seterr(perr, sizeof(perr), -HSDO_EAWS, "HTTP %ld", resp->status);
	if (rc != 0) {
		hsdo_creds_free(&fresh);
		if (resp->status != 200 && rc == -HSDO_EPROTO)
			snprintf(perr, sizeof(perr), "HTTP %ld", resp->status);
		fail(a, rc == -HSDO_ENOMEM ? rc : -HSDO_ECONFIG, "%s %s: %s%s%s",
		     step_name(a->fstep), r->role_arn, perr,
		     resp->request_id[0] ? ", request id " : "", resp->request_id);
		return;
	}
	if (a->fstep == F_WEB) {
		snprintf(fresh.source, sizeof(fresh.source), "web-identity");
		base_fetched(a, &fresh);
		return;
	}
	snprintf(fresh.source, sizeof(fresh.source), "assume-role");
	hsdo_creds_free(&a->stepc);
	a->stepc = fresh;
	a->role_i++;
	fetch_step(a);
}

static void on_fetch_done(void *arg, int rc, const struct hsdo_http_response *resp,
			  const char *herr)
{
	struct hsdo_aws *a = arg;
	struct hsdo_creds fresh;
	char perr[256];
	size_t n;

	if (rc != 0) {
		if (a->fstep == F_REGION || (a->region_pending && a->fstep == F_TOKEN)) {
			region_fetched(a, NULL, herr);
			return;
		}
		fail(a, rc == -HSDO_ENOMEM ? rc : -HSDO_EHTTP, "%s: %s", step_name(a->fstep), herr);
		return;
	}
	if (resp->status == 401 && a->imds_base != NULL &&
	    (a->fstep == F_ROLE || a->fstep == F_CREDS || a->fstep == F_REGION) &&
	    !a->imds_retried) {
		/* the session token expired (or the instance restarted) */
		a->imds_retried = true;
		if (a->imds_token != NULL)
			hsdo_freezero(a->imds_token, strlen(a->imds_token));
		a->imds_token = NULL;
		fetch_step(a);
		return;
	}
	if (a->fstep == F_WEB || a->fstep == F_ASSUME) {
		sts_reply(a, resp);
		return;
	}
	if (resp->status != 200) {
		snprintf(perr, sizeof(perr), "HTTP %ld", resp->status);
		if (a->fstep == F_REGION || (a->region_pending && a->fstep == F_TOKEN))
			region_fetched(a, NULL, perr);
		else
			fail(a, -HSDO_EHTTP, "%s: %s", step_name(a->fstep), perr);
		return;
	}
	switch (a->fstep) {
	case F_TOKEN:
		n = resp->len;
		while (n > 0 && (resp->body[n - 1] == '\n' || resp->body[n - 1] == '\r'))
			n--;
		if (n == 0 || n > 4096 || memchr(resp->body, '\n', n) != NULL ||
		    memchr(resp->body, '\r', n) != NULL || memchr(resp->body, '\0', n) != NULL) {
			fail(a, -HSDO_EPROTO, "instance metadata token: malformed");
			return;
		}
		if (a->imds_token != NULL)
			hsdo_freezero(a->imds_token, strlen(a->imds_token));
		a->imds_token = hsdo_strndup(resp->body, n);
		if (a->imds_token == NULL) {
			fail(a, -HSDO_ENOMEM, "out of memory");
			return;
		}
		a->imds_token_exp = hsdo_aws_now(a) + IMDS_TOKEN_TTL_S - 60;
		fetch_step(a);
		return;
	case F_REGION:
		n = strcspn(resp->body, "\r\n");
		if (n > resp->len)
			n = resp->len;
		snprintf(perr, sizeof(perr), "%.*s", (int)n, resp->body);
		region_fetched(a, hsdo_creds_region_valid(perr, strlen(perr)) ? perr : NULL,
			       "not a region name");
		return;
	case F_ROLE:
		n = strcspn(resp->body, "\r\n");
		if (n > resp->len)
			n = resp->len;
		if (!role_valid(resp->body, n)) {
			fail(a, -HSDO_EPROTO, "instance metadata: no valid IAM role (is an "
			     "instance profile attached?)");
			return;
		}
		memcpy(a->imds_role, resp->body, n);
		a->imds_role[n] = '\0';
		fetch_step(a);
		return;
	case F_CREDS:
	case F_ECS:
		memset(&fresh, 0, sizeof(fresh));
		rc = hsdo_creds_parse_json(resp->body, resp->len, a->fstep == F_ECS ? "ecs" : "imds",
					   &fresh, perr, sizeof(perr));
		if (rc != 0) {
			fail(a, rc, "%s: %s", step_name(a->fstep), perr);
			return;
		}
		base_fetched(a, &fresh);
		return;
	default:
		break;
	}
	fail(a, -HSDO_EPROTO, "credential fetch in a bad state");
}

static void submit(struct hsdo_aws *a, struct hsdo_http_request *r)
{
	int rc = hsdo_http_submit(a->http, r, on_fetch_done, a);

	if (rc != 0)
		fail(a, rc, "%s: cannot submit: %s", step_name(a->fstep), hsdo_strerror(rc));
}

/* An instance metadata or container request for the current step. */
static void meta_request(struct hsdo_aws *a)
{
	struct hsdo_http_request r;
	char *url = NULL, *h0 = NULL, *ftok = NULL;
	char err[AWS_ERR_LEN];

	memset(&r, 0, sizeof(r));
	r.method = "GET";
	r.connect_timeout_ms = META_TIMEOUT_MS;
	r.timeout_ms = META_TIMEOUT_MS;
	r.max_body = META_BODY_MAX;
	if (a->fstep == F_TOKEN) {
		r.method = "PUT";
		url = hsdo_strdup_printf("%s/latest/api/token", a->imds_base);
		h0 = hsdo_strdup_printf("X-aws-ec2-metadata-token-ttl-seconds: %d", IMDS_TOKEN_TTL_S);
	} else if (a->fstep != F_ECS) {
		url = a->fstep == F_REGION ?
		      hsdo_strdup_printf("%s" IMDS_REGION_PATH, a->imds_base) :
		      hsdo_strdup_printf("%s" IMDS_CREDS_PATH "%s", a->imds_base,
					 a->fstep == F_CREDS ? a->imds_role : "");
		h0 = hsdo_strdup_printf("X-aws-ec2-metadata-token: %s", a->imds_token);
	} else {
		r.timeout_ms = 2 * META_TIMEOUT_MS;
		url = hsdo_strdup(a->ecs_url);
		if (a->ecs_token_file != NULL &&
		    (ftok = token_from_file(a->ecs_token_file, err, sizeof(err))) == NULL) {
			hsdo_free(url);
			fail(a, -HSDO_ECONFIG, "%s", err);
			return;
		}
		if (a->ecs_token != NULL || ftok != NULL) {
			h0 = hsdo_strdup_printf("Authorization: %s", ftok != NULL ? ftok : a->ecs_token);
			if (h0 == NULL)
				url = (hsdo_free(url), NULL);
		} else {
			h0 = hsdo_strdup("Accept: application/json");
		}
		if (ftok != NULL)
			hsdo_freezero(ftok, strlen(ftok));
	}
	if (url == NULL || h0 == NULL) {
		hsdo_free(url);
		if (h0 != NULL)
			hsdo_freezero(h0, strlen(h0));
		fail(a, -HSDO_ENOMEM, "out of memory");
		return;
	}
	r.url = url;
	r.headers[0] = h0;
	submit(a, &r);
	hsdo_free(url);
	hsdo_freezero(h0, strlen(h0));
}

static void default_session(const struct hsdo_aws *a, char *buf, size_t len)
{
	snprintf(buf, len, "hsdo-agent-%" PRId64, hsdo_aws_now(a));
}

/* AssumeRoleWithWebIdentity (unsigned) or AssumeRole (signed with the
 * credentials before it) to the STS endpoint. */
static void sts_request(struct hsdo_aws *a)
{
	const struct hsdo_creds_role *r = a->fstep == F_WEB ? &a->plan.web :
					  &a->plan.roles[a->role_i];
	const struct aws_endpoint *ep = &a->ep[HSDO_CREDS_SVC_STS];
	struct hsdo_http_request hr;
	char *hdr[8] = { NULL };
	char session[HSDO_STS_SESSION_MAX + 1], err[AWS_ERR_LEN];
	char *body, *token = NULL;
	size_t nh = 0, i;
	int rc;

	body = hsdo_malloc(HSDO_STS_BODY_MAX);
	if (body == NULL) {
		fail(a, -HSDO_ENOMEM, "out of memory");
		return;
	}
	if (r->session_name != NULL)
		snprintf(session, sizeof(session), "%s", r->session_name);
	else
		default_session(a, session, sizeof(session));
	if (a->fstep == F_WEB) {
		token = token_from_file(a->plan.token_file, err, sizeof(err));
		rc = token == NULL ? -HSDO_ECONFIG :
		     hsdo_sts_web_identity_body(r->role_arn, session, token, body,
						HSDO_STS_BODY_MAX, err, sizeof(err));
		if (token != NULL)
			hsdo_freezero(token, strlen(token));
		if (rc >= 0 && ((hdr[0] = hsdo_strdup_printf("Host: %s", ep->host)) == NULL ||
				(hdr[1] = hsdo_strdup("Content-Type: " HSDO_AWS_QUERY_CONTENT_TYPE)) == NULL))
			rc = hsdo_seterr(err, sizeof(err), -HSDO_ENOMEM, "out of memory");
		nh = 2;
	} else {
		rc = hsdo_sts_assume_role_body(r->role_arn, session, r->external_id, r->duration_s,
					       body, HSDO_STS_BODY_MAX, err, sizeof(err));
		if (rc >= 0)
			rc = hsdo_aws_sign(a, a->role_i == 0 ? &a->basec : &a->stepc,
					   HSDO_CREDS_SVC_STS, HSDO_AWS_QUERY_CONTENT_TYPE, NULL, body,
					   strlen(body), hdr, &nh, err, sizeof(err));
	}
	if (rc < 0) {
		hsdo_freezero(body, HSDO_STS_BODY_MAX);
		for (i = 0; i < nh; i++)
			if (hdr[i] != NULL)
				hsdo_freezero(hdr[i], strlen(hdr[i]));
		fail(a, rc == -HSDO_ENOMEM ? rc : -HSDO_ECONFIG, "%s %s: %s", step_name(a->fstep),
		     r->role_arn, err);
		return;
	}
	memset(&hr, 0, sizeof(hr));
	hr.method = "POST";
	hr.url = ep->post;
	hr.body = body;
	hr.body_len = strlen(body);
	hr.timeout_ms = STS_TIMEOUT_MS;
	hr.max_body = META_BODY_MAX;
	for (i = 0; i < nh; i++)
		hr.headers[i] = hdr[i];
	submit(a, &hr);
	for (i = 0; i < nh; i++)
		hsdo_freezero(hdr[i], strlen(hdr[i]));
	hsdo_freezero(body, HSDO_STS_BODY_MAX);
}

/* ---- credential_process ---------------------------------------------------------------- */

static void proc_stop(struct hsdo_aws *a)
{
	int st;

	if (a->proc_fd >= 0)
		close(a->proc_fd);
	a->proc_fd = -1;
	if (a->proc_pid > 0) {
		kill(a->proc_pid, SIGKILL);
		while (waitpid(a->proc_pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	a->proc_pid = 0;
	if (a->proc_out != NULL)
		hsdo_freezero(a->proc_out, HSDO_CREDS_PROCESS_OUTPUT_MAX + 1);
	a->proc_out = NULL;
	a->proc_len = 0;
}

/* Run the command through /bin/sh -c (as the SDKs do), stdin from
 * /dev/null, stdout into a non-blocking pipe, stderr inherited, signal
 * dispositions and mask reset. */
static int proc_start(struct hsdo_aws *a, char *err, size_t errlen)
{
	char *argv[] = { "sh", "-c", a->plan.process, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int pfd[2], rc;

	a->proc_out = hsdo_malloc(HSDO_CREDS_PROCESS_OUTPUT_MAX + 1);
	if (a->proc_out == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	a->proc_len = 0;
	a->proc_eof = false;
	if (pipe(pfd) != 0)
		return hsdo_seterr(err, errlen, -HSDO_ECONFIG, "pipe: %s", strerror(errno));
	(void)fcntl(pfd[0], F_SETFD, FD_CLOEXEC);
	(void)fcntl(pfd[1], F_SETFD, FD_CLOEXEC);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(&a->proc_pid, "/bin/sh", &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(pfd[1]);
	if (rc != 0) {
		close(pfd[0]);
		a->proc_pid = 0;
		return hsdo_seterr(err, errlen, -HSDO_ECONFIG, "cannot start /bin/sh: %s",
				   strerror(rc));
	}
	a->proc_fd = pfd[0];
	(void)fcntl(a->proc_fd, F_SETFL, fcntl(a->proc_fd, F_GETFL) | O_NONBLOCK);
	a->proc_deadline_ms = hsdo_clock_mono_ms() + (a->opt.process_timeout_ms > 0 ?
					   a->opt.process_timeout_ms :
					   HSDO_CREDS_PROCESS_TIMEOUT_S * 1000L);
	return 0;
}

/* One look at the child: 0 while it runs, 1 when it is over (rc and err
 * set). Reads what it wrote so far, reaps it once it closed its output. */
static int proc_poll(struct hsdo_aws *a, int *rc, char *err, size_t errlen)
{
	ssize_t r;
	pid_t w;
	int st = 0;

	while (!a->proc_eof) {
		r = read(a->proc_fd, a->proc_out + a->proc_len,
			 HSDO_CREDS_PROCESS_OUTPUT_MAX + 1 - a->proc_len);
		if (r > 0) {
			a->proc_len += (size_t)r;
			if (a->proc_len > HSDO_CREDS_PROCESS_OUTPUT_MAX) {
				*rc = hsdo_seterr(err, errlen, -HSDO_ECONFIG, "output over %d bytes",
						  HSDO_CREDS_PROCESS_OUTPUT_MAX);
				return 1;
			}
			continue;
		}
		if (r == 0) {
			a->proc_eof = true;
			close(a->proc_fd);
			a->proc_fd = -1;
		} else if (errno != EINTR) {
			break;       /* EAGAIN: nothing more for now */
		}
	}
	if (a->proc_eof) {
		w = waitpid(a->proc_pid, &st, WNOHANG);
		if (w == a->proc_pid) {
			a->proc_pid = 0;
			if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
				*rc = 0;
			else if (WIFEXITED(st))
				*rc = hsdo_seterr(err, errlen, -HSDO_ECONFIG, "exited with status %d",
						  WEXITSTATUS(st));
			else
				*rc = hsdo_seterr(err, errlen, -HSDO_ECONFIG, "killed by signal %d",
						  WIFSIGNALED(st) ? WTERMSIG(st) : 0);
			return 1;
		}
		if (w < 0 && errno != EINTR) {
			a->proc_pid = 0;
			*rc = hsdo_seterr(err, errlen, -HSDO_ECONFIG, "lost its exit status (%s: "
					  "did something else reap it?)", strerror(errno));
			return 1;
		}
	}
	if (hsdo_clock_mono_ms() >= a->proc_deadline_ms) {
		*rc = hsdo_seterr(err, errlen, -HSDO_ECONFIG, "still running after %ld ms: killed",
				  a->opt.process_timeout_ms > 0 ? a->opt.process_timeout_ms :
				  HSDO_CREDS_PROCESS_TIMEOUT_S * 1000L);
		return 1;
	}
	return 0;
}

static void proc_finish(struct hsdo_aws *a, int rc, const char *perr)
{
	struct hsdo_creds fresh;
	char err[AWS_ERR_LEN];

	memset(&fresh, 0, sizeof(fresh));
	if (rc == 0)
		rc = hsdo_creds_parse_process(a->proc_out, a->proc_len, &fresh, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "%s", perr);
	proc_stop(a);
	if (rc != 0) {
		/* the output is never quoted: it may hold a secret */
		fail(a, rc == -HSDO_ENOMEM ? rc : -HSDO_ECONFIG, "credential_process (%s): %s",
		     a->plan.where, err);
		return;
	}
	base_fetched(a, &fresh);
}

static void on_proc_tick(void *arg)
{
	struct hsdo_aws *a = arg;
	char err[AWS_ERR_LEN];
	int rc;

	if (proc_poll(a, &rc, err, sizeof(err)))
		proc_finish(a, rc, err);
	else if (hsdo_http_after(a->http, PROC_POLL_MS, on_proc_tick, a) != 0)
		proc_finish(a, -HSDO_ENOMEM, "cannot schedule the next look");
}

static void proc_run(struct hsdo_aws *a)
{
	struct pollfd pfd;
	char err[AWS_ERR_LEN];
	int rc;

	if ((rc = proc_start(a, err, sizeof(err))) != 0) {
		proc_finish(a, rc, err);
		return;
	}
	if (!hsdo_http_blocking(a->http)) {
		on_proc_tick(a);
		return;
	}
	while (!proc_poll(a, &rc, err, sizeof(err))) {
		pfd.fd = a->proc_fd;
		pfd.events = POLLIN;
		(void)poll(&pfd, a->proc_fd >= 0 ? 1 : 0, PROC_POLL_MS);
	}
	proc_finish(a, rc, err);
}

/* ---- steps ------------------------------------------------------------------------ */

static bool imds_token_ok(const struct hsdo_aws *a)
{
	return a->imds_token != NULL && hsdo_aws_now(a) < a->imds_token_exp;
}

/* Decide and start what comes next; ends the fetch when nothing does. */
static void fetch_step(struct hsdo_aws *a)
{
	enum hsdo_creds_base b = a->plan.base;

	if (a->region_pending) {
		a->fstep = imds_token_ok(a) ? F_REGION : F_TOKEN;
		meta_request(a);
		return;
	}
	if (a->region_only) {
		fetch_done(a, 0, "");
		return;
	}
	/* once per fetch: a base that comes back inside the refresh window
	 * is used as it is, not fetched again and again */
	if ((b == HSDO_CREDS_BASE_IMDS || b == HSDO_CREDS_BASE_ECS ||
	     b == HSDO_CREDS_BASE_PROCESS || b == HSDO_CREDS_BASE_WEB_IDENTITY) &&
	    !a->base_done && hsdo_creds_need_refresh(&a->basec, hsdo_aws_now(a))) {
		switch (b) {
		case HSDO_CREDS_BASE_IMDS:
			a->fstep = !imds_token_ok(a) ? F_TOKEN : a->imds_role[0] == '\0' ? F_ROLE :
				   F_CREDS;
			meta_request(a);
			return;
		case HSDO_CREDS_BASE_ECS:
			a->fstep = F_ECS;
			meta_request(a);
			return;
		case HSDO_CREDS_BASE_PROCESS:
			a->fstep = F_PROCESS;
			proc_run(a);
			return;
		default:
			a->fstep = F_WEB;
			sts_request(a);
			return;
		}
	}
	if (a->role_i < a->plan.nroles) {
		a->fstep = F_ASSUME;
		sts_request(a);
		return;
	}
	hsdo_creds_free(&a->creds);
	if (a->plan.nroles > 0) {
		a->creds = a->stepc;
		memset(&a->stepc, 0, sizeof(a->stepc));
	} else if (hsdo_creds_from_strings(a->basec.access_key_id, a->basec.secret_access_key,
					   a->basec.session_token, NULL, a->basec.source, &a->creds,
					   NULL, 0) != 0) {
		fail(a, -HSDO_ENOMEM, "out of memory");
		return;
	} else {
		a->creds.expiration_s = a->basec.expiration_s;
	}
	snprintf(a->source, sizeof(a->source), "%s", a->creds.source);
	fetch_done(a, 0, "");
}

static void fetch_start(struct hsdo_aws *a, bool region_only)
{
	if (a->fetching)
		return;
	a->fetching = true;
	a->region_only = region_only;
	a->imds_retried = false;
	a->base_done = false;
	a->role_i = 0;
	fetch_step(a);
}

static void on_refresh_timer(void *arg)
{
	struct hsdo_aws *a = arg;

	a->timer_pending = false;
	fetch_start(a, false);
}

int hsdo_aws_creds_ready(struct hsdo_aws *a)
{
	int64_t now;

	if (!a->dynamic && !a->region_pending)
		return 1;
	now = hsdo_aws_now(a);
	if (!a->region_pending && a->creds.access_key_id != NULL &&
	    (a->creds.expiration_s == 0 || now < a->creds.expiration_s)) {
		if (hsdo_creds_need_refresh(&a->creds, now) && !a->fetching &&
		    now >= a->fetch_not_before)
			fetch_start(a, false);   /* in the background (inline when blocking) */
		return 1;
	}
	return 0;
}

void hsdo_aws_creds_fetch(struct hsdo_aws *a)
{
	fetch_start(a, false);
}

void hsdo_aws_creds_expire(struct hsdo_aws *a)
{
	if (!a->dynamic)
		return;
	a->creds.expiration_s = 1;
	if (a->plan.nroles == 0)
		a->basec.expiration_s = 1;
}
