/*
 * test_worker_decided.c: the decided set (worker/prepare/decided.c): tickets and media remembered,
 * the latest decision on the same bytes wins, retention at its exact boundary, eviction at the
 * cap reported, growth past many rehashes, and a randomized comparison with a plain model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

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
    assert_int_equal(modq_decided_add(d, "t-1", sha, 2, "csam,ncmec", 1000, NULL), 0);
    assert_int_equal(modq_decided_add(d, "t-2", NULL, 1, NULL, 2000, NULL), 0);
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
    assert_int_equal(modq_decided_add(d, "t-9", sha, 1, "", 3000, NULL), 0);
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
    assert_int_equal(modq_decided_add(d, "", NULL, 1, NULL, 0, NULL), -1);
    assert_int_equal(modq_decided_add(d, NULL, NULL, 1, NULL, 0, NULL), -1);
    assert_int_equal(modq_decided_add(d, long_id, NULL, 1, NULL, 0, NULL), -1);
    long_id[MODQ_DECIDED_MAX_ID] = '\0';
    assert_int_equal(modq_decided_add(d, long_id, NULL, 1, NULL, 0, NULL), 0);
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
    modq_decided_add(d, "old", sha, 2, NULL, 1000, NULL);
    modq_decided_add(d, "new", NULL, 2, NULL, 5000, NULL);
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
    modq_decided_add(d, "a", NULL, 1, NULL, 1, &evicted);
    modq_decided_add(d, "b", NULL, 1, NULL, 2, &evicted);
    modq_decided_add(d, "c", NULL, 1, NULL, 3, &evicted);
    assert_int_equal(evicted, 0);
    modq_decided_add(d, "d", NULL, 1, NULL, 4, &evicted);
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
        assert_int_equal(modq_decided_add(d, id, sha, i % 4, NULL, i, &evicted), 0);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decided_remembers_tickets_and_media),
        cmocka_unit_test(test_decided_refuses_bad_ids),
        cmocka_unit_test(test_decided_expiry_boundary_is_exact),
        cmocka_unit_test(test_decided_evicts_oldest_at_cap_and_says_so),
        cmocka_unit_test(test_decided_matches_model_through_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
