/* AWS client: credentials provider, endpoints, SigV4 signing and retries
 * over the HTTP transport (http.h). No SDK.
 *
 * Credentials, in the SDKs' order, resolved at hsdo_aws_new() for the
 * static sources and on first use for the remote ones: environment, shared
 * files (AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE), ECS
 * container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI against
 * http://169.254.170.2, or _FULL_URI: https, or http to a loopback or
 * container-agent address; with AWS_CONTAINER_AUTHORIZATION_TOKEN or the
 * file AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE names, read at each fetch),
 * then EC2 instance metadata with IMDSv2 (PUT /latest/api/token, GET
 * /latest/meta-data/iam/security-credentials/ and /<role>), endpoint
 * overridable with AWS_EC2_METADATA_SERVICE_ENDPOINT (tests) and disabled
 * by AWS_EC2_METADATA_DISABLED=true; metadata requests time out after 1 s.
 * Remote credentials are refreshed in the background HSDO_CREDS_REFRESH_S
 * before Expiration (a delayed call in event mode; in either mode the first
 * call inside that window starts it); a request waits for a refresh only
 * when the credentials have expired. An ExpiredToken reply with remote
 * credentials refetches them and retries once.
 *
 * Every call is async-shaped (`done` exactly once; before the call returns
 * when the transport is blocking). Retries: throttling
 * (ProvisionedThroughputExceededException, ThrottlingException,
 * Throttling, RequestLimitExceeded, TooManyRequestsException), HTTP 5xx,
 * and transport errors, up to max_tries in all, sleeping a uniformly random
 * 0..min(max_delay, base * 2^(n-1)) ms before retry n ("full jitter"), or
 * the reply's Retry-After when longer and within max_delay.
 * Other errors surface at once with AWS's code and message in err, e.g.
 * "dynamodb PutItem: ConditionalCheckFailedException: The conditional
 * request failed (HTTP 400, 1 try, request id ...)". Secrets never reach
 * err or the log callback: AWS messages that echo one are scrubbed. */
#ifndef HSDO_AWS_H
#define HSDO_AWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsdo/creds.h"
#include "hsdo/http.h"

struct hsdo_aws;

struct hsdo_aws_options {
	char *const *envp;             /* environment (NULL-terminated) */
	const char *region;            /* the configuration's region: used only when the
					* environment, the profile and instance
					* metadata give none; may be NULL */
	int max_tries;                 /* default 5 (1 = no retry) */
	long base_delay_ms;            /* default 50 */
	long max_delay_ms;             /* default 5000 */
	long timeout_ms;               /* per try; 0: the transport's */
	long process_timeout_ms;       /* credential_process; 0: HSDO_CREDS_PROCESS_TIMEOUT_S */
	unsigned principal;            /* enum hsdo_aws_principal bits this client acts as:
					* an operation aws_ops.h does not grant them fails
					* (-HSDO_EINVAL through done); 0: no check */
	/* Clock (Unix seconds) and randomness, for tests; NULL: real ones. */
	int64_t (*now_s)(void *ctx);
	uint32_t (*random)(void *ctx);
	void *ctx;
};

/* Protocols. JSON: POST / with X-Amz-Target (DynamoDB). QUERY: POST / with
 * a form body "Action=...&Version=..." (EC2, Auto Scaling). */
enum hsdo_aws_protocol { HSDO_AWS_JSON = 0, HSDO_AWS_QUERY };

struct hsdo_aws_request {
	enum hsdo_creds_service service;
	enum hsdo_aws_protocol protocol;
	const char *operation;         /* "Scan", "DescribeInstances": logs, metrics */
	const char *target;            /* JSON: "DynamoDB_20120810.Scan" */
	const char *body;              /* borrowed; copied by the client */
	size_t len;
};

/* rc: 0 with the 2xx body; -HSDO_ECONFLICT (conditional check failed),
 * -HSDO_ENOTFOUND (ResourceNotFoundException), -HSDO_EAWS (other AWS
 * error, after retries for retryable ones), -HSDO_EHTTP (transport, after
 * retries), -HSDO_ECONFIG (no credentials), with err. On error body/len
 * are the last reply (may be NULL). */
