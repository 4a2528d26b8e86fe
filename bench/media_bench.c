/*
 * media_bench.c: modq-bench-media, the timing harness behind bench/media.
 *
 * For each image file it times, single-threaded and with the bytes already in memory, the full
 * modq_media_process pipeline; the floor (libvips decode with shrink-on-load, resized to the
 * display size) and the decode alone (the same without the resize); libvips's thumbnailer to the
 * same size, for reference; the byte digests alone; and the pipeline asked for a single reveal
 * level at a time (and for none, when the options allow it), so the cost of each stage shows by
 * difference; and the full pipeline again in a sandbox helper (modq_sandbox.h: a confined
 * process, one libvips thread as here), so the price of the confinement shows in the same run
 * (sandbox_over_full). It prints one key=value line per image, including
 * the rendition sizes modq chose, so the peers in bench/ can do exactly the same job, and a
 * summary. With --rss FILE it processes one file once and prints the peak resident set size; run
 * that in a fresh process so nothing earlier inflates the figure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <vips/vips.h>

#include "bench_args.h"
#include "media_limits.h"
#include "media_sandbox.h"
#include "modq_blur.h"
#include "modq_sandbox.h"
#include "stages.h"

#define DEFAULT_REPS 3
/* The WebP effort --stages encodes with when --effort is not given. The pipeline's own is private
 * to blur/render.c (WEBP_EFFORT), so bench/media reads it from there and passes it. */
#define DEFAULT_EFFORT 2
#define MAX_REPS       100
/* Inputs are read whole into memory; anything bigger is not an image we would be sent. */
#define MAX_FILE_BYTES (1024L * 1024L * 1024L)
#define ERRSTR_SIZE    512
#define MAX_FILES      4096

#define UNREF_NULL(p)                                                                              \
    do {                                                                                           \
        if (p)                                                                                     \
            g_object_unref(p);                                                                     \
        (p) = NULL;                                                                                \
    } while (0)
#define FREE_NULL(p)                                                                               \
    do {                                                                                           \
        free(p);                                                                                   \
        (p) = NULL;                                                                                \
    } while (0)

enum job_kind {
    JOB_FULL,
    JOB_FLOOR,
    JOB_DECODE,
    JOB_THUMB,
    JOB_DIGEST,
    JOB_LEVEL,
    JOB_NONE,
    JOB_SANDBOX
};

/* What one timed measurement runs. opts is NULL for the jobs that do not call the pipeline, and
 * also for a pipeline job the options refused (the job is then reported as "na"). */
struct job {
    const char *name;
    enum job_kind kind;
    modq_media_opts *opts;
    modq_sandbox *sb; /* JOB_SANDBOX: the helper it runs in */
};

enum {
    J_FULL,
    J_FLOOR,
    J_DECODE,
    J_THUMB,
    J_DIGEST,
    J_NONE,
    J_SANDBOX,
    J_LVL0,
    J_COUNT = J_LVL0 + MODQ_LEVEL_COUNT
};

struct timing {
    double wall_ms; /* median wall-clock time */
    double cpu_ms;  /* median process CPU time: above wall_ms means more than one thread worked */
    int ok;
};

struct input {
    uint8_t *data; /* owned: the whole file */
    size_t len;
};

static double clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of n samples; sorts v in place. */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* Reads path whole into in->data (caller owns it: free with input_free). 0 or -1 with err set. */
static int input_read(const char *path, struct input *in, char *err, size_t errsz)
{
    int rc = -1;
    FILE *f = fopen(path, "rb");
    struct stat st;

    in->data = NULL;
    in->len = 0;
    if (!f) {
        snprintf(err, errsz, "open %s: %s", path, strerror(errno));
        goto out;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errsz, "%s: not a regular file", path);
        goto out;
    }
    if (st.st_size <= 0 || st.st_size > MAX_FILE_BYTES) {
        snprintf(err, errsz, "%s: size %lld out of range", path, (long long)st.st_size);
        goto out;
    }
    in->len = (size_t)st.st_size;
    in->data = malloc(in->len);
    if (!in->data) {
        snprintf(err, errsz, "%s: out of memory for %zu bytes", path, in->len);
        goto out;
    }
    if (fread(in->data, 1, in->len, f) != in->len) {
        snprintf(err, errsz, "%s: short read", path);
        FREE_NULL(in->data);
        goto out;
    }
    rc = 0;
