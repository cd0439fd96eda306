/* SigV4 signer: every header-signing case of both official AWS test suites
 * (canonical request, string to sign and Authorization compared byte for
 * byte), DynamoDB / EC2 / Auto Scaling vectors cross-checked against the
 * AWS SDK for JavaScript's signer, the helpers, input checks, secrets kept
 * out of every output, and allocation failures.
 *
 * Suites (tests/data, each with its LICENSE and NOTICE):
 *  - aws-sigv4-testsuite: <case>/<case>.req/.creq/.sts/.authz, no context
 *    file; all cases use AKIDEXAMPLE, us-east-1, "service" and
 *    2015-08-30T12:36:00Z. All 34 cases run.
 *  - aws-signing-test-suite-v4 (aws-c-auth): v4/<case>/request.txt,
 *    context.json and header-*.txt. All 38 cases run for header signing.
 *    Skipped, in every case: the query-* files (query-canonical-request,
 *    query-string-to-sign, query-signature, query-signed-request), which
 *    are presigned-URL signing; HSDO only ever signs with the
 *    Authorization header. Neither suite has an S3-only case.
 *
 * How the suites' session-token cases map onto this signer, which adds and
 * signs x-amz-security-token whenever the credentials carry a token:
 *  - get-vanilla-with-session-token: token in the credentials, added by us.
 *  - post-sts-header-before: v4 has the token in context.json (added by
 *    us); the old suite has it in the .req, and we also pass it in the
 *    credentials to exercise the "already present and equal" path.
 *  - post-sts-header-after: the token is sent but deliberately NOT signed
 *    (context.json "omit_session_token"); signed here without a token,
 *    which is exactly that canonical request.
 * context.json "sign_body": true means aws-c-auth adds x-amz-content-sha256;
 * this signer adds it only when the caller passes it, so the test does. */
#include <check.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/url.h"
#include "hsdo/sigv4.h"
#include "hsdo_test.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

#define SUITE_AKID   "AKIDEXAMPLE"
#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_TIME   INT64_C(1440938160)       /* 2015-08-30T12:36:00Z */
#define TOKEN_HEX    "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
#define TOKEN_STS    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwd" \
	"QWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1Nt" \
	"BmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d" \
	"+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIl" \
	"TJabIQwj2ICCR/oLxBA=="

/* ---- a raw HTTP request as the suites write it --------------------------------- */

#define RAW_HMAX 32

struct raw_req {
	char *method, *path, *query;
	char *names[RAW_HMAX], *values[RAW_HMAX];
	struct hsdo_sigv4_header h[RAW_HMAX + 1];
	size_t nh;
	char *body;
	size_t body_len;
};

static char *dupn(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	ck_assert_ptr_nonnull(d);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* "METHOD target HTTP/1.1" (the target may hold spaces), header lines with
 * obs-fold continuation lines kept in the value as "\n" + line (the signer
 * folds them), then a blank line and the body. */
static void raw_parse(const char *buf, size_t len, struct raw_req *r)
{
	const char *p = buf, *end = buf + len, *eol, *sp1, *sp2, *q, *colon;
	size_t ll;

	memset(r, 0, sizeof(*r));
	eol = memchr(p, '\n', (size_t)(end - p));
	if (eol == NULL)
		eol = end;
	ll = (size_t)(eol - p);
	if (ll > 0 && p[ll - 1] == '\r')
		ll--;
	sp1 = memchr(p, ' ', ll);
	ck_assert_ptr_nonnull(sp1);
	for (sp2 = p + ll - 1; sp2 > sp1 && *sp2 != ' '; sp2--)
		;
	ck_assert_ptr_ne(sp2, sp1);
	r->method = dupn(p, (size_t)(sp1 - p));
	q = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
	if (q == NULL) {
		r->path = dupn(sp1 + 1, (size_t)(sp2 - sp1 - 1));
		r->query = dupn("", 0);
	} else {
		r->path = dupn(sp1 + 1, (size_t)(q - sp1 - 1));
		r->query = dupn(q + 1, (size_t)(sp2 - q - 1));
	}
	p = eol < end ? eol + 1 : end;
	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		ll = (size_t)(eol - p);
		if (ll > 0 && p[ll - 1] == '\r')
			ll--;
		if (ll == 0) {
			p = eol < end ? eol + 1 : end;
			r->body_len = (size_t)(end - p);
			r->body = dupn(p, r->body_len);
			break;
		}
		if (p[0] == ' ' || p[0] == '\t') {
			char *v, *old;
			size_t ol;

			ck_assert_uint_gt(r->nh, 0);
			old = r->values[r->nh - 1];
			ol = strlen(old);
			v = malloc(ol + 1 + ll + 1);
			ck_assert_ptr_nonnull(v);
			memcpy(v, old, ol);
			v[ol] = '\n';
			memcpy(v + ol + 1, p, ll);
			v[ol + 1 + ll] = '\0';
			free(old);
			r->values[r->nh - 1] = v;
		} else {
			colon = memchr(p, ':', ll);
			ck_assert_ptr_nonnull(colon);
			ck_assert_uint_lt(r->nh, RAW_HMAX);
			r->names[r->nh] = dupn(p, (size_t)(colon - p));
			r->values[r->nh] = dupn(colon + 1, ll - (size_t)(colon - p) - 1);
			r->nh++;
		}
		p = eol < end ? eol + 1 : end;
	}
}