typedef void (*hsdo_aws_done_fn)(void *arg, int rc, const char *body, size_t len,
				 const char *err);

/* Resolve region, endpoints and the static credential sources (reading the
 * shared files) into a new client over http (borrowed: it must outlive the
 * client). 0, or -HSDO_ECONFIG (no region, a bad override, an unreadable or
 * malformed shared file, AWS_PROFILE naming no profile, no credential
 * source at all), -HSDO_EINVAL, -HSDO_ENOMEM with the reason in err. */
int hsdo_aws_new(const struct hsdo_aws_options *opt, struct hsdo_http *http,
		 struct hsdo_aws **out, char *err, size_t errlen);
/* Release the client, wiping the credentials; calls not finished get done
 * with -HSDO_EAGAIN "cancelled". The transport cannot cancel a delayed
 * call (a retry backoff, the refresh timer), so free the transport FIRST
 * (hsdo_http_free cancels transfers, whose calls then complete, and drops
 * delayed calls), then the client -- or free the client when
 * hsdo_aws_pending() is 0 and it has no refresh timer (blocking mode never
 * has one). Not from inside a done callback. NULL is a no-op. */
void hsdo_aws_free(struct hsdo_aws *a);
/* The transport the client was made with. */
struct hsdo_http *hsdo_aws_http(const struct hsdo_aws *a);
/* Calls started and not yet finished (including ones in backoff). */
size_t hsdo_aws_pending(const struct hsdo_aws *a);

/* The region in use and a service's endpoint URL (borrowed). */
const char *hsdo_aws_region(const struct hsdo_aws *a);
const char *hsdo_aws_endpoint(const struct hsdo_aws *a, enum hsdo_creds_service svc);
/* Where the credentials came from ("env", "credentials", "config", "imds",
 * "ecs", "process", "web-identity", "assume-role"; "" before the first
 * fetch). Never the credentials themselves. */
const char *hsdo_aws_creds_source(const struct hsdo_aws *a);
/* The chain resolved at hsdo_aws_new, for --check-config --debug:
 * "profile prod: keys (FILE:LINE), then AssumeRole ARN (profile prod)". */
const char *hsdo_aws_creds_chain(const struct hsdo_aws *a);
/* Where the region came from (NONE while it is being read from instance
 * metadata); *where (may be NULL) gets "profile P, FILE:LINE" for a
 * profile's region, "" otherwise. */
enum hsdo_creds_region_source hsdo_aws_region_source(const struct hsdo_aws *a,
						     const char **where);

/* Sign and send; 0 (done will be called) or a negative hsdo_err. */
int hsdo_aws_call(struct hsdo_aws *a, const struct hsdo_aws_request *req,
		  hsdo_aws_done_fn done, void *arg);

/* Blocking convenience for tools and tests (requires a blocking
 * transport): *body (hsdo_free) on success. */
int hsdo_aws_call_sync(struct hsdo_aws *a, const struct hsdo_aws_request *req,
		       char **body, size_t *len, char *err, size_t errlen);

/* Per-operation counters, for metrics: one row per operation seen. */
struct hsdo_aws_op_stats {
	char service[16];
	char operation[48];
	uint64_t ok, errors, retries, throttled;
};
/* Up to max rows into out; returns the number of rows. */
size_t hsdo_aws_stats(const struct hsdo_aws *a, struct hsdo_aws_op_stats *out, size_t max);

/* Full-jitter delay before retry `attempt` (1 = the first retry):
 * rnd % (min(max_ms, base_ms * 2^(attempt-1)) + 1); 0 for attempt < 1. Pure. */
long hsdo_aws_backoff_ms(int attempt, long base_ms, long max_ms, uint32_t rnd);
/* Whether an AWS error code (e.g. "ThrottlingException") or HTTP status
 * is retried, pure. */
bool hsdo_aws_retryable(const char *code, long status);

#endif
