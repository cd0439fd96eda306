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
#include "hsdo/aws_ops.h"
#include "hsdo/aws_query.h"
#include "hsdo/creds.h"
#include "hsdo/ddb.h"
#include "hsdo/err.h"
#include "hsdo/http.h"
#include "hsdo/log.h"
#include "hsdo/sigv4.h"
#include "aws_int.h"

#define AWS_TRIES_MAX      20

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

/* ---- small helpers ---------------------------------------------------------- */

int64_t hsdo_aws_now(const struct hsdo_aws *a)
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

void hsdo_aws_redact(const struct hsdo_aws *a, char *s, size_t size)
{
	redact(s, size, a->creds.secret_access_key);
	redact(s, size, a->creds.session_token);
	redact(s, size, a->basec.secret_access_key);
	redact(s, size, a->basec.session_token);
	redact(s, size, a->stepc.secret_access_key);
	redact(s, size, a->stepc.session_token);
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

int hsdo_aws_endpoint_set(struct aws_endpoint *e, const char *url, char *err, size_t errlen)
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

void hsdo_aws_endpoint_free(struct aws_endpoint *e)
{
	hsdo_free(e->url);
	hsdo_free(e->post);
	hsdo_free(e->host);
	hsdo_free(e->path);
	memset(e, 0, sizeof(*e));
}

static void aws_release(struct hsdo_aws *a)
{
	int s;

	hsdo_aws_creds_release(a);
	hsdo_creds_free(&a->creds);
	for (s = 0; s < HSDO_CREDS_SVC_COUNT; s++)
		hsdo_aws_endpoint_free(&a->ep[s]);
	for (s = 0; s < HSDO_CREDS_SVC_COUNT + 1; s++)
		hsdo_free(a->endpoint_env[s]);
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
	rc = hsdo_aws_creds_resolve(a, a->opt.envp, err, errlen);
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
	if ((unsigned)svc >= HSDO_CREDS_SVC_COUNT || a->ep[svc].url == NULL)
		return "";
	return a->ep[svc].url;
}

const char *hsdo_aws_creds_source(const struct hsdo_aws *a)
{
	return a->source;
}

enum hsdo_creds_region_source hsdo_aws_region_source(const struct hsdo_aws *a,
						     const char **where)
{
	if (where != NULL)
		*where = a->region_where;
	return a->region_pending ? HSDO_CREDS_REGION_NONE : a->region_src;
}

const char *hsdo_aws_creds_chain(const struct hsdo_aws *a)
{
	return a->chain;
}

/* ---- calls: declarations ---------------------------------------------------------- */

static void call_run(struct aws_call *c);

/* ---- credentials ---------------------------------------------------------------------- */

/* 1: credentials usable now; 0: c waits (in a->waiters) for a fetch. */
static int creds_ready(struct hsdo_aws *a, struct aws_call *c)
{
	if (hsdo_aws_creds_ready(a))
		return 1;
	c->wnext = a->waiters;
	a->waiters = c;
	c->state = CS_WAIT_CREDS;
	hsdo_aws_creds_fetch(a);
	return 0;
}

void hsdo_aws_fetched(struct hsdo_aws *a, int rc, const char *err)
{
	struct aws_call *w, *next;

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
					  hsdo_creds_service_str(w->svc), w->op, err);
		}
		call_run(w);
	}
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
		hsdo_aws_redact(a, c->err, sizeof(c->err));
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

