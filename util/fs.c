/* Output paths: checking them before a run and creating them after; and
 * two small text and file helpers every writer and reader needs. */
#include "util/fs.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int sl_mkdir_p(const char *dir, struct sl_err *err)
{
	char path[PATH_MAX];
	struct stat st;
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(path))
		return sl_err_set(err, -ENAMETOOLONG,
				  "cannot create directory '%s': %s", dir,
				  strerror(ENAMETOOLONG));
	memcpy(path, dir, len + 1);
	for (char *p = path + 1; ; p++) {
		bool end = *p == '\0';

		if (*p != '/' && !end)
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return sl_err_set(err, -errno,
					  "cannot create directory '%s': %s",
					  path, strerror(errno));
		if (end)
			break;
		*p = '/';
	}
	if (stat(dir, &st) < 0)
		return sl_err_set(err, -errno, "cannot create directory '%s': %s",
				  dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return sl_err_set(err, -ENOTDIR,
				  "cannot create directory '%s': %s", dir,
				  strerror(ENOTDIR));
	return 0;
}

int sl_check_writable_dir(const char *dir, struct sl_err *err)
{
	char probe[PATH_MAX];

	/* access(W_OK) says yes to root everywhere, and no file system's
	 * refusal (read-only, /proc, /sys) shows before a real attempt: make
	 * and remove an empty directory. */
	if ((size_t)snprintf(probe, sizeof(probe), "%s/.synclab-probe-XXXXXX", dir) >= sizeof(probe))
		return sl_err_set(err, -ENAMETOOLONG, "'%s' is too long", dir);
	if (!mkdtemp(probe))
		return sl_err_set(err, -EACCES, "cannot create files in '%s' (%s; accepted: a path under a writable directory)", dir,
				  strerror(errno));
	rmdir(probe);
	return 0;
}

int sl_check_creatable(const char *path, struct sl_err *err)
{
	char p[PATH_MAX];
	struct stat st;
	char *slash;

	if (!*path)
		return sl_err_set(err, -EINVAL, "empty path");
	if (strlen(path) >= sizeof(p))
		return sl_err_set(err, -ENAMETOOLONG, "'%s' is too long", path);
	strcpy(p, path);
	/* Walk up to the nearest ancestor that exists. */
	for (;;) {
		while (strlen(p) > 1 && p[strlen(p) - 1] == '/')
			p[strlen(p) - 1] = '\0';
		slash = strrchr(p, '/');
		if (!slash) {
			strcpy(p, ".");
		} else if (slash == p) {
			p[1] = '\0';
		} else {
			*slash = '\0';
		}
		if (stat(p, &st) == 0)
			break;
		if (errno != ENOENT || strcmp(p, ".") == 0 || strcmp(p, "/") == 0)
			return sl_err_set(err, -errno, "cannot use '%s': %s", p,
					  strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return sl_err_set(err, -ENOTDIR, "'%s' is not a directory", p);
	return sl_check_writable_dir(p, err);
}

int sl_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

void sl_copy_squeezed(char *buf, size_t n, const char *s)
{
	size_t o = 0;
	bool blank = false;

	if (n == 0)
		return;
	while (isspace((unsigned char)*s))
		s++;
	for (; *s && o + 1 < n; s++) {
		if (isspace((unsigned char)*s)) {
			blank = true;
			continue;
		}
		if (blank && o + 2 < n)
			buf[o++] = ' ';
		blank = false;
		buf[o++] = *s;
	}
	buf[o] = '\0';
}
