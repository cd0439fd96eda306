/* Client planner benchmark, run by hand (build Release, no sanitizers):
 *   bench_plan_client [repetitions]
 * For 100, 1,000 and 10,000 slots in 2 backends (be_a port 80, be_b port
 * 8080), times one hsdo_plan_client call per scenario (freeing the result is
 * not timed) and prints the median and best:
 *   converged  HAProxy already matches: zero commands;
 *   cold       fresh `disabled` template, every slot active:
 *              addr + weight + ready everywhere;
 *   churn 10%  table 90% full and converged, then 10% of the instances
 *              leave (drain) and the free 10% get new instances.
 * Plus `parse state`: hsdo_rtapi_parse_servers_state on the text of the
 * converged state (2 x slots lines), for scale. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "hsdo/err.h"
#include "hsdo/plan_client.h"
#include "hsdo/rtapi.h"
#include "hsdo/slot.h"

static const struct hsdo_plan_client_backend backends[] = {
	{ "be_a", "srv", 80 },
	{ "be_b", "srv", 8080 },
};
static const struct hsdo_plan_client_settings settings = {
	.primary = backends, .nprimary = 2,
};

static void ip_of(struct hsdo_table *t, const char **ip, size_t serial)
{
	int rc = hsdo_table_setf(t, ip, HSDO_IP_LEN, "10.%u.%u.%u", (unsigned)(serial >> 16) & 255,
				 (unsigned)(serial >> 8) & 255, (unsigned)serial & 255);

	if (rc != 0)
		bench_die("bench_plan_client", "hsdo_table_setf", rc);
}

/* Desired table: slots active with weight 50, except every tenth one
 * free when `ninety`. */
static void make_table(struct hsdo_table *t, size_t n, int ninety)
{
	size_t i;
	int rc = hsdo_table_init(t, n);

	if (rc != 0)
		bench_die("bench_plan_client", "hsdo_table_init", rc);
	for (i = 0; i < n; i++) {
		if (ninety && i % 10 == 9)
			continue;
		t->slots[i].state = HSDO_SLOT_ACTIVE;
		ip_of(t, &t->slots[i].ip, i);
		t->slots[i].weight = 50;
	}
}

/* HAProxy's state for t: converged with t, or a fresh `disabled` template. */
static void make_state(struct hsdo_servers_state *h, const struct hsdo_table *t, int converged)
{
	size_t b, i, k = 0;

	h->n = 2 * t->n;
	h->srv = calloc(h->n, sizeof(*h->srv));
	if (h->srv == NULL)
		bench_die("bench_plan_client", "calloc", -HSDO_ENOMEM);
	for (b = 0; b < 2; b++) {
		for (i = 0; i < t->n; i++, k++) {
			struct hsdo_srv_state *x = &h->srv[k];
			const struct hsdo_slot *s = &t->slots[i];

			x->be_id = (uint32_t)b + 3;
			x->srv_id = (uint32_t)i + 1;
			snprintf(x->be_name, sizeof(x->be_name), "%s", backends[b].name);
			snprintf(x->srv_name, sizeof(x->srv_name), "%s%zu", backends[b].base_name, i + 1);
			x->iweight = 1;
			if (converged && s->state == HSDO_SLOT_ACTIVE) {
				snprintf(x->addr, sizeof(x->addr), "%s", s->ip);
				x->port = backends[b].port;
				x->uweight = s->weight;
				x->admin_state = HSDO_RTAPI_ADMF_CMAINT;
				x->op_state = HSDO_RTAPI_OP_RUNNING;
			} else {
				snprintf(x->addr, sizeof(x->addr), "127.0.0.2");
				x->port = 80;
				x->uweight = 1;
				x->admin_state = HSDO_RTAPI_ADMF_CMAINT | HSDO_RTAPI_ADMF_FMAINT;
			}
		}
	}
}

/* `show servers state` text for h, as HAProxy 2.6 prints it. */
static char *state_text(const struct hsdo_servers_state *h, size_t *len)
{
	static const char hdr[] = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state "
		"srv_admin_state srv_uweight srv_iweight srv_time_since_last_change "
		"srv_check_status srv_check_result srv_check_health srv_check_state "
		"srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord "
		"srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n";
	size_t cap = sizeof(hdr) + h->n * 160 + 2, o;
	char *buf = malloc(cap);
	size_t i;

	if (buf == NULL)
		bench_die("bench_plan_client", "malloc", -HSDO_ENOMEM);
	o = (size_t)snprintf(buf, cap, "%s", hdr);
	for (i = 0; i < h->n; i++) {
		const struct hsdo_srv_state *x = &h->srv[i];

		o += (size_t)snprintf(buf + o, cap - o,
			"%u %s %u %s %s %u %u %u %u 12 6 3 4 6 0 0 0 - %u - 0 0 - - 0\n",
			(unsigned)x->be_id, x->be_name, (unsigned)x->srv_id, x->srv_name,
			x->addr[0] ? x->addr : "-", x->op_state, x->admin_state,
			(unsigned)x->uweight, (unsigned)x->iweight, (unsigned)x->port);
	}
	buf[o++] = '\n';
	*len = o;
	return buf;
}

