/* Reading small local files (libhsdo/file.c): a regular file whole, an
 * empty one, the size bound, a missing path; and what is not a file (a
 * FIFO with no writer, a directory, a device) refused at once. A FIFO
 * opened without O_NONBLOCK would wait for a writer forever: the check
 * runner's timeout catches that. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/file.h"

#include "hsdo_test.h"

static char *dir;
static char path[600];

static void setup(void)
{
	dir = hsdo_test_tmpdir("file");
	ck_assert_ptr_nonnull(dir);
	snprintf(path, sizeof(path), "%s/f", dir);
}

static void teardown(void)
{
	hsdo_test_rmtree(dir);
	free(dir);
}

START_TEST(regular_file)
{
	struct stat st;
	char *buf = NULL, err[256];
	size_t len = 99;

	ck_assert_int_eq(hsdo_test_write_file(path, "hello\n", 6), 0);
	ck_assert_int_eq(hsdo_file_read(path, 6, &buf, &len, &st, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, 6);
	ck_assert_str_eq(buf, "hello\n");
	ck_assert(S_ISREG(st.st_mode));
	hsdo_free(buf);
	ck_assert_int_eq(hsdo_file_read(path, 5, &buf, &len, NULL, err, sizeof(err)),
			 -HSDO_ETOOBIG);
	ck_assert_ptr_null(buf);
	ck_assert_msg(strstr(err, "6 bytes is over the 5 byte limit") != NULL, "%s", err);
	ck_assert_int_eq(hsdo_test_write_file(path, "", 0), 0);
	ck_assert_int_eq(hsdo_file_read(path, 5, &buf, &len, NULL, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_str_eq(buf, "");
	hsdo_free(buf);
}
END_TEST

START_TEST(missing)
{
	char *buf = NULL, err[256], p[700];
	size_t len;

	ck_assert_int_eq(hsdo_file_read(path, 10, &buf, &len, NULL, err, sizeof(err)),
			 -HSDO_ENOTFOUND);
	ck_assert_msg(strstr(err, "no such file") != NULL, "%s", err);
	snprintf(p, sizeof(p), "%s/nodir/f", dir);
	ck_assert_int_eq(hsdo_file_read(p, 10, &buf, &len, NULL, err, sizeof(err)),
			 -HSDO_ENOTFOUND);
}
END_TEST

static const struct {
	const char *what;
	const char *said;
} not_files[] = {
	{ "fifo", "not a regular file (a FIFO): not read" },
	{ "dir", "not a regular file (a directory): not read" },
	{ "dev", "not a regular file (a device): not read" },
};

START_TEST(not_a_file)
{
	char *buf = NULL, err[256];
	const char *p = path;
	size_t len;

	if (_i == 0)
		ck_assert_int_eq(mkfifo(path, 0644), 0);
	else if (_i == 1)
		ck_assert_int_eq(mkdir(path, 0755), 0);
	else
		p = "/dev/null";
	ck_assert_int_eq(hsdo_file_read(p, 10, &buf, &len, NULL, err, sizeof(err)), -HSDO_EIO);
	ck_assert_ptr_null(buf);
	ck_assert_msg(strstr(err, not_files[_i].said) != NULL, "%s: %s", not_files[_i].what, err);
}
END_TEST

static Suite *file_suite(void)
{
	Suite *s = suite_create("file");
	TCase *tc = tcase_create("file");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, regular_file);
	tcase_add_test(tc, missing);
	tcase_add_loop_test(tc, not_a_file, 0, (int)(sizeof(not_files) / sizeof(not_files[0])));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(file_suite());
}
