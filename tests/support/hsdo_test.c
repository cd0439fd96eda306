#define _XOPEN_SOURCE 700
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hsdo_test.h"

char *hsdo_test_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *path;
	size_t len;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	len = strlen(base) + strlen(tag) + 32;
	path = malloc(len);
	if (path == NULL)
		return NULL;
	snprintf(path, len, "%s/hsdo-%s-XXXXXX", base, tag);
	if (mkdtemp(path) == NULL) {
		free(path);
		return NULL;
	}
	return path;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void hsdo_test_rmtree(const char *path)
{
	if (path != NULL)
		(void)nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int hsdo_test_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int rc = 0;

	if (f == NULL)
		return -1;
	if (len && fwrite(data, 1, len, f) != len)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

char *hsdo_test_read_file(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, len = 0, n;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap + 65536);

			if (nb == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap += 65536;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

char *hsdo_test_data_path(const char *rel)
{
	const char *base = getenv("HSDO_TEST_DATA");
	char *path;
	size_t len;

	if (base == NULL)
		base = HSDO_TEST_SOURCE_DATA;
	len = strlen(base) + strlen(rel) + 2;
	path = malloc(len);
	if (path != NULL)
		snprintf(path, len, "%s/%s", base, rel);
	return path;
}

char *hsdo_test_load_data(const char *rel, size_t *len)
{
	char *path = hsdo_test_data_path(rel);
	char *buf;

	ck_assert_ptr_nonnull(path);
	buf = hsdo_test_read_file(path, len);
	if (buf == NULL)
		ck_abort_msg("cannot read %s", path);
	free(path);
	return buf;
}

int hsdo_test_run(struct Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

void hsdo_test_stop_pid(pid_t *pid)
{
	int st, i;

	if (*pid <= 0)
		return;
	(void)kill(*pid, SIGTERM);
	for (i = 0; i < 200 && waitpid(*pid, &st, WNOHANG) == 0; i++)
		nanosleep(&(struct timespec){ .tv_sec = 0, .tv_nsec = 10000000 }, NULL);
	if (i == 200) {
		(void)kill(*pid, SIGKILL);
		(void)waitpid(*pid, &st, 0);
	}
	*pid = 0;
}

int hsdo_test_tcp_connect(uint16_t port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}
