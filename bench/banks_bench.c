/*
 * banks_bench.c: how fast is a PDQ bank lookup at bank scale? For each bank size, writes a bank
 * file of random PDQ hashes with near neighbours planted for half of the probes (one at each
 * distance 0..31, from one of the probe's 8 variants), loads it through modq_banks_load (the
 * worker's loader: parse, then build the index), and times modq_banks_match for every probe.
 * In the same run, two peers answer the same probes over the same hashes in memory:
 *   scan      what modq did before the index: every hash, modq_pdq_distance_dihedral per hash
 *   popcount  a plain scan: four 64-bit POPCNTs per hash and variant
 * and every answer of a peer must be the index's (same distance, same hash). Prints one line and
 * one JSON line per size. The peers run until a time budget is spent, so at 10 million hashes
 * they answer a few probes only; their figures are medians of what they ran.
 *
 * Usage: modq-bench-banks DIR SIZE... [--probes N] [--peer-seconds S]
 */
#include "bench_args.h"
#include "modq_blur.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RADIUS 31

typedef struct run {
    const char *dir;
    long probes;
    double peer_seconds;
} run;

typedef struct timing {
    double *t; /* per probe, seconds, sorted once done */
    long n;
} timing;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
    char line[256];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");

    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
        }
    }
    if (f) {
        fclose(f);
    }
    return kb;
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

static void random_hash(uint64_t *s, uint8_t *h)
{
    for (int i = 0; i < MODQ_PDQ_BYTES; i += 8) {
        uint64_t v = rnd(s);
        memcpy(h + i, &v, 8);
    }
}

