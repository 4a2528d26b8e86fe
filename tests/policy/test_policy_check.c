/*
 * test_policy_check.c: tests of policy/policy_check.c: every rule and reason code at its exact
 * boundary (one millisecond before, at, and after), the deadline of allowed items, reveals,
 * warnings, personal settings and precedence. The policy is tests/data/policy/rules.yaml, whose
 * weights are powers of two so exposure is exact.
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
#define DAY    MIN(24 * 60)
#define T0     INT64_C(1767603600000) /* 2026-01-05T09:00:00Z */

/* rules.yaml, restated for the expectations below. */
#define DAILY_CAP MIN(240)
#include "policy_testutil.h"
}

static size_t queue(const fx *f, const char *name)
{
    int i = modq_policy_queue_find(f->p, name);
    assert_true(i >= 0);
    return (size_t)i;
}

static void expect_allow(fx *f, const char *q, int64_t t, int64_t until)
{
    assert_int_equal(modq_policy_check(f->p, f->l, f->s, queue(f, q), t, f->d), MODQ_POLICY_OK);
    if (!modq_decision_allowed(f->d)) {
        fail_msg("%s at T0%+lld ms: denied %s", q, (long long)(t - T0),
                 modq_policy_reason_name(modq_decision_reason(f->d)));
    }
    assert_int_equal(modq_decision_reason(f->d), MODQ_REASON_NONE);
    if (until >= 0) {
        assert_int_equal(modq_decision_until_ms(f->d), until);
    }
}

static void expect_deny(fx *f, const char *q, int64_t t, modq_policy_reason why, int64_t until)
{
    assert_int_equal(modq_policy_check(f->p, f->l, f->s, queue(f, q), t, f->d), MODQ_POLICY_OK);
    assert_false(modq_decision_allowed(f->d));
    assert_string_equal(modq_policy_reason_name(modq_decision_reason(f->d)),
                        modq_policy_reason_name(why));
    assert_int_equal(modq_decision_until_ms(f->d), until);
}

/* One item of category/tier on screen at level from t to t + dur. */
static void item(fx *f, const char *cat, int tier, int level, int64_t t, int64_t dur)
{
    assert_int_equal(modq_ledger_show(f->l, cat, tier, level, t), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_hide(f->l, t + dur), MODQ_POLICY_OK);
}

static void take_break(fx *f, int64_t t, int64_t dur)
{
    assert_int_equal(modq_ledger_break_start(f->l, t), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_break_end(f->l, t + dur), MODQ_POLICY_OK);
}

static void test_break_due_at_exactly_max_continuous_review(void **state)
{
    fx *f = *state;
    item(f, "spam", 1, 0, T0, MIN(45)); /* starts the shift at T0 */
    expect_allow(f, "hate", T0 + CONTINUOUS - 1, T0 + CONTINUOUS);
    /* The break is over a full break length after the screen went blank. */
    expect_deny(f, "hate", T0 + CONTINUOUS, MODQ_REASON_BREAK_DUE, T0 + MIN(45) + BREAK);
    expect_deny(f, "hate", T0 + CONTINUOUS + 1, MODQ_REASON_BREAK_DUE, T0 + MIN(45) + BREAK);
    assert_int_equal(modq_decision_break_due_ms(f->d), T0 + CONTINUOUS);
    expect_allow(f, "hate", T0 + MIN(45) + BREAK, T0 + MIN(45) + BREAK + CONTINUOUS);
}

static void test_only_a_full_length_break_resets_continuous_review(void **state)
{
    fx *f = *state;
    item(f, "spam", 1, 0, T0, MIN(30));
    take_break(f, T0 + MIN(30), BREAK - 1);
    item(f, "spam", 1, 0, T0 + MIN(40) - 1, MIN(5));
    expect_deny(f, "hate", T0 + CONTINUOUS, MODQ_REASON_BREAK_DUE, T0 + MIN(55) - 1);
    take_break(f, T0 + CONTINUOUS, BREAK);
    expect_allow(f, "hate", T0 + CONTINUOUS + BREAK, T0 + CONTINUOUS + BREAK + CONTINUOUS);
}

