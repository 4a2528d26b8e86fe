/*
 * policy.c: names and messages of the library, and read access to a loaded policy.
 *
 * Validation lives in policy_load.c, reading and reloading files in policy_file.c; the rules in
 * policy_check.c.
 */
#include "policy_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const result_text[MODQ_POLICY_RESULT_COUNT] = {
    [MODQ_POLICY_OK] = "success",
    [MODQ_POLICY_ERR_INVALID_ARG] = "invalid argument",
    [MODQ_POLICY_ERR_NOMEM] = "out of memory",
    [MODQ_POLICY_ERR_IO] = "the policy file could not be read",
    [MODQ_POLICY_ERR_SYNTAX] = "the policy file is not well-formed YAML",
    [MODQ_POLICY_ERR_INVALID] = "the policy is invalid",
    [MODQ_POLICY_ERR_SETTINGS] = "personal settings are looser than the policy or unknown",
    [MODQ_POLICY_ERR_UNKNOWN_QUEUE] = "no such queue in the policy",
    [MODQ_POLICY_ERR_STATE] = "the request does not fit the ledger's state",
    [MODQ_POLICY_ERR_TIME_ORDER] = "time is earlier than the ledger's latest record",
    [MODQ_POLICY_ERR_LEDGER_FULL] = "the ledger reached its size cap",
    [MODQ_POLICY_ERR_DECODE] = "the serialised ledger is malformed",
};

const char *modq_policy_strerror(modq_policy_result r)
{
    if ((int)r < 0 || r >= MODQ_POLICY_RESULT_COUNT) {
        return "unknown result";
    }
    return result_text[r];
}

static const char *const reason_names[MODQ_REASON_COUNT] = {
    [MODQ_REASON_NONE] = "NONE",
    [MODQ_REASON_ON_BREAK] = "ON_BREAK",
    [MODQ_REASON_SHIFT_OVER] = "SHIFT_OVER",
    [MODQ_REASON_BREAK_DUE] = "BREAK_DUE",
    [MODQ_REASON_ROLE] = "ROLE",
    [MODQ_REASON_SKILL] = "SKILL",
    [MODQ_REASON_OPT_OUT] = "OPT_OUT",
    [MODQ_REASON_DAILY_CAP] = "DAILY_CAP",
    [MODQ_REASON_TIER_CAP] = "TIER_CAP",
    [MODQ_REASON_COOLDOWN] = "COOLDOWN",
    [MODQ_REASON_ROTATION] = "ROTATION",
    [MODQ_REASON_REVEAL_LEVEL] = "REVEAL_LEVEL",
    [MODQ_REASON_COLOUR] = "COLOUR",
    [MODQ_REASON_NEEDS_REASON] = "NEEDS_REASON",
    [MODQ_REASON_LEDGER_FULL] = "LEDGER_FULL",
};

const char *modq_policy_reason_name(modq_policy_reason r)
{
    if ((int)r < 0 || r >= MODQ_REASON_COUNT) {
        return "UNKNOWN";
    }
    return reason_names[r];
}

static const char *const cap_names[MODQ_CAP_COUNT] = {
    [MODQ_CAP_DAILY] = "daily", [MODQ_CAP_TIER1] = "tier1", [MODQ_CAP_TIER2] = "tier2",
    [MODQ_CAP_TIER3] = "tier3", [MODQ_CAP_TIER4] = "tier4", [MODQ_CAP_CONTINUOUS] = "continuous",
    [MODQ_CAP_SHIFT] = "shift",
};

const char *modq_policy_cap_name(modq_policy_cap c)
{
    if ((int)c < 0 || c >= MODQ_CAP_COUNT) {
        return "unknown";
    }
    return cap_names[c];
}

unsigned modq_policy_role_parse(const char *name)
{
    if (name == NULL) {
        return 0;
    }
    if (strcmp(name, "associate") == 0) {
        return MODQ_ROLE_ASSOCIATE;
    }
    if (strcmp(name, "lead") == 0) {
        return MODQ_ROLE_LEAD;
    }
    if (strcmp(name, "qa") == 0) {
        return MODQ_ROLE_QA;
    }
    return 0;
}

bool policy_copy_name(char *dst, size_t size, const char *src)
{
    size_t n = src == NULL ? 0 : strlen(src);
    if (n == 0 || n >= size) {
        return false;
    }
    memcpy(dst, src, n + 1);
    return true;
}

double policy_rate(const modq_policy *p, int tier, int level, bool colour)
{
    if (tier < 1 || tier > MODQ_POLICY_TIERS || level < 0 || level >= MODQ_POLICY_LEVELS) {
        return 0.0;
    }
    return p->tiers[tier].weight * p->level_weight[level] * (colour ? p->colour_factor : 1.0);
}

double policy_weighted_ms(const modq_policy *p, const modq_ledger *l, int64_t from, int64_t to,
                          int64_t open_end, int64_t tier_ms[])
{
    double w = 0.0;
    if (tier_ms != NULL) {
        for (int k = 0; k <= MODQ_POLICY_TIERS; k++) {
            tier_ms[k] = 0;
        }
    }
    for (size_t i = 0; i < l->nsegs; i++) {
        const ledger_segment *s = &l->segs[i];
        int64_t end = s->end_ms < 0 ? open_end : s->end_ms;
        int64_t lo = s->start_ms > from ? s->start_ms : from;
        int64_t hi = end < to ? end : to;
        if (hi > lo) {
            w += (double)(hi - lo) * policy_rate(p, s->tier, s->level, s->colour);
            if (tier_ms != NULL) {
                tier_ms[s->tier] += hi - lo;
            }
        }
    }
    return w;
}

