/* Fleet-health reports in files (see hsdo/reports_file.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/file.h"
#include "hsdo/report.h"
#include "hsdo/reports.h"
#include "hsdo/reports_file.h"
#include "store/file_io.h"

#define SUFFIX ".json"

struct file_reports {
	struct hsdo_reports rs;
	char *dir;
};

static struct file_reports *fr_of(struct hsdo_reports *rs)
{
	return rs->impl;
}

/* The directory exists (created if missing, one level). */
static int ensure_dir(const char *dir, char *err, size_t errlen)
{
	struct stat sb;
	int e;

	if (mkdir(dir, 0755) == 0)
		return 0;
	e = errno;
	if (e == EEXIST && stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))
		return 0;
	return hsdo_seterr(err, errlen, -HSDO_EIO, "report directory %s: %s", dir,
			   e == EEXIST ? "exists and is not a directory" : strerror(e));
}

static int file_write(struct hsdo_reports *rs, const struct hsdo_report *r,
		      hsdo_store_done_fn done, void *arg)
{
	struct file_reports *fr = fr_of(rs);
	char err[512] = "", *doc = NULL, *target = NULL, *tmpl = NULL;
	size_t len = 0;
	int rc;

	if ((rc = hsdo_report_check(r, err, sizeof(err))) != 0) {
		done(arg, rc, err);
		return 0;
	}
	rc = ensure_dir(fr->dir, err, sizeof(err));
	if (rc == 0) {
		doc = hsdo_report_render_file(r, &len);
		target = hsdo_strdup_printf("%s/%s" SUFFIX, fr->dir, r->client_id);
		tmpl = hsdo_strdup_printf("%s/.%s.tmp-XXXXXX", fr->dir, r->client_id);
		if (doc == NULL || target == NULL || tmpl == NULL)
			rc = hsdo_seterr(err, sizeof(err), -HSDO_ENOMEM, "out of memory");
	}
	/* A heartbeat: a crash may lose it, never tear it; no fsync. */
	if (rc == 0)
		rc = hsdo_file_replace(fr->dir, tmpl, target, doc, len, false, err, sizeof(err));
	hsdo_free(doc);
	hsdo_free(target);
	hsdo_free(tmpl);
	done(arg, rc, err);
	return 0;
}

/* True when name is "<client id>.json" (into id), not a temporary file. */
static bool report_name(const char *name, char *id, size_t idlen)
{
	size_t n = strlen(name), sl = strlen(SUFFIX);

	if (name[0] == '.' || n <= sl || strcmp(name + n - sl, SUFFIX) != 0 || n - sl >= idlen)
		return false;
	memcpy(id, name, n - sl);
	id[n - sl] = '\0';
	return hsdo_report_id_valid(id);
}

/* Read one report file into set; bad ones counted. -HSDO_ENOMEM only. */
static int read_one(const char *dir, const char *name, const char *id, int64_t now_ms,
		    struct hsdo_report_set *set)
{
	char path[PATH_MAX], err[320] = "", *buf = NULL;
	struct hsdo_report r;
	size_t len = 0;
	int rc;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)) {
		hsdo_report_set_bad(set, name, "path too long");
		return 0;
	}
	rc = hsdo_file_read(path, HSDO_REPORT_DOC_MAX, &buf, &len, NULL, err, sizeof(err));
	if (rc == -HSDO_ENOTFOUND)
		return 0;       /* replaced or removed while listing */
	if (rc == 0)
		rc = hsdo_report_parse_file(buf, len, &r, err, sizeof(err));
	hsdo_free(buf);
	if (rc == -HSDO_ENOMEM)
		return rc;
	if (rc != 0) {
		hsdo_report_set_bad(set, name, err);
		return 0;
	}
	if (strcmp(r.client_id, id) != 0) {
		snprintf(err, sizeof(err), "holds the report of client %s", r.client_id);
		hsdo_report_set_bad(set, name, err);
		hsdo_report_free(&r);
		return 0;
	}
	/* Gone for a day: remove it, as DynamoDB's TTL removes items. */
	if (r.expires_s * 1000 + HSDO_REPORTS_FILE_PURGE_MS < now_ms) {
		(void)unlink(path);
		hsdo_report_free(&r);
		return 0;
	}
	if ((rc = hsdo_report_set_add(set, &r)) != 0) {
		hsdo_report_free(&r);
		if (rc == -HSDO_ENOMEM)
			return rc;
		hsdo_report_set_bad(set, name, "too many reports");
	}
	return 0;
}

static int file_read_all(struct hsdo_reports *rs, int64_t now_ms, struct hsdo_report_set *out,
			 hsdo_store_done_fn done, void *arg)
{
	struct file_reports *fr = fr_of(rs);
	char id[HSDO_REPORT_ID_LEN], err[512] = "";
	struct dirent *de;
	size_t seen = 0;
	DIR *d;
	int rc = 0, e;

	d = opendir(fr->dir);
	if (d == NULL) {
		e = errno;
		if (e == ENOENT) {
			done(arg, 0, "");   /* no client has reported yet */
			return 0;
		}
		rc = hsdo_seterr(err, sizeof(err), -HSDO_EIO, "report directory %s: %s", fr->dir,
				 strerror(e));
		done(arg, rc, err);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (!report_name(de->d_name, id, sizeof(id)))
			continue;
		if (++seen > HSDO_REPORTS_FILE_MAX) {
			hsdo_report_set_bad(out, de->d_name, "over the file limit");
			continue;
		}
		if ((rc = read_one(fr->dir, de->d_name, id, now_ms, out)) != 0)
			break;
	}
	closedir(d);
	if (rc != 0) {
		hsdo_report_set_free(out);
		rc = hsdo_seterr(err, sizeof(err), rc, "report directory %s: %s", fr->dir,
				 hsdo_strerror(rc));
	}
	done(arg, rc, err);
	return 0;
}

static void file_free(struct hsdo_reports *rs)
{
	struct file_reports *fr = fr_of(rs);

	hsdo_free(fr->dir);
	hsdo_free(fr);
}

static const struct hsdo_reports_ops file_ops = {
	.name = "file",
	.write = file_write,
	.read_all = file_read_all,
	.free = file_free,
};

int hsdo_reports_file_open(const char *dir, struct hsdo_reports **out, char *err, size_t errlen)
{
	struct file_reports *fr;

	if (out == NULL || dir == NULL || dir[0] == '\0' || strlen(dir) > PATH_MAX - 200)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "bad report directory");
	fr = hsdo_calloc(1, sizeof(*fr));
	if (fr == NULL || (fr->dir = hsdo_strdup(dir)) == NULL) {
		hsdo_free(fr);
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	}
	fr->rs.ops = &file_ops;
	fr->rs.impl = fr;
	*out = &fr->rs;
	return 0;
}

char *hsdo_reports_file_dir(const char *store_path)
{
	return hsdo_strdup_printf("%s.health", store_path);
}
