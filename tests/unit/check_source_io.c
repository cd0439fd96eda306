/* Discovery sources against real peers, over the blocking transport (and a
 * small poll() loop for the event-driven one):
 *  - static: change detection (in place, atomic rename, a touch), a
 *    malformed file fails the list with FILE:LINE and leaves the last good
 *    result alone, missing file, not a file;
 *  - consul (tests/fixtures/consul.js): ?passing, X-Consul-Token, a
 *    blocking query that returns when the service changes, a wait that runs
 *    out (unchanged), an index that goes backwards, several services in
 *    event mode, a failing service fails the whole list, 403s without the
 *    token in the error;
 *  - aws (tests/fixtures/aws_query_fixture.js, SigV4 checked on every
 *    request): the fixture's replies parse as the AWS samples do, NextToken
 *    pagination over groups and instances with name and id batches (never
 *    an empty id list), lifecycle states, a Terminating:Wait instance
 *    awaiting the hook and CompleteLifecycleAction recorded with its
 *    parameters, unknown ids, throttling and 5xx retried, an error or a
 *    bad signature leaves no partial list. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "dynalite.h"
#include "haproxy_peer.h"
#include "hsdo/alloc.h"
#include "hsdo/aws.h"
#include "hsdo/aws_query.h"
#include "hsdo/err.h"
#include "hsdo/http.h"
#include "hsdo/source.h"
#include "hsdo/source_static.h"
#include "hsdo/source_consul.h"
#include "hsdo/source_aws.h"
#include "hsdo_test.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define TOKEN "consul-S3CRET-token-0123"

static char *g_dir;

/* ---- helpers ---------------------------------------------------------------------- */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct got {
	int calls;
	int rc;
	char err[1024];
	const struct hsdo_source_result *res;
};

static void on_list(void *arg, int rc, const struct hsdo_source_result *res, const char *err)
{
	struct got *g = arg;

	g->calls++;
	g->rc = rc;
	g->res = res;
	snprintf(g->err, sizeof(g->err), "%s", err != NULL ? err : "(null)");
	if (rc == 0)
		ck_assert_ptr_nonnull(res);
	else
		ck_assert_ptr_null(res);
}

/* One list on a source that completes before returning. */
static struct got list_now(struct hsdo_source *s)
{
	struct got g;

	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(hsdo_source_list(s, on_list, &g), 0);
	ck_assert_int_eq(g.calls, 1);
	return g;
}

static const struct hsdo_instance *find(const struct hsdo_source_result *r, const char *id)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->instances[i].id, id) == 0)
			return &r->instances[i];
	return NULL;
}

static const struct hsdo_source_group *group(const struct hsdo_source_result *r,
					     const char *name)
{
	size_t i;

	for (i = 0; i < r->ngroups; i++)
		if (strcmp(r->groups[i].name, name) == 0)
			return &r->groups[i];
	ck_abort_msg("no group %s", name);
	return NULL;
}

static void sorted_unique(const struct hsdo_source_result *r)
{
	size_t i;

	for (i = 1; i < r->n; i++)
		ck_assert_msg(strcmp(r->instances[i - 1].id, r->instances[i].id) < 0, "%s >= %s",
			      r->instances[i - 1].id, r->instances[i].id);
}

static void setup_dir(void)
{
	g_dir = hsdo_test_tmpdir("source-io");
	ck_assert_ptr_nonnull(g_dir);
}

static void teardown_dir(void)
{
	if (g_dir != NULL) {
		hsdo_test_rmtree(g_dir);
		free(g_dir);
		g_dir = NULL;
	}
}

static void ctl(uint16_t port, const char *path, const char *body)
{
	char out[1024];
	int st = hsdo_test_http_req(port, "POST", path, body, out, sizeof(out));

	ck_assert_msg(st == 200, "POST %s: %d %s", path, st, out);
}

/* GET a control endpoint into a heap buffer (free()). */
static char *ctl_get(uint16_t port, const char *path)
{
	char *out = malloc(65536);
	int st = hsdo_test_http_req(port, "GET", path, NULL, out, 65536);

	ck_assert_msg(st == 200, "GET %s: %d", path, st);
	return out;
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (; (hay = strstr(hay, needle)) != NULL; hay += strlen(needle))
		n++;
	return n;
}

/* ---- a poll() loop for the event-driven transport ------------------------------------ */

struct evl {
	struct hsdo_http *h;
	struct pollfd fds[64];
	size_t n;
	int64_t due_ms;        /* -1: no timer */
};

static int evl_watch(void *ctx, int fd, int what)
{
	struct evl *l = ctx;
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->fds[i].fd == fd)
			break;
	if (what & HSDO_HTTP_WATCH_REMOVE) {
		if (i < l->n)
			l->fds[i] = l->fds[--l->n];
		return 0;
	}
	if (i == l->n) {
		if (l->n == NELEM(l->fds))
			return -HSDO_ETOOBIG;
		l->fds[l->n++].fd = fd;
	}
	l->fds[i].events = (short)(((what & HSDO_HTTP_WATCH_IN) ? POLLIN : 0) |
				   ((what & HSDO_HTTP_WATCH_OUT) ? POLLOUT : 0));
	return 0;
}

static void evl_timer(void *ctx, long ms)
{
	struct evl *l = ctx;

	l->due_ms = ms < 0 ? -1 : mono_ms() + ms;
}

static void evl_init(struct evl *l)
{
	struct hsdo_http_loop loop = { l, evl_watch, evl_timer };
	char err[256];

	memset(l, 0, sizeof(*l));
	l->due_ms = -1;
	ck_assert_int_eq(hsdo_http_new(NULL, &loop, &l->h, err, sizeof(err)), 0);
}

/* Run until *count reaches want, at most max_ms. */
static void evl_run(struct evl *l, const int *count, int want, int max_ms)
{
	int64_t end = mono_ms() + max_ms;

	while (*count < want && mono_ms() < end) {
		struct pollfd ready[64];
		int64_t now = mono_ms();
		int t = 50, r, i, nready = 0;

		if (l->due_ms >= 0)
			t = l->due_ms <= now ? 0 : (int)(l->due_ms - now < 50 ? l->due_ms - now : 50);
		memcpy(ready, l->fds, l->n * sizeof(*ready));
		r = poll(ready, l->n, t);
		if (r > 0) {
			for (i = 0; i < (int)l->n; i++)
				if (ready[i].revents != 0)
					ready[nready++] = ready[i];
			for (i = 0; i < nready; i++) {
				int ev = 0;

				if (ready[i].revents & (POLLIN | POLLHUP | POLLERR))
					ev |= HSDO_HTTP_WATCH_IN;
				if (ready[i].revents & POLLOUT)
					ev |= HSDO_HTTP_WATCH_OUT;
				hsdo_http_socket_action(l->h, ready[i].fd, ev);
			}
		}
		if (l->due_ms >= 0 && mono_ms() >= l->due_ms) {
			l->due_ms = -1;
			hsdo_http_timeout(l->h);
		}
	}
	ck_assert_msg(*count >= want, "event loop: %d of %d completions in %d ms", *count, want,
		      max_ms);
}

/* ---- static ------------------------------------------------------------------------------ */

static void write_file(const char *path, const char *text)
{
	ck_assert_int_eq(hsdo_test_write_file(path, text, strlen(text)), 0);
}

