/* Durable, atomic file writes (temp file, fsync, rename, fsync of the
 * directory) and recursive directory creation: a record or report is
 * either the old one or the new one after a crash or power loss. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "records/records.h"

int rigi_sys_fail(int err, const char *what, const char *path)
{
	const char *why = strerror(err);
	if (err == EACCES || err == EPERM || err == EROFS)
		return rigi_fail(RIG_ERR_PERMISSION, "%s %s: %s; check the permissions of %s", what,
				 path, why, path);
	if (err == ENOMEM)
		return rigi_fail(RIG_ERR_NOMEM, "%s %s: %s", what, path, why);
	if (err == ENOENT || err == ENOTDIR)
		return rigi_fail(RIG_ERR_NOT_FOUND, "%s %s: %s; check the path", what, path, why);
	if (err == ENOSPC || err == EDQUOT)
		return rigi_fail(RIG_ERR_NOSPACE, "%s %s: disk full (%s); free disk space, then "
				 "retest", what, path, why);
	if (err == EFBIG)
		return rigi_fail(RIG_ERR_IO, "%s %s: %s; raise the file size limit", what, path, why);
	return rigi_fail(RIG_ERR_IO, "%s %s: %s", what, path, why);
}

/* The directory part of @p path ("." when there is none), malloc'd. */
char *rigi_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

int rigi_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return rigi_sys_fail(errno, "open directory", dir);
	if (fsync(fd) != 0 && errno != EINVAL) {
		int err = errno;
		close(fd);
		return rigi_sys_fail(err, "fsync directory", dir);
	}
	close(fd);
	return 0;
}

/* mkdir one level; 1 when created, 0 when it already was a directory. */
static int mkdir_one(const char *path)
{
	struct stat st;
	if (mkdir(path, 0755) == 0)
		return 1;
	if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	if (errno == EEXIST)
		return rigi_fail(RIG_ERR_IO, "create directory %s: a file of that name is in the way",
				 path);
	return rigi_sys_fail(errno, "create directory", path);
}

int rigi_mkdir_p(const char *path)
{
	int ret = 0;
	if (!path || !*path)
		return rigi_fail(RIG_ERR_ARG, "rigi_mkdir_p: empty path");
	char *buf = strdup(path);
	if (!buf)
		return rigi_fail(RIG_ERR_NOMEM, "create directory %s: out of memory", path);
	for (char *p = buf + 1; ret >= 0; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		ret = mkdir_one(buf);
		if (ret == 1) {
			/* Make the new entry durable in its parent. */
			char *parent = rigi_dir_of(buf);
			ret = parent ? rigi_fsync_dir(parent)
				     : rigi_fail(RIG_ERR_NOMEM, "create directory %s: out of memory", path);
			free(parent);
		}
		*p = saved;
		if (saved == '\0')
			break;
	}
	free(buf);
	return ret < 0 ? ret : 0;
}

int rigi_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write, fsync and close the temporary file; on failure errno says why. */
static int fill_temp(int fd, const void *data, size_t len, unsigned mode, const char **what)
{
	int ok = 0;
	*what = "set the mode of";
	if (fchmod(fd, (mode_t)mode) == 0) {
		*what = "write";
		if (rigi_write_all(fd, data, len) == 0) {
			*what = "fsync";
			ok = fsync(fd) == 0;
		}
	}
	int err = errno;
	if (close(fd) != 0 && ok) {
		*what = "close";
		return -1;
	}
	errno = err;
	return ok ? 0 : -1;
}

int rigi_temp_writer_dead(const char *name)
{
	const char *t = strstr(name, ".tmp-");
	char *end;
	if (name[0] != '.' || !t)
		return 0;
	long pid = strtol(t + 5, &end, 10);
	return pid > 0 && *end == '-' && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

int rigi_atomic_write(const char *path, const void *data, size_t len)
{
	return rigi_atomic_write_mode(path, data, len, 0644);
}

int rigi_atomic_write_mode(const char *path, const void *data, size_t len, unsigned mode)
{
	char *dir = NULL, *tmp = NULL;
	const char *what = "create a temporary file next to";
	int ret = 0;

	if (!path || (!data && len))
		return rigi_fail(RIG_ERR_ARG, "rigi_atomic_write: path and data are required");
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	dir = rigi_dir_of(path);
	size_t cap = strlen(path) + 40;
	tmp = malloc(cap);
	if (!dir || !tmp) {
		ret = rigi_fail(RIG_ERR_NOMEM, "write %s: out of memory", path);
		goto out;
	}
	/* The writer's pid in the name lets recovery tell a dead writer's
	 * leftover from a live one's file about to be renamed. */
	snprintf(tmp, cap, "%.*s.%s.tmp-%ld-XXXXXX", (int)(base - path), path, base,
		 (long)getpid());
	int fd = mkstemp(tmp);
	if (fd < 0) {
		ret = rigi_sys_fail(errno, what, path);
		goto out;
	}
	/* Not inherited by the simulator or other children started later. */
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (fill_temp(fd, data, len, mode, &what) != 0) {
		ret = rigi_sys_fail(errno, what, path);
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) != 0) {
		ret = rigi_sys_fail(errno, "rename a temporary file over", path);
		unlink(tmp);
		goto out;
	}
	ret = rigi_fsync_dir(dir);
out:
	free(dir);
	free(tmp);
	return ret;
}