static void test_on_break_holds_until_the_minimum_break_end_and_comes_first(void **state)
{
    fx *f = *state;
    item(f, "spam", 1, 0, T0, MIN(1));
    assert_int_equal(modq_ledger_break_start(f->l, T0 + MIN(5)), MODQ_POLICY_OK);
    expect_deny(f, "hate", T0 + MIN(5), MODQ_REASON_ON_BREAK, T0 + MIN(15));
    expect_deny(f, "escalations", T0 + MIN(15) - 1, MODQ_REASON_ON_BREAK, T0 + MIN(15));
    expect_deny(f, "hate", T0 + MIN(15) + 1, MODQ_REASON_ON_BREAK, T0 + MIN(15) + 1);
    assert_int_equal(modq_ledger_break_end(f->l, T0 + MIN(15)), MODQ_POLICY_OK);
    expect_allow(f, "hate", T0 + MIN(15), T0 + MIN(65));
}

static void test_shift_over_at_the_hard_end_of_shift(void **state)
{
    fx *f = *state;
    assert_int_equal(modq_ledger_start_shift(f->l, T0), MODQ_POLICY_OK);
    take_break(f, T0 + SHIFT - MIN(20), BREAK);
    expect_allow(f, "hate", T0 + SHIFT - 1, T0 + SHIFT);
    expect_deny(f, "hate", T0 + SHIFT, MODQ_REASON_SHIFT_OVER, 0);
    expect_deny(f, "spam", T0 + SHIFT + 1, MODQ_REASON_SHIFT_OVER, 0);
    assert_int_equal(modq_decision_shift_end_ms(f->d), T0 + SHIFT);
    /* Ending the shift starts the minimum rest; work resumes exactly when it is over. */
    int64_t end = T0 + SHIFT + 1;
    assert_int_equal(modq_ledger_end_shift(f->l, end), MODQ_POLICY_OK);
    expect_deny(f, "hate", end, MODQ_REASON_SHIFT_OVER, end + REST);
    expect_deny(f, "hate", end + REST - 1, MODQ_REASON_SHIFT_OVER, end + REST);
    expect_allow(f, "hate", end + REST, end + REST + CONTINUOUS);
    assert_int_equal(modq_ledger_start_shift(f->l, end + REST), MODQ_POLICY_OK);
    expect_allow(f, "hate", end + REST, end + REST + CONTINUOUS);
}

static void test_cooldown_after_a_tier4_item_blocks_harmful_items_only(void **state)
{
    fx *f = *state;
    assert_int_equal(modq_settings_add_skill(f->s, "csam_trained"), MODQ_POLICY_OK);
    expect_allow(f, "csam", T0, T0 + CONTINUOUS);
    assert_int_equal(modq_ledger_show(f->l, "csam", 4, 3, T0), MODQ_POLICY_OK);
    /* While the tier-4 item is still on screen, the cooldown runs from now. */
    expect_deny(f, "hate", T0 + MIN(0.5), MODQ_REASON_COOLDOWN, T0 + MIN(3.5));
    assert_int_equal(modq_ledger_hide(f->l, T0 + MIN(1)), MODQ_POLICY_OK);
    expect_deny(f, "hate", T0 + MIN(4) - 1, MODQ_REASON_COOLDOWN, T0 + MIN(4));
    expect_deny(f, "nudity", T0 + MIN(4) - 1, MODQ_REASON_COOLDOWN, T0 + MIN(4));
    expect_deny(f, "csam", T0 + MIN(4) - 1, MODQ_REASON_COOLDOWN, T0 + MIN(4));
    assert_int_equal(modq_decision_cooldown_until_ms(f->d), T0 + MIN(4));
    expect_allow(f, "spam", T0 + MIN(1), T0 + CONTINUOUS); /* tier 1 is below blocks_from_tier */
    expect_allow(f, "hate", T0 + MIN(4), T0 + CONTINUOUS);
    expect_allow(f, "hate", T0 + MIN(4) + 1, T0 + CONTINUOUS);
    assert_int_equal(modq_decision_cooldown_until_ms(f->d), 0);
}

/* A clear tier-3 item (rate 1) on screen for the daily cap + delta ms, then a full break. */
static void fill_daily(fx *f, int64_t delta)
{
    item(f, "hate", 3, 0, T0, DAILY_CAP + delta);
    take_break(f, T0 + MIN(241), BREAK);
}

