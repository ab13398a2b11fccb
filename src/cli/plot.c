/* plot.c - `gilheap compare ... --plot FILE`: throughput against thread
 * count, one line per strategy, drawn by gnuplot.
 *
 * gnuplot, not a renderer of our own: the data (one block per strategy:
 * threads, median, min, max ops/s) and a script go into a fresh directory
 * made with mkdtemp under $TMPDIR (or /tmp); gnuplot runs there through
 * fork + execvp (no shell, so no quoting of paths), its stderr kept in that
 * directory and shown only when it fails. Its output is then copied to FILE
 * whole or not at all (FILE.tmp.PID in FILE's directory, then rename: see
 * gh_report_write_file). The temporary directory is removed in every case.
 *
 * The format comes from FILE's extension: .png (pngcairo, 900x600) or .svg.
 *
 * Readable in print and in grey: every preset has its own colour (the
 * Okabe-Ito palette, safe for colour-blind readers), marker and dash type,
 * the same in every figure; other names get one from a hash of the name.
 * Error bars of the strategies are offset sideways so they do not overlap.
 * A strategy that is unsafe by construction is drawn with hollow markers
 * and named "(unsafe)"; a point whose checks failed or found hazards is
 * circled in black and the legend says so.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "report/report.h"  // gh_report_check_writable, gh_report_write_file

/* Largest gnuplot output copied to FILE; a 900x600 PNG is ~50 KB. */
#define PLOT_MAX_BYTES (64u << 20)
/* gnuplot's stderr lines shown when it fails. */
#define PLOT_MAX_ERR_LINES 20

int gh__cli_plot_format(const char *file)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    const char *dot = strrchr(base, '.');
    if (!dot)
        return GH_PLOT_NONE;
    if (strcasecmp(dot, ".png") == 0)
        return GH_PLOT_PNG;
    if (strcasecmp(dot, ".svg") == 0)
        return GH_PLOT_SVG;
    return GH_PLOT_NONE;
}

/* execvp's search: every directory of $PATH (an empty entry is the current
 * directory; no PATH: confstr's default). */
static bool gnuplot_on_path(void)
{
    const char *path = getenv("PATH");
    char def[256];
    if (!path) {
        size_t n = confstr(_CS_PATH, def, sizeof def);
        path = n > 0 && n <= sizeof def ? def : "/bin:/usr/bin";
    }
    for (const char *p = path;;) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        char file[PATH_MAX];
        struct stat st;
        int n = snprintf(file, sizeof file, "%.*s%sgnuplot", (int)len, p, len ? "/" : "");
        if (n > 0 && (size_t)n < sizeof file && stat(file, &st) == 0 && S_ISREG(st.st_mode) &&
            access(file, X_OK) == 0)
            return true;
        if (!colon)
            return false;
        p = colon + 1;
    }
}

int gh__cli_plot_check(const char *opt, const char *file)
{
    char err[512];
    if (gh_report_check_writable(file, err, sizeof err) != 0)
        return gh__cli_error(GH_EXIT_USAGE, "%s: %s", opt, err);
    if (!gnuplot_on_path())
        return gh__cli_error(GH_EXIT_USAGE, "%s: gnuplot not found; apt-get install "
                                            "gnuplot-nox", opt);
    return 0;
}

/* ---- styles -------------------------------------------------------------- */

static const struct {
    const char *name;
    struct gh_cli_plot_style style;
} preset_styles[] = {
    {"gil", {"#0072B2", 7, 1}},        /* blue, circle, solid */
    {"gil-ticks", {"#56B4E9", 5, 2}},  /* sky, square, dashed */
    {"atomic", {"#E69F00", 9, 4}},     /* orange, triangle, dash-dot */
    {"ft", {"#009E73", 13, 1}},        /* green, diamond, solid */
    {"locks", {"#CC79A7", 11, 3}},     /* purple, inverted triangle, dotted */
    {"unsafe", {"#D55E00", 15, 5}},    /* vermillion, pentagon, dash-dot-dot */
};
static const char *const other_colors[] = {"#000000", "#F0E442", "#999999", "#8C564B",
                                           "#17BECF", "#7F7F7F"};

