/*
 * test_policy_check_random.c: property test of policy/policy_check.c. Replays thousands of
 * generated shifts (a worker that asks, shows, reveals, hides and takes breaks at random times,
 * always hiding by the decision's deadline) and checks every allowed item against an oracle that
 * recomputes the rules from its own record of what was shown: no allowed item may break a cap,
 * break, cooldown, rotation or shift rule, and every denial's until-time must be exact. Shifts are
 * sometimes ended and restarted mid-way or restarted too soon after the last one: the oracle keeps
 * its own list of shifts and checks the minimum rest and the hard stop of the work period.
 *
 * Deterministic: splitmix64 seeded from MODQ_TEST_SEED (default below); the seed is printed so
 * that a failure can be replayed. MODQ_TEST_SHIFTS changes the number of shifts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "modq_policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MINUTE INT64_C(60000)
#define DAY    (24 * 60 * MINUTE)
#define T0     INT64_C(1767603600000)

/* tests/data/policy/rules.yaml, restated: the oracle's own copy of the rules. */
static const double tier_weight[5] = {0, 0.5, 1.0, 1.0, 2.0};
static const double level_weight[4] = {1.0, 0.5, 0.25, 0.125};
#define COLOUR_FACTOR 2.0
static const int64_t policy_tier_cap[5] = {0, 0, 60 * MINUTE, 0, 300 * MINUTE};
static const int tier_default[5] = {0, 0, 2, 3, 3};
static const int tier_max_reveal[5] = {0, 0, 1, 0, 0};
static const bool tier_colour[5] = {false, true, false, true, false};
static const bool tier_reason[5] = {false, false, false, true, true};
#define DAILY_CAP   (240 * MINUTE)
#define CONTINUOUS  (50 * MINUTE)
#define BREAK_LEN   (10 * MINUTE)
#define COOLDOWN4   (3 * MINUTE)
#define SHIFT_LEN   (480 * MINUTE)
#define MIN_REST    (600 * MINUTE)
#define ROTATION    10
#define OMAX_SHIFTS 1024

typedef struct oseg {
    int64_t start, end; /* end -1 while open */
    int tier, level, cat;
    bool colour, item_start;
} oseg;

typedef struct oracle {
    oseg *segs;
    size_t n, cap;
    int64_t brk_start[4096], brk_end[4096];
    size_t nbrk;
    int64_t sh_start[OMAX_SHIFTS], sh_end[OMAX_SHIFTS]; /* end -1 while open */
    size_t nsh;
    int64_t daily_cap;
    int64_t tier_cap[5];
    unsigned roles;
    bool skill_csam;
    int optout_cat; /* -1 none */
    int personal_level[8];
} oracle;

typedef struct qinfo {
    const char *name, *cat;
    int cat_id, tier;
    unsigned roles;
    bool needs_csam;
} qinfo;

static const qinfo queues[] = {
    {"spam", "spam", 0, 1, MODQ_ROLE_ASSOCIATE, false},
    {"nudity", "nudity", 1, 2, MODQ_ROLE_ASSOCIATE, false},
    {"hate", "hate", 2, 3, MODQ_ROLE_ASSOCIATE | MODQ_ROLE_LEAD, false},
    {"gore", "gore", 3, 3, MODQ_ROLE_ASSOCIATE, false},
    {"csam", "csam", 4, 4, MODQ_ROLE_ASSOCIATE, true},
    {"escalations", "escalation", 5, 3, MODQ_ROLE_LEAD, false},
};
#define NQ (sizeof queues / sizeof queues[0])

static uint64_t rng_state;
static uint64_t next_u64(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}
/* Uniform in [lo, hi]. */
static int64_t rnd(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(next_u64() % (uint64_t)(hi - lo + 1));
}

static double rate_of(int tier, int level, bool colour)
{
    return tier_weight[tier] * level_weight[level] * (colour ? COLOUR_FACTOR : 1.0);
}

