/*
 * test_policy_ledger_proto.c: tests of policy/ledger_proto.c: a ledger survives a protobuf round
 * trip byte for byte and decision for decision, and malformed or inconsistent messages are
 * rejected rather than half-loaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "modq_policy.h"
#include "proto/ledger.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0  INT64_C(1767603600000)
#define MIN (INT64_C(60000))

static modq_policy *load_rules(void)
{
    char err[512], path[4096];
    modq_policy *p = NULL;
    const char *root = getenv("MODQ_SOURCE_DIR");
    assert_non_null(root);
    snprintf(path, sizeof path, "%s/tests/data/policy/rules.yaml", root);
    assert_int_equal(modq_policy_load_file(path, &p, err, sizeof err), MODQ_POLICY_OK);
    return p;
}

static modq_ledger *round_trip(const modq_ledger *l)
{
    uint8_t *buf = NULL, *buf2 = NULL;
    size_t len = 0, len2 = 0;
    modq_ledger *back = NULL;
    char err[256] = "";
    assert_int_equal(modq_ledger_pack(l, &buf, &len), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_unpack(buf, len, &back, err, sizeof err), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_pack(back, &buf2, &len2), MODQ_POLICY_OK);
    assert_int_equal(len, len2);
    assert_memory_equal(buf, buf2, len);
    free(buf);
    free(buf2);
    return back;
}

/* Every decision the two ledgers give at t must be the same. */
static void assert_same_decisions(const modq_policy *p, const modq_ledger *a, const modq_ledger *b,
                                  int64_t t)
{
    modq_settings *s = modq_settings_new();
    modq_decision *da = modq_decision_new(), *db = modq_decision_new();
    assert_non_null(s);
    assert_non_null(da);
    assert_non_null(db);
    modq_settings_set_roles(s, MODQ_ROLE_ASSOCIATE | MODQ_ROLE_LEAD);
    modq_settings_add_skill(s, "csam_trained");
    for (size_t q = 0; q < modq_policy_queue_count(p); q++) {
        assert_int_equal(modq_policy_check(p, a, s, q, t, da),
                         modq_policy_check(p, b, s, q, t, db));
        assert_int_equal(modq_decision_allowed(da), modq_decision_allowed(db));
        assert_int_equal(modq_decision_reason(da), modq_decision_reason(db));
        assert_int_equal(modq_decision_until_ms(da), modq_decision_until_ms(db));
        for (int c = 0; c < MODQ_CAP_COUNT; c++) {
            double ua, la, ub, lb;
            assert_int_equal(modq_decision_cap(da, (modq_policy_cap)c, &ua, &la),
                             modq_decision_cap(db, (modq_policy_cap)c, &ub, &lb));
            assert_true(ua == ub && la == lb);
        }
    }
    modq_decision_free(da);
    modq_decision_free(db);
    modq_settings_free(s);
}

static void test_round_trip_keeps_every_record_and_decision(void **state)
{
    (void)state;
    modq_policy *p = load_rules();
    modq_ledger *l = NULL;
    assert_int_equal(modq_ledger_new("assoc-42", &l), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_show(l, "csam", 4, 3, T0), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_reveal(l, 0, false, T0 + MIN), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_hide(l, T0 + 2 * MIN), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_break_start(l, T0 + 3 * MIN), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_break_end(l, T0 + 13 * MIN), MODQ_POLICY_OK);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(modq_ledger_show(l, "hate", 3, 3, T0 + (14 + i) * MIN), MODQ_POLICY_OK);
        assert_int_equal(modq_ledger_hide(l, T0 + (14 + i) * MIN + 30000), MODQ_POLICY_OK);
    }
    assert_int_equal(modq_ledger_show(l, "nudity", 2, 2, T0 + 30 * MIN), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_reveal(l, 1, false, T0 + 31 * MIN), MODQ_POLICY_OK);

    modq_ledger *back = round_trip(l); /* with an item open */
    assert_string_equal(modq_ledger_associate(back), "assoc-42");
    assert_true(modq_ledger_item_open(back));
    assert_int_equal(modq_ledger_segment_count(back), modq_ledger_segment_count(l));
    assert_int_equal(modq_ledger_shift_start(back), T0);
    assert_int_equal(modq_ledger_last_ms(back), T0 + 31 * MIN);
    for (int64_t t = T0 + 31 * MIN; t < T0 + 24 * 60 * MIN; t += 7 * MIN + 13) {
        assert_same_decisions(p, l, back, t);
    }
    /* The rebuilt ledger goes on exactly like the original. */
    assert_int_equal(modq_ledger_hide(back, T0 + 31 * MIN - 1), MODQ_POLICY_ERR_TIME_ORDER);
    assert_int_equal(modq_ledger_hide(back, T0 + 32 * MIN), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_hide(l, T0 + 32 * MIN), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_break_start(l, T0 + 33 * MIN), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_break_start(back, T0 + 33 * MIN), MODQ_POLICY_OK);
    modq_ledger *back2 = round_trip(back); /* with a break open */
    assert_true(modq_ledger_on_break(back2));
    assert_same_decisions(p, l, back2, T0 + 40 * MIN);
    modq_ledger_free(back2);
    modq_ledger_free(back);
    modq_ledger_free(l);
    modq_policy_free(p);
}

