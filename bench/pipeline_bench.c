/*
 * pipeline_bench.c: modq-bench-pipeline, the harness behind bench/pipeline. It puts the worker's
 * throughput through Kafka beside the cost of the media pipeline alone, so that what Kafka adds
 * per ticket shows:
 *   memory  a backlog of small tickets waits in an in-process mock cluster while the worker runs
 *           with the default window; the RSS once the window is full, against the RSS before;
 *   media   modq_media_process on each corpus image, single-threaded: ms per image;
 *   auto    N tickets carrying the corpus images, every image in a hash bank: the worker decides
 *           them all (1 preparation thread, then one per CPU): time until all are confirmed;
 *   review  the same tickets without a bank, held for people: time until all are held.
 * The media pipeline is timed three ways, so that each worker row has the same work done alone
 * to compare with: the worker renders only what a person will see (MODQ_OPT_DEFER_RENDER).
 * It prints a table and, last, one JSON line with the figures. See bench/README.md.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include "pipeline_bench.h"

#include "bench_args.h"

#include "modq_blur.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vips/vips.h>

#define MAX_FILES       1024
#define MAX_FILE_BYTES  (64L * 1024L * 1024L) /* the worker's default media.max_input_bytes */
#define MAX_WINDOW      10000                 /* worker.window_per_queue's maximum */
#define SMALL_VARIANTS  16  /* distinct small images the memory backlog cycles through */
#define SMALL_SIDE      128 /* their size: a few KB of JPEG each */
#define BASE_TIMEOUT_MS 120000
#define PER_TICKET_MS   500

typedef struct args {
    int quick;
    long tickets, review, backlog, hold_s, reps;
    const char *policy, *log;
    char **files;
    int nfiles;
} args;

static void usage(FILE *f)
{
    fprintf(f, "usage: modq-bench-pipeline --policy FILE [--quick] [--tickets N] [--review N]\n"
               "         [--backlog N] [--hold S] [--reps R] [--log FILE] IMAGE...\n"
               "Times the worker loop through an in-process mock Kafka cluster against\n"
               "modq_media_process alone, on the IMAGE files (see bench/README.md).\n");
}

/* 0, 1 for --help, or 2 on a usage error. */
static int parse_args(int argc, char **argv, args *a)
{
    static const struct {
        const char *name;
        long lo, hi;
    } nums[] = {{"--tickets", 1, PB_MAX_TICKETS},
                {"--review", 1, PB_MAX_TICKETS},
                {"--backlog", 1, PB_MAX_TICKETS},
                {"--hold", 1, 600},
                {"--reps", 1, 100}};
    long *dst[sizeof nums / sizeof nums[0]] = {&a->tickets, &a->review, &a->backlog, &a->hold_s,
                                               &a->reps};
    const size_t nnums = sizeof nums / sizeof nums[0];
    int i = 1, rc = 2;

    *a = (args){0, -1, -1, -1, -1, -1, NULL, NULL, NULL, 0};
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        size_t k = 0;
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 1;
        }
        if (strcmp(argv[i], "--quick") == 0) {
            a->quick = 1;
            continue;
        }
        if (i + 1 >= argc) {
            goto out;
        }
        if (strcmp(argv[i], "--policy") == 0) {
            a->policy = argv[++i];
            continue;
        }
        if (strcmp(argv[i], "--log") == 0) {
            a->log = argv[++i];
            continue;
        }
        while (k < nnums && strcmp(argv[i], nums[k].name) != 0) {
            k++;
        }
        if (k == nnums) {
            goto out;
        }
        if (bench_parse_long(argv[i + 1], nums[k].lo, nums[k].hi, dst[k]) != 0) {
            fprintf(stderr, "modq-bench-pipeline: %s wants %ld..%ld\n", argv[i], nums[k].lo,
                    nums[k].hi);
            return 2;
        }
        i++;
    }
    a->files = argv + i;
    a->nfiles = argc - i;
    if (!a->policy || a->nfiles < 1 || a->nfiles > MAX_FILES) {
        goto out;
    }
    /* --quick: a smoke run of under a minute; the defaults: the full run, a few minutes. */
    if (a->tickets < 0) {
        a->tickets = a->quick ? 100 : 300;
    }
    if (a->review < 0) {
        a->review = a->quick ? 50 : 300;
    }
    if (a->backlog < 0) {
        a->backlog = a->quick ? 2000 : 10000;
    }
    if (a->hold_s < 0) {
        a->hold_s = a->quick ? 2 : 5;
    }
    if (a->reps < 0) {
        a->reps = a->quick ? 1 : 2;
    }
    rc = 0;