/* Rewrite in place (same inode), keeping the size. */
static void rewrite_in_place(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* Date the file back so it is no longer "racy". */
static void age_file(const char *path, int seconds)
{
	struct timespec ts[2];

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= seconds;
	ts[1] = ts[0];
	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static const char list_a[] =
	"- {name: web-1, ip: 10.0.0.1, group: web}\n"
	"- {name: web-2, ip: 10.0.0.2, group: web, leaving: true}\n";
static const char list_b[] =   /* same length as list_a */
	"- {name: web-1, ip: 10.0.0.9, group: web}\n"
	"- {name: web-2, ip: 10.0.0.2, group: web, leaving: true}\n";

START_TEST(static_change_detection)
{
	char path[512], tmp[512];
	struct hsdo_source *s;
	struct got g;
	const struct hsdo_source_result *first;

	snprintf(path, sizeof(path), "%s/instances.yaml", g_dir);
	snprintf(tmp, sizeof(tmp), "%s/instances.yaml.new", g_dir);
	write_file(path, list_a);
	age_file(path, 60);
	ck_assert_int_eq(hsdo_source_static_open(path, &s, g.err, sizeof(g.err)), 0);
	g = list_now(s);
	ck_assert_int_eq(g.rc, 0);
	ck_assert_uint_eq(g.res->n, 2);
	ck_assert_uint_eq(g.res->nleaving, 1);
	ck_assert(!g.res->unchanged);
	ck_assert_uint_eq(group(g.res, "web")->seen, 2);
	first = g.res;
	/* untouched: the same result, known unchanged, from one stat() */
	g = list_now(s);
	ck_assert_ptr_eq(g.res, first);
	ck_assert(g.res->unchanged);

	/* rewritten in place with the same size */
	rewrite_in_place(path, list_b);
	g = list_now(s);
	ck_assert_int_eq(g.rc, 0);
	ck_assert_str_eq(find(g.res, "web-1")->ip, "10.0.0.9");
	ck_assert(!g.res->unchanged);
	/* written again at once with other bytes, same size: still seen,
	 * because a file modified within 2 s of its read is read again */
	rewrite_in_place(path, list_a);
	g = list_now(s);
	ck_assert_str_eq(find(g.res, "web-1")->ip, "10.0.0.1");
	/* a re-read that finds the same list says so */
	g = list_now(s);
	ck_assert_str_eq(find(g.res, "web-1")->ip, "10.0.0.1");
	ck_assert(g.res->unchanged);

	/* replaced atomically (new inode) */
	write_file(tmp, "- {name: db-1, ip: \"2001:db8::1\", port: 5432, group: db}\n");
	ck_assert_int_eq(rename(tmp, path), 0);
	g = list_now(s);
	ck_assert_int_eq(g.rc, 0);
	ck_assert_uint_eq(g.res->n, 1);
	ck_assert_uint_eq(find(g.res, "db-1")->port, 5432);
	hsdo_source_free(s);
}
END_TEST

START_TEST(static_errors_keep_last_good)
{
	char path[512], want[1024];
	struct hsdo_source *s;
	const struct hsdo_source_result *good;
	struct got g;

	snprintf(path, sizeof(path), "%s/instances.yaml", g_dir);
	write_file(path, list_a);
	ck_assert_int_eq(hsdo_source_static_open(path, &s, g.err, sizeof(g.err)), 0);
	g = list_now(s);
	ck_assert_int_eq(g.rc, 0);
	good = g.res;

	/* malformed: an error naming FILE:LINE, no list; the last good result
	 * is still there for the caller */
	write_file(path, "- {name: web-1, ip: 10.0.0.1}\n- {name: web-3, ip: 10.0.0.300}\n");
	g = list_now(s);
	ck_assert_int_eq(g.rc, -HSDO_EPROTO);
	snprintf(want, sizeof(want), "%s:2: instance 'web-3': ip '10.0.0.300' is not an IPv4 or "
		 "IPv6 address", path);
	ck_assert_str_eq(g.err, want);
	ck_assert_uint_eq(good->n, 2);
	ck_assert_str_eq(good->instances[0].id, "web-1");
	/* the same error while the file stays as it is */
	age_file(path, 60);
	g = list_now(s);
	ck_assert_int_eq(g.rc, -HSDO_EPROTO);
	ck_assert_str_eq(g.err, want);
	g = list_now(s);
	ck_assert_str_eq(g.err, want);
	/* half-written (empty) file: an error, not an empty list */
	write_file(path, "");
	g = list_now(s);
	ck_assert_int_eq(g.rc, -HSDO_EPROTO);
	snprintf(want, sizeof(want), "%s:1: no instance list (write [] for none)", path);
	ck_assert_str_eq(g.err, want);
	/* fixed */
	write_file(path, "[]\n");
	g = list_now(s);
	ck_assert_int_eq(g.rc, 0);
	ck_assert_uint_eq(g.res->n, 0);
	/* gone */
	ck_assert_int_eq(unlink(path), 0);
	g = list_now(s);
	ck_assert_int_eq(g.rc, -HSDO_EIO);
	ck_assert_ptr_nonnull(strstr(g.err, "cannot stat: No such file or directory"));
	/* not a file */
	ck_assert_int_eq(mkdir(path, 0700), 0);
	g = list_now(s);
	ck_assert_int_eq(g.rc, -HSDO_EIO);
	ck_assert_ptr_nonnull(strstr(g.err, "not a regular file"));
	ck_assert_int_eq(rmdir(path), 0);
	/* a FIFO in its place: refused, without blocking on it */
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	g = list_now(s);
	ck_assert_int_eq(g.rc, -HSDO_EIO);
	ck_assert_ptr_nonnull(strstr(g.err, "not a regular file"));
	hsdo_source_free(s);
}
END_TEST

/* ---- consul --------------------------------------------------------------------------- */

static struct hsdo_test_node g_consul;

static void consul_up(void)
{
	const char *args[] = { "--token", TOKEN, NULL };
	char err[1024];

	setup_dir();
	if (hsdo_test_node_start(&g_consul, g_dir, "consul.js", args, err, sizeof(err)) != 0)
		ck_abort_msg("consul.js: %s", err);
}

static void consul_down(void)
{
	hsdo_test_node_stop(&g_consul);
	teardown_dir();
}

static struct hsdo_source *consul_open(struct hsdo_http *h, const char *const *svcs, size_t n,
				       const char *token, long wait_ms)
{
	struct hsdo_source_consul_options o = { wait_ms };
	struct hsdo_source *s = NULL;
	char url[64], err[256];

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", g_consul.port);
	ck_assert_int_eq(hsdo_source_consul_open(url, svcs, n, token, h, &o, &s, err, sizeof(err)),
			 0);
	return s;
}

#define WEB2 "[{\"node\":\"n1\",\"address\":\"10.0.0.1\",\"id\":\"web\",\"port\":80}," \
	"{\"node\":\"n2\",\"address\":\"10.0.0.2\",\"id\":\"web\",\"port\":80," \
	"\"serviceAddress\":\"10.9.0.2\"},"                                          \
	"{\"node\":\"n3\",\"address\":\"10.0.0.3\",\"id\":\"web\",\"port\":80,\"status\":\"critical\"}]"

/* A child that waits until the fixture holds `held` queries, then POSTs. */
static pid_t change_when_held(uint16_t port, int held, const char *path, const char *body)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int64_t end = mono_ms() + 10000;
		char out[1024];

		while (mono_ms() < end) {
			if (hsdo_test_http_req(port, "GET", "/__stats", NULL, out, sizeof(out)) == 200 &&
			    hsdo_test_json_int(out, "waiting") >= held)
				break;
			usleep(10000);
		}
		_exit(hsdo_test_http_req(port, "POST", path, body, out, sizeof(out)) == 200 ? 0 : 1);
	}
	return pid;
}

static void reap(pid_t pid)
{
	int st = -1;

	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "helper failed");
}

