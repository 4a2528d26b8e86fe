/*
 * decision.c: the decision value returned by the checks, and its accessors.
 *
 * A decision is allocated once and refilled by every check, so that the worker's hot path does
 * not allocate. Not thread-safe: one decision per caller at a time.
 */
#include "policy_impl.h"

#include <stdlib.h>

modq_decision *modq_decision_new(void)
{
    modq_decision *d = calloc(1, sizeof *d);
    if (d != NULL) {
        d->show_level = -1;
        d->shift_end_ms = -1;
    }
    return d;
}

void modq_decision_free(modq_decision *d)
{
    free(d);
}

bool modq_decision_allowed(const modq_decision *d)
{
    return d != NULL && d->allowed;
}

modq_policy_reason modq_decision_reason(const modq_decision *d)
{
    return d == NULL ? MODQ_REASON_NONE : d->reason;
}

int64_t modq_decision_until_ms(const modq_decision *d)
{
    return d == NULL ? 0 : d->until_ms;
}

bool modq_decision_cap(const modq_decision *d, modq_policy_cap c, double *used_minutes,
                       double *limit_minutes)
{
    bool set = d != NULL && (int)c >= 0 && c < MODQ_CAP_COUNT && d->cap_set[c];
    if (used_minutes != NULL) {
        *used_minutes = set ? d->cap_used_ms[c] / (double)MS_PER_MIN : 0.0;
    }
    if (limit_minutes != NULL) {
        *limit_minutes = set ? d->cap_limit_ms[c] / (double)MS_PER_MIN : 0.0;
    }
    return set;
}

size_t modq_decision_warning_count(const modq_decision *d)
{
    return d == NULL ? 0 : d->nwarnings;
}

modq_policy_cap modq_decision_warning(const modq_decision *d, size_t i)
{
    return (d == NULL || i >= d->nwarnings) ? MODQ_CAP_COUNT : d->warnings[i];
}

int64_t modq_decision_break_due_ms(const modq_decision *d)
{
    return d == NULL ? 0 : d->break_due_ms;
}

int64_t modq_decision_shift_end_ms(const modq_decision *d)
{
    return d == NULL ? -1 : d->shift_end_ms;
}

int64_t modq_decision_cooldown_until_ms(const modq_decision *d)
{
    return d == NULL ? 0 : d->cooldown_until_ms;
}

int modq_decision_show_level(const modq_decision *d)
{
    return d == NULL ? -1 : d->show_level;
}
