/*
 * test_policy_ledger.c: tests of policy/ledger.c: record order and state errors, segments per
 * reveal, pruning at exactly 24 h (and what it leaves survives a round trip), and the size caps
 * with what happens at each.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "modq_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0  INT64_C(1767603600000)
#define DAY (INT64_C(24) * 3600 * 1000)

static int setup(void **state)
{
    modq_ledger *l = NULL;
    if (modq_ledger_new("a1", &l) != MODQ_POLICY_OK) {
        return -1;
    }
    *state = l;
    return 0;
}

static int teardown(void **state)
{
    modq_ledger_free(*state);
    return 0;
}

static void test_new_ledger_is_empty_and_needs_a_valid_id(void **state)
{
    modq_ledger *l = *state, *bad = NULL;
    char id[MODQ_POLICY_NAME_MAX + 1];
    assert_string_equal(modq_ledger_associate(l), "a1");
    assert_int_equal(modq_ledger_segment_count(l), 0);
    assert_int_equal(modq_ledger_shift_start(l), -1);
    assert_true(modq_ledger_last_ms(l) == INT64_MIN);
    assert_int_equal(modq_ledger_new("", &bad), MODQ_POLICY_ERR_INVALID_ARG);
    memset(id, 'x', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    assert_int_equal(modq_ledger_new(id, &bad), MODQ_POLICY_ERR_INVALID_ARG);
    assert_null(bad);
}

static void test_records_out_of_state_are_refused(void **state)
{
    modq_ledger *l = *state;
    assert_int_equal(modq_ledger_hide(l, T0), MODQ_POLICY_ERR_STATE);
    assert_int_equal(modq_ledger_reveal(l, 0, false, T0), MODQ_POLICY_ERR_STATE);
    assert_int_equal(modq_ledger_break_end(l, T0), MODQ_POLICY_ERR_STATE);
    assert_int_equal(modq_ledger_show(l, "hate", 3, 3, T0), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_show(l, "hate", 3, 3, T0), MODQ_POLICY_ERR_STATE);
    assert_int_equal(modq_ledger_show(l, "hate", 5, 3, T0), MODQ_POLICY_ERR_INVALID_ARG);
    assert_int_equal(modq_ledger_show(l, "hate", 3, 4, T0), MODQ_POLICY_ERR_INVALID_ARG);
    /* A break hides the item first. */
    assert_int_equal(modq_ledger_break_start(l, T0 + 10), MODQ_POLICY_OK);
    assert_false(modq_ledger_item_open(l));
    assert_true(modq_ledger_on_break(l));
    assert_int_equal(modq_ledger_break_start(l, T0 + 20), MODQ_POLICY_ERR_STATE);
    assert_int_equal(modq_ledger_show(l, "hate", 3, 3, T0 + 20), MODQ_POLICY_ERR_STATE);
    assert_int_equal(modq_ledger_break_end(l, T0 + 30), MODQ_POLICY_OK);
    assert_false(modq_ledger_on_break(l));
}

static void test_time_must_not_go_backwards(void **state)
{
    modq_ledger *l = *state;
    assert_int_equal(modq_ledger_show(l, "hate", 3, 3, T0), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_hide(l, T0 - 1), MODQ_POLICY_ERR_TIME_ORDER);
    assert_true(modq_ledger_item_open(l));
    assert_int_equal(modq_ledger_reveal(l, 1, false, T0 - 1), MODQ_POLICY_ERR_TIME_ORDER);
    assert_int_equal(modq_ledger_hide(l, T0), MODQ_POLICY_OK); /* equal time is fine */
    assert_int_equal(modq_ledger_break_start(l, T0 - 1), MODQ_POLICY_ERR_TIME_ORDER);
    assert_int_equal(modq_ledger_start_shift(l, T0 - 1), MODQ_POLICY_ERR_TIME_ORDER);
    assert_int_equal(modq_ledger_last_ms(l), T0);
}

static void test_show_starts_a_shift_and_end_shift_closes_everything(void **state)
{
    modq_ledger *l = *state;
    assert_int_equal(modq_ledger_show(l, "hate", 3, 3, T0 + 5), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_shift_start(l), T0 + 5);
    assert_int_equal(modq_ledger_end_shift(l, T0 + 100), MODQ_POLICY_OK);
    assert_false(modq_ledger_item_open(l));
    assert_int_equal(modq_ledger_shift_start(l), -1);
    assert_int_equal(modq_ledger_start_shift(l, T0 + 200), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_shift_start(l), T0 + 200);
}

