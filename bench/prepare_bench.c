/*
 * prepare_bench.c: what a ticket whose media is known costs. Every file given becomes a ticket
 * with its bytes inline, prepared through modq_prepare_ticket (the worker's own path: unpack,
 * checks, digests, banks, decided set) three ways, one core, CPU time per ticket:
 *   banked   a bank lists every file's SHA-256: decided on the digest, never decoded
 *   decided  no bank; every file was decided before (the decided set knows its SHA-256)
 *   decode   neither: the whole job (decode, hashes, renditions), as every unknown ticket
 * and beside them the bound: SHA-256 of the same bytes alone (OpenSSL EVP), the least any
 * hash-first path can cost. Prints tickets/s for each and the ratio to the bound.
 *
 * Usage: modq-bench-prepare POLICY_FILE [--reps N] FILE...
 */
#include "bench_args.h"
#include "modq_common.h"
#include "prepare/prepare.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct input {
    uint8_t *ticket; /* packed modq.v1.Ticket, the file's bytes inline */
    size_t ticket_len;
    uint8_t *bytes; /* the file */
    size_t len;
    uint8_t sha[MODQ_SHA256_LEN];
} input;

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int read_all(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    long n;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 ||
        fseek(f, 0, SEEK_SET) != 0 || !(*out = malloc((size_t)n)) ||
        fread(*out, 1, (size_t)n, f) != (size_t)n) {
        if (f) {
            fclose(f);
        }
        return -1;
    }
    fclose(f);
    *len = (size_t)n;
    return 0;
}

/* The file at path as a ticket of queue self_harm, id t-<i>. */
static int make_input(const char *path, int i, input *in)
{
    Modq__V1__Ticket t;
    Modq__V1__Media m;
    char id[32];

    if (read_all(path, &in->bytes, &in->len) != 0) {
        fprintf(stderr, "modq-bench-prepare: cannot read %s\n", path);
        return -1;
    }
    modq_digest_compute(in->bytes, in->len, in->sha, NULL);
    snprintf(id, sizeof id, "t-%d", i);
    modq__v1__ticket__init(&t);
    modq__v1__media__init(&m);
    m.source_case = MODQ__V1__MEDIA__SOURCE_INLINE_BYTES;
    m.inline_bytes.data = in->bytes;
    m.inline_bytes.len = in->len;
    t.ticket_id = id;
    t.content_id = id;
    t.queue = MODQ_UNCONST("self_harm");
    t.media = &m;
    in->ticket_len = modq__v1__ticket__get_packed_size(&t);
    if (!(in->ticket = malloc(in->ticket_len))) {
        return -1;
    }
    modq__v1__ticket__pack(&t, in->ticket);
    return 0;
}

/* CPU seconds per ticket over reps rounds of every input; -1 when one came out otherwise. */
static double run(const modq_prepare_ctx *ctx, const input *in, int n, int reps,
                  modq_prepared_kind want)
{
    double t0 = cpu_s();

    for (int r = 0; r < reps; r++) {
        for (int i = 0; i < n; i++) {
            modq_prepared *p = modq_prepare_ticket(ctx, in[i].ticket, in[i].ticket_len, 0);
            if (p == NULL || p->kind != want) {
                fprintf(stderr, "modq-bench-prepare: ticket %d: kind %d, not %d (%s)\n", i,
                        p ? (int)p->kind : -1, (int)want, p ? p->reason : "no memory");
                modq_prepared_free(p);
                return -1;
            }
            modq_prepared_free(p);
        }
    }
    return (cpu_s() - t0) / (n * reps);
}

static double sha_bound(const input *in, int n, int reps)
{
    uint8_t sha[MODQ_SHA256_LEN];
    double t0 = cpu_s();

    for (int r = 0; r < reps; r++) {
        for (int i = 0; i < n; i++) {
            modq_digest_compute(in[i].bytes, in[i].len, sha, NULL);
        }
    }
    return (cpu_s() - t0) / (n * reps);
}

static void report(const char *name, double per, double bound)
{
    printf("  %-9s %9.3f ms/ticket %9.1f tickets/s   %6.2fx the SHA-256 bound\n", name, per * 1e3,
           1.0 / per, per / bound);
}

