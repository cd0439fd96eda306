/* Private to the AWS client: aws.c (calls, signing, retries) and
 * aws_creds.c (the credential chain and the region). */
#ifndef HSDO_AWS_INT_H
#define HSDO_AWS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hsdo/aws.h"
#include "hsdo/creds.h"
#include "hsdo/profile.h"

#define AWS_OPS_MAX        48
#define AWS_ERR_LEN        512
#define AWS_ROLE_MAX       128          /* IMDS instance-profile role name */
#define AWS_CHAIN_MAX      768          /* the chain's description */

enum aws_fetch_step {
	F_IDLE = 0,
	F_TOKEN,        /* IMDSv2 session token */
	F_REGION,       /* IMDS placement/region */
	F_ROLE,         /* IMDS instance-profile role name */
	F_CREDS,        /* IMDS credentials */
	F_ECS,          /* container credentials */
	F_PROCESS,      /* credential_process running */
	F_WEB,          /* STS AssumeRoleWithWebIdentity */
	F_ASSUME        /* STS AssumeRole */
};

struct aws_call;

struct aws_endpoint {
	char *url;      /* as resolved (hsdo_aws_endpoint) */
	char *post;     /* where to POST: url with a path */
	char *host;     /* Host header value */
	char *path;     /* path signed */
};

struct hsdo_aws {
	struct hsdo_http *http;
	struct hsdo_aws_options opt;
	uint64_t rng;
	/* region and endpoints */
	char region[HSDO_CREDS_REGION_MAX];   /* "" while it is read from IMDS */
	enum hsdo_creds_region_source region_src;
	char region_where[HSDO_PROFILE_WHERE_MAX];
	char fallback_region[HSDO_CREDS_REGION_MAX];  /* the configuration's */
	bool region_pending;
	char *endpoint_env[HSDO_CREDS_SVC_COUNT + 1]; /* "AWS_ENDPOINT_URL*=..." kept */
	struct aws_endpoint ep[HSDO_CREDS_SVC_COUNT];
	/* the credentials in use, and where they came from */
	struct hsdo_creds creds;
	char source[32];
	char chain[AWS_CHAIN_MAX];
	/* how to get them: base (+ roles) when dynamic */
	struct hsdo_creds_plan plan;
	bool dynamic;
	struct hsdo_creds basec;        /* the base's credentials (cached) */
	struct hsdo_creds stepc;        /* the last role's */
	size_t role_i;
	char *ecs_url;
	char *ecs_token;                /* secret */
	char *ecs_token_file;
	char *imds_base;                /* NULL: instance metadata disabled */
	char *imds_token;               /* secret */
	int64_t imds_token_exp;
	char imds_role[AWS_ROLE_MAX];
	pid_t proc_pid;                 /* credential_process, 0 when none runs */
	int proc_fd;
	char *proc_out;
	size_t proc_len;
	int64_t proc_deadline_ms;
	bool proc_eof;
	/* the fetcher */
	enum aws_fetch_step fstep;
	bool fetching;
	bool region_only;               /* this fetch only reads the region */
	bool base_done;                 /* this fetch got the base already */
	bool imds_retried;              /* re-fetched the token after a 401 */
	int64_t fetch_not_before;
	bool timer_pending;
	char fetch_err[AWS_ERR_LEN];
	struct aws_call *waiters;
	/* calls */
	struct aws_call *calls;
	size_t ncalls;
	struct hsdo_aws_op_stats stats[AWS_OPS_MAX];
	size_t nstats;
};

/* aws.c */
int64_t hsdo_aws_now(const struct hsdo_aws *a);
/* Remove every secret the client holds from s (size bytes). */
void hsdo_aws_redact(const struct hsdo_aws *a, char *s, size_t size);
/* The fetch ended (rc 0: credentials and region are in place): resume the
 * calls waiting for it, or fail them with err. */
void hsdo_aws_fetched(struct hsdo_aws *a, int rc, const char *err);
/* SigV4 headers for a POST of body to ep with creds (service svc, region
 * a->region): hdr[0..*nh) are heap strings "Name: value" (wipe them).
 * 0 or a negative hsdo_err with err. */
int hsdo_aws_sign(const struct hsdo_aws *a, const struct hsdo_creds *creds,
		  enum hsdo_creds_service svc, const char *ctype, const char *target,
		  const char *body, size_t len, char **hdr, size_t *nh, char *err, size_t errlen);
/* Split an endpoint URL into what the signer and the transport need. */
int hsdo_aws_endpoint_set(struct aws_endpoint *e, const char *url, char *err, size_t errlen);
void hsdo_aws_endpoint_free(struct aws_endpoint *e);

/* aws_creds.c */
/* Resolve the region and the credential chain from opt->envp and the
 * shared files (read here); in blocking mode a region from instance
 * metadata is read too. 0 or -HSDO_ECONFIG / -HSDO_ENOMEM with err. */
int hsdo_aws_creds_resolve(struct hsdo_aws *a, char *const *envp, char *err, size_t errlen);
/* 1: credentials and region usable now (a refresh may start in the
 * background); 0: a fetch runs, wait for hsdo_aws_fetched. */
int hsdo_aws_creds_ready(struct hsdo_aws *a);
/* Start a fetch unless one runs (inline in blocking mode). */
void hsdo_aws_creds_fetch(struct hsdo_aws *a);
/* Forget the credentials (an ExpiredToken reply): the next call fetches. */
void hsdo_aws_creds_expire(struct hsdo_aws *a);
/* Release what the chain holds (kills a running credential_process). */
void hsdo_aws_creds_release(struct hsdo_aws *a);

#endif
