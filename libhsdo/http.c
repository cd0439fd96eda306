/* HTTP transport on libcurl's multi interface; see http.h.
 *
 * One multi handle carries every transfer, so its connection cache (and
 * DNS cache) is shared; a share handle adds TLS session resumption across
 * easy handles, which are pooled and reset between transfers.
 *
 * Blocking mode drives the multi with curl_multi_perform/curl_multi_poll
 * until the submitted transfer is done; a done callback that submits again
 * nests one level deeper (bounded by HTTP_NEST_MAX, small frames only).
 * Event mode follows curl's evhiperfifo example: curl's socket callback
 * becomes loop->watch, and the one loop timer is the earlier of curl's
 * timeout and the first delayed call.
 *
 * Callbacks (done, delayed calls) always run from our own code after curl
 * has returned, never from inside a curl callback, so they may submit. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "hsdo/alloc.h"
#include "hsdo/clock.h"
#include "hsdo/err.h"
#include "hsdo/http.h"

#ifndef HSDO_VERSION
#define HSDO_VERSION "0"
#endif

#define HTTP_CONNECT_TIMEOUT_MS 2000L
#define HTTP_TIMEOUT_MS         10000L
#define HTTP_POOL_MAX           16u     /* idle easy handles kept */
#define HTTP_NEST_MAX           64      /* blocking mode: submit/after nesting */
#define HTTP_POLL_MS            1000    /* blocking mode: max wait per poll */
#define HTTP_METHOD_MAX         16u
#define HTTP_BODY_INITIAL       16384u
#define HTTP_HOST_LEN           280u    /* "[host]:port" for messages */

struct xfer {
	struct hsdo_http *h;
	struct xfer *prev, *next;       /* h->xfers */
	CURL *easy;
	struct curl_slist *hdrs;
	hsdo_http_done_fn done;
	void *arg;
	bool *finished;                 /* blocking mode: set when done ran */
	char *buf;                      /* response body, NUL-terminated */
	size_t len, cap, max_body;
	bool toobig, nomem;
	char *query;                    /* kept to keep it out of messages */
	struct hsdo_http_response resp;
	char host[HTTP_HOST_LEN];
	char curlerr[CURL_ERROR_SIZE];
	char err[HSDO_HTTP_ERR_LEN];
};

struct delayed {
	struct delayed *next;
	int64_t due_us;
	void (*fn)(void *arg);
	void *arg;
};

struct hsdo_http {
	CURLM *multi;
	CURLSH *share;
	bool blocking;
	bool closing;                   /* hsdo_http_free is cancelling */
	bool global;                    /* holds a curl_global_init reference */
	struct hsdo_http_loop loop;
	char *ca_file;
	char *user_agent;
	long connect_timeout_ms, timeout_ms;
	size_t max_body;
	struct xfer *xfers;             /* in flight */
	size_t nxfers;
	struct delayed *delayed;        /* sorted by due_us, FIFO on ties */
	size_t ndelayed;
	CURL *pool[HTTP_POOL_MAX];
	unsigned npool;
	int nest;                       /* blocking mode depth */
	int64_t curl_due_us;            /* curl's timer, -1: none */
	int64_t armed_us;               /* what loop->timer was last set to, -1: off */
	struct hsdo_http_stats stats;
};

static const char empty_body[1] = "";

/* ---- easy handle pool ------------------------------------------------------- */

static CURL *easy_get(struct hsdo_http *h)
{
	if (h->npool > 0)
		return h->pool[--h->npool];
	return curl_easy_init();
}

static void easy_put(struct hsdo_http *h, CURL *e)
{
	if (e == NULL)
		return;
	if (h->npool < HTTP_POOL_MAX) {
		curl_easy_reset(e);
		h->pool[h->npool++] = e;
		return;
	}
	curl_easy_cleanup(e);
}

/* Headers (tokens), the query (presigned URLs) and the response body
 * (credentials from the instance metadata) are wiped before they are freed. */
