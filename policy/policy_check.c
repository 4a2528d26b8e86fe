/*
 * policy_check.c: the wellbeing rules. Given a policy, a ledger, the associate's settings and an
 * instant, decides whether a next item or a reveal may be handed out, and until when.
 *
 * Every rule is evaluated at the exact instant passed in. An allowed decision carries a deadline:
 * the instant by which the item must leave the screen so that no cap, break or shift rule is
 * broken even if the associate never hides it. Caps are rolling 24 h windows over the ledger's
 * segments; the deadline ignores exposure that will roll out of the window meanwhile, which can
 * only make it earlier (safer), never later.
 *
 * Continuous review and work periods are derived from the records, never from a restartable shift
 * start: a run of review ends only with a full break or a gap of at least the break length with
 * nothing on screen, and a work period ends only with a gap of at least the minimum rest with no
 * shift open. Ending or restarting a shift therefore resets neither the break nor the hard stop.
 */
#include "policy_impl.h"

#include <math.h>
#include <string.h>

/* Everything the rules need to know about the ledger at one instant. */
typedef struct snapshot {
    int64_t now;
    double weighted_ms;                     /* rolling 24 h, weighted */
    int64_t tier_ms[MODQ_POLICY_TIERS + 1]; /* rolling 24 h, on screen */
    bool shift_open;
    int64_t period_start;    /* start of the work period; now when a new one would start now */
    int64_t rest_until;      /* a shift ended and its minimum rest runs until then; 0 when none */
    int64_t run_start;       /* start of continuous review; now when rested */
    int64_t run_rest_end;    /* when the current run would end with nothing more on screen */
    int64_t cooldown_until;  /* 0 when none */
    int streak_cat;          /* category of the latest item in this run, -1 */
    int streak;              /* consecutive items of streak_cat */
    size_t live_segments;    /* segments still inside the 24 h window */
    int64_t oldest_live_end; /* end of the oldest live segment, -1 if open */
} snapshot;

/* Exposure in the window [t - 24 h, t); open segments count as ending at open_end. */
static void usage_at(const modq_policy *p, const modq_ledger *l, int64_t t, int64_t open_end,
                     double *weighted, int64_t tier_ms[])
{
    *weighted = policy_weighted_ms(p, l, t - MS_PER_DAY, t, open_end, tier_ms);
}

/*
 * The work period at now: it starts with the first shift after the last gap of at least the
 * minimum rest between shifts (a shift that ended more than 24 h ago and was pruned still counts
 * through shift_floor_ms). After a shift ends, no work until its rest is over, whatever is
 * started meanwhile.
 */
static void work_period(const modq_policy *p, const modq_ledger *l, int64_t now, snapshot *sn)
{
    int64_t last_end = ledger_last_shift_end(l);
    sn->rest_until =
        (last_end >= 0 && now < last_end + p->min_rest_ms) ? last_end + p->min_rest_ms : 0;
    if (l->nshifts == 0 || (!sn->shift_open && sn->rest_until == 0)) {
        sn->period_start = now; /* rested, or never worked: an item now starts a new period */
        return;
    }
    size_t i = l->nshifts - 1;
    while (i > 0 && l->shifts[i].start_ms - l->shifts[i - 1].end_ms < p->min_rest_ms) {
        i--;
    }
    sn->period_start = l->shifts[i].start_ms;
    if (i == 0 && l->shift_floor_ms >= 0 &&
        l->shifts[0].start_ms - l->shift_floor_ms < p->min_rest_ms) {
        sn->period_start = l->shift_floor_ms; /* began before the pruned shift ended */
    }
}

/*
 * The run of continuous review at now: it starts at the end of the last full break or the end of
 * the last gap of at least the break length with nothing on screen (the first segment kept
 * follows such a gap), and is over (run_start = now) when nothing has been on screen for that
 * long. A short pause or a shift boundary does not end it.
 */
static void review_run(const modq_policy *p, const modq_ledger *l, int64_t now, snapshot *sn)
{
    int64_t run = now;
    if (l->nsegs > 0) {
        run = l->segs[0].start_ms;
        for (size_t i = 1; i < l->nsegs; i++) {
            if (l->segs[i].start_ms - l->segs[i - 1].end_ms >= p->break_ms) {
                run = l->segs[i].start_ms;
            }
        }
        for (size_t i = 0; i < l->nbreaks; i++) {
            const ledger_break *b = &l->breaks[i];
            if (b->end_ms >= 0 && b->end_ms - b->start_ms >= p->break_ms && b->end_ms > run) {
                run = b->end_ms;
            }
        }
        int64_t last_end = l->item_open ? now : l->segs[l->nsegs - 1].end_ms;
        if (now - last_end >= p->break_ms) {
            run = now;
        }
        sn->run_rest_end = last_end + p->break_ms;
    }
    sn->run_start = run;
}

