/*
 * test_worker_offsets.c: tests of worker/kafka/offsets.c, the per-partition completion tracker.
 *
 * The property that matters: after any crash, no offset is skipped that was not completed, and
 * every completed offset that fit the metadata cap is skipped. The randomised test checks it
 * against an oracle over many lives; it is deterministic (splitmix64 seeded from MODQ_TEST_SEED,
 * default below) and prints its seed so that a failure can be replayed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kafka/offsets.h"

#include <openssl/evp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsets_testutil.h"

static void test_watermark_advances_with_in_order_completions(void **state)
{
    (void)state;
    char md[MODQ_OFFSETS_METADATA_BUF];
    modq_offsets *t = mk(100, NULL, CAP);
    assert_int_equal(commit(t, md, CAP), 100);
    for (int64_t o = 100; o < 110; o++) {
        assert_int_equal(modq_offsets_track(t, o), MODQ_OFFSETS_OK);
    }
    assert_int_equal(modq_offsets_in_flight(t), 10);
    for (int64_t o = 100; o < 110; o++) {
        assert_int_equal(commit(t, md, CAP), o);
        assert_int_equal(modq_offsets_complete(t, o), MODQ_OFFSETS_OK);
        assert_int_equal(commit(t, md, CAP), o + 1);
        assert_string_equal(md, ""); /* nothing done above the watermark */
        assert_int_equal(modq_offsets_lag(t), 109 - o);
    }
    assert_int_equal(modq_offsets_completed(t), 10);
    assert_int_equal(modq_offsets_in_flight(t), 0);
    modq_offsets_free(t);
}

static void test_watermark_held_by_oldest_incomplete_offset(void **state)
{
    (void)state;
    uint64_t s = test_seed();
    char md[MODQ_OFFSETS_METADATA_BUF];
    enum { N = 500 };
    int64_t order[N];
    bool done[N] = {false};
    for (int i = 0; i < N; i++) {
        order[i] = i;
    }
    for (int i = N - 1; i > 0; i--) {
        int j = (int)rnd(&s, (uint64_t)i + 1);
        int64_t x = order[i];
        order[i] = order[j];
        order[j] = x;
    }
    modq_offsets *t = mk(0, "", CAP);
    for (int64_t o = 0; o < N; o++) {
        assert_int_equal(modq_offsets_track(t, o), MODQ_OFFSETS_OK);
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(modq_offsets_complete(t, order[i]), MODQ_OFFSETS_OK);
        done[order[i]] = true;
        int64_t low = 0;
        while (low < N && done[low]) {
            low++;
        }
        assert_int_equal(commit(t, md, CAP), low);
        for (int64_t o = 0; o < N; o++) {
            assert_int_equal(modq_offsets_is_done(t, o), done[o]);
        }
    }
    modq_offsets_free(t);
}

static void test_offsets_passed_over_count_as_done(void **state)
{
    (void)state;
    char md[MODQ_OFFSETS_METADATA_BUF];
    modq_offsets *t = mk(0, NULL, CAP);
    assert_int_equal(modq_offsets_track(t, 0), MODQ_OFFSETS_OK);
    assert_int_equal(modq_offsets_track(t, 5), MODQ_OFFSETS_OK); /* 1..4: transaction markers */
    assert_true(modq_offsets_is_done(t, 3));
    assert_false(modq_offsets_is_done(t, 5));
    assert_false(modq_offsets_is_done(t, 6));
    assert_int_equal(modq_offsets_complete(t, 0), MODQ_OFFSETS_OK);
    assert_int_equal(commit(t, md, CAP), 5);
    assert_int_equal(modq_offsets_complete(t, 3), MODQ_OFFSETS_ALREADY_DONE);
    assert_int_equal(modq_offsets_complete(t, 7), MODQ_OFFSETS_ERR_NOT_TRACKED);
    assert_int_equal(modq_offsets_complete(t, 5), MODQ_OFFSETS_OK);
    assert_int_equal(commit(t, md, CAP), 6);
    modq_offsets_free(t);
}