out:
    if (rc != 0) {
        usage(stderr);
    }
    return rc;
}

/* Reads path whole into img (data owned: free), with its SHA-256. 0, or -1 with err. */
static int image_read(const char *path, pb_image *img, char *err, size_t errsz)
{
    uint8_t sha[MODQ_SHA256_LEN];
    struct stat st;
    FILE *f = fopen(path, "rb");
    int rc = -1;

    img->data = NULL;
    img->len = 0;
    img->path = path;
    if (!f) {
        snprintf(err, errsz, "open %s: %s", path, strerror(errno));
        goto out;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        st.st_size > MAX_FILE_BYTES) {
        snprintf(err, errsz, "%s: not a regular file of 1..%ld bytes", path, MAX_FILE_BYTES);
        goto out;
    }
    img->len = (size_t)st.st_size;
    if (!(img->data = malloc(img->len)) || fread(img->data, 1, img->len, f) != img->len) {
        snprintf(err, errsz, "%s: cannot read %zu bytes", path, img->len);
        goto out;
    }
    if (modq_digest_compute(img->data, img->len, sha, NULL) != MODQ_BLUR_OK) {
        snprintf(err, errsz, "%s: digest failed", path);
        goto out;
    }
    modq_digest_hex(sha, sizeof sha, img->sha256_hex);
    rc = 0;
out:
    if (rc != 0) {
        free(img->data);
        img->data = NULL;
    }
    if (f) {
        fclose(f);
    }
    return rc;
}

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* One image through one way of the media pipeline (PB_MEDIA_*), as the worker calls it. */
static int media_once(int way, const modq_media_opts *opts, const pb_image *img, char *err,
                      size_t errsz)
{
    modq_media *m = NULL;
    modq_blur_result r = modq_media_process(opts, img->data, img->len, &m, err, errsz);

    if (r == MODQ_BLUR_OK && way == PB_MEDIA_RENDER) {
        r = modq_media_render(m, opts, err, errsz);
    } else if (r == MODQ_BLUR_OK && way == PB_MEDIA_HASHES) {
        modq_media_release_image(m);
    }
    modq_media_free(m);
    if (r != MODQ_BLUR_OK && err[0] == '\0') {
        snprintf(err, errsz, "%s", modq_blur_strerror(r));
    }
    return r == MODQ_BLUR_OK ? 0 : -1;
}

/*
 * (0) The media pipeline alone, single-threaded: one warm-up pass, then reps timed passes. The
 * three ways take turns image by image, so a busy spell of the machine hits them alike.
 */