static void test_each_reveal_starts_a_segment_unless_nothing_changes(void **state)
{
    modq_ledger *l = *state;
    assert_int_equal(modq_ledger_show(l, "hate", 3, 3, T0), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_reveal(l, 3, false, T0 + 1), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_segment_count(l), 1);
    assert_int_equal(modq_ledger_reveal(l, 1, false, T0 + 2), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_reveal(l, 1, true, T0 + 3), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_segment_count(l), 3);
    assert_int_equal(modq_ledger_hide(l, T0 + 4), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_segment_count(l), 3);
}

static void test_pruning_drops_records_that_ended_24_hours_ago(void **state)
{
    modq_ledger *l = *state;
    assert_int_equal(modq_ledger_show(l, "hate", 3, 3, T0), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_hide(l, T0 + 1000), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_break_start(l, T0 + 2000), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_break_end(l, T0 + 3000), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_start_shift(l, T0 + 1000 + DAY - 1), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_segment_count(l), 1); /* still inside [now - 24 h, now) */
    assert_int_equal(modq_ledger_start_shift(l, T0 + 1000 + DAY), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_segment_count(l), 0);
    assert_int_equal(modq_ledger_break_count(l), 1);
    assert_int_equal(modq_ledger_start_shift(l, T0 + 3000 + DAY), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_break_count(l), 0);
}

static void test_an_open_item_is_never_pruned(void **state)
{
    modq_ledger *l = *state;
    assert_int_equal(modq_ledger_show(l, "hate", 3, 3, T0), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_reveal(l, 2, false, T0 + 2 * DAY), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_segment_count(l), 2);
    assert_int_equal(modq_ledger_hide(l, T0 + 3 * DAY), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_segment_count(l), 1); /* the first ended 24 h before now */
}

static void test_segment_cap_refuses_new_items_and_checks_deny_until_room(void **state)
{
    modq_ledger *l = *state;
    char err[512], path[4096];
    modq_policy *p = NULL;
    const char *root = getenv("MODQ_SOURCE_DIR");
    assert_non_null(root);
    snprintf(path, sizeof path, "%s/tests/data/policy/rules.yaml", root);
    assert_int_equal(modq_policy_load_file(path, &p, err, sizeof err), MODQ_POLICY_OK);
    int64_t t = T0;
    for (int i = 0; i < MODQ_LEDGER_MAX_SEGMENTS; i++, t += 2) {
        assert_int_equal(modq_ledger_show(l, (i & 1) ? "spam" : "gore", 1, 0, t), MODQ_POLICY_OK);
        assert_int_equal(modq_ledger_hide(l, t + 1), MODQ_POLICY_OK);
    }
    assert_int_equal(modq_ledger_show(l, "spam", 1, 0, t), MODQ_POLICY_ERR_LEDGER_FULL);
    assert_false(modq_ledger_item_open(l));

    modq_settings *s = modq_settings_new();
    modq_decision *d = modq_decision_new();
    assert_non_null(s);
    assert_non_null(d);
    modq_settings_set_roles(s, MODQ_ROLE_ASSOCIATE);
    assert_int_equal(modq_policy_check(p, l, s, (size_t)modq_policy_queue_find(p, "spam"), t, d),
                     MODQ_POLICY_OK);
    assert_false(modq_decision_allowed(d));
    assert_int_equal(modq_decision_reason(d), MODQ_REASON_LEDGER_FULL);
    assert_int_equal(modq_decision_until_ms(d), T0 + 1 + DAY); /* the oldest leaves the window */
    /* Once it has, a show prunes it and fits. */
    assert_int_equal(modq_ledger_show(l, "spam", 1, 0, T0 + 1 + DAY), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_segment_count(l), MODQ_LEDGER_MAX_SEGMENTS);
    modq_decision_free(d);
    modq_settings_free(s);
    modq_policy_free(p);
}

static void test_category_and_break_caps(void **state)
{
    modq_ledger *l = *state;
    char cat[32];
    int64_t t = T0;
    for (int i = 0; i < MODQ_LEDGER_MAX_CATEGORIES; i++, t += 2) {
        snprintf(cat, sizeof cat, "c%d", i);
        assert_int_equal(modq_ledger_show(l, cat, 1, 0, t), MODQ_POLICY_OK);
        assert_int_equal(modq_ledger_hide(l, t + 1), MODQ_POLICY_OK);
    }
    assert_int_equal(modq_ledger_show(l, "one_more", 1, 0, t), MODQ_POLICY_ERR_LEDGER_FULL);
    assert_int_equal(modq_ledger_show(l, "c0", 1, 0, t), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_hide(l, t + 1), MODQ_POLICY_OK);
    for (int i = 0; i < MODQ_LEDGER_MAX_BREAKS; i++, t += 2) {
        assert_int_equal(modq_ledger_break_start(l, t + 2), MODQ_POLICY_OK);
        assert_int_equal(modq_ledger_break_end(l, t + 3), MODQ_POLICY_OK);
    }
    assert_int_equal(modq_ledger_break_start(l, t + 2), MODQ_POLICY_ERR_LEDGER_FULL);
    assert_false(modq_ledger_on_break(l));
}