static void o_push(oracle *o, oseg s)
{
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 256;
        o->segs = realloc(o->segs, o->cap * sizeof *o->segs);
        assert_non_null(o->segs);
    }
    o->segs[o->n++] = s;
}

/* Exposure in [t - 24 h, t), computed from the oracle's own records. */
static void o_usage(const oracle *o, int64_t t, double *weighted, int64_t tier_ms[5])
{
    *weighted = 0;
    memset(tier_ms, 0, 5 * sizeof *tier_ms);
    for (size_t i = 0; i < o->n; i++) {
        const oseg *s = &o->segs[i];
        int64_t end = s->end < 0 ? t : s->end;
        int64_t lo = s->start > t - DAY ? s->start : t - DAY, hi = end < t ? end : t;
        if (hi > lo) {
            *weighted += (double)(hi - lo) * rate_of(s->tier, s->level, s->colour);
            tier_ms[s->tier] += hi - lo;
        }
    }
}

/* Start of continuous review at t (nothing on screen at t): the latest instant that follows a
 * stretch of at least BREAK_LEN with nothing on screen, or the end of a full break. */
static int64_t o_run_start(const oracle *o, int64_t t)
{
    int64_t run = t;
    /* Walk back through the on-screen time; stop at the first blank stretch of a break's length. */
    int64_t blank_end = t;
    for (size_t i = o->n; i-- > 0;) {
        if (blank_end - o->segs[i].end >= BREAK_LEN) {
            break;
        }
        run = o->segs[i].start;
        blank_end = o->segs[i].start;
    }
    for (size_t i = 0; i < o->nbrk; i++) {
        if (o->brk_end[i] >= 0 && o->brk_end[i] - o->brk_start[i] >= BREAK_LEN &&
            o->brk_end[i] > run) {
            run = o->brk_end[i];
        }
    }
    return run;
}

/* The newest end of a shift, or -1. */
static int64_t o_last_end(const oracle *o)
{
    for (size_t i = o->nsh; i-- > 0;) {
        if (o->sh_end[i] >= 0) {
            return o->sh_end[i];
        }
    }
    return -1;
}

/* Start of the work period at t: back over shifts separated by less than the minimum rest. */
static int64_t o_period_start(const oracle *o, int64_t t)
{
    bool open = o->nsh > 0 && o->sh_end[o->nsh - 1] < 0;
    if (o->nsh == 0 || (!open && t >= o_last_end(o) + MIN_REST)) {
        return t;
    }
    size_t i = o->nsh - 1;
    while (i > 0 && o->sh_start[i] - o->sh_end[i - 1] < MIN_REST) {
        i--;
    }
    return o->sh_start[i];
}

/* SHIFT_OVER applies at t: within a rest, or past the hard stop of the work period. */
static bool o_shift_over(const oracle *o, int64_t t)
{
    int64_t e = o_last_end(o);
    return (e >= 0 && t < e + MIN_REST) || t >= o_period_start(o, t) + SHIFT_LEN;
}

static int64_t o_cooldown_until(const oracle *o)
{
    int64_t until = 0;
    for (size_t i = 0; i < o->n; i++) {
        if (o->segs[i].tier == 4 && o->segs[i].end >= 0 && o->segs[i].end + COOLDOWN4 > until) {
            until = o->segs[i].end + COOLDOWN4;
        }
    }
    return until;
}

static int o_streak(const oracle *o, int64_t run, int *cat)
{
    int n = 0;
    *cat = -1;
    for (size_t i = o->n; i-- > 0;) {
        if (o->segs[i].start < run) {
            break;
        }
        if (!o->segs[i].item_start) {
            continue;
        }
        if (*cat < 0) {
            *cat = o->segs[i].cat;
        } else if (o->segs[i].cat != *cat) {
            break;
        }
        n++;
    }
    return n;
}