void gh__cli_plot_style(const char *strategy, struct gh_cli_plot_style *out)
{
    for (size_t i = 0; i < sizeof preset_styles / sizeof preset_styles[0]; i++)
        if (strcmp(strategy, preset_styles[i].name) == 0) {
            *out = preset_styles[i].style;
            return;
        }
    uint32_t h = 2166136261u; /* FNV-1a: the same name, the same style */
    for (const char *c = strategy; *c; c++)
        h = (h ^ (unsigned char)*c) * 16777619u;
    out->color = other_colors[h % (sizeof other_colors / sizeof other_colors[0])];
    out->pointtype = 5 + 2 * (int)((h >> 8) % 6); /* filled: 5, 7, ..., 15 */
    out->dashtype = 1 + (int)((h >> 16) % 5);
}

/* ---- the script -------------------------------------------------------- */

void gh__cli_plot_put_str(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '\'')
            fputs("''", f);
        else
            fputc(ch < 0x20 || ch == 0x7f ? ' ' : ch, f);
    }
    fputc('\'', f);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int cmp_point(const void *a, const void *b)
{
    const struct gh_cli_plot_point *x = a, *y = b;
    if (x->series != y->series)
        return (x->series > y->series) - (x->series < y->series);
    return (x->threads > y->threads) - (x->threads < y->threads);
}

/* data.dat: one block per strategy with points, blocks separated by two
 * blank lines (gnuplot's `index`). plot.gp: the script, reading data.dat
 * and writing plot.EXT, both relative to the directory gnuplot runs in. */
static int write_files(const char *dir, const struct gh_cli_plot *p,
                       struct gh_cli_plot_point *pts, const char *out)
{
    char path[PATH_MAX];
    int fmt = gh__cli_plot_format(p->file);