static void test_misuse_gets_documented_results(void **state)
{
    (void)state;
    char md[MODQ_OFFSETS_METADATA_BUF];
    int64_t off = 0;
    modq_offsets *t = NULL;
    assert_int_equal(modq_offsets_new(0, NULL, MODQ_OFFSETS_CAP_MIN - 1, &t, NULL, 0),
                     MODQ_OFFSETS_ERR_INVALID_ARG);
    assert_null(t);
    assert_int_equal(modq_offsets_new(0, NULL, MODQ_OFFSETS_CAP_MAX + 1, &t, NULL, 0),
                     MODQ_OFFSETS_ERR_INVALID_ARG);
    assert_null(t);
    assert_int_equal(modq_offsets_new(0, NULL, CAP, NULL, NULL, 0), MODQ_OFFSETS_ERR_INVALID_ARG);
    assert_int_equal(modq_offsets_new(INT64_MAX, NULL, CAP, &t, NULL, 0),
                     MODQ_OFFSETS_ERR_INVALID_ARG);
    assert_null(t);
    t = mk(10, NULL, CAP);
    assert_int_equal(modq_offsets_track(t, -1), MODQ_OFFSETS_ERR_INVALID_ARG);
    assert_int_equal(modq_offsets_track(NULL, 1), MODQ_OFFSETS_ERR_INVALID_ARG);
    assert_int_equal(modq_offsets_track(t, INT64_MAX), MODQ_OFFSETS_ERR_INVALID_ARG);
    assert_int_equal(modq_offsets_complete(t, -1), MODQ_OFFSETS_ERR_INVALID_ARG);
    assert_int_equal(modq_offsets_track(t, 3), MODQ_OFFSETS_ALREADY_DONE); /* below committed */
    assert_int_equal(modq_offsets_track(t, 10), MODQ_OFFSETS_OK);
    assert_int_equal(modq_offsets_track(t, 10), MODQ_OFFSETS_ERR_IN_FLIGHT);
    assert_int_equal(modq_offsets_complete(t, 11), MODQ_OFFSETS_ERR_NOT_TRACKED);
    assert_int_equal(modq_offsets_complete(t, 10), MODQ_OFFSETS_OK);
    assert_int_equal(modq_offsets_complete(t, 10), MODQ_OFFSETS_ALREADY_DONE);
    assert_int_equal(modq_offsets_track(t, 10), MODQ_OFFSETS_ALREADY_DONE);
    assert_int_equal(modq_offsets_completed(t), 1);
    assert_int_equal(modq_offsets_commit_point(t, &off, md, CAP), MODQ_OFFSETS_ERR_INVALID_ARG);
    assert_int_equal(modq_offsets_commit_point(t, &off, md, CAP + 1), MODQ_OFFSETS_OK);
    assert_int_equal(off, 11);
    for (int r = 0; r <= MODQ_OFFSETS_RESULT_COUNT; r++) {
        assert_non_null(modq_offsets_strerror((modq_offsets_result)r));
    }
    modq_offsets_free(t);
    modq_offsets_free(NULL);
}

static void test_tracker_without_commit_anchors_on_first_offset(void **state)
{
    (void)state;
    char md[MODQ_OFFSETS_METADATA_BUF];
    int64_t off = 0;
    modq_offsets *t = mk(-1001, NULL, CAP); /* RD_KAFKA_OFFSET_INVALID */
    assert_int_equal(modq_offsets_commit_point(t, &off, md, sizeof md), MODQ_OFFSETS_NO_POSITION);
    assert_int_equal(off, -1);
    assert_false(modq_offsets_is_done(t, 0));
    assert_int_equal(modq_offsets_complete(t, 0), MODQ_OFFSETS_ERR_NOT_TRACKED);
    assert_int_equal(modq_offsets_track(t, 500), MODQ_OFFSETS_OK);
    assert_int_equal(commit(t, md, CAP), 500);
    modq_offsets_free(t);
}