out:
    if (f) {
        fclose(f);
    }
    return rc;
}

static void input_free(struct input *in)
{
    FREE_NULL(in->data);
    in->len = 0;
}

/* The floor (resize set) or the decode alone (resize 0): see modq_stages_floor. */
static int run_floor(const struct input *in, int size, int resize, char *err, size_t errsz)
{
    VipsImage *mem = NULL;

    if (modq_stages_floor(in->data, in->len, size, resize, &mem) != 0) {
        snprintf(err, errsz, "floor: %s", vips_error_buffer());
        vips_error_clear();
        return -1;
    }
    g_object_unref(mem);
    return 0;
}

/* For reference: libvips's own thumbnailer to the same size, the easy way to the same pixels. */
static int run_thumb(const struct input *in, int size, char *err, size_t errsz)
{
    VipsImage *thumb = NULL, *mem = NULL;
    int rc = -1;

    if (vips_thumbnail_buffer(in->data, in->len, &thumb, size, "height", size, "size",
                              VIPS_SIZE_DOWN, NULL) != 0) {
        goto out;
    }
    mem = vips_image_copy_memory(thumb);
    rc = mem ? 0 : -1;
out:
    if (rc != 0) {
        snprintf(err, errsz, "thumbnail: %s", vips_error_buffer());
        vips_error_clear();
    }
    UNREF_NULL(mem);
    UNREF_NULL(thumb);
    return rc;
}

static int run_job(const struct job *j, const struct input *in, int display_size, char *err,
                   size_t errsz)
{
    uint8_t sha[MODQ_SHA256_LEN], md5[MODQ_MD5_LEN];
    modq_media *m = NULL;
    modq_blur_result r;

    switch (j->kind) {
    case JOB_FLOOR:
        return run_floor(in, display_size, 1, err, errsz);
    case JOB_DECODE:
        return run_floor(in, display_size, 0, err, errsz);
    case JOB_THUMB:
        return run_thumb(in, display_size, err, errsz);
    case JOB_DIGEST:
        r = modq_digest_compute(in->data, in->len, sha, md5);
        if (r != MODQ_BLUR_OK) {
            snprintf(err, errsz, "digest: %s", modq_blur_strerror(r));
            return -1;
        }
        return 0;
    case JOB_FULL:
    case JOB_LEVEL:
    case JOB_NONE:
    case JOB_SANDBOX:
        break;
    }
    r = j->kind == JOB_SANDBOX
            ? modq_sandbox_process(j->sb, j->opts, in->data, in->len, &m, err, errsz)
            : modq_media_process(j->opts, in->data, in->len, &m, err, errsz);
    modq_media_free(m);
    if (r != MODQ_BLUR_OK) {
        if (err[0] == '\0') {
            snprintf(err, errsz, "%s", modq_blur_strerror(r));
        }
        return -1;
    }
    return 0;
}

static int needs_opts(const struct job *j)
{
    return j->kind == JOB_FULL || j->kind == JOB_LEVEL || j->kind == JOB_NONE ||
           j->kind == JOB_SANDBOX;
}

/* CPU time of j's sandbox helper so far, for a sandboxed job (0 for the others). */
static double helper_cpu_ms(const struct job *j)
{
    return j->kind == JOB_SANDBOX ? (double)modq_sandbox_cpu_ns(j->sb) / 1e6 : 0.0;
}

/* Times every runnable job on one input: one warm-up run each, then reps rounds that run every
 * job once in turn, so a slow spell of the machine hits all jobs alike and the differences between
 * them stay meaningful. Medians go to t[j]. On failure, *failed_job names the job. */
static int time_jobs(const struct job *jobs, const struct input *in, int display_size, int reps,
                     struct timing *t, const char **failed_job, char *err, size_t errsz)
{
    double wall[J_COUNT][MAX_REPS], cpu[J_COUNT][MAX_REPS];