START_TEST(consul_blocking_query)
{
	const char *svcs[] = { "web" };
	struct hsdo_http *h;
	struct hsdo_source *s;
	struct got g;
	char *reqs, err[256];
	int64_t t0, took;
	pid_t pid;

	ctl(g_consul.port, "/__service/web", WEB2);
	ck_assert_int_eq(hsdo_http_new(NULL, NULL, &h, err, sizeof(err)), 0);
	s = consul_open(h, svcs, 1, TOKEN, 20000);

	/* first list: no index, answered at once; ?passing drops the critical one */
	g = list_now(s);
	ck_assert_msg(g.rc == 0, "%s", g.err);
	ck_assert_uint_eq(g.res->n, 2);
	sorted_unique(g.res);
	ck_assert_str_eq(find(g.res, "n1/web")->ip, "10.0.0.1");
	ck_assert_uint_eq(find(g.res, "n1/web")->port, 80);
	ck_assert_str_eq(find(g.res, "n2/web")->ip, "10.9.0.2");   /* Service.Address */
	ck_assert_str_eq(find(g.res, "n1/web")->group, "web");
	ck_assert(!g.res->unchanged);

	/* second list blocks until the service changes */
	pid = change_when_held(g_consul.port, 1, "/__service/web",
			       "[{\"node\":\"n4\",\"address\":\"10.0.0.4\",\"id\":\"web-4\",\"port\":8080}]");
	t0 = mono_ms();
	g = list_now(s);
	took = mono_ms() - t0;
	reap(pid);
	ck_assert_msg(g.rc == 0, "%s", g.err);
	ck_assert_uint_eq(g.res->n, 1);
	ck_assert_str_eq(g.res->instances[0].id, "n4/web-4");
	ck_assert_uint_eq(g.res->instances[0].port, 8080);
	ck_assert(!g.res->unchanged);
	ck_assert_msg(took < 10000, "the blocking query took %lld ms", (long long)took);

	reqs = ctl_get(g_consul.port, "/__requests");
	/* both with the token, the second one blocking on the first index */
	ck_assert_uint_eq(count_of(reqs, "\"token\":\"good\""), 2);
	ck_assert_ptr_nonnull(strstr(reqs, "\"query\":\"?passing\""));
	ck_assert_ptr_nonnull(strstr(reqs, "\"query\":\"?passing&index=11&wait=20s\""));
	ck_assert_ptr_eq(strstr(reqs, TOKEN), NULL);
	free(reqs);
	hsdo_source_free(s);

	/* a short wait that runs out: the same list, known unchanged */
	s = consul_open(h, svcs, 1, TOKEN, 700);
	g = list_now(s);
	ck_assert_int_eq(g.rc, 0);
	t0 = mono_ms();
	g = list_now(s);
	took = mono_ms() - t0;
	ck_assert_int_eq(g.rc, 0);
	ck_assert(g.res->unchanged);
	ck_assert_uint_eq(g.res->n, 1);
	ck_assert_msg(took >= 600, "returned after %lld ms, before the wait ran out", (long long)took);
	hsdo_source_free(s);
	hsdo_http_free(h);
}
END_TEST

START_TEST(consul_index_backwards)
{
	const char *svcs[] = { "web" };
	struct hsdo_http *h;
	struct hsdo_source *s;
	struct got g;
	char *reqs, err[256];

	ctl(g_consul.port, "/__service/web", WEB2);      /* index 11 */
	ck_assert_int_eq(hsdo_http_new(NULL, NULL, &h, err, sizeof(err)), 0);
	s = consul_open(h, svcs, 1, TOKEN, 500);
	g = list_now(s);
	ck_assert_int_eq(g.rc, 0);
	/* Consul restored from a snapshot: its index is now lower */
	ctl(g_consul.port, "/__index/web", "{\"index\":3}");
	g = list_now(s);                 /* blocks on 11, answered after the wait with 3 */
	ck_assert_int_eq(g.rc, 0);
	ck_assert(!g.res->unchanged);
	g = list_now(s);                 /* index reset: asked again without one */
	ck_assert_int_eq(g.rc, 0);
	reqs = ctl_get(g_consul.port, "/__requests");
	ck_assert_uint_eq(count_of(reqs, "\"query\":\"?passing\""), 2);
	ck_assert_uint_eq(count_of(reqs, "index=11&wait=500ms"), 1);
	free(reqs);
	/* and from there blocks on the new index */
	ctl(g_consul.port, "/__index/web", "{\"index\":5}");
	g = list_now(s);
	ck_assert_int_eq(g.rc, 0);
	reqs = ctl_get(g_consul.port, "/__requests");
	ck_assert_uint_eq(count_of(reqs, "index=3&wait=500ms"), 1);
	free(reqs);
	hsdo_source_free(s);
	hsdo_http_free(h);
}
END_TEST

START_TEST(consul_tokens)
{
	const char *svcs[] = { "web" };
	struct hsdo_http *h;
	struct hsdo_source *s;
	struct got g;
	char err[256];

	ctl(g_consul.port, "/__service/web", WEB2);
	ck_assert_int_eq(hsdo_http_new(NULL, NULL, &h, err, sizeof(err)), 0);
	s = consul_open(h, svcs, 1, "wrong-token-value-42", 500);
	g = list_now(s);
	ck_assert_int_eq(g.rc, -HSDO_ECONFIG);
	ck_assert_str_eq(g.err, "consul web: HTTP 403: ACL not found");
	hsdo_source_free(s);
	s = consul_open(h, svcs, 1, NULL, 500);
	g = list_now(s);
	ck_assert_int_eq(g.rc, -HSDO_ECONFIG);
	ck_assert_str_eq(g.err, "consul web: HTTP 403: Permission denied");
	hsdo_source_free(s);
	/* a proxy echoing the token in its error: masked */
	ctl(g_consul.port, "/__fail/web", "{\"status\":502,\"body\":\"bad gateway for token "
	    TOKEN "\\nmore\"}");
	s = consul_open(h, svcs, 1, TOKEN, 500);
	g = list_now(s);
	ck_assert_int_eq(g.rc, -HSDO_EHTTP);
	ck_assert_str_eq(g.err, "consul web: HTTP 502: bad gateway for token <token>");
	hsdo_source_free(s);
	hsdo_http_free(h);
}
END_TEST

/* Several services: one failing fails the list; the last good result stays. */
START_TEST(consul_no_partial_list)
{
	const char *svcs[] = { "web", "api" };
	struct hsdo_http *h;
	struct hsdo_source *s;
	const struct hsdo_source_result *good;
	struct got g;
	char err[256];

	ctl(g_consul.port, "/__service/web", WEB2);
	ctl(g_consul.port, "/__service/api",
	    "[{\"node\":\"n1\",\"address\":\"10.0.0.1\",\"id\":\"api\",\"port\":9000}]");
	ck_assert_int_eq(hsdo_http_new(NULL, NULL, &h, err, sizeof(err)), 0);
	s = consul_open(h, svcs, 2, TOKEN, -1);     /* plain polling */
	g = list_now(s);
	ck_assert_int_eq(g.rc, 0);
	ck_assert_uint_eq(g.res->n, 3);
	ck_assert_uint_eq(g.res->ngroups, 2);
	ck_assert_str_eq(g.res->groups[0].name, "web");
	ck_assert_uint_eq(g.res->groups[0].ready, 2);
	ck_assert_str_eq(g.res->groups[1].name, "api");
	ck_assert_str_eq(find(g.res, "n1/api")->group, "api");
	good = g.res;
	ctl(g_consul.port, "/__fail/api", "{\"status\":500,\"body\":\"rpc error: No cluster leader\"}");
	g = list_now(s);
	ck_assert_int_eq(g.rc, -HSDO_EHTTP);
	ck_assert_str_eq(g.err, "consul api: HTTP 500: rpc error: No cluster leader");
	ck_assert_uint_eq(good->n, 3);
	ctl(g_consul.port, "/__fail/api", "{\"status\":200,\"body\":\"[{\\\"Node\\\":1}]\"}");
	g = list_now(s);
	ck_assert_int_eq(g.rc, -HSDO_EPROTO);
	ck_assert_str_eq(g.err, "consul api: entry 1: missing Node or Service object");
	ctl(g_consul.port, "/__fail/api", "{}");
	g = list_now(s);
	ck_assert_int_eq(g.rc, 0);
	ck_assert_uint_eq(g.res->n, 3);
	hsdo_source_free(s);
	/* nobody listening */
	{
		struct hsdo_source_consul_options o = { -1 };
		char url[64];

		snprintf(url, sizeof(url), "http://127.0.0.1:%u", hsdo_test_free_port());
		ck_assert_int_eq(hsdo_source_consul_open(url, svcs, 1, NULL, h, &o, &s, err,
							 sizeof(err)), 0);
		g = list_now(s);
		ck_assert_int_eq(g.rc, -HSDO_EHTTP);
		ck_assert_msg(strncmp(g.err, "consul web: ", 12) == 0, "%s", g.err);
		hsdo_source_free(s);
	}
	hsdo_http_free(h);
}
END_TEST

/* The server's way: the event-driven transport, a list completing at the
 * first answer while the other service's query keeps running. */
