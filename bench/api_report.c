/*
 * api_report.c: what modq-bench-api prints after a run (api_bench.h): percentiles per route,
 * requests per second, /v1/next slice by slice over the run, CPU time of the worker and of this
 * client, the /v1/next to /healthz ratio, the target line (or, for a phase the target is not
 * judged on, the capacity line) and one JSON line last.
 *
 * Percentiles are nearest-rank over every answer recorded (no histogram buckets), so p99 of
 * 8000 answers is the 7920th smallest.
 */
#include "api_bench.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define STAT_MAX    1024
#define UTIME_FIELD 14 /* proc(5): utime and stime are fields 14 and 15 of /proc/PID/stat */

void api_cpu_read(int server_pid, api_cpu *c)
{
    struct rusage ru;
    char path[64], line[STAT_MAX], *p, *end;
    FILE *f;
    size_t n;
    long tick = sysconf(_SC_CLK_TCK);

    memset(c, 0, sizeof(*c));
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        c->client_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    }
    if (server_pid <= 0 || tick <= 0) {
        return;
    }
    snprintf(path, sizeof path, "/proc/%d/stat", server_pid);
    if (!(f = fopen(path, "r"))) {
        return;
    }
    n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    /* The command name (field 2) may hold spaces and parentheses: count from its last ')'. */
    if (!(p = strrchr(line, ')'))) {
        return;
    }
    p++;
    for (int field = 3; field < UTIME_FIELD; field++) {
        p = strchr(p + 1, ' ');
        if (!p) {
            return;
        }
    }
    unsigned long long ut = strtoull(p, &end, 10), st;
    if (end == p) {
        return;
    }
    p = end;
    st = strtoull(p, &end, 10);
    if (end == p) {
        return;
    }
    c->server_s = (double)(ut + st) / (double)tick;
    c->server_ok = true;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Nearest rank of sorted v[0..n): p in (0, 100]. */
static double rank_ms(const uint32_t *v, size_t n, double p)
{
    size_t k;
    if (n == 0) {
        return 0.0;
    }
    k = (size_t)((p / 100.0) * (double)n + 0.999999);
    k = k == 0 ? 1 : k > n ? n : k;
    return v[k - 1] / 1e3;
}

typedef struct pct {
    double p50, p90, p99, max;
} pct;

/* Percentiles of one route; sorted is a scratch copy the caller frees. */
static int route_pct(const api_route *r, uint32_t **sorted, pct *out)
{
    memset(out, 0, sizeof(*out));
    *sorted = NULL;
    if (r->n == 0) {
        return 0;
    }
    if (!(*sorted = malloc(r->n * sizeof **sorted))) {
        return -1;
    }
    memcpy(*sorted, r->lat_us, r->n * sizeof **sorted);
    qsort(*sorted, r->n, sizeof **sorted, cmp_u32);
    *out = (pct){rank_ms(*sorted, r->n, 50), rank_ms(*sorted, r->n, 90), rank_ms(*sorted, r->n, 99),
                 (*sorted)[r->n - 1] / 1e3};
    return 0;
}

/* /v1/next slice by slice: the desk holds fewer items as the run goes, so a scan over it gets
 * cheaper; this shows whether latency follows the desk's size. */
static int print_slices(const api_route *r, double seconds, int slices)
{
    double width_ms = seconds * 1e3 / slices;
    size_t *count = calloc((size_t)slices + 1, sizeof *count);
    uint32_t *tmp = r->n ? malloc(r->n * sizeof *tmp) : NULL;
    int rc = -1;

    if (!count || (r->n && !tmp)) {
        goto out;
    }
    for (size_t i = 0; i < r->n; i++) {
        int s = width_ms > 0 ? (int)(r->at_ms[i] / width_ms) : 0;
        count[(s >= slices ? slices - 1 : s) + 1]++;
    }
    for (int s = 0; s < slices; s++) {
        count[s + 1] += count[s]; /* count[s]: where slice s starts in tmp */
    }
    for (size_t i = 0; i < r->n; i++) {
        int s = width_ms > 0 ? (int)(r->at_ms[i] / width_ms) : 0;
        tmp[count[s >= slices ? slices - 1 : s]++] = r->lat_us[i];
    }
    /* count[s] now ends slice s: slice s is [count[s - 1], count[s]). */
    printf("\n%s over the run (slices of %.2f s; the desk empties as items are decided):\n",
           r->name, width_ms / 1e3);
    printf("  %8s %8s %9s %9s %9s\n", "from s", "answers", "p50 ms", "p99 ms", "max ms");
    for (int s = 0; s < slices; s++) {
        size_t lo = s ? count[s - 1] : 0, n = count[s] - lo;
        if (n == 0) {
            continue;
        }
        qsort(tmp + lo, n, sizeof *tmp, cmp_u32);
        printf("  %8.2f %8zu %9.3f %9.3f %9.3f\n", s * width_ms / 1e3, n, rank_ms(tmp + lo, n, 50),
               rank_ms(tmp + lo, n, 99), tmp[lo + n - 1] / 1e3);
    }
    rc = 0;
out:
    free(count);
    free(tmp);
    return rc;
}