static void test_daily_cap_one_ms_below_allows_only_the_remaining_exposure(void **state)
{
    fx *f = *state;
    fill_daily(f, -1);
    int64_t now = T0 + MIN(251);
    /* 1 weighted ms left: hate shows at level 3 (rate 1/8) for 8 ms, spam (rate 1/2) for 2. */
    expect_allow(f, "hate", now, now + 8);
    expect_allow(f, "spam", now, now + 2);
    double used, limit;
    assert_true(modq_decision_cap(f->d, MODQ_CAP_DAILY, &used, &limit));
    assert_true(used * 60000.0 == (double)(DAILY_CAP - 1));
    assert_true(limit == 240.0);
}

static void test_daily_cap_reached_denies_until_exposure_rolls_out(void **state)
{
    fx *f = *state;
    fill_daily(f, 0);
    int64_t now = T0 + MIN(251);
    /* 1/8 ms of room (hate's rate) returns when 1 ms of the item leaves the 24 h window. */
    expect_deny(f, "hate", now, MODQ_REASON_DAILY_CAP, T0 + DAY + 1);
    expect_deny(f, "spam", now, MODQ_REASON_DAILY_CAP, T0 + DAY + 1);
    assert_int_equal(modq_ledger_end_shift(f->l, now), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_start_shift(f->l, T0 + DAY - MIN(10)), MODQ_POLICY_OK);
    expect_deny(f, "hate", T0 + DAY, MODQ_REASON_DAILY_CAP, T0 + DAY + 1);
    expect_allow(f, "hate", T0 + DAY + 1, T0 + DAY + 1 + 8);
}

static void test_daily_cap_one_ms_over_denies_one_ms_longer(void **state)
{
    fx *f = *state;
    fill_daily(f, 1);
    expect_deny(f, "hate", T0 + MIN(251), MODQ_REASON_DAILY_CAP, T0 + DAY + 2);
    assert_int_equal(modq_policy_status(f->p, f->l, f->s, T0 + MIN(251), f->d), MODQ_POLICY_OK);
    assert_false(modq_decision_allowed(f->d));
    assert_int_equal(modq_decision_reason(f->d), MODQ_REASON_DAILY_CAP);
}

/* A tier-2 item on screen for its 60-minute tier cap + delta ms, then a full break. */
static void fill_tier2(fx *f, int64_t delta)
{
    item(f, "nudity", 2, 2, T0, MIN(60) + delta);
    take_break(f, T0 + MIN(61), BREAK);
}

static void test_tier_cap_boundaries(void **state)
{
    fx *f = *state;
    fill_tier2(f, -1);
    expect_allow(f, "nudity", T0 + MIN(71), T0 + MIN(71) + 1);
    modq_ledger_free(f->l);
    assert_int_equal(modq_ledger_new("a1", &f->l), MODQ_POLICY_OK);
    fill_tier2(f, 0);
    expect_deny(f, "nudity", T0 + MIN(71), MODQ_REASON_TIER_CAP, T0 + DAY + 1);
    expect_allow(f, "hate", T0 + MIN(71), T0 + MIN(121)); /* other tiers are not capped by it */
    modq_ledger_free(f->l);
    assert_int_equal(modq_ledger_new("a1", &f->l), MODQ_POLICY_OK);
    fill_tier2(f, 1);
    expect_deny(f, "nudity", T0 + MIN(71), MODQ_REASON_TIER_CAP, T0 + DAY + 2);
}

static void test_rotation_denies_the_eleventh_consecutive_item_of_a_category(void **state)
{
    fx *f = *state;
    int64_t t = T0;
    for (int i = 0; i < 9; i++, t += 2000) {
        item(f, "hate", 3, 3, t, 1000);
    }
    expect_allow(f, "hate", t, T0 + CONTINUOUS);
    item(f, "hate", 3, 3, t, 1000);
    t += 2000;
    expect_deny(f, "hate", t, MODQ_REASON_ROTATION, 0);
    expect_allow(f, "gore", t, T0 + CONTINUOUS); /* same tier, other category */
    item(f, "gore", 3, 3, t, 1000);
    t += 2000;
    expect_allow(f, "hate", t, T0 + CONTINUOUS);
}