static int bench_media(const pb_image *imgs, int n, long reps, pb_figures *fg, char *err,
                       size_t errsz)
{
    modq_media_opts *opts[PB_MEDIA_COUNT] = {NULL, NULL, NULL};
    double wall[PB_MEDIA_COUNT] = {0}, cpu[PB_MEDIA_COUNT] = {0};
    int rc = -1;

    for (int w = 0; w < PB_MEDIA_COUNT; w++) {
        /* The worker's options: the defaults, with rendering deferred for the two halves. */
        if (!(opts[w] = modq_opts_new()) ||
            (w != PB_MEDIA_FULL &&
             modq_opts_set(opts[w], MODQ_OPT_DEFER_RENDER, 1) != MODQ_BLUR_OK)) {
            snprintf(err, errsz, "media options refused");
            goto out;
        }
    }
    for (long pass = -1; pass < reps; pass++) {
        for (int i = 0; i < n; i++) {
            for (int w = 0; w < PB_MEDIA_COUNT; w++) {
                double t0 = pb_now_ms(), c0 = cpu_ms();
                if (media_once(w, opts[w], &imgs[i], err, errsz) != 0) {
                    size_t used = strlen(err);
                    snprintf(err + used, errsz - used, " (%s)", imgs[i].path);
                    goto out;
                }
                if (pass >= 0) {
                    cpu[w] += cpu_ms() - c0;
                    wall[w] += pb_now_ms() - t0;
                }
            }
        }
    }
    for (int w = 0; w < PB_MEDIA_COUNT; w++) {
        fg->media_ms[w] = wall[w] / (double)(reps * n);
        fg->media_cpu_ms[w] = cpu[w] / (double)(reps * n);
    }
    rc = 0;
out:
    for (int w = 0; w < PB_MEDIA_COUNT; w++) {
        modq_opts_free(opts[w]);
    }
    return rc;
}

/* The bank: the SHA-256 of every image, written to a new temporary file named in path. */
static int write_bank(const pb_image *imgs, int n, char *path, size_t size, char *err, size_t errsz)
{
    FILE *f = NULL;
    int fd, rc = -1;

    snprintf(path, size, "/tmp/modq-bench-bank-XXXXXX");
    if ((fd = mkstemp(path)) >= 0 && !(f = fdopen(fd, "w"))) {
        close(fd);
        unlink(path);
        fd = -1;
    }
    if (fd < 0) {
        snprintf(err, errsz, "bank file: %s", strerror(errno));
        path[0] = '\0';
        goto out;
    }
    for (int i = 0; i < n; i++) {
        fprintf(f, "sha256 %s\n", imgs[i].sha256_hex);
    }
    rc = ferror(f) ? -1 : 0;
out:
    if (f && fclose(f) != 0) {
        rc = -1;
    }
    if (rc != 0 && err[0] == '\0') {
        snprintf(err, errsz, "bank file: write failed");
    }
    return rc;
}

static long default_window(void)
{
    static const char yaml[] = "log:\n  level: warn\n";
    modq_config *c = NULL;
    char err[PB_ERR_SIZE];
    long w = -1;

    if (modq_config_load_buffer(yaml, sizeof yaml - 1, "defaults", NULL, &c, err, sizeof err) ==
        MODQ_CONFIG_OK) {
        w = modq_config_worker_window_per_queue(c);
    }
    modq_config_free(c);
    return w;
}

/* Review items the window lets the worker hold with the backlog spread over the queues. */
static long window_target(const modq_policy *p, long backlog, long window)
{
    long t = 0;
    for (size_t q = 0; q < modq_policy_queue_count(p); q++) {
        long share = (long)pb_queue_share(p, (size_t)backlog, q);
        t += share < window ? share : window;
    }
    return t;
}

/* (c) First, while the process is fresh: its own cluster, a backlog of small tickets. */
static int bench_memory(pb_env *env, const args *a, pb_figures *fg, char *err, size_t errsz)
{
    pb_image small[SMALL_VARIANTS];
    long unused;
    pb_phase ph;
    int rc = -1, made = 0;

    memset(small, 0, sizeof small);
    for (; made < SMALL_VARIANTS; made++) {
        if (modq_synth_image(MODQ_SYNTH_SHAPES, SMALL_SIDE, SMALL_SIDE, (uint32_t)made + 1, "jpeg",
                             &small[made].data, &small[made].len) != MODQ_BLUR_OK) {
            snprintf(err, errsz, "synthetic image failed");
            goto out;
        }
        small[made].path = "synthetic";
    }
    if ((fg->window = default_window()) < 1) {
        snprintf(err, errsz, "no default worker.window_per_queue");
        goto out;
    }
    fg->held_target = window_target(env->policy, a->backlog, fg->window);
    if (pb_cluster_new(&env->mock, err, errsz) != 0) {
        goto out;
    }
    if (pb_produce(env->mock, env->policy, "m", (size_t)a->backlog, small, SMALL_VARIANTS,
                   &fg->backlog_bytes, err, errsz) != 0) {
        goto out;
    }
    /* The producer's copies of the backlog are freed by now but glibc keeps the pages: hand
     * them back, or the worker would reuse them and its growth would not show. */
    malloc_trim(0);
    pb_memory(&fg->rss_backlog_kb, &unused);
    fg->hwm_reset = pb_reset_hwm() == 0;
    ph = (pb_phase){.name = "memory",
                    .threads = fg->nproc,
                    .goal = PB_GOAL_WINDOW,
                    .target = (size_t)fg->held_target,
                    .hold_ms = (int)a->hold_s * 1000,
                    .timeout_ms = BASE_TIMEOUT_MS};
    rc = pb_run_phase(env, &ph, &fg->memory, err, errsz);
out:
    modq_mock_free(env->mock);
    env->mock = NULL;
    for (int i = 0; i < made; i++) {
        modq_synth_free(small[i].data);
    }
    return rc;
}