/* Tracks [from, to), passing over offsets where absent[] is set, completing where done[] is set
 * (right away, so that at most the not-done ones are in flight). Arrays are indexed from 0 = from.
 */
static modq_offsets *build(int64_t from, int64_t to, const bool *absent, const bool *done,
                           size_t cap)
{
    modq_offsets *t = mk(from, NULL, cap);
    for (int64_t o = from; o < to; o++) {
        if (!absent[o - from]) {
            assert_int_equal(modq_offsets_track(t, o), MODQ_OFFSETS_OK);
            if (done[o - from]) {
                assert_int_equal(modq_offsets_complete(t, o), MODQ_OFFSETS_OK);
            }
        }
    }
    return t;
}

static void test_metadata_round_trip_restores_exactly_the_done_offsets(void **state)
{
    (void)state;
    uint64_t s = test_seed() ^ 1;
    enum { N = 3000 };
    static bool absent[N], done[N];
    char md[MODQ_OFFSETS_METADATA_BUF], md2[MODQ_OFFSETS_METADATA_BUF];
    const int64_t base = INT64_C(1000000000000); /* large offsets: multi-byte varints */
    for (int round = 0; round < 40; round++) {
        unsigned pdone = (unsigned)rnd(&s, 100);
        for (int i = 0; i < N; i++) {
            absent[i] = rnd(&s, 100) < 3;
            done[i] = rnd(&s, 100) < pdone;
        }
        int n = 1 + (int)rnd(&s, N);
        absent[0] = false;
        int last = n - 1; /* absent offsets after the last delivered one are not known yet */
        while (absent[last]) {
            last--;
        }
        modq_offsets *t = build(base, base + n, absent, done, CAP);
        int64_t off = commit(t, md, CAP);
        assert_false(modq_offsets_metadata_truncated(t));
        modq_offsets *u = mk(off, md, CAP);
        for (int64_t o = base; o < base + n + 5; o++) {
            bool truth = o <= base + last && (absent[o - base] || done[o - base]);
            assert_int_equal(modq_offsets_is_done(u, o), truth);
            assert_int_equal(modq_offsets_is_done(t, o), truth);
        }
        /* Nothing new happened, so the new tracker commits the very same thing. */
        assert_int_equal(commit(u, md2, CAP), off);
        assert_string_equal(md2, md);
        modq_offsets_free(t);
        modq_offsets_free(u);
    }
}

static void test_metadata_of_another_offset_is_ignored(void **state)
{
    (void)state;
    char md[MODQ_OFFSETS_METADATA_BUF], err[256];
    bool absent[8] = {false}, done[8] = {false, true, false, true, true, false, true, false};
    modq_offsets *t = build(40, 48, absent, done, CAP);
    int64_t off = commit(t, md, CAP);
    assert_int_equal(off, 40);
    modq_offsets *u = NULL;
    /* As after an operator reset the group to 38 or 41: the runs would land on other offsets. */
    for (int64_t c = 38; c <= 41; c += 3) {
        assert_int_equal(modq_offsets_new(c, md, CAP, &u, err, sizeof err),
                         MODQ_OFFSETS_ERR_META_STALE);
        assert_non_null(u);
        assert_true(strlen(err) > 0);
        for (int64_t o = c; o < 60; o++) {
            assert_false(modq_offsets_is_done(u, o));
        }
        modq_offsets_free(u);
        u = NULL;
    }
    assert_int_equal(modq_offsets_new(-1, md, CAP, &u, err, sizeof err),
                     MODQ_OFFSETS_ERR_META_STALE);
    assert_non_null(u);
    modq_offsets_free(u);
    modq_offsets_free(t);
}

/* Tracks 0 .. 2n-1 and completes odd offsets one by one until should_pause first says yes;
 * checks it said no at every length below 75% of cap and yes at the first length at or above. */