static void test_round_trip_of_an_empty_ledger(void **state)
{
    (void)state;
    modq_ledger *l = NULL;
    assert_int_equal(modq_ledger_new("x", &l), MODQ_POLICY_OK);
    modq_ledger *back = round_trip(l);
    assert_true(modq_ledger_last_ms(back) == INT64_MIN);
    assert_int_equal(modq_ledger_shift_start(back), -1);
    modq_ledger_free(back);
    modq_ledger_free(l);
}

static void test_unpack_rejects_bytes_that_are_not_a_ledger(void **state)
{
    (void)state;
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x01};
    modq_ledger *l = NULL;
    char err[256];
    assert_int_equal(modq_ledger_unpack(junk, sizeof junk, &l, err, sizeof err),
                     MODQ_POLICY_ERR_DECODE);
    assert_null(l);
    assert_string_equal(err, "not a modq.v1.Ledger message");
    assert_int_equal(modq_ledger_unpack(junk, MODQ_LEDGER_MAX_BYTES + 1, &l, err, sizeof err),
                     MODQ_POLICY_ERR_DECODE);
}

/* Packs a hand-made message whose one flaw is set by mutate, and expects it refused. */
typedef void (*mutator)(Modq__V1__Ledger *m, Modq__V1__LedgerSegment *s);

/* Packs a valid message, changed by mutate (may be NULL), into buf (512 bytes); its length. */
static size_t pack_case(mutator mutate, uint8_t *buf)
{
    Modq__V1__Ledger m;
    Modq__V1__LedgerSegment seg, *segp = &seg;
    char id[] = "a1", cat[] = "hate";
    modq__v1__ledger__init(&m);
    modq__v1__ledger_segment__init(&seg);
    m.format_version = 1;
    m.associate_id = id;
    m.shift_start_ms = T0;
    m.last_ms = T0 + 1000;
    m.n_segments = 1;
    m.segments = &segp;
    seg.start_ms = T0;
    seg.end_ms = T0 + 500;
    seg.category = cat;
    seg.tier = 3;
    seg.reveal_level = 3;
    seg.item_start = 1;
    /* The unmutated message is valid, so each case fails for its own flaw only. */
    if (mutate != NULL) {
        mutate(&m, &seg);
    }
    assert_true(modq__v1__ledger__get_packed_size(&m) <= 512);
    return modq__v1__ledger__pack(&m, buf);
}

static void expect_rejected(mutator mutate, const char *contains)
{
    uint8_t buf[512];
    size_t len = pack_case(mutate, buf);
    modq_ledger *l = NULL;
    char err[256] = "";
    modq_policy_result r = modq_ledger_unpack(buf, len, &l, err, sizeof err);
    if (mutate == NULL) {
        assert_int_equal(r, MODQ_POLICY_OK);
        modq_ledger_free(l);
        return;
    }
    assert_int_equal(r, MODQ_POLICY_ERR_DECODE);
    assert_null(l);
    assert_non_null(strstr(err, contains));
}