static void test_rotation_streak_ends_with_a_full_break(void **state)
{
    fx *f = *state;
    int64_t t = T0;
    for (int i = 0; i < 10; i++, t += 2000) {
        item(f, "hate", 3, 3, t, 1000);
    }
    expect_deny(f, "hate", t, MODQ_REASON_ROTATION, 0);
    take_break(f, t, BREAK);
    expect_allow(f, "hate", t + BREAK, t + BREAK + CONTINUOUS);
}

static void test_role_skill_and_opt_out(void **state)
{
    fx *f = *state;
    assert_int_equal(modq_policy_check(f->p, f->l, NULL, queue(f, "hate"), T0, f->d),
                     MODQ_POLICY_OK);
    assert_int_equal(modq_decision_reason(f->d), MODQ_REASON_ROLE);
    expect_deny(f, "escalations", T0, MODQ_REASON_ROLE, 0);
    modq_settings_set_roles(f->s, MODQ_ROLE_LEAD);
    expect_allow(f, "escalations", T0, T0 + CONTINUOUS);
    expect_deny(f, "spam", T0, MODQ_REASON_ROLE, 0); /* spam is for associates only */
    modq_settings_set_roles(f->s, MODQ_ROLE_ASSOCIATE | MODQ_ROLE_LEAD);
    expect_deny(f, "csam", T0, MODQ_REASON_SKILL, 0);
    assert_int_equal(modq_settings_add_skill(f->s, "csam_trained"), MODQ_POLICY_OK);
    expect_allow(f, "csam", T0, T0 + CONTINUOUS);
    assert_int_equal(modq_settings_add_opt_out(f->s, "hate"), MODQ_POLICY_OK);
    expect_deny(f, "hate", T0, MODQ_REASON_OPT_OUT, 0);
    expect_allow(f, "gore", T0, T0 + CONTINUOUS);
}

static void test_person_wide_reasons_take_precedence_over_queue_reasons(void **state)
{
    fx *f = *state;
    assert_int_equal(modq_settings_add_opt_out(f->s, "hate"), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_show(f->l, "spam", 1, 0, T0), MODQ_POLICY_OK); /* stays open */
    expect_deny(f, "hate", T0 + MIN(1), MODQ_REASON_OPT_OUT, 0);
    expect_deny(f, "hate", T0 + CONTINUOUS, MODQ_REASON_BREAK_DUE, T0 + CONTINUOUS + BREAK);
    expect_deny(f, "escalations", T0 + CONTINUOUS, MODQ_REASON_BREAK_DUE, T0 + CONTINUOUS + BREAK);
}

static void reveal(fx *f, int level, bool colour, bool reason, int64_t t)
{
    assert_int_equal(modq_policy_check_reveal(f->p, f->l, f->s, level, colour, reason, t, f->d),
                     MODQ_POLICY_OK);
}

/* The header orders reasons by precedence; LEDGER_FULL is last, after every cap and rule. */
static void test_a_full_category_table_comes_after_cooldown_in_precedence(void **state)
{
    fx *f = *state;
    char cat[16];
    int64_t t = T0;
    for (int i = 0; i < MODQ_LEDGER_MAX_CATEGORIES; i++, t += 2) {
        snprintf(cat, sizeof cat, "c%d", i);
        item(f, cat, 4, 3, t, 1); /* each tier-4 item starts a 3-minute cooldown */
    }
    expect_deny(f, "hate", t, MODQ_REASON_COOLDOWN, t - 1 + MIN(3));
    expect_deny(f, "spam", t, MODQ_REASON_LEDGER_FULL, 0); /* no cooldown for tier 1 */
}

static void test_reveal_reasons_follow_the_documented_precedence(void **state)
{
    fx *f = *state;
    fill_daily(f, 0);
    int64_t now = T0 + MIN(251);
    assert_int_equal(modq_ledger_show(f->l, "nudity", 2, 2, now), MODQ_POLICY_OK);
    /* Level 0 is below tier 2's highest reveal, but the daily cap (lower number) wins. */
    reveal(f, 0, false, true, now);
    assert_false(modq_decision_allowed(f->d));
    assert_int_equal(modq_decision_reason(f->d), MODQ_REASON_DAILY_CAP);
    assert_int_equal(modq_decision_until_ms(f->d), T0 + DAY + 1);
}

