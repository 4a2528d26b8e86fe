/*
 * fuzz_policy.c: the policy loader (modq_policy_load_buffer) on hostile YAML, then a short shift
 * under every policy that loads: each queue checked, shown at its level, revealed as far as its
 * tier allows, hidden, a break and the status, so that the checks' arithmetic meets the extreme
 * limits a policy file may set (UBSan catches an overflow).
 *
 * Invariants: a refusal names "FILE:LINE:" on one line; a loaded policy answers for every queue;
 * an allowed item comes with a deadline not before now.
 */
#include "fuzz_util.h"
#include "modq_policy.h"

#define T0   INT64_C(1767603600000) /* 2026-01-05T09:00:00Z */
#define STEP INT64_C(7 * 60 * 1000)

typedef struct fz_state {
    modq_decision *d;
    modq_settings *s;
} fz_state;

static fz_state st;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    if (!(st.d = modq_decision_new())) {
        fz_setup_fail("out of memory");
    }
    return 0;
}

/* Settings that hold every role and every skill the policy's queues ask for (up to the cap). */
static modq_settings *settings_for(const modq_policy *p)
{
    modq_settings *s = modq_settings_new();

    if (!s) {
        return NULL;
    }
    modq_settings_set_roles(s, MODQ_ROLE_ASSOCIATE | MODQ_ROLE_LEAD | MODQ_ROLE_QA);
    for (size_t i = 0; i < modq_policy_queue_count(p); i++) {
        for (size_t k = 0; k < modq_policy_queue_skill_count(p, i); k++) {
            (void)modq_settings_add_skill(s, modq_policy_queue_skill(p, i, k));
        }
    }
    return s;
}

/* One item of queue qi: checked, shown, revealed, hidden. t advances. */
static void one_item(const modq_policy *p, modq_ledger *l, const modq_settings *s, size_t qi,
                     int64_t *t)
{
    int tier = modq_policy_queue_tier(p, qi);
    modq_policy_result r = modq_policy_check(p, l, s, qi, *t, st.d);

    if (r != MODQ_POLICY_OK || !modq_decision_allowed(st.d)) {
        return;
    }
    if (modq_decision_until_ms(st.d) < *t) {
        fz_fail("queue %zu allowed at %lld with a deadline before it (%lld)", qi, (long long)*t,
                (long long)modq_decision_until_ms(st.d));
    }
    if (modq_ledger_show(l, modq_policy_queue_category(p, qi), tier, modq_decision_show_level(st.d),
                         *t) != MODQ_POLICY_OK) {
        return;
    }
    *t += STEP / 2;
    r = modq_policy_check_reveal(p, l, s, modq_policy_tier_max_reveal(p, tier),
                                 modq_policy_tier_colour_allowed(p, tier), true, *t, st.d);
    if (r == MODQ_POLICY_OK && modq_decision_allowed(st.d)) {
        (void)modq_ledger_reveal(l, modq_policy_tier_max_reveal(p, tier),
                                 modq_policy_tier_colour_allowed(p, tier), *t);
    }
    *t += STEP / 2;
    (void)modq_ledger_hide(l, *t);
}

static void shift(const modq_policy *p)
{
    modq_ledger *l = NULL;
    modq_settings *s = settings_for(p);
    int64_t t = T0;
    size_t n = modq_policy_queue_count(p);
    char summary[512];

    if (!s || modq_ledger_new("fuzz-associate", &l) != MODQ_POLICY_OK) {
        goto out;
    }
    modq_policy_summary(p, summary, sizeof(summary));
    (void)modq_policy_version(p);
    for (int tier = 1; tier <= MODQ_POLICY_TIERS; tier++) {
        (void)modq_policy_tier_default_level(p, tier);
        (void)modq_policy_tier_reason_required(p, tier);
    }
    (void)modq_ledger_start_shift(l, t);
    for (size_t i = 0; i < n && i < 16; i++) {
        const char *name = modq_policy_queue_name(p, i);
        if (!name || modq_policy_queue_find(p, name) < 0 || !modq_policy_queue_topic(p, i)) {
            fz_fail("queue %zu has no name or topic, or cannot be found by name", i);
        }
        (void)modq_settings_show_level(s, p, i);
        one_item(p, l, s, i, &t);
    }
    (void)modq_ledger_break_start(l, t);
    t += STEP;
    (void)modq_ledger_break_end(l, t);
    (void)modq_policy_status(p, l, s, t, st.d);
    (void)modq_policy_exposure_minutes(p, l, T0, t);
    if (n > 0) {
        one_item(p, l, s, 0, &t);
    }
    (void)modq_ledger_end_shift(l, t);
out:
    modq_ledger_free(l);
    modq_settings_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    modq_policy *p = NULL;
    char err[512];
    modq_policy_result r;

    r = modq_policy_load_buffer((const char *)data, size, "fuzz.yaml", &p, err, sizeof(err));
    if (r != MODQ_POLICY_OK) {
        if (p) {
            fz_fail("a refused policy was handed out");
        }
        if (r != MODQ_POLICY_ERR_NOMEM &&
            (strncmp(err, "fuzz.yaml:", 10) != 0 || strchr(err, '\n') != NULL)) {
            fz_fail("refusal not of the form FILE:LINE: on one line: '%s'", err);
        }
        return 0;
    }
    shift(p);
    modq_policy_free(p);
    return 0;
}