static void raw_free(struct raw_req *r)
{
	size_t i;

	free(r->method);
	free(r->path);
	free(r->query);
	for (i = 0; i < r->nh; i++) {
		free(r->names[i]);
		free(r->values[i]);
	}
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* The signer's view of r, plus an optional extra header. */
static struct hsdo_sigv4_request raw_view(struct raw_req *r, const char *xname, const char *xvalue)
{
	struct hsdo_sigv4_request req;
	size_t i;

	for (i = 0; i < r->nh; i++) {
		r->h[i].name = r->names[i];
		r->h[i].value = r->values[i];
	}
	if (xname != NULL) {
		r->h[i].name = xname;
		r->h[i].value = xvalue;
		i++;
	}
	memset(&req, 0, sizeof(req));
	req.method = r->method;
	req.path = r->path;
	req.query = r->query;
	req.headers = r->h;
	req.nheaders = i;
	req.body = r->body;
	req.body_len = r->body_len;
	return req;
}

/* Load tests/data/<rel>, dropping trailing newlines (no expected string
 * ends with one). */
static char *load_expected(const char *rel)
{
	size_t len;
	char *s = hsdo_test_load_data(rel, &len);

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		s[--len] = '\0';
	return s;
}

static void assert_no_secret(const struct hsdo_sigv4_result *res, const char *secret,
			     const char *token)
{
	ck_assert_ptr_null(strstr(res->canonical_request, secret));
	ck_assert_ptr_null(strstr(res->string_to_sign, secret));
	ck_assert_ptr_null(strstr(res->authorization, secret));
	ck_assert_ptr_null(strstr(res->signed_headers, secret));
	if (token != NULL) {
		/* the token is sent and signed in clear, but only there */
		ck_assert_ptr_nonnull(strstr(res->canonical_request, token));
		ck_assert_ptr_null(strstr(res->string_to_sign, token));
		ck_assert_ptr_null(strstr(res->authorization, token));
	}
}

/* ---- the original suite (aws-sigv4-testsuite) ---------------------------------- */

static const struct old_case {
	const char *dir;       /* under aws-sigv4-testsuite/ */
	const char *token;     /* session token in the credentials */
} old_cases[] = {
	{ "get-header-key-duplicate", NULL },
	{ "get-header-value-multiline", NULL },
	{ "get-header-value-order", NULL },
	{ "get-header-value-trim", NULL },
	{ "get-unreserved", NULL },
	{ "get-utf8", NULL },
	{ "get-vanilla", NULL },
	{ "get-vanilla-empty-query-key", NULL },
	{ "get-vanilla-query", NULL },
	{ "get-vanilla-query-order-encoded", NULL },
	{ "get-vanilla-query-order-key", NULL },
	{ "get-vanilla-query-order-key-case", NULL },
	{ "get-vanilla-query-order-value", NULL },
	{ "get-vanilla-query-unreserved", NULL },
	{ "get-vanilla-utf8-query", NULL },
	{ "get-vanilla-with-session-token", TOKEN_HEX },
	{ "normalize-path/get-relative", NULL },
	{ "normalize-path/get-relative-relative", NULL },
	{ "normalize-path/get-slash", NULL },
	{ "normalize-path/get-slash-dot-slash", NULL },
	{ "normalize-path/get-slash-pointless-dot", NULL },
	{ "normalize-path/get-slashes", NULL },
	{ "normalize-path/get-space", NULL },
	{ "normalize-path/get-special-character", NULL },
	{ "post-header-key-case", NULL },
	{ "post-header-key-sort", NULL },
	{ "post-header-value-case", NULL },
	{ "post-sts-token/post-sts-header-after", NULL },    /* token sent unsigned */
	{ "post-sts-token/post-sts-header-before", TOKEN_STS },  /* also in the .req */
	{ "post-vanilla", NULL },
	{ "post-vanilla-empty-query-value", NULL },
	{ "post-vanilla-query", NULL },
	{ "post-x-www-form-urlencoded", NULL },
	{ "post-x-www-form-urlencoded-parameters", NULL },
};
#define OLD_SUITE_CASES 34

static char *old_file(const struct old_case *c, const char *ext)
{
	const char *base = strrchr(c->dir, '/');
	char rel[512];

	base = base != NULL ? base + 1 : c->dir;
	ck_assert_int_lt(snprintf(rel, sizeof(rel), "aws-sigv4-testsuite/%s/%s.%s", c->dir, base, ext),
			 (int)sizeof(rel));
	return load_expected(rel);
}

START_TEST(old_suite)
{
	const struct old_case *c = &old_cases[_i];
	struct hsdo_sigv4_credentials cred = { SUITE_AKID, SUITE_SECRET, c->token };
	struct hsdo_sigv4_params p = { "us-east-1", "service", SUITE_TIME, true };
	struct hsdo_sigv4_result res;
	struct hsdo_sigv4_request req;
	struct raw_req raw;
	char err[256] = "", *reqtxt, *creq, *sts, *authz;
	size_t len;
	char rel[512];
	const char *base = strrchr(c->dir, '/');

	base = base != NULL ? base + 1 : c->dir;
	ck_assert_int_lt(snprintf(rel, sizeof(rel), "aws-sigv4-testsuite/%s/%s.req", c->dir, base),
			 (int)sizeof(rel));
	reqtxt = hsdo_test_load_data(rel, &len);
	raw_parse(reqtxt, len, &raw);
	req = raw_view(&raw, NULL, NULL);
	creq = old_file(c, "creq");
	sts = old_file(c, "sts");
	authz = old_file(c, "authz");

	ck_assert_msg(hsdo_sigv4_sign(&req, &cred, &p, &res, err, sizeof(err)) == 0,
		      "%s: %s", c->dir, err);
	ck_assert_str_eq(res.canonical_request, creq);
	ck_assert_str_eq(res.string_to_sign, sts);
	ck_assert_str_eq(res.authorization, authz);
	ck_assert_str_eq(res.amz_date, "20150830T123600Z");
	ck_assert_ptr_nonnull(strstr(authz, res.signature));
	ck_assert_ptr_nonnull(strstr(authz, res.signed_headers));
	assert_no_secret(&res, SUITE_SECRET, c->token);

	hsdo_sigv4_result_free(&res);
	ck_assert_ptr_null(res.canonical_request);
	raw_free(&raw);
	free(reqtxt);
	free(creq);
	free(sts);
	free(authz);
}
END_TEST

/* ---- the aws-c-auth suite (aws-signing-test-suite-v4) ------------------------- */

static const char *const v4_cases[] = {
	"get-header-key-duplicate", "get-header-value-multiline", "get-header-value-order",
	"get-header-value-trim", "get-relative-normalized", "get-relative-relative-normalized",
	"get-relative-relative-unnormalized", "get-relative-unnormalized",
	"get-slash-dot-slash-normalized", "get-slash-dot-slash-unnormalized",
	"get-slash-normalized", "get-slash-pointless-dot-normalized",
	"get-slash-pointless-dot-unnormalized", "get-slash-unnormalized",
	"get-slashes-normalized", "get-slashes-unnormalized", "get-space-normalized",
	"get-space-unnormalized", "get-unreserved", "get-utf8", "get-vanilla",
	"get-vanilla-empty-query-key", "get-vanilla-query", "get-vanilla-query-order-encoded",
	"get-vanilla-query-order-key-case", "get-vanilla-query-unreserved",
	"get-vanilla-utf8-query", "get-vanilla-with-session-token", "post-header-key-case",
	"post-header-key-sort", "post-header-value-case", "post-sts-header-after",
	"post-sts-header-before", "post-vanilla", "post-vanilla-empty-query-value",
	"post-vanilla-query", "post-x-www-form-urlencoded",
	"post-x-www-form-urlencoded-parameters",
};
#define V4_SUITE_CASES 38

static char *v4_file(const char *name, const char *file)
{
	char rel[512];

	ck_assert_int_lt(snprintf(rel, sizeof(rel), "aws-signing-test-suite-v4/v4/%s/%s", name, file),
			 (int)sizeof(rel));
	return load_expected(rel);
}

static int64_t parse_iso8601(const char *s)
{
	struct tm tm;
	int n = 0;

	memset(&tm, 0, sizeof(tm));
	ck_assert_int_eq(sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon,
				&tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n), 6);
	ck_assert_msg(n > 0 && s[n] == '\0', "timestamp %s", s);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

static const char *json_str(const cJSON *o, const char *key)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(j) ? j->valuestring : NULL;
}

