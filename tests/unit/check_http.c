/* HTTP transport, blocking mode, against a real Node server
 * (tests/fixtures/http_fixture.js, HTTP and HTTPS): methods, bodies and
 * headers round-trip, statuses, transport failures (refused, timeout,
 * reset), the body cap, captured headers, connection reuse (the server's
 * connection numbers), nested submits and delayed calls, errors that never
 * quote a secret, allocation failures, and TLS verification with a CA and
 * certificates made at test time by the openssl command line. */
#include <check.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/http.h"
#include "haproxy_peer.h"
#include "hsdo_test.h"
#include "proc.h"

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the fixture -------------------------------------------------------------- */

struct fixture {
	struct hsdo_test_proc proc;
	int port, tls_port;
};

static struct fixture fx;              /* plain HTTP */
static struct fixture fx_tls;          /* HTTPS, certificate for 127.0.0.1 */
static struct fixture fx_wrong;        /* HTTPS, certificate for another name */
static char *tmpdir;
static char ca_pem[512];

/* Start the fixture on ports from hsdo_test_free_port (a few tries: the
 * port may be taken between the probe and the listen). */
static void fixture_start(struct fixture *f, char *cert, char *key)
{
	char err[512] = "", ready[128], port[16], tls_port[16], log[600];
	int attempt;

	snprintf(log, sizeof(log), "%s/fixture.log", tmpdir);
	for (attempt = 0; attempt < 5; attempt++) {
		char *args[10];
		int n = 0;

		snprintf(port, sizeof(port), "%u", (unsigned)hsdo_test_free_port());
		snprintf(tls_port, sizeof(tls_port), "%u", (unsigned)hsdo_test_free_port());
		args[n++] = (char *)"--port";
		args[n++] = port;
		if (cert != NULL) {
			args[n++] = (char *)"--tls-port";
			args[n++] = tls_port;
			args[n++] = (char *)"--cert";
			args[n++] = cert;
			args[n++] = (char *)"--key";
			args[n++] = key;
		}
		args[n] = NULL;
		if (hsdo_test_fixture_start(&f->proc, "http_fixture.js", args, log, ready,
					    sizeof(ready), err, sizeof(err)) == 0 &&
		    sscanf(ready, "ready %d %d", &f->port, &f->tls_port) == 2)
			return;
		hsdo_test_proc_stop(&f->proc);
	}
	ck_abort_msg("cannot start the HTTP fixture: %s", err);
}

static void tmp_make(void)
{
	tmpdir = hsdo_test_tmpdir("http");
	ck_assert_ptr_nonnull(tmpdir);
}

static void tmp_remove(void)
{
	if (tmpdir != NULL) {
		hsdo_test_rmtree(tmpdir);
		free(tmpdir);
		tmpdir = NULL;
	}
}

static void http_setup(void)
{
	tmp_make();
	fixture_start(&fx, NULL, NULL);
}

static void http_teardown(void)
{
	hsdo_test_proc_stop(&fx.proc);
	tmp_remove();
}

/* openssl, output in tmpdir/openssl.log; aborts the test on failure. */
static void openssl(char *const argv[])
{
	char log[600];
	int st;

	snprintf(log, sizeof(log), "%s/openssl.log", tmpdir);
	st = hsdo_test_proc_run(argv, log);
	if (st != 0) {
		char *out = hsdo_test_read_file(log, NULL);

		ck_abort_msg("openssl %s failed (%d): %s", argv[1], st, out ? out : "");
	}
}

/* A server certificate for san, signed by tmpdir/ca. */
static void make_cert(const char *name, const char *cn, const char *san, char *serial)
{
	char key[600], csr[600], pem[600], ext[600], ca_key[600], subj[128], body[256];

	snprintf(key, sizeof(key), "%s/%s.key", tmpdir, name);
	snprintf(csr, sizeof(csr), "%s/%s.csr", tmpdir, name);
	snprintf(pem, sizeof(pem), "%s/%s.pem", tmpdir, name);
	snprintf(ext, sizeof(ext), "%s/%s.ext", tmpdir, name);
	snprintf(ca_key, sizeof(ca_key), "%s/ca.key", tmpdir);
	snprintf(subj, sizeof(subj), "/CN=%s", cn);
	snprintf(body, sizeof(body), "subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
		 "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n", san);
	ck_assert_int_eq(hsdo_test_write_file(ext, body, strlen(body)), 0);
	{
		char *argv[] = { "openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
			"ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", csr,
			"-subj", subj, NULL };

		openssl(argv);
	}
	{
		char *argv[] = { "openssl", "x509", "-req", "-in", csr, "-CA", ca_pem,
			"-CAkey", ca_key, "-set_serial", serial, "-days", "2", "-out",
			pem, "-extfile", ext, NULL };

		openssl(argv);
	}
}

