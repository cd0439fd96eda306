/* AWS client (see hsdo/aws.h): the credential chain, SigV4 signing of
 * JSON and Query POSTs, retries with full jitter, error decoding and
 * per-operation counters, over the HTTP transport.
 *
 * Every call is a small state machine (send, wait for credentials, in
 * flight, result, backoff) driven by call_run(), which loops instead of
 * recursing: in blocking mode a transfer completes inside
 * hsdo_http_submit(), and its callback only records the result and asks
 * the loop to go on, so the stack stays flat however many retries or
 * credential fetches a call goes through.
 *
 * Remote credentials (ECS, IMDS) are fetched by one fetcher at a time;
 * calls that need them (none yet, or expired) wait in a list and resume
 * when the fetch ends. Credentials inside the refresh window are used
 * while a refresh runs in the background: on the refresh timer in event
 * mode, or at the first call in the window (at most every
 * FETCH_SPACING_S after a failure). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hsdo/alloc.h"
#include "hsdo/aws.h"
#include "hsdo/aws_query.h"
#include "hsdo/creds.h"
#include "hsdo/ddb.h"
#include "hsdo/err.h"
#include "hsdo/http.h"
#include "hsdo/log.h"
#include "hsdo/sigv4.h"

#include "env.h"

#define AWS_OPS_MAX        48
#define AWS_ERR_LEN        512
#define AWS_TRIES_MAX      20
#define META_TIMEOUT_MS    1000L        /* IMDS and ECS: connect and total */
#define META_BODY_MAX      ((size_t)64 << 10)
#define IMDS_TOKEN_TTL_S   21600
#define IMDS_DEFAULT       "http://169.254.169.254"
#define IMDS_DEFAULT_V6    "http://[fd00:ec2::254]"
#define ECS_HOST           "http://169.254.170.2"
#define IMDS_CREDS_PATH    "/latest/meta-data/iam/security-credentials/"
#define ROLE_MAX           128
#define FETCH_SPACING_S    10           /* background refreshes after a failure */
#define FILE_READ_MAX      HSDO_CREDS_FILE_MAX

enum remote_kind { REMOTE_NONE = 0, REMOTE_ECS, REMOTE_IMDS };

enum fetch_step { F_IDLE = 0, F_TOKEN, F_ROLE, F_CREDS, F_ECS };

enum call_state {
	CS_SEND = 0,     /* (re)sign and submit when credentials allow */
	CS_WAIT_CREDS,   /* in a->waiters */
	CS_IN_FLIGHT,
	CS_RESULT,       /* a response or transport error to classify */
	CS_BACKOFF,      /* a delayed call will resume it */
	CS_FAIL,         /* finish with c->rc / c->err */
	CS_DONE
};

struct aws_call {
	struct hsdo_aws *a;
	struct aws_call *prev, *next;   /* a->calls */
	struct aws_call *wnext;         /* a->waiters */
	enum hsdo_creds_service svc;
	enum hsdo_aws_protocol proto;
	char op[48];
	char *target;
	char *body;
	size_t len;
	hsdo_aws_done_fn done;
	void *arg;
	enum call_state state;
	bool running, again;
	bool expired_retry;             /* retried once after ExpiredToken */
	int tries;
	/* the last attempt's outcome */
	int http_rc;
	long status;
	long retry_after_s;
	char request_id[80];
	char *resp;
	size_t resp_len;
	int rc;
	char err[AWS_ERR_LEN];
};

struct endpoint {
	char *url;      /* as resolved (hsdo_aws_endpoint) */
	char *post;     /* where to POST: url with a path */
	char *host;     /* Host header value */
	char *path;     /* path signed */
};

struct hsdo_aws {
	struct hsdo_http *http;
	struct hsdo_aws_options opt;
	char region[HSDO_CREDS_REGION_MAX];
	struct endpoint ep[HSDO_CREDS_SVC_COUNT];
	struct hsdo_creds creds;
	char source[32];
	uint64_t rng;
	/* remote credentials */
	enum remote_kind remote;
	char *ecs_url;
	char *ecs_token;                /* secret */
	char *ecs_token_file;
	char *imds_base;
	char *imds_token;               /* secret */
	int64_t imds_token_exp;
	char imds_role[ROLE_MAX];
	enum fetch_step fstep;
	bool fetching;
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

/* ---- small helpers ---------------------------------------------------------- */

static int64_t now_s(const struct hsdo_aws *a)
{
	if (a->opt.now_s != NULL)
		return a->opt.now_s(a->opt.ctx);
	return (int64_t)time(NULL);
}

static uint32_t rnd(struct hsdo_aws *a)
{
	uint64_t x;

	if (a->opt.random != NULL)
		return a->opt.random(a->opt.ctx);
	x = a->rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	a->rng = x;
	return (uint32_t)(x >> 16);
}

static void wipe_free(char **s)
{
	if (*s != NULL)
		hsdo_freezero(*s, strlen(*s));
	*s = NULL;
}

/* Remove every trace of secret from s (size bytes): whole occurrences
 * become "[redacted]"; a 12-byte piece of it (a cut-off echo) cuts s there. */
static void redact(char *s, size_t size, const char *secret)
{
	static const char mark[] = "[redacted]";
	size_t n, i, k, off = 0, tail;
	char *p;

	if (secret == NULL || (n = strlen(secret)) < 4)
		return;
	while ((p = strstr(s + off, secret)) != NULL) {
		off = (size_t)(p - s);
		if (size - off < sizeof(mark)) {
			*p = '\0';
			break;
		}
		tail = strlen(p + n);
		if (tail > size - off - sizeof(mark))
			tail = size - off - sizeof(mark);
		memmove(p + sizeof(mark) - 1, p + n, tail);
		memcpy(p, mark, sizeof(mark) - 1);
		p[sizeof(mark) - 1 + tail] = '\0';
		off += sizeof(mark) - 1;
	}
	if (n < 12)
		return;
	for (i = 0; s[i] != '\0'; i++) {
		for (k = 0; k + 12 <= n; k++) {
			if (strncmp(s + i, secret + k, 12) == 0) {
				snprintf(s + i, size - i, "%s", mark);
				return;
			}
		}
	}
}

static void redact_all(struct hsdo_aws *a, char *s, size_t size)
{
	redact(s, size, a->creds.secret_access_key);
	redact(s, size, a->creds.session_token);
	redact(s, size, a->imds_token);
	redact(s, size, a->ecs_token);
}

/* ---- pure helpers (exported) ----------------------------------------------- */

long hsdo_aws_backoff_ms(int attempt, long base_ms, long max_ms, uint32_t r)
{
	long cap;

	if (attempt < 1 || base_ms <= 0 || max_ms <= 0)
		return 0;
	cap = base_ms;
	while (--attempt > 0 && cap < max_ms)
		cap = cap > max_ms / 2 ? max_ms : cap * 2;
	if (cap > max_ms)
		cap = max_ms;
	return (long)(r % ((uint32_t)cap + 1u));
}

static const char *const throttle_codes[] = {
	"ProvisionedThroughputExceededException", "ThrottlingException", "Throttling",
	"ThrottledException", "RequestThrottledException", "RequestThrottled",
	"RequestLimitExceeded", "TooManyRequestsException", "LimitExceededException",
	"BandwidthLimitExceeded", "SlowDown", "PriorRequestNotComplete",
	"EC2ThrottledException", "TransactionInProgressException",
};

static const char *const transient_codes[] = {
	"InternalServerError", "InternalFailure", "InternalError", "ServiceUnavailable",
	"ServiceUnavailableException", "Unavailable", "RequestTimeout",
	"RequestTimeoutException", "IDPCommunicationError",
};

static bool in_list(const char *code, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; code != NULL && i < n; i++)
		if (strcmp(code, list[i]) == 0)
			return true;
	return false;
}