static void test_reveal_limits_of_the_tier(void **state)
{
    fx *f = *state;
    assert_int_equal(modq_policy_check_reveal(f->p, f->l, f->s, 1, false, false, T0, f->d),
                     MODQ_POLICY_ERR_STATE);
    assert_int_equal(modq_ledger_show(f->l, "nudity", 2, 2, T0), MODQ_POLICY_OK);
    reveal(f, 1, false, false, T0 + 1000);
    assert_true(modq_decision_allowed(f->d));
    reveal(f, 0, false, true, T0 + 1000);
    assert_int_equal(modq_decision_reason(f->d), MODQ_REASON_REVEAL_LEVEL);
    reveal(f, 2, true, false, T0 + 1000);
    assert_int_equal(modq_decision_reason(f->d), MODQ_REASON_COLOUR);
    reveal(f, 3, false, false, T0 + 1000);
    assert_true(modq_decision_allowed(f->d));
    assert_int_equal(modq_ledger_hide(f->l, T0 + 2000), MODQ_POLICY_OK);

    assert_int_equal(modq_ledger_show(f->l, "hate", 3, 3, T0 + 3000), MODQ_POLICY_OK);
    reveal(f, 0, false, false, T0 + 4000);
    assert_int_equal(modq_decision_reason(f->d), MODQ_REASON_NEEDS_REASON);
    reveal(f, 0, true, true, T0 + 4000);
    assert_true(modq_decision_allowed(f->d));
    reveal(f, 1, true, false, T0 + 4000);
    assert_true(modq_decision_allowed(f->d));
    assert_int_equal(modq_policy_check_reveal(f->p, f->l, f->s, 4, false, false, T0, f->d),
                     MODQ_POLICY_ERR_INVALID_ARG);
}

static void test_reveal_towards_more_blur_is_allowed_even_when_a_break_is_due(void **state)
{
    fx *f = *state;
    assert_int_equal(modq_ledger_show(f->l, "hate", 3, 2, T0), MODQ_POLICY_OK);
    reveal(f, 1, false, false, T0 + CONTINUOUS - 1);
    assert_true(modq_decision_allowed(f->d));
    assert_int_equal(modq_decision_until_ms(f->d), T0 + CONTINUOUS);
    reveal(f, 1, false, false, T0 + CONTINUOUS);
    assert_int_equal(modq_decision_reason(f->d), MODQ_REASON_BREAK_DUE);
    reveal(f, 3, false, false, T0 + CONTINUOUS);
    assert_true(modq_decision_allowed(f->d));
    assert_int_equal(modq_decision_until_ms(f->d), T0 + CONTINUOUS); /* hide it now */
}

static void test_reveal_is_held_to_the_daily_cap_at_its_new_rate(void **state)
{
    fx *f = *state;
    item(f, "hate", 3, 0, T0, DAILY_CAP - 1);
    take_break(f, T0 + MIN(241), BREAK);
    int64_t now = T0 + MIN(251);
    assert_int_equal(modq_ledger_show(f->l, "hate", 3, 3, now), MODQ_POLICY_OK);
    reveal(f, 0, false, true, now); /* rate 1: 1 ms left */
    assert_true(modq_decision_allowed(f->d));
    assert_int_equal(modq_decision_until_ms(f->d), now + 1);
    reveal(f, 0, true, true, now); /* colour doubles the rate: not even 1 ms */
    assert_false(modq_decision_allowed(f->d));
    assert_int_equal(modq_decision_reason(f->d), MODQ_REASON_DAILY_CAP);
}

static bool has_warning(const modq_decision *d, modq_policy_cap c)
{
    for (size_t i = 0; i < modq_decision_warning_count(d); i++) {
        if (modq_decision_warning(d, i) == c) {
            return true;
        }
    }
    return false;
}