double modq_policy_exposure_minutes(const modq_policy *p, const modq_ledger *l, int64_t from,
                                    int64_t to)
{
    if (p == NULL || l == NULL || to <= from) {
        return 0.0;
    }
    return policy_weighted_ms(p, l, from, to, to, NULL) / (double)MS_PER_MIN;
}

/* The stricter of two caps where 0 means "none". */
static int64_t stricter(int64_t a, int64_t b)
{
    if (a == 0) {
        return b;
    }
    if (b == 0) {
        return a;
    }
    return a < b ? a : b;
}

int64_t policy_daily_cap_ms(const modq_policy *p, const modq_settings *s)
{
    return stricter(p->daily_cap_ms, s == NULL ? 0 : s->daily_cap_ms);
}

int64_t policy_tier_cap_ms(const modq_policy *p, const modq_settings *s, int tier)
{
    if (tier < 1 || tier > MODQ_POLICY_TIERS) {
        return 0;
    }
    return stricter(p->tiers[tier].daily_cap_ms, s == NULL ? 0 : s->tier_cap_ms[tier]);
}

void modq_policy_free(modq_policy *p)
{
    if (p == NULL) {
        return;
    }
    MODQ_FREE_NULL(p->queues);
    free(p);
}

const char *modq_policy_version(const modq_policy *p)
{
    return p == NULL ? "" : p->version;
}

void modq_policy_summary(const modq_policy *p, char *buf, size_t size)
{
    if (buf == NULL || size == 0) {
        return;
    }
    if (p == NULL) {
        buf[0] = '\0';
        return;
    }
    snprintf(buf, size,
             "version %s: %d tiers, %zu queues, daily cap %g min, break every %g min for %g min, "
             "shift %g min, rest %g min, rotation %d, warning at %g%%",
             p->version, MODQ_POLICY_TIERS, p->nqueues, (double)p->daily_cap_ms / MS_PER_MIN,
             (double)p->max_continuous_ms / MS_PER_MIN, (double)p->break_ms / MS_PER_MIN,
             (double)p->shift_max_ms / MS_PER_MIN, (double)p->min_rest_ms / MS_PER_MIN,
             p->rotation_max, p->warning_fraction * 100.0);
}

size_t modq_policy_queue_count(const modq_policy *p)
{
    return p == NULL ? 0 : p->nqueues;
}

int modq_policy_queue_find(const modq_policy *p, const char *name)
{
    if (p == NULL || name == NULL) {
        return -1;
    }
    for (size_t i = 0; i < p->nqueues; i++) {
        if (strcmp(p->queues[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static const queue_cfg *queue_at(const modq_policy *p, size_t i)
{
    return (p == NULL || i >= p->nqueues) ? NULL : &p->queues[i];
}

const char *modq_policy_queue_name(const modq_policy *p, size_t i)
{
    const queue_cfg *q = queue_at(p, i);
    return q == NULL ? NULL : q->name;
}

const char *modq_policy_queue_topic(const modq_policy *p, size_t i)
{
    const queue_cfg *q = queue_at(p, i);
    return q == NULL ? NULL : q->topic;
}

const char *modq_policy_queue_category(const modq_policy *p, size_t i)
{
    const queue_cfg *q = queue_at(p, i);
    return q == NULL ? NULL : q->category;
}

int modq_policy_queue_tier(const modq_policy *p, size_t i)
{
    const queue_cfg *q = queue_at(p, i);
    return q == NULL ? -1 : q->tier;
}

unsigned modq_policy_queue_roles(const modq_policy *p, size_t i)
{
    const queue_cfg *q = queue_at(p, i);
    return q == NULL ? 0 : q->roles;
}

size_t modq_policy_queue_skill_count(const modq_policy *p, size_t i)
{
    const queue_cfg *q = queue_at(p, i);
    return q == NULL ? 0 : q->nskills;
}

int modq_policy_queue_near_copy_distance(const modq_policy *p, size_t i, int fallback)
{
    const queue_cfg *q = queue_at(p, i);
    return q == NULL || q->near_copy_distance < 0 ? fallback : q->near_copy_distance;
}

const char *modq_policy_queue_skill(const modq_policy *p, size_t i, size_t k)
{
    const queue_cfg *q = queue_at(p, i);
    return (q == NULL || k >= q->nskills) ? NULL : q->skills[k];
}

static const tier_cfg *tier_at(const modq_policy *p, int tier)
{
    return (p == NULL || tier < 1 || tier > MODQ_POLICY_TIERS) ? NULL : &p->tiers[tier];
}

int modq_policy_tier_default_level(const modq_policy *p, int tier)
{
    const tier_cfg *t = tier_at(p, tier);
    return t == NULL ? -1 : t->default_level;
}

int modq_policy_tier_max_reveal(const modq_policy *p, int tier)
{
    const tier_cfg *t = tier_at(p, tier);
    return t == NULL ? -1 : t->max_reveal;
}

bool modq_policy_tier_colour_allowed(const modq_policy *p, int tier)
{
    const tier_cfg *t = tier_at(p, tier);
    return t != NULL && t->colour;
}

bool modq_policy_tier_reason_required(const modq_policy *p, int tier)
{
    const tier_cfg *t = tier_at(p, tier);
    return t != NULL && t->reason_required;
}
