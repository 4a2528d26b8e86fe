/*
 * test_blur_pdq_index.c: the PDQ index (blur/pdq_index.c) finds exactly what a brute-force scan
 * finds: random banks with near neighbours planted at every distance 0..32 from each of a probe's
 * 8 variants, every radius where a chunk's own radius changes (0, 1, 10, 11, 15, 16, 21, 22, 31),
 * both layouts (16 narrow chunks, 11 wide ones), buckets crowded with one value, and the edges of
 * the API.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "internal.h"
#include "pdq_testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPROBE 8

/* The smallest distance from each position to any probe, as the index reports it. */
typedef struct seen {
    int *best; /* per position, 999 when never reported */
    size_t n, calls;
    int radius;
    const modq_pdq_index *ix;
    const uint8_t (*probe)[MODQ_PDQ_BYTES];
} seen;

static int on_hit(void *arg, size_t pos, int distance)
{
    seen *s = arg;
    int truth = 999;

    assert_true(pos < s->n);
    assert_true(distance >= 0 && distance <= s->radius);
    /* The distance reported is the hash's distance to one of the probes. */
    for (int v = 0; v < NPROBE; v++) {
        if (modq_pdq_distance(s->probe[v], modq_pdq_index_hash(s->ix, pos)) == distance) {
            truth = distance;
        }
    }
    assert_int_equal(truth, distance);
    if (distance < s->best[pos]) {
        s->best[pos] = distance;
    }
    s->calls++;
    return 0;
}

/* Searches ix and a brute-force scan of it at radius; both give the same hashes at the same
 * distances. Returns how many were within the radius. */
static size_t same_as_scan(const modq_pdq_index *ix, const uint8_t (*probe)[MODQ_PDQ_BYTES],
                           int radius)
{
    size_t n = modq_pdq_index_count(ix), found = 0;
    seen s = {.best = malloc((n ? n : 1) * sizeof(int)),
              .n = n,
              .radius = radius,
              .ix = ix,
              .probe = probe};

    assert_non_null(s.best);
    for (size_t i = 0; i < n; i++) {
        s.best[i] = 999;
    }
    assert_int_equal(modq_pdq_index_search(ix, probe, NPROBE, radius, on_hit, &s), MODQ_BLUR_OK);
    for (size_t i = 0; i < n; i++) {
        int d = 999;
        for (int v = 0; v < NPROBE; v++) {
            int dv = modq_pdq_distance(probe[v], modq_pdq_index_hash(ix, i));
            d = dv < d ? dv : d;
        }
        if (d > radius) {
            d = 999;
        }
        if (s.best[i] != d) {
            fail_msg("position %zu: the scan says %d, the index %d (radius %d)", i, d, s.best[i],
                     radius);
        }
        found += d != 999;
    }
    free(s.best);
    return found;
}

/* A bank of nrandom random hashes, then for each of the probes' 8 variants one hash at every
 * distance 0..32 from it; searched at every radius that changes the chunks' own radius. */
static void check_layout(bool wide, size_t nrandom, uint64_t seed)
{
    static const int radii[] = {0, 1, 10, 11, 15, 16, 21, 22, 31};
    uint8_t probe[NPROBE][MODQ_PDQ_BYTES];
    modq_pdq_index *ix = modq_pdq_index_new();
    uint64_t s = seed;
    size_t total = 0;

    assert_non_null(ix);
    for (int v = 0; v < NPROBE; v++) {
        pt_random_hash(&s, probe[v]);
    }
    for (size_t i = 0; i < nrandom; i++) {
        uint8_t h[MODQ_PDQ_BYTES];
        pt_random_hash(&s, h);
        assert_int_equal(modq_pdq_index_add(ix, h), MODQ_BLUR_OK);
    }
    for (int v = 0; v < NPROBE; v++) {
        for (int d = 0; d <= 32; d++) {
            uint8_t h[MODQ_PDQ_BYTES];
            memcpy(h, probe[v], sizeof h);
            pt_flip_bits(&s, h, d);
            assert_int_equal(modq_pdq_index_add(ix, h), MODQ_BLUR_OK);
        }
    }
    assert_int_equal(blur_pdq_index_build_as(ix, wide), MODQ_BLUR_OK);
    for (size_t k = 0; k < sizeof(radii) / sizeof(radii[0]); k++) {
        size_t found = same_as_scan(ix, (const uint8_t(*)[MODQ_PDQ_BYTES])probe, radii[k]);
        /* At least the planted ones: (radius + 1) per variant. */
        assert_true(found >= (size_t)(NPROBE * (radii[k] + 1)));
        total += found;
    }
    print_message("%s, %zu hashes: %zu found over %zu radii, all as the scan\n",
                  wide ? "11 wide chunks" : "16 narrow chunks", modq_pdq_index_count(ix), total,
                  sizeof(radii) / sizeof(radii[0]));
    modq_pdq_index_free(ix);
}