static void test_warnings_start_at_the_threshold_and_stop_at_the_cap(void **state)
{
    fx *f = *state;
    int64_t warn = T0 + MIN(37.5); /* 0.75 x 50 min */
    assert_int_equal(modq_ledger_show(f->l, "hate", 3, 3, T0), MODQ_POLICY_OK);
    assert_int_equal(modq_policy_status(f->p, f->l, f->s, warn - 1, f->d), MODQ_POLICY_OK);
    assert_false(has_warning(f->d, MODQ_CAP_CONTINUOUS));
    assert_int_equal(modq_policy_status(f->p, f->l, f->s, warn, f->d), MODQ_POLICY_OK);
    assert_true(has_warning(f->d, MODQ_CAP_CONTINUOUS));
    assert_false(has_warning(f->d, MODQ_CAP_DAILY));
    expect_allow(f, "hate", warn, T0 + CONTINUOUS); /* checks carry warnings too */
    assert_true(has_warning(f->d, MODQ_CAP_CONTINUOUS));
    assert_int_equal(modq_policy_status(f->p, f->l, f->s, T0 + CONTINUOUS, f->d), MODQ_POLICY_OK);
    assert_false(has_warning(f->d, MODQ_CAP_CONTINUOUS));
    assert_int_equal(modq_decision_reason(f->d), MODQ_REASON_BREAK_DUE);
}

static void test_daily_warning_at_three_quarters_of_the_cap(void **state)
{
    fx *f = *state;
    item(f, "hate", 3, 0, T0, MIN(180) - 1);
    take_break(f, T0 + MIN(181), BREAK);
    assert_int_equal(modq_policy_status(f->p, f->l, f->s, T0 + MIN(191), f->d), MODQ_POLICY_OK);
    assert_false(has_warning(f->d, MODQ_CAP_DAILY));
    modq_ledger_free(f->l);
    assert_int_equal(modq_ledger_new("a1", &f->l), MODQ_POLICY_OK);
    item(f, "hate", 3, 0, T0, MIN(180));
    take_break(f, T0 + MIN(181), BREAK);
    assert_int_equal(modq_policy_status(f->p, f->l, f->s, T0 + MIN(191), f->d), MODQ_POLICY_OK);
    assert_true(has_warning(f->d, MODQ_CAP_DAILY));
    assert_true(modq_decision_allowed(f->d));
}

static void test_personal_caps_and_blur_are_applied_and_never_loosen(void **state)
{
    fx *f = *state;
    char err[256];
    assert_int_equal(modq_settings_set_daily_cap(f->s, 120), MODQ_POLICY_OK);
    assert_int_equal(modq_settings_validate(f->s, f->p, err, sizeof err), MODQ_POLICY_OK);
    item(f, "hate", 3, 0, T0, MIN(120));
    take_break(f, T0 + MIN(121), BREAK);
    expect_deny(f, "hate", T0 + MIN(131), MODQ_REASON_DAILY_CAP, T0 + DAY + 1);
    /* A looser personal cap is rejected, and even unvalidated it cannot loosen the policy. */
    assert_int_equal(modq_settings_set_daily_cap(f->s, 300), MODQ_POLICY_OK);
    assert_int_equal(modq_settings_validate(f->s, f->p, err, sizeof err), MODQ_POLICY_ERR_SETTINGS);
    assert_string_equal(err, "setting 'daily_cap_minutes': 300 is looser than the policy's 240");
    item(f, "hate", 3, 0, T0 + MIN(131), MIN(120));
    take_break(f, T0 + MIN(252), BREAK);
    expect_deny(f, "hate", T0 + MIN(262), MODQ_REASON_DAILY_CAP, T0 + DAY + 1);
}

static void test_personal_tier_cap_and_default_level(void **state)
{
    fx *f = *state;
    char err[256];
    assert_int_equal(modq_settings_set_tier_cap(f->s, 3, 30), MODQ_POLICY_OK);
    assert_int_equal(modq_settings_set_default_level(f->s, "spam", 2), MODQ_POLICY_OK);
    assert_int_equal(modq_settings_validate(f->s, f->p, err, sizeof err), MODQ_POLICY_OK);
    expect_allow(f, "spam", T0, T0 + CONTINUOUS);
    assert_int_equal(modq_decision_show_level(f->d), 2);
    item(f, "hate", 3, 3, T0, MIN(30));
    expect_deny(f, "gore", T0 + MIN(30), MODQ_REASON_TIER_CAP, T0 + DAY + 1);
    assert_int_equal(modq_settings_set_tier_cap(f->s, 2, 90), MODQ_POLICY_OK);
    assert_int_equal(modq_settings_validate(f->s, f->p, err, sizeof err), MODQ_POLICY_ERR_SETTINGS);
    assert_string_equal(err, "setting 'tier2_cap_minutes': 90 is looser than the policy's 60");
}