START_TEST(consul_event_mode)
{
	const char *svcs[] = { "web", "api" };
	struct evl l;
	struct hsdo_source *s;
	struct got g;
	char out[1024];
	pid_t pid;

	ctl(g_consul.port, "/__service/web", WEB2);
	ctl(g_consul.port, "/__service/api",
	    "[{\"node\":\"n1\",\"address\":\"10.0.0.1\",\"id\":\"api\",\"port\":9000}]");
	evl_init(&l);
	s = consul_open(l.h, svcs, 2, TOKEN, 20000);
	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(hsdo_source_list(s, on_list, &g), 0);
	ck_assert_int_eq(g.calls, 0);              /* nothing before the loop runs */
	evl_run(&l, &g.calls, 1, 10000);
	ck_assert_int_eq(g.rc, 0);
	ck_assert_uint_eq(g.res->n, 3);
	ck_assert_int_eq(hsdo_source_list(s, on_list, &g), 0);
	ck_assert_int_eq(hsdo_source_list(s, on_list, &g), -HSDO_EINVAL);   /* one at a time */
	/* api changes while both queries are held */
	pid = change_when_held(g_consul.port, 2, "/__service/api",
			       "[{\"node\":\"n1\",\"address\":\"10.0.0.1\",\"id\":\"api\",\"port\":9001},"
			       "{\"node\":\"n5\",\"address\":\"10.0.0.5\",\"id\":\"api\",\"port\":9001}]");
	evl_run(&l, &g.calls, 2, 10000);
	reap(pid);
	ck_assert_int_eq(g.rc, 0);
	ck_assert_uint_eq(g.res->n, 4);
	ck_assert_uint_eq(find(g.res, "n1/api")->port, 9001);
	ck_assert_uint_eq(group(g.res, "web")->ready, 2);
	/* web's query is still held by Consul */
	ck_assert_int_eq(hsdo_test_http_req(g_consul.port, "GET", "/__stats", NULL, out,
					    sizeof(out)), 200);
	ck_assert_int_eq(hsdo_test_json_int(out, "waiting"), 1);
	/* the next list asks api again and completes when web changes */
	ck_assert_int_eq(hsdo_source_list(s, on_list, &g), 0);
	pid = change_when_held(g_consul.port, 2, "/__service/web", "[]");
	evl_run(&l, &g.calls, 3, 10000);
	reap(pid);
	ck_assert_int_eq(g.rc, 0);
	ck_assert_uint_eq(g.res->n, 2);
	ck_assert_uint_eq(group(g.res, "web")->seen, 0);
	/* freed with a list pending: cancelled at once, the queries released
	 * with the transport */
	ck_assert_int_eq(hsdo_source_list(s, on_list, &g), 0);
	hsdo_source_free(s);
	ck_assert_int_eq(g.calls, 4);
	ck_assert_int_eq(g.rc, -HSDO_EAGAIN);
	ck_assert_str_eq(g.err, "cancelled");
	hsdo_http_free(l.h);
	ck_assert_int_eq(g.calls, 4);
}
END_TEST

/* ---- aws -------------------------------------------------------------------------------- */

static struct hsdo_test_node g_awsfx;
static char g_ep_ec2[96], g_ep_asg[96];

static void aws_up(void)
{
	const char *args[] = { "--region", HSDO_TEST_REGION, "--creds",
			       "[{\"accessKeyId\":\"" HSDO_TEST_AKID "\",\"secretAccessKey\":\""
			       HSDO_TEST_SECRET "\"}]", NULL };
	char err[1024];

	setup_dir();
	if (hsdo_test_node_start(&g_awsfx, g_dir, "aws_query_fixture.js", args, err,
				 sizeof(err)) != 0)
		ck_abort_msg("aws_query_fixture.js: %s", err);
	snprintf(g_ep_ec2, sizeof(g_ep_ec2), "AWS_ENDPOINT_URL_EC2=http://127.0.0.1:%u",
		 g_awsfx.port);
	snprintf(g_ep_asg, sizeof(g_ep_asg), "AWS_ENDPOINT_URL_AUTO_SCALING=http://127.0.0.1:%u",
		 g_awsfx.port);
}

static void aws_down(void)
{
	hsdo_test_node_stop(&g_awsfx);
	teardown_dir();
}

struct awsc {
	struct hsdo_http *http;
	struct hsdo_aws *aws;
};

static void awsc_new(struct awsc *c, const struct hsdo_http_loop *loop, const char *secret,
		     int max_tries)
{
	char akid[64], sk[128], err[512];
	char *envp[] = { "HOME=/nonexistent", "AWS_REGION=" HSDO_TEST_REGION, g_ep_ec2, g_ep_asg,
			 "AWS_EC2_METADATA_DISABLED=true", akid, sk, NULL };
	struct hsdo_aws_options o;

	snprintf(akid, sizeof(akid), "AWS_ACCESS_KEY_ID=%s", HSDO_TEST_AKID);
	snprintf(sk, sizeof(sk), "AWS_SECRET_ACCESS_KEY=%s", secret);
	memset(c, 0, sizeof(*c));
	ck_assert_int_eq(hsdo_http_new(NULL, loop, &c->http, err, sizeof(err)), 0);
	memset(&o, 0, sizeof(o));
	o.envp = envp;
	o.max_tries = max_tries;
	o.base_delay_ms = 5;
	o.max_delay_ms = 50;
	ck_assert_msg(hsdo_aws_new(&o, c->http, &c->aws, err, sizeof(err)) == 0, "%s", err);
}

/* The transport first, as check_aws does: it cancels what is in flight,
 * which the AWS client then reports to its callers. */
static void awsc_free(struct awsc *c)
{
	hsdo_http_free(c->http);
	hsdo_aws_free(c->aws);
}

static struct hsdo_source *aws_src(struct awsc *c, const char *const *names, size_t n,
				   const char *hook, size_t ids_per_call)
{
	struct hsdo_source_aws_options o = { ids_per_call, 0 };
	struct hsdo_source *s = NULL;
	char err[256];

	ck_assert_int_eq(hsdo_source_aws_open(names, n, hook, c->aws, &o, &s, err, sizeof(err)), 0);
	ck_assert_str_eq(hsdo_source_name(s), "aws");
	return s;
}

/* Element paths of a document ("/A/B/C"), each once, '\n'-separated. */
static void paths_of(const xmlNode *n, const char *prefix, char *out, size_t outlen)
{
	char p[512];

	for (; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		snprintf(p, sizeof(p), "%s/%s", prefix, (const char *)n->name);
		if (strstr(out, p) == NULL || strstr(out, p)[strlen(p)] != '\n')
			snprintf(out + strlen(out), outlen - strlen(out), "%s\n", p);
		paths_of(n->children, p, out, outlen);
	}
}

static char *doc_paths(const char *buf, size_t len)
{
	xmlDoc *d = xmlReadMemory(buf, (int)len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR);
	char *out = calloc(1, 1 << 16);

	ck_assert_ptr_nonnull(d);
	paths_of(xmlDocGetRootElement(d), "", out, 1 << 16);
	xmlFreeDoc(d);
	return out;
}

/* Every element the fixture writes appears at the same place in the sample. */
static void same_shape(const char *fixture, size_t flen, const char *sample, size_t slen)
{
	char *fp = doc_paths(fixture, flen), *sp = doc_paths(sample, slen), *line, *nl;

	for (line = fp; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		char want[512];

		snprintf(want, sizeof(want), "%.*s\n", (int)(nl - line), line);
		if (strstr(want, "/NextToken\n") || strstr(want, "/nextToken\n"))
			continue;       /* only on pages that continue */
		ck_assert_msg(strstr(sp, want) != NULL, "fixture element %.*s not in the sample",
			      (int)(nl - line), line);
	}
	free(fp);
	free(sp);
}