/* One worker run, and a progress line. */
static int run_one(const pb_env *env, const pb_phase *ph, pb_result *res, char *err, size_t errsz)
{
    if (pb_run_phase(env, ph, res, err, errsz) != 0) {
        return -1;
    }
    printf("%s, %d thread(s): %.1f s\n", ph->goal == PB_GOAL_REVIEW ? "review" : "auto-decided",
           ph->threads, res->wall_ms / 1e3);
    fflush(stdout);
    return 0;
}

/* (a) and (b): one cluster, one backlog of corpus tickets, read from the start by each run. */
static int bench_worker(pb_env *env, const args *a, const pb_image *imgs, pb_figures *fg,
                        const char *bank, char *err, size_t errsz)
{
    size_t nq = modq_policy_queue_count(env->policy);
    long produced = a->tickets > a->review ? a->tickets : a->review;
    pb_phase ph;
    int rc = -1;

    /* Review items stay in flight until a person decides, so the window must hold them all. */
    fg->review_window = (a->review + (long)nq - 1) / (long)nq;
    if (fg->review_window > MAX_WINDOW) {
        snprintf(err, errsz, "--review %ld needs a window over %d per queue", a->review,
                 MAX_WINDOW);
        goto out;
    }
    if (pb_cluster_new(&env->mock, err, errsz) != 0) {
        goto out;
    }
    printf("producing %ld tickets with the corpus images inline...\n", produced);
    fflush(stdout);
    if (pb_produce(env->mock, env->policy, "p", (size_t)produced, imgs, (size_t)fg->nimages,
                   &fg->tickets_bytes, err, errsz) != 0) {
        goto out;
    }
    ph = (pb_phase){.name = "auto1",
                    .threads = 1,
                    .bank_file = bank,
                    .goal = PB_GOAL_CONFIRMED,
                    .target = (size_t)a->tickets,
                    .timeout_ms = BASE_TIMEOUT_MS + (int)a->tickets * PER_TICKET_MS};
    if (run_one(env, &ph, &fg->auto1, err, errsz) != 0) {
        goto out;
    }
    ph.name = "auton";
    ph.threads = fg->nproc;
    if (fg->nproc > 1 && run_one(env, &ph, &fg->auton, err, errsz) != 0) {
        goto out;
    }
    ph = (pb_phase){.name = "review1",
                    .threads = 1,
                    .window = (int)fg->review_window,
                    .goal = PB_GOAL_REVIEW,
                    .target = (size_t)a->review,
                    .timeout_ms = BASE_TIMEOUT_MS + (int)a->review * PER_TICKET_MS};
    if (run_one(env, &ph, &fg->review1, err, errsz) != 0) {
        goto out;
    }
    ph.name = "reviewn";
    ph.threads = fg->nproc;
    if (fg->nproc > 1 && run_one(env, &ph, &fg->reviewn, err, errsz) != 0) {
        goto out;
    }
    rc = 0;
out:
    modq_mock_free(env->mock);
    env->mock = NULL;
    return rc;
}