static int64_t eff_tier_cap(const oracle *o, int tier)
{
    int64_t a = policy_tier_cap[tier], b = o->tier_cap[tier];
    return a == 0 ? b : (b == 0 ? a : (a < b ? a : b));
}

/* Everything that must hold when the engine allowed queue q at t with deadline until. */
static void assert_allowed_is_safe(const oracle *o, const qinfo *q, int level, int64_t t,
                                   int64_t until)
{
    double w;
    int64_t tms[5];
    int64_t run = o_run_start(o, t);
    int64_t period = o_period_start(o, t);
    o_usage(o, t, &w, tms);
    assert_false(o_shift_over(o, t));
    assert_true(o_last_end(o) < 0 || t >= o_last_end(o) + MIN_REST);
    assert_true(t < period + SHIFT_LEN);
    assert_true(t < run + CONTINUOUS);
    assert_true(until > t);
    assert_true(until <= period + SHIFT_LEN);
    assert_true(until <= run + CONTINUOUS);
    assert_true(w + rate_of(q->tier, level, false) <= (double)o->daily_cap);
    if (eff_tier_cap(o, q->tier) > 0) {
        assert_true(tms[q->tier] < eff_tier_cap(o, q->tier));
    }
    if (q->tier >= 2) {
        assert_true(t >= o_cooldown_until(o));
    }
    int cat;
    int n = o_streak(o, run, &cat);
    assert_false(cat == q->cat_id && n >= ROTATION);
    assert_true((o->roles & q->roles) != 0);
    assert_true(!q->needs_csam || o->skill_csam);
    assert_true(o->optout_cat != q->cat_id);
    int want = tier_default[q->tier];
    if (o->personal_level[q->cat_id] > want) {
        want = o->personal_level[q->cat_id];
    }
    assert_int_equal(level, want);
}

/* After an item of tier shown left the screen at h: it pushed no cap past its limit. (Other
 * tiers did not grow; a new shift's personal cap may already be below what they hold.) */
static void assert_caps_hold(const oracle *o, int64_t h, int shown)
{
    double w;
    int64_t tms[5];
    o_usage(o, h, &w, tms);
    assert_true(w <= (double)o->daily_cap + 1e-6);
    for (int t = shown; t <= shown; t++) {
        if (eff_tier_cap(o, t) > 0 && tms[t] > eff_tier_cap(o, t)) {
            const oseg *last = &o->segs[o->n - 1];
            fail_msg("tier %d: %lld ms on screen > cap %lld at %lld; last item tier %d %lld..%lld",
                     t, (long long)tms[t], (long long)eff_tier_cap(o, t), (long long)(h - T0),
                     last->tier, (long long)(last->start - T0), (long long)(last->end - T0));
        }
    }
}

typedef struct world {
    modq_policy *p;
    modq_ledger *l;
    modq_settings *s;
    modq_decision *d;
    oracle o;
    size_t qidx[NQ];
    unsigned long allowed, denied, reveals, restores;
    unsigned long reasons[MODQ_REASON_COUNT];
} world;

