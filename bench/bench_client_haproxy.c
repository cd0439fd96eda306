/* Client mode against a real HAProxy 2.6 (run by hand: ./scripts/bench).
 * For 10, 100 and 1,000 slots:
 *  - cold apply (median of 5 fresh HAProxys each way): a fresh HAProxy (every slot in maint) brought to a table of
 *    N active slots by one hsdo_client_cycle(), against the original's way
 *    (one connection per command, addr + weight + state for every slot);
 *  - idle cycle: a converged HAProxy, hsdo_client_cycle() again: commands
 *    sent, connections, wall and CPU time per cycle; the original re-sends
 *    3 commands per slot every cycle, whatever HAProxy holds.
 * Prints a table; asserts nothing. Needs `haproxy` on PATH. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "hsdo/alloc.h"
#include "hsdo/client.h"
#include "hsdo/config.h"
#include "hsdo/slot.h"
#include "hsdo/store.h"
#include "hsdo/store_file.h"

#define PROG "bench_client_haproxy"
#define IDLE_CYCLES 20
#define REPS 5

static char dir[] = "/tmp/hsdo-bench-XXXXXX";
static pid_t haproxy_pid;

static void path_in(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static void haproxy_stop(void)
{
	char sock[256];

	if (haproxy_pid > 0) {
		kill(haproxy_pid, SIGTERM);
		waitpid(haproxy_pid, NULL, 0);
		haproxy_pid = 0;
	}
	path_in(sock, sizeof(sock), "admin.sock");
	unlink(sock);
}

/* A fresh HAProxy with `server-template web 1-n` in maint. */
static void haproxy_start(size_t n)
{
	char cfg[256], sock[256];
	FILE *f;
	int i;

	path_in(cfg, sizeof(cfg), "haproxy.cfg");
	path_in(sock, sizeof(sock), "admin.sock");
	f = fopen(cfg, "w");
	if (f == NULL)
		bench_die(PROG, cfg, -HSDO_EIO);
	fprintf(f, "global\n    stats socket %s mode 600 level admin\n"
		   "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n"
		   "    timeout server 5s\nbackend be_app\n    balance roundrobin\n"
		   "    server-template web 1-%zu 127.0.0.2:80 disabled\n", sock, n);
	fclose(f);
	haproxy_pid = fork();
	if (haproxy_pid == 0) {
		execlp("haproxy", "haproxy", "-db", "-q", "-f", cfg, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100 && access(sock, F_OK) != 0; i++)
		usleep(20000);
	if (access(sock, F_OK) != 0)
		bench_die(PROG, "haproxy did not start", -HSDO_EIO);
	usleep(50000);
}

/* The original client's way: one connection per command, read to EOF. */
static int send_one(const char *sock, const char *cmd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[4096];
	ssize_t r;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (write(fd, cmd, strlen(cmd)) == -1 || write(fd, "\n", 1) == -1) {
		close(fd);
		return -1;
	}
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		;
	close(fd);
	return 0;
}

static int64_t baseline(size_t n, size_t *cmds)
{
	char sock[256], cmd[128];
	int64_t t0 = bench_mono_ns();
	size_t i;

	path_in(sock, sizeof(sock), "admin.sock");
	*cmds = 0;
	for (i = 1; i <= n; i++) {
		snprintf(cmd, sizeof(cmd), "set server be_app/web%zu addr 10.0.%zu.%zu port 80",
			 i, i / 250, i % 250 + 1);
		*cmds += send_one(sock, cmd) == 0;
		snprintf(cmd, sizeof(cmd), "set server be_app/web%zu weight 10", i);
		*cmds += send_one(sock, cmd) == 0;
		snprintf(cmd, sizeof(cmd), "set server be_app/web%zu state ready", i);
		*cmds += send_one(sock, cmd) == 0;
	}
	return bench_mono_ns() - t0;
}

static struct hsdo_client *make_client(size_t n, struct hsdo_store **store)
{
	char yaml[1024], spath[256], sock[256], err[256];
	struct hsdo_config *cfg = NULL;
	struct hsdo_client *c = NULL;
	struct hsdo_table t;
	char *doc;
	size_t i, len;
	FILE *f;
	int rc;

	path_in(spath, sizeof(spath), "slots.json");
	path_in(sock, sizeof(sock), "admin.sock");
	if ((rc = hsdo_table_init(&t, n)) != 0)
		bench_die(PROG, "table", rc);
	t.generation = 1;
	for (i = 0; i < n; i++) {
		struct hsdo_slot *s = &t.slots[i];

		s->state = HSDO_SLOT_ACTIVE;
		hsdo_table_setf(&t, &s->ip, HSDO_IP_LEN, "10.0.%zu.%zu", (i + 1) / 250, (i + 1) % 250 + 1);
		hsdo_table_setf(&t, &s->name, HSDO_NAME_LEN, "i-%06zu", i + 1);
		hsdo_table_setf(&t, &s->group, HSDO_GROUP_LEN, "asg");
		s->weight = 10;
		s->last_weight_update_us = 1700000000000000LL;
	}
	doc = hsdo_store_file_render(&t, &len);
	hsdo_table_free(&t);
	if (doc == NULL || (f = fopen(spath, "w")) == NULL)
		bench_die(PROG, "render", -HSDO_ENOMEM);
	fwrite(doc, 1, len, f);
	fclose(f);
	hsdo_free(doc);
	snprintf(yaml, sizeof(yaml),
		 "STORE: file\nSTORE_FILE_PATH: %s\nCLIENT_HAPROXY_SOCKET_PATH: %s\n"
		 "CLIENT_HAPROXY_BACKEND_NAME: be_app\nCLIENT_HAPROXY_BACKEND_BASE_NAME: web\n"
		 "HAPROXY_BACKEND_SERVERS_LIST_SIZE: %zu\nCLIENT_HAPROXY_TIMEOUT: 30\n",
		 spath, sock, n);
	if ((rc = hsdo_config_parse(yaml, strlen(yaml), "bench", NULL, HSDO_ROLE_CLIENT,
				    &cfg, NULL)) != 0)
		bench_die(PROG, "config", rc);
	if ((rc = hsdo_store_file_open(spath, store, err, sizeof(err))) != 0 ||
	    (rc = hsdo_client_new(cfg, *store, NULL, &c, err, sizeof(err))) != 0)
		bench_die(PROG, err, rc);
	hsdo_config_free(cfg);
	return c;
}

static int64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
	       ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

int main(void)
{
	static const size_t sizes[] = { 10, 100, 1000 };
	size_t k;

	if (mkdtemp(dir) == NULL)
		bench_die(PROG, "mkdtemp", -HSDO_EIO);
	printf("client mode vs the original's way, real HAProxy 2.6, one backend\n");
	printf(" slots | what                  | commands | connections |    wall ms | ratio\n");
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k], bcmds;
		struct hsdo_client_report rep;
		struct hsdo_store *store = NULL;
		struct hsdo_client *c;
		int64_t t0, hsdo_ns, base_ns, idle_ns, idle_cpu, c0;
		size_t idle_sent = 0, sent = 0;
		uint64_t conns0, conns = 0;
		int i, r, rc;

		int64_t hs[REPS], bs[REPS], best;

		/* Cold apply, median of REPS fresh HAProxys each way. */
		for (r = 0; r < REPS; r++) {
			haproxy_start(n);
			c = make_client(n, &store);
			t0 = bench_mono_ns();
			rc = hsdo_client_cycle(c, false, &rep);
			hs[r] = bench_mono_ns() - t0;
			if (rc != 0 || rep.failed != 0)
				bench_die(PROG, rep.haproxy_error, rc ? rc : -HSDO_EPROTO);
			sent = rep.sent;
			conns = rep.connections;
			if (r + 1 < REPS) {
				hsdo_client_free(c);
				hsdo_store_free(store);
				haproxy_stop();
			}
		}
		hsdo_ns = bench_median(hs, REPS, &best);
		printf(" %5zu | cold apply, hsdo      | %8zu | %11llu | %10.2f |\n", n, sent,
		       (unsigned long long)conns, hsdo_ns / 1e6);
		/* Idle cycles on the converged HAProxy of the last repetition. */
		conns0 = rep.connections;
		c0 = cpu_ns();
		t0 = bench_mono_ns();
		for (i = 0; i < IDLE_CYCLES; i++) {
			if ((rc = hsdo_client_cycle(c, false, &rep)) != 0)
				bench_die(PROG, rep.haproxy_error, rc);
			idle_sent += rep.sent;
		}
		idle_ns = (bench_mono_ns() - t0) / IDLE_CYCLES;
		idle_cpu = (cpu_ns() - c0) / IDLE_CYCLES;
		hsdo_client_free(c);
		hsdo_store_free(store);
		haproxy_stop();

		for (r = 0; r < REPS; r++) {
			haproxy_start(n);
			bs[r] = baseline(n, &bcmds);
			haproxy_stop();
		}
		base_ns = bench_median(bs, REPS, &best);
		printf(" %5zu | cold apply, original  | %8zu | %11zu | %10.2f | hsdo %.1fx faster\n", n,
		       bcmds, bcmds, base_ns / 1e6, (double)base_ns / (double)hsdo_ns);
		printf(" %5zu | idle cycle, hsdo      | %8zu | %11.1f | %10.3f | cpu %.3f ms/cycle\n", n,
		       idle_sent / IDLE_CYCLES,
		       (double)(rep.connections - conns0) / IDLE_CYCLES, idle_ns / 1e6, idle_cpu / 1e6);
		printf(" %5zu | idle cycle, original  | %8zu | %11zu | %10.2f | hsdo %.0fx faster\n",
		       n, bcmds, bcmds, base_ns / 1e6, (double)base_ns / (double)idle_ns);
	}
	{
		char p[256];

		path_in(p, sizeof(p), "haproxy.cfg");
		unlink(p);
		path_in(p, sizeof(p), "slots.json");
		unlink(p);
		path_in(p, sizeof(p), "slots.json.lock");
		unlink(p);
		rmdir(dir);
	}
	return 0;
}