    qsort(pts, (size_t)p->npoints, sizeof *pts, cmp_point);
    snprintf(path, sizeof path, "%s/data.dat", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    int blocks = 0;
    int index[GH_CLI_MAX_LIST]; /* series -> its block, or -1 */
    for (int s = 0; s < p->nseries && s < GH_CLI_MAX_LIST; s++) {
        index[s] = -1;
        bool any = false;
        for (int i = 0; i < p->npoints; i++) {
            if (pts[i].series != s)
                continue;
            if (!any) {
                fprintf(f, "%s# %s: threads median_ops_per_sec min max failed\n",
                        blocks ? "\n\n" : "", p->series[s]);
                index[s] = blocks++;
                any = true;
            }
            fprintf(f, "%d %.9g %.9g %.9g %d\n", pts[i].threads, pts[i].median, pts[i].min,
                    pts[i].max, pts[i].failed);
        }
    }
    if (fclose(f) != 0)
        return -errno;

    /* The x axis: every thread count asked for is a tic; a log2 scale once
     * they span a factor of 8 (1,2,4,...,64 would crowd on a linear one). */
    int ticks[GH_CLI_MAX_LIST], nticks = 0;
    for (int t = 0; t < p->nthreads && t < GH_CLI_MAX_LIST; t++)
        ticks[nticks++] = p->threads[t];
    qsort(ticks, (size_t)nticks, sizeof *ticks, cmp_int);
    int lo = ticks[0], hi = ticks[nticks - 1];
    bool logx = hi >= 8 * lo;
    bool over = p->cores > 0 && hi > p->cores;

    snprintf(path, sizeof path, "%s/plot.gp", dir);
    f = fopen(path, "w");
    if (!f)
        return -errno;
    fputs("# written by gilheap compare --plot\n", f);
    if (fmt == GH_PLOT_PNG)
        fputs("set terminal pngcairo size 900,600 noenhanced font 'sans,11' background "
              "rgb 'white'\n", f);
    else
        fputs("set terminal svg size 900,600 noenhanced font 'sans,11' background "
              "rgb 'white'\n", f);
    fprintf(f, "set output '%s'\n", out);
    fputs("set title ", f);
    gh__cli_plot_put_str(f, p->title);
    fputs(" font 'sans,14' offset 0,-0.3\n", f);
    if (p->subtitle) {
        /* Under the title, in the top margin: what the figure was made of. */
        fputs("set label 90 ", f);
        gh__cli_plot_put_str(f, p->subtitle);
        fputs(" at graph 0.5, graph 1.035 center font 'sans,9' textcolor rgb 'gray25'\n", f);
        fputs("set tmargin 4.5\n", f);
    }
    if (over) {
        char label[160];
        snprintf(label, sizeof label, "threads (above %ld: oversubscribed, %ld online cores)",
                 p->cores, p->cores);
        fputs("set xlabel ", f);
        gh__cli_plot_put_str(f, label);
        fputs(" offset 0,0.2\n", f);
    } else {
        fputs("set xlabel 'threads' offset 0,0.2\n", f);
    }
    fputs("set ylabel 'ops/s'\n", f);
    fputs("set format y '%.1s%c'\n", f);
    fputs("set yrange [0:*]\n", f);
    fputs("set grid front\n", f);
    fputs("set xtics (", f);
    for (int i = 0; i < nticks; i++)
        if (i == 0 || ticks[i] != ticks[i - 1])
            fprintf(f, "%s%d", i ? ", " : "", ticks[i]);
    fputs(")\n", f);
    if (logx)
        fprintf(f, "set logscale x 2\nset xrange [%g:%g]\n", lo / 1.4, hi * 1.4);
    else
        fprintf(f, "set xrange [%g:%g]\n", lo - 0.5, hi + 0.5);
    /* Room above the highest bar for the labels. */
    fputs("set offsets graph 0, graph 0, graph 0.12, graph 0\n", f);
    if (over) {
        /* The oversubscribed counts on grey, from the core count on (the
         * whole plot when even the smallest count is above it). */
        if (p->cores >= lo) {
            fprintf(f, "set object 1 rectangle from first %ld, graph 0 to graph 1, graph 1 "
                       "behind fillcolor rgb '#eeeeee' fillstyle solid noborder\n", p->cores);
            fprintf(f, "set arrow 1 from first %ld, graph 0 to first %ld, graph 1 nohead "
                       "dashtype 2 linewidth 1.5 linecolor rgb 'gray40'\n", p->cores, p->cores);
            fprintf(f, "set label 1 'oversubscribed: more threads than the %ld cores' at "
                       "first %ld, graph 0.97 offset 0.8,0 left textcolor rgb 'gray30'\n",
                    p->cores, p->cores);
        } else {
            fputs("set object 1 rectangle from graph 0, graph 0 to graph 1, graph 1 behind "
                  "fillcolor rgb '#eeeeee' fillstyle solid noborder\n", f);
            fprintf(f, "set label 1 'oversubscribed: every count is above the %ld cores' at "
                       "graph 0.02, graph 0.97 left textcolor rgb 'gray30'\n", p->cores);
        }
    }
    char keytitle[96];
    if (p->repeat > 1)
        snprintf(keytitle, sizeof keytitle, "median of %u runs, bars min-max", p->repeat);
    else
        snprintf(keytitle, sizeof keytitle, "1 run per point");
    fputs("set key below center horizontal box height 0.5 width 1 title ", f);
    gh__cli_plot_put_str(f, keytitle);
    fputc('\n', f);
    /* Room under the axis for the x label and the key (three entries a
     * row, its title and box). */
    int entries = 0;
    bool failed_any = false;
    for (int s = 0; s < p->nseries && s < GH_CLI_MAX_LIST; s++)
        entries += index[s] >= 0;
    for (int i = 0; i < p->npoints; i++)
        failed_any |= pts[i].failed;
    entries += failed_any;
    fprintf(f, "set bars 2\nset bmargin %.1f\n", 6.0 + 1.2 * ((entries + 2) / 3));
    fputs("plot", f);
    int n = 0, nshown = 0;
    bool any_failed = false;
    for (int i = 0; i < p->npoints; i++)
        any_failed |= pts[i].failed;
    for (int s = 0; s < p->nseries && s < GH_CLI_MAX_LIST; s++)
        nshown += index[s] >= 0;
    int k = 0;
    for (int s = 0; s < p->nseries && s < GH_CLI_MAX_LIST; s++) {
        if (index[s] < 0)
            continue;
        struct gh_cli_plot_style st;
        gh__cli_plot_style(p->series[s], &st);
        bool unsafe = p->unsafe && p->unsafe[s];
        /* Sideways offset of this series' bars: a factor on a log2 axis, a
         * shift on a linear one, centred on the true count. */
        double off = nshown > 1 ? (k - (nshown - 1) / 2.0) / (double)nshown : 0;
        k++;
        char xexpr[64];
        if (logx)
            snprintf(xexpr, sizeof xexpr, "($1*%.4f)", pow(2.0, 0.22 * off));
        else
            snprintf(xexpr, sizeof xexpr, "($1+%.4f)", 0.3 * off);
        char title[160];
        snprintf(title, sizeof title, "%s%s", p->series[s],
                 unsafe && !strstr(p->series[s], "unsafe") ? " (unsafe)" : "");
        fprintf(f, "%s 'data.dat' index %d using %s:2:3:4 with yerrorlines linewidth 2 "
                   "linecolor rgb '%s' dashtype %d pointtype %d pointsize 1.3 title ",
                n++ ? ", \\\n    " : "", index[s], xexpr, st.color, st.dashtype,
                unsafe ? st.pointtype - 1 : st.pointtype);
        gh__cli_plot_put_str(f, title);
        if (any_failed)
            fprintf(f, ", \\\n    'data.dat' index %d using %s:($5 > 0 ? $2 : 1/0) with points "
                       "pointtype 6 pointsize 3 linewidth 2 linecolor rgb 'black' notitle",
                    index[s], xexpr);
    }
    if (any_failed)
        fputs(", \\\n    NaN with points pointtype 6 pointsize 2 linewidth 2 linecolor rgb "
              "'black' title 'checks failed or hazards'", f);
    fputc('\n', f);
    if (fclose(f) != 0)
        return -errno;
    return 0;
}

/* ---- running gnuplot ----------------------------------------------------- */

/* Removes everything in dir (gnuplot's files; no subdirectories), then dir. */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char path[PATH_MAX];
            if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path)
                unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* Shows up to PLOT_MAX_ERR_LINES of gnuplot's stderr. */