static void random_settings(world *w)
{
    oracle *o = &w->o;
    modq_settings_free(w->s);
    w->s = modq_settings_new();
    assert_non_null(w->s);
    memset(o->tier_cap, 0, sizeof o->tier_cap);
    memset(o->personal_level, 0, sizeof o->personal_level);
    int64_t r = rnd(0, 9);
    o->roles = r < 7   ? MODQ_ROLE_ASSOCIATE
               : r < 9 ? MODQ_ROLE_ASSOCIATE | MODQ_ROLE_LEAD
                       : MODQ_ROLE_QA;
    modq_settings_set_roles(w->s, o->roles);
    o->skill_csam = rnd(0, 1) == 1;
    if (o->skill_csam) {
        assert_int_equal(modq_settings_add_skill(w->s, "csam_trained"), MODQ_POLICY_OK);
    }
    o->optout_cat = rnd(0, 4) == 0 ? (int)rnd(0, 4) : -1;
    if (o->optout_cat >= 0) {
        assert_int_equal(modq_settings_add_opt_out(w->s, queues[o->optout_cat].cat),
                         MODQ_POLICY_OK);
    }
    o->daily_cap = DAILY_CAP;
    if (rnd(0, 2) == 0) {
        int64_t m = rnd(30, 240);
        assert_int_equal(modq_settings_set_daily_cap(w->s, (double)m), MODQ_POLICY_OK);
        o->daily_cap = m * MINUTE;
    }
    if (rnd(0, 2) == 0) {
        int tier = (int)rnd(1, 4);
        int64_t m = rnd(5, 60);
        assert_int_equal(modq_settings_set_tier_cap(w->s, tier, (double)m), MODQ_POLICY_OK);
        o->tier_cap[tier] = m * MINUTE;
    }
    if (rnd(0, 2) == 0) {
        int q = (int)rnd(0, 3); /* categories with one tier each */
        int level = (int)rnd(tier_default[queues[q].tier], 3);
        assert_int_equal(modq_settings_set_default_level(w->s, queues[q].cat, level),
                         MODQ_POLICY_OK);
        o->personal_level[queues[q].cat_id] = level;
    }
    char err[256];
    assert_int_equal(modq_settings_validate(w->s, w->p, err, sizeof err), MODQ_POLICY_OK);
}

/* A denial's until must be exact: still denied 1 ms before, this reason gone at until. */
static void assert_until_exact(world *w, size_t qi, modq_policy_reason why, int64_t t,
                               int64_t until)
{
    if (why == MODQ_REASON_COOLDOWN || why == MODQ_REASON_DAILY_CAP ||
        why == MODQ_REASON_TIER_CAP) {
        assert_true(until > t);
        assert_int_equal(modq_policy_check(w->p, w->l, w->s, qi, until - 1, w->d), MODQ_POLICY_OK);
        if (modq_decision_allowed(w->d)) {
            fail_msg("%s at %lld until %lld (queue %s), but allowed at until - 1",
                     modq_policy_reason_name(why), (long long)(t - T0), (long long)(until - T0),
                     modq_policy_queue_name(w->p, qi));
        }
        assert_int_equal(modq_policy_check(w->p, w->l, w->s, qi, until, w->d), MODQ_POLICY_OK);
        assert_int_not_equal(modq_decision_reason(w->d), why);
    } else if (why == MODQ_REASON_BREAK_DUE || why == MODQ_REASON_ON_BREAK) {
        assert_true(until >= t);
    } else if (why == MODQ_REASON_SHIFT_OVER) {
        /* The end of the rest (or 0 past the hard stop, which only ending the shift clears). */
        int64_t e = o_last_end(&w->o);
        assert_int_equal(until, (e >= 0 && t < e + MIN_REST) ? e + MIN_REST : 0);
    } else {
        assert_int_equal(until, 0);
    }
}

static void restore_via_protobuf(world *w)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    modq_ledger *back = NULL;
    char err[256];
    assert_int_equal(modq_ledger_pack(w->l, &buf, &len), MODQ_POLICY_OK);
    assert_int_equal(modq_ledger_unpack(buf, len, &back, err, sizeof err), MODQ_POLICY_OK);
    free(buf);
    modq_ledger_free(w->l);
    w->l = back;
    w->restores++;
}

