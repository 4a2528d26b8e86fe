/*
 * media_limits.c: what a hostile file costs modq with its time limits and without them. For each
 * file it times modq_media_process with the default options (where the JPEG scan cap and the
 * per-item deadline refuse what they must) and with both limits lifted to their maxima (every scan
 * decoded, the pipeline run to the end, as before the limits existed), and prints the result
 * code of each. bench/media --hostile runs it on files made by --make-scans.
 */
#include "media_limits.h"

#include "modq_blur.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define LIMITS_MAX_REPS 100
/* Hostile test files are made, not sent: nothing here is bigger than this. */
#define LIMITS_MAX_BYTES (256L * 1024 * 1024)

static double now_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_ms(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int bench_make_scans(int w, int h, int scans, const char *path)
{
    uint8_t *d = NULL;
    size_t len = 0;
    modq_blur_result r = modq_synth_jpeg_scans(MODQ_SYNTH_SHAPES, w, h, 1, scans, &d, &len);
    FILE *f;
    int rc = -1;

    if (r != MODQ_BLUR_OK) {
        fprintf(stderr, "modq-bench-media: --make-scans: %s\n", modq_blur_strerror(r));
        return -1;
    }
    if ((f = fopen(path, "wb")) != NULL) {
        rc = fwrite(d, 1, len, f) == len ? 0 : -1;
        if (fclose(f) != 0) {
            rc = -1;
        }
    }
    if (rc != 0) {
        perror(path);
    }
    modq_synth_free(d);
    return rc;
}

/* Reads path whole; NULL when it cannot (caller frees). */
static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *d = NULL;
    long n;

    if (!f) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && n <= LIMITS_MAX_BYTES &&
        fseek(f, 0, SEEK_SET) == 0 && (d = malloc((size_t)n)) != NULL) {
        if (fread(d, 1, (size_t)n, f) == (size_t)n) {
            *len = (size_t)n;
        } else {
            free(d);
            d = NULL;
        }
    }
    fclose(f);
    return d;
}

/* Median of n samples; sorts v. */
static double median_ms(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(v[0]), cmp_ms);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* Median wall ms of reps runs after a warm-up, and in *cpu_ms their median process CPU ms (the
 * one to trust on a busy machine: libvips runs single-threaded here); *r gets the result of the
 * last run. */
static double time_process(const modq_media_opts *opts, const uint8_t *d, size_t len, int reps,
                           modq_blur_result *r, double *cpu_ms)
{
    double ms[LIMITS_MAX_REPS], cpu[LIMITS_MAX_REPS];
    modq_media *m = NULL;

    *r = modq_media_process(opts, d, len, &m, NULL, 0);
    modq_media_free(m);
    for (int i = 0; i < reps; i++) {
        double t0 = now_ms(CLOCK_MONOTONIC), c0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
        m = NULL;
        *r = modq_media_process(opts, d, len, &m, NULL, 0);
        cpu[i] = now_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
        ms[i] = now_ms(CLOCK_MONOTONIC) - t0;
        modq_media_free(m);
    }
    *cpu_ms = median_ms(cpu, reps);
    return median_ms(ms, reps);
}

int bench_limits(char **files, int nfiles, int reps)
{
    modq_media_opts *limited = modq_opts_new(), *lifted = modq_opts_new();
    int failed = 0;

    if (reps > LIMITS_MAX_REPS) {
        reps = LIMITS_MAX_REPS;
    }
    if (!limited || !lifted || modq_opts_set(lifted, MODQ_OPT_MAX_JPEG_SCANS, 10000) ||
        modq_opts_set(lifted, MODQ_OPT_DEADLINE_MS, 600000)) {
        fprintf(stderr, "modq-bench-media: out of memory\n");
        failed = nfiles;
        goto out;
    }
    for (int i = 0; i < nfiles; i++) {
        size_t len = 0;
        uint8_t *d = read_all(files[i], &len);
        modq_blur_result rl, ru;
        double ms_l, ms_u, cpu_l, cpu_u;

        if (!d) {
            printf("error file=%s reason=unreadable\n", files[i]);
            failed++;
            continue;
        }
        ms_l = time_process(limited, d, len, reps, &rl, &cpu_l);
        ms_u = time_process(lifted, d, len, reps, &ru, &cpu_u);
        printf("limits bytes=%zu deadline_ms=%lld max_jpeg_scans=%lld limited=%s limited_ms=%.2f "
               "limited_cpu_ms=%.2f lifted=%s lifted_ms=%.2f lifted_cpu_ms=%.2f file=%s\n",
               len, (long long)modq_opts_get(limited, MODQ_OPT_DEADLINE_MS),
               (long long)modq_opts_get(limited, MODQ_OPT_MAX_JPEG_SCANS), modq_blur_code(rl), ms_l,
               cpu_l, modq_blur_code(ru), ms_u, cpu_u, files[i]);
        fflush(stdout);
        free(d);
    }
out:
    modq_opts_free(limited);
    modq_opts_free(lifted);
    return failed;
}
