/* AWS Signature Version 4 (header signing) for the DynamoDB, EC2 and Auto
 * Scaling request builders. Pure: the time and the credentials are
 * parameters; no clock, no I/O, no logging. Secrets never appear in an
 * output or an error message; key material is wiped before it is released.
 *
 * Reference: "Create a signed AWS API request" (AWS IAM user guide) and the
 * two official test suites in tests/data/aws-sigv4-testsuite and
 * tests/data/aws-signing-test-suite-v4. Not supported: S3 (which wants the
 * path neither normalised nor re-encoded), presigned URLs, chunked payloads.
 */
#ifndef HSDO_SIGV4_H
#define HSDO_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds on what the signer accepts; larger inputs fail with -HSDO_ETOOBIG. */
#define HSDO_SIGV4_METHOD_MAX     16u          /* "GET", "POST", ... */
#define HSDO_SIGV4_PATH_MAX       8192u
#define HSDO_SIGV4_QUERY_MAX      65536u
#define HSDO_SIGV4_HEADERS_MAX    64u          /* entries in req->headers */
#define HSDO_SIGV4_HNAME_MAX      256u
#define HSDO_SIGV4_HVALUE_MAX     16384u
#define HSDO_SIGV4_BODY_MAX       (64u << 20)
#define HSDO_SIGV4_SCOPE_PART_MAX 64u          /* region, service */
#define HSDO_SIGV4_AKID_MAX       128u
#define HSDO_SIGV4_SECRET_MAX     256u
#define HSDO_SIGV4_TOKEN_MAX      16384u
/* Latest instant format_date accepts: 9999-12-31T23:59:59Z. */
#define HSDO_SIGV4_TIME_MAX       INT64_C(253402300799)

/* One request header; both strings borrowed. The value is taken as sent:
 * the signer trims it and folds runs of SP/HT/CR/LF (obs-fold) to one SP. */
struct hsdo_sigv4_header {
	const char *name;
	const char *value;
};

/* The request to sign; every pointer borrowed for the call only. */
struct hsdo_sigv4_request {
	const char *method;            /* "GET", "POST" */
	const char *path;              /* as sent, starts with '/': "/", "/a%20b" */
	const char *query;             /* as sent, without '?'; NULL or "" if none */
	const struct hsdo_sigv4_header *headers;  /* must hold Host */
	size_t nheaders;
	const void *body;              /* may be NULL when body_len is 0 */
	size_t body_len;
};

/* Borrowed; never copied into an output except as the spec says
 * (access key id in the Authorization, token in x-amz-security-token). */
struct hsdo_sigv4_credentials {
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;     /* NULL or "" if none */
};

struct hsdo_sigv4_params {
	const char *region;            /* "eu-west-1" */
	const char *service;           /* "dynamodb", "ec2", "autoscaling" */
	int64_t now_s;                 /* Unix seconds, UTC: 0..HSDO_SIGV4_TIME_MAX */
	bool normalize_path;           /* drop ".", ".." and empty segments; true
					* for every service HSDO talks to */
};

/* Everything the signer computed; owned by the caller, released (and wiped:
 * the canonical request holds the session token) by hsdo_sigv4_result_free.
 * The request must be sent with `Authorization: <authorization>`,
 * `X-Amz-Date: <amz_date>` and, when a session token was given,
 * `X-Amz-Security-Token: <token>` (unless those were in req->headers). */
struct hsdo_sigv4_result {
	char *canonical_request;
	char *string_to_sign;
	char *authorization;           /* the whole Authorization header value */
	char *signed_headers;          /* "host;x-amz-date" */
	char amz_date[17];             /* "20150830T123600Z" */
	char signature[65];            /* lower-case hex */
};

/* Sign `req` with `cred` for p->region/p->service at p->now_s. Headers the
 * signer adds when absent: x-amz-date, and x-amz-security-token when
 * cred->session_token is set (present ones must agree, else -HSDO_EINVAL).
 * Returns 0 and fills *out, or a negative hsdo_err with *out zeroed. */
int hsdo_sigv4_sign(const struct hsdo_sigv4_request *req,
		    const struct hsdo_sigv4_credentials *cred,
		    const struct hsdo_sigv4_params *p,
		    struct hsdo_sigv4_result *out, char *err, size_t errlen);

/* Wipe and free what hsdo_sigv4_sign put in *r, leaving it zeroed;
 * NULL or an already freed/zeroed result is a no-op. */
void hsdo_sigv4_result_free(struct hsdo_sigv4_result *r);

/* Percent-encoding is hsdo_url_encode() (url.h). */

/* Format now_s (Unix seconds, UTC) as "YYYYMMDDTHHMMSSZ" and "YYYYMMDD".
 * Returns 0, or -HSDO_EINVAL outside 0..HSDO_SIGV4_TIME_MAX. */
int hsdo_sigv4_format_date(int64_t now_s, char amz_date[17], char date[9]);

/* Lower-case hex SHA-256 of len bytes (a payload hash for
 * x-amz-content-sha256). Returns 0, or -HSDO_ENOMEM if OpenSSL fails. */
int hsdo_sigv4_sha256_hex(const void *data, size_t len, char hex[65]);

#endif