START_TEST(v4_suite)
{
	const char *name = v4_cases[_i];
	struct hsdo_sigv4_credentials cred = { 0 };
	struct hsdo_sigv4_params p = { 0 };
	struct hsdo_sigv4_result res;
	struct hsdo_sigv4_request req;
	struct raw_req raw;
	const cJSON *jc;
	cJSON *ctx;
	char err[256] = "", *ctxtxt, *reqtxt, *creq, *sts, *sig, *sreq, *authz, *eol;
	char body_hash[65], rel[512];
	const char *token;
	size_t len;

	ctxtxt = v4_file(name, "context.json");
	ctx = cJSON_Parse(ctxtxt);
	ck_assert_ptr_nonnull(ctx);
	jc = cJSON_GetObjectItemCaseSensitive(ctx, "credentials");
	cred.access_key_id = json_str(jc, "access_key_id");
	cred.secret_access_key = json_str(jc, "secret_access_key");
	token = json_str(jc, "token");
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ctx, "omit_session_token")))
		cred.session_token = token;
	p.region = json_str(ctx, "region");
	p.service = json_str(ctx, "service");
	p.now_s = parse_iso8601(json_str(ctx, "timestamp"));
	p.normalize_path = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ctx, "normalize"));
	ck_assert_ptr_nonnull(cred.access_key_id);
	ck_assert_ptr_nonnull(cred.secret_access_key);
	ck_assert_ptr_nonnull(p.region);
	ck_assert_ptr_nonnull(p.service);

	ck_assert_int_lt(snprintf(rel, sizeof(rel), "aws-signing-test-suite-v4/v4/%s/request.txt", name),
			 (int)sizeof(rel));
	reqtxt = hsdo_test_load_data(rel, &len);
	raw_parse(reqtxt, len, &raw);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ctx, "sign_body"))) {
		ck_assert_int_eq(hsdo_sigv4_sha256_hex(raw.body, raw.body_len, body_hash), 0);
		req = raw_view(&raw, "x-amz-content-sha256", body_hash);
	} else {
		req = raw_view(&raw, NULL, NULL);
	}

	creq = v4_file(name, "header-canonical-request.txt");
	sts = v4_file(name, "header-string-to-sign.txt");
	sig = v4_file(name, "header-signature.txt");
	sreq = v4_file(name, "header-signed-request.txt");
	authz = strstr(sreq, "\nAuthorization:");
	ck_assert_ptr_nonnull(authz);
	authz += strlen("\nAuthorization:");
	if ((eol = strchr(authz, '\n')) != NULL)
		*eol = '\0';

	ck_assert_msg(hsdo_sigv4_sign(&req, &cred, &p, &res, err, sizeof(err)) == 0,
		      "%s: %s", name, err);
	ck_assert_str_eq(res.canonical_request, creq);
	ck_assert_str_eq(res.string_to_sign, sts);
	ck_assert_str_eq(res.signature, sig);
	ck_assert_str_eq(res.authorization, authz);
	assert_no_secret(&res, cred.secret_access_key, cred.session_token);
	if (token != NULL && cred.session_token == NULL)
		ck_assert_ptr_null(strstr(res.canonical_request, token));

	hsdo_sigv4_result_free(&res);
	raw_free(&raw);
	cJSON_Delete(ctx);
	free(ctxtxt);
	free(reqtxt);
	free(creq);
	free(sts);
	free(sig);
	free(sreq);
}
END_TEST

/* Every case present in tests/data is in a table above, and no fewer than
 * expected: a suite update (or a lost directory) fails here. */
