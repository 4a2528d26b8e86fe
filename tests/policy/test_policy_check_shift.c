/*
 * test_policy_check_shift.c: tests of policy/policy_check.c's person-wide rules that span shifts:
 * continuous review and the work period are derived from the ledger's records, so that ending or
 * restarting a shift is neither a break nor a rest; the minimum rest after a shift; and the range
 * of "now" every entry point accepts. The policy is tests/data/policy/rules.yaml.
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

#define MIN(m) ((int64_t)((m)*60000.0))
#define T0     INT64_C(1767603600000) /* 2026-01-05T09:00:00Z */

/* rules.yaml, restated for the expectations below. */
#include "policy_testutil.h"
}

static size_t hate(const fx *f)
{
    int i = modq_policy_queue_find(f->p, "hate");
    assert_true(i >= 0);
    return (size_t)i;
}

static void expect_allow(fx *f, int64_t t, int64_t until)
{
    assert_int_equal(modq_policy_check(f->p, f->l, f->s, hate(f), t, f->d), MODQ_POLICY_OK);
    if (!modq_decision_allowed(f->d)) {
        fail_msg("at T0%+lld ms: denied %s", (long long)(t - T0),
                 modq_policy_reason_name(modq_decision_reason(f->d)));
    }
    assert_int_equal(modq_decision_until_ms(f->d), until);
}

static void expect_deny(fx *f, int64_t t, modq_policy_reason why, int64_t until)
{
    assert_int_equal(modq_policy_check(f->p, f->l, f->s, hate(f), t, f->d), MODQ_POLICY_OK);
    assert_false(modq_decision_allowed(f->d));
    assert_string_equal(modq_policy_reason_name(modq_decision_reason(f->d)),
                        modq_policy_reason_name(why));
    assert_int_equal(modq_decision_until_ms(f->d), until);
}

static void item(fx *f, int64_t t, int64_t dur)
{
    assert_int_equal(modq_ledger_show(f->l, "hate", 3, 3, t), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_hide(f->l, t + dur), MODQ_POLICY_OK);
}

/* The reviewer's trace: a break is due, the shift is ended and restarted at the same instant. */
static void test_ending_or_restarting_a_shift_neither_clears_a_due_break_nor_rests(void **state)
{
    fx *f = *state;
    assert_int_equal(modq_ledger_start_shift(f->l, T0), MODQ_POLICY_OK);
    item(f, T0, MIN(49));
    expect_deny(f, T0 + CONTINUOUS, MODQ_REASON_BREAK_DUE, T0 + MIN(49) + BREAK);
    assert_int_equal(modq_ledger_end_shift(f->l, T0 + CONTINUOUS), MODQ_POLICY_OK);
    expect_deny(f, T0 + CONTINUOUS, MODQ_REASON_SHIFT_OVER, T0 + CONTINUOUS + REST);
    assert_int_equal(modq_ledger_start_shift(f->l, T0 + CONTINUOUS), MODQ_POLICY_OK);
    expect_deny(f, T0 + CONTINUOUS, MODQ_REASON_SHIFT_OVER, T0 + CONTINUOUS + REST);
    expect_deny(f, T0 + CONTINUOUS + REST - 1, MODQ_REASON_SHIFT_OVER, T0 + CONTINUOUS + REST);
    /* The restarted shift began inside the rest, so no rest happened: the work period still
     * began at T0 and its hard stop has passed; only ending the shift starts a new rest. */
    expect_deny(f, T0 + CONTINUOUS + REST, MODQ_REASON_SHIFT_OVER, 0);
    assert_int_equal(modq_decision_shift_end_ms(f->d), T0 + SHIFT);
    assert_int_equal(modq_ledger_end_shift(f->l, T0 + CONTINUOUS + REST), MODQ_POLICY_OK);
    expect_deny(f, T0 + CONTINUOUS + 2 * REST - 1, MODQ_REASON_SHIFT_OVER,
                T0 + CONTINUOUS + 2 * REST);
    expect_allow(f, T0 + CONTINUOUS + 2 * REST, T0 + CONTINUOUS + 2 * REST + CONTINUOUS);
}

static void test_a_shift_ended_without_restart_blocks_work_until_the_rest_is_over(void **state)
{
    fx *f = *state;
    item(f, T0, MIN(5));
    assert_int_equal(modq_ledger_end_shift(f->l, T0 + MIN(6)), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_shift_start(f->l), -1);
    expect_deny(f, T0 + MIN(6) + REST - 1, MODQ_REASON_SHIFT_OVER, T0 + MIN(6) + REST);
    assert_int_equal(modq_policy_status(f->p, f->l, f->s, T0 + MIN(6), f->d), MODQ_POLICY_OK);
    assert_int_equal(modq_decision_reason(f->d), MODQ_REASON_SHIFT_OVER);
    expect_allow(f, T0 + MIN(6) + REST, T0 + MIN(6) + REST + CONTINUOUS);
}