static void test_personal_settings_validation_rejects_looser_or_unknown(void **state)
{
    fx *f = *state;
    char err[256];
    assert_int_equal(modq_settings_set_default_level(f->s, "hate", 2), MODQ_POLICY_OK);
    assert_int_equal(modq_settings_validate(f->s, f->p, err, sizeof err), MODQ_POLICY_ERR_SETTINGS);
    assert_string_equal(err, "setting 'default_level' for 'hate': level 2 is clearer than the "
                             "policy's 3 (queue 'hate')");
    modq_settings *s2 = modq_settings_new();
    assert_non_null(s2);
    assert_int_equal(modq_settings_add_opt_out(s2, "cats"), MODQ_POLICY_OK);
    assert_int_equal(modq_settings_validate(s2, f->p, err, sizeof err), MODQ_POLICY_ERR_SETTINGS);
    assert_string_equal(err, "setting 'opt_out': unknown category 'cats'");
    assert_int_equal(modq_settings_set_daily_cap(s2, 0), MODQ_POLICY_ERR_INVALID_ARG);
    /* Positive but under half a millisecond would round to 0, which means "no cap". */
    assert_int_equal(modq_settings_set_daily_cap(s2, 0.000008), MODQ_POLICY_ERR_INVALID_ARG);
    assert_int_equal(modq_settings_set_tier_cap(s2, 4, 0.000008), MODQ_POLICY_ERR_INVALID_ARG);
    assert_int_equal(modq_settings_set_daily_cap(s2, 0.00001), MODQ_POLICY_OK); /* 0.6 ms: 1 */
    assert_int_equal(modq_settings_set_tier_cap(s2, 5, 10), MODQ_POLICY_ERR_INVALID_ARG);
    assert_int_equal(modq_settings_set_default_level(s2, "hate", 4), MODQ_POLICY_ERR_INVALID_ARG);
    for (int i = 0; i < MODQ_POLICY_MAX_SKILLS; i++) {
        char name[16];
        snprintf(name, sizeof name, "s%d", i);
        assert_int_equal(modq_settings_add_skill(s2, name), MODQ_POLICY_OK);
    }
    assert_int_equal(modq_settings_add_skill(s2, "one_more"), MODQ_POLICY_ERR_INVALID_ARG);
    modq_settings_free(s2);
}

static void test_status_reports_usage_break_and_shift_times(void **state)
{
    fx *f = *state;
    assert_int_equal(modq_policy_status(f->p, f->l, f->s, T0, f->d), MODQ_POLICY_OK);
    assert_true(modq_decision_allowed(f->d));
    assert_int_equal(modq_decision_shift_end_ms(f->d), -1); /* no shift yet */
    item(f, "nudity", 2, 2, T0, MIN(8)); /* 8 min x weight 1 x level-2 weight 1/4 */
    assert_int_equal(modq_policy_status(f->p, f->l, f->s, T0 + MIN(10), f->d), MODQ_POLICY_OK);
    double used, limit;
    assert_true(modq_decision_cap(f->d, MODQ_CAP_DAILY, &used, &limit));
    assert_true(used == 2.0 && limit == 240.0);
    assert_true(modq_decision_cap(f->d, MODQ_CAP_TIER2, &used, &limit));
    assert_true(used == 8.0 && limit == 60.0);
    assert_false(modq_decision_cap(f->d, MODQ_CAP_TIER3, &used, &limit)); /* no tier-3 cap */
    assert_true(modq_decision_cap(f->d, MODQ_CAP_CONTINUOUS, &used, &limit));
    assert_true(used == 10.0 && limit == 50.0);
    assert_true(modq_decision_cap(f->d, MODQ_CAP_SHIFT, &used, &limit));
    assert_true(used == 10.0 && limit == 480.0);
    assert_int_equal(modq_decision_break_due_ms(f->d), T0 + CONTINUOUS);
    assert_int_equal(modq_decision_shift_end_ms(f->d), T0 + SHIFT);
    assert_int_equal(modq_decision_warning_count(f->d), 0);
}