/* The awsdocs samples' world: the fixture's replies must parse as they do. */
START_TEST(aws_fixture_matches_samples)
{
	struct hsdo_aws_request rq;
	struct hsdo_asg_groups fg, sg;
	struct hsdo_ec2_instances fe, se;
	struct awsc c;
	char *body = NULL, *sample, err[512];
	const char *names[] = { "my-asg" }, *ids[] = { "i-1234567890abcdef0" };
	char req[512];
	size_t len = 0, slen;
	int n;

	ctl(g_awsfx.port, "/__state",
	    "{\"groups\":[{\"name\":\"my-asg\",\"instances\":[{\"id\":\"i-1234567890abcdef0\","
	    "\"lifecycle\":\"InService\",\"health\":\"Healthy\",\"az\":\"us-east-1c\"}]}],"
	    "\"instances\":[{\"id\":\"i-1234567890abcdef0\",\"state\":\"running\","
	    "\"ip\":\"192.168.1.88\",\"az\":\"eu-west-1c\"}]}");
	awsc_new(&c, NULL, HSDO_TEST_SECRET, 1);

	n = hsdo_asg_describe_groups_body(names, 1, NULL, req, sizeof(req), err, sizeof(err));
	ck_assert_int_gt(n, 0);
	rq = (struct hsdo_aws_request){ HSDO_CREDS_SVC_AUTO_SCALING, HSDO_AWS_QUERY,
					"DescribeAutoScalingGroups", NULL, req, (size_t)n };
	ck_assert_msg(hsdo_aws_call_sync(c.aws, &rq, &body, &len, err, sizeof(err)) == 0, "%s", err);
	sample = hsdo_test_load_data("aws-samples/awsdocs/autoscaling-describe-auto-scaling-groups.xml",
				     &slen);
	same_shape(body, len, sample, slen);
	ck_assert_int_eq(hsdo_asg_parse_groups(body, len, &fg, err, sizeof(err)), 0);
	ck_assert_int_eq(hsdo_asg_parse_groups(sample, slen, &sg, err, sizeof(err)), 0);
	ck_assert_uint_eq(fg.n, sg.n);
	ck_assert_str_eq(fg.groups[0].name, sg.groups[0].name);
	ck_assert_uint_eq(fg.groups[0].ninstances, sg.groups[0].ninstances);
	ck_assert_int_eq(memcmp(fg.groups[0].instances, sg.groups[0].instances,
				sizeof(*fg.groups[0].instances)), 0);
	ck_assert_str_eq(fg.next_token, "");
	ck_assert_str_ne(fg.request_id, "");
	hsdo_asg_groups_free(&fg);
	hsdo_asg_groups_free(&sg);
	free(sample);
	hsdo_free(body);

	n = hsdo_ec2_describe_instances_body(ids, 1, NULL, req, sizeof(req), err, sizeof(err));
	rq = (struct hsdo_aws_request){ HSDO_CREDS_SVC_EC2, HSDO_AWS_QUERY, "DescribeInstances",
					NULL, req, (size_t)n };
	ck_assert_msg(hsdo_aws_call_sync(c.aws, &rq, &body, &len, err, sizeof(err)) == 0, "%s", err);
	sample = hsdo_test_load_data("aws-samples/awsdocs/ec2-describe-instances-2016-11-15.xml", &slen);
	same_shape(body, len, sample, slen);
	ck_assert_int_eq(hsdo_ec2_parse_instances(body, len, &fe, err, sizeof(err)), 0);
	ck_assert_int_eq(hsdo_ec2_parse_instances(sample, slen, &se, err, sizeof(err)), 0);
	ck_assert_uint_eq(fe.n, 1);
	ck_assert_int_eq(memcmp(fe.instances, se.instances, sizeof(*fe.instances)), 0);
	hsdo_ec2_instances_free(&fe);
	hsdo_ec2_instances_free(&se);
	free(sample);
	hsdo_free(body);

	/* both error shapes, as the botocore samples */
	ctl(g_awsfx.port, "/__inject", "{\"action\":\"DescribeInstances\",\"status\":400,"
	    "\"code\":\"InvalidInstanceID.Malformed\",\"message\":\"Invalid id: \\\"foobar\\\"\"}");
	ck_assert_int_eq(hsdo_aws_call_sync(c.aws, &rq, &body, &len, err, sizeof(err)), -HSDO_EAWS);
	ck_assert_msg(strstr(err, "InvalidInstanceID.Malformed: Invalid id: \"foobar\"") != NULL,
		      "%s", err);
	ctl(g_awsfx.port, "/__inject", "{\"action\":\"DescribeAutoScalingGroups\",\"status\":400,"
	    "\"code\":\"ValidationError\",\"message\":\"bad\"}");
	n = hsdo_asg_describe_groups_body(names, 1, NULL, req, sizeof(req), err, sizeof(err));
	rq = (struct hsdo_aws_request){ HSDO_CREDS_SVC_AUTO_SCALING, HSDO_AWS_QUERY,
					"DescribeAutoScalingGroups", NULL, req, (size_t)n };
	ck_assert_int_eq(hsdo_aws_call_sync(c.aws, &rq, &body, &len, err, sizeof(err)), -HSDO_EAWS);
	ck_assert_msg(strstr(err, "ValidationError: bad") != NULL, "%s", err);
	awsc_free(&c);
}
END_TEST

/* Build a world of ngroups groups of per instances (plus empty and missing
 * ones) as fixture JSON. */
static char *world_json(size_t ngroups, size_t per, size_t asg_page, size_t ec2_page)
{
	size_t cap = 256 + ngroups * per * 200 + ngroups * 64, i, j;
	char *w = malloc(cap), *p = w;

	p += snprintf(p, cap, "{\"asgPageSize\":%zu,\"ec2PageSize\":%zu,\"groups\":[", asg_page,
		      ec2_page);
	for (i = 0; i < ngroups; i++) {
		p += snprintf(p, cap - (size_t)(p - w), "%s{\"name\":\"asg-%03zu\",\"instances\":[",
			      i ? "," : "", i);
		for (j = 0; j < per && i % 2 == 0; j++)
			p += snprintf(p, cap - (size_t)(p - w),
				      "%s{\"id\":\"i-%04zx%04zx\",\"lifecycle\":\"InService\","
				      "\"health\":\"Healthy\",\"az\":\"us-east-1%c\"}",
				      j ? "," : "", i, j, (char)('a' + j % 3));
		p += snprintf(p, cap - (size_t)(p - w), "]}");
	}
	p += snprintf(p, cap - (size_t)(p - w), "],\"instances\":[");
	for (i = 0; i < ngroups; i += 2)
		for (j = 0; j < per; j++)
			p += snprintf(p, cap - (size_t)(p - w),
				      "%s{\"id\":\"i-%04zx%04zx\",\"state\":\"running\","
				      "\"ip\":\"10.%zu.%zu.%zu\"}", i || j ? "," : "", i, j, i,
				      j / 200, j % 200 + 1);
	snprintf(p, cap - (size_t)(p - w), "]}");
	return w;
}

START_TEST(aws_pagination)
{
	enum { NG = 120, PER = 5 };            /* 60 groups with 5 instances, 60 empty */
	const char *names[NG + 1];
	char namebuf[NG + 1][16], *w, *calls;
	struct awsc c;
	struct hsdo_source *s;
	struct got g;
	size_t i, ids = 0;
	const char *p;

	w = world_json(NG, PER, 7, 40);
	ctl(g_awsfx.port, "/__state", w);
	free(w);
	for (i = 0; i <= NG; i++) {
		snprintf(namebuf[i], sizeof(namebuf[i]), "asg-%03zu", i);  /* asg-120: missing */
		names[i] = namebuf[i];
	}
	awsc_new(&c, NULL, HSDO_TEST_SECRET, 3);
	s = aws_src(&c, names, NG + 1, NULL, 0);
	g = list_now(s);
	ck_assert_msg(g.rc == 0, "%s", g.err);
	ck_assert_uint_eq(g.res->n, (NG / 2) * PER);
	sorted_unique(g.res);
	ck_assert_uint_eq(g.res->nleaving, 0);
	ck_assert_uint_eq(g.res->ngroups, NG + 1);
	ck_assert_uint_eq(group(g.res, "asg-000")->ready, PER);
	ck_assert_uint_eq(group(g.res, "asg-001")->seen, 0);
	ck_assert_str_eq(g.res->warning, "Auto Scaling group 'asg-120' not found");
	ck_assert_str_eq(find(g.res, "i-00020004")->ip, "10.2.0.5");
	ck_assert_str_eq(find(g.res, "i-00020004")->group, "asg-002");
	ck_assert_str_eq(find(g.res, "i-00020004")->az, "us-east-1b");

	/* 121 names in batches of 50, 50, 21: 50 groups found per full batch,
	 * 20 in the last, 7 per page: 8 + 8 + 3 pages */
	calls = ctl_get(g_awsfx.port, "/__calls?action=DescribeAutoScalingGroups");
	ck_assert_uint_eq(count_of(calls, "\"action\""), 19);
	ck_assert_uint_eq(count_of(calls, "\"AutoScalingGroupNames.member.50\""), 16);
	ck_assert_ptr_eq(strstr(calls, "AutoScalingGroupNames.member.51"), NULL);
	ck_assert_uint_eq(count_of(calls, "\"MaxRecords\":\"100\""), 19);
	ck_assert_uint_eq(count_of(calls, "\"NextToken\""), 16);
	free(calls);
	/* 300 ids in batches of 100, 40 per page: 3 x 3 pages; never an
	 * empty id list */
	calls = ctl_get(g_awsfx.port, "/__calls?action=DescribeInstances");
	ck_assert_uint_eq(count_of(calls, "\"action\""), 9);
	ck_assert_uint_eq(count_of(calls, "\"InstanceId.1\""), 9);
	ck_assert_uint_eq(count_of(calls, "\"InstanceId.100\""), 9);
	ck_assert_ptr_eq(strstr(calls, "\"InstanceId.101\""), NULL);
	for (p = calls; (p = strstr(p, "\"InstanceId.")) != NULL; p++)
		ids++;
	ck_assert_uint_eq(ids, 9 * 100);       /* each batch sent again with its token */
	ck_assert_uint_eq(count_of(calls, "\"status\":200"), 9);
	free(calls);
	hsdo_source_free(s);
	awsc_free(&c);
}
END_TEST

