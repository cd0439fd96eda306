/* Helpers shared by the check runners. */
#ifndef HSDO_TEST_H
#define HSDO_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Create a fresh temporary directory (mkdtemp under $TMPDIR or /tmp);
 * returns a static-lifetime heap string the caller frees with free(). */
char *hsdo_test_tmpdir(const char *tag);
/* Remove a directory tree made by hsdo_test_tmpdir. */
void hsdo_test_rmtree(const char *path);
/* Write len bytes to path (truncating); 0 or -1. */
int hsdo_test_write_file(const char *path, const void *data, size_t len);
/* Read a whole file into a NUL-terminated heap buffer (free()); NULL on error. */
char *hsdo_test_read_file(const char *path, size_t *len);
/* Path of tests/data/<rel> (HSDO_TEST_DATA from ctest, else the source tree);
 * returns a heap string (free()). */
char *hsdo_test_data_path(const char *rel);
/* Read tests/data/<rel> whole (NUL-terminated, free()); aborts the current
 * check test with the path when it cannot be read. */
char *hsdo_test_load_data(const char *rel, size_t *len);
/* Stop a child: SIGTERM, up to 2 s to exit, then SIGKILL; reap it and set
 * *pid to 0. No-op when *pid <= 0. */
void hsdo_test_stop_pid(pid_t *pid);
/* A TCP connection to 127.0.0.1:port (connect blocks; TCP_NODELAY), or -1
 * when refused. */
int hsdo_test_tcp_connect(uint16_t port);
/* Run a Suite, printing check's summary; returns the process exit status. */
struct Suite;
int hsdo_test_run(struct Suite *s);

#endif