static void show_stderr(const char *dir)
{
    char path[PATH_MAX], line[1024];
    snprintf(path, sizeof path, "%s/gnuplot.err", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!line[strspn(line, " \t^")])
            continue;
        if (n++ == PLOT_MAX_ERR_LINES) {
            fputs("gilheap: gnuplot: ...\n", stderr);
            break;
        }
        fprintf(stderr, "gilheap: gnuplot: %s\n", line);
    }
    fclose(f);
}

/* Runs `gnuplot plot.gp` in dir. Returns 0, or an exit status after
 * printing the error. */
static int run_gnuplot(const char *opt, const char *dir)
{
    char *const argv[] = {"gnuplot", "plot.gp", NULL};
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return gh__cli_error(GH_EXIT_INTERNAL, "%s: fork: %s", opt, strerror(errno));
    if (pid == 0) {
        if (chdir(dir) != 0)
            _exit(126);
        int in = open("/dev/null", O_RDONLY);
        int out = open("/dev/null", O_WRONLY);
        int err = open("gnuplot.err", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || out < 0 || err < 0 || dup2(in, STDIN_FILENO) < 0 ||
            dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
            _exit(126);
        execvp("gnuplot", argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR)
            return gh__cli_error(GH_EXIT_INTERNAL, "%s: waitpid: %s", opt, strerror(errno));
    }
    if (WIFSIGNALED(st)) {
        const char *sig = sigabbrev_np(WTERMSIG(st));
        gh__cli_error(0, "%s: gnuplot was killed by signal %s", opt, sig ? sig : "?");
        show_stderr(dir);
        return GH_EXIT_INTERNAL;
    }
    if (WEXITSTATUS(st) != 0) {
        int code = WEXITSTATUS(st);
        gh__cli_error(0, "%s: gnuplot failed with exit status %d%s", opt, code,
                      code == 127 ? " (could not run it)" : "");
        show_stderr(dir);
        return GH_EXIT_INTERNAL;
    }
    return 0;
}

/* Reads dir/name whole into *buf (malloc'd). Returns 0 or -errno. */
static int slurp(const char *dir, const char *name, char **buf, size_t *len)
{
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) != 0 || st.st_size <= 0 || (size_t)st.st_size > PLOT_MAX_BYTES) {
        int e = st.st_size <= 0 ? ENODATA : EFBIG;
        close(fd);
        return -e;
    }
    *len = (size_t)st.st_size;
    *buf = malloc(*len);
    if (!*buf) {
        close(fd);
        return -ENOMEM;
    }
    size_t got = 0;
    while (got < *len) {
        ssize_t n = read(fd, *buf + got, *len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            free(*buf);
            *buf = NULL;
            close(fd);
            return -e;
        }
        got += (size_t)n;
    }
    close(fd);
    return 0;
}

