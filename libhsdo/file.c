/* Reading small local files: see include/hsdo/file.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/file.h"

static const char *kind(mode_t m)
{
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a file";
}

int hsdo_file_read(const char *path, size_t max, char **buf, size_t *len, struct stat *st,
		   char *err, size_t errlen)
{
	struct stat sb;
	size_t size, got = 0;
	ssize_t r = 0;
	char *b;
	int fd, e;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd == -1) {
		e = errno;
		if (e == ENOENT || e == ENOTDIR)
			return hsdo_seterr(err, errlen, -HSDO_ENOTFOUND, "%s: no such file", path);
		return hsdo_seterr(err, errlen, -HSDO_EIO, "%s: cannot open: %s", path, strerror(e));
	}
	if (fstat(fd, &sb) == -1) {
		e = errno;
		close(fd);
		return hsdo_seterr(err, errlen, -HSDO_EIO, "%s: cannot stat: %s", path, strerror(e));
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		return hsdo_seterr(err, errlen, -HSDO_EIO, "%s: not a regular file (%s): not read",
				   path, kind(sb.st_mode));
	}
	if (sb.st_size < 0 || (uintmax_t)sb.st_size > max) {
		close(fd);
		return hsdo_seterr(err, errlen, -HSDO_ETOOBIG, "%s: %jd bytes is over the %zu byte "
				   "limit", path, (intmax_t)sb.st_size, max);
	}
	size = (size_t)sb.st_size;
	/* One spare byte: reading it means the file grew under us. */
	b = hsdo_malloc(size + 1);
	if (b == NULL) {
		close(fd);
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "%s: out of memory", path);
	}
	for (;;) {
		r = read(fd, b + got, size + 1 - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got > size)
			break;
	}
	e = errno;
	close(fd);
	if (r < 0 || got != size) {
		hsdo_free(b);
		if (r < 0)
			return hsdo_seterr(err, errlen, -HSDO_EIO, "%s: read: %s", path, strerror(e));
		return hsdo_seterr(err, errlen, -HSDO_EIO, "%s: changed size while being read", path);
	}
	b[got] = '\0';
	if (st != NULL)
		*st = sb;
	*buf = b;
	*len = got;
	return 0;
}