int hsdo_aws_sign(const struct hsdo_aws *a, const struct hsdo_creds *creds,
		  enum hsdo_creds_service svc, const char *ctype, const char *target,
		  const char *body, size_t len, char **hdr, size_t *nh, char *err, size_t errlen)
{
	const struct aws_endpoint *ep = &a->ep[svc];
	struct hsdo_sigv4_header sh[3];
	struct hsdo_sigv4_request sr;
	struct hsdo_sigv4_credentials sc;
	struct hsdo_sigv4_params sp;
	struct hsdo_sigv4_result res;
	char serr[256];
	size_t n = 0, i;
	int rc;

	*nh = 0;
	sh[n++] = (struct hsdo_sigv4_header){ "Host", ep->host };
	sh[n++] = (struct hsdo_sigv4_header){ "Content-Type", ctype };
	if (target != NULL)
		sh[n++] = (struct hsdo_sigv4_header){ "X-Amz-Target", target };
	memset(&sr, 0, sizeof(sr));
	sr.method = "POST";
	sr.path = ep->path;
	sr.headers = sh;
	sr.nheaders = n;
	sr.body = body;
	sr.body_len = len;
	sc.access_key_id = creds->access_key_id;
	sc.secret_access_key = creds->secret_access_key;
	sc.session_token = creds->session_token;
	sp.region = a->region;
	sp.service = hsdo_creds_service_str(svc);
	sp.now_s = hsdo_aws_now(a);
	sp.normalize_path = true;
	rc = hsdo_sigv4_sign(&sr, &sc, &sp, &res, serr, sizeof(serr));
	if (rc != 0)
		return hsdo_seterr(err, errlen, rc, "signing: %s", serr);
	n = 0;
	hdr[n++] = hsdo_strdup_printf("Host: %s", ep->host);
	hdr[n++] = hsdo_strdup_printf("Content-Type: %s", ctype);
	hdr[n++] = hsdo_strdup_printf("X-Amz-Date: %s", res.amz_date);
	hdr[n++] = hsdo_strdup_printf("Authorization: %s", res.authorization);
	if (target != NULL)
		hdr[n++] = hsdo_strdup_printf("X-Amz-Target: %s", target);
	if (creds->session_token != NULL && creds->session_token[0] != '\0')
		hdr[n++] = hsdo_strdup_printf("X-Amz-Security-Token: %s", creds->session_token);
	hsdo_sigv4_result_free(&res);
	*nh = n;
	for (i = 0; i < n; i++)
		if (hdr[i] == NULL)
			return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	return 0;
}

/* Sign the call and submit it. */
static void call_send(struct aws_call *c)
{
	struct hsdo_aws *a = c->a;
	const char *ctype = c->proto == HSDO_AWS_JSON ? HSDO_DDB_CONTENT_TYPE :
			    HSDO_AWS_QUERY_CONTENT_TYPE;
	struct hsdo_http_request hr;
	char *hdr[6] = { NULL };
	char serr[256];
	size_t nh = 0, i;
	int rc;

	rc = creds_ready(a, c);
	if (rc == 0)
		return;
	rc = hsdo_aws_sign(a, &a->creds, c->svc, ctype, c->proto == HSDO_AWS_JSON ? c->target : NULL,
			   c->body, c->len, hdr, &nh, serr, sizeof(serr));
	memset(&hr, 0, sizeof(hr));
	if (rc == 0) {
		for (i = 0; i < nh; i++)
			hr.headers[i] = hdr[i];
		hr.method = "POST";
		hr.url = a->ep[c->svc].post;
		hr.body = c->body;
		hr.body_len = c->len;
		hr.timeout_ms = a->opt.timeout_ms;
		c->tries++;
		c->state = CS_IN_FLIGHT;
		rc = hsdo_http_submit(a->http, &hr, on_http_done, c);
		if (rc != 0)
			snprintf(serr, sizeof(serr), "cannot send: %s", hsdo_strerror(rc));
	}
	for (i = 0; i < nh; i++)
		if (hdr[i] != NULL)
			hsdo_freezero(hdr[i], strlen(hdr[i]));
	if (rc != 0) {
		c->rc = rc;
		snprintf(c->err, sizeof(c->err), "%s %s: %s", hsdo_creds_service_str(c->svc), c->op,
			 serr);
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
		snprintf(msg, msglen, "%.300s", de.message[0] != '\0' || de.code[0] != '\0' ? de.message :
			 tmp);
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
		expired = a->dynamic && !c->expired_retry &&
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
		hsdo_aws_creds_expire(a);
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
		hsdo_aws_redact(a, what, sizeof(what));
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

/* Whether the action actually sent (the X-Amz-Target's operation, or the
 * Query body's Action) is one the client's principal may send. */
static bool permitted(const struct hsdo_aws *a, const struct aws_call *c)
{
	char action[64];
	const char *s;
	size_t n;

	if (a->opt.principal == 0)
		return true;
	if (c->proto == HSDO_AWS_JSON) {
		s = strrchr(c->target, '.');
		s = s != NULL ? s + 1 : c->target;
		n = strlen(s);
	} else {
		if (strncmp(c->body, "Action=", 7) != 0)
			return false;
		s = c->body + 7;
		n = strcspn(s, "&");
	}
	if (n >= sizeof(action))
		return false;
	memcpy(action, s, n);
	action[n] = '\0';
	return hsdo_aws_ops_allowed(a->opt.principal, c->svc, action);
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
	if (!permitted(a, c)) {
		c->rc = -HSDO_EINVAL;
		snprintf(c->err, sizeof(c->err), "%s %s: not an operation of the %s's IAM policy "
			 "(libhsdo/aws/aws_ops.c, docs/iam/)", hsdo_creds_service_str(c->svc), c->op,
			 hsdo_aws_principal_str((enum hsdo_aws_principal)a->opt.principal));
		c->state = CS_FAIL;
	}
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