    for (int j = 0; j < J_COUNT; j++) {
        t[j].ok = 0;
        if (needs_opts(&jobs[j]) && !jobs[j].opts) {
            continue;
        }
        *failed_job = jobs[j].name;
        if (run_job(&jobs[j], in, display_size, err, errsz) != 0) {
            return -1;
        }
    }
    for (int i = 0; i < reps; i++) {
        for (int j = 0; j < J_COUNT; j++) {
            double w0, c0;
            if (needs_opts(&jobs[j]) && !jobs[j].opts) {
                continue;
            }
            *failed_job = jobs[j].name;
            w0 = clock_ms(CLOCK_MONOTONIC);
            c0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID) + helper_cpu_ms(&jobs[j]);
            if (run_job(&jobs[j], in, display_size, err, errsz) != 0) {
                return -1;
            }
            cpu[j][i] = clock_ms(CLOCK_PROCESS_CPUTIME_ID) + helper_cpu_ms(&jobs[j]) - c0;
            wall[j][i] = clock_ms(CLOCK_MONOTONIC) - w0;
        }
    }
    for (int j = 0; j < J_COUNT; j++) {
        if (needs_opts(&jobs[j]) && !jobs[j].opts) {
            continue;
        }
        t[j].wall_ms = median(wall[j], reps);
        t[j].cpu_ms = median(cpu[j], reps);
        t[j].ok = 1;
    }
    return 0;
}

/* Prints the facts of one full run that the peers need to do the same job. */
static int print_geometry(const modq_media_opts *opts, const struct input *in, char *err,
                          size_t errsz)
{
    modq_media *m = NULL;
    modq_blur_result r = modq_media_process(opts, in->data, in->len, &m, err, errsz);

    if (r != MODQ_BLUR_OK) {
        if (err[0] == '\0') {
            snprintf(err, errsz, "%s", modq_blur_strerror(r));
        }
        return -1;
    }
    printf(" fmt=%s src=%dx%d disp=%dx%d", modq_media_format(m), modq_media_width(m),
           modq_media_height(m), modq_media_display_width(m), modq_media_display_height(m));
    for (int l = 0; l < MODQ_LEVEL_COUNT; l++) {
        size_t len = 0;
        int w = 0, h = 0;
        if (modq_media_rendition(m, l, NULL, &len, &w, &h) == MODQ_BLUR_OK) {
            printf(" r%d=%dx%d r%d_bytes=%zu", l, w, h, l, len);
        }
    }
    printf(" pdq_quality=%d", modq_media_pdq_quality(m));
    modq_media_free(m);
    return 0;
}

static void print_ms(const char *key, const struct timing *t)
{
    if (t->ok) {
        printf(" %s_ms=%.2f", key, t->wall_ms);
    } else {
        printf(" %s_ms=na", key);
    }
}

static int all_levels_timed(const struct job *jobs)
{
    for (int l = 0; l < MODQ_LEVEL_COUNT; l++) {
        if (!jobs[J_LVL0 + l].opts) {
            return 0;
        }
    }
    return 1;
}

/*
 * The summary: mean ms per image of each job, and the breakdown by difference. A single-level run
 * costs shared + level, where shared is what every run with renditions pays once (decode, digests,
 * PDQ, and the greyscale base the levels are cut from); the full run costs shared + every level.
 * So shared = (sum of single-level runs - full) / (levels - 1), each level's own cost is its run
 * minus shared, and with LEVELS=0 measured, the greyscale base is shared minus that run.
 */