/* A bank file listing every input's SHA-256, in dir; loaded into a new set. */
static modq_banks *bank_of(const input *in, int n, const char *dir)
{
    char path[512], hex[2 * MODQ_SHA256_LEN + 1], err[512];
    modq_banks *b = modq_banks_new();
    FILE *f;

    snprintf(path, sizeof path, "%s/bank.txt", dir);
    if (b == NULL || !(f = fopen(path, "w"))) {
        modq_banks_free(b);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        modq_digest_hex(in[i].sha, sizeof in[i].sha, hex);
        fprintf(f, "sha256 %s\n", hex);
    }
    fclose(f);
    if (modq_banks_load(b, "bench", path, 2, NULL, 0, 31, err, sizeof err) != MODQ_BLUR_OK) {
        fprintf(stderr, "modq-bench-prepare: %s\n", err);
        modq_banks_free(b);
        b = NULL;
    }
    remove(path);
    return b;
}

int main(int argc, char **argv)
{
    long reps = 20;
    int n = 0, rc = 1;
    input *in = calloc((size_t)argc, sizeof(*in));
    char err[512], dir[] = "/tmp/modq-bench-prepare-XXXXXX";
    modq_policy *policy = NULL;
    modq_media_opts *opts = modq_opts_new();
    modq_banks *banks = NULL;
    modq_decided *decided = modq_decided_new(100000, INT64_C(1) << 40), *empty = NULL;
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_rwlock_t block = PTHREAD_RWLOCK_INITIALIZER;
    modq_prepare_ctx ctx;
    double bound, t[3];

    setenv("VIPS_CONCURRENCY", "1", 1);
    if (argc < 3 || !in || !opts || !decided || modq_blur_init(argv[0]) != MODQ_BLUR_OK ||
        modq_policy_load_file(argv[1], &policy, err, sizeof err) != MODQ_POLICY_OK) {
        fprintf(stderr, "usage: modq-bench-prepare POLICY_FILE [--reps N] FILE...\n");
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            if (bench_parse_long(argv[++i], 1, 10000, &reps) != 0) {
                return 2;
            }
        } else if (make_input(argv[i], n, &in[n]) == 0) {
            n++;
        } else {
            return 2;
        }
    }
    empty = modq_decided_new(1000, INT64_C(1) << 40);
    if (n == 0 || !mkdtemp(dir) || !empty || !(banks = bank_of(in, n, dir)) ||
        modq_opts_set(opts, MODQ_OPT_DEFER_RENDER, 1) != MODQ_BLUR_OK) {
        goto out;
    }
    for (int i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "old-%d", i);
        modq_decided_add(decided, id, in[i].sha, NULL, 2, "bench", 1, NULL);
    }
    ctx = (modq_prepare_ctx){.policy = policy,
                             .media_opts = opts,
                             .banks = &banks,
                             .banks_lock = &block,
                             .decided = empty,
                             .decided_lock = &lock,
                             .auto_verdicts = 1u << 2,
                             .near_distance = 16,
                             .worker_id = "bench",
                             .max_message_bytes = (size_t)1 << 30};
    printf("%d files, %ld repetitions (decode: 1), CPU time per ticket, one thread:\n", n, reps);
    bound = sha_bound(in, n, (int)reps);
    printf("  %-9s %9.3f ms/ticket %9.1f tickets/s\n", "sha256", bound * 1e3, 1.0 / bound);
    if ((t[0] = run(&ctx, in, n, (int)reps, MODQ_PREPARED_AUTO)) < 0) {
        goto out;
    }
    report("banked", t[0], bound);
    ctx.banks = NULL;
    ctx.decided = decided;
    if ((t[1] = run(&ctx, in, n, (int)reps, MODQ_PREPARED_AUTO)) < 0) {
        goto out;
    }
    report("decided", t[1], bound);
    ctx.decided = empty;
    if ((t[2] = run(&ctx, in, n, 1, MODQ_PREPARED_REVIEW)) < 0) {
        goto out;
    }
    report("decode", t[2], bound);
    printf("{\"files\":%d,\"sha256_ms\":%.4f,\"banked_ms\":%.4f,\"decided_ms\":%.4f,"
           "\"decode_ms\":%.3f}\n",
           n, bound * 1e3, t[0] * 1e3, t[1] * 1e3, t[2] * 1e3);
    rc = 0;
out:
    rmdir(dir);
    for (int i = 0; i < n; i++) {
        free(in[i].ticket);
        free(in[i].bytes);
    }
    free(in);
    modq_banks_free(banks);
    modq_decided_free(decided);
    modq_decided_free(empty);
    modq_opts_free(opts);
    modq_policy_free(policy);
    modq_blur_shutdown();
    return rc;
}
