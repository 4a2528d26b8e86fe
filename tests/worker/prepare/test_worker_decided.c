/*
 * test_worker_decided.c: the decided set (worker/prepare/decided.c): tickets and media remembered,
 * the latest decision on the same bytes wins, retention at its exact boundary, eviction at the
 * cap reported, growth past many rehashes, and a randomized comparison with a plain model. Near
 * copies (worker/prepare/decided_near.c): the nearest decided PDQ hash within a distance, only of
 * the verdicts asked for, the newest on a tie, forgotten with its decision, and the same as a
 * brute-force scan through several rebuilds of the index while decisions come and expire.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pdq_testutil.h"
#include "prepare/decided.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUR (3600 * 1000LL)

static void sha_of(int i, uint8_t out[32])
{
    memset(out, 0, 32);
    memcpy(out, &i, sizeof(i));
    out[31] = 0xa5;
}

static void test_decided_remembers_tickets_and_media(void **state)
{
    modq_decided *d = modq_decided_new(100, 24 * HOUR);
    uint8_t sha[32], other[32];
    modq_decided_prior p;

    (void)state;
    sha_of(1, sha);
    sha_of(2, other);
    assert_int_equal(modq_decided_add(d, "t-1", sha, NULL, 2, "csam,ncmec", 1000, NULL), 0);
    assert_int_equal(modq_decided_add(d, "t-2", NULL, NULL, 1, NULL, 2000, NULL), 0);
    assert_true(modq_decided_has_ticket(d, "t-1"));
    assert_true(modq_decided_has_ticket(d, "t-2"));
    assert_false(modq_decided_has_ticket(d, "t-3"));
    assert_true(modq_decided_find_media(d, sha, &p));
    assert_string_equal(p.ticket_id, "t-1");
    assert_int_equal(p.verdict, 2);
    assert_string_equal(p.labels, "csam,ncmec");
    assert_int_equal(p.decided_at_ms, 1000);
    assert_false(modq_decided_find_media(d, other, &p));
    /* A later decision on the same bytes is the one found. */
    assert_int_equal(modq_decided_add(d, "t-9", sha, NULL, 1, "", 3000, NULL), 0);
    assert_true(modq_decided_find_media(d, sha, &p));
    assert_string_equal(p.ticket_id, "t-9");
    assert_int_equal(p.verdict, 1);
    assert_int_equal(modq_decided_count(d), 3);
    modq_decided_free(d);
}