#define IN_LIST(code, l) in_list(code, l, sizeof(l) / sizeof(l[0]))

static bool is_throttle(const char *code, long status)
{
	return IN_LIST(code, throttle_codes) || status == 429;
}

bool hsdo_aws_retryable(const char *code, long status)
{
	if (is_throttle(code, status) || IN_LIST(code, transient_codes))
		return true;
	return status >= 500 && status <= 599;
}

/* ---- stats ------------------------------------------------------------------- */

static struct hsdo_aws_op_stats *stats_row(struct hsdo_aws *a, enum hsdo_creds_service svc,
					   const char *op)
{
	const char *sn = hsdo_creds_service_str(svc);
	size_t i;

	for (i = 0; i < a->nstats; i++)
		if (strcmp(a->stats[i].operation, op) == 0 && strcmp(a->stats[i].service, sn) == 0)
			return &a->stats[i];
	if (a->nstats == AWS_OPS_MAX)
		return NULL;
	i = a->nstats++;
	memset(&a->stats[i], 0, sizeof(a->stats[i]));
	snprintf(a->stats[i].service, sizeof(a->stats[i].service), "%s", sn);
	snprintf(a->stats[i].operation, sizeof(a->stats[i].operation), "%s", op);
	return &a->stats[i];
}

size_t hsdo_aws_stats(const struct hsdo_aws *a, struct hsdo_aws_op_stats *out, size_t max)
{
	size_t n;

	if (a == NULL || out == NULL)
		return 0;
	n = a->nstats < max ? a->nstats : max;
	memcpy(out, a->stats, n * sizeof(*out));
	return n;
}

/* ---- construction ---------------------------------------------------------------- */