static void take(const modq_policy *p, const modq_ledger *l, int64_t now, snapshot *sn)
{
    memset(sn, 0, sizeof *sn);
    sn->now = now;
    usage_at(p, l, now, now, &sn->weighted_ms, sn->tier_ms);
    sn->shift_open = ledger_open_shift_start(l) >= 0;
    work_period(p, l, now, sn);
    review_run(p, l, now, sn);
    sn->streak_cat = -1;
    sn->oldest_live_end = -1;
    for (size_t i = 0; i < l->nsegs; i++) {
        const ledger_segment *s = &l->segs[i];
        int64_t end = s->end_ms < 0 ? now : s->end_ms;
        int64_t cd = p->tiers[s->tier].cooldown_ms;
        if (cd > 0 && end + cd > sn->cooldown_until) {
            sn->cooldown_until = end + cd;
        }
        if (s->end_ms < 0 || s->end_ms > now - MS_PER_DAY) {
            if (sn->live_segments++ == 0) {
                sn->oldest_live_end = s->end_ms;
            }
        }
    }
    if (sn->cooldown_until <= now) {
        sn->cooldown_until = 0;
    }
    for (size_t i = l->nsegs; i-- > 0;) {
        const ledger_segment *s = &l->segs[i];
        if (s->start_ms < sn->run_start) {
            break;
        }
        if (!s->item_start) {
            continue;
        }
        if (sn->streak_cat < 0) {
            sn->streak_cat = s->category;
        } else if (s->category != sn->streak_cat) {
            break;
        }
        sn->streak++;
    }
}

static void set_cap(modq_decision *d, modq_policy_cap c, double used, double limit)
{
    d->cap_set[c] = true;
    d->cap_used_ms[c] = used;
    d->cap_limit_ms[c] = limit;
}

/* Fills the usage snapshot and the warnings due, and resets the verdict to "allowed". */
static void fill_usage(const modq_policy *p, const modq_settings *s, const snapshot *sn,
                       bool on_break, modq_decision *d)
{
    memset(d, 0, sizeof *d);
    d->allowed = true;
    d->reason = MODQ_REASON_NONE;
    d->show_level = -1;
    set_cap(d, MODQ_CAP_DAILY, sn->weighted_ms, (double)policy_daily_cap_ms(p, s));
    for (int t = 1; t <= MODQ_POLICY_TIERS; t++) {
        int64_t cap = policy_tier_cap_ms(p, s, t);
        if (cap > 0) {
            set_cap(d, (modq_policy_cap)(MODQ_CAP_TIER1 + t - 1), (double)sn->tier_ms[t],
                    (double)cap);
        }
    }
    set_cap(d, MODQ_CAP_CONTINUOUS, on_break ? 0.0 : (double)(sn->now - sn->run_start),
            (double)p->max_continuous_ms);
    set_cap(d, MODQ_CAP_SHIFT, sn->shift_open ? (double)(sn->now - sn->period_start) : 0.0,
            (double)p->shift_max_ms);
    for (int c = 0; c < MODQ_CAP_COUNT; c++) {
        if (d->cap_set[c] && d->cap_used_ms[c] >= p->warning_fraction * d->cap_limit_ms[c] &&
            d->cap_used_ms[c] < d->cap_limit_ms[c]) {
            d->warnings[d->nwarnings++] = (modq_policy_cap)c;
        }
    }
    d->break_due_ms = sn->run_start + p->max_continuous_ms;
    d->shift_end_ms = sn->shift_open ? sn->period_start + p->shift_max_ms : -1;
    d->cooldown_until_ms = sn->cooldown_until;
}

static modq_policy_result deny(modq_decision *d, modq_policy_reason why, int64_t until)
{
    d->allowed = false;
    d->reason = why;
    d->until_ms = until;
    return MODQ_POLICY_OK;
}

/*
 * The first instant in (now, now + 24 h] at which, with no further activity, the daily cap leaves
 * room for at least 1 ms at rate (tier < 1), or tier's cap leaves 1 ms. Usage only falls as time
 * passes without activity, so a binary search finds it exactly. 0 when never.
 */
static int64_t clear_time(const modq_policy *p, const modq_ledger *l, int64_t now, int tier,
                          double rate, double cap)
{
    int64_t lo = now, hi = now + MS_PER_DAY;
    double w = 0.0;
    int64_t tms[MODQ_POLICY_TIERS + 1];
    if (tier < 1 && cap < rate) {
        return 0;
    }
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        usage_at(p, l, mid, now, &w, tms);
        bool ok = tier < 1 ? cap - w >= rate : (double)tms[tier] <= cap - 1.0;
        if (ok) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    return hi;
}