static size_t pause_boundary(size_t cap, modq_offsets **out)
{
    char md[MODQ_OFFSETS_METADATA_BUF];
    modq_offsets *t = mk(0, NULL, cap);
    int64_t n = (int64_t)cap * 2;
    for (int64_t o = 0; o < n; o++) {
        assert_int_equal(modq_offsets_track(t, o), MODQ_OFFSETS_OK);
    }
    size_t prev = 0, len = 0;
    for (int64_t o = 1; o < n; o += 2) {
        assert_int_equal(modq_offsets_complete(t, o), MODQ_OFFSETS_OK);
        commit(t, md, cap);
        len = strlen(md);
        bool expect = len * 4 >= cap * 3;
        assert_int_equal(modq_offsets_should_pause(t), expect);
        if (expect) {
            break;
        }
        prev = len;
    }
    assert_true(len * 4 >= cap * 3);
    assert_true(prev * 4 < cap * 3);
    assert_false(modq_offsets_metadata_truncated(t));
    *out = t;
    return len;
}

static void test_pause_threshold_exact_boundary(void **state)
{
    (void)state;
    modq_offsets *t = NULL;
    /* Metadata lengths are 3 + 4k (prefix, padded base64), so with a cap of 2996 the 75% line,
     * 2247, is a length the encoding reaches: pausing must start exactly there. */
    size_t len = pause_boundary(2996, &t);
    assert_int_equal(len * 4, 2996 * 3);
    modq_offsets_free(t);
    len = pause_boundary(CAP, &t);
    assert_true(len - 4 < CAP * 3 / 4);
    modq_offsets_free(t);
    pause_boundary(MODQ_OFFSETS_CAP_MIN, &t);
    modq_offsets_free(t);
}

static void test_pause_has_hysteresis_down_to_half_the_cap(void **state)
{
    (void)state;
    modq_offsets *t = NULL;
    char md[MODQ_OFFSETS_METADATA_BUF];
    pause_boundary(CAP, &t);
    int64_t top = 0;
    assert_int_equal(commit(t, md, CAP), 0);
    while (modq_offsets_is_done(t, top + 1)) {
        top += 2;
    }
    /* Completing in-flight offsets from the top merges runs: the metadata shrinks. */
    bool held_below_line = false;
    for (int64_t o = top; o > 0; o -= 2) {
        assert_int_equal(modq_offsets_complete(t, o), MODQ_OFFSETS_OK);
        size_t len = modq_offsets_metadata_len(t);
        bool paused = modq_offsets_should_pause(t);
        if (len * 2 >= CAP) {
            assert_true(paused);
            held_below_line |= len * 4 < CAP * 3;
        } else {
            assert_false(paused);
            break;
        }
    }
    assert_true(held_below_line);
    modq_offsets_free(t);
}

static void test_no_pause_while_replaying_known_offsets(void **state)
{
    (void)state;
    modq_offsets *t = NULL;
    char md[MODQ_OFFSETS_METADATA_BUF];
    pause_boundary(CAP, &t);
    int64_t off = commit(t, md, CAP);
    modq_offsets_free(t);
    t = mk(off, md, CAP);
    /* Pausing now would stop the fetches that resolve the known offsets: never ending. */
    assert_false(modq_offsets_should_pause(t));
    int64_t o = off;
    while (modq_offsets_metadata_len(t) > 0 && !modq_offsets_should_pause(t)) {
        bool was_done = modq_offsets_is_done(t, o);
        assert_int_equal(was_done, o % 2 == 1); /* the odd ones were completed last life */
        assert_int_equal(modq_offsets_track(t, o),
                         was_done ? MODQ_OFFSETS_ALREADY_DONE : MODQ_OFFSETS_OK);
        o++;
    }
    /* Past the known offsets the reviews in flight are what holds the metadata: now pause. */
    assert_true(modq_offsets_should_pause(t));
    assert_true(modq_offsets_metadata_len(t) * 4 >= CAP * 3);
    for (int64_t k = off; k < o; k += 2) {
        assert_int_equal(modq_offsets_complete(t, k), MODQ_OFFSETS_OK);
    }
    assert_false(modq_offsets_should_pause(t));
    assert_int_equal(commit(t, md, CAP), o);
    modq_offsets_free(t);
}