#define LC_WORLD \
	"{\"groups\":[{\"name\":\"web\",\"hooks\":[\"hsdo-drain\"],\"instances\":["          \
	"{\"id\":\"i-0a\",\"lifecycle\":\"InService\",\"health\":\"Healthy\",\"az\":\"us-east-1a\"}," \
	"{\"id\":\"i-0b\",\"lifecycle\":\"Terminating:Wait\",\"health\":\"Healthy\",\"az\":\"us-east-1b\"}," \
	"{\"id\":\"i-0c\",\"lifecycle\":\"Standby\",\"health\":\"Healthy\",\"az\":\"us-east-1a\"},"  \
	"{\"id\":\"i-0d\",\"lifecycle\":\"Pending\",\"health\":\"Healthy\",\"az\":\"us-east-1a\"},"  \
	"{\"id\":\"i-0e\",\"lifecycle\":\"InService\",\"health\":\"Unhealthy\",\"az\":\"us-east-1a\"}," \
	"{\"id\":\"i-0f\",\"lifecycle\":\"InService\",\"health\":\"Healthy\",\"az\":\"us-east-1a\"}," \
	"{\"id\":\"i-10\",\"lifecycle\":\"Detaching\",\"health\":\"Healthy\",\"az\":\"us-east-1a\"}," \
	"{\"id\":\"i-11\",\"lifecycle\":\"InService\",\"health\":\"Healthy\",\"az\":\"us-east-1a\"}," \
	"{\"id\":\"i-dead\",\"lifecycle\":\"InService\",\"health\":\"Healthy\",\"az\":\"us-east-1a\"}" \
	"]}],\"instances\":["                                                                  \
	"{\"id\":\"i-0a\",\"state\":\"running\",\"ip\":\"10.0.0.10\"},"                           \
	"{\"id\":\"i-0b\",\"state\":\"running\",\"ip\":\"10.0.0.11\"},"                           \
	"{\"id\":\"i-0c\",\"state\":\"running\",\"ip\":\"10.0.0.12\"},"                           \
	"{\"id\":\"i-0d\",\"state\":\"pending\",\"ip\":\"10.0.0.13\"},"                           \
	"{\"id\":\"i-0e\",\"state\":\"running\",\"ip\":\"10.0.0.14\"},"                           \
	"{\"id\":\"i-0f\",\"state\":\"stopped\",\"ip\":\"10.0.0.15\"},"                           \
	"{\"id\":\"i-10\",\"state\":\"running\",\"ip\":\"10.0.0.16\"},"                           \
	"{\"id\":\"i-11\",\"state\":\"running\"}]}"

static int g_ops;
static int g_op_rc;
static char g_op_err[512];

static void on_op(void *arg, int rc, const char *err)
{
	(void)arg;
	g_ops++;
	g_op_rc = rc;
	snprintf(g_op_err, sizeof(g_op_err), "%s", err);
}

START_TEST(aws_lifecycle)
{
	const char *names[] = { "web" };
	struct awsc c;
	struct hsdo_source *s, *nohook;
	struct got g;
	char *calls, *state;

	ctl(g_awsfx.port, "/__state", LC_WORLD);
	awsc_new(&c, NULL, HSDO_TEST_SECRET, 3);
	s = aws_src(&c, names, 1, "hsdo-drain", 0);
	g = list_now(s);
	ck_assert_msg(g.rc == 0, "%s", g.err);
	sorted_unique(g.res);
	ck_assert_ptr_nonnull(find(g.res, "i-0a"));
	ck_assert(!find(g.res, "i-0a")->leaving);
	ck_assert_str_eq(find(g.res, "i-0a")->ip, "10.0.0.10");
	ck_assert(find(g.res, "i-0b")->leaving);            /* Terminating:Wait */
	ck_assert_str_eq(find(g.res, "i-0b")->ip, "10.0.0.11");
	ck_assert_str_eq(find(g.res, "i-0b")->az, "us-east-1b");
	ck_assert(find(g.res, "i-0c")->leaving);            /* Standby */
	ck_assert_ptr_null(find(g.res, "i-0d"));            /* Pending */
	ck_assert(find(g.res, "i-0e")->leaving);            /* Unhealthy */
	ck_assert(find(g.res, "i-0f")->leaving);            /* stopped */
	ck_assert(find(g.res, "i-10")->leaving);            /* Detaching */
	ck_assert_ptr_null(find(g.res, "i-11"));            /* no private IP */
	ck_assert_ptr_null(find(g.res, "i-dead"));          /* unknown to EC2 */
	ck_assert_uint_eq(g.res->n, 6);
	ck_assert_uint_eq(g.res->nleaving, 5);
	ck_assert_uint_eq(group(g.res, "web")->seen, 9);
	ck_assert_uint_eq(group(g.res, "web")->ready, 1);
	ck_assert_uint_eq(group(g.res, "web")->leaving, 6);
	ck_assert_uint_eq(group(g.res, "web")->skipped, 2);
	ck_assert_uint_eq(g.res->nawaiting, 1);
	ck_assert_str_eq(g.res->awaiting[0].id, "i-0b");
	ck_assert_str_eq(g.res->awaiting[0].group, "web");
	/* EC2 said i-dead does not exist: asked again without it */
	calls = ctl_get(g_awsfx.port, "/__calls?action=DescribeInstances");
	ck_assert_uint_eq(count_of(calls, "\"action\""), 2);
	ck_assert_uint_eq(count_of(calls, "\"i-dead\""), 1);
	ck_assert_ptr_nonnull(strstr(calls, "\"status\":400"));
	free(calls);

	/* the server completes the hook once the drain is over */
	g_ops = 0;
	ck_assert_int_eq(hsdo_source_complete_lifecycle(s, "web", "i-0b", on_op, NULL), 0);
	ck_assert_int_eq(g_ops, 1);
	ck_assert_msg(g_op_rc == 0, "%s", g_op_err);
	calls = ctl_get(g_awsfx.port, "/__calls?action=CompleteLifecycleAction");
	ck_assert_uint_eq(count_of(calls, "\"action\""), 1);
	ck_assert_ptr_nonnull(strstr(calls, "\"AutoScalingGroupName\":\"web\""));
	ck_assert_ptr_nonnull(strstr(calls, "\"LifecycleHookName\":\"hsdo-drain\""));
	ck_assert_ptr_nonnull(strstr(calls, "\"InstanceId\":\"i-0b\""));
	ck_assert_ptr_nonnull(strstr(calls, "\"LifecycleActionResult\":\"CONTINUE\""));
	ck_assert_ptr_nonnull(strstr(calls, "\"Version\":\"2011-01-01\""));
	ck_assert_ptr_nonnull(strstr(calls, "\"service\":\"autoscaling\""));
	free(calls);
	state = ctl_get(g_awsfx.port, "/__state");
	ck_assert_ptr_nonnull(strstr(state, "\"id\":\"i-0b\",\"lifecycle\":\"Terminating:Proceed\""));
	free(state);
	/* again: AWS has no pending action any more */
	ck_assert_int_eq(hsdo_source_complete_lifecycle(s, "web", "i-0b", on_op, NULL), 0);
	ck_assert_int_eq(g_ops, 2);
	ck_assert_int_eq(g_op_rc, -HSDO_ENOTFOUND);
	ck_assert_msg(strstr(g_op_err, "No active Lifecycle Action found with instance ID i-0b"),
		      "%s", g_op_err);
	/* the next list: still leaving, no longer awaiting */
	g = list_now(s);
	ck_assert_int_eq(g.rc, 0);
	ck_assert(find(g.res, "i-0b")->leaving);
	ck_assert_uint_eq(g.res->nawaiting, 0);
	/* a source without a hook completes nothing */
	nohook = aws_src(&c, names, 1, NULL, 0);
	ck_assert_int_eq(hsdo_source_complete_lifecycle(nohook, "web", "i-0b", on_op, NULL),
			 -HSDO_EINVAL);
	ck_assert_int_eq(g_ops, 2);
	hsdo_source_free(nohook);
	hsdo_source_free(s);
	awsc_free(&c);
}
END_TEST