static int count_old_cases(const char *dir, const char *rel)
{
	struct dirent **ents;
	char sub[1024], relsub[1024], want[600];
	struct stat st;
	int n, i, j, count = 0;

	n = scandir(dir, &ents, NULL, alphasort);
	ck_assert_int_ge(n, 0);
	for (i = 0; i < n; i++) {
		const char *d = ents[i]->d_name;

		if (d[0] == '.')
			continue;
		ck_assert_int_lt(snprintf(sub, sizeof(sub), "%s/%s", dir, d), (int)sizeof(sub));
		if (stat(sub, &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		ck_assert_int_lt(snprintf(relsub, sizeof(relsub), "%s%s%s", rel, rel[0] ? "/" : "", d),
				 (int)sizeof(relsub));
		ck_assert_int_lt(snprintf(want, sizeof(want), "%s/%s.req", sub, d), (int)sizeof(want));
		if (stat(want, &st) == 0) {
			for (j = 0; j < N(old_cases); j++)
				if (strcmp(old_cases[j].dir, relsub) == 0)
					break;
			ck_assert_msg(j < N(old_cases), "case %s is not in old_cases", relsub);
			count++;
		}
		count += count_old_cases(sub, relsub);
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return count;
}

START_TEST(suites_complete)
{
	char *old = hsdo_test_data_path("aws-sigv4-testsuite");
	char *v4 = hsdo_test_data_path("aws-signing-test-suite-v4/v4");
	char want[1024];
	struct dirent **ents;
	struct stat st;
	int n, i, j, count = 0;

	ck_assert_int_eq(N(old_cases), OLD_SUITE_CASES);
	ck_assert_int_eq(N(v4_cases), V4_SUITE_CASES);
	ck_assert_int_eq(count_old_cases(old, ""), OLD_SUITE_CASES);

	n = scandir(v4, &ents, NULL, alphasort);
	ck_assert_int_ge(n, 0);
	for (i = 0; i < n; i++) {
		ck_assert_int_lt(snprintf(want, sizeof(want), "%s/%s/request.txt", v4, ents[i]->d_name),
				 (int)sizeof(want));
		if (ents[i]->d_name[0] != '.' && stat(want, &st) == 0) {
			for (j = 0; j < N(v4_cases); j++)
				if (strcmp(v4_cases[j], ents[i]->d_name) == 0)
					break;
			ck_assert_msg(j < N(v4_cases), "case %s is not in v4_cases", ents[i]->d_name);
			count++;
		}
		free(ents[i]);
	}
	free(ents);
	ck_assert_int_eq(count, V4_SUITE_CASES);
	free(old);
	free(v4);
}
END_TEST

/* ---- vectors for the services HSDO calls --------------------------------------- */

/* Expected strings computed with the AWS SDK for JavaScript v3 signer,
 * @smithy/signature-v4 5.7.5 with @aws-crypto/sha256-js (npm install in a
 * scratch directory), `new SignatureV4({ credentials, region, service,
 * sha256: Sha256, applyChecksum: false }).sign(new HttpRequest({...}),
 * { signingDate: new Date(1683022272 * 1000) })`, capturing the canonical
 * request and string to sign by wrapping createStringToSign. Same headers,
 * body and query as below; credentials AKIDEXAMPLE / SUITE_SECRET. */
#define SVC_TIME INT64_C(1683022272)          /* 2023-05-02T10:11:12Z */
#define DDB_BODY "{\"TableName\":\"hsdo-slots\",\"Key\":{\"id\":{\"N\":\"1\"}},\"ConsistentRead\":true}"
#define DDB_TOKEN "FwoGZXIvYXdzEXAMPLE//////////wEaDEXAMPLETOKEN+abc/def=="
#define EC2_BODY "Action=DescribeInstances&Version=2016-11-15"

static const struct svc_vector {
	const char *name, *service, *method, *query, *token, *body;
	struct hsdo_sigv4_header h[4];
	size_t nh;
	const char *creq, *sts, *authz;
} svc[] = {
	{
		"dynamodb GetItem", "dynamodb", "POST", "", NULL, DDB_BODY,
		{ { "Host", "dynamodb.eu-west-1.amazonaws.com" },
		  { "Content-Type", "application/x-amz-json-1.0" },
		  { "X-Amz-Target", "DynamoDB_20120810.GetItem" },
		  { "Content-Length", "71" } }, 4,
		"POST\n/\n\ncontent-length:71\ncontent-type:application/x-amz-json-1.0\n"
		"host:dynamodb.eu-west-1.amazonaws.com\nx-amz-date:20230502T101112Z\n"
		"x-amz-target:DynamoDB_20120810.GetItem\n\n"
		"content-length;content-type;host;x-amz-date;x-amz-target\n"
		"20dd7d17e54038ec34c963d205a0ab1b48cd96359c34038da13dd4306ac75d0a",
		"AWS4-HMAC-SHA256\n20230502T101112Z\n20230502/eu-west-1/dynamodb/aws4_request\n"
		"0a274a9654c7b035c6da6d905f3b60dfccd907767f088fb81f0f03f47f2de2c8",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20230502/eu-west-1/dynamodb/aws4_request, "
		"SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-target, "
		"Signature=f7cfbbeb26636b736dd6f4d24e47e9302e7178360b593e6547af08da55f21f24",
	},
	{
		"dynamodb GetItem with session token", "dynamodb", "POST", "", DDB_TOKEN, DDB_BODY,
		{ { "Host", "dynamodb.eu-west-1.amazonaws.com" },
		  { "Content-Type", "application/x-amz-json-1.0" },
		  { "X-Amz-Target", "DynamoDB_20120810.GetItem" },
		  { "Content-Length", "71" } }, 4,
		"POST\n/\n\ncontent-length:71\ncontent-type:application/x-amz-json-1.0\n"
		"host:dynamodb.eu-west-1.amazonaws.com\nx-amz-date:20230502T101112Z\n"
		"x-amz-security-token:" DDB_TOKEN "\n"
		"x-amz-target:DynamoDB_20120810.GetItem\n\n"
		"content-length;content-type;host;x-amz-date;x-amz-security-token;x-amz-target\n"
		"20dd7d17e54038ec34c963d205a0ab1b48cd96359c34038da13dd4306ac75d0a",
		"AWS4-HMAC-SHA256\n20230502T101112Z\n20230502/eu-west-1/dynamodb/aws4_request\n"
		"b28141ab9267dcee53fad2d49a350d4b080bb5e86ca1549cc954b546cd788bba",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20230502/eu-west-1/dynamodb/aws4_request, "
		"SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-security-token;"
		"x-amz-target, "
		"Signature=3b6092d053919ef82b32425edfb2e37c742c9bdd44ec11f3e923cdc42d267839",
	},
	{
		"ec2 DescribeInstances form POST", "ec2", "POST", "", NULL, EC2_BODY,
		{ { "Host", "ec2.eu-west-1.amazonaws.com" },
		  { "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" },
		  { "Content-Length", "43" } }, 3,
		"POST\n/\n\ncontent-length:43\n"
		"content-type:application/x-www-form-urlencoded; charset=utf-8\n"
		"host:ec2.eu-west-1.amazonaws.com\nx-amz-date:20230502T101112Z\n\n"
		"content-length;content-type;host;x-amz-date\n"
		"6171eb09865e32b0602af0f7957e26573a51f53caaedff02ff88883cb0275885",
		"AWS4-HMAC-SHA256\n20230502T101112Z\n20230502/eu-west-1/ec2/aws4_request\n"
		"7fd326ca8f62572d797fe93ab1c0d076b8105c8d606111af9a8d758f8677c73d",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20230502/eu-west-1/ec2/aws4_request, "
		"SignedHeaders=content-length;content-type;host;x-amz-date, "
		"Signature=5e4da47489abd0896b123ea230ed118992eb9fd41a78eb41bf5e1365e8968f84",
	},
	{
		/* smithy was given the decoded query object; we get it as sent */
		"autoscaling query GET", "autoscaling", "GET",
		"Version=2011-01-01&Action=DescribeAutoScalingGroups"
		"&AutoScalingGroupNames.member.1=my%20asg%3ablue", NULL, NULL,
		{ { "Host", "autoscaling.eu-west-1.amazonaws.com" } }, 1,
		"GET\n/\nAction=DescribeAutoScalingGroups&AutoScalingGroupNames.member.1="
		"my%20asg%3Ablue&Version=2011-01-01\nhost:autoscaling.eu-west-1.amazonaws.com\n"
		"x-amz-date:20230502T101112Z\n\nhost;x-amz-date\n"
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"AWS4-HMAC-SHA256\n20230502T101112Z\n20230502/eu-west-1/autoscaling/aws4_request\n"
		"fbea09d23c7c28431cd71002f628d9c3d3604e633eff1576d80ff9c2c0cb6ea8",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20230502/eu-west-1/autoscaling/aws4_request, "
		"SignedHeaders=host;x-amz-date, "
		"Signature=fdbf2219e4020d9266e5763ca83a576bc3a7f829a313a05fe8de2a83daed59b4",
	},
};

static void svc_request(const struct svc_vector *v, struct hsdo_sigv4_request *req,
			struct hsdo_sigv4_credentials *cred, struct hsdo_sigv4_params *p)
{
	memset(req, 0, sizeof(*req));
	req->method = v->method;
	req->path = "/";
	req->query = v->query;
	req->headers = v->h;
	req->nheaders = v->nh;
	req->body = v->body;
	req->body_len = v->body != NULL ? strlen(v->body) : 0;
	cred->access_key_id = SUITE_AKID;
	cred->secret_access_key = SUITE_SECRET;
	cred->session_token = v->token;
	p->region = "eu-west-1";
	p->service = v->service;
	p->now_s = SVC_TIME;
	p->normalize_path = true;
}

START_TEST(service_vectors)
{
	const struct svc_vector *v = &svc[_i];
	struct hsdo_sigv4_request req;
	struct hsdo_sigv4_credentials cred;
	struct hsdo_sigv4_params p;
	struct hsdo_sigv4_result res;
	char err[256] = "";

	svc_request(v, &req, &cred, &p);
	ck_assert_msg(hsdo_sigv4_sign(&req, &cred, &p, &res, err, sizeof(err)) == 0,
		      "%s: %s", v->name, err);
	ck_assert_str_eq(res.canonical_request, v->creq);
	ck_assert_str_eq(res.string_to_sign, v->sts);
	ck_assert_str_eq(res.authorization, v->authz);
	ck_assert_str_eq(res.amz_date, "20230502T101112Z");
	assert_no_secret(&res, SUITE_SECRET, v->token);
	hsdo_sigv4_result_free(&res);
}
END_TEST

/* ---- helpers ---------------------------------------------------------------------- */

START_TEST(uri_encode_bytes)
{
	char in[1], out[4], want[4];
	int c, rc;

	for (c = 0; c < 256; c++) {
		bool unres = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			     (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';

		in[0] = (char)c;
		if (unres)
			snprintf(want, sizeof(want), "%c", c);
		else
			snprintf(want, sizeof(want), "%%%02X", (unsigned)c);
		rc = hsdo_url_encode(in, 1, true, out, sizeof(out));
		ck_assert_int_eq(rc, (int)strlen(want));
		ck_assert_str_eq(out, want);
		rc = hsdo_url_encode(in, 1, false, out, sizeof(out));
		ck_assert_str_eq(out, c == '/' ? "/" : want);
	}
}
END_TEST

START_TEST(uri_encode_strings)
{
	char out[64];

	ck_assert_int_eq(hsdo_url_encode("/a b/\xe1\x88\xb4", 8, false, out, sizeof(out)), 16);
	ck_assert_str_eq(out, "/a%20b/%E1%88%B4");
	ck_assert_int_eq(hsdo_url_encode("a/b+c=d", 7, true, out, sizeof(out)), 13);
	ck_assert_str_eq(out, "a%2Fb%2Bc%3Dd");
	ck_assert_int_eq(hsdo_url_encode("", 0, true, out, 1), 0);
	ck_assert_str_eq(out, "");
	/* embedded NUL is a byte like any other */
	ck_assert_int_eq(hsdo_url_encode("a\0b", 3, true, out, sizeof(out)), 5);
	ck_assert_str_eq(out, "a%00b");
	/* too small: exact fit works, one less fails with "" */
	ck_assert_int_eq(hsdo_url_encode("a b", 3, true, out, 6), 5);
	ck_assert_int_eq(hsdo_url_encode("a b", 3, true, out, 5), -HSDO_ETOOBIG);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(hsdo_url_encode("ab", 2, true, out, 2), -HSDO_ETOOBIG);
	ck_assert_int_eq(hsdo_url_encode("ab", 2, true, out, 0), -HSDO_ETOOBIG);
}
END_TEST

static const struct {
	int64_t t;
	const char *amz;
} dates[] = {
	{ 0, "19700101T000000Z" },
	{ SUITE_TIME, "20150830T123600Z" },
	{ SVC_TIME, "20230502T101112Z" },
	{ INT64_C(951782399), "20000228T235959Z" },
	{ INT64_C(951782400), "20000229T000000Z" },
	{ INT64_C(951868800), "20000301T000000Z" },
	{ INT64_C(4107542400), "21000301T000000Z" },   /* 2100 is not a leap year */
	{ INT64_C(4107542399), "21000228T235959Z" },
	{ HSDO_SIGV4_TIME_MAX, "99991231T235959Z" },
};

START_TEST(format_date_table)
{
	char amz[17], d[9];

	ck_assert_int_eq(hsdo_sigv4_format_date(dates[_i].t, amz, d), 0);
	ck_assert_str_eq(amz, dates[_i].amz);
	ck_assert_int_eq(strncmp(d, dates[_i].amz, 8), 0);
	ck_assert_uint_eq(strlen(d), 8);
}
END_TEST

START_TEST(format_date_sweep)
{
	char amz[17], d[9], want[32];
	struct tm tm;
	int64_t t;
	time_t tt;

	ck_assert_int_eq(hsdo_sigv4_format_date(-1, amz, d), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_sigv4_format_date(HSDO_SIGV4_TIME_MAX + 1, amz, d), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_sigv4_format_date(INT64_MIN, amz, d), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_sigv4_format_date(INT64_MAX, amz, d), -HSDO_EINVAL);
	for (t = 0; t <= HSDO_SIGV4_TIME_MAX; t += INT64_C(7654321)) {
		tt = (time_t)t;
		ck_assert_ptr_nonnull(gmtime_r(&tt, &tm));
		strftime(want, sizeof(want), "%Y%m%dT%H%M%SZ", &tm);
		ck_assert_int_eq(hsdo_sigv4_format_date(t, amz, d), 0);
		ck_assert_str_eq(amz, want);
	}
}
END_TEST

START_TEST(sha256_hex)
{
	char hex[65];

	ck_assert_int_eq(hsdo_sigv4_sha256_hex(NULL, 0, hex), 0);
	ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	ck_assert_int_eq(hsdo_sigv4_sha256_hex("Param1=value1", 13, hex), 0);
	ck_assert_str_eq(hex, "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
}
END_TEST

/* ---- canonical URI and query beyond the suites ----------------------------------- */

static char *canon_line(const char *path, const char *query, bool normalize, int line)
{
	struct hsdo_sigv4_header h[] = { { "host", "example.amazonaws.com" } };
	struct hsdo_sigv4_request req = { "GET", path, query, h, 1, NULL, 0 };
	struct hsdo_sigv4_credentials cred = { SUITE_AKID, SUITE_SECRET, NULL };
	struct hsdo_sigv4_params p = { "us-east-1", "service", SUITE_TIME, normalize };
	struct hsdo_sigv4_result res;
	char err[256] = "", *s, *e, *ret;
	int i;

	ck_assert_msg(hsdo_sigv4_sign(&req, &cred, &p, &res, err, sizeof(err)) == 0,
		      "%s?%s: %s", path, query, err);
	s = res.canonical_request;
	for (i = 0; i < line; i++)
		s = strchr(s, '\n') + 1;
	e = strchr(s, '\n');
	ret = dupn(s, (size_t)(e - s));
	hsdo_sigv4_result_free(&res);
	return ret;
}

static const struct {
	const char *in;
	bool normalize;
	const char *want;
} paths[] = {
	{ "/", true, "/" },
	{ "/a/b/..", true, "/a" },            /* trailing slash only if the input had one */
	{ "/a/b/../", true, "/a/" },
	{ "/../../x", true, "/x" },           /* ".." stops at the root */
	{ "/a/./b//c/", true, "/a/b/c/" },
	{ "/a/.../b", true, "/a/.../b" },     /* "..." is a name */
	{ "/a/..b/.c", true, "/a/..b/.c" },
	{ "/a%20b", true, "/a%2520b" },       /* as sent, encoded once more */
	{ "/a%2Fb/..", true, "/" },           /* an encoded slash is not a separator */
	{ "/\xff\x01", true, "/%FF%01" },
	{ "/a//b/./../", false, "/a//b/./../" },
	{ "/a b", false, "/a%20b" },
};

START_TEST(canonical_paths)
{
	char *got = canon_line(paths[_i].in, "", paths[_i].normalize, 1);

	ck_assert_str_eq(got, paths[_i].want);
	free(got);
}
END_TEST

static const struct {
	const char *in, *want;
} queries[] = {
	{ "", "" },
	{ "a=1&&b", "a=1&b=" },               /* empty pieces skipped */
	{ "&", "" },
	{ "=", "=" },
	{ "b=2&a=3&a=1", "a=1&a=3&b=2" },
	{ "a=b=c", "a=b%3Dc" },
	{ "a+b=c+d", "a%2Bb=c%2Bd" },         /* '+' is not a space in SigV4 */
	{ "%41%2f=%7e%20", "A%2F=~%20" },     /* decoded, then encoded the one way */
	{ "k=a/b:c", "k=a%2Fb%3Ac" },
	{ "Z=1&a=1&_=1&~=1&-=1&.=1&0=1", "-=1&.=1&0=1&Z=1&_=1&a=1&~=1" },
	{ "a=%E1%88%B4&a=%e1%88%b3", "a=%E1%88%B3&a=%E1%88%B4" },
};

START_TEST(canonical_queries)
{
	char *got = canon_line("/", queries[_i].in, true, 2);

	ck_assert_str_eq(got, queries[_i].want);
	free(got);
}
END_TEST

/* ---- input checks --------------------------------------------------------------- */

static int try_sign(struct hsdo_sigv4_request *req, struct hsdo_sigv4_credentials *cred,
		    struct hsdo_sigv4_params *p, char *err, size_t errlen)
{
	struct hsdo_sigv4_result res;
	int rc;

	memset(&res, 0x5a, sizeof(res));
	rc = hsdo_sigv4_sign(req, cred, p, &res, err, errlen);
	if (rc != 0) {
		/* failure leaves the result zeroed and says why, secret-free */
		ck_assert_ptr_null(res.canonical_request);
		ck_assert_ptr_null(res.authorization);
		ck_assert_int_eq(res.signature[0], 0);
		ck_assert_msg(err[0] != '\0', "no message for %d", rc);
		ck_assert_ptr_null(strstr(err, SUITE_SECRET));
		ck_assert_ptr_null(strstr(err, TOKEN_HEX));
	}
	hsdo_sigv4_result_free(&res);
	return rc;
}

START_TEST(bad_inputs)
{
	static char big[HSDO_SIGV4_QUERY_MAX + 2];
	struct hsdo_sigv4_header h[HSDO_SIGV4_HEADERS_MAX + 1];
	struct hsdo_sigv4_request req;
	struct hsdo_sigv4_credentials cred;
	struct hsdo_sigv4_params p;
	char err[256];
	size_t i;

#define RESET() do { \
		h[0].name = "Host"; h[0].value = "example.amazonaws.com"; \
		req = (struct hsdo_sigv4_request){ "GET", "/", "", h, 1, NULL, 0 }; \
		cred = (struct hsdo_sigv4_credentials){ SUITE_AKID, SUITE_SECRET, NULL }; \
		p = (struct hsdo_sigv4_params){ "us-east-1", "service", SUITE_TIME, true }; \
		err[0] = '\0'; \
	} while (0)
#define EXPECT(code) ck_assert_int_eq(try_sign(&req, &cred, &p, err, sizeof(err)), code)

	RESET();
	EXPECT(0);
	ck_assert_int_eq(hsdo_sigv4_sign(NULL, &cred, &p, NULL, NULL, 0), -HSDO_EINVAL);
	EXPECT(0);
	ck_assert_int_eq(try_sign(NULL, &cred, &p, err, sizeof(err)), -HSDO_EINVAL);
	RESET(); req.method = "get"; EXPECT(-HSDO_EINVAL);
	RESET(); req.method = ""; EXPECT(-HSDO_EINVAL);
	RESET(); req.method = "GETGETGETGETGETGET"; EXPECT(-HSDO_EINVAL);
	RESET(); req.path = "a"; EXPECT(-HSDO_EINVAL);
	RESET(); req.path = ""; EXPECT(-HSDO_EINVAL);
	RESET(); req.path = NULL; EXPECT(-HSDO_EINVAL);
	RESET(); req.query = NULL; EXPECT(0);
	RESET(); req.query = "a=%"; EXPECT(-HSDO_EINVAL);
	RESET(); req.query = "a=%4"; EXPECT(-HSDO_EINVAL);
	RESET(); req.query = "%zz=1"; EXPECT(-HSDO_EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	RESET(); req.query = big; EXPECT(-HSDO_ETOOBIG);
	big[HSDO_SIGV4_QUERY_MAX] = '\0';
	RESET(); req.query = big; EXPECT(0);
	big[HSDO_SIGV4_PATH_MAX + 1] = '\0';
	big[0] = '/';
	RESET(); req.path = big; EXPECT(-HSDO_ETOOBIG);
	big[HSDO_SIGV4_PATH_MAX] = '\0';
	RESET(); req.path = big; EXPECT(0);
	RESET(); req.body_len = 1; EXPECT(-HSDO_EINVAL);
	RESET(); req.body = big; req.body_len = (size_t)HSDO_SIGV4_BODY_MAX + 1; EXPECT(-HSDO_ETOOBIG);

	/* headers */
	RESET(); req.nheaders = 0; EXPECT(-HSDO_EINVAL);                 /* no Host */
	RESET(); h[0].name = "X-Host"; EXPECT(-HSDO_EINVAL);
	RESET(); req.headers = NULL; EXPECT(-HSDO_EINVAL);
	RESET(); h[0].name = "Ho st"; EXPECT(-HSDO_EINVAL);
	RESET(); h[0].name = "Host:"; EXPECT(-HSDO_EINVAL);
	RESET(); h[0].name = ""; EXPECT(-HSDO_EINVAL);
	RESET(); h[0].name = NULL; EXPECT(-HSDO_EINVAL);
	RESET(); h[0].value = NULL; EXPECT(-HSDO_EINVAL);
	RESET(); h[0].value = "a\r\nX-Evil: 1"; EXPECT(-HSDO_EINVAL);  /* header splitting */
	RESET(); h[0].value = "a\nb"; EXPECT(-HSDO_EINVAL);
	RESET(); h[0].value = "a\r"; EXPECT(-HSDO_EINVAL);
	RESET(); h[0].value = "a\x01"; EXPECT(-HSDO_EINVAL);
	RESET(); h[0].value = "a\x7f"; EXPECT(-HSDO_EINVAL);
	RESET(); h[0].value = "a\r\n\tb"; EXPECT(0);                     /* obs-fold */
	RESET(); h[0].value = "caf\xc3\xa9"; EXPECT(0);                   /* obs-text */
	big[0] = 'a';
	RESET(); h[0].name = big; big[HSDO_SIGV4_HNAME_MAX + 1] = '\0'; EXPECT(-HSDO_ETOOBIG);
	big[HSDO_SIGV4_HNAME_MAX] = '\0';
	RESET(); h[0].name = big; h[1] = (struct hsdo_sigv4_header){ "host", "x" };
	req.nheaders = 2; EXPECT(0);
	memset(big, 'a', sizeof(big) - 1);
	big[HSDO_SIGV4_HVALUE_MAX + 1] = '\0';
	RESET(); h[0].value = big; EXPECT(-HSDO_ETOOBIG);
	big[HSDO_SIGV4_HVALUE_MAX] = '\0';
	RESET(); h[0].value = big; EXPECT(0);
	RESET();
	for (i = 0; i <= HSDO_SIGV4_HEADERS_MAX; i++)
		h[i] = (struct hsdo_sigv4_header){ "host", "x" };
	req.nheaders = HSDO_SIGV4_HEADERS_MAX + 1;
	EXPECT(-HSDO_ETOOBIG);
	req.nheaders = HSDO_SIGV4_HEADERS_MAX;
	EXPECT(0);

	/* x-amz-date must agree with now_s */
	RESET(); h[1] = (struct hsdo_sigv4_header){ "X-Amz-Date", " 20150830T123600Z " };
	req.nheaders = 2; EXPECT(0);
	p.now_s++; EXPECT(-HSDO_EINVAL);
	RESET(); h[1] = (struct hsdo_sigv4_header){ "X-Amz-Date", "20150830T123600Z" };
	h[2] = h[1]; req.nheaders = 3; EXPECT(-HSDO_EINVAL);

	/* x-amz-security-token must agree with the credentials */
	RESET(); h[1] = (struct hsdo_sigv4_header){ "x-amz-security-token", TOKEN_HEX };
	req.nheaders = 2; EXPECT(0);
	cred.session_token = TOKEN_HEX; EXPECT(0);
	cred.session_token = TOKEN_STS; EXPECT(-HSDO_EINVAL);
	RESET(); h[1] = (struct hsdo_sigv4_header){ "x-amz-security-token", TOKEN_HEX };
	h[2] = h[1]; req.nheaders = 3; cred.session_token = TOKEN_HEX; EXPECT(-HSDO_EINVAL);
	RESET(); cred.session_token = "has space"; EXPECT(-HSDO_EINVAL);
	RESET(); cred.session_token = "tab\t"; EXPECT(-HSDO_EINVAL);
	RESET(); cred.session_token = ""; EXPECT(0);                      /* "" = none */

	/* credentials and scope */
	RESET(); cred.access_key_id = ""; EXPECT(-HSDO_EINVAL);
	RESET(); cred.access_key_id = "AKID/x"; EXPECT(-HSDO_EINVAL);
	RESET(); cred.access_key_id = "AKID, Signature=0"; EXPECT(-HSDO_EINVAL);
	RESET(); cred.access_key_id = NULL; EXPECT(-HSDO_EINVAL);
	RESET(); cred.secret_access_key = ""; EXPECT(-HSDO_EINVAL);
	RESET(); cred.secret_access_key = NULL; EXPECT(-HSDO_EINVAL);
	RESET(); cred.secret_access_key = big; big[HSDO_SIGV4_SECRET_MAX + 1] = '\0';
	EXPECT(-HSDO_ETOOBIG);
	big[HSDO_SIGV4_SECRET_MAX] = '\0';
	RESET(); cred.secret_access_key = big; EXPECT(0);
	RESET(); p.region = "us/east"; EXPECT(-HSDO_EINVAL);
	RESET(); p.region = "US-EAST-1"; EXPECT(-HSDO_EINVAL);
	RESET(); p.region = ""; EXPECT(-HSDO_EINVAL);
	RESET(); p.service = NULL; EXPECT(-HSDO_EINVAL);
	RESET(); p.service = "a b"; EXPECT(-HSDO_EINVAL);
	RESET(); p.now_s = -1; EXPECT(-HSDO_EINVAL);
	RESET(); p.now_s = HSDO_SIGV4_TIME_MAX + 1; EXPECT(-HSDO_EINVAL);
	RESET(); p.now_s = HSDO_SIGV4_TIME_MAX; EXPECT(0);

	/* a NULL err buffer is fine */
	RESET(); req.path = "x";
	ck_assert_int_eq(hsdo_sigv4_sign(&req, &cred, &p, &(struct hsdo_sigv4_result){ 0 }, NULL, 0),
			 -HSDO_EINVAL);
#undef RESET
#undef EXPECT
}
END_TEST

/* Whitespace and folding in header values, and names compared without case. */
START_TEST(header_canonical_form)
{
	struct hsdo_sigv4_header h[] = {
		{ "Host", "example.amazonaws.com" },
		{ "My-Header", "\t a \t b\r\n  c  " },
		{ "my-header", "" },
		{ "MY-HEADER", "  z  " },
		{ "Empty", "   " },
	};
	struct hsdo_sigv4_request req = { "GET", "/", "", h, N(h), NULL, 0 };
	struct hsdo_sigv4_credentials cred = { SUITE_AKID, SUITE_SECRET, NULL };
	struct hsdo_sigv4_params p = { "us-east-1", "service", SUITE_TIME, true };
	struct hsdo_sigv4_result res;
	char err[256] = "";

	ck_assert_msg(hsdo_sigv4_sign(&req, &cred, &p, &res, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(res.canonical_request,
			 "GET\n/\n\nempty:\nhost:example.amazonaws.com\nmy-header:a b c,,z\n"
			 "x-amz-date:20150830T123600Z\n\nempty;host;my-header;x-amz-date\n"
			 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	ck_assert_str_eq(res.signed_headers, "empty;host;my-header;x-amz-date");
	hsdo_sigv4_result_free(&res);
	hsdo_sigv4_result_free(&res);   /* twice: a no-op */
	hsdo_sigv4_result_free(NULL);
}
END_TEST

/* The secret key shows nowhere, even in a request that quotes it (as a
 * header value the caller chose to send, which is then the caller's doing,
 * or in the error for a header the signer refuses). */
START_TEST(secret_never_output)
{
	struct hsdo_sigv4_header h[] = {
		{ "Host", "example.amazonaws.com" },
		{ "X-Bad", SUITE_SECRET "\x01" },
	};
	struct hsdo_sigv4_request req = { "POST", "/", "a=1", h, 2, SUITE_SECRET, 40 };
	struct hsdo_sigv4_credentials cred = { SUITE_AKID, SUITE_SECRET, TOKEN_STS };
	struct hsdo_sigv4_params p = { "us-east-1", "service", SUITE_TIME, true };
	struct hsdo_sigv4_result res;
	char err[256] = "";

	/* refused header: the message names the header, not its value */
	ck_assert_int_eq(hsdo_sigv4_sign(&req, &cred, &p, &res, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "X-Bad"));
	ck_assert_ptr_null(strstr(err, SUITE_SECRET));
	ck_assert_ptr_null(strstr(err, TOKEN_STS));
	/* a token mismatch does not quote either token */
	h[1] = (struct hsdo_sigv4_header){ "X-Amz-Security-Token", TOKEN_HEX };
	ck_assert_int_eq(hsdo_sigv4_sign(&req, &cred, &p, &res, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_ptr_null(strstr(err, TOKEN_HEX));
	ck_assert_ptr_null(strstr(err, TOKEN_STS));
	/* body holding the secret: only its hash is in the output */
	req.nheaders = 1;
	ck_assert_msg(hsdo_sigv4_sign(&req, &cred, &p, &res, err, sizeof(err)) == 0, "%s", err);
	assert_no_secret(&res, SUITE_SECRET, TOKEN_STS);
	ck_assert_ptr_null(strstr(res.canonical_request, "AWS4" SUITE_SECRET));
	hsdo_sigv4_result_free(&res);
}
END_TEST

/* Two signers agree only on the same inputs: each scope part matters. */
START_TEST(scope_changes_signature)
{
	struct hsdo_sigv4_header h[] = { { "Host", "example.amazonaws.com" } };
	struct hsdo_sigv4_request req = { "GET", "/", "", h, 1, NULL, 0 };
	struct hsdo_sigv4_credentials cred = { SUITE_AKID, SUITE_SECRET, NULL };
	struct hsdo_sigv4_params p = { "us-east-1", "service", SUITE_TIME, true };
	struct hsdo_sigv4_result a, b;
	char err[256] = "";

	ck_assert_int_eq(hsdo_sigv4_sign(&req, &cred, &p, &a, err, sizeof(err)), 0);
	ck_assert_str_eq(a.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
	p.region = "us-east-2";
	ck_assert_int_eq(hsdo_sigv4_sign(&req, &cred, &p, &b, err, sizeof(err)), 0);
	ck_assert_str_ne(a.signature, b.signature);
	ck_assert_ptr_nonnull(strstr(b.authorization, "/us-east-2/service/aws4_request,"));
	hsdo_sigv4_result_free(&b);
	p.region = "us-east-1";
	p.service = "servicf";
	ck_assert_int_eq(hsdo_sigv4_sign(&req, &cred, &p, &b, err, sizeof(err)), 0);
	ck_assert_str_ne(a.signature, b.signature);
	hsdo_sigv4_result_free(&b);
	p.service = "service";
	p.now_s += 86400;
	ck_assert_int_eq(hsdo_sigv4_sign(&req, &cred, &p, &b, err, sizeof(err)), 0);
	ck_assert_str_ne(a.signature, b.signature);
	ck_assert_str_eq(b.amz_date, "20150831T123600Z");
	hsdo_sigv4_result_free(&b);
	hsdo_sigv4_result_free(&a);
}
END_TEST

/* ---- allocation failures ------------------------------------------------------- */

static void alloc_loop(const struct svc_vector *v, int sticky)
{
	struct hsdo_sigv4_request req;
	struct hsdo_sigv4_credentials cred;
	struct hsdo_sigv4_params p;
	struct hsdo_sigv4_result res, zero;
	char err[256];
	unsigned long n;
	int rc = -1;

	svc_request(v, &req, &cred, &p);
	memset(&zero, 0, sizeof(zero));
	for (n = 1; n < 200; n++) {
		err[0] = '\0';
		hsdo_alloc_fail_at(n, sticky);
		rc = hsdo_sigv4_sign(&req, &cred, &p, &res, err, sizeof(err));
		hsdo_alloc_fail_at(0, 0);
		if (rc == 0)
			break;
		ck_assert_msg(rc == -HSDO_ENOMEM, "step %lu: %d %s", n, rc, err);
		ck_assert(memcmp(&res, &zero, sizeof(res)) == 0);
		ck_assert_str_ne(err, "");
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_gt(n, 4);
	ck_assert_str_eq(res.authorization, v->authz);
	hsdo_sigv4_result_free(&res);
}

START_TEST(alloc_failures)
{
	alloc_loop(&svc[_i], 0);
	alloc_loop(&svc[_i], 1);
}
END_TEST

static Suite *sigv4_suite(void)
{
	Suite *s = suite_create("sigv4");
	TCase *tc;

	tc = tcase_create("suites");
	tcase_add_test(tc, suites_complete);
	tcase_add_loop_test(tc, old_suite, 0, N(old_cases));
	tcase_add_loop_test(tc, v4_suite, 0, N(v4_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("services");
	tcase_add_loop_test(tc, service_vectors, 0, N(svc));
	suite_add_tcase(s, tc);

	tc = tcase_create("helpers");
	tcase_add_test(tc, uri_encode_bytes);
	tcase_add_test(tc, uri_encode_strings);
	tcase_add_loop_test(tc, format_date_table, 0, N(dates));
	tcase_add_test(tc, format_date_sweep);
	tcase_add_test(tc, sha256_hex);
	suite_add_tcase(s, tc);

	tc = tcase_create("canonical");
	tcase_add_loop_test(tc, canonical_paths, 0, N(paths));
	tcase_add_loop_test(tc, canonical_queries, 0, N(queries));
	tcase_add_test(tc, header_canonical_form);
	tcase_add_test(tc, bad_inputs);
	tcase_add_test(tc, secret_never_output);
	tcase_add_test(tc, scope_changes_signature);
	suite_add_tcase(s, tc);

	tc = tcase_create("alloc");
	tcase_add_loop_test(tc, alloc_failures, 0, N(svc));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(sigv4_suite());
}