/* The exposure rules shared by check and check_reveal; on success narrows *deadline. */
static bool exposure_denied(const modq_policy *p, const modq_ledger *l, const modq_settings *s,
                            const snapshot *sn, int tier, double rate, int64_t *deadline,
                            modq_decision *d)
{
    double cap = (double)policy_daily_cap_ms(p, s);
    /* Every view counts (the loader refuses zero weights); a rate that is not positive would
     * mean "no exposure" and is refused rather than let through uncapped. */
    if (!(rate > 0.0)) {
        deny(d, MODQ_REASON_DAILY_CAP, 0);
        return true;
    }
    double room = floor((cap - sn->weighted_ms) / rate);
    if (room < 1.0) {
        deny(d, MODQ_REASON_DAILY_CAP, clear_time(p, l, sn->now, 0, rate, cap));
        return true;
    }
    if (room < (double)(*deadline - sn->now)) {
        *deadline = sn->now + (int64_t)room;
    }
    int64_t tcap = policy_tier_cap_ms(p, s, tier);
    if (tcap > 0) {
        int64_t troom = tcap - sn->tier_ms[tier];
        if (troom < 1) {
            deny(d, MODQ_REASON_TIER_CAP, clear_time(p, l, sn->now, tier, 0.0, (double)tcap));
            return true;
        }
        if (sn->now + troom < *deadline) {
            *deadline = sn->now + troom;
        }
    }
    return false;
}

/* Rules about the person rather than the item: break, shift, continuous review, ledger room. */
static bool person_denied(const modq_policy *p, const modq_ledger *l, const snapshot *sn,
                          modq_decision *d)
{
    if (l->on_break) {
        int64_t min_end = l->breaks[l->nbreaks - 1].start_ms + p->break_ms;
        deny(d, MODQ_REASON_ON_BREAK, min_end > sn->now ? min_end : sn->now);
        return true;
    }
    if (sn->rest_until > 0) {
        deny(d, MODQ_REASON_SHIFT_OVER, sn->rest_until);
        return true;
    }
    if (sn->now >= sn->period_start + p->shift_max_ms) {
        deny(d, MODQ_REASON_SHIFT_OVER, 0); /* only ending the shift starts the rest */
        return true;
    }
    if (sn->now >= sn->run_start + p->max_continuous_ms) {
        deny(d, MODQ_REASON_BREAK_DUE, sn->run_rest_end);
        return true;
    }
    return false;
}

static bool has_name(const char (*list)[MODQ_POLICY_NAME_MAX], size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i], name) == 0) {
            return true;
        }
    }
    return false;
}

static bool ledger_full(const modq_ledger *l, const snapshot *sn, const char *category,
                        modq_decision *d)
{
    if (sn->live_segments >= MODQ_LEDGER_MAX_SEGMENTS) {
        deny(d, MODQ_REASON_LEDGER_FULL,
             sn->oldest_live_end < 0 ? 0 : sn->oldest_live_end + MS_PER_DAY);
        return true;
    }
    if (category != NULL && ledger_category_find(l, category) < 0 &&
        l->ncategories >= MODQ_LEDGER_MAX_CATEGORIES) {
        deny(d, MODQ_REASON_LEDGER_FULL, 0);
        return true;
    }
    return false;
}

