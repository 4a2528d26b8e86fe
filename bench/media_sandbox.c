/*
 * media_sandbox.c: modq-bench-media's sandbox, so the full pipeline is also timed in a helper
 * process (modq_sandbox.h) in the same run as in this one.
 */
#include "media_sandbox.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

modq_sandbox *bench_start_sandbox(const char *helper)
{
    char path[4096], err[512] = "";
    modq_sandbox_opts o = {.helpers = 1,
                           .memory_bytes = INT64_C(4) << 30,
                           .timeout_ms = 600000,
                           .cpu_seconds = 600,
                           .max_items = 1000000,
                           .concurrency = 1,
                           .stderr_fd = 2};
    modq_sandbox *sb = NULL;
    struct timespec t0, t1;
    ssize_t n;
    char *slash;

    if (!helper) {
        n = readlink("/proc/self/exe", path, sizeof path - 32);
        path[n > 0 ? n : 0] = '\0';
        slash = strrchr(path, '/');
        snprintf(slash ? slash + 1 : path, sizeof path - 32, "modq-media-sandbox");
        helper = path;
    }
    o.helper_path = helper;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (modq_sandbox_new(&o, &sb, err, sizeof err) != MODQ_BLUR_OK) {
        printf("sandbox error=%s\n", err);
        return NULL;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("sandbox start_ms=%.1f start_cpu_ms=%.1f helper=%s\n",
           (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
           (double)modq_sandbox_cpu_ns(sb) / 1e6, helper);
    return sb;
}
