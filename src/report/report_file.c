/* report_file.c - result files are written whole or not at all.
 *
 * The bytes go to PATH.tmp.PID in the same directory (so the rename cannot
 * cross a file system), are fsync'ed, and the temporary file is renamed over
 * PATH; rename(2) replaces atomically, so a reader sees the old file or the
 * new one, never half of one. On any failure the temporary file is removed.
 */
#define _GNU_SOURCE
#include "report/report.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int tmp_name(const char *path, char *tmp, size_t len)
{
    int n = snprintf(tmp, len, "%s.tmp.%ld", path, (long)getpid());
    return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

static int fail(int e, const char *path, char *err, size_t errlen)
{
    snprintf(err, errlen, "cannot write '%s': %s", path, strerror(e));
    return -e;
}

/* Best effort: makes the rename itself durable. */
static void sync_dir(const char *path)
{
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

int gh_report_write_file(const char *path, const void *data, size_t len, char *err,
                         size_t errlen)
{
    char tmp[PATH_MAX];
    struct stat st;
    int e;

    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return fail(EISDIR, path, err, errlen);
    if ((e = tmp_name(path, tmp, sizeof tmp)) != 0)
        return fail(-e, path, err, errlen);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        return fail(errno, path, err, errlen);

    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            e = errno;
            goto unwind;
        }
        p += n;
        left -= (size_t)n;
    }
    if (fsync(fd) != 0 && errno != EINVAL) { /* EINVAL: e.g. a pipe-like target */
        e = errno;
        goto unwind;
    }
    if (close(fd) != 0) {
        fd = -1;
        e = errno;
        goto unwind;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        e = errno;
        goto unwind;
    }
    sync_dir(path);
    return 0;

unwind:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return fail(e, path, err, errlen);
}

int gh_report_write_json(const char *path, const json_t *j, char *err, size_t errlen)
{
    char *text = json_dumps(j, GH_REPORT_JSON_FLAGS);
    if (!text)
        return fail(ENOMEM, path, err, errlen);
    size_t n = strlen(text);
    /* json_dumps leaves no trailing newline; files end with one. */
    char *withnl = realloc(text, n + 2);
    if (!withnl) {
        free(text);
        return fail(ENOMEM, path, err, errlen);
    }
    withnl[n] = '\n';
    withnl[n + 1] = 0;
    int rc = gh_report_write_file(path, withnl, n + 1, err, errlen);
    free(withnl);
    return rc;
}

int gh_report_check_writable(const char *path, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    struct stat st;
    int e;

    if (!path[0])
        return fail(ENOENT, path, err, errlen);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return fail(EISDIR, path, err, errlen);
    if ((e = tmp_name(path, tmp, sizeof tmp)) != 0)
        return fail(-e, path, err, errlen);
    /* O_EXCL: never truncate a file that happens to have this name. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0)
        return fail(errno, path, err, errlen);
    close(fd);
    unlink(tmp);
    return 0;
}