/* One item: shown at t, maybe revealed, hidden by its deadline. Returns the hide time. */
static int64_t review_item(world *w, const qinfo *q, int64_t t, int64_t deadline)
{
    oracle *o = &w->o;
    int level = modq_decision_show_level(w->d);
    assert_int_equal(modq_ledger_show(w->l, q->cat, q->tier, level, t), MODQ_POLICY_OK);
    o_push(o, (oseg){t, -1, q->tier, level, q->cat_id, false, true});
    int64_t want = t + (rnd(0, 9) == 0 ? rnd(10, 60) * MINUTE : rnd(2000, 8 * MINUTE));
    int64_t hide = want < deadline ? want : deadline;
    if (rnd(0, 2) == 0 && hide - t > 2) {
        int64_t rt = rnd(t + 1, hide - 1);
        int rl = (int)rnd(0, 3);
        bool colour = rnd(0, 3) == 0, reason = rnd(0, 1) == 1;
        assert_int_equal(modq_policy_check_reveal(w->p, w->l, w->s, rl, colour, reason, rt, w->d),
                         MODQ_POLICY_OK);
        oseg *cur = &o->segs[o->n - 1];
        bool safer = rl >= cur->level && (!colour || cur->colour);
        if (modq_decision_allowed(w->d)) {
            if (!safer) {
                assert_true(rl >= tier_max_reveal[q->tier]);
                assert_true(!colour || tier_colour[q->tier]);
                assert_true(rl != 0 || !tier_reason[q->tier] || reason);
            }
            int64_t rd = modq_decision_until_ms(w->d);
            assert_int_equal(modq_ledger_reveal(w->l, rl, colour, rt), MODQ_POLICY_OK);
            if (rl != cur->level || colour != cur->colour) {
                cur->end = rt;
                o_push(o, (oseg){rt, -1, q->tier, rl, q->cat_id, colour, false});
            }
            hide = hide < rd ? hide : rd;
            hide = hide > rt ? hide : rt;
            w->reveals++;
        } else {
            assert_false(safer);
        }
    }
    assert_int_equal(modq_ledger_hide(w->l, hide), MODQ_POLICY_OK);
    o->segs[o->n - 1].end = hide;
    assert_caps_hold(o, hide, q->tier);
    return hide;
}

/* A break of len from t; returns its end. */
static int64_t run_break(world *w, int64_t t, int64_t len)
{
    oracle *o = &w->o;
    assert_int_equal(modq_ledger_break_start(w->l, t), MODQ_POLICY_OK);
    o->brk_start[o->nbrk] = t;
    o->brk_end[o->nbrk] = -1;
    assert_int_equal(modq_policy_check(w->p, w->l, w->s, w->qidx[0], t + len / 2, w->d),
                     MODQ_POLICY_OK);
    assert_int_equal(modq_decision_reason(w->d), MODQ_REASON_ON_BREAK);
    assert_int_equal(modq_ledger_break_end(w->l, t + len), MODQ_POLICY_OK);
    o->brk_end[o->nbrk++] = t + len;
    assert_true(o->nbrk < 4096);
    return t + len;
}

static void o_open_shift(oracle *o, int64_t t)
{
    if (o->nsh > 0 && o->sh_end[o->nsh - 1] < 0) {
        return; /* a restart goes on with the open shift */
    }
    assert_true(o->nsh < OMAX_SHIFTS); /* one associate has a few dozen */
    o->sh_start[o->nsh] = t;
    o->sh_end[o->nsh++] = -1;
}

static void start_shift(world *w, int64_t t)
{
    assert_int_equal(modq_ledger_start_shift(w->l, t), MODQ_POLICY_OK);
    o_open_shift(&w->o, t);
}

static void end_shift(world *w, int64_t t)
{
    oracle *o = &w->o;
    assert_int_equal(modq_ledger_end_shift(w->l, t), MODQ_POLICY_OK);
    if (o->nsh > 0 && o->sh_end[o->nsh - 1] < 0) {
        o->sh_end[o->nsh - 1] = t;
    }
}