static void xfer_free(struct xfer *x)
{
	struct curl_slist *l;

	if (x == NULL)
		return;
	for (l = x->hdrs; l != NULL; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(x->hdrs);
	hsdo_freezero(x->buf, x->cap);
	if (x->query != NULL)
		hsdo_freezero(x->query, strlen(x->query));
	hsdo_free(x);
}

/* ---- loop timer ------------------------------------------------------------- */

/* Arm the loop's single timer for min(curl's timeout, first delayed call). */
static void rearm(struct hsdo_http *h)
{
	int64_t due = h->curl_due_us, ms;

	if (h->blocking || h->loop.timer == NULL)
		return;
	if (h->delayed != NULL && (due < 0 || h->delayed->due_us < due))
		due = h->delayed->due_us;
	if (due == h->armed_us)
		return;
	h->armed_us = due;
	if (due < 0) {
		h->loop.timer(h->loop.ctx, -1);
		return;
	}
	ms = due - hsdo_clock_mono_us();
	ms = ms <= 0 ? 0 : (ms + 999) / 1000;
	h->loop.timer(h->loop.ctx, (long)ms);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *ud)
{
	struct hsdo_http *h = ud;

	(void)multi;
	h->curl_due_us = timeout_ms < 0 ? -1 : hsdo_clock_mono_us() + (int64_t)timeout_ms * 1000;
	rearm(h);
	return 0;
}

static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *ud, void *socketp)
{
	struct hsdo_http *h = ud;
	int w = 0;

	(void)easy;
	(void)socketp;
	switch (what) {
	case CURL_POLL_IN: w = HSDO_HTTP_WATCH_IN; break;
	case CURL_POLL_OUT: w = HSDO_HTTP_WATCH_OUT; break;
	case CURL_POLL_INOUT: w = HSDO_HTTP_WATCH_IN | HSDO_HTTP_WATCH_OUT; break;
	case CURL_POLL_REMOVE: w = HSDO_HTTP_WATCH_REMOVE; break;
	default: return 0;
	}
	return h->loop.watch(h->loop.ctx, (int)s, w) == 0 ? 0 : -1;
}

/* ---- response callbacks ----------------------------------------------------- */

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * n;

	if (len > x->max_body - x->len) {
		x->toobig = true;
		return 0;
	}
	if (x->len + len + 1 > x->cap) {
		size_t cap = x->cap ? x->cap : HTTP_BODY_INITIAL;
		char *nb;

		while (cap < x->len + len + 1)
			cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
		if (cap > x->max_body + 1)
			cap = x->max_body + 1;
		/* not realloc: the old block is wiped, it may hold secrets */
		nb = hsdo_malloc(cap);
		if (nb == NULL) {
			x->nomem = true;
			return 0;
		}
		if (x->buf != NULL) {
			memcpy(nb, x->buf, x->len);
			hsdo_freezero(x->buf, x->cap);
		}
		x->buf = nb;
		x->cap = cap;
	}
	memcpy(x->buf + x->len, p, len);
	x->len += len;
	x->buf[x->len] = '\0';
	return len;
}

static bool name_is(const char *p, size_t len, const char *name)
{
	return strlen(name) == len && strncasecmp(p, name, len) == 0;
}

/* Copy a header value, printable ASCII only (it may reach a log line). */
static void copy_printable(char *dst, size_t dstlen, const char *v, size_t vlen)
{
	size_t i;

	if (vlen >= dstlen)
		vlen = dstlen - 1;
	for (i = 0; i < vlen; i++)
		dst[i] = (v[i] >= 0x20 && v[i] < 0x7f) ? v[i] : '?';
	dst[vlen] = '\0';
}