int api_report(const api_result *r, int slices)
{
    const api_route *next = &r->routes[API_NEXT], *hz = &r->routes[API_HEALTHZ];
    pct p[API_NROUTES];
    uint32_t *sorted = NULL;
    json_t *js = NULL, *routes = NULL;
    char *line = NULL;
    size_t api_n = 0;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    double secs = r->seconds > 0 ? r->seconds : 1e-9, srv = 0, cli;
    double target_p99_ms = r->opts->target_ms;
    bool pass;
    int rc = -1;

    for (int i = 0; i < API_NROUTES; i++) {
        if (route_pct(&r->routes[i], &sorted, &p[i]) != 0) {
            goto out;
        }
        free(sorted);
        sorted = NULL;
        if (i != API_HEALTHZ) {
            api_n += r->routes[i].n;
        }
    }
    pass = target_p99_ms > 0 && next->n > 0 && p[API_NEXT].p99 < target_p99_ms;
    cli = r->cpu1.client_s - r->cpu0.client_s;
    if (r->cpu0.server_ok && r->cpu1.server_ok) {
        srv = r->cpu1.server_s - r->cpu0.server_s;
    }

    printf("phase %s: %zu associates (think time %.0f ms), %zu /healthz probes every %.0f ms, %s, "
           "at most %.0f s\n",
           r->opts->phase, r->opts->associates, r->opts->think_ms, r->opts->probes,
           r->opts->probe_ms, r->opts->url, r->opts->seconds);
    printf("ran %.2f s: %lu items decided, %zu API requests = %.0f requests/s "
           "(+ %zu /healthz), %.1f MB of media\n",
           r->seconds, r->items, api_n, (double)api_n / secs, hz->n, (double)r->media_bytes / 1e6);
    printf("\n%-30s %8s %7s %9s %9s %9s %9s\n", "route", "answers", "errors", "p50 ms", "p90 ms",
           "p99 ms", "max ms");
    for (int i = 0; i < API_NROUTES; i++) {
        const api_route *rt = &r->routes[i];
        printf("%-30s %8zu %7lu %9.3f %9.3f %9.3f %9.3f\n", rt->name, rt->n, rt->errors, p[i].p50,
               p[i].p90, p[i].p99, p[i].max);
        if (rt->dropped) {
            printf("  (%zu answers past the sample cap left out)\n", rt->dropped);
        }
    }
    if (print_slices(next, r->seconds, slices) != 0) {
        goto out;
    }
    printf("\nCPU over the run: worker %s%.2f s/s, this client %.2f s/s (%ld CPUs online)\n",
           r->cpu0.server_ok ? "" : "(not read) ", srv / secs, cli / secs, cpus);
    if (hz->n > 0 && p[API_HEALTHZ].p50 > 0 && p[API_HEALTHZ].p99 > 0) {
        printf("/v1/next vs /healthz (same server, same load): p50 %.1fx, p99 %.1fx\n",
               p[API_NEXT].p50 / p[API_HEALTHZ].p50, p[API_NEXT].p99 / p[API_HEALTHZ].p99);
    }
    if (r->denied) {
        printf("policy refusals (423) on /v1/next: %lu: the bench policy let the run stop early\n",
               r->denied);
    }
    if (r->first_error[0]) {
        printf("first error: %s\n", r->first_error);
    }
    if (target_p99_ms > 0) {
        printf("target: /v1/next p99 under %.0f ms on %ld CPUs: %s (p99 %.3f ms)\n", target_p99_ms,
               cpus, pass ? "PASS" : "MISS", p[API_NEXT].p99);
    } else {
        printf("capacity (not judged against the target): %.0f requests/s, /v1/next p99 %.3f ms\n",
               (double)api_n / secs, p[API_NEXT].p99);
    }

    if (!(routes = json_object())) {
        goto out;
    }
    for (int i = 0; i < API_NROUTES; i++) {
        json_t *o = json_pack("{s:I,s:I,s:f,s:f,s:f,s:f}", "n", (json_int_t)r->routes[i].n,
                              "errors", (json_int_t)r->routes[i].errors, "p50_ms", p[i].p50,
                              "p90_ms", p[i].p90, "p99_ms", p[i].p99, "max_ms", p[i].max);
        if (!o || json_object_set_new(routes, r->routes[i].key, o) != 0) {
            goto out;
        }
    }
    js = json_pack(
        "{s:s,s:s,s:I,s:f,s:I,s:f,s:I,s:I,s:f,s:O,s:f,s:f,s:f,s:o,s:f,s:f,s:I,s:I}", "bench", "api",
        "phase", r->opts->phase, "associates", (json_int_t)r->opts->associates, "think_ms",
        r->opts->think_ms, "cpus", (json_int_t)cpus, "seconds", r->seconds, "items",
        (json_int_t)r->items, "requests", (json_int_t)api_n, "requests_per_s", (double)api_n / secs,
        "routes", routes, "next_p99_ms", p[API_NEXT].p99, "target_p99_ms", target_p99_ms,
        "next_healthz_p99_ratio",
        p[API_HEALTHZ].p99 > 0 ? p[API_NEXT].p99 / p[API_HEALTHZ].p99 : 0.0, "pass",
        target_p99_ms > 0 ? json_boolean(pass) : json_null(), "worker_cpu_per_s", srv / secs,
        "client_cpu_per_s", cli / secs, "denied", (json_int_t)r->denied, "errors",
        (json_int_t)(next->errors + r->routes[API_MEDIA].errors + r->routes[API_DECISION].errors +
                     hz->errors));
    if (!js || !(line = json_dumps(js, JSON_COMPACT | JSON_REAL_PRECISION(6)))) {
        goto out;
    }
    printf("%s\n", line);
    fflush(stdout);
    rc = 0;
out:
    free(line);
    json_decref(js);
    json_decref(routes);
    return rc;
}