static void tls_setup(void)
{
	char ca_key[600], key[600], pem[600], wkey[600], wpem[600];

	tmp_make();
	snprintf(ca_pem, sizeof(ca_pem), "%s/ca.pem", tmpdir);
	snprintf(ca_key, sizeof(ca_key), "%s/ca.key", tmpdir);
	{
		char *argv[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
			"ec_paramgen_curve:prime256v1", "-nodes", "-keyout", ca_key, "-out",
			ca_pem, "-days", "2", "-subj", "/CN=hsdo test CA", "-addext",
			"basicConstraints=critical,CA:TRUE", "-addext",
			"keyUsage=critical,keyCertSign,cRLSign", NULL };

		openssl(argv);
	}
	{
		char s1[] = "4097", s2[] = "4098";

		make_cert("server", "127.0.0.1", "IP:127.0.0.1", s1);
		make_cert("wrong", "wrong.invalid", "DNS:wrong.invalid,IP:127.0.0.2", s2);
	}
	snprintf(key, sizeof(key), "%s/server.key", tmpdir);
	snprintf(pem, sizeof(pem), "%s/server.pem", tmpdir);
	snprintf(wkey, sizeof(wkey), "%s/wrong.key", tmpdir);
	snprintf(wpem, sizeof(wpem), "%s/wrong.pem", tmpdir);
	fixture_start(&fx_tls, pem, key);
	fixture_start(&fx_wrong, wpem, wkey);
}

static void tls_teardown(void)
{
	hsdo_test_proc_stop(&fx_tls.proc);
	hsdo_test_proc_stop(&fx_wrong.proc);
	tmp_remove();
}

/* ---- requests ------------------------------------------------------------------ */

struct result {
	int calls;
	int rc;
	long status;
	char *body;
	size_t len;
	char err[HSDO_HTTP_ERR_LEN];
	char request_id[80];
	char consul_index[24];
	long retry_after_s;
	bool reused;
};

static void result_clear(struct result *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static void on_done(void *arg, int rc, const struct hsdo_http_response *resp, const char *err)
{
	struct result *r = arg;

	r->calls++;
	r->rc = rc;
	ck_assert_ptr_nonnull(resp);
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_nonnull(resp->body);
	ck_assert_int_eq(resp->body[resp->len], '\0');
	r->status = resp->status;
	free(r->body);
	r->body = malloc(resp->len + 1);
	ck_assert_ptr_nonnull(r->body);
	memcpy(r->body, resp->body, resp->len + 1);
	r->len = resp->len;
	snprintf(r->err, sizeof(r->err), "%s", err);
	snprintf(r->request_id, sizeof(r->request_id), "%s", resp->request_id);
	snprintf(r->consul_index, sizeof(r->consul_index), "%s", resp->consul_index);
	r->retry_after_s = resp->retry_after_s;
	r->reused = resp->reused;
	if (rc == 0)
		ck_assert_str_eq(err, "");
	else
		ck_assert_str_ne(err, "");
}

static struct hsdo_http *engine(const struct hsdo_http_options *opt)
{
	struct hsdo_http *h = NULL;
	char err[256] = "";
	int rc = hsdo_http_new(opt, NULL, &h, err, sizeof(err));

	ck_assert_msg(rc == 0, "hsdo_http_new: %d %s", rc, err);
	ck_assert(hsdo_http_blocking(h));
	return h;
}

static void mkurl(char *out, size_t outlen, int port, const char *path)
{
	int n = snprintf(out, outlen, "http://127.0.0.1:%d%s", port, path);

	ck_assert(n > 0 && (size_t)n < outlen);
}

/* One blocking request; done must have run once before submit returned. */
static void request(struct hsdo_http *h, struct hsdo_http_request *req, struct result *r)
{
	int rc;

	result_clear(r);
	rc = hsdo_http_submit(h, req, on_done, r);
	ck_assert_msg(rc == 0, "submit %s: %d", req->url, rc);
	ck_assert_int_eq(r->calls, 1);
	ck_assert_uint_eq(hsdo_http_pending(h), 0);
}

static void get(struct hsdo_http *h, const char *path, struct result *r)
{
	char url[256];
	struct hsdo_http_request req = { .method = "GET", .url = url };

	mkurl(url, sizeof(url), fx.port, path);
	request(h, &req, r);
}

static cJSON *json(const struct result *r)
{
	cJSON *j;

	ck_assert_msg(r->rc == 0, "rc %d: %s", r->rc, r->err);
	ck_assert_int_eq(r->status, 200);
	j = cJSON_Parse(r->body);
	ck_assert_msg(j != NULL, "not JSON: %s", r->body);
	return j;
}

static const char *jstr(const cJSON *j, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *j, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);

	ck_assert_msg(cJSON_IsNumber(v), "no number %s", name);
	return v->valuedouble;
}

static const char *jheader(const cJSON *j, const char *name)
{
	return jstr(cJSON_GetObjectItemCaseSensitive(j, "headers"), name);
}

/* ---- round trips ----------------------------------------------------------------- */

static const char *const methods[] = { "GET", "PUT", "POST", "DELETE" };