/* The table holds only categories of live segments: a new one fits once old ones aged out. */
static void test_category_table_is_compacted_when_old_items_age_out(void **state)
{
    modq_ledger *l = *state;
    char cat[32];
    int64_t t = T0;
    for (int i = 0; i < MODQ_LEDGER_MAX_CATEGORIES; i++, t += 2) {
        snprintf(cat, sizeof cat, "c%d", i);
        assert_int_equal(modq_ledger_show(l, cat, 1, 0, t), MODQ_POLICY_OK);
        assert_int_equal(modq_ledger_hide(l, t + 1), MODQ_POLICY_OK);
    }
    assert_int_equal(modq_ledger_show(l, "one_more", 1, 0, t), MODQ_POLICY_ERR_LEDGER_FULL);
    /* c0 ended at T0 + 1: one ms after it leaves the window, one slot is free again. */
    assert_int_equal(modq_ledger_show(l, "one_more", 1, 0, T0 + 1 + DAY - 1),
                     MODQ_POLICY_ERR_LEDGER_FULL);
    assert_int_equal(modq_ledger_show(l, "one_more", 1, 0, T0 + 1 + DAY), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_hide(l, T0 + 2 + DAY), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_show(l, "two_more", 1, 0, T0 + 2 + DAY),
                     MODQ_POLICY_ERR_LEDGER_FULL);
}

static void test_shifts_restart_without_ending_and_end_only_when_open(void **state)
{
    modq_ledger *l = *state;
    assert_int_equal(modq_ledger_start_shift(l, T0), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_start_shift(l, T0 + 100), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_shift_start(l), T0); /* a restart goes on with the open shift */
    assert_int_equal(modq_ledger_end_shift(l, T0 + 200), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_shift_start(l), -1);
    assert_int_equal(modq_ledger_end_shift(l, T0 + 300), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_shift_start(l), -1);
    /* More shifts than the list holds merge the oldest; the newest stays exact. */
    for (int i = 0; i < 3 * MODQ_LEDGER_MAX_SHIFTS; i++) {
        assert_int_equal(modq_ledger_start_shift(l, T0 + 1000 * (i + 1)), MODQ_POLICY_OK);
        assert_int_equal(modq_ledger_end_shift(l, T0 + 1000 * (i + 1) + 10), MODQ_POLICY_OK);
    }
    assert_int_equal(modq_ledger_start_shift(l, T0 + DAY / 2), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_shift_start(l), T0 + DAY / 2);
}

/* The wire reads a shift floor of 0 as "none" (messages from before the field). A shift that
 * ended at the epoch and was pruned left exactly that floor, so the ledger packed, unpacked and
 * packed again into other bytes (found by fuzzing the round trip). */
static void test_a_shift_pruned_at_the_epoch_survives_the_round_trip(void **state)
{
    modq_ledger *l = *state, *again = NULL;
    uint8_t *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    char err[128] = "";

    assert_int_equal(modq_ledger_start_shift(l, 0), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_end_shift(l, 0), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_start_shift(l, 3600 * 1000), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_show(l, "spam", 1, 3, DAY + 1), MODQ_POLICY_OK); /* prunes */
    assert_int_equal(modq_ledger_hide(l, DAY + 2), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_pack(l, &a, &alen), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_unpack(a, alen, &again, err, sizeof err), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_pack(again, &b, &blen), MODQ_POLICY_OK);
    assert_int_equal(blen, alen);
    assert_memory_equal(b, a, alen);
    modq_ledger_free(again);
    free(a);
    free(b);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_new_ledger_is_empty_and_needs_a_valid_id),
        T(test_records_out_of_state_are_refused),
        T(test_time_must_not_go_backwards),
        T(test_show_starts_a_shift_and_end_shift_closes_everything),
        T(test_each_reveal_starts_a_segment_unless_nothing_changes),
        T(test_pruning_drops_records_that_ended_24_hours_ago),
        T(test_an_open_item_is_never_pruned),
        T(test_segment_cap_refuses_new_items_and_checks_deny_until_room),
        T(test_category_and_break_caps),
        T(test_category_table_is_compacted_when_old_items_age_out),
        T(test_shifts_restart_without_ending_and_end_only_when_open),
        T(test_a_shift_pruned_at_the_epoch_survives_the_round_trip),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
