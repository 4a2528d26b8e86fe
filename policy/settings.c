/*
 * settings.c: one associate's identity facts and personal wellbeing settings.
 *
 * Personal settings exist so that people can protect themselves further than the policy does
 * (opt out of a category, a lower cap, a heavier default blur). They may never loosen the policy:
 * modq_settings_validate says which value is too loose, and the checks apply the stricter value.
 */
#include "policy_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

modq_settings *modq_settings_new(void)
{
    return calloc(1, sizeof(modq_settings));
}

void modq_settings_free(modq_settings *s)
{
    free(s);
}

void modq_settings_set_roles(modq_settings *s, unsigned roles)
{
    if (s != NULL) {
        s->roles = roles & (MODQ_ROLE_ASSOCIATE | MODQ_ROLE_LEAD | MODQ_ROLE_QA);
    }
}

static modq_policy_result add_name(char (*list)[MODQ_POLICY_NAME_MAX], size_t *n, const char *v)
{
    if (v == NULL || *n >= MODQ_POLICY_MAX_SKILLS) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(list[i], v) == 0) {
            return MODQ_POLICY_OK;
        }
    }
    if (!policy_copy_name(list[*n], MODQ_POLICY_NAME_MAX, v)) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    (*n)++;
    return MODQ_POLICY_OK;
}

modq_policy_result modq_settings_add_skill(modq_settings *s, const char *skill)
{
    return s == NULL ? MODQ_POLICY_ERR_INVALID_ARG : add_name(s->skills, &s->nskills, skill);
}

modq_policy_result modq_settings_add_opt_out(modq_settings *s, const char *category)
{
    return s == NULL ? MODQ_POLICY_ERR_INVALID_ARG : add_name(s->optouts, &s->noptouts, category);
}

/* A cap of 0 ms means "none": a positive value that rounds to it would remove the cap. */
static bool minutes_ok(double m)
{
    return isfinite(m) && m > 0.0 && m <= 1440.0 && llround(m * (double)MS_PER_MIN) >= 1;
}

modq_policy_result modq_settings_set_daily_cap(modq_settings *s, double minutes)
{
    if (s == NULL || !minutes_ok(minutes)) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    s->daily_cap_ms = (int64_t)llround(minutes * (double)MS_PER_MIN);
    return MODQ_POLICY_OK;
}

modq_policy_result modq_settings_set_tier_cap(modq_settings *s, int tier, double minutes)
{
    if (s == NULL || tier < 1 || tier > MODQ_POLICY_TIERS || !minutes_ok(minutes)) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    s->tier_cap_ms[tier] = (int64_t)llround(minutes * (double)MS_PER_MIN);
    return MODQ_POLICY_OK;
}

modq_policy_result modq_settings_set_default_level(modq_settings *s, const char *category,
                                                   int level)
{
    if (s == NULL || category == NULL || level < 0 || level >= MODQ_POLICY_LEVELS) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    for (size_t i = 0; i < s->nlevels; i++) {
        if (strcmp(s->level_category[i], category) == 0) {
            s->level[i] = level;
            return MODQ_POLICY_OK;
        }
    }
    if (s->nlevels >= MODQ_POLICY_MAX_SKILLS ||
        !policy_copy_name(s->level_category[s->nlevels], MODQ_POLICY_NAME_MAX, category)) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    s->level[s->nlevels++] = level;
    return MODQ_POLICY_OK;
}

static bool category_known(const modq_policy *p, const char *category)
{
    for (size_t i = 0; i < p->nqueues; i++) {
        if (strcmp(p->queues[i].category, category) == 0) {
            return true;
        }
    }
    return false;
}

/* Records the first error and returns ERR_SETTINGS. */
__attribute__((format(printf, 3, 4))) static modq_policy_result bad(char *errstr, size_t size,
                                                                    const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    modq_errstr_vset(errstr, size, fmt, ap);
    va_end(ap);
    return MODQ_POLICY_ERR_SETTINGS;
}

modq_policy_result modq_settings_validate(const modq_settings *s, const modq_policy *p,
                                          char *errstr, size_t errstr_size)
{
    if (s == NULL || p == NULL) {
        return MODQ_POLICY_ERR_INVALID_ARG;
    }
    if (s->daily_cap_ms > p->daily_cap_ms) {
        return bad(errstr, errstr_size,
                   "setting 'daily_cap_minutes': %g is looser than the policy's %g",
                   (double)s->daily_cap_ms / MS_PER_MIN, (double)p->daily_cap_ms / MS_PER_MIN);
    }
    for (int t = 1; t <= MODQ_POLICY_TIERS; t++) {
        int64_t pol = p->tiers[t].daily_cap_ms;
        if (s->tier_cap_ms[t] != 0 && pol != 0 && s->tier_cap_ms[t] > pol) {
            return bad(errstr, errstr_size,
                       "setting 'tier%d_cap_minutes': %g is looser than the policy's %g", t,
                       (double)s->tier_cap_ms[t] / MS_PER_MIN, (double)pol / MS_PER_MIN);
        }
    }
    for (size_t i = 0; i < s->noptouts; i++) {
        if (!category_known(p, s->optouts[i])) {
            return bad(errstr, errstr_size, "setting 'opt_out': unknown category '%s'",
                       s->optouts[i]);
        }
    }
    for (size_t i = 0; i < s->nlevels; i++) {
        const char *cat = s->level_category[i];
        if (!category_known(p, cat)) {
            return bad(errstr, errstr_size, "setting 'default_level': unknown category '%s'", cat);
        }
        for (size_t q = 0; q < p->nqueues; q++) {
            int pol = p->tiers[p->queues[q].tier].default_level;
            if (strcmp(p->queues[q].category, cat) == 0 && s->level[i] < pol) {
                return bad(errstr, errstr_size,
                           "setting 'default_level' for '%s': level %d is clearer than the "
                           "policy's %d (queue '%s')",
                           cat, s->level[i], pol, p->queues[q].name);
            }
        }
    }
    return MODQ_POLICY_OK;
}

int modq_settings_show_level(const modq_settings *s, const modq_policy *p, size_t qi)
{
    if (p == NULL || qi >= p->nqueues) {
        return MODQ_POLICY_LEVELS - 1;
    }
    const queue_cfg *q = &p->queues[qi];
    int level = p->tiers[q->tier].default_level;
    for (size_t i = 0; s != NULL && i < s->nlevels; i++) {
        if (strcmp(s->level_category[i], q->category) == 0 && s->level[i] > level) {
            level = s->level[i];
        }
    }
    return level;
}