static void print_summary(const struct job *jobs, const double *sum, const double *cpu_sum,
                          int images, int failed)
{
    double n = images > 0 ? images : 1, shared = 0;

    printf("summary images=%d failed=%d", images, failed);
    for (int j = 0; j < J_COUNT; j++) {
        if (needs_opts(&jobs[j]) && !jobs[j].opts) {
            printf(" %s_ms=na", jobs[j].name);
        } else {
            printf(" %s_ms=%.2f", jobs[j].name, sum[j] / n);
        }
    }
    printf(" full_cpu_ms=%.2f floor_cpu_ms=%.2f", cpu_sum[J_FULL] / n, cpu_sum[J_FLOOR] / n);
    if (images > 0 && all_levels_timed(jobs)) {
        for (int l = 0; l < MODQ_LEVEL_COUNT; l++) {
            shared += sum[J_LVL0 + l];
        }
        shared = (shared - sum[J_FULL]) / (MODQ_LEVEL_COUNT - 1);
        printf(" shared_ms=%.2f", shared / n);
        if (jobs[J_NONE].opts) {
            printf(" grey_base_ms=%.2f", (shared - sum[J_NONE]) / n);
        }
        for (int l = 0; l < MODQ_LEVEL_COUNT; l++) {
            printf(" lvl%d_own_ms=%.2f", l, (sum[J_LVL0 + l] - shared) / n);
        }
    }
    if (images > 0) {
        printf(" full_over_floor=%.2f", sum[J_FULL] / sum[J_FLOOR]);
    }
    if (images > 0 && jobs[J_SANDBOX].opts) {
        printf(" sandbox_over_full=%.4f sandbox_cpu_over_full_cpu=%.4f",
               sum[J_SANDBOX] / sum[J_FULL], cpu_sum[J_SANDBOX] / cpu_sum[J_FULL]);
    }
    printf("\n");
}

/* Default options but for the level mask. Caller owns the result (modq_opts_free); NULL when the
 * library refuses the mask (or is out of memory): that job is then skipped and reported "na". */
static modq_media_opts *opts_with_levels(int mask)
{
    modq_media_opts *o = modq_opts_new();
    if (o && modq_opts_set(o, MODQ_OPT_LEVELS, mask) != MODQ_BLUR_OK) {
        modq_opts_free(o);
        o = NULL;
    }
    return o;
}

/* Times every job on every file, the sandboxed one in sb (NULL: "na"). Returns the number of
 * files that failed. */
