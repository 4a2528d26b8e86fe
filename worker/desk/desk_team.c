/*
 * desk_team.c: a lead's view of their team (modq_desk_team, see desk.h): each associate's standing
 * under the policy and their support requests, and the escalations the lead may take; and of the
 * floor: how long the oldest item of a queue has waited. The objects themselves are
 * desk_json.c's.
 */
#include "desk_impl.h"

#include <string.h>

/* One associate of the lead's team, from a status computed without events: the lead looking
 * must not change what the associate is sent. */
static json_t *member_json(modq_desk *d, const desk_person *pr, int64_t now_ms)
{
    int64_t t = desk_person_time(pr, now_ms);

    if (modq_policy_status(d->policy, pr->ledger, pr->settings, t, d->dec) != MODQ_POLICY_OK) {
        return NULL;
    }
    return desk_json_member(d, pr);
}

modq_desk_result modq_desk_team(modq_desk *d, const modq_desk_who *who, int64_t now_ms,
                                json_t **out)
{
    desk_person *me = NULL;
    json_t *team = NULL, *members = NULL;
    json_int_t escalations = 0;
    modq_desk_result r;

    if (out) {
        *out = NULL;
    }
    if (!d || !who || !out || !desk_time_ok(now_ms)) {
        return MODQ_DESK_ERR_INVALID_ARG;
    }
    if (!(who->roles & MODQ_ROLE_LEAD)) {
        return MODQ_DESK_ERR_FORBIDDEN;
    }
    pthread_mutex_lock(&d->lock);
    if ((r = desk_person_get(d, who, now_ms, &me)) != MODQ_DESK_OK) {
        goto out;
    }
    r = MODQ_DESK_ERR_NOMEM;
    if (!(members = json_array())) {
        goto out;
    }
    /* No team, no team view: an empty name must not gather everyone without one. */
    for (const desk_person *pr = d->newest; me->team[0] && pr; pr = pr->older) {
        json_t *m;
        if (strcmp(pr->team, me->team) != 0) {
            continue;
        }
        if (!(m = member_json(d, pr, now_ms)) || json_array_append_new(members, m) != 0) {
            goto out;
        }
    }
    /* The escalations this lead may take, by the rule /v1/next applies. */
    for (const desk_item *it = d->lists[d->nq + DESK_VQ_ESCALATIONS].head; it; it = it->next) {
        if (!desk_item_excluded(it, me)) {
            escalations++;
        }
    }
    team = desk_json_team(me, members, escalations);
    if (team) {
        *out = team;
        r = MODQ_DESK_OK;
    }
out:
    pthread_mutex_unlock(&d->lock);
    json_decref(members);
    return r;
}

int64_t modq_desk_oldest_waiting_ms(modq_desk *d, size_t qi)
{
    int64_t oldest = -1;

    if (!d || qi >= d->nq) {
        return -1;
    }
    pthread_mutex_lock(&d->lock);
    /* Arrival order is not the tickets' age (a backlog, a partition moved): look at each. */
    for (const desk_item *it = d->lists[qi].head; it; it = it->next) {
        int64_t created = it->p->ticket->created_at_ms;
        if (it->lessee == NULL && !it->unservable && !it->gone && created > 0 &&
            (oldest < 0 || created < oldest)) {
            oldest = created;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return oldest;
}