int main(int argc, char **argv)
{
    char err[PB_ERR_SIZE] = "", bank[64] = "", policy_path[PATH_MAX];
    pb_image *imgs = NULL;
    modq_policy *policy = NULL;
    pb_env env = {NULL, NULL, NULL, NULL};
    pb_figures fg;
    args a;
    long unused;
    int rc, blur = 0;

    memset(&fg, 0, sizeof fg);
    if ((rc = parse_args(argc, argv, &a)) != 0) {
        return rc == 1 ? 0 : 2;
    }
    rc = 1;
    /* Single-threaded libvips, as modq-bench-media: the worker's parallelism is its preparation
     * threads, one ticket each, so "1 thread" means one core and compares with the media rows. */
    if (setenv("VIPS_CONCURRENCY", "1", 1) != 0 || modq_blur_init(argv[0]) != MODQ_BLUR_OK) {
        snprintf(err, sizeof err, "libvips did not start");
        goto out;
    }
    blur = 1;
    vips_concurrency_set(1);
    if (!realpath(a.policy, policy_path)) {
        snprintf(err, sizeof err, "policy %s: %s", a.policy, strerror(errno));
        goto out;
    }
    if (modq_policy_load_file(policy_path, &policy, err, sizeof err) != MODQ_POLICY_OK) {
        goto out;
    }
    if (a.log && !(env.log = fopen(a.log, "w"))) {
        snprintf(err, sizeof err, "log %s: %s", a.log, strerror(errno));
        goto out;
    }
    env.policy = policy;
    env.policy_path = policy_path;
    fg.nproc = (int)sysconf(_SC_NPROCESSORS_ONLN);
    fg.nproc = fg.nproc < 1 ? 1 : fg.nproc;
    fg.nimages = a.nfiles;
    fg.tickets = a.tickets;
    fg.reviews = a.review;
    fg.backlog = a.backlog;
    fg.hold_s = a.hold_s;
    fg.queues = (long)modq_policy_queue_count(policy);
    printf("modq-bench-pipeline: %d images, %d CPUs, libvips concurrency %d, 3 mock brokers in "
           "this process\n",
           a.nfiles, fg.nproc, vips_concurrency_get());
    fflush(stdout);

    /* Memory first, before the corpus is read, so the figures hold nothing but the worker and
     * the backlog. */
    pb_memory(&fg.rss_start_kb, &unused);
    if (bench_memory(&env, &a, &fg, err, sizeof err) != 0) {
        goto out;
    }
    printf("memory: window full with %zu items\n", fg.memory.held);
    fflush(stdout);

    if (!(imgs = calloc((size_t)a.nfiles, sizeof *imgs))) {
        snprintf(err, sizeof err, "out of memory");
        goto out;
    }
    for (int i = 0; i < a.nfiles; i++) {
        if (image_read(a.files[i], &imgs[i], err, sizeof err) != 0) {
            goto out;
        }
    }
    if (bench_media(imgs, a.nfiles, a.reps, &fg, err, sizeof err) != 0) {
        goto out;
    }
    printf("media: %.1f ms per image\n", fg.media_ms[PB_MEDIA_FULL]);
    fflush(stdout);
    if (write_bank(imgs, a.nfiles, bank, sizeof bank, err, sizeof err) != 0) {
        goto out;
    }
    if (bench_worker(&env, &a, imgs, &fg, bank, err, sizeof err) != 0) {
        goto out;
    }
    pb_report(&fg);
    rc = 0;
out:
    if (rc != 0) {
        fprintf(stderr, "modq-bench-pipeline: %s\n", err[0] ? err : "failed");
    }
    fflush(stdout);
    if (bank[0]) {
        unlink(bank);
    }
    for (int i = 0; imgs && i < a.nfiles; i++) {
        free(imgs[i].data);
    }
    free(imgs);
    if (env.log) {
        fclose(env.log);
    }
    modq_policy_free(policy);
    if (blur) {
        modq_blur_shutdown();
    }
    return rc;
}