static long parse_retry_after(const char *v, size_t vlen)
{
	char tmp[64];
	size_t i;
	long s = 0;
	time_t when;

	if (vlen == 0 || vlen >= sizeof(tmp))
		return -1;
	for (i = 0; i < vlen && v[i] >= '0' && v[i] <= '9'; i++)
		if (s < 1000000000L)
			s = s * 10 + (v[i] - '0');
	if (i == vlen)
		return s;
	/* An HTTP-date: seconds from now, 0 when in the past. */
	memcpy(tmp, v, vlen);
	tmp[vlen] = '\0';
	when = curl_getdate(tmp, NULL);
	if (when == (time_t)-1)
		return -1;
	s = (long)(when - time(NULL));
	return s < 0 ? 0 : s;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * n, nlen, vlen;
	const char *colon, *v;

	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		/* A new response (after 100 Continue): forget earlier captures. */
		x->resp.request_id[0] = '\0';
		x->resp.consul_index[0] = '\0';
		x->resp.retry_after_s = -1;
		return len;
	}
	colon = memchr(p, ':', len);
	if (colon == NULL)
		return len;
	nlen = (size_t)(colon - p);
	v = colon + 1;
	vlen = len - nlen - 1;
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' ' ||
			    v[vlen - 1] == '\t'))
		vlen--;
	if (name_is(p, nlen, "x-amzn-RequestId") ||
	    (name_is(p, nlen, "x-amz-request-id") && x->resp.request_id[0] == '\0')) {
		copy_printable(x->resp.request_id, sizeof(x->resp.request_id), v, vlen);
	} else if (name_is(p, nlen, "X-Consul-Index")) {
		size_t i;

		x->resp.consul_index[0] = '\0';
		if (vlen == 0 || vlen >= sizeof(x->resp.consul_index))
			return len;
		for (i = 0; i < vlen; i++)
			if (v[i] < '0' || v[i] > '9')
				return len;
		memcpy(x->resp.consul_index, v, vlen);
		x->resp.consul_index[vlen] = '\0';
	} else if (name_is(p, nlen, "Retry-After")) {
		x->resp.retry_after_s = parse_retry_after(v, vlen);
	}
	return len;
}

/* ---- completion ------------------------------------------------------------- */

static void stats_add(struct hsdo_http *h, int rc, CURL *e, bool reused)
{
	curl_off_t in = 0, out = 0;

	h->stats.requests++;
	if (rc != 0)
		h->stats.failures++;
	if (reused)
		h->stats.reused++;
	if (e != NULL) {
		if (curl_easy_getinfo(e, CURLINFO_SIZE_DOWNLOAD_T, &in) == CURLE_OK && in > 0)
			h->stats.bytes_in += (uint64_t)in;
		if (curl_easy_getinfo(e, CURLINFO_SIZE_UPLOAD_T, &out) == CURLE_OK && out > 0)
			h->stats.bytes_out += (uint64_t)out;
	}
}

/* curl's message, unless it quotes something of the request beyond the
 * host (path, query, a header value): then its generic text. */
static const char *safe_reason(const struct xfer *x, CURLcode code)
{
	const char *msg = x->curlerr;
	const struct curl_slist *l;

	if (msg[0] == '\0')
		return curl_easy_strerror(code);
	if (x->query != NULL && x->query[0] != '\0' && strstr(msg, x->query) != NULL)
		return curl_easy_strerror(code);
	for (l = x->hdrs; l != NULL; l = l->next) {
		const char *v = strchr(l->data, ':');

		if (v == NULL)
			continue;
		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		if (strlen(v) >= 3 && strstr(msg, v) != NULL)
			return curl_easy_strerror(code);
	}
	return msg;
}

static void unlink_xfer(struct hsdo_http *h, struct xfer *x)
{
	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		h->xfers = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	x->prev = x->next = NULL;
	h->nxfers--;
}

/* The transfer is over (code from curl, or `forced` < 0 for a cancel or a
 * multi failure with its message): detach it, call done, free it. */
