/* child.c - one `gilheap run` in a child process, its result read back
 * (compare's cells, torture's).
 *
 * The child is /proc/self/exe with the caller's arguments plus `--json
 * /dev/fd/N --quiet`: its result goes to an anonymous file (memfd) the
 * parent made and reads back, so nothing is left on disk whatever happens
 * to either process. The child is killed if the parent dies
 * (PR_SET_PDEATHSIG), runs in its own process group (a terminal's Ctrl-C
 * reaches the parent only), and a SIGINT or SIGTERM of the parent is passed
 * on to it once: it stops and writes its partial result.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The first line of what the child wrote to efd (its stderr) into buf. */
static void first_line(int efd, char *buf, size_t len)
{
    buf[0] = 0;
    if (lseek(efd, 0, SEEK_SET) != 0)
        return;
    ssize_t n = read(efd, buf, len - 1);
    buf[n > 0 ? n : 0] = 0;
    buf[strcspn(buf, "\n")] = 0;
}

enum gh_child_outcome gh__cli_run_child(const char **argv, int n, uint64_t timeout_ns,
                                        bool quiet_stderr, struct gh_child *out)
{
    memset(out, 0, sizeof *out);
    out->exit_code = -1;
    char json[64];
    int fd = memfd_create("gilheap-cell", 0);
    if (fd < 0) {
        snprintf(out->why, sizeof out->why, "memfd_create: %s", strerror(errno));
        return GH_CHILD_FAILED;
    }
    int efd = quiet_stderr ? memfd_create("gilheap-cell-stderr", 0) : -1;
    if (quiet_stderr && efd < 0) {
        snprintf(out->why, sizeof out->why, "memfd_create: %s", strerror(errno));
        close(fd);
        return GH_CHILD_FAILED;
    }
    snprintf(json, sizeof json, "/dev/fd/%d", fd);
    argv[n++] = "--json";
    argv[n++] = json;
    argv[n++] = "--quiet";
    argv[n] = NULL;

    fflush(stdout);
    fflush(stderr);
    uint64_t t0 = now_ns();
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(out->why, sizeof out->why, "fork: %s", strerror(errno));
        close(fd);
        if (efd >= 0)
            close(efd);
        return GH_CHILD_FAILED;
    }
    if (pid == 0) {
        if (efd >= 0 && dup2(efd, 2) < 0)
            _exit(126);
        /* Dies with the parent, even by SIGKILL; checked again after, in
         * case the parent died before the request. Its own process group:
         * a terminal's Ctrl-C reaches the parent, which passes it on. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(126);
        setpgid(0, 0);
        execv("/proc/self/exe", (char *const *)argv);
        _exit(127);
    }

    int st = 0;
    uint64_t deadline = t0 + timeout_ns;
    bool forwarded = false;
    enum gh_child_outcome oc;
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            snprintf(out->why, sizeof out->why, "waitpid: %s", strerror(errno));
            close(fd);
            if (efd >= 0)
                close(efd);
            return GH_CHILD_FAILED;
        }
        if (gh__cli_interrupted && !forwarded) {
            kill(pid, gh__cli_interrupted); /* it stops and writes what it has */
            forwarded = true;
        }
        if (now_ns() > deadline) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
            out->elapsed_ns = now_ns() - t0;
            close(fd);
            if (efd >= 0)
                close(efd);
            return GH_CHILD_TIMEOUT;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    out->elapsed_ns = now_ns() - t0;
    if (WIFSIGNALED(st)) {
        out->signal = WTERMSIG(st);
        oc = GH_CHILD_SIGNALED;
    } else {
        out->exit_code = WEXITSTATUS(st);
        /* A result is written on every exit but a refusal (2): ok, checks
         * or hazards (1), a stall (3), an interrupt (128 + the signal). */
        if (out->exit_code != GH_EXIT_USAGE) {
            json_error_t jerr;
            out->result = lseek(fd, 0, SEEK_SET) == 0 ? json_loadfd(fd, 0, &jerr) : NULL;
        }
        oc = GH_CHILD_EXITED;
    }
    if (efd >= 0) {
        first_line(efd, out->why, sizeof out->why);
        close(efd);
    }
    close(fd);
    return oc;
}