static void flip_exactly(uint64_t *s, uint8_t *h, int d)
{
    uint8_t done[256] = {0};

    for (int k = 0; k < d;) {
        int bit = (int)(rnd(s) % 256);
        if (!done[bit]) {
            done[bit] = 1;
            h[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            k++;
        }
    }
}

/* n hashes (planted ones spread among random ones) into hashes and the bank file at path. */
static int make_bank(const char *path, size_t n, const uint8_t (*probes)[8][MODQ_PDQ_BYTES],
                     long nprobes, uint8_t (*hashes)[MODQ_PDQ_BYTES])
{
    uint64_t s = 0x5eed0000 + n;
    size_t every = n / (size_t)(nprobes / 2 + 1);
    FILE *f = fopen(path, "w");
    char hex[MODQ_PDQ_HEX_LEN + 1];

    if (f == NULL) {
        perror(path);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        size_t p = every ? i / every : 0;
        if (every && i % every == 0 && (long)p < nprobes / 2) {
            memcpy(hashes[i], probes[p][p % 8], MODQ_PDQ_BYTES);
            flip_exactly(&s, hashes[i], (int)(p % (RADIUS + 1)));
        } else {
            random_hash(&s, hashes[i]);
        }
        modq_pdq_to_hex(hashes[i], hex);
        fprintf(f, "pdq %s\n", hex);
    }
    if (fclose(f) != 0) {
        perror(path);
        return -1;
    }
    return 0;
}

/* The old loop: one function call and a byte-wise distance per hash and variant. */
static int scan_old(const uint8_t (*hashes)[MODQ_PDQ_BYTES], size_t n,
                    const uint8_t (*probe)[MODQ_PDQ_BYTES], size_t *at)
{
    int best = RADIUS + 1;

    for (size_t i = 0; i < n && best > 0; i++) {
        int d = modq_pdq_distance_dihedral(probe, hashes[i]);
        if (d < best) {
            best = d;
            *at = i;
        }
    }
    return best;
}

#if defined(__x86_64__)
__attribute__((target("popcnt")))
#endif
static int
scan_popcount(const uint8_t (*hashes)[MODQ_PDQ_BYTES], size_t n,
              const uint8_t (*probe)[MODQ_PDQ_BYTES], size_t *at)
{
    uint64_t q[8][4], h[4];
    int best = RADIUS + 1;

    memcpy(q, probe, sizeof q);
    for (size_t i = 0; i < n; i++) {
        memcpy(h, hashes[i], sizeof h);
        for (int v = 0; v < 8; v++) {
            int d = __builtin_popcountll(h[0] ^ q[v][0]) + __builtin_popcountll(h[1] ^ q[v][1]) +
                    __builtin_popcountll(h[2] ^ q[v][2]) + __builtin_popcountll(h[3] ^ q[v][3]);
            if (d < best) {
                best = d;
                *at = i;
            }
        }
    }
    return best;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(timing *t, double q)
{
    if (t->n == 0) {
        return 0;
    }
    qsort(t->t, (size_t)t->n, sizeof(double), cmp_double);
    return t->t[(long)(q * (double)(t->n - 1) + 0.5)];
}

typedef struct answer {
    int d; /* RADIUS + 1: no match */
    char hex[MODQ_PDQ_HEX_LEN + 1];
} answer;

typedef int (*scan_fn)(const uint8_t (*)[MODQ_PDQ_BYTES], size_t, const uint8_t (*)[MODQ_PDQ_BYTES],
                       size_t *);

/* A peer on the probes, in order, until its budget is spent; *wrong counts answers that are not
 * the index's. */
static void peer(const run *r, scan_fn fn, const uint8_t (*hashes)[MODQ_PDQ_BYTES], size_t n,
                 const uint8_t (*probes)[8][MODQ_PDQ_BYTES], const answer *want, timing *t,
                 long *wrong)
{
    double start = now_s();

    for (long p = 0; p < r->probes && (p < 3 || now_s() - start < r->peer_seconds); p++) {
        size_t at = 0;
        double t0 = now_s();
        int d = fn(hashes, n, probes[p], &at);
        char hex[MODQ_PDQ_HEX_LEN + 1] = "";

        t->t[t->n++] = now_s() - t0;
        if (d <= RADIUS) {
            modq_pdq_to_hex(hashes[at], hex);
        }
        if (d != want[p].d || (d <= RADIUS && strcmp(hex, want[p].hex) != 0)) {
            (*wrong)++;
        }
    }
}

/* The index on every probe: its answers into want. */
static void index_probes(const run *r, const modq_banks *b,
                         const uint8_t (*probes)[8][MODQ_PDQ_BYTES], answer *want, timing *t,
                         long *matched)
{
    for (long p = 0; p < r->probes; p++) {
        modq_bank_match m;
        double t0 = now_s();
        int got = modq_banks_match(b, NULL, NULL, probes[p], 100, &m);

        t->t[t->n++] = now_s() - t0;
        want[p].d = got ? m.distance : RADIUS + 1;
        memcpy(want[p].hex, got ? m.hash_hex : "", got ? sizeof want[p].hex : 1);
        *matched += got;
    }
}

static void report(size_t n, double load_s, double bytes, timing *ix, timing *old, timing *pop,
                   long matched, long wrong)
{
    double p50 = pct(ix, 0.5), p99 = pct(ix, 0.99), o50 = pct(old, 0.5), q50 = pct(pop, 0.5);

    printf("%10zu  %7.2f s  %6.1f B  %8.1f %8.1f %8.1f us  %9.2f ms (%4ld) %8.2f ms (%4ld)  "
           "%7.0fx %6.1fx  %ld/%ld  %s\n",
           n, load_s, bytes, p50 * 1e6, p99 * 1e6, pct(ix, 1.0) * 1e6, o50 * 1e3, old->n, q50 * 1e3,
           pop->n, o50 / p50, q50 / p50, matched, ix->n,
           wrong ? "DIFFERENT ANSWERS" : "same answers");
    printf("{\"hashes\":%zu,\"load_s\":%.3f,\"bytes_per_hash\":%.1f,\"index_p50_us\":%.2f,"
           "\"index_p99_us\":%.2f,\"index_max_us\":%.2f,\"scan_p50_ms\":%.3f,\"scan_probes\":%ld,"
           "\"popcount_p50_ms\":%.3f,\"popcount_probes\":%ld,\"matched\":%ld,\"probes\":%ld,"
           "\"wrong\":%ld}\n",
           n, load_s, bytes, p50 * 1e6, p99 * 1e6, pct(ix, 1.0) * 1e6, o50 * 1e3, old->n, q50 * 1e3,
           pop->n, matched, ix->n, wrong);
    fflush(stdout);
}

/* One bank size; 0 when every peer answered as the index. */
static int one_size(const run *r, size_t n, const uint8_t (*probes)[8][MODQ_PDQ_BYTES])
{
    uint8_t(*hashes)[MODQ_PDQ_BYTES] = malloc(n * MODQ_PDQ_BYTES);
    answer *want = calloc((size_t)r->probes, sizeof(answer));
    timing ix = {calloc((size_t)r->probes, sizeof(double)), 0};
    timing old = {calloc((size_t)r->probes, sizeof(double)), 0};
    timing pop = {calloc((size_t)r->probes, sizeof(double)), 0};
    char path[512], err[512];
    modq_banks *b = modq_banks_new();
    long rss0, matched = 0, wrong = 0;
    double t0, load_s;
    int rc = 1;

    if (!hashes || !want || !ix.t || !old.t || !pop.t || !b) {
        fprintf(stderr, "out of memory\n");
        goto out;
    }
    snprintf(path, sizeof path, "%s/bank-%zu.txt", r->dir, n);
    if (make_bank(path, n, probes, r->probes, hashes) != 0) {
        goto out;
    }
    rss0 = rss_kb();
    t0 = now_s();
    if (modq_banks_load(b, "bench", path, 2, NULL, 0, RADIUS, err, sizeof err) != MODQ_BLUR_OK) {
        fprintf(stderr, "load: %s\n", err);
        goto out;
    }
    load_s = now_s() - t0;
    remove(path);
    index_probes(r, b, probes, want, &ix, &matched);
    peer(r, scan_old, (const uint8_t(*)[MODQ_PDQ_BYTES])hashes, n, probes, want, &old, &wrong);
    peer(r, scan_popcount, (const uint8_t(*)[MODQ_PDQ_BYTES])hashes, n, probes, want, &pop, &wrong);
    report(n, load_s, (double)(rss_kb() - rss0) * 1024.0 / (double)n, &ix, &old, &pop, matched,
           wrong);
    rc = wrong ? 1 : 0;
out:
    modq_banks_free(b);
    free(hashes);
    free(want);
    free(ix.t);
    free(old.t);
    free(pop.t);
    return rc;
}

int main(int argc, char **argv)
{
    run r = {.probes = 1000, .peer_seconds = 10};
    size_t sizes[16], nsizes = 0;
    uint8_t(*probes)[8][MODQ_PDQ_BYTES];
    uint64_t s = 1;
    long v;
    int rc = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--probes") == 0 && i + 1 < argc &&
            bench_parse_long(argv[++i], 2, 1000000, &r.probes) == 0) {
            continue;
        }
        if (strcmp(argv[i], "--peer-seconds") == 0 && i + 1 < argc &&
            bench_parse_long(argv[++i], 1, 3600, &v) == 0) {
            r.peer_seconds = (double)v;
        } else if (!r.dir && argv[i][0] != '-') {
            r.dir = argv[i];
        } else if (nsizes < 16 && bench_parse_long(argv[i], 1, 20000000, &v) == 0) {
            sizes[nsizes++] = (size_t)v;
        } else {
            fprintf(stderr, "usage: modq-bench-banks DIR SIZE... [--probes N] "
                            "[--peer-seconds S]\n");
            return 2;
        }
    }
    if (!r.dir || nsizes == 0 || !(probes = malloc((size_t)r.probes * sizeof(*probes)))) {
        fprintf(stderr, "usage: modq-bench-banks DIR SIZE... [--probes N] [--peer-seconds S]\n");
        return 2;
    }
    for (long p = 0; p < r.probes; p++) {
        for (int k = 0; k < 8; k++) {
            random_hash(&s, probes[p][k]);
        }
    }
    printf("%10s  %9s  %8s  %8s %8s %8s %3s  %12s %6s %11s %6s  %8s %7s  %s\n", "hashes", "load",
           "mem/hash", "p50", "p99", "max", "", "scan p50", "(n)", "popcnt p50", "(n)", "scan/ix",
           "pop/ix", "matched");
    for (size_t i = 0; i < nsizes; i++) {
        rc |= one_size(&r, sizes[i], (const uint8_t(*)[8][MODQ_PDQ_BYTES])probes);
    }
    free(probes);
    return rc;
}