START_TEST(roundtrip_methods)
{
	const char *method = methods[_i];
	struct hsdo_http *h = engine(NULL);
	struct result r = { 0 };
	char url[256], body[3000];
	struct hsdo_http_request req = {
		.method = method, .url = url,
		.headers = { "Content-Type: application/x-amz-json-1.0",
			     "X-Amz-Target: DynamoDB_20120810.GetItem", "X-Empty;", NULL },
	};
	cJSON *j;
	size_t i;

	/* binary-safe body with a NUL, bigger than curl's Expect threshold */
	for (i = 0; i < sizeof(body); i++)
		body[i] = (char)('a' + i % 26);
	body[10] = '\0';
	if (strcmp(method, "GET") != 0) {
		req.body = body;
		req.body_len = sizeof(body);
	}
	/* "X-Empty;" is not "Name: value": rejected */
	mkurl(url, sizeof(url), fx.port, "/echo/path?q=1&r=two");
	ck_assert_int_eq(hsdo_http_submit(h, &req, on_done, &r), -HSDO_EINVAL);
	ck_assert_int_eq(r.calls, 0);
	req.headers[2] = "X-Second: two words";
	request(h, &req, &r);
	j = json(&r);
	ck_assert_str_eq(jstr(j, "method"), method);
	ck_assert_str_eq(jstr(j, "url"), "/echo/path?q=1&r=two");
	ck_assert_str_eq(jheader(j, "content-type"), "application/x-amz-json-1.0");
	ck_assert_str_eq(jheader(j, "x-amz-target"), "DynamoDB_20120810.GetItem");
	ck_assert_str_eq(jheader(j, "x-second"), "two words");
	ck_assert_ptr_null(jheader(j, "expect"));
	ck_assert(strncmp(jheader(j, "user-agent"), "hsdo/", 5) == 0);
	if (strcmp(method, "GET") == 0) {
		ck_assert_int_eq((int)jnum(j, "bodyLen"), 0);
	} else {
		ck_assert_int_eq((int)jnum(j, "bodyLen"), (int)sizeof(body));
		ck_assert_str_eq(jheader(j, "content-length"), "3000");
		/* the bytes after the NUL arrived too (JSON-escaped by the echo) */
		ck_assert(strstr(r.body, "\\u0000lmnopq") != NULL);
		ck_assert_uint_eq(strlen(jstr(j, "body")), 10);
	}
	cJSON_Delete(j);
	result_clear(&r);
	hsdo_http_free(h);
}
END_TEST

/* No Content-Type of curl's own (form encoding) when the caller sets none;
 * an empty POST is a POST with Content-Length 0; a custom user agent. */
START_TEST(roundtrip_defaults)
{
	struct hsdo_http_options opt = { .user_agent = "hsdo-test/1" };
	struct hsdo_http *h = engine(&opt);
	struct result r = { 0 };
	char url[256];
	struct hsdo_http_request req = { .method = "PUT", .url = url, .body = "{}",
					 .body_len = 2 };
	cJSON *j;

	mkurl(url, sizeof(url), fx.port, "/echo");
	request(h, &req, &r);
	j = json(&r);
	ck_assert_ptr_null(jheader(j, "content-type"));
	ck_assert_str_eq(jheader(j, "user-agent"), "hsdo-test/1");
	ck_assert_str_eq(jstr(j, "body"), "{}");
	cJSON_Delete(j);
	req.method = "POST";
	req.body = NULL;
	req.body_len = 0;
	request(h, &req, &r);
	j = json(&r);
	ck_assert_str_eq(jstr(j, "method"), "POST");
	ck_assert_str_eq(jheader(j, "content-length"), "0");
	cJSON_Delete(j);
	result_clear(&r);
	hsdo_http_free(h);
}
END_TEST

static const int statuses[] = { 200, 201, 204, 302, 400, 403, 404, 429, 500, 503 };

START_TEST(status_codes)
{
	struct hsdo_http *h = engine(NULL);
	struct result r = { 0 };
	char path[64];

	snprintf(path, sizeof(path), "/status/%d", statuses[_i]);
	get(h, path, &r);
	ck_assert_msg(r.rc == 0, "%d: %s", r.rc, r.err);
	ck_assert_int_eq(r.status, statuses[_i]);
	if (statuses[_i] == 204) {
		ck_assert_uint_eq(r.len, 0);
	} else {
		snprintf(path, sizeof(path), "status %d", statuses[_i]);
		ck_assert_str_eq(r.body, path);
	}
	result_clear(&r);
	hsdo_http_free(h);
}
END_TEST