static void report(size_t n, const char *scenario, const char *cmds, int64_t *ns, int reps)
{
	qsort(ns, (size_t)reps, sizeof(*ns), bench_cmp_i64);
	printf("%6zu | %-10s | %8s | %9.1f | %9.1f\n", n, scenario, cmds,
		(double)ns[reps / 2] / 1000.0, (double)ns[0] / 1000.0);
}

static void bench_plan(size_t n, const char *scenario, const struct hsdo_table *t,
	const struct hsdo_servers_state *h, int reps, int64_t *ns)
{
	struct hsdo_plan_client_result r;
	char cmds[32];
	size_t ncmds = 0;
	int i, rc;

	for (i = 0; i < reps; i++) {
		int64_t t0 = bench_mono_ns();

		rc = hsdo_plan_client(t, &settings, h, &r);
		ns[i] = bench_mono_ns() - t0;
		if (rc != 0)
			bench_die("bench_plan_client", "hsdo_plan_client", rc);
		if (r.nskips != 0)
			bench_die("bench_plan_client", "unexpected skips", -HSDO_EINVAL);
		ncmds = r.ncmds;
		hsdo_plan_client_result_free(&r);
	}
	snprintf(cmds, sizeof(cmds), "%zu", ncmds);
	report(n, scenario, cmds, ns, reps);
}

static void bench_parse(size_t n, const struct hsdo_servers_state *h, int reps, int64_t *ns)
{
	struct hsdo_servers_state out;
	char err[256], lines[32];
	size_t len;
	char *text = state_text(h, &len);
	int i, rc;

	for (i = 0; i < reps; i++) {
		int64_t t0 = bench_mono_ns();

		rc = hsdo_rtapi_parse_servers_state(text, len, &out, err, sizeof(err));
		ns[i] = bench_mono_ns() - t0;
		if (rc != 0) {
			fprintf(stderr, "parse: %s\n", err);
			exit(1);
		}
		hsdo_rtapi_servers_state_free(&out);
	}
	snprintf(lines, sizeof(lines), "%zu ln", h->n);
	report(n, "parse", lines, ns, reps);
	free(text);
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 100, 1000, 10000 };
	int reps = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 51;
	int64_t *ns;
	size_t k, i;

	if (reps < 1 || reps > 100000) {
		fprintf(stderr, "usage: %s [repetitions 1..100000]\n", argv[0]);
		return 2;
	}
	ns = calloc((size_t)reps, sizeof(*ns));
	if (ns == NULL)
		return 1;
	printf("hsdo_plan_client, 2 backends, %d runs each\n", reps);
	printf(" slots | scenario   | commands |  median us |   best us\n");
	printf("-------+------------+----------+------------+----------\n");
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k];
		struct hsdo_servers_state h;
		struct hsdo_table t;

		make_table(&t, n, 0);
		make_state(&h, &t, 1);
		bench_plan(n, "converged", &t, &h, reps, ns);
		free(h.srv);

		make_state(&h, &t, 0);
		bench_plan(n, "cold", &t, &h, reps, ns);
		free(h.srv);
		hsdo_table_free(&t);

		/* 90% full and converged; then 10% leave and the free 10% fill */
		make_table(&t, n, 1);
		make_state(&h, &t, 1);
		for (i = 0; i < n; i++) {
			struct hsdo_slot *s = &t.slots[i];

			if (i % 10 == 9) {
				s->state = HSDO_SLOT_ACTIVE;
				ip_of(&t, &s->ip, n + i);
				s->weight = 1;
			} else if (i % 10 == 4) {
				s->state = HSDO_SLOT_DRAINING;
				s->weight = 0;
			}
		}
		bench_plan(n, "churn 10%", &t, &h, reps, ns);
		bench_parse(n, &h, reps, ns);
		free(h.srv);
		hsdo_table_free(&t);
	}
	free(ns);
	return 0;
}