/* Split an endpoint URL into what the signer and the transport need. */
static int endpoint_set(struct endpoint *e, const char *url, char *err, size_t errlen)
{
	const char *h = strstr(url, "://"), *p;
	size_t hl;

	if (h == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ECONFIG, "endpoint %s: no scheme", url);
	h += 3;
	hl = strcspn(h, "/?#");
	p = h + hl;
	if (hl == 0 || memchr(h, '@', hl) != NULL || *p == '?' || *p == '#' ||
	    strchr(p, '?') != NULL || strchr(p, '#') != NULL)
		return hsdo_seterr(err, errlen, -HSDO_ECONFIG,
				   "endpoint %s: want scheme://host[:port][/path]", url);
	e->url = hsdo_strdup(url);
	e->host = hsdo_strndup(h, hl);
	e->path = hsdo_strdup(*p != '\0' ? p : "/");
	e->post = *p != '\0' ? hsdo_strdup(url) : hsdo_strdup_printf("%s/", url);
	if (e->url == NULL || e->host == NULL || e->path == NULL || e->post == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	return 0;
}

static void endpoint_free(struct endpoint *e)
{
	hsdo_free(e->url);
	hsdo_free(e->post);
	hsdo_free(e->host);
	hsdo_free(e->path);
	memset(e, 0, sizeof(*e));
}

/* Read a whole (small) file; -HSDO_ENOTFOUND when it does not exist. The
 * buffer is wiped on free by the caller (it may hold secrets). */
static int read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	struct stat sb;
	size_t n = 0;
	ssize_t r;
	char *b;
	int fd;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return -HSDO_ENOTFOUND;
		return hsdo_seterr(err, errlen, -HSDO_ECONFIG, "%s: %s", path, strerror(errno));
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > (off_t)FILE_READ_MAX) {
		close(fd);
		return hsdo_seterr(err, errlen, -HSDO_ECONFIG,
				   "%s: not a regular file of at most %d bytes", path,
				   FILE_READ_MAX);
	}
	b = hsdo_malloc((size_t)sb.st_size + 1);
	if (b == NULL) {
		close(fd);
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	}
	while (n < (size_t)sb.st_size) {
		r = read(fd, b + n, (size_t)sb.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

/* One shared file: its credentials (if the profile has keys) and, for the
 * config file, its region. *found tells whether the profile is there. */
static int shared_file(const char *path, enum hsdo_creds_file kind, const char *profile,
		       struct hsdo_creds *c, char *region, size_t regionlen, bool *found,
		       char *err, size_t errlen)
{
	char perr[256];
	char *buf;
	size_t len;
	int rc;

	rc = read_file(path, &buf, &len, err, errlen);
	if (rc == -HSDO_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	rc = hsdo_creds_parse_ini(buf, len, kind, profile, c, region, regionlen, perr,
				  sizeof(perr));
	hsdo_freezero(buf, len + 1);
	if (rc == -HSDO_ENOTFOUND)
		return 0;
	if (rc != 0)
		return hsdo_seterr(err, errlen, rc == -HSDO_ENOMEM ? rc : -HSDO_ECONFIG, "%s: %s",
				   path, perr);
	*found = true;
	if (c->access_key_id == NULL)
		hsdo_creds_free(c);
	return 0;
}

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

static int setup_remote(struct hsdo_aws *a, char *const *envp, char *err, size_t errlen)
{
	const char *rel = hsdo_env_get(envp, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = hsdo_env_get(envp, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *tok = hsdo_env_get(envp, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
	const char *tokf = hsdo_env_get(envp, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *dis = hsdo_env_get(envp, "AWS_EC2_METADATA_DISABLED");
	const char *ep = hsdo_env_get(envp, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *mode = hsdo_env_get(envp, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	size_t n;

	if (rel != NULL || full != NULL) {
		if (rel != NULL) {
			if (rel[0] != '/' || strpbrk(rel, " \r\n") != NULL)
				return hsdo_seterr(err, errlen, -HSDO_ECONFIG,
						   "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must "
						   "start with /");
			a->ecs_url = hsdo_strdup_printf("%s%s", ECS_HOST, rel);
		} else {
			if (!full_uri_allowed(full) || strpbrk(full, " \r\n") != NULL)
				return hsdo_seterr(err, errlen, -HSDO_ECONFIG,
						   "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, "
						   "or http to a loopback or container-agent address");
			a->ecs_url = hsdo_strdup(full);
		}
		if (a->ecs_url == NULL ||
		    (tok != NULL && (a->ecs_token = hsdo_strdup(tok)) == NULL) ||
		    (tok == NULL && tokf != NULL &&
		     (a->ecs_token_file = hsdo_strdup(tokf)) == NULL))
			return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
		if (a->ecs_token != NULL && strpbrk(a->ecs_token, "\r\n") != NULL)
			return hsdo_seterr(err, errlen, -HSDO_ECONFIG,
					   "AWS_CONTAINER_AUTHORIZATION_TOKEN has a line break");
		a->remote = REMOTE_ECS;
		return 0;
	}
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
	a->remote = REMOTE_IMDS;
	return 0;
}

static int resolve(struct hsdo_aws *a, char *const *envp, char *err, size_t errlen)
{
	const char *profile = hsdo_env_get(envp, "AWS_PROFILE");
	const char *home = hsdo_env_get(envp, "HOME");
	const char *cpath = hsdo_env_get(envp, "AWS_SHARED_CREDENTIALS_FILE");
	const char *gpath = hsdo_env_get(envp, "AWS_CONFIG_FILE");
	char *cdef = NULL, *gdef = NULL;
	char file_region[HSDO_CREDS_REGION_MAX] = "";
	struct hsdo_creds fc, gc;
	bool found = false;
	char *url;
	int rc, s;

	memset(&fc, 0, sizeof(fc));
	memset(&gc, 0, sizeof(gc));
	rc = hsdo_creds_from_env(envp, &a->creds, err, errlen);
	if (rc != 0 && rc != -HSDO_ENOTFOUND)
		return rc == -HSDO_ENOMEM ? rc : -HSDO_ECONFIG;
	/* The shared files: always for the region, and for the keys when the
	 * environment has none. */
	if ((cpath == NULL && home != NULL &&
	     (cpath = cdef = hsdo_strdup_printf("%s/.aws/credentials", home)) == NULL) ||
	    (gpath == NULL && home != NULL &&
	     (gpath = gdef = hsdo_strdup_printf("%s/.aws/config", home)) == NULL)) {
		rc = hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
		goto out;
	}
	if ((cpath != NULL &&
	     (rc = shared_file(cpath, HSDO_CREDS_FILE_CREDENTIALS, profile, &fc, NULL, 0,
			       &found, err, errlen)) != 0) ||
	    (gpath != NULL &&
	     (rc = shared_file(gpath, HSDO_CREDS_FILE_CONFIG, profile, &gc, file_region,
			       sizeof(file_region), &found, err, errlen)) != 0))
		goto out;
	if (profile != NULL && !found) {
		rc = hsdo_seterr(err, errlen, -HSDO_ECONFIG,
				 "AWS_PROFILE %s: no such profile in %s or %s", profile,
				 cpath != NULL ? cpath : "(no credentials file)",
				 gpath != NULL ? gpath : "(no config file)");
		goto out;
	}
	if (a->creds.access_key_id == NULL && fc.access_key_id != NULL) {
		a->creds = fc;
		memset(&fc, 0, sizeof(fc));
	} else if (a->creds.access_key_id == NULL && gc.access_key_id != NULL) {
		a->creds = gc;
		memset(&gc, 0, sizeof(gc));
	}
	if (a->creds.access_key_id != NULL) {
		snprintf(a->source, sizeof(a->source), "%s", a->creds.source);
	} else {
		if ((rc = setup_remote(a, envp, err, errlen)) != 0)
			goto out;
		if (a->remote == REMOTE_NONE) {
			rc = hsdo_seterr(err, errlen, -HSDO_ECONFIG,
					 "no AWS credentials: none in the environment, none in "
					 "the shared files for profile %s, no container "
					 "credentials, and instance metadata is disabled "
					 "(AWS_EC2_METADATA_DISABLED)",
					 profile != NULL ? profile : "default");
			goto out;
		}
	}
	rc = hsdo_creds_region(envp, a->opt.region != NULL && a->opt.region[0] != '\0' ?
			       a->opt.region : (file_region[0] ? file_region : NULL),
			       a->region, sizeof(a->region), err, errlen);
	if (rc == -HSDO_ENOTFOUND) {
		rc = hsdo_seterr(err, errlen, -HSDO_ECONFIG,
				 "no AWS region: set AWS_REGION, the configuration's region "
				 "or a region in the shared config file");
		goto out;
	}
	if (rc != 0) {
		rc = rc == -HSDO_ENOMEM ? rc : -HSDO_ECONFIG;
		goto out;
	}
	for (s = 0; s < HSDO_CREDS_SVC_COUNT; s++) {
		rc = hsdo_creds_endpoint(envp, (enum hsdo_creds_service)s, a->region, &url, err,
					 errlen);
		if (rc != 0) {
			rc = rc == -HSDO_ENOMEM ? rc : -HSDO_ECONFIG;
			goto out;
		}
		rc = endpoint_set(&a->ep[s], url, err, errlen);
		hsdo_free(url);
		if (rc != 0)
			goto out;
	}
out:
	hsdo_creds_free(&fc);
	hsdo_creds_free(&gc);
	hsdo_free(cdef);
	hsdo_free(gdef);
	return rc;
}

static void aws_release(struct hsdo_aws *a)
{
	int s;

	hsdo_creds_free(&a->creds);
	for (s = 0; s < HSDO_CREDS_SVC_COUNT; s++)
		endpoint_free(&a->ep[s]);
	hsdo_free(a->ecs_url);
	wipe_free(&a->ecs_token);
	hsdo_free(a->ecs_token_file);
	hsdo_free(a->imds_base);
	wipe_free(&a->imds_token);
	hsdo_freezero(a, sizeof(*a));
}

int hsdo_aws_new(const struct hsdo_aws_options *opt, struct hsdo_http *http,
		 struct hsdo_aws **out, char *err, size_t errlen)
{
	struct hsdo_aws *a;
	struct timespec ts;
	int rc;

	if (out == NULL || http == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "aws: no transport or output");
	*out = NULL;
	a = hsdo_calloc(1, sizeof(*a));
	if (a == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	a->http = http;
	if (opt != NULL)
		a->opt = *opt;
	if (a->opt.max_tries <= 0)
		a->opt.max_tries = 5;
	if (a->opt.max_tries > AWS_TRIES_MAX)
		a->opt.max_tries = AWS_TRIES_MAX;
	if (a->opt.base_delay_ms <= 0)
		a->opt.base_delay_ms = 50;
	if (a->opt.max_delay_ms <= 0)
		a->opt.max_delay_ms = 5000;
	if (a->opt.timeout_ms < 0)
		a->opt.timeout_ms = 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	a->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^
		 (uint64_t)(uintptr_t)a;
	if (a->rng == 0)
		a->rng = 0x9e3779b97f4a7c15ULL;
	rc = resolve(a, a->opt.envp, err, errlen);
	a->opt.envp = NULL;   /* borrowed for the call only */
	a->opt.region = NULL;
	if (rc != 0) {
		aws_release(a);
		return rc;
	}
	*out = a;
	return 0;
}

struct hsdo_http *hsdo_aws_http(const struct hsdo_aws *a)
{
	return a != NULL ? a->http : NULL;
}

size_t hsdo_aws_pending(const struct hsdo_aws *a)
{
	return a != NULL ? a->ncalls : 0;
}

const char *hsdo_aws_region(const struct hsdo_aws *a)
{
	return a->region;
}

const char *hsdo_aws_endpoint(const struct hsdo_aws *a, enum hsdo_creds_service svc)
{
	if ((unsigned)svc >= HSDO_CREDS_SVC_COUNT)
		return "";
	return a->ep[svc].url;
}

const char *hsdo_aws_creds_source(const struct hsdo_aws *a)
{
	return a->source;
}

/* ---- calls: declarations ---------------------------------------------------------- */

static void call_run(struct aws_call *c);

/* ---- remote credentials ------------------------------------------------------------ */

static void fetch_next(struct hsdo_aws *a);

static const char *remote_name(const struct hsdo_aws *a)
{
	return a->remote == REMOTE_ECS ? "container credentials" : "instance metadata";
}

static void on_refresh_timer(void *arg);

static void schedule_refresh(struct hsdo_aws *a)
{
	int64_t now = now_s(a), due;

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
static void fetch_finish(struct hsdo_aws *a, int rc, struct hsdo_creds *fresh, const char *err)
{
	struct aws_call *w, *next;

	a->fetching = false;
	a->fstep = F_IDLE;
	if (rc == 0) {
		hsdo_creds_free(&a->creds);
		a->creds = *fresh;
		memset(fresh, 0, sizeof(*fresh));
		snprintf(a->source, sizeof(a->source), "%s", a->creds.source);
		a->fetch_err[0] = '\0';
		a->fetch_not_before = now_s(a) + FETCH_SPACING_S;
		if (a->creds.expiration_s != 0 && now_s(a) >= a->creds.expiration_s) {
			/* fetching again would loop: the clock is off */
			rc = -HSDO_ECONFIG;
			snprintf(a->fetch_err, sizeof(a->fetch_err),
				 "%s credentials expired at %" PRId64 ", before now (%" PRId64
				 "): is the clock right?", remote_name(a), a->creds.expiration_s,
				 now_s(a));
			hsdo_log_warn("aws: %s", a->fetch_err);
		}
		hsdo_log_debug("aws: credentials from %s, expiring at %" PRId64,
			       a->source, a->creds.expiration_s);
		schedule_refresh(a);
	} else {
		snprintf(a->fetch_err, sizeof(a->fetch_err), "%s", err);
		redact_all(a, a->fetch_err, sizeof(a->fetch_err));
		a->fetch_not_before = now_s(a) + FETCH_SPACING_S;
		hsdo_log_warn("aws: no credentials from %s: %s", remote_name(a), a->fetch_err);
	}
	w = a->waiters;
	a->waiters = NULL;
	for (; w != NULL; w = next) {
		next = w->wnext;
		w->wnext = NULL;
		if (rc == 0) {
			w->state = CS_SEND;
		} else {
			w->state = CS_FAIL;
			w->rc = rc == -HSDO_ENOMEM ? rc : -HSDO_ECONFIG;
			(void)hsdo_seterr(w->err, sizeof(w->err), 0, "%s %s: no AWS credentials: %s",
				 hsdo_creds_service_str(w->svc), w->op, a->fetch_err);
		}
		call_run(w);
	}
}

static bool role_valid(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n >= ROLE_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("+=,.@_-", c) != NULL))
			return false;
	}
	return true;
}

static void on_fetch_done(void *arg, int rc, const struct hsdo_http_response *resp,
			  const char *herr)
{
	struct hsdo_aws *a = arg;
	struct hsdo_creds fresh;
	char err[AWS_ERR_LEN], perr[256];
	const char *what;
	size_t n;

	memset(&fresh, 0, sizeof(fresh));
	what = a->fstep == F_TOKEN ? "token" : a->fstep == F_ROLE ? "role" :
	       a->fstep == F_ECS ? "endpoint" : "credentials";
	if (rc != 0) {
		snprintf(err, sizeof(err), "%s %s: %s", remote_name(a), what, herr);
		fetch_finish(a, rc == -HSDO_ENOMEM ? rc : -HSDO_EHTTP, NULL, err);
		return;
	}
	if (resp->status == 401 && a->remote == REMOTE_IMDS && a->fstep != F_TOKEN &&
	    !a->imds_retried) {
		/* the session token expired (or the instance restarted) */
		a->imds_retried = true;
		wipe_free(&a->imds_token);
		a->fstep = F_TOKEN;
		fetch_next(a);
		return;
	}
	if (resp->status != 200) {
		snprintf(err, sizeof(err), "%s %s: HTTP %ld", remote_name(a), what, resp->status);
		fetch_finish(a, -HSDO_EHTTP, NULL, err);
		return;
	}
	switch (a->fstep) {
	case F_TOKEN:
		n = resp->len;
		while (n > 0 && (resp->body[n - 1] == '\n' || resp->body[n - 1] == '\r'))
			n--;
		if (n == 0 || n > 4096 || memchr(resp->body, '\n', n) != NULL ||
		    memchr(resp->body, '\r', n) != NULL || memchr(resp->body, '\0', n) != NULL) {
			fetch_finish(a, -HSDO_EPROTO, NULL, "instance metadata token: malformed");
			return;
		}
		wipe_free(&a->imds_token);
		a->imds_token = hsdo_strndup(resp->body, n);
		if (a->imds_token == NULL) {
			fetch_finish(a, -HSDO_ENOMEM, NULL, "out of memory");
			return;
		}
		a->imds_token_exp = now_s(a) + IMDS_TOKEN_TTL_S - 60;
		a->fstep = a->imds_role[0] != '\0' ? F_CREDS : F_ROLE;
		fetch_next(a);
		return;
	case F_ROLE:
		n = strcspn(resp->body, "\r\n");
		if (n > resp->len)
			n = resp->len;
		if (!role_valid(resp->body, n)) {
			fetch_finish(a, -HSDO_EPROTO, NULL,
				     "instance metadata: no valid IAM role (is an instance profile "
				     "attached?)");
			return;
		}
		memcpy(a->imds_role, resp->body, n);
		a->imds_role[n] = '\0';
		a->fstep = F_CREDS;
		fetch_next(a);
		return;
	case F_CREDS:
	case F_ECS:
		rc = hsdo_creds_parse_json(resp->body, resp->len,
					   a->fstep == F_ECS ? "ecs" : "imds", &fresh, perr,
					   sizeof(perr));
		if (rc != 0) {
			snprintf(err, sizeof(err), "%s credentials: %s", remote_name(a), perr);
			fetch_finish(a, rc, NULL, err);
			return;
		}
		fetch_finish(a, 0, &fresh, "");
		return;
	case F_IDLE:
		break;
	}
	fetch_finish(a, -HSDO_EPROTO, NULL, "credential fetch in a bad state");
}

/* Read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (EKS Pod Identity rotates it). */
static char *ecs_token_from_file(struct hsdo_aws *a, char *err, size_t errlen)
{
	char *buf, *t;
	size_t len;
	int rc = read_file(a->ecs_token_file, &buf, &len, err, errlen);

	if (rc == -HSDO_ENOTFOUND)
		hsdo_seterr(err, errlen, rc, "%s: no such file", a->ecs_token_file);
	if (rc != 0)
		return NULL;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
		len--;
	t = len > 0 && memchr(buf, '\n', len) == NULL && memchr(buf, '\r', len) == NULL ?
	    hsdo_strndup(buf, len) : NULL;
	if (t == NULL)
		hsdo_seterr(err, errlen, -HSDO_ECONFIG, "%s: empty or multi-line token",
			    a->ecs_token_file);
	hsdo_freezero(buf, len + 1);
	return t;
}

static void fetch_next(struct hsdo_aws *a)
{
	struct hsdo_http_request r;
	char *url = NULL, *h0 = NULL, *ftok = NULL;
	char err[AWS_ERR_LEN];
	int rc;

	memset(&r, 0, sizeof(r));
	r.method = "GET";
	r.connect_timeout_ms = META_TIMEOUT_MS;
	r.timeout_ms = META_TIMEOUT_MS;
	r.max_body = META_BODY_MAX;
	if (a->fstep == F_TOKEN) {
		r.method = "PUT";
		url = hsdo_strdup_printf("%s/latest/api/token", a->imds_base);
		h0 = hsdo_strdup_printf("X-aws-ec2-metadata-token-ttl-seconds: %d", IMDS_TOKEN_TTL_S);
	} else if (a->fstep == F_ROLE || a->fstep == F_CREDS) {
		url = hsdo_strdup_printf("%s" IMDS_CREDS_PATH "%s", a->imds_base,
			     a->fstep == F_CREDS ? a->imds_role : "");
		h0 = hsdo_strdup_printf("X-aws-ec2-metadata-token: %s", a->imds_token);
	} else {
		r.timeout_ms = 2 * META_TIMEOUT_MS;
		url = hsdo_strdup(a->ecs_url);
		if (a->ecs_token_file != NULL) {
			ftok = ecs_token_from_file(a, err, sizeof(err));
			if (ftok == NULL) {
				hsdo_free(url);
				fetch_finish(a, -HSDO_ECONFIG, NULL, err);
				return;
			}
		}
		if (a->ecs_token != NULL || ftok != NULL) {
			h0 = hsdo_strdup_printf("Authorization: %s", ftok != NULL ? ftok : a->ecs_token);
			if (h0 == NULL)
				url = (hsdo_free(url), NULL);
		} else {
			h0 = hsdo_strdup("Accept: application/json");
		}
		wipe_free(&ftok);
	}
	if (url == NULL || h0 == NULL) {
		hsdo_free(url);
		wipe_free(&h0);
		fetch_finish(a, -HSDO_ENOMEM, NULL, "out of memory");
		return;
	}
	r.url = url;
	r.headers[0] = h0;
	rc = hsdo_http_submit(a->http, &r, on_fetch_done, a);
	hsdo_free(url);
	wipe_free(&h0);
	if (rc != 0) {
		snprintf(err, sizeof(err), "%s: cannot submit: %s", remote_name(a),
			 hsdo_strerror(rc));
		fetch_finish(a, rc, NULL, err);
	}
}

/* Start a fetch (no-op if one runs). In blocking mode it ends before this
 * returns. */
static void fetch_start(struct hsdo_aws *a)
{
	if (a->fetching)
		return;
	a->fetching = true;
	a->imds_retried = false;
	if (a->remote == REMOTE_ECS) {
		a->fstep = F_ECS;
	} else if (a->imds_token == NULL || now_s(a) >= a->imds_token_exp) {
		wipe_free(&a->imds_token);
		a->fstep = F_TOKEN;
	} else {
		a->fstep = a->imds_role[0] != '\0' ? F_CREDS : F_ROLE;
	}
	fetch_next(a);
}

static void on_refresh_timer(void *arg)
{
	struct hsdo_aws *a = arg;

	a->timer_pending = false;
	fetch_start(a);
}

/* 1: credentials usable now; 0: c waits (in a->waiters); <0: failed, with
 * c->err set. */
static int creds_ready(struct hsdo_aws *a, struct aws_call *c)
{
	int64_t now;
	bool valid;

	if (a->remote == REMOTE_NONE)
		return 1;
	now = now_s(a);
	valid = a->creds.access_key_id != NULL &&
		(a->creds.expiration_s == 0 || now < a->creds.expiration_s);
	if (valid) {
		if (hsdo_creds_need_refresh(&a->creds, now) && !a->fetching &&
		    now >= a->fetch_not_before)
			fetch_start(a);   /* in the background (inline when blocking) */
		return 1;
	}
	c->wnext = a->waiters;
	a->waiters = c;
	c->state = CS_WAIT_CREDS;
	fetch_start(a);
	return 0;
}

/* ---- calls -------------------------------------------------------------------------- */

static void call_unlink(struct aws_call *c)
{
	struct hsdo_aws *a = c->a;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else if (a->calls == c)
		a->calls = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	a->ncalls--;
}

static void call_free(struct aws_call *c)
{
	hsdo_free(c->target);
	hsdo_free(c->body);
	hsdo_free(c->resp);
	hsdo_free(c);
}

/* The end of a call: counters, then done (the client may be freed from
 * inside done: nothing of it is touched afterwards). */
static void call_finish(struct aws_call *c, int rc)
{
	struct hsdo_aws *a = c->a;
	struct hsdo_aws_op_stats *st = stats_row(a, c->svc, c->op);

	if (st != NULL) {
		if (rc == 0)
			st->ok++;
		else
			st->errors++;
	}
	if (rc != 0)
		redact_all(a, c->err, sizeof(c->err));
	call_unlink(c);
	c->state = CS_DONE;
	c->done(c->arg, rc, c->resp, c->resp_len, rc == 0 ? "" : c->err);
}

static void on_http_done(void *arg, int rc, const struct hsdo_http_response *resp,
			 const char *herr)
{
	struct aws_call *c = arg;

	c->http_rc = rc;
	c->status = rc == 0 ? resp->status : 0;
	c->retry_after_s = rc == 0 ? resp->retry_after_s : -1;
	snprintf(c->request_id, sizeof(c->request_id), "%s", rc == 0 ? resp->request_id : "");
	hsdo_free(c->resp);
	c->resp = NULL;
	c->resp_len = 0;
	if (rc == 0) {
		c->resp = hsdo_malloc(resp->len + 1);
		if (c->resp == NULL) {
			c->http_rc = -HSDO_ENOMEM;
		} else {
			memcpy(c->resp, resp->body, resp->len);
			c->resp[resp->len] = '\0';
			c->resp_len = resp->len;
		}
	}
	snprintf(c->err, sizeof(c->err), "%s", c->http_rc == -HSDO_ENOMEM && rc == 0 ?
		 "out of memory for the response" : herr != NULL ? herr : "");
	c->state = CS_RESULT;
	call_run(c);
}

static void on_backoff(void *arg)
{
	struct aws_call *c = arg;

	c->state = CS_SEND;
	call_run(c);
}

/* Sign the call and submit it. */
static void call_send(struct aws_call *c)
{
	struct hsdo_aws *a = c->a;
	const struct endpoint *ep = &a->ep[c->svc];
	const char *ctype = c->proto == HSDO_AWS_JSON ? HSDO_DDB_CONTENT_TYPE :
			    HSDO_AWS_QUERY_CONTENT_TYPE;
	struct hsdo_sigv4_header sh[3];
	struct hsdo_sigv4_request sr;
	struct hsdo_sigv4_credentials sc;
	struct hsdo_sigv4_params sp;
	struct hsdo_sigv4_result res;
	struct hsdo_http_request hr;
	char *hdr[6] = { NULL };
	char serr[256];
	size_t nh = 0, i;
	int rc;

	rc = creds_ready(a, c);
	if (rc == 0)
		return;
	if (rc < 0) {
		c->state = CS_FAIL;
		return;
	}
	sh[nh++] = (struct hsdo_sigv4_header){ "Host", ep->host };
	sh[nh++] = (struct hsdo_sigv4_header){ "Content-Type", ctype };
	if (c->proto == HSDO_AWS_JSON)
		sh[nh++] = (struct hsdo_sigv4_header){ "X-Amz-Target", c->target };
	memset(&sr, 0, sizeof(sr));
	sr.method = "POST";
	sr.path = ep->path;
	sr.headers = sh;
	sr.nheaders = nh;
	sr.body = c->body;
	sr.body_len = c->len;
	sc.access_key_id = a->creds.access_key_id;
	sc.secret_access_key = a->creds.secret_access_key;
	sc.session_token = a->creds.session_token;
	sp.region = a->region;
	sp.service = hsdo_creds_service_str(c->svc);
	sp.now_s = now_s(a);
	sp.normalize_path = true;
	rc = hsdo_sigv4_sign(&sr, &sc, &sp, &res, serr, sizeof(serr));
	if (rc != 0) {
		c->rc = rc;
		snprintf(c->err, sizeof(c->err), "%s %s: signing: %s",
			 hsdo_creds_service_str(c->svc), c->op, serr);
		c->state = CS_FAIL;
		return;
	}
	nh = 0;
	hdr[nh++] = hsdo_strdup_printf("Host: %s", ep->host);
	hdr[nh++] = hsdo_strdup_printf("Content-Type: %s", ctype);
	hdr[nh++] = hsdo_strdup_printf("X-Amz-Date: %s", res.amz_date);
	hdr[nh++] = hsdo_strdup_printf("Authorization: %s", res.authorization);
	if (c->proto == HSDO_AWS_JSON)
		hdr[nh++] = hsdo_strdup_printf("X-Amz-Target: %s", c->target);
	if (a->creds.session_token != NULL && a->creds.session_token[0] != '\0')
		hdr[nh++] = hsdo_strdup_printf("X-Amz-Security-Token: %s", a->creds.session_token);
	hsdo_sigv4_result_free(&res);
	memset(&hr, 0, sizeof(hr));
	rc = 0;
	for (i = 0; i < nh; i++) {
		if (hdr[i] == NULL)
			rc = -HSDO_ENOMEM;
		hr.headers[i] = hdr[i];
	}
	if (rc == 0) {
		hr.method = "POST";
		hr.url = ep->post;
		hr.body = c->body;
		hr.body_len = c->len;
		hr.timeout_ms = a->opt.timeout_ms;
		c->tries++;
		c->state = CS_IN_FLIGHT;
		rc = hsdo_http_submit(a->http, &hr, on_http_done, c);
	}
	for (i = 0; i < nh; i++)
		wipe_free(&hdr[i]);
	if (rc != 0) {
		c->rc = rc;
		snprintf(c->err, sizeof(c->err), "%s %s: cannot send: %s",
			 hsdo_creds_service_str(c->svc), c->op, hsdo_strerror(rc));
		c->state = CS_FAIL;
	}
}

/* The AWS error code and message of a non-2xx reply, into code/msg. */
static void decode_error(const struct aws_call *c, char *code, size_t codelen, char *msg,
			 size_t msglen)
{
	char tmp[AWS_ERR_LEN];

	code[0] = '\0';
	msg[0] = '\0';
	if (c->resp == NULL || c->resp_len == 0)
		return;
	if (c->proto == HSDO_AWS_JSON) {
		struct hsdo_ddb_error de;

		if (c->resp[0] != '{')
			return;     /* an HTML page from a load balancer, say */
		(void)hsdo_ddb_decode_error(c->resp, c->resp_len, &de, tmp, sizeof(tmp));
		snprintf(code, codelen, "%s", de.code);
		snprintf(msg, msglen, "%.*s", 300,
			 de.message[0] != '\0' || de.code[0] != '\0' ? de.message : tmp);
	} else {
		struct hsdo_aws_query_error *qe = hsdo_malloc(sizeof(*qe));

		if (qe == NULL)
			return;
		if (hsdo_aws_query_parse_error(c->resp, c->resp_len, qe, tmp, sizeof(tmp)) == 0) {
			snprintf(code, codelen, "%s", qe->code);
			snprintf(msg, msglen, "%.*s", 300, qe->message);
		}
		hsdo_free(qe);
	}
}

static void call_result(struct aws_call *c)
{
	struct hsdo_aws *a = c->a;
	struct hsdo_aws_op_stats *st;
	const char *svc = hsdo_creds_service_str(c->svc);
	char code[128], msg[320], what[AWS_ERR_LEN];
	bool retry = false, expired = false;
	long delay;
	int rc;

	if (c->http_rc == 0 && c->status >= 200 && c->status <= 299) {
		call_finish(c, 0);
		return;
	}
	st = stats_row(a, c->svc, c->op);
	if (c->http_rc != 0) {
		code[0] = '\0';
		snprintf(what, sizeof(what), "%s", c->err);
		/* transport failures are retried; a cancel, a body over the cap
		 * or memory exhaustion are not */
		retry = c->http_rc == -HSDO_EHTTP;
		rc = c->http_rc == -HSDO_EHTTP ? -HSDO_EHTTP : c->http_rc;
	} else {
		decode_error(c, code, sizeof(code), msg, sizeof(msg));
		if (code[0] != '\0')
			snprintf(what, sizeof(what), "%s%s%s", code, msg[0] ? ": " : "", msg);
		else
			snprintf(what, sizeof(what), "HTTP %ld%s%s", c->status, msg[0] ? ": " : "",
				 msg);
		retry = hsdo_aws_retryable(code, c->status);
		if (st != NULL && is_throttle(code, c->status))
			st->throttled++;
		expired = a->remote != REMOTE_NONE && !c->expired_retry &&
			  (strcmp(code, "ExpiredTokenException") == 0 ||
			   strcmp(code, "ExpiredToken") == 0);
		if (strcmp(code, "ConditionalCheckFailedException") == 0)
			rc = -HSDO_ECONFLICT;
		else if (strcmp(code, "ResourceNotFoundException") == 0)
			rc = -HSDO_ENOTFOUND;
		else
			rc = -HSDO_EAWS;
	}
	if (expired) {
		/* remote credentials revoked early: fetch new ones, once */
		c->expired_retry = true;
		a->creds.expiration_s = 1;
		if (st != NULL)
			st->retries++;
		c->state = CS_SEND;
		return;
	}
	if (retry && c->tries < a->opt.max_tries) {
		delay = hsdo_aws_backoff_ms(c->tries, a->opt.base_delay_ms, a->opt.max_delay_ms,
					    rnd(a));
		if (c->retry_after_s > 0 && c->retry_after_s * 1000 <= a->opt.max_delay_ms &&
		    c->retry_after_s * 1000 > delay)
			delay = c->retry_after_s * 1000;
		if (st != NULL)
			st->retries++;
		redact_all(a, what, sizeof(what));
		hsdo_log_debug("aws: %s %s: try %d/%d failed (%s), retrying in %ld ms", svc, c->op,
			       c->tries, a->opt.max_tries, what, delay);
		c->state = CS_BACKOFF;
		if (hsdo_http_after(a->http, delay, on_backoff, c) == 0)
			return;
		c->state = CS_RESULT;
	}
	c->rc = rc;
	if (c->http_rc != 0)
		(void)hsdo_seterr(c->err, sizeof(c->err), 0, "%s %s: %s (%d %s)", svc, c->op, what, c->tries,
			 c->tries == 1 ? "try" : "tries");
	else if (c->request_id[0] != '\0')
		(void)hsdo_seterr(c->err, sizeof(c->err), 0, "%s %s: %s (HTTP %ld, %d %s, request id %s)", svc,
			 c->op, what, c->status, c->tries, c->tries == 1 ? "try" : "tries",
			 c->request_id);
	else
		(void)hsdo_seterr(c->err, sizeof(c->err), 0, "%s %s: %s (HTTP %ld, %d %s)", svc, c->op, what,
			 c->status, c->tries, c->tries == 1 ? "try" : "tries");
	call_finish(c, rc);
}

/* Drive c until it waits for something; frees it when it is done. */
static void call_run(struct aws_call *c)
{
	if (c->running) {
		c->again = true;
		return;
	}
	c->running = true;
	do {
		c->again = false;
		switch (c->state) {
		case CS_SEND:
			call_send(c);
			if (c->state == CS_SEND || c->state == CS_FAIL || c->state == CS_RESULT)
				c->again = true;
			break;
		case CS_RESULT:
			call_result(c);
			if (c->state == CS_SEND || c->state == CS_RESULT)
				c->again = true;
			break;
		case CS_FAIL:
			call_finish(c, c->rc);
			break;
		case CS_WAIT_CREDS:
		case CS_IN_FLIGHT:
		case CS_BACKOFF:
		case CS_DONE:
			break;
		}
	} while (c->again && c->state != CS_DONE);
	c->running = false;
	if (c->state == CS_DONE)
		call_free(c);
}

int hsdo_aws_call(struct hsdo_aws *a, const struct hsdo_aws_request *req,
		  hsdo_aws_done_fn done, void *arg)
{
	struct aws_call *c;

	if (a == NULL || req == NULL || done == NULL || req->operation == NULL ||
	    (unsigned)req->service >= HSDO_CREDS_SVC_COUNT ||
	    (req->protocol != HSDO_AWS_JSON && req->protocol != HSDO_AWS_QUERY) ||
	    (req->protocol == HSDO_AWS_JSON &&
	     (req->target == NULL || strpbrk(req->target, "\r\n") != NULL)) ||
	    (req->body == NULL && req->len > 0))
		return -HSDO_EINVAL;
	c = hsdo_calloc(1, sizeof(*c));
	if (c == NULL)
		return -HSDO_ENOMEM;
	c->a = a;
	c->svc = req->service;
	c->proto = req->protocol;
	snprintf(c->op, sizeof(c->op), "%s", req->operation);
	c->target = hsdo_strdup(req->protocol == HSDO_AWS_JSON ? req->target : "");
	c->body = hsdo_malloc(req->len + 1);
	if (c->target == NULL || c->body == NULL) {
		call_free(c);
		return -HSDO_ENOMEM;
	}
	if (req->len > 0)
		memcpy(c->body, req->body, req->len);
	c->body[req->len] = '\0';
	c->len = req->len;
	c->done = done;
	c->arg = arg;
	c->state = CS_SEND;
	c->next = a->calls;
	if (a->calls != NULL)
		a->calls->prev = c;
	a->calls = c;
	a->ncalls++;
	call_run(c);
	return 0;
}

/* ---- blocking convenience ----------------------------------------------------------- */

struct sync_call {
	bool done;
	int rc;
	char *body;
	size_t len;
	char *err;
	size_t errlen;
};

static void sync_done(void *arg, int rc, const char *body, size_t len, const char *err)
{
	struct sync_call *s = arg;

	s->done = true;
	s->rc = rc;
	if (rc == 0) {
		s->body = hsdo_malloc(len + 1);
		if (s->body == NULL) {
			s->rc = hsdo_seterr(s->err, s->errlen, -HSDO_ENOMEM, "out of memory");
			return;
		}
		memcpy(s->body, body, len);
		s->body[len] = '\0';
		s->len = len;
	} else if (s->err != NULL && s->errlen > 0) {
		snprintf(s->err, s->errlen, "%s", err);
	}
}

int hsdo_aws_call_sync(struct hsdo_aws *a, const struct hsdo_aws_request *req,
		       char **body, size_t *len, char *err, size_t errlen)
{
	struct sync_call s = { false, 0, NULL, 0, err, errlen };
	int rc;

	if (body != NULL)
		*body = NULL;
	if (len != NULL)
		*len = 0;
	if (a == NULL || !hsdo_http_blocking(a->http))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL,
				   "aws: a synchronous call needs a blocking transport");
	rc = hsdo_aws_call(a, req, sync_done, &s);
	if (rc != 0)
		return hsdo_seterr(err, errlen, rc, "aws %s: %s",
				   req != NULL && req->operation ? req->operation : "call",
				   hsdo_strerror(rc));
	if (!s.done)
		return hsdo_seterr(err, errlen, -HSDO_EAGAIN, "aws: call did not complete");
	if (s.rc != 0) {
		hsdo_free(s.body);
		return s.rc;
	}
	if (body != NULL)
		*body = s.body;
	else
		hsdo_free(s.body);
	if (len != NULL)
		*len = s.len;
	return 0;
}

/* ---- teardown ------------------------------------------------------------------------ */

void hsdo_aws_free(struct hsdo_aws *a)
{
	struct aws_call *c;

	if (a == NULL)
		return;
	/* What remains never completes now (see aws.h): tell its owners. */
	while ((c = a->calls) != NULL) {
		c->rc = -HSDO_EAGAIN;
		snprintf(c->err, sizeof(c->err), "%s %s: cancelled",
			 hsdo_creds_service_str(c->svc), c->op);
		hsdo_free(c->resp);
		c->resp = NULL;
		c->resp_len = 0;
		call_unlink(c);
		c->done(c->arg, -HSDO_EAGAIN, NULL, 0, c->err);
		call_free(c);
	}
	aws_release(a);
}