/* A redirect is an answer like any other: never followed. */
START_TEST(redirect_not_followed)
{
	struct hsdo_http *h = engine(NULL);
	struct result r = { 0 };

	get(h, "/redirect", &r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_int_eq(r.status, 302);
	ck_assert_str_eq(r.body, "redirect");
	result_clear(&r);
	hsdo_http_free(h);
}
END_TEST

START_TEST(bad_requests)
{
	struct hsdo_http *h = engine(NULL);
	struct result r = { 0 };
	char url[256];
	struct hsdo_http_request req = { .method = "GET", .url = url };
	static const char *const urls[] = { "ftp://127.0.0.1/", "file:///etc/passwd",
		"gopher://127.0.0.1/", "not a url", "http://", "" };
	size_t i;

	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		snprintf(url, sizeof(url), "%s", urls[i]);
		ck_assert_msg(hsdo_http_submit(h, &req, on_done, &r) == -HSDO_EINVAL, "%s", url);
	}
	mkurl(url, sizeof(url), fx.port, "/echo");
	req.method = "get";
	ck_assert_int_eq(hsdo_http_submit(h, &req, on_done, &r), -HSDO_EINVAL);
	req.method = "G T";
	ck_assert_int_eq(hsdo_http_submit(h, &req, on_done, &r), -HSDO_EINVAL);
	req.method = "GET";
	req.headers[0] = "X-Injected: a\r\nX-Evil: b";
	ck_assert_int_eq(hsdo_http_submit(h, &req, on_done, &r), -HSDO_EINVAL);
	req.headers[0] = ": novalue";
	ck_assert_int_eq(hsdo_http_submit(h, &req, on_done, &r), -HSDO_EINVAL);
	req.headers[0] = NULL;
	req.body_len = 3;           /* no body pointer */
	ck_assert_int_eq(hsdo_http_submit(h, &req, on_done, &r), -HSDO_EINVAL);
	req.body_len = 0;
	req.timeout_ms = -1;
	ck_assert_int_eq(hsdo_http_submit(h, &req, on_done, &r), -HSDO_EINVAL);
	req.timeout_ms = 0;
	ck_assert_int_eq(hsdo_http_submit(h, &req, NULL, &r), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_http_submit(NULL, &req, on_done, &r), -HSDO_EINVAL);
	ck_assert_int_eq(r.calls, 0);
	/* 32 headers, no NULL end: all sent */
	{
		char names[HSDO_HTTP_HEADERS_MAX][32];
		cJSON *j;

		for (i = 0; i < HSDO_HTTP_HEADERS_MAX; i++) {
			snprintf(names[i], sizeof(names[i]), "X-H%zu: v%zu", i, i);
			req.headers[i] = names[i];
		}
		request(h, &req, &r);
		j = json(&r);
		ck_assert_str_eq(jheader(j, "x-h0"), "v0");
		ck_assert_str_eq(jheader(j, "x-h31"), "v31");
		cJSON_Delete(j);
	}
	result_clear(&r);
	hsdo_http_free(h);
}
END_TEST