static int bench_files(char **files, int nfiles, int reps, int stages, int effort, modq_sandbox *sb)
{
    struct job jobs[J_COUNT] = {
        [J_FULL] = {"full", JOB_FULL, NULL},          [J_FLOOR] = {"floor", JOB_FLOOR, NULL},
        [J_THUMB] = {"thumb", JOB_THUMB, NULL},       [J_DECODE] = {"decode", JOB_DECODE, NULL},
        [J_DIGEST] = {"digest", JOB_DIGEST, NULL},    [J_NONE] = {"levels0", JOB_NONE, NULL},
        [J_SANDBOX] = {"sandbox", JOB_SANDBOX, NULL}, [J_LVL0] = {"lvl0", JOB_LEVEL, NULL},
        [J_LVL0 + 1] = {"lvl1", JOB_LEVEL, NULL},     [J_LVL0 + 2] = {"lvl2", JOB_LEVEL, NULL},
        [J_LVL0 + 3] = {"lvl3", JOB_LEVEL, NULL},
    };
    double sum[J_COUNT] = {0}, cpu_sum[J_COUNT] = {0};
    char err[ERRSTR_SIZE];
    int failed = 0, images = 0, display_size;
    modq_media_opts *defaults = modq_opts_new();

    if (!defaults) {
        fprintf(stderr, "modq-bench-media: out of memory\n");
        return nfiles;
    }
    jobs[J_FULL].opts = defaults;
    jobs[J_SANDBOX].opts = sb ? defaults : NULL;
    jobs[J_SANDBOX].sb = sb;
    for (int l = 0; l < MODQ_LEVEL_COUNT; l++) {
        jobs[J_LVL0 + l].opts = opts_with_levels(1 << l);
    }
    jobs[J_NONE].opts = opts_with_levels(0);
    display_size = (int)modq_opts_get(defaults, MODQ_OPT_DISPLAY_SIZE);

    printf("config reps=%d vips=%s vips_concurrency=%d display_size=%d quality=%lld "
           "format=%s levels0=%s sigma=",
           reps, vips_version_string(), vips_concurrency_get(), display_size,
           (long long)modq_opts_get(defaults, MODQ_OPT_QUALITY),
           modq_opts_get(defaults, MODQ_OPT_FORMAT) == MODQ_FORMAT_JPEG ? "jpeg" : "webp",
           jobs[J_NONE].opts ? "allowed" : "refused");
    for (int l = 0; l < MODQ_LEVEL_COUNT; l++) {
        printf("%s%.6f", l ? "," : "", modq_media_level_sigma(l));
    }
    printf("\n");
    fflush(stdout);

    for (int i = 0; i < nfiles; i++) {
        struct input in = {NULL, 0};
        struct timing t[J_COUNT];
        const char *failed_job = "";
        int bad = 0;

        memset(t, 0, sizeof t);
        err[0] = '\0';
        if (input_read(files[i], &in, err, sizeof err) != 0) {
            printf("error file=%s reason=%s\n", files[i], err);
            failed++;
            continue;
        }
        if (time_jobs(jobs, &in, display_size, reps, t, &failed_job, err, sizeof err) != 0) {
            printf("error file=%s job=%s reason=%s\n", files[i], failed_job, err);
            bad = 1;
        }
        if (!bad) {
            printf("image bytes=%zu", in.len);
            err[0] = '\0';
            if (print_geometry(defaults, &in, err, sizeof err) != 0) {
                printf(" geometry_error=1");
            }
            for (int j = 0; j < J_COUNT; j++) {
                print_ms(jobs[j].name, &t[j]);
                sum[j] += t[j].wall_ms;
                cpu_sum[j] += t[j].cpu_ms;
            }
            printf(" full_cpu_ms=%.2f floor_cpu_ms=%.2f", t[J_FULL].cpu_ms, t[J_FLOOR].cpu_ms);
            if (t[J_SANDBOX].ok) { /* this process's and its helper's */
                printf(" sandbox_cpu_ms=%.2f", t[J_SANDBOX].cpu_ms);
            }
            /* Last, so the rest of the line may be a path with spaces in it. */
            printf(" file=%s\n", files[i]);
            images++;
            if (stages) {
                modq_stages_report(in.data, in.len, display_size, reps, effort, files[i]);
            }
        } else {
            failed++;
        }
        fflush(stdout);
        input_free(&in);
    }
    print_summary(jobs, sum, cpu_sum, images, failed);
    for (int j = 0; j < J_COUNT; j++) {
        if (j != J_FULL && j != J_SANDBOX) {
            modq_opts_free(jobs[j].opts);
        }
    }
    modq_opts_free(defaults);
    return failed;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

/* Processes one file once with the default options and prints the peak RSS in KiB (Linux's
 * ru_maxrss unit), with the figures before reading and after reading for context. */
static int rss_file(const char *path)
{
    struct input in = {NULL, 0};
    char err[ERRSTR_SIZE] = "";
    modq_media_opts *opts = NULL;
    modq_media *m = NULL;
    long before = peak_rss_kb(), after_read;
    int rc = 1;

    if (input_read(path, &in, err, sizeof err) != 0) {
        goto out;
    }
    after_read = peak_rss_kb();
    opts = modq_opts_new();
    if (!opts) {
        snprintf(err, sizeof err, "out of memory");
        goto out;
    }
    if (modq_media_process(opts, in.data, in.len, &m, err, sizeof err) != MODQ_BLUR_OK) {
        goto out;
    }
    printf("rss src=%dx%d fmt=%s bytes=%zu init_kb=%ld after_read_kb=%ld peak_kb=%ld file=%s\n",
           modq_media_width(m), modq_media_height(m), modq_media_format(m), in.len, before,
           after_read, peak_rss_kb(), path);
    rc = 0;
out:
    if (rc != 0) {
        printf("error file=%s job=rss reason=%s\n", path, err);
    }
    modq_media_free(m);
    modq_opts_free(opts);
    input_free(&in);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: modq-bench-media [--reps N] [--stages [--effort E]] [--sandbox HELPER] "
               "FILE...\n"
               "       modq-bench-media --rss FILE\n"
               "       modq-bench-media [--reps N] --limits FILE...\n"
               "       modq-bench-media --make-scans W H SCANS OUT\n"
               "Times modq_media_process single-threaded against the decode floor, with a\n"
               "breakdown by level (see bench/README.md). --stages adds a libvips-level\n"
               "breakdown of decode, blur and encode at modq's sizes. The full pipeline is\n"
               "also timed in a sandbox helper (default: modq-media-sandbox beside this\n"
               "program). --limits times each file with the default limits and with the\n"
               "scan cap and deadline lifted; --make-scans writes a progressive JPEG of\n"
               "exactly SCANS scans.\n");
}