static void test_hard_stop_counts_from_the_work_period_across_restarts(void **state)
{
    fx *f = *state;
    /* Restarting (start_shift while one is open) is not an end: the period began at T0. */
    assert_int_equal(modq_ledger_start_shift(f->l, T0), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_start_shift(f->l, T0 + MIN(200)), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_start_shift(f->l, T0 + MIN(400)), MODQ_POLICY_OK);
    expect_allow(f, T0 + SHIFT - MIN(1), T0 + SHIFT);
    expect_deny(f, T0 + SHIFT, MODQ_REASON_SHIFT_OVER, 0);
    assert_int_equal(modq_decision_shift_end_ms(f->d), T0 + SHIFT);
}

static void test_a_gap_of_the_break_length_with_nothing_on_screen_is_a_rest(void **state)
{
    fx *f = *state;
    item(f, T0, MIN(20));
    item(f, T0 + MIN(20) + BREAK - 1, MIN(20)); /* 1 ms short of a break: one run from T0 */
    expect_deny(f, T0 + CONTINUOUS, MODQ_REASON_BREAK_DUE, T0 + MIN(50) - 1 + BREAK);
    modq_ledger_free(f->l);
    assert_int_equal(modq_ledger_new("a1", &f->l), MODQ_POLICY_OK);
    item(f, T0, MIN(20));
    item(f, T0 + MIN(20) + BREAK, MIN(20)); /* a full break's length: the run restarts */
    expect_allow(f, T0 + CONTINUOUS, T0 + MIN(30) + CONTINUOUS);
}

static void test_entry_points_refuse_times_outside_the_supported_range(void **state)
{
    fx *f = *state;
    const int64_t bad[] = {-1, MODQ_POLICY_TIME_MAX + 1, INT64_MIN, INT64_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t t = bad[i];
        assert_int_equal(modq_policy_check(f->p, f->l, f->s, hate(f), t, f->d),
                         MODQ_POLICY_ERR_INVALID_ARG);
        assert_false(modq_decision_allowed(f->d));
        assert_int_equal(modq_policy_status(f->p, f->l, f->s, t, f->d),
                         MODQ_POLICY_ERR_INVALID_ARG);
        assert_int_equal(modq_ledger_show(f->l, "hate", 3, 3, t), MODQ_POLICY_ERR_INVALID_ARG);
        assert_int_equal(modq_ledger_start_shift(f->l, t), MODQ_POLICY_ERR_INVALID_ARG);
        assert_int_equal(modq_ledger_end_shift(f->l, t), MODQ_POLICY_ERR_INVALID_ARG);
        assert_int_equal(modq_ledger_break_start(f->l, t), MODQ_POLICY_ERR_INVALID_ARG);
    }
    /* The bounds themselves are accepted. */
    assert_int_equal(modq_policy_check(f->p, f->l, f->s, hate(f), 0, f->d), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_show(f->l, "hate", 3, 3, MODQ_POLICY_TIME_MAX), MODQ_POLICY_OK);
    assert_int_equal(
        modq_policy_check_reveal(f->p, f->l, f->s, 3, false, false, MODQ_POLICY_TIME_MAX + 1, f->d),
        MODQ_POLICY_ERR_INVALID_ARG);
    assert_int_equal(modq_ledger_reveal(f->l, 2, false, MODQ_POLICY_TIME_MAX + 1),
                     MODQ_POLICY_ERR_INVALID_ARG);
    assert_int_equal(modq_ledger_hide(f->l, MODQ_POLICY_TIME_MAX + 1), MODQ_POLICY_ERR_INVALID_ARG);
    assert_int_equal(modq_policy_check(f->p, f->l, f->s, hate(f), MODQ_POLICY_TIME_MAX, f->d),
                     MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_hide(f->l, MODQ_POLICY_TIME_MAX), MODQ_POLICY_OK);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_ending_or_restarting_a_shift_neither_clears_a_due_break_nor_rests),
        T(test_a_shift_ended_without_restart_blocks_work_until_the_rest_is_over),
        T(test_hard_stop_counts_from_the_work_period_across_restarts),
        T(test_a_gap_of_the_break_length_with_nothing_on_screen_is_a_rest),
        T(test_entry_points_refuse_times_outside_the_supported_range),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
