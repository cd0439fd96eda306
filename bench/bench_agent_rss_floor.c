/* The RSS floor under hsdo-agent: a process linked with the agent's
 * libraries (libcurl, OpenSSL, libxml2, libyaml, cJSON, libev,
 * libmicrohttpd with GnuTLS, libsystemd), which initialises them as the
 * agent does (curl_global_init, xmlInitParser, a libev loop, an MHD daemon
 * on its own thread) and holds no slot table. Prints VmRSS with its file
 * and anonymous parts at entry and after the initialisation, then the
 * mappings that hold the most, from /proc/self/smaps: what no slot table
 * change can take away. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <ev.h>
#include <libxml/parser.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOP 15

static void status(const char *when)
{
	char line[256];
	long rss = 0, anon = 0, file = 0, shmem = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		(void)sscanf(line, "VmRSS: %ld", &rss);
		(void)sscanf(line, "RssAnon: %ld", &anon);
		(void)sscanf(line, "RssFile: %ld", &file);
		(void)sscanf(line, "RssShmem: %ld", &shmem);
	}
	fclose(f);
	printf("| %-28s | %8.1f | %8.1f | %8.1f |\n", when, rss * 1024 / 1e6, file * 1024 / 1e6,
	       anon * 1024 / 1e6);
}

struct map {
	char name[200];
	long rss;
};

static int map_cmp(const void *a, const void *b)
{
	const struct map *x = a, *y = b;

	return (y->rss > x->rss) - (y->rss < x->rss);
}

/* Rss per mapped file (anonymous mappings together), largest first. */
static void top_mappings(void)
{
	static struct map m[512];
	char line[512], cur[200] = "[anonymous]";
	size_t n = 0, i;
	long kb;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char range[64], perms[8], path[200] = "";
		unsigned long off, inode;
		char dev[16];

		if (sscanf(line, "%63s %7s %lx %15s %lu %199s", range, perms, &off, dev, &inode,
			   path) >= 5 && strchr(range, '-') != NULL) {
			snprintf(cur, sizeof(cur), "%s", path[0] ? path : "[anonymous]");
			continue;
		}
		if (sscanf(line, "Rss: %ld", &kb) != 1)
			continue;
		for (i = 0; i < n && strcmp(m[i].name, cur) != 0; i++)
			;
		if (i == n && n < sizeof(m) / sizeof(m[0]))
			snprintf(m[n++].name, sizeof(m[0].name), "%s", cur);
		if (i < n)
			m[i].rss += kb;
	}
	fclose(f);
	qsort(m, n, sizeof(m[0]), map_cmp);
	printf("\n| %-60s | %8s |\n|%s|----------|\n", "mapping (top " "15" ")", "RSS MB",
	       "--------------------------------------------------------------");
	for (i = 0; i < n && i < TOP; i++)
		printf("| %-60s | %8.2f |\n", m[i].name, m[i].rss * 1024 / 1e6);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *size, void **state)
{
	(void)cls, (void)c, (void)url, (void)method, (void)version, (void)data, (void)size;
	(void)state;
	return MHD_NO;
}

int main(void)
{
	struct MHD_Daemon *d;
	struct ev_loop *loop;
	struct sockaddr_in sa = { .sin_family = AF_INET };

	printf("RSS floor of a process with hsdo-agent's libraries, in MB (10^6 bytes)\n");
	printf("| %-28s | %8s | %8s | %8s |\n|------------------------------|----------|"
	       "----------|----------|\n", "when", "VmRSS", "file", "anon");
	status("main() entered");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "curl_global_init failed\n");
		return 1;
	}
	xmlInitParser();
	loop = ev_default_loop(0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);   /* port 0: any free one */
	d = MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD, 0, NULL, NULL, on_request, NULL,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_END);
	if (loop == NULL || d == NULL) {
		fprintf(stderr, "libev or libmicrohttpd did not start\n");
		return 1;
	}
	status("libraries initialised");
	top_mappings();
	MHD_stop_daemon(d);
	xmlCleanupParser();
	curl_global_cleanup();
	return 0;
}
