/* report_file.c - result files are written whole or not at all, and only
 * where they were asked to go.
 *
 *   "-", /dev/stdout,        that file descriptor, written directly (so
 *   /dev/stderr, /dev/fd/N,  a redirection of gilheap's output keeps
 *   /proc/self/fd/N          everything, in order)
 *   a symbolic link          followed: the rules below apply to its final
 *                            target, in the target's directory (the link
 *                            stays a link)
 *   a FIFO, a character      written directly (open without O_CREAT or
 *   device, a terminal       O_TRUNC): /dev/stdout, /dev/null, a pipe
 *   a regular file or        the bytes go to a temporary file that mkostemp
 *   nothing                  creates with O_EXCL (so it never opens a file
 *                            or a link planted at its name) under an
 *                            unpredictable name in the target's directory;
 *                            it is fsync'ed and renamed over the target
 *                            (rename replaces the directory entry, never
 *                            follows a link there), so a reader sees the
 *                            old file or the new one, never half of one
 *   anything else            refused (a directory, a socket, a block device)
 *
 * On any failure the temporary file is removed.
 */
#define _GNU_SOURCE
#include "report/report.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(int e, const char *path, char *err, size_t errlen)
{
    if (e == EINVAL) /* from classify: a socket, a block device */
        snprintf(err, errlen, "cannot write '%s': expected a regular file, a FIFO or a "
                 "character device", path);
    else
        snprintf(err, errlen, "cannot write '%s': %s", path, strerror(e));
    return -e;
}

/* The final target of path (links followed, also a dangling one) into
 * out, and its lstat in *st (st_mode 0 when it does not exist). */
static int resolve(const char *path, char *out, size_t len, struct stat *st)
{
    char cur[PATH_MAX], link[PATH_MAX];
    if (snprintf(cur, sizeof cur, "%s", path) >= (int)sizeof cur)
        return -ENAMETOOLONG;
    for (int hops = 0;; hops++) {
        if (lstat(cur, st) != 0) {
            if (errno != ENOENT)
                return -errno;
            st->st_mode = 0;
            break;
        }
        if (!S_ISLNK(st->st_mode))
            break;
        if (hops == 40)
            return -ELOOP;
        ssize_t n = readlink(cur, link, sizeof link - 1);
        if (n < 0)
            return -errno;
        link[n] = 0;
        if (link[0] == '/') {
            memcpy(cur, link, (size_t)n + 1);
        } else { /* relative to the link's own directory */
            char dir[PATH_MAX];
            snprintf(dir, sizeof dir, "%s", cur);
            if (snprintf(cur, sizeof cur, "%s/%s", dirname(dir), link) >= (int)sizeof cur)
                return -ENAMETOOLONG;
        }
    }
    if (snprintf(out, len, "%s", cur) >= (int)len)
        return -ENAMETOOLONG;
    return 0;
}

/* The descriptor a path names ("-" and the /dev and /proc aliases of
 * descriptors), or -1. */
static int fd_of_path(const char *path)
{
    static const char *const prefix[] = {"/dev/fd/", "/proc/self/fd/"};
    if (strcmp(path, "-") == 0 || strcmp(path, "/dev/stdout") == 0)
        return STDOUT_FILENO;
    if (strcmp(path, "/dev/stderr") == 0)
        return STDERR_FILENO;
    for (size_t i = 0; i < sizeof prefix / sizeof prefix[0]; i++) {
        size_t n = strlen(prefix[i]);
        if (strncmp(path, prefix[i], n) == 0 && path[n]) {
            char *end;
            long fd = strtol(path + n, &end, 10);
            if (!*end && fd >= 0 && fd < INT_MAX && path[n] >= '0' && path[n] <= '9')
                return (int)fd;
        }
    }
    return -1;
}

/* Written directly rather than replaced. */
static bool direct(const struct stat *st)
{
    return S_ISFIFO(st->st_mode) || S_ISCHR(st->st_mode);
}

/* A new, empty temporary file beside target (O_EXCL, mode 0600 until
 * written). Its name into tmp. */
static int tmp_create(const char *target, char *tmp, size_t len)
{
    char d[PATH_MAX], b[PATH_MAX];
    snprintf(d, sizeof d, "%s", target);
    snprintf(b, sizeof b, "%s", target);
    if (snprintf(tmp, len, "%s/.%s.XXXXXX", dirname(d), basename(b)) >= (int)len)
        return -ENAMETOOLONG;
    int fd = mkostemp(tmp, O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
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

/* What kind of target path is: 0 (replace target), 1 (write directly), or
 * -errno. */
static int classify(const char *path, char *target, size_t len)
{
    struct stat st;
    int e = resolve(path, target, len, &st);
    if (e != 0)
        return e;
    if (st.st_mode == 0 || S_ISREG(st.st_mode))
        return 0;
    if (direct(&st))
        return 1;
    return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
}

int gh_report_write_file(const char *path, const void *data, size_t len, char *err,
                         size_t errlen)
{
    char target[PATH_MAX], tmp[PATH_MAX];
    int e, fd;

    if ((fd = fd_of_path(path)) >= 0) {
        fflush(stdout);
        fflush(stderr);
        return (e = write_all(fd, data, len)) ? fail(-e, path, err, errlen) : 0;
    }
    int kind = classify(path, target, sizeof target);
    if (kind < 0)
        return fail(-kind, path, err, errlen);
    if (kind == 1) {
        fd = open(target, O_WRONLY | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
            return fail(errno, path, err, errlen);
        e = write_all(fd, data, len);
        close(fd);
        return e ? fail(-e, path, err, errlen) : 0;
    }
    if ((fd = tmp_create(target, tmp, sizeof tmp)) < 0)
        return fail(-fd, path, err, errlen);
    /* mkostemp made it 0600; a result file gets what open(0666) would. */
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0) {
        e = errno;
        goto unwind;
    }
    if ((e = write_all(fd, data, len)) != 0) {
        e = -e;
        goto unwind;
    }
    if (fsync(fd) != 0) {
        e = errno;
        goto unwind;
    }
    if (close(fd) != 0) {
        fd = -1;
        e = errno;
        goto unwind;
    }
    fd = -1;
    if (rename(tmp, target) != 0) {
        e = errno;
        goto unwind;
    }
    sync_dir(target);
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
    char target[PATH_MAX], tmp[PATH_MAX];

    if (!path[0])
        return fail(ENOENT, path, err, errlen);
    int fd = fd_of_path(path);
    if (fd >= 0) {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0)
            return fail(errno, path, err, errlen);
        return (fl & O_ACCMODE) == O_RDONLY ? fail(EBADF, path, err, errlen) : 0;
    }
    int kind = classify(path, target, sizeof target);
    if (kind < 0)
        return fail(-kind, path, err, errlen);
    if (kind == 1)
        return access(target, W_OK) == 0 ? 0 : fail(errno, path, err, errlen);
    if ((fd = tmp_create(target, tmp, sizeof tmp)) < 0)
        return fail(-fd, path, err, errlen);
    close(fd);
    unlink(tmp);
    return 0;
}