/* Fleet health's last resort: SetInstanceHealth Unhealthy, signed, with
 * the grace period respected; the group then replaces the instance and
 * the next list shows it leaving and awaiting the hook. */
START_TEST(aws_set_unhealthy)
{
	const char *names[] = { "web" };
	struct awsc c;
	struct hsdo_source *s, *st = NULL;
	struct got g;
	char *calls, err[256] = "";

	ctl(g_awsfx.port, "/__state", LC_WORLD);
	awsc_new(&c, NULL, HSDO_TEST_SECRET, 3);
	s = aws_src(&c, names, 1, "hsdo-drain", 0);
	g = list_now(s);
	ck_assert_int_eq(g.rc, 0);
	ck_assert(!find(g.res, "i-0a")->leaving);
	g_ops = 0;
	ck_assert_int_eq(hsdo_source_set_unhealthy(s, "i-0a", on_op, NULL), 0);
	ck_assert_int_eq(g_ops, 1);
	ck_assert_msg(g_op_rc == 0, "%s", g_op_err);
	calls = ctl_get(g_awsfx.port, "/__calls?action=SetInstanceHealth");
	ck_assert_uint_eq(count_of(calls, "\"action\""), 1);
	ck_assert_ptr_nonnull(strstr(calls, "\"InstanceId\":\"i-0a\""));
	ck_assert_ptr_nonnull(strstr(calls, "\"HealthStatus\":\"Unhealthy\""));
	ck_assert_ptr_nonnull(strstr(calls, "\"ShouldRespectGracePeriod\":\"true\""));
	ck_assert_ptr_nonnull(strstr(calls, "\"service\":\"autoscaling\""));
	ck_assert_ptr_nonnull(strstr(calls, "\"status\":200"));
	free(calls);
	g = list_now(s);
	ck_assert_int_eq(g.rc, 0);
	ck_assert(find(g.res, "i-0a")->leaving);
	ck_assert_uint_eq(g.res->nawaiting, 2);       /* i-0a joins i-0b */
	/* an instance the group no longer has */
	ck_assert_int_eq(hsdo_source_set_unhealthy(s, "i-9999", on_op, NULL), 0);
	ck_assert_int_eq(g_ops, 2);
	ck_assert_int_eq(g_op_rc, -HSDO_ENOTFOUND);
	ck_assert_msg(strstr(g_op_err, "No managed instance found") != NULL, "%s", g_op_err);
	/* throttled: retried by the client */
	ctl(g_awsfx.port, "/__inject", "{\"action\":\"SetInstanceHealth\",\"count\":1,"
	    "\"status\":400,\"code\":\"Throttling\"}");
	ck_assert_int_eq(hsdo_source_set_unhealthy(s, "i-0c", on_op, NULL), 0);
	ck_assert_int_eq(g_ops, 3);
	ck_assert_msg(g_op_rc == 0, "%s", g_op_err);
	/* other sources have no Auto Scaling to tell */
	ck_assert_int_eq(hsdo_source_set_unhealthy(NULL, "i-0a", on_op, NULL), -HSDO_EINVAL);
	{
		char *dir = hsdo_test_tmpdir("srcio"), path[512];

		snprintf(path, sizeof(path), "%s/i.yaml", dir);
		ck_assert_int_eq(hsdo_test_write_file(path, "[]\n", 3), 0);
		ck_assert_msg(hsdo_source_static_open(path, &st, err, sizeof(err)) == 0, "%s", err);
		ck_assert_int_eq(hsdo_source_set_unhealthy(st, "i-0a", on_op, NULL), -HSDO_EINVAL);
		hsdo_source_free(st);
		hsdo_test_rmtree(dir);
		free(dir);
	}
	ck_assert_int_eq(g_ops, 3);
	hsdo_source_free(s);
	awsc_free(&c);
}
END_TEST

START_TEST(aws_retries_and_errors)
{
	const char *names[] = { "web" };
	const struct hsdo_source_result *good;
	struct awsc c;
	struct hsdo_source *s;
	struct got g;
	char out[4096];

	ctl(g_awsfx.port, "/__state", LC_WORLD);
	awsc_new(&c, NULL, HSDO_TEST_SECRET, 4);
	s = aws_src(&c, names, 1, "hsdo-drain", 0);
	/* throttling on both services and a 500: retried, the list succeeds */
	ctl(g_awsfx.port, "/__inject", "{\"action\":\"DescribeAutoScalingGroups\",\"count\":2,"
	    "\"status\":400,\"code\":\"Throttling\",\"message\":\"Rate exceeded\"}");
	ctl(g_awsfx.port, "/__inject", "{\"action\":\"DescribeInstances\",\"count\":1,"
	    "\"status\":503,\"code\":\"RequestLimitExceeded\",\"message\":\"Request limit exceeded.\"}");
	ctl(g_awsfx.port, "/__inject", "{\"action\":\"DescribeInstances\",\"count\":1,"
	    "\"status\":500,\"code\":\"InternalError\",\"message\":\"An internal error has occurred\"}");
	g = list_now(s);
	ck_assert_msg(g.rc == 0, "%s", g.err);
	ck_assert_uint_eq(g.res->n, 6);
	good = g.res;
	ck_assert_int_eq(hsdo_test_http_req(g_awsfx.port, "GET", "/__stats", NULL, out, sizeof(out)),
			 200);
	ck_assert_int_eq(hsdo_test_json_int(out, "DescribeAutoScalingGroups"), 3);
	ck_assert_int_eq(hsdo_test_json_int(out, "DescribeInstances"), 4);  /* 2 retried, i-dead */

	/* a slow answer is still an answer */
	ctl(g_awsfx.port, "/__inject", "{\"action\":\"DescribeInstances\",\"status\":0,"
	    "\"delayMs\":400}");
	g = list_now(s);
	ck_assert_msg(g.rc == 0, "%s", g.err);
	good = g.res;

	/* throttled past the retry budget: an error, no list */
	ctl(g_awsfx.port, "/__inject", "{\"action\":\"DescribeAutoScalingGroups\",\"count\":4,"
	    "\"status\":400,\"code\":\"Throttling\",\"message\":\"Rate exceeded\"}");
	g = list_now(s);
	ck_assert_int_eq(g.rc, -HSDO_EAWS);
	ck_assert_msg(strstr(g.err, "Throttling: Rate exceeded") != NULL, "%s", g.err);
	ck_assert_uint_eq(good->n, 6);          /* the last good list is untouched */

	/* an error on the second EC2 page: no partial list */
	ctl(g_awsfx.port, "/__state", "{\"ec2PageSize\":3,\"groups\":[{\"name\":\"web\",\"instances\":["
	    "{\"id\":\"i-01\",\"lifecycle\":\"InService\",\"health\":\"Healthy\"},"
	    "{\"id\":\"i-02\",\"lifecycle\":\"InService\",\"health\":\"Healthy\"},"
	    "{\"id\":\"i-03\",\"lifecycle\":\"InService\",\"health\":\"Healthy\"},"
	    "{\"id\":\"i-04\",\"lifecycle\":\"InService\",\"health\":\"Healthy\"}]}],\"instances\":["
	    "{\"id\":\"i-01\",\"state\":\"running\",\"ip\":\"10.0.0.1\"},"
	    "{\"id\":\"i-02\",\"state\":\"running\",\"ip\":\"10.0.0.2\"},"
	    "{\"id\":\"i-03\",\"state\":\"running\",\"ip\":\"10.0.0.3\"},"
	    "{\"id\":\"i-04\",\"state\":\"running\",\"ip\":\"10.0.0.4\"}]}");
	g = list_now(s);
	ck_assert_msg(g.rc == 0, "%s", g.err);
	ck_assert_uint_eq(g.res->n, 4);
	good = g.res;
	ctl(g_awsfx.port, "/__reset", NULL);
	ctl(g_awsfx.port, "/__state", "{\"ec2PageSize\":3,\"groups\":[{\"name\":\"web\",\"instances\":["
	    "{\"id\":\"i-01\",\"lifecycle\":\"InService\",\"health\":\"Healthy\"},"
	    "{\"id\":\"i-02\",\"lifecycle\":\"InService\",\"health\":\"Healthy\"},"
	    "{\"id\":\"i-03\",\"lifecycle\":\"InService\",\"health\":\"Healthy\"},"
	    "{\"id\":\"i-04\",\"lifecycle\":\"InService\",\"health\":\"Healthy\"}]}],\"instances\":["
	    "{\"id\":\"i-01\",\"state\":\"running\",\"ip\":\"10.0.0.1\"},"
	    "{\"id\":\"i-02\",\"state\":\"running\",\"ip\":\"10.0.0.2\"},"
	    "{\"id\":\"i-03\",\"state\":\"running\",\"ip\":\"10.0.0.3\"},"
	    "{\"id\":\"i-04\",\"state\":\"running\",\"ip\":\"10.0.0.9\"}]}");
	ctl(g_awsfx.port, "/__inject", "{\"action\":\"DescribeInstances\",\"status\":0}");
	ctl(g_awsfx.port, "/__inject", "{\"action\":\"DescribeInstances\",\"status\":403,"
	    "\"code\":\"UnauthorizedOperation\",\"message\":\"You are not authorized to perform "
	    "this operation.\"}");
	g = list_now(s);
	ck_assert_int_eq(g.rc, -HSDO_EAWS);
	ck_assert_msg(strstr(g.err, "UnauthorizedOperation") != NULL, "%s", g.err);
	ck_assert_uint_eq(good->n, 4);
	ck_assert_str_eq(good->instances[3].ip, "10.0.0.4");
	ck_assert_int_eq(hsdo_test_http_req(g_awsfx.port, "GET", "/__stats", NULL, out, sizeof(out)),
			 200);
	ck_assert_int_eq(hsdo_test_json_int(out, "DescribeInstances"), 2);   /* page 1, page 2 */
	hsdo_source_free(s);
	awsc_free(&c);
}
END_TEST