static int64_t run_shift(world *w, int64_t start)
{
    oracle *o = &w->o;
    random_settings(w);
    start_shift(w, start);
    int64_t t = start;
    size_t k = (size_t)rnd(0, (int64_t)NQ - 1);
    bool take_break = false;
    while (t < start + SHIFT_LEN + 30 * MINUTE) {
        int64_t odd = rnd(0, 399);
        if (odd == 0) {
            /* Ending the shift and starting again at once, or a little later, is no rest. */
            end_shift(w, t);
            t += rnd(0, 1) == 0 ? 0 : rnd(1, 30 * MINUTE);
            start_shift(w, t);
            continue;
        }
        if (odd == 1) {
            start_shift(w, t); /* a restart while the shift is open */
            continue;
        }
        if (rnd(0, 11) == 0 || take_break) {
            /* Mostly full breaks; sometimes too short to count, which must not reset review. */
            t = run_break(
                w, t, rnd(0, 3) == 0 ? rnd(3 * MINUTE, 15 * MINUTE) : rnd(BREAK_LEN, 15 * MINUTE));
            take_break = false;
            continue;
        }
        /* A worker stays on one queue for a while, which is what rotation is for. */
        if (rnd(0, 9) < 2) {
            k = (size_t)rnd(0, (int64_t)NQ - 1);
        }
        const qinfo *q = &queues[k];
        assert_int_equal(modq_policy_check(w->p, w->l, w->s, w->qidx[k], t, w->d), MODQ_POLICY_OK);
        /* Both ways: SHIFT_OVER exactly when the oracle's shift rules say so (never on break). */
        assert_int_equal(modq_decision_reason(w->d) == MODQ_REASON_SHIFT_OVER, o_shift_over(o, t));
        if (modq_decision_allowed(w->d)) {
            int64_t until = modq_decision_until_ms(w->d);
            assert_allowed_is_safe(o, q, modq_decision_show_level(w->d), t, until);
            w->allowed++;
            t = review_item(w, q, t, until);
        } else {
            modq_policy_reason why = modq_decision_reason(w->d);
            int64_t until = modq_decision_until_ms(w->d);
            w->denied++;
            w->reasons[why]++;
            if (rnd(0, 3) == 0) {
                assert_until_exact(w, w->qidx[k], why, t, until);
            }
            take_break = why == MODQ_REASON_BREAK_DUE && rnd(0, 4) != 0;
            if (why == MODQ_REASON_ROTATION || rnd(0, 3) == 0) {
                k = (size_t)rnd(0, (int64_t)NQ - 1);
            }
            if (until > t && until - t < 2 * 60 * MINUTE && rnd(0, 1) == 0) {
                t = until; /* land exactly on the boundary */
                continue;
            }
        }
        t += rnd(0, 2 * MINUTE);
    }
    end_shift(w, t);
    return t;
}

/* Drops oracle records older than two days (they cannot matter and keep the oracle fast). */
static void o_trim(oracle *o, int64_t now)
{
    size_t k = 0;
    while (k < o->n && o->segs[k].end >= 0 && o->segs[k].end < now - 2 * DAY) {
        k++;
    }
    if (k > 0) {
        memmove(o->segs, o->segs + k, (o->n - k) * sizeof *o->segs);
        o->n -= k;
    }
    if (o->nbrk > 2048) {
        memmove(o->brk_start, o->brk_start + 1024, (o->nbrk - 1024) * sizeof(int64_t));
        memmove(o->brk_end, o->brk_end + 1024, (o->nbrk - 1024) * sizeof(int64_t));
        o->nbrk -= 1024;
    }
}