modq_policy_result modq_policy_check(const modq_policy *p, const modq_ledger *l,
                                     const modq_settings *s, size_t qi, int64_t now,
                                     modq_decision *d)
{
    snapshot sn;
    if (d == NULL) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    d->allowed = false;
    if (p == NULL || l == NULL) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    if (!policy_time_ok(now)) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    if (qi >= p->nqueues) {
        return MODQ_POLICY_ERR_UNKNOWN_QUEUE;
    }
    if (l->last_ms != INT64_MIN && now < l->last_ms) {
        return MODQ_POLICY_ERR_TIME_ORDER;
    }
    const queue_cfg *q = &p->queues[qi];
    take(p, l, now, &sn);
    fill_usage(p, s, &sn, l->on_break, d);
    d->show_level = modq_settings_show_level(s, p, qi);
    if (person_denied(p, l, &sn, d)) {
        return MODQ_POLICY_OK;
    }
    if (s == NULL || (s->roles & q->roles) == 0) {
        return deny(d, MODQ_REASON_ROLE, 0);
    }
    for (size_t k = 0; k < q->nskills; k++) {
        if (!has_name(s->skills, s->nskills, q->skills[k])) {
            return deny(d, MODQ_REASON_SKILL, 0);
        }
    }
    if (has_name(s->optouts, s->noptouts, q->category)) {
        return deny(d, MODQ_REASON_OPT_OUT, 0);
    }
    int64_t deadline = sn.period_start + p->shift_max_ms;
    if (sn.run_start + p->max_continuous_ms < deadline) {
        deadline = sn.run_start + p->max_continuous_ms;
    }
    if (exposure_denied(p, l, s, &sn, q->tier, policy_rate(p, q->tier, d->show_level, false),
                        &deadline, d)) {
        return MODQ_POLICY_OK;
    }
    if (q->tier >= p->cooldown_min_tier && sn.cooldown_until > now) {
        return deny(d, MODQ_REASON_COOLDOWN, sn.cooldown_until);
    }
    if (sn.streak_cat >= 0 && sn.streak >= p->rotation_max &&
        strcmp(l->categories[sn.streak_cat], q->category) == 0) {
        return deny(d, MODQ_REASON_ROTATION, 0);
    }
    if (ledger_full(l, &sn, q->category, d)) {
        return MODQ_POLICY_OK;
    }
    d->until_ms = deadline;
    return MODQ_POLICY_OK;
}

modq_policy_result modq_policy_check_reveal(const modq_policy *p, const modq_ledger *l,
                                            const modq_settings *s, int level, bool colour,
                                            bool typed_reason, int64_t now, modq_decision *d)
{
    snapshot sn;
    if (d == NULL) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    d->allowed = false;
    if (p == NULL || l == NULL || level < 0 || level >= MODQ_POLICY_LEVELS ||
        !policy_time_ok(now)) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    if (!l->item_open) {
        return MODQ_POLICY_ERR_STATE;
    }
    if (now < l->last_ms) {
        return MODQ_POLICY_ERR_TIME_ORDER;
    }
    const ledger_segment *cur = &l->segs[l->nsegs - 1];
    const tier_cfg *t = &p->tiers[cur->tier];
    take(p, l, now, &sn);
    fill_usage(p, s, &sn, false, d);
    int64_t deadline = sn.period_start + p->shift_max_ms;
    if (sn.run_start + p->max_continuous_ms < deadline) {
        deadline = sn.run_start + p->max_continuous_ms;
    }
    /* Moving towards more blur or back to greyscale is always allowed: it only lowers exposure.
     * Otherwise the reasons are tried in the order of modq_policy_reason. */
    bool safer = level >= cur->level && (!colour || cur->colour);
    if (!safer && person_denied(p, l, &sn, d)) {
        return MODQ_POLICY_OK;
    }
    if (exposure_denied(p, l, s, &sn, cur->tier, policy_rate(p, cur->tier, level, colour),
                        &deadline, d)) {
        if (!safer) {
            return MODQ_POLICY_OK;
        }
        deadline = now; /* allowed because it lowers exposure, but the item must go now */
    }
    if (!safer) {
        if (level < t->max_reveal) {
            return deny(d, MODQ_REASON_REVEAL_LEVEL, 0);
        }
        if (colour && !t->colour) {
            return deny(d, MODQ_REASON_COLOUR, 0);
        }
        if (level == 0 && t->reason_required && !typed_reason) {
            return deny(d, MODQ_REASON_NEEDS_REASON, 0);
        }
        if (ledger_full(l, &sn, NULL, d)) {
            return MODQ_POLICY_OK;
        }
    }
    d->allowed = true;
    d->reason = MODQ_REASON_NONE;
    d->until_ms = deadline > now ? deadline : now;
    return MODQ_POLICY_OK;
}

modq_policy_result modq_policy_status(const modq_policy *p, const modq_ledger *l,
                                      const modq_settings *s, int64_t now, modq_decision *d)
{
    snapshot sn;
    if (d == NULL) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    d->allowed = false;
    if (p == NULL || l == NULL || !policy_time_ok(now)) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    if (l->last_ms != INT64_MIN && now < l->last_ms) {
        return MODQ_POLICY_ERR_TIME_ORDER;
    }
    take(p, l, now, &sn);
    fill_usage(p, s, &sn, l->on_break, d);
    if (person_denied(p, l, &sn, d)) {
        return MODQ_POLICY_OK;
    }
    if (sn.weighted_ms >= (double)policy_daily_cap_ms(p, s)) {
        return deny(d, MODQ_REASON_DAILY_CAP, clear_time(p, l, now, 0, 1.0, d->cap_limit_ms[0]));
    }
    d->until_ms = 0;
    return MODQ_POLICY_OK;
}