/*
 * Restarts from t's commit point and checks the new tracker: it never claims done an offset that
 * truth[] (indexed from 0 = from) says is not, and when nothing was cut for the cap it claims
 * exactly the true ones. Returns how many offsets at or above the commit offset it claims.
 */
static size_t restart_claims(const modq_offsets *t, int64_t from, int64_t to, const bool *truth)
{
    char md[MODQ_OFFSETS_METADATA_BUF];
    int64_t off = commit(t, md, CAP);
    bool exact = !modq_offsets_metadata_truncated(t);
    modq_offsets *u = mk(off, md, CAP);
    size_t claimed = 0;
    for (int64_t o = from; o < to + 10; o++) {
        bool d = modq_offsets_is_done(u, o);
        bool real = o < to && truth[o - from];
        assert_true(!d || real);
        if (exact && o >= off) {
            assert_int_equal(d, real);
        }
        claimed += d && o >= off;
    }
    modq_offsets_free(u);
    return claimed;
}

/* Fills done[] for one pattern of n offsets; the first offset is never done (the watermark). */
static const char *pattern(int p, uint64_t *s, int n, bool *done)
{
    static const char *const names[] = {
        "every other done (adversarial)",
        "random half done (adversarial)",
        "one in 97 in flight",
        "5 long reviews, the rest done",
        "1 000 offsets, 20 in review",
        "10 000 offsets, 100 in review",
        "100 000 offsets, 400 in review",
    };
    static const int inflight[] = {0, 0, 0, 0, 20, 100, 400};
    for (int i = 0; i < n; i++) {
        done[i] = p == 0   ? i % 2 == 1
                  : p == 1 ? rnd(s, 2) == 1
                  : p == 2 ? i % 97 != 0
                  : p == 3 ? !(i == 0 || i == n / 11 || i == n / 3 || i == n / 2 || i == n - 9)
                           : true;
    }
    done[0] = false;
    for (int k = 1; p >= 4 && k < inflight[p]; k++) {
        done[rnd(s, (uint64_t)n)] = false;
    }
    return names[p];
}

static void test_cap_holds_for_adversarial_patterns(void **state)
{
    (void)state;
    uint64_t s = test_seed() ^ 2;
    enum { N = 100000 };
    static bool absent[N], done[N], truth[N];
    static const int span[] = {N, N, N, N, 1000, 10000, N};
    for (int p = 0; p < 7; p++) {
        int n = span[p];
        const char *name = pattern(p, &s, n, done);
        for (int i = 0; i < n; i++) {
            absent[i] = p == 1 && i > 0 && rnd(&s, 100) < 5;
            truth[i] = absent[i] || done[i];
        }
        const int64_t base = INT64_C(2000000000);
        modq_offsets *t = build(base, base + n, absent, done, CAP);
        size_t len = modq_offsets_metadata_len(t);
        assert_true(len <= CAP);
        size_t claimed = restart_claims(t, base, base + n, truth);
        size_t want = 0;
        for (int i = 0; i < n; i++) {
            want += truth[i];
        }
        printf("  %-32s metadata %4zu bytes%s, restart skips %6zu of %6zu done\n", name, len,
               modq_offsets_metadata_truncated(t) ? " (cut at cap)" : "", claimed, want);
        modq_offsets_free(t);
    }
}

/* Metadata forged with a valid checksum, to reach the run checks behind it. */
static uint32_t crc32_ref(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) {
            c = (c & 1u) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
        }
    }
    return ~c;
}

static void forge(const uint8_t *payload, size_t n, char *out)
{
    uint8_t bin[64];
    assert_true(n + 4 <= sizeof bin);
    memcpy(bin, payload, n);
    uint32_t crc = crc32_ref(payload, n);
    for (int i = 0; i < 4; i++) {
        bin[n + (size_t)i] = (uint8_t)(crc >> (8 * i));
    }
    memcpy(out, "v1:", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, bin, (int)n + 4);
}