static void finish(struct hsdo_http *h, struct xfer *x, CURLcode code, int forced,
		   const char *forced_msg)
{
	int rc = 0;
	long status = 0;
	curl_off_t total = 0;
	long conns = 0;
	bool reused = false;

	unlink_xfer(h, x);
	(void)curl_multi_remove_handle(h->multi, x->easy);
	if (forced == 0) {
		if (curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK)
			x->resp.status = status;
		if (curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &total) == CURLE_OK)
			x->resp.total_s = (double)total / 1e6;
		if (curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &conns) == CURLE_OK)
			reused = conns == 0 && code == CURLE_OK;
		x->resp.reused = reused;
	}
	x->err[0] = '\0';
	if (forced < 0) {
		rc = forced;
		hsdo_seterr(x->err, sizeof(x->err), rc, "%s", forced_msg);
	} else if (x->nomem) {
		rc = hsdo_seterr(x->err, sizeof(x->err), -HSDO_ENOMEM,
				 "%s: out of memory for the response body", x->host);
	} else if (x->toobig || code == CURLE_FILESIZE_EXCEEDED) {
		rc = hsdo_seterr(x->err, sizeof(x->err), -HSDO_ETOOBIG,
				 "%s: response body over %zu bytes", x->host, x->max_body);
	} else if (code != CURLE_OK) {
		rc = hsdo_seterr(x->err, sizeof(x->err), -HSDO_EHTTP, "%s: %s", x->host,
				 safe_reason(x, code));
	}
	stats_add(h, rc, x->easy, reused);
	easy_put(h, x->easy);
	x->easy = NULL;
	if (rc != 0)
		x->resp.status = 0;
	x->resp.body = (rc == 0 && x->buf != NULL) ? x->buf : empty_body;
	x->resp.len = rc == 0 ? x->len : 0;
	if (x->finished != NULL)
		*x->finished = true;
	x->done(x->arg, rc, &x->resp, x->err);
	xfer_free(x);
}

static void process_done(struct hsdo_http *h)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
		char *priv = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		if (curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv) != CURLE_OK ||
		    priv == NULL)
			continue;
		finish(h, (struct xfer *)(void *)priv, m->data.result, 0, NULL);
	}
}

/* Event mode: run the delayed calls due by now (not ones they add). */
static void run_due(struct hsdo_http *h)
{
	int64_t now = hsdo_clock_mono_us();

	while (h->delayed != NULL && h->delayed->due_us <= now && !h->closing) {
		struct delayed *d = h->delayed;

		h->delayed = d->next;
		h->ndelayed--;
		d->fn(d->arg);
		hsdo_free(d);
	}
}

/* ---- engine ------------------------------------------------------------------- */

int hsdo_http_new(const struct hsdo_http_options *opt, const struct hsdo_http_loop *loop,
		  struct hsdo_http **out, char *err, size_t errlen)
{
	struct hsdo_http *h;
	CURLMcode mc = CURLM_OK;

	if (out == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "http: no result pointer");
	*out = NULL;
	if (opt != NULL && (opt->connect_timeout_ms < 0 || opt->timeout_ms < 0 ||
			    opt->max_host_connections < 0))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "http: negative timeout or limit");
	if (opt != NULL && opt->ca_file != NULL) {
		if (opt->ca_file[0] == '\0')
			return hsdo_seterr(err, errlen, -HSDO_EINVAL, "http: empty CA file name");
		if (access(opt->ca_file, R_OK) != 0)
			return hsdo_seterr(err, errlen, -HSDO_EINVAL, "http: CA file %s: %s",
					   opt->ca_file, strerror(errno));
	}
	if (loop != NULL && (loop->watch == NULL || loop->timer == NULL))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "http: loop without watch or timer");
	h = hsdo_calloc(1, sizeof(*h));
	if (h == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "http: out of memory");
	h->blocking = loop == NULL;
	if (loop != NULL)
		h->loop = *loop;
	h->connect_timeout_ms = HTTP_CONNECT_TIMEOUT_MS;
	h->timeout_ms = HTTP_TIMEOUT_MS;
	h->max_body = HSDO_HTTP_BODY_MAX_DEFAULT;
	h->curl_due_us = -1;
	h->armed_us = -1;
	if (opt != NULL) {
		if (opt->connect_timeout_ms > 0)
			h->connect_timeout_ms = opt->connect_timeout_ms;
		if (opt->timeout_ms > 0)
			h->timeout_ms = opt->timeout_ms;
		if (opt->max_body > 0)
			h->max_body = opt->max_body;
	}
	h->user_agent = hsdo_strdup(opt != NULL && opt->user_agent != NULL ? opt->user_agent :
				    "hsdo/" HSDO_VERSION);
	if (h->user_agent == NULL)
		goto nomem;
	if (opt != NULL && opt->ca_file != NULL) {
		h->ca_file = hsdo_strdup(opt->ca_file);
		if (h->ca_file == NULL)
			goto nomem;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		hsdo_free(h->user_agent);
		hsdo_free(h->ca_file);
		hsdo_free(h);
		return hsdo_seterr(err, errlen, -HSDO_EHTTP, "http: curl_global_init failed");
	}
	h->global = true;
	h->multi = curl_multi_init();
	h->share = curl_share_init();
	if (h->multi == NULL || h->share == NULL) {
		hsdo_http_free(h);
		return hsdo_seterr(err, errlen, -HSDO_EHTTP, "http: cannot create curl handles");
	}
	if (curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
		curl_share_cleanup(h->share);
		h->share = NULL;
	}
	if (opt != NULL && opt->max_host_connections > 0)
		mc = curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
				       opt->max_host_connections);
	if (mc == CURLM_OK && !h->blocking) {
		mc = curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
		if (mc == CURLM_OK)
			mc = curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
		if (mc == CURLM_OK)
			mc = curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
		if (mc == CURLM_OK)
			mc = curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	}
	if (mc != CURLM_OK) {
		hsdo_http_free(h);
		return hsdo_seterr(err, errlen, -HSDO_EHTTP, "http: %s", curl_multi_strerror(mc));
	}
	*out = h;
	return 0;