/* What one view weighed, as the daily cap counts it: minutes x tier weight x level weight x
 * colour factor, for the part of each segment inside the window; an open item until its end. */
static void test_exposure_minutes_weigh_tier_level_and_colour(void **state)
{
    fx *f = *state;

    assert_int_equal(modq_ledger_show(f->l, "hate", 3, 3, T0), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_reveal(f->l, 0, true, T0 + MIN(1)), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_hide(f->l, T0 + MIN(3)), MODQ_POLICY_OK);
    /* 1 min at level 3 (1 x 0.125), then 2 min clear in colour (1 x 1 x 2 each). */
    assert_true(modq_policy_exposure_minutes(f->p, f->l, T0, T0 + MIN(3)) == 4.125);
    assert_true(modq_policy_exposure_minutes(f->p, f->l, T0 + MIN(2), T0 + MIN(3)) == 2.0);
    assert_true(modq_policy_exposure_minutes(f->p, f->l, T0 - MIN(5), T0 + MIN(60)) == 4.125);
    assert_int_equal(modq_ledger_show(f->l, "spam", 1, 0, T0 + MIN(10)), MODQ_POLICY_OK);
    /* Still on screen: counted until the window's end (0.5 x 1 per minute). */
    assert_true(modq_policy_exposure_minutes(f->p, f->l, T0 + MIN(10), T0 + MIN(12)) == 1.0);
    assert_true(modq_policy_exposure_minutes(f->p, f->l, T0 + MIN(12), T0 + MIN(12)) == 0.0);
    assert_true(modq_policy_exposure_minutes(NULL, f->l, T0, T0 + MIN(3)) == 0.0);
    assert_true(modq_policy_exposure_minutes(f->p, NULL, T0, T0 + MIN(3)) == 0.0);
}

static void test_check_refuses_time_before_the_ledger_and_unknown_queues(void **state)
{
    fx *f = *state;
    item(f, "spam", 1, 0, T0, 1000);
    assert_int_equal(modq_policy_check(f->p, f->l, f->s, queue(f, "hate"), T0 + 999, f->d),
                     MODQ_POLICY_ERR_TIME_ORDER);
    assert_false(modq_decision_allowed(f->d));
    assert_int_equal(modq_policy_check(f->p, f->l, f->s, 99, T0 + 2000, f->d),
                     MODQ_POLICY_ERR_UNKNOWN_QUEUE);
    assert_false(modq_decision_allowed(f->d));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_break_due_at_exactly_max_continuous_review),
        T(test_only_a_full_length_break_resets_continuous_review),
        T(test_on_break_holds_until_the_minimum_break_end_and_comes_first),
        T(test_shift_over_at_the_hard_end_of_shift),
        T(test_cooldown_after_a_tier4_item_blocks_harmful_items_only),
        T(test_daily_cap_one_ms_below_allows_only_the_remaining_exposure),
        T(test_daily_cap_reached_denies_until_exposure_rolls_out),
        T(test_daily_cap_one_ms_over_denies_one_ms_longer),
        T(test_tier_cap_boundaries),
        T(test_rotation_denies_the_eleventh_consecutive_item_of_a_category),
        T(test_rotation_streak_ends_with_a_full_break),
        T(test_role_skill_and_opt_out),
        T(test_person_wide_reasons_take_precedence_over_queue_reasons),
        T(test_a_full_category_table_comes_after_cooldown_in_precedence),
        T(test_reveal_reasons_follow_the_documented_precedence),
        T(test_reveal_limits_of_the_tier),
        T(test_reveal_towards_more_blur_is_allowed_even_when_a_break_is_due),
        T(test_reveal_is_held_to_the_daily_cap_at_its_new_rate),
        T(test_warnings_start_at_the_threshold_and_stop_at_the_cap),
        T(test_daily_warning_at_three_quarters_of_the_cap),
        T(test_personal_caps_and_blur_are_applied_and_never_loosen),
        T(test_personal_tier_cap_and_default_level),
        T(test_personal_settings_validation_rejects_looser_or_unknown),
        T(test_status_reports_usage_break_and_shift_times),
        T(test_check_refuses_time_before_the_ledger_and_unknown_queues),
        T(test_exposure_minutes_weigh_tier_level_and_colour),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