static void test_decided_refuses_bad_ids(void **state)
{
    modq_decided *d = modq_decided_new(10, HOUR);
    char long_id[MODQ_DECIDED_MAX_ID + 2];

    (void)state;
    memset(long_id, 'x', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    assert_int_equal(modq_decided_add(d, "", NULL, NULL, 1, NULL, 0, NULL), -1);
    assert_int_equal(modq_decided_add(d, NULL, NULL, NULL, 1, NULL, 0, NULL), -1);
    assert_int_equal(modq_decided_add(d, long_id, NULL, NULL, 1, NULL, 0, NULL), -1);
    long_id[MODQ_DECIDED_MAX_ID] = '\0';
    assert_int_equal(modq_decided_add(d, long_id, NULL, NULL, 1, NULL, 0, NULL), 0);
    assert_null(modq_decided_new(0, HOUR));
    assert_null(modq_decided_new(10, 0));
    modq_decided_free(d);
}

static void test_decided_expiry_boundary_is_exact(void **state)
{
    modq_decided *d = modq_decided_new(100, 24 * HOUR);
    uint8_t sha[32];
    modq_decided_prior p;

    (void)state;
    sha_of(7, sha);
    modq_decided_add(d, "old", sha, NULL, 2, NULL, 1000, NULL);
    modq_decided_add(d, "new", NULL, NULL, 2, NULL, 5000, NULL);
    /* Kept while decided_at >= now - retention. */
    assert_int_equal(modq_decided_expire(d, 1000 + 24 * HOUR), 0);
    assert_true(modq_decided_has_ticket(d, "old"));
    assert_int_equal(modq_decided_expire(d, 1001 + 24 * HOUR), 1);
    assert_false(modq_decided_has_ticket(d, "old"));
    assert_false(modq_decided_find_media(d, sha, &p));
    assert_true(modq_decided_has_ticket(d, "new"));
    modq_decided_free(d);
}

static void test_decided_evicts_oldest_at_cap_and_says_so(void **state)
{
    modq_decided *d = modq_decided_new(3, 24 * HOUR);
    uint64_t evicted = 0;

    (void)state;
    modq_decided_add(d, "a", NULL, NULL, 1, NULL, 1, &evicted);
    modq_decided_add(d, "b", NULL, NULL, 1, NULL, 2, &evicted);
    modq_decided_add(d, "c", NULL, NULL, 1, NULL, 3, &evicted);
    assert_int_equal(evicted, 0);
    modq_decided_add(d, "d", NULL, NULL, 1, NULL, 4, &evicted);
    assert_int_equal(evicted, 1);
    assert_false(modq_decided_has_ticket(d, "a"));
    assert_true(modq_decided_has_ticket(d, "b"));
    assert_true(modq_decided_has_ticket(d, "d"));
    assert_int_equal(modq_decided_count(d), 3);
    modq_decided_free(d);
}

/* Many entries through several table doublings, checked against a plain array model. */
static void test_decided_matches_model_through_growth(void **state)
{
    enum { N = 50000, CAP = 30000 };
    modq_decided *d = modq_decided_new(CAP, 1000 * HOUR);
    uint64_t evicted = 0, rng = 42;
    char id[32];

    (void)state;
    for (int i = 0; i < N; i++) {
        uint8_t sha[32];
        sha_of(i % 20000, sha); /* media repeats: later decisions replace earlier ones */
        snprintf(id, sizeof(id), "ticket-%d", i);
        assert_int_equal(modq_decided_add(d, id, sha, NULL, i % 4, NULL, i, &evicted), 0);
    }
    assert_int_equal(evicted, N - CAP);
    assert_int_equal(modq_decided_count(d), CAP);
    for (int k = 0; k < 2000; k++) {
        int i;
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        i = (int)((rng >> 33) % N);
        snprintf(id, sizeof(id), "ticket-%d", i);
        assert_int_equal(modq_decided_has_ticket(d, id), i >= N - CAP);
    }
    for (int m = 0; m < 20000; m += 997) {
        uint8_t sha[32];
        modq_decided_prior p;
        int latest = m + 20000 * ((N - 1 - m) / 20000);
        sha_of(m, sha);
        assert_true(modq_decided_find_media(d, sha, &p));
        snprintf(id, sizeof(id), "ticket-%d", latest);
        assert_string_equal(p.ticket_id, id);
    }
    modq_decided_free(d);
}

/* The 8 probes: base as variant 0, the others random (far from everything). */
static void probes_of(uint64_t *s, const uint8_t *base, uint8_t probe[8][MODQ_PDQ_BYTES])
{
    memcpy(probe[0], base, MODQ_PDQ_BYTES);
    for (int v = 1; v < 8; v++) {
        pt_random_hash(s, probe[v]);
    }
}

static void flip(uint8_t h[MODQ_PDQ_BYTES], int first, int n)
{
    for (int b = first; b < first + n; b++) {
        h[b / 8] ^= (uint8_t)(0x80 >> (b % 8));
    }
}

static void test_decided_finds_near_copies(void **state)
{
    modq_decided *d = modq_decided_new(100, 24 * HOUR);
    uint8_t base[MODQ_PDQ_BYTES], h[MODQ_PDQ_BYTES], probe[8][MODQ_PDQ_BYTES];
    char hex[MODQ_PDQ_HEX_LEN + 1], want[MODQ_PDQ_HEX_LEN + 1];
    const unsigned removals = 1u << 2 | 1u << 4;
    uint64_t s = 3;
    modq_decided_prior p;
    int dist = -1;

    (void)state;
    pt_random_hash(&s, base);
    probes_of(&s, base, probe);
    memcpy(h, base, sizeof h);
    flip(h, 0, 12);
    assert_int_equal(modq_decided_add(d, "removed-12", NULL, h, 2, "gore", 1000, NULL), 0);
    memcpy(h, base, sizeof h);
    flip(h, 100, 5);
    assert_int_equal(modq_decided_add(d, "fine-5", NULL, h, 1, "", 2000, NULL), 0);
    /* Nearest within 16 among the removals: the no_violation one at 5 is not asked for. */
    assert_true(
        modq_decided_find_near(d, (const uint8_t(*)[32])probe, 16, removals, &p, &dist, hex));
    assert_string_equal(p.ticket_id, "removed-12");
    assert_int_equal(dist, 12);
    assert_string_equal(p.labels, "gore");
    memcpy(h, base, sizeof h);
    flip(h, 0, 12);
    modq_pdq_to_hex(h, want);
    assert_string_equal(hex, want);
    assert_false(
        modq_decided_find_near(d, (const uint8_t(*)[32])probe, 11, removals, &p, &dist, NULL));
    /* A tie: the newer decision. */
    memcpy(h, base, sizeof h);
    flip(h, 50, 12);
    assert_int_equal(modq_decided_add(d, "removed-12-later", NULL, h, 4, "", 3000, NULL), 0);
    assert_true(
        modq_decided_find_near(d, (const uint8_t(*)[32])probe, 16, removals, &p, &dist, NULL));
    assert_string_equal(p.ticket_id, "removed-12-later");
    assert_int_equal(modq_decided_near_count(d), 3);
    /* Expired with its decision: the older ones go, the newest stays. */
    assert_int_equal(modq_decided_expire(d, 24 * HOUR + 2500), 2);
    assert_int_equal(modq_decided_near_count(d), 1);
    assert_true(
        modq_decided_find_near(d, (const uint8_t(*)[32])probe, 16, removals, &p, &dist, NULL));
    assert_string_equal(p.ticket_id, "removed-12-later");
    modq_decided_free(d);
}

/* 20,000 decisions (every fifth one without a PDQ hash) into a set of 12,000: evictions and
 * several rebuilds; every probe's answer is a scan's over what is still remembered. */
static void test_decided_near_matches_a_scan(void **state)
{
    enum { N = 20000, CAP = 12000, PROBES = 60 };
    modq_decided *d = modq_decided_new(CAP, 1000 * HOUR);
    uint8_t(*h)[MODQ_PDQ_BYTES] = malloc(N * MODQ_PDQ_BYTES);
    uint8_t probe[8][MODQ_PDQ_BYTES];
    uint64_t s = 11;
    char id[32];

    (void)state;
    assert_non_null(h);
    for (int i = 0; i < N; i++) {
        if (i % 50 == 7 && i > 100) {
            memcpy(h[i], h[i - 100 + (int)(pt_rnd(&s) % 50)], MODQ_PDQ_BYTES);
            flip(h[i], (int)(pt_rnd(&s) % 200), (int)(pt_rnd(&s) % 30)); /* near an earlier one */
        } else {
            pt_random_hash(&s, h[i]);
        }
        snprintf(id, sizeof(id), "t-%d", i);
        assert_int_equal(modq_decided_add(d, id, NULL, i % 5 ? h[i] : NULL, 2 + i % 3, "", i, NULL),
                         0);
    }
    for (int k = 0; k < PROBES; k++) {
        int target = N - 1 - (int)(pt_rnd(&s) % (N - 1000)), best = -1, bd = 99, dist = -1;
        modq_decided_prior p;
        int got;

        memcpy(probe[0], h[target], MODQ_PDQ_BYTES);
        flip(probe[0], (int)(pt_rnd(&s) % 200), (int)(pt_rnd(&s) % 20));
        probes_of(&s, probe[0], probe);
        for (int i = N - CAP; i < N; i++) { /* the remembered ones; the newest wins a tie */
            int dv = i % 5 ? modq_pdq_distance_dihedral((const uint8_t(*)[32])probe, h[i]) : 99;
            if (dv <= 20 && i % 3 != 2 && dv <= bd) { /* verdicts 2 and 3 only */
                bd = dv;
                best = i;
            }
        }
        got = modq_decided_find_near(d, (const uint8_t(*)[32])probe, 20, 1u << 2 | 1u << 3, &p,
                                     &dist, NULL);
        assert_int_equal(got, best >= 0);
        if (got) {
            snprintf(id, sizeof(id), "t-%d", best);
            assert_string_equal(p.ticket_id, id);
            assert_int_equal(dist, bd);
        }
    }
    assert_int_equal(modq_decided_near_count(d), CAP - CAP / 5);
    free(h);
    modq_decided_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decided_remembers_tickets_and_media),
        cmocka_unit_test(test_decided_refuses_bad_ids),
        cmocka_unit_test(test_decided_expiry_boundary_is_exact),
        cmocka_unit_test(test_decided_evicts_oldest_at_cap_and_says_so),
        cmocka_unit_test(test_decided_matches_model_through_growth),
        cmocka_unit_test(test_decided_finds_near_copies),
        cmocka_unit_test(test_decided_near_matches_a_scan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