static void test_narrow_chunks_find_what_a_scan_finds(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        check_layout(false, seed == 1 ? 0 : 20000, seed * 0x9e3779b97f4a7c15u);
    }
}

static void test_wide_chunks_find_what_a_scan_finds(void **state)
{
    (void)state;
    for (uint64_t seed = 5; seed <= 8; seed++) {
        check_layout(true, seed == 5 ? 0 : 20000, seed * 0x9e3779b97f4a7c15u);
    }
}

/* 5,000 copies of one hash (one crowded bucket per chunk) and its neighbours: every copy is
 * reported; a callback that says stop is not called again. */
static int stop_at_first(void *arg, size_t pos, int distance)
{
    (void)pos, (void)distance;
    (*(int *)arg)++;
    return 1;
}

static void test_crowded_buckets_and_stop(void **state)
{
    uint8_t probe[NPROBE][MODQ_PDQ_BYTES], h[MODQ_PDQ_BYTES];
    modq_pdq_index *ix = modq_pdq_index_new();
    uint64_t s = 42;
    int calls = 0;

    (void)state;
    for (int v = 0; v < NPROBE; v++) {
        pt_random_hash(&s, probe[v]);
    }
    for (int i = 0; i < 5000; i++) {
        memcpy(h, probe[i % NPROBE], sizeof h);
        pt_flip_bits(&s, h, i % 40);
        assert_int_equal(modq_pdq_index_add(ix, h), MODQ_BLUR_OK);
    }
    assert_int_equal(modq_pdq_index_build(ix), MODQ_BLUR_OK);
    assert_int_equal(same_as_scan(ix, (const uint8_t(*)[MODQ_PDQ_BYTES])probe, 31), 5000 * 32 / 40);
    assert_int_equal(modq_pdq_index_search(ix, (const uint8_t(*)[MODQ_PDQ_BYTES])probe, NPROBE, 31,
                                           stop_at_first, &calls),
                     MODQ_BLUR_OK);
    assert_int_equal(calls, 1);
    modq_pdq_index_free(ix);
}

static int never(void *arg, size_t pos, int distance)
{
    (void)arg, (void)pos, (void)distance;
    fail_msg("called on an empty index");
    return 0;
}

static void test_api_edges(void **state)
{
    uint8_t h[MODQ_PDQ_BYTES] = {0};
    modq_pdq_index *ix = modq_pdq_index_new(), *empty = modq_pdq_index_new();
    const uint8_t(*probe)[MODQ_PDQ_BYTES] = (const uint8_t(*)[MODQ_PDQ_BYTES])h;

    (void)state;
    assert_int_equal(modq_pdq_index_add(ix, h), MODQ_BLUR_OK);
    /* Not searchable before it is built; nothing added after. */
    assert_int_equal(modq_pdq_index_search(ix, probe, 1, 31, never, NULL),
                     MODQ_BLUR_ERR_INVALID_ARG);
    assert_int_equal(modq_pdq_index_build(ix), MODQ_BLUR_OK);
    assert_int_equal(modq_pdq_index_build(ix), MODQ_BLUR_ERR_INVALID_ARG);
    assert_int_equal(modq_pdq_index_add(ix, h), MODQ_BLUR_ERR_INVALID_ARG);
    assert_int_equal(modq_pdq_index_search(ix, probe, 1, 32, never, NULL),
                     MODQ_BLUR_ERR_INVALID_ARG);
    assert_int_equal(modq_pdq_index_search(ix, probe, 1, -1, never, NULL),
                     MODQ_BLUR_ERR_INVALID_ARG);
    assert_int_equal(modq_pdq_index_search(ix, NULL, 1, 31, never, NULL),
                     MODQ_BLUR_ERR_INVALID_ARG);
    assert_int_equal(modq_pdq_index_search(ix, probe, 0, 31, never, NULL), MODQ_BLUR_OK);
    assert_null(modq_pdq_index_hash(ix, 1));
    assert_true(modq_pdq_index_bytes(ix) > MODQ_PDQ_BYTES);
    assert_int_equal(modq_pdq_index_build(empty), MODQ_BLUR_OK);
    assert_int_equal(modq_pdq_index_search(empty, probe, 1, 31, never, NULL), MODQ_BLUR_OK);
    modq_pdq_index_free(ix);
    modq_pdq_index_free(empty);
    modq_pdq_index_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_narrow_chunks_find_what_a_scan_finds),
        cmocka_unit_test(test_wide_chunks_find_what_a_scan_finds),
        cmocka_unit_test(test_crowded_buckets_and_stop),
        cmocka_unit_test(test_api_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