nomem:
	hsdo_free(h->user_agent);
	hsdo_free(h);
	return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "http: out of memory");
}

void hsdo_http_free(struct hsdo_http *h)
{
	unsigned i;

	if (h == NULL)
		return;
	h->closing = true;
	while (h->xfers != NULL)
		finish(h, h->xfers, CURLE_OK, -HSDO_EAGAIN, "cancelled");
	while (h->delayed != NULL) {
		struct delayed *d = h->delayed;

		h->delayed = d->next;
		hsdo_free(d);
	}
	h->ndelayed = 0;
	h->curl_due_us = -1;
	rearm(h);
	if (h->multi != NULL)
		curl_multi_cleanup(h->multi);
	for (i = 0; i < h->npool; i++)
		curl_easy_cleanup(h->pool[i]);
	if (h->share != NULL)
		curl_share_cleanup(h->share);
	if (h->global)
		curl_global_cleanup();
	hsdo_free(h->ca_file);
	hsdo_free(h->user_agent);
	hsdo_free(h);
}

bool hsdo_http_blocking(const struct hsdo_http *h)
{
	return h != NULL && h->blocking;
}

size_t hsdo_http_pending(const struct hsdo_http *h)
{
	return h == NULL ? 0 : h->nxfers + h->ndelayed;
}

void hsdo_http_stats(const struct hsdo_http *h, struct hsdo_http_stats *out)
{
	if (out == NULL)
		return;
	if (h == NULL)
		memset(out, 0, sizeof(*out));
	else
		*out = h->stats;
}

/* ---- submitting ------------------------------------------------------------- */

static bool valid_method(const char *m)
{
	size_t i;

	if (m == NULL || m[0] == '\0')
		return false;
	for (i = 0; m[i] != '\0'; i++)
		if (i >= HTTP_METHOD_MAX || m[i] < 'A' || m[i] > 'Z')
			return false;
	return true;
}

static bool header_has(const struct hsdo_http_request *req, size_t n, const char *name)
{
	size_t i, nlen = strlen(name);

	for (i = 0; i < n; i++)
		if (strncasecmp(req->headers[i], name, nlen) == 0 && req->headers[i][nlen] == ':')
			return true;
	return false;
}

/* Check the URL (http or https with a host) and note "host:port" and the
 * query for messages. */
static int parse_url(struct xfer *x, const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *query = NULL;
	int rc = -HSDO_EINVAL;

	if (u == NULL)
		return -HSDO_ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
		goto out;
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0')
		goto out;
	if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK && query[0] != '\0') {
		x->query = hsdo_strdup(query);
		if (x->query == NULL) {
			rc = -HSDO_ENOMEM;
			goto out;
		}
	}
	snprintf(x->host, sizeof(x->host), "%s:%s", host, port);
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(query);
	curl_url_cleanup(u);
	return rc;
}