static void bad_version(Modq__V1__Ledger *m, Modq__V1__LedgerSegment *s)
{
    (void)s;
    m->format_version = 2;
}
static void bad_tier(Modq__V1__Ledger *m, Modq__V1__LedgerSegment *s)
{
    (void)m;
    s->tier = 5;
}
static void bad_level(Modq__V1__Ledger *m, Modq__V1__LedgerSegment *s)
{
    (void)m;
    s->reveal_level = -1;
}
static void end_before_start(Modq__V1__Ledger *m, Modq__V1__LedgerSegment *s)
{
    (void)m;
    s->end_ms = s->start_ms - 1;
}
static void after_last(Modq__V1__Ledger *m, Modq__V1__LedgerSegment *s)
{
    s->end_ms = m->last_ms + 1;
}
static void open_without_flag(Modq__V1__Ledger *m, Modq__V1__LedgerSegment *s)
{
    (void)m;
    s->end_ms = -1;
}
static void flag_without_open(Modq__V1__Ledger *m, Modq__V1__LedgerSegment *s)
{
    (void)s;
    m->item_open = 1;
}
static void no_id(Modq__V1__Ledger *m, Modq__V1__LedgerSegment *s)
{
    (void)s;
    m->associate_id = NULL;
}
static void shift_in_future(Modq__V1__Ledger *m, Modq__V1__LedgerSegment *s)
{
    (void)s;
    m->shift_start_ms = m->last_ms + 1;
}
static void on_break_without_break(Modq__V1__Ledger *m, Modq__V1__LedgerSegment *s)
{
    (void)s;
    m->on_break = 1;
}

static void negative_times(Modq__V1__Ledger *m, Modq__V1__LedgerSegment *s)
{
    (void)m;
    s->start_ms = -10; /* a closed segment ending before 0 would read as open for ever */
    s->end_ms = -2;
}
static void negative_last_ms(Modq__V1__Ledger *m, Modq__V1__LedgerSegment *s)
{
    (void)s;
    m->n_segments = 0;
    m->shift_start_ms = -1;
    m->last_ms = -5;
}
static void last_ms_past_the_range(Modq__V1__Ledger *m, Modq__V1__LedgerSegment *s)
{
    (void)s;
    m->last_ms = MODQ_POLICY_TIME_MAX + 1;
}
static Modq__V1__LedgerBreak bad_break;
static Modq__V1__LedgerBreak *bad_breakp = &bad_break;
static void negative_break(Modq__V1__Ledger *m, Modq__V1__LedgerSegment *s)
{
    (void)s;
    modq__v1__ledger_break__init(&bad_break);
    bad_break.start_ms = -3;
    bad_break.end_ms = -2;
    m->n_breaks = 1;
    m->breaks = &bad_breakp;
}
static Modq__V1__LedgerShift shift_a, shift_b;
static Modq__V1__LedgerShift *shiftps[2] = {&shift_a, &shift_b};
static void open_shift_not_last(Modq__V1__Ledger *m, Modq__V1__LedgerSegment *s)
{
    (void)s;
    modq__v1__ledger_shift__init(&shift_a);
    modq__v1__ledger_shift__init(&shift_b);
    shift_a.start_ms = T0;
    shift_a.end_ms = -1;
    shift_b.start_ms = T0 + 10;
    shift_b.end_ms = T0 + 20;
    m->n_shifts = 2;
    m->shifts = shiftps;
}
static void shift_start_not_the_open_shift(Modq__V1__Ledger *m, Modq__V1__LedgerSegment *s)
{
    (void)s;
    modq__v1__ledger_shift__init(&shift_a);
    shift_a.start_ms = T0;
    shift_a.end_ms = T0 + 100;
    m->n_shifts = 1;
    m->shifts = shiftps;
}
static void item_open_without_shift(Modq__V1__Ledger *m, Modq__V1__LedgerSegment *s)
{
    s->end_ms = -1;
    m->item_open = 1;
    m->shift_start_ms = -1;
}

/* A message without a shift list (an older writer's) stands for its open shift; a floor after
 * that shift's start was accepted, packed with the shift as a list, then refused by the next
 * unpack: the person's history was dropped at the restart after. */
static void legacy_floor_after_open_shift(Modq__V1__Ledger *m, Modq__V1__LedgerSegment *s)
{
    (void)s;
    m->shift_floor_ms = m->shift_start_ms + 1;
}