START_TEST(aws_bad_signature)
{
	const char *names[] = { "web" };
	struct awsc c;
	struct hsdo_source *s;
	struct got g;
	char out[4096];

	ctl(g_awsfx.port, "/__state", LC_WORLD);
	awsc_new(&c, NULL, "not/the+right/secret0123456789abcdefghij", 3);
	s = aws_src(&c, names, 1, NULL, 0);
	g = list_now(s);
	ck_assert_int_eq(g.rc, -HSDO_EAWS);
	ck_assert_msg(strstr(g.err, "SignatureDoesNotMatch") != NULL, "%s", g.err);
	ck_assert_ptr_eq(strstr(g.err, "not/the+right"), NULL);
	ck_assert_int_eq(hsdo_test_http_req(g_awsfx.port, "GET", "/__stats", NULL, out, sizeof(out)),
			 200);
	ck_assert_int_eq(hsdo_test_json_int(out, "bad"), 1);    /* not retried */
	hsdo_source_free(s);
	awsc_free(&c);
}
END_TEST

/* Scale to zero: no DescribeInstances at all (never an empty id list). */
START_TEST(aws_empty_groups)
{
	const char *names[] = { "a", "b" };
	struct awsc c;
	struct hsdo_source *s;
	struct got g;
	char out[4096];

	ctl(g_awsfx.port, "/__state", "{\"groups\":[{\"name\":\"a\"},{\"name\":\"b\"}],"
	    "\"instances\":[{\"id\":\"i-99\",\"state\":\"running\",\"ip\":\"10.0.0.99\"}]}");
	awsc_new(&c, NULL, HSDO_TEST_SECRET, 2);
	s = aws_src(&c, names, 2, NULL, 0);
	g = list_now(s);
	ck_assert_int_eq(g.rc, 0);
	ck_assert_uint_eq(g.res->n, 0);
	ck_assert_uint_eq(g.res->ngroups, 2);
	ck_assert_str_eq(g.res->warning, "");
	ck_assert_int_eq(hsdo_test_http_req(g_awsfx.port, "GET", "/__stats", NULL, out, sizeof(out)),
			 200);
	ck_assert_int_eq(hsdo_test_json_int(out, "DescribeInstances"), -1);
	ck_assert_int_eq(hsdo_test_json_int(out, "DescribeAutoScalingGroups"), 1);
	hsdo_source_free(s);
	awsc_free(&c);
}
END_TEST

/* The state machine on the event-driven transport; free while in flight. */
START_TEST(aws_event_mode)
{
	const char *names[] = { "asg-000", "asg-001", "asg-002" };
	struct hsdo_http_loop loop;
	struct evl l;
	struct awsc c;
	struct hsdo_source *s;
	struct got g;
	char *w = world_json(3, 30, 1, 7);

	ctl(g_awsfx.port, "/__state", w);
	free(w);
	memset(&l, 0, sizeof(l));
	l.due_ms = -1;
	loop = (struct hsdo_http_loop){ &l, evl_watch, evl_timer };
	awsc_new(&c, &loop, HSDO_TEST_SECRET, 3);
	l.h = c.http;
	s = aws_src(&c, names, 3, "h", 25);
	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(hsdo_source_list(s, on_list, &g), 0);
	ck_assert_int_eq(g.calls, 0);
	evl_run(&l, &g.calls, 1, 20000);
	ck_assert_msg(g.rc == 0, "%s", g.err);
	ck_assert_uint_eq(g.res->n, 60);
	sorted_unique(g.res);
	ck_assert_uint_eq(group(g.res, "asg-002")->ready, 30);
	/* freed mid-list: done at once with "cancelled", nothing after */
	ck_assert_int_eq(hsdo_source_list(s, on_list, &g), 0);
	hsdo_source_free(s);
	ck_assert_int_eq(g.calls, 2);
	ck_assert_int_eq(g.rc, -HSDO_EAGAIN);
	awsc_free(&c);
	ck_assert_int_eq(g.calls, 2);
}
END_TEST

static Suite *source_io_suite(void)
{
	Suite *s = suite_create("source_io");
	TCase *tc = tcase_create("static");

	tcase_add_checked_fixture(tc, setup_dir, teardown_dir);
	tcase_add_test(tc, static_change_detection);
	tcase_add_test(tc, static_errors_keep_last_good);
	suite_add_tcase(s, tc);

	tc = tcase_create("consul");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, consul_up, consul_down);
	tcase_add_test(tc, consul_blocking_query);
	tcase_add_test(tc, consul_index_backwards);
	tcase_add_test(tc, consul_tokens);
	tcase_add_test(tc, consul_no_partial_list);
	tcase_add_test(tc, consul_event_mode);
	suite_add_tcase(s, tc);

	tc = tcase_create("aws");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, aws_up, aws_down);
	tcase_add_test(tc, aws_fixture_matches_samples);
	tcase_add_test(tc, aws_pagination);
	tcase_add_test(tc, aws_lifecycle);
	tcase_add_test(tc, aws_set_unhealthy);
	tcase_add_test(tc, aws_retries_and_errors);
	tcase_add_test(tc, aws_bad_signature);
	tcase_add_test(tc, aws_empty_groups);
	tcase_add_test(tc, aws_event_mode);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(source_io_suite());
}