static int set_options(struct hsdo_http *h, struct xfer *x, const struct hsdo_http_request *req)
{
	CURL *e = x->easy;
	CURLcode c = CURLE_OK;
	long cto = req->connect_timeout_ms > 0 ? req->connect_timeout_ms : h->connect_timeout_ms;
	long to = req->timeout_ms > 0 ? req->timeout_ms : h->timeout_ms;

#define SET(opt, val) do { if (c == CURLE_OK) c = curl_easy_setopt(e, opt, val); } while (0)
	SET(CURLOPT_PRIVATE, (void *)x);
	SET(CURLOPT_URL, req->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	SET(CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, cto);
	SET(CURLOPT_TIMEOUT_MS, to);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->ca_file != NULL)
		SET(CURLOPT_CAINFO, h->ca_file);
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_USERAGENT, h->user_agent);
	SET(CURLOPT_ERRORBUFFER, x->curlerr);
	SET(CURLOPT_WRITEFUNCTION, on_write);
	SET(CURLOPT_WRITEDATA, (void *)x);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, (void *)x);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)(x->max_body > (size_t)INT64_MAX ?
						     INT64_MAX : (int64_t)x->max_body));
	if (h->share != NULL)
		SET(CURLOPT_SHARE, h->share);
	if (strcmp(req->method, "GET") == 0 && req->body_len == 0) {
		SET(CURLOPT_HTTPGET, 1L);
	} else if (strcmp(req->method, "HEAD") == 0) {
		SET(CURLOPT_NOBODY, 1L);
	} else {
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		SET(CURLOPT_COPYPOSTFIELDS, req->body_len ? (const char *)req->body : "");
		if (strcmp(req->method, "POST") != 0)
			SET(CURLOPT_CUSTOMREQUEST, req->method);
	}
	SET(CURLOPT_HTTPHEADER, x->hdrs);
#undef SET
	if (c == CURLE_OUT_OF_MEMORY)
		return -HSDO_ENOMEM;
	return c == CURLE_OK ? 0 : -HSDO_EINVAL;
}

/* Blocking mode: drive the multi until *finished. */
static void run_blocking(struct hsdo_http *h, struct xfer *x, bool *finished)
{
	while (!*finished) {
		int running = 0;
		CURLMcode mc = curl_multi_perform(h->multi, &running);

		process_done(h);
		if (*finished)
			break;
		if (mc == CURLM_OK)
			mc = curl_multi_poll(h->multi, NULL, 0, HTTP_POLL_MS, NULL);
		if (mc != CURLM_OK && mc != CURLM_CALL_MULTI_PERFORM) {
			char msg[HTTP_HOST_LEN + 128];

			snprintf(msg, sizeof(msg), "%s: %s", x->host, curl_multi_strerror(mc));
			finish(h, x, CURLE_OK, -HSDO_EHTTP, msg);
		}
	}
}