int main(int argc, char **argv)
{
    int reps = DEFAULT_REPS, stages = 0, effort = DEFAULT_EFFORT, first = 1, rc = 1, limits = 0;
    long n, make[3];
    const char *rss = NULL, *helper = NULL;
    modq_sandbox *sb = NULL;
    modq_blur_result r;

    for (; first < argc && strncmp(argv[first], "--", 2) == 0; first++) {
        const char *a = argv[first];
        if (strcmp(a, "--") == 0) {
            first++;
            break;
        } else if (strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--stages") == 0) {
            stages = 1;
        } else if (strcmp(a, "--reps") == 0 && first + 1 < argc) {
            if (bench_parse_long(argv[++first], 1, MAX_REPS, &n) != 0) {
                fprintf(stderr, "modq-bench-media: --reps wants 1..%d\n", MAX_REPS);
                return 2;
            }
            reps = (int)n;
        } else if (strcmp(a, "--effort") == 0 && first + 1 < argc) {
            if (bench_parse_long(argv[++first], 0, 6, &n) != 0) {
                fprintf(stderr, "modq-bench-media: --effort wants 0..6\n");
                return 2;
            }
            effort = (int)n;
        } else if (strcmp(a, "--rss") == 0 && first + 1 < argc) {
            rss = argv[++first];
        } else if (strcmp(a, "--sandbox") == 0 && first + 1 < argc) {
            helper = argv[++first];
        } else if (strcmp(a, "--limits") == 0) {
            limits = 1;
        } else if (strcmp(a, "--make-scans") == 0 && first + 4 < argc) {
            if (bench_parse_long(argv[first + 1], 1, 100000, &make[0]) ||
                bench_parse_long(argv[first + 2], 1, 100000, &make[1]) ||
                bench_parse_long(argv[first + 3], 4, 2080, &make[2])) {
                fprintf(stderr, "modq-bench-media: --make-scans wants W H (1..100000) SCANS "
                                "(4..2080) OUT\n");
                return 2;
            }
            if (modq_blur_init(argv[0]) != MODQ_BLUR_OK) {
                return 1;
            }
            rc = bench_make_scans((int)make[0], (int)make[1], (int)make[2], argv[first + 4]);
            modq_blur_shutdown();
            return rc == 0 ? 0 : 1;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!rss && (first >= argc || argc - first > MAX_FILES)) {
        usage(stderr);
        return 2;
    }

    /* Single-threaded: libvips reads this when it starts, and we set it again after to be sure.
     */
    if (setenv("VIPS_CONCURRENCY", "1", 1) != 0) {
        perror("modq-bench-media: setenv");
        return 1;
    }
    r = modq_blur_init(argv[0]);
    if (r != MODQ_BLUR_OK) {
        fprintf(stderr, "modq-bench-media: init: %s\n", modq_blur_strerror(r));
        return 1;
    }
    vips_concurrency_set(1);

    if (rss) {
        rc = rss_file(rss);
    } else if (limits) {
        rc = bench_limits(argv + first, argc - first, reps) == 0 ? 0 : 1;
    } else {
        sb = bench_start_sandbox(helper);
        rc = bench_files(argv + first, argc - first, reps, stages, effort, sb) == 0 ? 0 : 1;
    }
    fflush(stdout);
    modq_sandbox_free(sb);
    modq_blur_shutdown();
    return rc;
}