static char not_utf8_id[] = "a\xff", overlong_cat[] = "h\xc0\xaf", surrogate_cat[] = "\xed\xa0\x80";
static void id_not_utf8(Modq__V1__Ledger *m, Modq__V1__LedgerSegment *s)
{
    (void)s;
    m->associate_id = not_utf8_id;
}
static void category_overlong(Modq__V1__Ledger *m, Modq__V1__LedgerSegment *s)
{
    (void)m;
    s->category = overlong_cat;
}
static void category_surrogate(Modq__V1__Ledger *m, Modq__V1__LedgerSegment *s)
{
    (void)m;
    s->category = surrogate_cat;
}

/* A NUL inside a string exists only on the wire: protobuf-c's C string stopped at it, so
 * associate "a\0" + "1" was loaded as the ledger of "a" (someone else's) and packed as that. */
static void expect_rejected_on_the_wire(const char *from, const char *to, const char *contains)
{
    uint8_t buf[512];
    size_t len = pack_case(NULL, buf), n = strlen(from);
    uint8_t *at = NULL;
    for (size_t i = 0; i + n <= len && at == NULL; i++) {
        at = memcmp(buf + i, from, n) == 0 ? buf + i : NULL;
    }
    assert_non_null(at);
    memcpy(at, to, n);
    modq_ledger *l = NULL;
    char err[256] = "";
    assert_int_equal(modq_ledger_unpack(buf, len, &l, err, sizeof err), MODQ_POLICY_ERR_DECODE);
    assert_null(l);
    assert_non_null(strstr(err, contains));
}

static char utf8_id[] = "jos\xc3\xa9-\xe6\x97\xa5-\xf0\x9f\x98\x80", utf8_cat[] = "caf\xc3\xa9";
static void valid_utf8(Modq__V1__Ledger *m, Modq__V1__LedgerSegment *s)
{
    m->associate_id = utf8_id;
    s->category = utf8_cat;
}

static void test_unpack_rejects_strings_that_are_not_utf8_or_hold_a_nul(void **state)
{
    (void)state;
    uint8_t buf[512];
    size_t len = pack_case(valid_utf8, buf);
    modq_ledger *l = NULL;
    char err[256] = "";
    assert_int_equal(modq_ledger_unpack(buf, len, &l, err, sizeof err), MODQ_POLICY_OK);
    assert_string_equal(modq_ledger_associate(l), utf8_id);
    modq_ledger_free(round_trip(l));
    modq_ledger_free(l);

    expect_rejected_on_the_wire("a1", "a\0", "NUL");
    expect_rejected_on_the_wire("hate", "ha\0e", "NUL");
    expect_rejected(id_not_utf8, "associate_id is not UTF-8");
    expect_rejected(category_overlong, "segment 0: category is not UTF-8");
    expect_rejected(category_surrogate, "segment 0: category is not UTF-8");
}

static void test_unpack_rejects_each_inconsistency(void **state)
{
    (void)state;
    expect_rejected(legacy_floor_after_open_shift, "shift floor");
    expect_rejected(negative_times, "out of order");
    expect_rejected(negative_last_ms, "last_ms");
    expect_rejected(last_ms_past_the_range, "last_ms");
    expect_rejected(negative_break, "break 0");
    expect_rejected(open_shift_not_last, "shift 0");
    expect_rejected(shift_start_not_the_open_shift, "open shift");
    expect_rejected(item_open_without_shift, "open shift");
    expect_rejected(NULL, "");
    expect_rejected(bad_version, "format 2");
    expect_rejected(bad_tier, "out of range");
    expect_rejected(bad_level, "out of range");
    expect_rejected(end_before_start, "out of order");
    expect_rejected(after_last, "out of order");
    expect_rejected(open_without_flag, "out of order");
    expect_rejected(flag_without_open, "item_open");
    expect_rejected(no_id, "associate_id");
    expect_rejected(shift_in_future, "shift start");
    expect_rejected(on_break_without_break, "on_break");
}