int hsdo_http_submit(struct hsdo_http *h, const struct hsdo_http_request *req,
		     hsdo_http_done_fn done, void *arg)
{
	struct xfer *x;
	size_t nh = 0, i;
	bool finished = false;
	int rc;

	if (h == NULL || req == NULL || done == NULL || req->url == NULL ||
	    !valid_method(req->method) || (req->body == NULL && req->body_len > 0) ||
	    req->connect_timeout_ms < 0 || req->timeout_ms < 0 || h->closing)
		return -HSDO_EINVAL;
	if (strcmp(req->method, "HEAD") == 0 && req->body_len > 0)
		return -HSDO_EINVAL;
	while (nh < HSDO_HTTP_HEADERS_MAX && req->headers[nh] != NULL)
		nh++;
	for (i = 0; i < nh; i++) {
		const char *hd = req->headers[i], *c = strchr(hd, ':');

		if (c == NULL || c == hd || strpbrk(hd, "\r\n") != NULL)
			return -HSDO_EINVAL;
	}
	if (h->blocking && h->nest >= HTTP_NEST_MAX)
		return -HSDO_ETOOBIG;
	x = hsdo_calloc(1, sizeof(*x));
	if (x == NULL)
		return -HSDO_ENOMEM;
	x->h = h;
	x->done = done;
	x->arg = arg;
	x->max_body = req->max_body > 0 ? req->max_body : h->max_body;
	x->resp.retry_after_s = -1;
	rc = parse_url(x, req->url);
	if (rc != 0)
		goto fail;
	rc = -HSDO_ENOMEM;
	for (i = 0; i < nh; i++) {
		struct curl_slist *l = curl_slist_append(x->hdrs, req->headers[i]);

		if (l == NULL)
			goto fail;
		x->hdrs = l;
	}
	/* No 100-continue round trip, no form content type the caller did not ask for. */
	if (!header_has(req, nh, "Expect")) {
		struct curl_slist *l = curl_slist_append(x->hdrs, "Expect:");

		if (l == NULL)
			goto fail;
		x->hdrs = l;
	}
	if (!header_has(req, nh, "Content-Type")) {
		struct curl_slist *l = curl_slist_append(x->hdrs, "Content-Type:");

		if (l == NULL)
			goto fail;
		x->hdrs = l;
	}
	x->easy = easy_get(h);
	if (x->easy == NULL)
		goto fail;
	rc = set_options(h, x, req);
	if (rc != 0)
		goto fail;
	if (curl_multi_add_handle(h->multi, x->easy) != CURLM_OK) {
		rc = -HSDO_ENOMEM;
		goto fail;
	}
	x->next = h->xfers;
	if (h->xfers != NULL)
		h->xfers->prev = x;
	h->xfers = x;
	h->nxfers++;
	if (h->blocking) {
		x->finished = &finished;
		h->nest++;
		run_blocking(h, x, &finished);
		h->nest--;
	}
	return 0;
fail:
	easy_put(h, x->easy);
	xfer_free(x);
	return rc;
}

int hsdo_http_after(struct hsdo_http *h, long ms, void (*fn)(void *arg), void *arg)
{
	struct delayed *d, **pp;

	if (h == NULL || fn == NULL || h->closing)
		return -HSDO_EINVAL;
	if (ms < 0)
		ms = 0;
	if (h->blocking) {
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

		if (h->nest >= HTTP_NEST_MAX)
			return -HSDO_ETOOBIG;
		h->ndelayed++;
		h->nest++;
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
		h->ndelayed--;
		fn(arg);
		h->nest--;
		return 0;
	}
	d = hsdo_malloc(sizeof(*d));
	if (d == NULL)
		return -HSDO_ENOMEM;
	d->due_us = hsdo_clock_mono_us() + (int64_t)ms * 1000;
	d->fn = fn;
	d->arg = arg;
	for (pp = &h->delayed; *pp != NULL && (*pp)->due_us <= d->due_us; pp = &(*pp)->next)
		;
	d->next = *pp;
	*pp = d;
	h->ndelayed++;
	rearm(h);
	return 0;
}

/* ---- event loop entry points -------------------------------------------------- */

void hsdo_http_socket_action(struct hsdo_http *h, int fd, int events)
{
	int mask = 0, running = 0;

	if (h == NULL || h->blocking)
		return;
	if (events & HSDO_HTTP_WATCH_IN)
		mask |= CURL_CSELECT_IN;
	if (events & HSDO_HTTP_WATCH_OUT)
		mask |= CURL_CSELECT_OUT;
	(void)curl_multi_socket_action(h->multi, (curl_socket_t)fd, mask, &running);
	process_done(h);
	run_due(h);
	rearm(h);
}

void hsdo_http_timeout(struct hsdo_http *h)
{
	int running = 0;

	if (h == NULL || h->blocking)
		return;
	h->armed_us = -1;  /* the one-shot timer fired */
	if (h->curl_due_us >= 0 && h->curl_due_us <= hsdo_clock_mono_us()) {
		h->curl_due_us = -1;
		(void)curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	process_done(h);
	run_due(h);
	rearm(h);
}