static void test_no_allowed_item_ever_breaks_a_rule_over_thousands_of_shifts(void **state)
{
    (void)state;
    uint64_t seed = UINT64_C(20260105);
    const char *env = getenv("MODQ_TEST_SEED");
    if (env != NULL && *env != '\0') {
        char *end = NULL;
        errno = 0;
        seed = strtoull(env, &end, 0);
        assert_true(errno == 0 && *end == '\0');
    }
    long shifts = 2000;
    const char *ns = getenv("MODQ_TEST_SHIFTS");
    if (ns != NULL && *ns != '\0') {
        char *end = NULL;
        errno = 0;
        shifts = strtol(ns, &end, 10);
        assert_true(errno == 0 && *end == '\0' && shifts > 0);
    }
    rng_state = seed;
    printf("seed %llu (set MODQ_TEST_SEED to replay), %ld shifts\n", (unsigned long long)seed,
           shifts);

    char err[512], path[4096];
    const char *root = getenv("MODQ_SOURCE_DIR");
    assert_non_null(root);
    snprintf(path, sizeof path, "%s/tests/data/policy/rules.yaml", root);
    world w;
    memset(&w, 0, sizeof w);
    assert_int_equal(modq_policy_load_file(path, &w.p, err, sizeof err), MODQ_POLICY_OK);
    /* The oracle's copy of the rules must match the file. */
    for (int t = 1; t <= 4; t++) {
        assert_int_equal(modq_policy_tier_default_level(w.p, t), tier_default[t]);
        assert_int_equal(modq_policy_tier_max_reveal(w.p, t), tier_max_reveal[t]);
        assert_int_equal(modq_policy_tier_colour_allowed(w.p, t), tier_colour[t]);
        assert_int_equal(modq_policy_tier_reason_required(w.p, t), tier_reason[t]);
    }
    for (size_t k = 0; k < NQ; k++) {
        int i = modq_policy_queue_find(w.p, queues[k].name);
        assert_true(i >= 0);
        assert_int_equal(modq_policy_queue_tier(w.p, (size_t)i), queues[k].tier);
        assert_int_equal(modq_policy_queue_roles(w.p, (size_t)i), queues[k].roles);
        w.qidx[k] = (size_t)i;
    }
    w.d = modq_decision_new();
    assert_non_null(w.d);

    const long per_associate = 25;
    for (long done = 0; done < shifts; done += per_associate) {
        char id[32];
        snprintf(id, sizeof id, "assoc-%ld", done / per_associate);
        assert_int_equal(modq_ledger_new(id, &w.l), MODQ_POLICY_OK);
        memset(&w.o, 0, sizeof w.o);
        int64_t t = T0 + rnd(0, DAY);
        for (long i = 0; i < per_associate && done + i < shifts; i++) {
            /* 8 to 20 hours between shifts: the 24 h window spans two shifts, and a shift that
             * starts within the 10-hour minimum rest is refused until the rest is over. */
            t = run_shift(&w, t) + rnd(8 * 60 * MINUTE, 20 * 60 * MINUTE);
            o_trim(&w.o, t);
            if (rnd(0, 9) == 0) {
                restore_via_protobuf(&w);
            }
        }
        modq_ledger_free(w.l);
        free(w.o.segs);
    }
    printf("allowed %lu, denied %lu, reveals %lu, protobuf restores %lu\n", w.allowed, w.denied,
           w.reveals, w.restores);
    for (int r = 1; r < MODQ_REASON_COUNT; r++) {
        printf("  %-12s %lu\n", modq_policy_reason_name((modq_policy_reason)r), w.reasons[r]);
    }
    /* The generator must reach every reason the rules file can produce, or it tests too little. */
    const modq_policy_reason must[] = {
        MODQ_REASON_SHIFT_OVER, MODQ_REASON_BREAK_DUE, MODQ_REASON_ROLE,
        MODQ_REASON_SKILL,      MODQ_REASON_OPT_OUT,   MODQ_REASON_DAILY_CAP,
        MODQ_REASON_TIER_CAP,   MODQ_REASON_COOLDOWN,  MODQ_REASON_ROTATION};
    for (size_t i = 0; shifts >= 500 && i < sizeof must / sizeof must[0]; i++) {
        if (w.reasons[must[i]] == 0) {
            fail_msg("no %s denial was generated", modq_policy_reason_name(must[i]));
        }
    }
    modq_decision_free(w.d);
    modq_settings_free(w.s);
    modq_policy_free(w.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_allowed_item_ever_breaks_a_rule_over_thousands_of_shifts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