START_TEST(bad_options)
{
	struct hsdo_http *h = NULL;
	struct hsdo_http_options opt = { .ca_file = "/nonexistent/ca.pem" };
	struct hsdo_http_loop loop = { 0 };
	char err[256];

	ck_assert_int_eq(hsdo_http_new(&opt, NULL, &h, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert(strstr(err, "/nonexistent/ca.pem") != NULL);
	ck_assert_ptr_null(h);
	opt.ca_file = NULL;
	opt.timeout_ms = -5;
	ck_assert_int_eq(hsdo_http_new(&opt, NULL, &h, err, sizeof(err)), -HSDO_EINVAL);
	opt.timeout_ms = 0;
	ck_assert_int_eq(hsdo_http_new(&opt, &loop, &h, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_http_new(&opt, NULL, NULL, err, sizeof(err)), -HSDO_EINVAL);
	hsdo_http_free(NULL);
	ck_assert(!hsdo_http_blocking(NULL));
	ck_assert_uint_eq(hsdo_http_pending(NULL), 0);
}
END_TEST

/* ---- transport failures ------------------------------------------------------------ */

START_TEST(connect_refused)
{
	struct hsdo_http *h = engine(NULL);
	struct result r = { 0 };
	struct hsdo_http_stats st;
	char url[256], hostport[64];
	int port = hsdo_test_free_port();
	struct hsdo_http_request req = { .method = "GET", .url = url };
	long t0;

	ck_assert_int_gt(port, 0);
	mkurl(url, sizeof(url), port, "/x");
	t0 = now_ms();
	request(h, &req, &r);
	ck_assert_int_lt(now_ms() - t0, 2000);
	ck_assert_int_eq(r.rc, -HSDO_EHTTP);
	ck_assert_int_eq(r.status, 0);
	ck_assert_uint_eq(r.len, 0);
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", port);
	ck_assert_msg(strncmp(r.err, hostport, strlen(hostport)) == 0, "%s", r.err);
	hsdo_http_stats(h, &st);
	ck_assert_uint_eq(st.requests, 1);
	ck_assert_uint_eq(st.failures, 1);
	result_clear(&r);
	hsdo_http_free(h);
}
END_TEST

START_TEST(total_timeout)
{
	struct hsdo_http_options opt = { .timeout_ms = 1000 };
	struct hsdo_http *h = engine(&opt);
	struct result r = { 0 };
	char url[256];
	struct hsdo_http_request req = { .method = "GET", .url = url };
	long t0, dt;

	mkurl(url, sizeof(url), fx.port, "/slow/5000");
	/* the engine's default */
	t0 = now_ms();
	request(h, &req, &r);
	dt = now_ms() - t0;
	ck_assert_int_eq(r.rc, -HSDO_EHTTP);
	ck_assert_msg(dt >= 980 && dt < 3000, "took %ld ms", dt);
	ck_assert(strstr(r.err, "127.0.0.1:") == r.err);
	ck_assert_msg(strstr(r.err, "timed out") != NULL, "%s", r.err);
	/* the request's own */
	req.timeout_ms = 150;
	t0 = now_ms();
	request(h, &req, &r);
	dt = now_ms() - t0;
	ck_assert_int_eq(r.rc, -HSDO_EHTTP);
	ck_assert_msg(dt >= 140 && dt < 900, "took %ld ms", dt);
	/* a slow answer within the timeout is fine */
	mkurl(url, sizeof(url), fx.port, "/slow/100");
	req.timeout_ms = 2000;
	request(h, &req, &r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.body, "slow 100");
	result_clear(&r);
	hsdo_http_free(h);
}
END_TEST

START_TEST(body_cap)
{
	struct hsdo_http_options opt = { .max_body = 100000 };
	struct hsdo_http *h = engine(&opt);
	struct result r = { 0 };
	char url[256];
	struct hsdo_http_request req = { .method = "GET", .url = url };
	size_t i;

	/* exactly the cap: fine */
	get(h, "/big/100000", &r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.len, 100000);
	for (i = 0; i < r.len; i++)
		if (r.body[i] != 'x')
			ck_abort_msg("byte %zu", i);
	get(h, "/chunked/100000", &r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.len, 100000);
	/* one more: announced (Content-Length) or not (chunked) */
	get(h, "/big/100001", &r);
	ck_assert_int_eq(r.rc, -HSDO_ETOOBIG);
	ck_assert_msg(strstr(r.err, "100000") != NULL, "%s", r.err);
	ck_assert_uint_eq(r.len, 0);
	get(h, "/chunked/100001", &r);
	ck_assert_int_eq(r.rc, -HSDO_ETOOBIG);
	get(h, "/chunked/3000000", &r);
	ck_assert_int_eq(r.rc, -HSDO_ETOOBIG);
	/* the request's own cap */
	mkurl(url, sizeof(url), fx.port, "/chunked/2000");
	req.max_body = 1999;
	request(h, &req, &r);
	ck_assert_int_eq(r.rc, -HSDO_ETOOBIG);
	req.max_body = 2000;
	request(h, &req, &r);
	ck_assert_int_eq(r.rc, 0);
	/* the engine is fine after aborted transfers */
	get(h, "/status/200", &r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_int_eq(r.status, 200);
	result_clear(&r);
	hsdo_http_free(h);
}
END_TEST

START_TEST(connection_reset)
{
	struct hsdo_http *h = engine(NULL);
	struct result r = { 0 };
	char hostport[64];

	get(h, "/reset", &r);
	ck_assert_int_eq(r.rc, -HSDO_EHTTP);
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d: ", fx.port);
	ck_assert_msg(strncmp(r.err, hostport, strlen(hostport)) == 0, "%s", r.err);
	get(h, "/status/200", &r);
	ck_assert_int_eq(r.rc, 0);
	result_clear(&r);
	hsdo_http_free(h);
}
END_TEST

/* ---- captured headers ---------------------------------------------------------------- */

START_TEST(captured_headers)
{
	struct hsdo_http *h = engine(NULL);
	struct result r = { 0 };
	char path[256];
	time_t when;
	struct tm tm;
	char date[64];

	get(h, "/headers?rid=ABCD-1234-efgh&idx=4711&ra=7", &r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.request_id, "ABCD-1234-efgh");
	ck_assert_str_eq(r.consul_index, "4711");
	ck_assert_int_eq(r.retry_after_s, 7);
	/* S3's spelling */
	get(h, "/headers?rid=S3REQ&amz=1", &r);
	ck_assert_str_eq(r.request_id, "S3REQ");
	ck_assert_str_eq(r.consul_index, "");
	ck_assert_int_eq(r.retry_after_s, -1);
	/* none: nothing left over from the previous response on the connection */
	get(h, "/headers", &r);
	ck_assert(r.reused);
	ck_assert_str_eq(r.request_id, "");
	ck_assert_str_eq(r.consul_index, "");
	ck_assert_int_eq(r.retry_after_s, -1);
	/* not a number: no index; the largest one fits */
	get(h, "/headers?idx=12x", &r);
	ck_assert_str_eq(r.consul_index, "");
	get(h, "/headers?idx=18446744073709551615", &r);
	ck_assert_str_eq(r.consul_index, "18446744073709551615");
	/* a long id is cut, not overflowed */
	snprintf(path, sizeof(path), "/headers?rid=%0120d", 5);
	get(h, path, &r);
	ck_assert_uint_eq(strlen(r.request_id), 79);
	/* Retry-After as an HTTP date, 100 s ahead */
	when = time(NULL) + 100;
	gmtime_r(&when, &tm);
	strftime(date, sizeof(date), "%a,%%20%d%%20%b%%20%Y%%20%H:%M:%S%%20GMT", &tm);
	snprintf(path, sizeof(path), "/headers?ra=%s", date);
	get(h, path, &r);
	ck_assert_msg(r.retry_after_s >= 95 && r.retry_after_s <= 100, "%ld", r.retry_after_s);
	get(h, "/headers?ra=soon", &r);
	ck_assert_int_eq(r.retry_after_s, -1);
	result_clear(&r);
	hsdo_http_free(h);
}
END_TEST

/* ---- connection reuse ------------------------------------------------------------------ */

START_TEST(connection_reuse)
{
	struct hsdo_http *h = engine(NULL);
	struct result r = { 0 };
	struct hsdo_http_stats st;
	double conn0 = 0, conns0;
	cJSON *j;
	int i;

	get(h, "/stats", &r);
	j = json(&r);
	conns0 = jnum(j, "connections");
	cJSON_Delete(j);
	for (i = 0; i < 20; i++) {
		get(h, "/echo", &r);
		j = json(&r);
		if (i == 0)
			conn0 = jnum(j, "conn");
		ck_assert_msg(jnum(j, "conn") == conn0, "request %d on connection %g, not %g", i,
			      jnum(j, "conn"), conn0);
		ck_assert(r.reused);
		cJSON_Delete(j);
	}
	/* the server accepted no connection beyond the first */
	get(h, "/stats", &r);
	j = json(&r);
	ck_assert_int_eq((int)jnum(j, "connections"), (int)conns0);
	cJSON_Delete(j);
	hsdo_http_stats(h, &st);
	ck_assert_uint_eq(st.requests, 22);
	ck_assert_uint_eq(st.failures, 0);
	ck_assert_uint_eq(st.reused, 21);
	ck_assert_uint_gt(st.bytes_in, 20 * 100);
	result_clear(&r);
	hsdo_http_free(h);
}
END_TEST

START_TEST(stats_counters)
{
	struct hsdo_http *h = engine(NULL);
	struct result r = { 0 };
	struct hsdo_http_stats st;
	char url[256];
	struct hsdo_http_request req = { .method = "PUT", .url = url, .body = "0123456789",
					 .body_len = 10 };

	mkurl(url, sizeof(url), fx.port, "/big/1000");
	request(h, &req, &r);
	request(h, &req, &r);
	get(h, "/reset", &r);
	hsdo_http_stats(h, &st);
	ck_assert_uint_eq(st.requests, 3);
	ck_assert_uint_eq(st.failures, 1);
	ck_assert_uint_eq(st.bytes_in, 2000);
	ck_assert_uint_eq(st.bytes_out, 20);
	ck_assert_uint_eq(st.reused, 1);
	result_clear(&r);
	hsdo_http_free(h);
}
END_TEST

/* ---- nesting: retries from callbacks ---------------------------------------------------- */

struct chain {
	struct hsdo_http *h;
	char url[256];
	int done, max, last_submit_rc, refused_rc, after_runs;
	long retry_ms;
	bool outer_returned;
};

static void chain_submit(struct chain *c);

static void chain_retry(void *arg)
{
	struct chain *c = arg;

	c->after_runs++;
	chain_submit(c);
}

static void chain_done(void *arg, int rc, const struct hsdo_http_response *resp, const char *err)
{
	struct chain *c = arg;

	(void)err;
	ck_assert(!c->outer_returned);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(resp->status, 503);
	c->done++;
	if (c->done >= c->max)
		return;
	if (c->retry_ms > 0)
		ck_assert_int_eq(hsdo_http_after(c->h, c->retry_ms, chain_retry, c), 0);
	else
		chain_submit(c);
}

static void chain_submit(struct chain *c)
{
	struct hsdo_http_request req = { .method = "GET", .url = c->url };

	c->last_submit_rc = hsdo_http_submit(c->h, &req, chain_done, c);
	if (c->last_submit_rc != 0)
		c->refused_rc = c->last_submit_rc;
}

START_TEST(nested_submit)
{
	struct chain c = { .max = 5 };
	long t0;

	c.h = engine(NULL);
	mkurl(c.url, sizeof(c.url), fx.port, "/status/503");
	/* a retry loop, resubmitting from done: all inside the first submit */
	chain_submit(&c);
	c.outer_returned = true;
	ck_assert_int_eq(c.last_submit_rc, 0);
	ck_assert_int_eq(c.refused_rc, 0);
	ck_assert_int_eq(c.done, 5);
	ck_assert_uint_eq(hsdo_http_pending(c.h), 0);
	/* the same with a backoff through hsdo_http_after */
	c.done = 0;
	c.retry_ms = 30;
	c.outer_returned = false;
	t0 = now_ms();
	chain_submit(&c);
	c.outer_returned = true;
	ck_assert_int_eq(c.done, 5);
	ck_assert_int_eq(c.after_runs, 4);
	ck_assert_int_ge(now_ms() - t0, 4 * 30);
	ck_assert_uint_eq(hsdo_http_pending(c.h), 0);
	hsdo_http_free(c.h);
}
END_TEST

/* Endless resubmission is cut at a bounded depth, not a stack overflow. */
START_TEST(nested_depth_bounded)
{
	struct chain c = { .max = 1000000 };

	c.h = engine(NULL);
	mkurl(c.url, sizeof(c.url), fx.port, "/status/503");
	chain_submit(&c);
	c.outer_returned = true;
	ck_assert_int_eq(c.last_submit_rc, 0);
	ck_assert_int_eq(c.refused_rc, -HSDO_ETOOBIG);
	ck_assert_int_ge(c.done, 16);
	ck_assert_int_le(c.done, 256);
	ck_assert_uint_eq(hsdo_http_pending(c.h), 0);
	hsdo_http_free(c.h);
}
END_TEST

static char order[64];

static void mark(char m)
{
	size_t n = strlen(order);

	ck_assert_uint_lt(n + 1, sizeof(order));
	order[n] = m;
	order[n + 1] = '\0';
}

static struct hsdo_http *after_h;

static void after_b(void *arg)
{
	(void)arg;
	mark('b');
}

static void after_a(void *arg)
{
	long *t = arg;

	mark('a');
	*t = now_ms();
	ck_assert_uint_eq(hsdo_http_pending(after_h), 0);
	ck_assert_int_eq(hsdo_http_after(after_h, 20, after_b, NULL), 0);
	mark('A');
}

START_TEST(after_blocking)
{
	long t0, ta = 0;

	after_h = engine(NULL);
	order[0] = '\0';
	t0 = now_ms();
	ck_assert_int_eq(hsdo_http_after(after_h, 50, after_a, &ta), 0);
	mark('r');
	ck_assert_str_eq(order, "abAr");
	ck_assert_int_ge(ta - t0, 50);
	ck_assert_int_ge(now_ms() - t0, 70);
	ck_assert_int_eq(hsdo_http_after(after_h, 0, after_b, NULL), 0);
	ck_assert_int_eq(hsdo_http_after(after_h, -3, after_b, NULL), 0);
	ck_assert_str_eq(order, "abArbb");
	ck_assert_int_eq(hsdo_http_after(after_h, 10, NULL, NULL), -HSDO_EINVAL);
	hsdo_http_free(after_h);
}
END_TEST

/* ---- secrets never in errors --------------------------------------------------------------- */

START_TEST(errors_without_secrets)
{
	struct hsdo_http_options opt = { .timeout_ms = 300, .max_body = 10 };
	struct hsdo_http *h = engine(&opt);
	struct result r = { 0 };
	char url[512];
	struct hsdo_http_request req = {
		.method = "GET", .url = url,
		.headers = { "X-Amz-Security-Token: TOKENSECRET42",
			     "Authorization: AWS4-HMAC-SHA256 Credential=AKIDSECRET/x, Signature=SIGSECRET",
			     "X-Consul-Token: CONSULSECRET", NULL },
	};
	static const char *const secrets[] = { "TOKENSECRET42", "AKIDSECRET", "SIGSECRET",
		"CONSULSECRET", "QUERYSECRET", "X-Amz-Signature", "/slow", "/reset", "/big" };
	const char *paths[] = { "/slow/3000", "/reset", "/big/100", NULL };
	int refused = hsdo_test_free_port();
	size_t i, k;

	for (i = 0; i <= 4; i++) {
		if (i < 3)
			snprintf(url, sizeof(url), "http://127.0.0.1:%d%s?X-Amz-Signature=QUERYSECRET"
				 "&a=TOKENSECRET42", fx.port, paths[i]);
		else if (i == 3)
			snprintf(url, sizeof(url), "http://127.0.0.1:%d/x?X-Amz-Signature=QUERYSECRET",
				 refused);
		else
			snprintf(url, sizeof(url), "http://user:TOKENSECRET42@127.0.0.1:%d/reset"
				 "?X-Amz-Signature=QUERYSECRET", fx.port);
		request(h, &req, &r);
		ck_assert_msg(r.rc != 0, "%s", url);
		for (k = 0; k < sizeof(secrets) / sizeof(secrets[0]); k++)
			ck_assert_msg(strstr(r.err, secrets[k]) == NULL, "%s in error: %s",
				      secrets[k], r.err);
		ck_assert_msg(strncmp(r.err, "127.0.0.1:", 10) == 0, "%s", r.err);
	}
	result_clear(&r);
	hsdo_http_free(h);
}
END_TEST

/* ---- allocation failures ------------------------------------------------------------------- */

START_TEST(alloc_failures)
{
	struct hsdo_http *h = NULL;
	struct result r = { 0 };
	char url[256], err[256];
	struct hsdo_http_request req = { .method = "PUT", .url = url, .body = "abc",
					 .body_len = 3, .headers = { "X-A: b", NULL } };
	unsigned long k, made;
	int rc;

	for (k = 1; k < 50; k++) {
		hsdo_alloc_fail_at(k, 1);
		rc = hsdo_http_new(NULL, NULL, &h, err, sizeof(err));
		made = hsdo_alloc_fail_at(0, 0);
		if (rc == 0)
			break;
		ck_assert_msg(rc == -HSDO_ENOMEM, "new, allocation %lu: %d %s", k, rc, err);
		ck_assert_ptr_null(h);
	}
	ck_assert_ptr_nonnull(h);
	ck_assert_uint_ge(k, 2);
	(void)made;
	/* submit: each failure is either refused (done never called) or a
	 * done with -HSDO_ENOMEM; a 40 KB body makes the buffer grow */
	mkurl(url, sizeof(url), fx.port, "/chunked/40000");
	for (k = 1; k < 100; k++) {
		result_clear(&r);
		hsdo_alloc_fail_at(k, 1);
		rc = hsdo_http_submit(h, &req, on_done, &r);
		made = hsdo_alloc_fail_at(0, 0);
		if (rc != 0) {
			ck_assert_msg(rc == -HSDO_ENOMEM, "submit, allocation %lu: %d", k, rc);
			ck_assert_int_eq(r.calls, 0);
			continue;
		}
		ck_assert_int_eq(r.calls, 1);
		if (r.rc == 0 && made < k)
			break;
		ck_assert_msg(r.rc == -HSDO_ENOMEM, "submit, allocation %lu: done %d %s", k, r.rc,
			      r.err);
	}
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.len, 40000);
	ck_assert_uint_ge(k, 4);
	/* delayed calls in blocking mode take no allocation */
	hsdo_alloc_fail_at(1, 1);
	order[0] = '\0';
	ck_assert_int_eq(hsdo_http_after(h, 0, after_b, NULL), 0);
	hsdo_alloc_fail_at(0, 0);
	ck_assert_str_eq(order, "b");
	result_clear(&r);
	hsdo_http_free(h);
}
END_TEST

/* ---- TLS -------------------------------------------------------------------------------- */

static void tls_get(struct hsdo_http *h, int port, const char *path, struct result *r)
{
	char url[256];
	struct hsdo_http_request req = { .method = "GET", .url = url };

	int n = snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", port, path);

	ck_assert(n > 0 && (size_t)n < sizeof(url));
	request(h, &req, r);
}

START_TEST(tls_verified_with_ca)
{
	struct hsdo_http_options opt = { .ca_file = ca_pem };
	struct hsdo_http *h = engine(&opt);
	struct result r = { 0 };
	double conn0;
	cJSON *j;
	int i;

	tls_get(h, fx_tls.tls_port, "/echo?x=1", &r);
	j = json(&r);
	ck_assert_str_eq(jstr(j, "url"), "/echo?x=1");
	conn0 = jnum(j, "conn");
	cJSON_Delete(j);
	/* TLS connections are reused too */
	for (i = 0; i < 5; i++) {
		tls_get(h, fx_tls.tls_port, "/echo", &r);
		j = json(&r);
		ck_assert(jnum(j, "conn") == conn0);
		ck_assert(r.reused);
		cJSON_Delete(j);
	}
	result_clear(&r);
	hsdo_http_free(h);
}
END_TEST

START_TEST(tls_fails_without_ca)
{
	struct hsdo_http *h = engine(NULL);
	struct result r = { 0 };
	char hostport[64];

	tls_get(h, fx_tls.tls_port, "/echo?X-Amz-Signature=QUERYSECRET", &r);
	ck_assert_int_eq(r.rc, -HSDO_EHTTP);
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d: ", fx_tls.tls_port);
	ck_assert_msg(strncmp(r.err, hostport, strlen(hostport)) == 0, "%s", r.err);
	ck_assert_msg(strstr(r.err, "certificate") != NULL, "%s", r.err);
	ck_assert(strstr(r.err, "QUERYSECRET") == NULL);
	result_clear(&r);
	hsdo_http_free(h);
}
END_TEST

START_TEST(tls_wrong_name_fails)
{
	struct hsdo_http_options opt = { .ca_file = ca_pem };
	struct hsdo_http *h = engine(&opt);
	struct result r = { 0 };

	/* signed by the CA we trust, but for wrong.invalid and 127.0.0.2 */
	tls_get(h, fx_wrong.tls_port, "/echo", &r);
	ck_assert_int_eq(r.rc, -HSDO_EHTTP);
	ck_assert_msg(strstr(r.err, "127.0.0.1") != NULL, "%s", r.err);
	/* the same CA's certificate for 127.0.0.1 still works on this engine */
	tls_get(h, fx_tls.tls_port, "/status/200", &r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_int_eq(r.status, 200);
	result_clear(&r);
	hsdo_http_free(h);
}
END_TEST

static Suite *http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("blocking");
	TCase *tls = tcase_create("tls");

	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, http_setup, http_teardown);
	tcase_add_loop_test(tc, roundtrip_methods, 0, sizeof(methods) / sizeof(methods[0]));
	tcase_add_test(tc, roundtrip_defaults);
	tcase_add_loop_test(tc, status_codes, 0, sizeof(statuses) / sizeof(statuses[0]));
	tcase_add_test(tc, redirect_not_followed);
	tcase_add_test(tc, bad_requests);
	tcase_add_test(tc, bad_options);
	tcase_add_test(tc, connect_refused);
	tcase_add_test(tc, total_timeout);
	tcase_add_test(tc, body_cap);
	tcase_add_test(tc, connection_reset);
	tcase_add_test(tc, captured_headers);
	tcase_add_test(tc, connection_reuse);
	tcase_add_test(tc, stats_counters);
	tcase_add_test(tc, nested_submit);
	tcase_add_test(tc, nested_depth_bounded);
	tcase_add_test(tc, after_blocking);
	tcase_add_test(tc, errors_without_secrets);
	tcase_add_test(tc, alloc_failures);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tls, 60);
	tcase_add_unchecked_fixture(tls, tls_setup, tls_teardown);
	tcase_add_test(tls, tls_verified_with_ca);
	tcase_add_test(tls, tls_fails_without_ca);
	tcase_add_test(tls, tls_wrong_name_fails);
	suite_add_tcase(s, tls);
	return s;
}

int main(void)
{
	return hsdo_test_run(http_suite());
}