static void expect_rejected(int64_t committed, const char *md, modq_offsets_result want)
{
    modq_offsets *t = NULL;
    char err[256];
    modq_offsets_result r = modq_offsets_new(committed, md, CAP, &t, err, sizeof err);
    if (r != want) {
        fail_msg("metadata '%.40s': got %s, want %s", md, modq_offsets_strerror(r),
                 modq_offsets_strerror(want));
    }
    assert_non_null(t);
    assert_true(strlen(err) > 0);
    for (int64_t o = committed; o < committed + 64; o++) {
        assert_false(modq_offsets_is_done(t, o));
    }
    char out[MODQ_OFFSETS_METADATA_BUF];
    assert_int_equal(commit(t, out, CAP), committed);
    modq_offsets_free(t);
}

static void test_bad_metadata_falls_back_to_the_committed_offset(void **state)
{
    (void)state;
    const char *malformed[] = {
        "garbage", "V1:AAAA", " v1:AAAA",    "v1:",          "v1:A",  "v1:AAA",
        "v1:!!!!", "v1:AAAA", "v1:AA==AA==", "v1:AAAA AAAA", "v:AAAA"};
    for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
        expect_rejected(0, malformed[i], MODQ_OFFSETS_ERR_META_MALFORMED);
    }
    expect_rejected(0, "v2:AAAA", MODQ_OFFSETS_ERR_META_VERSION);
    expect_rejected(7, "v10:anything", MODQ_OFFSETS_ERR_META_VERSION);

    size_t huge = 1u << 20;
    char *big = malloc(huge + 1);
    assert_non_null(big);
    memcpy(big, "v1:", 3);
    memset(big + 3, 'A', huge - 3);
    big[huge] = '\0';
    expect_rejected(0, big, MODQ_OFFSETS_ERR_META_TOO_LARGE);
    big[MODQ_OFFSETS_METADATA_MAX] = '\0'; /* at the limit: read, but not a valid payload */
    expect_rejected(0, big, MODQ_OFFSETS_ERR_META_MALFORMED);
    free(big);

    char md[128];
    const uint8_t stale[] = {5, 0, 0};             /* base 5, committed 0 */
    const uint8_t overlong[] = {0x80, 0x00, 0, 0}; /* base 0 as a two-byte varint */
    const uint8_t cut[] = {0, 0x81};               /* a run cut inside its varint */
    const uint8_t odd[] = {0, 0, 0, 0};            /* a not-done run without its done run */
    const uint8_t overflow[] = {0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 5};
    const uint8_t wide[] = {0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0};
    forge(stale, sizeof stale, md);
    expect_rejected(0, md, MODQ_OFFSETS_ERR_META_STALE);
    const struct {
        const uint8_t *p;
        size_t n;
    } bad[] = {{overlong, sizeof overlong},
               {cut, sizeof cut},
               {odd, sizeof odd},
               {overflow, sizeof overflow},
               {wide, sizeof wide}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        forge(bad[i].p, bad[i].n, md);
        expect_rejected(0, md, MODQ_OFFSETS_ERR_META_MALFORMED);
    }
    const uint8_t good[] = {0, 0, 2}; /* 0 not done, 1..3 done */
    forge(good, sizeof good, md);
    modq_offsets *t = mk(0, md, CAP);
    for (int64_t o = 0; o < 8; o++) {
        assert_int_equal(modq_offsets_is_done(t, o), o >= 1 && o <= 3);
    }
    modq_offsets_free(t);
}

/* Reads damaged metadata: either exactly as written (done[]) or rejected as a whole. Returns 1
 * when rejected. */
static int read_damaged(int64_t off, const char *bad, int64_t from, int n, const bool *done)
{
    modq_offsets *u = NULL;
    char err[256];
    modq_offsets_result r = modq_offsets_new(off, bad, CAP, &u, err, sizeof err);
    assert_non_null(u);
    bool read = r == MODQ_OFFSETS_OK && bad[0] != '\0';
    for (int64_t o = off; o < from + n + 4; o++) {
        bool want = read && o < from + n && done[o - from];
        assert_int_equal(modq_offsets_is_done(u, o), want);
    }
    modq_offsets_free(u);
    return r != MODQ_OFFSETS_OK;
}