/* Ending a shift starts a rest the rebuilt ledger must still enforce, restart or not. */
static void test_round_trip_keeps_shifts_and_the_rest_after_a_shift(void **state)
{
    (void)state;
    modq_policy *p = load_rules();
    modq_ledger *l = NULL;
    assert_int_equal(modq_ledger_new("assoc-7", &l), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_show(l, "hate", 3, 3, T0), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_hide(l, T0 + 10 * MIN), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_end_shift(l, T0 + 11 * MIN), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_start_shift(l, T0 + 20 * MIN), MODQ_POLICY_OK);
    modq_ledger *back = round_trip(l);
    assert_int_equal(modq_ledger_shift_start(back), T0 + 20 * MIN);
    const int64_t at[] = {T0 + 20 * MIN, T0 + 611 * MIN - 1, T0 + 611 * MIN};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        assert_same_decisions(p, l, back, at[i]);
    }
    modq_settings *s = modq_settings_new();
    modq_decision *d = modq_decision_new();
    assert_non_null(s);
    assert_non_null(d);
    modq_settings_set_roles(s, MODQ_ROLE_ASSOCIATE);
    assert_int_equal(
        modq_policy_check(p, back, s, (size_t)modq_policy_queue_find(p, "hate"), T0 + 20 * MIN, d),
        MODQ_POLICY_OK);
    assert_int_equal(modq_decision_reason(d), MODQ_REASON_SHIFT_OVER);
    assert_int_equal(modq_decision_until_ms(d), T0 + 611 * MIN);
    modq_decision_free(d);
    modq_settings_free(s);
    modq_ledger_free(back);
    modq_ledger_free(l);
    modq_policy_free(p);
}

/* The same message with a floor at or before its open shift's start survives its own pack. */
static void test_a_message_without_a_shift_list_survives_its_own_pack(void **state)
{
    (void)state;
    Modq__V1__Ledger m;
    char id[] = "a1";
    modq__v1__ledger__init(&m);
    m.format_version = 1;
    m.associate_id = id;
    m.shift_start_ms = T0;
    m.shift_floor_ms = T0;
    m.last_ms = T0 + 1000;
    uint8_t buf[128];
    size_t len = modq__v1__ledger__pack(&m, buf);
    modq_ledger *l = NULL;
    char err[256] = "";
    assert_int_equal(modq_ledger_unpack(buf, len, &l, err, sizeof err), MODQ_POLICY_OK);
    modq_ledger *back = round_trip(l);
    assert_int_equal(modq_ledger_shift_start(back), T0);
    modq_ledger_free(back);
    modq_ledger_free(l);
}

/* After old segments age out the category table is renumbered; each segment keeps its name. */
static void test_pack_keeps_each_segments_category_after_the_table_is_compacted(void **state)
{
    (void)state;
    modq_ledger *l = NULL;
    const char *order[] = {"a", "b", "a"};
    assert_int_equal(modq_ledger_new("assoc-8", &l), MODQ_POLICY_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(modq_ledger_show(l, order[i], 1, 0, T0 + i * MIN), MODQ_POLICY_OK);
        assert_int_equal(modq_ledger_hide(l, T0 + i * MIN + 1), MODQ_POLICY_OK);
    }
    /* The first "a" leaves the window: "b" is now first used, before "a". */
    assert_int_equal(modq_ledger_show(l, "c", 1, 0, T0 + 1 + 24 * 60 * MIN), MODQ_POLICY_OK);
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(modq_ledger_pack(l, &buf, &len), MODQ_POLICY_OK);
    Modq__V1__Ledger *m = modq__v1__ledger__unpack(NULL, len, buf);
    assert_non_null(m);
    assert_int_equal(m->n_segments, 3);
    assert_string_equal(m->segments[0]->category, "b");
    assert_string_equal(m->segments[1]->category, "a");
    assert_string_equal(m->segments[2]->category, "c");
    modq__v1__ledger__free_unpacked(m, NULL);
    free(buf);
    modq_ledger_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_keeps_every_record_and_decision),
        cmocka_unit_test(test_round_trip_of_an_empty_ledger),
        cmocka_unit_test(test_round_trip_keeps_shifts_and_the_rest_after_a_shift),
        cmocka_unit_test(test_pack_keeps_each_segments_category_after_the_table_is_compacted),
        cmocka_unit_test(test_unpack_rejects_bytes_that_are_not_a_ledger),
        cmocka_unit_test(test_unpack_rejects_each_inconsistency),
        cmocka_unit_test(test_unpack_rejects_strings_that_are_not_utf8_or_hold_a_nul),
        cmocka_unit_test(test_a_message_without_a_shift_list_survives_its_own_pack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