int gh__cli_gnuplot_render(const char *opt, const char *file,
                           int (*write)(const char *dir, const char *out, const void *arg),
                           const void *arg)
{
    const char *out = gh__cli_plot_format(file) == GH_PLOT_SVG ? "plot.svg" : "plot.png";
    char dir[PATH_MAX - 64], err[512];
    int rc, e;

    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/gilheap-plot-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return gh__cli_error(GH_EXIT_INTERNAL, "%s: cannot create a temporary directory "
                             "'%s': %s", opt, dir, strerror(errno));
    if ((e = write(dir, out, arg)) != 0) {
        rc = gh__cli_error(GH_EXIT_INTERNAL, "%s: cannot write the gnuplot files in '%s': "
                           "%s", opt, dir, strerror(-e));
    } else if ((rc = run_gnuplot(opt, dir)) == 0) {
        char *buf = NULL;
        size_t len = 0;
        if ((e = slurp(dir, out, &buf, &len)) != 0) {
            rc = gh__cli_error(GH_EXIT_INTERNAL, "%s: gnuplot wrote no %s: %s", opt, out,
                               strerror(-e));
            show_stderr(dir);
        } else if (gh_report_write_file(file, buf, len, err, sizeof err) != 0) {
            rc = gh__cli_error(GH_EXIT_INTERNAL, "%s: %s", opt, err);
        }
        free(buf);
    }
    remove_dir(dir);
    return rc;
}

/* The compare plot's files, with its points sorted in a copy. */
struct plot_job {
    const struct gh_cli_plot *p;
    struct gh_cli_plot_point *pts;
};

static int write_plot_job(const char *dir, const char *out, const void *arg)
{
    const struct plot_job *j = arg;
    return write_files(dir, j->p, j->pts, out);
}

int gh__cli_plot_write(const struct gh_cli_plot *p)
{
    if (p->npoints == 0)
        return gh__cli_error(GH_EXIT_INTERNAL, "--plot: no cell has results; '%s' not written",
                             p->file);
    struct gh_cli_plot_point *pts = malloc(sizeof *pts * (size_t)p->npoints);
    if (!pts)
        return gh__cli_error(GH_EXIT_INTERNAL, "--plot: out of memory");
    memcpy(pts, p->points, sizeof *pts * (size_t)p->npoints);
    struct plot_job j = {p, pts};
    int rc = gh__cli_gnuplot_render("--plot", p->file, write_plot_job, &j);
    free(pts);
    return rc;
}