/* Every prefix and every one-character change of real metadata: either read exactly as written,
 * or rejected as a whole; never a different set of done offsets. */
static void test_damaged_metadata_is_rejected_whole(void **state)
{
    (void)state;
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=v: ";
    enum { N = 200 };
    bool absent[N] = {false}, done[N];
    for (int i = 0; i < N; i++) {
        done[i] = i % 3 != 0 && i % 7 != 0;
    }
    modq_offsets *t = build(1000, 1000 + N, absent, done, CAP);
    char md[MODQ_OFFSETS_METADATA_BUF], bad[MODQ_OFFSETS_METADATA_BUF];
    int64_t off = commit(t, md, CAP);
    size_t len = strlen(md);
    int rejected = 0, tried = 0;
    for (size_t cut = 1; cut < len; cut++) {
        memcpy(bad, md, cut);
        bad[cut] = '\0';
        rejected += read_damaged(off, bad, 1000, N, done);
        tried++;
    }
    for (size_t pos = 0; pos < len; pos++) {
        for (size_t a = 0; a < sizeof alphabet - 1; a++) {
            if (alphabet[a] == md[pos]) {
                continue;
            }
            memcpy(bad, md, len + 1);
            bad[pos] = alphabet[a];
            rejected += read_damaged(off, bad, 1000, N, done);
            tried++;
        }
    }
    printf("  %d damaged variants of %zu bytes, %d rejected\n", tried, len, rejected);
    /* Only changes to the unused low bits of the last base64 digit may decode identically. */
    assert_true(rejected >= tried - 8);
    modq_offsets_free(t);
}

static void test_in_flight_cap_refuses_then_recovers(void **state)
{
    (void)state;
    char md[MODQ_OFFSETS_METADATA_BUF];
    modq_offsets *t = mk(0, NULL, CAP);
    for (int64_t o = 0; o < MODQ_OFFSETS_MAX_IN_FLIGHT; o++) {
        assert_int_equal(modq_offsets_track(t, o), MODQ_OFFSETS_OK);
    }
    assert_true(modq_offsets_should_pause(t));
    assert_int_equal(modq_offsets_track(t, MODQ_OFFSETS_MAX_IN_FLIGHT), MODQ_OFFSETS_ERR_FULL);
    assert_false(modq_offsets_is_done(t, MODQ_OFFSETS_MAX_IN_FLIGHT));
    assert_int_equal(modq_offsets_complete(t, 5), MODQ_OFFSETS_OK);
    assert_int_equal(modq_offsets_track(t, MODQ_OFFSETS_MAX_IN_FLIGHT), MODQ_OFFSETS_OK);
    assert_int_equal(modq_offsets_in_flight(t), MODQ_OFFSETS_MAX_IN_FLIGHT);
    assert_int_equal(commit(t, md, CAP), 0);
    modq_offsets_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_watermark_advances_with_in_order_completions),
        cmocka_unit_test(test_watermark_held_by_oldest_incomplete_offset),
        cmocka_unit_test(test_offsets_passed_over_count_as_done),
        cmocka_unit_test(test_misuse_gets_documented_results),
        cmocka_unit_test(test_tracker_without_commit_anchors_on_first_offset),
        cmocka_unit_test(test_metadata_round_trip_restores_exactly_the_done_offsets),
        cmocka_unit_test(test_metadata_of_another_offset_is_ignored),
        cmocka_unit_test(test_pause_threshold_exact_boundary),
        cmocka_unit_test(test_pause_has_hysteresis_down_to_half_the_cap),
        cmocka_unit_test(test_no_pause_while_replaying_known_offsets),
        cmocka_unit_test(test_cap_holds_for_adversarial_patterns),
        cmocka_unit_test(test_bad_metadata_falls_back_to_the_committed_offset),
        cmocka_unit_test(test_damaged_metadata_is_rejected_whole),
        cmocka_unit_test(test_in_flight_cap_refuses_then_recovers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
